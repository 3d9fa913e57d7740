import random
from collections import Counter

import pytest

from line_mcp.core.scoreboard import (
    ScoreboardEntry,
    best_entry,
    initial_scoreboard,
    mean_activation,
    update_scoreboard,
)


def entry(concept: str, score: float, step: int | str = 0) -> ScoreboardEntry:
    return ScoreboardEntry(concept=concept, score=score, step=step, novel=step != 0)


BOARD = [entry("dog", 4.0), entry("cat", 3.0), entry("car", 1.0), entry("tree", 0.0)]


def test_new_entry_above_minimum_replaces_the_minimum():
    update = update_scoreboard(BOARD, entry("puppy", 2.0, 1), random.Random(0))
    assert update.replaced_minimum
    assert update.removed.concept == "tree"
    assert [e.concept for e in update.entries] == ["dog", "cat", "puppy", "car"]


def test_size_is_constant_and_the_new_entry_always_enters():
    for seed in range(20):
        update = update_scoreboard(BOARD, entry("rock", -1.0, 1), random.Random(seed))
        assert len(update.entries) == len(BOARD)
        assert "rock" in [e.concept for e in update.entries]
        assert not update.replaced_minimum


def test_stochastic_removal_follows_distance_from_the_maximum():
    # weights: dog 0, cat 1, car 3, tree 4 -> removal odds 0 : 1/8 : 3/8 : 4/8
    removed = Counter(
        update_scoreboard(BOARD, entry("rock", -1.0, 1), random.Random(seed)).removed.concept
        for seed in range(4000)
    )
    assert removed["dog"] == 0
    assert removed["cat"] / 4000 == pytest.approx(1 / 8, abs=0.025)
    assert removed["car"] / 4000 == pytest.approx(3 / 8, abs=0.03)
    assert removed["tree"] / 4000 == pytest.approx(4 / 8, abs=0.03)


def test_removal_is_reproducible_under_a_seed():
    runs = [
        [
            update_scoreboard(BOARD, entry("x", -1, 1), random.Random(7)).removed.concept
            for _ in range(5)
        ]
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_equal_scores_remove_uniformly_without_error():
    board = [entry(c, 1.0) for c in "abcd"]
    update = update_scoreboard(board, entry("e", 1.0, 1), random.Random(1))
    assert len(update.entries) == 4


def test_update_of_an_empty_board_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        update_scoreboard([], entry("x", 1.0, 1), random.Random(0))


def test_initial_scoreboard_takes_top_and_random():
    concepts = [f"c{i}" for i in range(100)]
    scores = [float(i) for i in range(100)]
    board = initial_scoreboard(concepts, scores, 5, 5, random.Random(3))
    names = [e.concept for e in board]
    assert names[:5] == ["c99", "c98", "c97", "c96", "c95"]
    assert len(set(names)) == 10
    assert all(e.step == 0 and not e.novel for e in board)
    assert board == initial_scoreboard(concepts, scores, 5, 5, random.Random(3))
    assert board != initial_scoreboard(concepts, scores, 5, 5, random.Random(4))


def test_initial_scoreboard_needs_enough_vocabulary():
    with pytest.raises(ValueError, match="at least 10"):
        initial_scoreboard(["a", "b"], [1.0, 2.0], 5, 5, random.Random(0))


def test_mean_activation_and_best_entry():
    assert mean_activation([1.0, 2.0, 6.0]) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="no images"):
        mean_activation([])
    assert best_entry(BOARD).concept == "dog"
