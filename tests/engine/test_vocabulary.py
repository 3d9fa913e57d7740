"""The vocabulary screen (``init_screen``): one image per label, full images for the best."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from line_mcp.config import LoopConfig
from line_mcp.engine.drawing import draw_requests
from line_mcp.service import LineService

FULL = LoopConfig(iterations=2, seed=3)
SCREENED = FULL.model_copy(update={"init_screen": 10})


def _images_drawn(root) -> int:
    with sqlite3.connect(root / "cache.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM images").fetchone()[0]


def test_a_screened_board_is_scored_like_proposals_and_keeps_the_full_boards(
    fake_backends, tmp_path
):
    full = LineService(fake_backends, tmp_path / "full")
    screened = LineService(fake_backends, tmp_path / "screened")
    matrix = full.vocabulary.scores(FULL)
    for neuron in range(4):
        want = full.vocabulary.initial_board(neuron, FULL)
        got = screened.vocabulary.initial_board(neuron, SCREENED)
        assert got.screened == 10 and want.screened is None
        # Every entry, shortlisted or random, is the mean over its |P| images, as a proposal is.
        for entry in got.entries:
            images = got.images[entry.concept]
            assert len(images) == FULL.images_per_concept
            row = matrix.scores[matrix.labels.index(entry.concept)]
            assert entry.score == pytest.approx(float(row[neuron]), abs=1e-6)
            assert entry.score == pytest.approx(np.mean([i.activation for i in images]), abs=1e-6)
        # The fake colours' top 5 lie in the screen's top 10: the same board, same random picks.
        assert got.entries == want.entries
        assert got.top_vocabulary[:5] == want.top_vocabulary[:5]
    # 40 labels: 40 screen images + 4 more per shortlisted label, fewer than 40 x 5.
    assert _images_drawn(tmp_path / "screened") < _images_drawn(tmp_path / "full")


def test_the_screen_is_each_labels_first_image(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path)
    screen = service.vocabulary.screen_scores(SCREENED)
    assert service.vocabulary.ready(SCREENED) and not service.vocabulary.ready(FULL)
    label = screen.labels[7]
    (first,) = service.drawing.draw_batches([label], [draw_requests(label, 1, SCREENED)])
    assert np.array_equal(screen.scores[7], first.activations[0])
    assert draw_requests(label, 1, SCREENED) == draw_requests(label, 5, SCREENED)[:1]


def test_a_screen_smaller_than_the_boards_top_is_refused():
    with pytest.raises(ValueError, match=r"init_screen=3 must be 0 .* at least init_top=5"):
        LoopConfig(init_screen=3)
    assert LoopConfig(init_screen=5).init_screen == 5



def test_initial_boards_show_the_vocabulary_passs_pixels_without_drawing_again(
    fake_backends, tmp_path
):
    service = LineService(fake_backends, tmp_path)
    service.vocabulary.prepare(FULL)
    drawn = service.drawing.generated
    assert drawn == 40 * FULL.images_per_concept
    for neuron in range(4):
        board = service.vocabulary.initial_board(neuron, FULL)
        for entry in board.entries:
            assert all(service.workspace.has_image(i.image_id) for i in board.images[entry.concept])
    assert service.drawing.generated == drawn  # the boards read the pass's pixels


def test_what_the_generator_can_draw_is_asked_once_per_workspace(fake_backends, tmp_path):
    from tests.fakes import FakeGenerator

    class Checking(FakeGenerator):
        asked = 0

        def can_draw(self, concepts):
            Checking.asked += 1
            return [not concept.endswith(("1", "3")) for concept in concepts]

    labels = LineService(fake_backends, tmp_path / "plain").vocabulary.drawable_labels()
    first = LineService(fake_backends, tmp_path, prebuilt={"generator": Checking()})
    drawable = first.vocabulary.drawable_labels()
    assert drawable == [label for label in labels if not label.endswith(("1", "3"))] != labels
    first.vocabulary.drawable_labels()
    # A later process on the workspace reads the stored answer instead of asking again.
    again = LineService(fake_backends, tmp_path, prebuilt={"generator": Checking()})
    assert again.vocabulary.drawable_labels() == drawable and Checking.asked == 1
