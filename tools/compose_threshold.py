"""Measure the compose generator's not-drawable threshold on held-out word pairs.

    HF_HUB_OFFLINE=1 .venv/bin/python tools/compose_threshold.py \
        --out docs/benchmark/compose-threshold.json

Queries are the labels of a held-out bank (art4apps) that WordNet knows; each
is matched by text embedding alone against the other drawing banks
(tuxpaint + openclipart). A pair (query, best label) is true when WordNet links
them (the same synset, or one a hypernym of the other within two levels) and
false when both are WordNet nouns with no such link. The threshold with the
best balanced accuracy is printed with the accuracy of every threshold, and
what a threshold of the generator's default does.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from line_mcp.backends.compose.generator import DEFAULT_THRESHOLD
from line_mcp.backends.compose.matching import ObjectMatcher
from line_mcp.backends.registry import resolve
from line_mcp.data import banks
from line_mcp.knowledge.wordnet import WordNet, default_wordnet


@dataclass(frozen=True)
class Pair:
    """A held-out word, its nearest label by text similarity, and whether WordNet links them."""

    query: str
    label: str
    similarity: float
    related: bool


def related(wordnet: WordNet, a: str, b: str, levels: int = 2) -> bool | None:
    """Whether WordNet links two nouns; None when one of them is not a WordNet noun."""
    senses_a, senses_b = wordnet.synsets(a)[:3], wordnet.synsets(b)[:3]
    if not senses_a or not senses_b:
        return None
    for x in senses_a:
        up_x = wordnet.ancestors(x)
        for y in senses_b:
            up_y = wordnet.ancestors(y)
            if up_x.get(y.offset, levels + 1) <= levels or up_y.get(x.offset, levels + 1) <= levels:
                return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--held-out", default="art4apps")
    parser.add_argument("--banks", default="tuxpaint+openclipart")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    start = time.perf_counter()
    embedder = resolve("embedder", "minilm")
    wordnet = default_wordnet()
    entries = [e for name in banks.parse_bank_names(args.banks) for e in banks.list_bank(name)]
    matcher = ObjectMatcher(entries, embedder, wordnet=None)  # text similarity only
    queries = sorted({e.label for e in banks.list_bank(args.held_out)})
    pairs = []
    for query in queries:
        best = matcher.match(query, 1)[0]
        if best.label == query:
            continue  # the same label text: no question to decide
        linked = related(wordnet, query, best.label)
        if linked is not None:
            pairs.append(Pair(query, best.label, best.similarity, linked))
    similarity = np.array([p.similarity for p in pairs])
    truth = np.array([p.related for p in pairs])
    rows: list[dict[str, float]] = []
    for threshold in np.round(np.arange(0.40, 0.96, 0.025), 3):
        accepted = similarity >= threshold
        tpr = float((accepted & truth).sum() / max(1, truth.sum()))
        tnr = float((~accepted & ~truth).sum() / max(1, (~truth).sum()))
        rows.append({"threshold": float(threshold), "true_accepted": tpr, "false_refused": tnr,
                     "balanced_accuracy": (tpr + tnr) / 2})  # fmt: skip
    best_row = max(rows, key=lambda r: (r["balanced_accuracy"], r["threshold"]))
    default = min(rows, key=lambda r: abs(r["threshold"] - DEFAULT_THRESHOLD))
    result = {
        "command": "tools/compose_threshold.py",
        "held_out": args.held_out,
        "banks": args.banks,
        "pairs": len(pairs),
        "related_pairs": int(truth.sum()),
        "best": best_row,
        "default_threshold": default,
        "thresholds": rows,
        "examples_refused_at_default": [
            asdict(p) for p in pairs if p.similarity < DEFAULT_THRESHOLD and not p.related
        ][:10],
        "examples_wrongly_accepted_at_default": [
            asdict(p) for p in pairs if p.similarity >= DEFAULT_THRESHOLD and not p.related
        ][:10],
        "seconds": round(time.perf_counter() - start, 1),
    }
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(
        json.dumps({k: result[k] for k in ("pairs", "related_pairs", "best", "default_threshold")})
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
