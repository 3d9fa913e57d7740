import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "tools" / "benchmark_synthetic.py"
_SPEC = importlib.util.spec_from_file_location("benchmark_synthetic", _PATH)
benchmark = importlib.util.module_from_spec(_SPEC)
sys.modules["benchmark_synthetic"] = benchmark  # dataclasses look their module up
_SPEC.loader.exec_module(benchmark)


def test_components_split_colour_pattern_and_object():
    assert benchmark.components("red car") == benchmark.Components("car", "red", None)
    assert benchmark.components("checkered shirt") == benchmark.Components("shirt", None, "checks")
    assert benchmark.components("golden retriever").object == "golden retriever"
    # WordNet's "black cat" is a fisher (no ImageNet class): colour + cat.
    assert benchmark.components("black cat") == benchmark.Components("cat", "black", None)


@pytest.mark.parametrize(
    ("label", "concept", "recall"),
    [
        ("red car", "red car", 1.0),
        ("crimson automobile", "red car", 1.0),  # colour synonym, WordNet synonym
        ("red sports car", "red car", 1.0),  # a hyponym names the object
        ("car", "red car", 0.5),
        ("blue teapot", "red car", 0.0),
        ("canine", "dog", 1.0),  # a hypernym below the top levels
        ("animal", "dog", 0.0),  # too general
        ("polka dot puppy", "spotted dog", 1.0),
        ("yellow fruit", "banana", 1.0),
    ],
)
def test_component_recall_counts_synonyms_hypernyms_and_hyponyms(label, concept, recall):
    from line_mcp.knowledge.wordnet import default_wordnet

    assert benchmark.component_recall(label, concept, default_wordnet()) == recall


def test_summary_pairs_methods_and_counts_recovered_concepts():
    def method(hit, ratio):
        return {
            "hit": hit,
            "hit_at_0.7": hit,
            "similarity": hit,
            "component_recall": hit,
            "activation_ratio": ratio,
        }

    rows = [
        {
            "kind": "object",
            "methods": {m: method(1.0 if m == "line" else 0.0, 1.0) for m in benchmark.METHODS},
        },
        {
            "kind": "polysemantic",
            "methods": {m: method(1.0, 0.5) for m in benchmark.METHODS},
            "polysemantic": {"recovered": 1, "of": 2},
        },
    ]
    result = benchmark.summarise(rows)
    line_all = next(s for s in result["summary"] if s["kind"] == "all" and s["method"] == "line")
    assert line_all["hit"] == 1.0 and line_all["n"] == 2
    vocab_hits = next(
        t
        for t in result["tests"]
        if t["baseline"] == "vocab" and t["metric"] == "hit" and t["method"] == "line"
    )
    assert (vocab_hits["wins"], vocab_hits["losses"]) == (1, 0)
    assert result["polysemantic_recovery"] == {
        "neurons": 1,
        "concepts_recovered": 1,
        "concepts_total": 2,
        "both_recovered": 0,
    }


def test_markdown_has_every_table():
    info = {
        "label": "banana",
        "hit": 1.0,
        "hit_at_0.7": 1.0,
        "similarity": 1.0,
        "component_recall": 1.0,
        "activation_ratio": 1.0,
    }
    rows = [
        {
            "name": "or-banana-guitar",
            "kind": "polysemantic",
            "concepts": ["banana", "guitar"],
            "truth_activation": 0.8,
            "limit": "found",
            "methods": {m: dict(info) for m in benchmark.METHODS},
            "polysemantic": {
                "labels": ["banana", "guitar"],
                "scores": [0.8, 0.7],
                "steps": [0, 3],
                "recovered": 2,
                "of": 2,
            },
        }
    ] * 2
    result = {
        "command": "x",
        "date": "today",
        "machine": "m",
        "settings": {
            "backends": {"target": "t", "generator": "g", "control": "c", "proposer": "p"},
            "target_fingerprint": "f",
            "proposal": "guided",
            "loop": {"iterations": 10, "seed": 0},
            "concepts": 2,
        },
        "threshold": {
            "threshold": 0.7,
            "balanced_accuracy": 0.9,
            "matching_pairs": 3,
            "non_matching_pairs": 4,
            "matching_examples": ["a / b"],
            "matching_percentiles_5_25_50_75_95": [0.5] * 5,
            "non_matching_percentiles_5_25_50_75_95": [0.2] * 5,
        },
        "seconds": {"total": 60.0, "vocabulary": 30.0},
        **benchmark.summarise(rows),
        "neurons": rows,
    }
    text = benchmark.to_markdown(result)
    for heading in ("Mean scores by kind", "LINE vs baselines", "What limits LINE", "--concepts 2"):
        assert heading in text
    assert "4 of 4 ground-truth concepts recovered over 2 `or` neurons; both concepts on 2" in text
    assert "| polysemantic | 2 | 0 | 0 | 0 | 0 |" in text
