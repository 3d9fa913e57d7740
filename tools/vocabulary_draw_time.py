"""Time the image source's share of the first run on a layer: drawing the vocabulary.

    HF_HUB_OFFLINE=1 .venv/bin/python tools/vocabulary_draw_time.py --labels 100

The first run on a layer draws every vocabulary label with |P| = 5 images
(``init_scoring`` "drawn"). This draws a seeded sample of ``--labels`` OpenMoji
labels through each generator with the loop's prompts and seeds and reports the
generator's seconds per image, the seconds ``compose:`` spends deciding which
labels it can draw (whole vocabulary, one pass), and the whole-vocabulary
drawing time extrapolated from the sample (the target model's time is not
included: it is the same per image for both). The embedder caches label
embeddings, so a generator built second reuses the first one's and its
``build_seconds`` is not comparable.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from line_mcp.backends.registry import BuildContext, resolve
from line_mcp.config import LoopConfig
from line_mcp.engine.drawing import draw_requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument(
        "--generators",
        default="compose:tuxpaint+openclipart+art4apps+gcompris,bank:tuxpaint+openclipart",
    )
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args()
    embedder = resolve("embedder", "minilm")
    control = resolve("control", "bank:openmoji", BuildContext(embedder=embedder))
    vocabulary = control.labels()
    config = LoopConfig(images_per_concept=args.images)
    report: dict[str, object] = {
        "command": f"tools/vocabulary_draw_time.py --labels {args.labels} --images {args.images}",
        "vocabulary": len(vocabulary),
        "images_per_label": args.images,
    }
    for spec in args.generators.split(","):
        start = time.perf_counter()
        generator = resolve("generator", spec, BuildContext(embedder=embedder))
        build = time.perf_counter() - start
        labels = vocabulary
        filter_seconds = 0.0
        if hasattr(generator, "can_draw"):
            start = time.perf_counter()
            labels = [
                v for v, ok in zip(vocabulary, generator.can_draw(vocabulary), strict=True) if ok
            ]
            filter_seconds = time.perf_counter() - start
        sample = random.Random(0).sample(labels, min(args.labels, len(labels)))
        requests = [r for label in sample for r in draw_requests(label, args.images, config)]
        start = time.perf_counter()
        for chunk in range(0, len(requests), 32 * args.images):  # the service's chunks
            generator.generate(requests[chunk : chunk + 32 * args.images])
        per_image = (time.perf_counter() - start) / len(requests)
        report[spec] = {
            "build_seconds": round(build, 1),
            "drawable_labels": len(labels),
            "can_draw_seconds": round(filter_seconds, 1),
            "sampled_labels": len(sample),
            "ms_per_image": round(1000 * per_image, 2),
            "vocabulary_drawing_seconds_extrapolated": round(
                per_image * len(labels) * args.images + filter_seconds, 1
            ),
        }
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
