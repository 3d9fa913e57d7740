import io
import os
import threading

import numpy as np
import pytest
from PIL import Image

from line_mcp.store.workspace import Workspace, WorkspaceError, atomic_write_bytes, image_id_for


def _image(colour=(200, 30, 30), size=(64, 48)) -> Image.Image:
    return Image.new("RGB", size, colour)


def _put(workspace: Workspace, image_id: str, image: Image.Image | None) -> None:
    workspace.put_image(
        image_id, image, generator="gen", concept="red", prompt="a red thing", seed=3,
        source={"bank_image": "x.png"},
    )  # fmt: skip


def test_images_round_trip_and_shrink_to_thumbnails(tmp_path):
    workspace = Workspace(tmp_path)
    image_id = image_id_for("gen", "a red thing", 3)
    assert image_id == image_id_for("gen", "a red thing", 3)
    assert image_id != image_id_for("gen", "a red thing", 4)
    _put(workspace, image_id, None)  # indexed only: re-drawable from prompt and seed
    assert not workspace.has_image(image_id) and workspace.thumbnail_png(image_id, 16) is None
    assert workspace.image_info(image_id)["stored"] is False
    _put(workspace, image_id, _image())
    assert workspace.has_image(image_id) and workspace.image_info(image_id)["stored"] is True
    assert workspace.load_image(image_id).getpixel((5, 5)) == (200, 30, 30)
    thumb = Image.open(io.BytesIO(workspace.thumbnail_png(image_id, 16)))
    assert thumb.size == (16, 12)  # longest side 16, aspect kept


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABCDEF0123456789abcdef01", "short"])
def test_ids_cannot_name_paths_outside_the_workspace(tmp_path, bad):
    workspace = Workspace(tmp_path)
    with pytest.raises(WorkspaceError, match="not an image id"):
        workspace.load_image(bad)
    with pytest.raises(WorkspaceError, match="not a run id"):
        workspace.load_run("../" + bad)


def test_activation_cache_keys_on_target_and_layer(tmp_path):
    workspace = Workspace(tmp_path)
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    workspace.put_activations("t1", "avgpool", ["a", "b"], vectors)
    found = workspace.get_activations("t1", "avgpool", ["a", "b", "c"])
    assert set(found) == {"a", "b"} and np.array_equal(found["b"], vectors[1])
    assert workspace.get_activations("t1", "logits", ["a"]) == {}
    assert workspace.get_activations("t2", "avgpool", ["a"]) == {}


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "runs" / "r.json"
    atomic_write_bytes(path, b"old")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]


def test_workspaces_opened_at_once_by_many_openers_all_open(tmp_path) -> None:
    # Ray actors and servers open one workspace at the same moment: none may see
    # another's writability check as its own failure.
    errors: list[Exception] = []
    start = threading.Barrier(8)

    def open_many() -> None:
        start.wait()
        for _ in range(40):
            try:
                Workspace(tmp_path)
            except Exception as err:  # collected and reported below
                errors.append(err)

    threads = [threading.Thread(target=open_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
