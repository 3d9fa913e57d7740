"""The CPU renderer on a cube written here: OBJ/MTL parsing, views, the on-disk cache."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from line_mcp.backends.compose import render3d
from line_mcp.core.provenance import CameraView

# A unit cube: the top face red, the others grey (Kd), quads fanned into triangles.
CUBE_OBJ = """mtllib cube.mtl
v -1 -1 -1
v 1 -1 -1
v 1 1 -1
v -1 1 -1
v -1 -1 1
v 1 -1 1
v 1 1 1
v -1 1 1
usemtl grey
f 1 2 3 4
f 5 6 7 8
f 1 2 6 5
f 1 5 8 4
f 2 3 7 6
usemtl red
f 4/1 3/2 7/3 8/4
"""
CUBE_MTL = "newmtl grey\nKd 0.5 0.5 0.5\nnewmtl red\nKd 1 0 0\n"


@pytest.fixture(scope="module")
def cube() -> render3d.Mesh:
    return render3d.parse_obj(CUBE_OBJ, render3d.parse_mtl(CUBE_MTL))


def red_share(image) -> float:
    rgba = np.asarray(image).reshape(-1, 4).astype(int)
    opaque = rgba[rgba[:, 3] > 0]
    red = (opaque[:, 0] > 120) & (opaque[:, 1] < 60) & (opaque[:, 2] < 60)
    return float(red.mean())


def view(elevation: float, azimuth: float = 30.0, distance: float = 3.0) -> CameraView:
    return CameraView(framing="test", elevation=elevation, azimuth=azimuth, distance=distance)


def test_obj_parsing_fans_quads_and_colours_by_material(cube) -> None:
    assert cube.faces.shape == (12, 3)
    assert cube.vertices.shape == (8, 3)
    assert (cube.colours[-2:] == [1.0, 0.0, 0.0]).all()  # the top quad's two triangles
    assert (cube.colours[:-2] == 0.5).all()


def test_bad_obj_raises() -> None:
    with pytest.raises(ValueError, match="no face"):
        render3d.parse_obj("v 0 0 0\n")
    with pytest.raises(ValueError, match="out of range"):
        render3d.parse_obj("v 0 0 0\nf 1 2 3\n")


def test_aerial_view_shows_the_top_face_and_low_angle_does_not(cube) -> None:
    above = render3d.render_mesh(cube, view(70), 96)
    below = render3d.render_mesh(cube, view(-20), 96)
    assert red_share(above) > 0.4
    assert red_share(below) == 0.0


def test_background_is_transparent_and_silhouette_follows_the_view(cube) -> None:
    front = np.asarray(render3d.render_mesh(cube, view(0, azimuth=0), 96))[..., 3] > 0
    corner = np.asarray(render3d.render_mesh(cube, view(0, azimuth=45), 96))[..., 3] > 0
    assert front[0, 0] == 0 and front[48, 48]
    # Seen face-on the cube is a square as tall as it is wide; from 45 degrees it is wider.
    rows, cols = np.nonzero(front)
    assert abs((np.ptp(cols) + 1) - (np.ptp(rows) + 1)) <= 2
    _, cols45 = np.nonzero(corner)
    assert np.ptp(cols45) > 1.08 * np.ptp(cols)
    # Solid: almost no hole inside the silhouette's bounding box when seen face-on.
    assert front[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].mean() > 0.97


def test_closer_camera_shows_a_bigger_object(cube) -> None:
    near = np.asarray(render3d.render_mesh(cube, view(20, distance=2.2), 96))[..., 3] > 0
    far = np.asarray(render3d.render_mesh(cube, view(20, distance=4.0), 96))[..., 3] > 0
    assert near.sum() > 1.5 * far.sum()


def test_camera_follows_the_angle_word_and_the_seed() -> None:
    aerial, low = render3d.camera_for("aerial view", 4), render3d.camera_for("low angle", 4)
    close, wide = (
        render3d.camera_for("extreme close-up", 4),
        render3d.camera_for("wide angle shot", 4),
    )
    assert aerial.elevation > 50 and low.elevation < 0
    assert close.distance < wide.distance and wide.fov > close.fov
    assert render3d.camera_for("aerial view", 4) == aerial
    assert len({render3d.camera_for("aerial view", s).azimuth for s in range(6)}) > 3
    assert render3d.camera_for("portrait", 4).framing == "default"


def test_placement_stretches_to_the_catalog_size(cube) -> None:
    placed = render3d.place(cube, (1, 0, 0, 0, 0, 1, 0, -1, 0), (40.0, 90.0, 45.0))
    extent = placed.vertices.max(axis=0) - placed.vertices.min(axis=0)
    assert np.allclose(extent, [40.0, 90.0, 45.0])


def test_archive_model_with_texture_colour_and_the_view_cache(tmp_path: Path) -> None:
    from PIL import Image

    archive = tmp_path / "cat.sh3f"
    texture = tmp_path / "t.png"
    Image.new("RGB", (4, 4), (0, 0, 255)).save(texture)
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("m/cube.obj", CUBE_OBJ)
        zipped.writestr("m/cube.mtl", CUBE_MTL.replace("Kd 1 0 0", "map_Kd tex/t.png"))
        zipped.write(texture, "m/tex/t.png")
    mesh = render3d.load_archive_model(archive, "m/cube.obj")
    assert np.allclose(mesh.colours[-1], [0.0, 0.0, 1.0])  # the texture's mean colour
    with pytest.raises(FileNotFoundError):
        render3d.load_archive_model(archive, "m/none.obj")

    cache = render3d.ViewCache(tmp_path / "views")
    calls = []

    def draw():
        calls.append(1)
        return render3d.render_mesh(mesh, view(60), 64)

    first, cached = cache.get("cube", view(60), 64, "", draw)
    again, cached_again = cache.get("cube", view(60), 64, "", draw)
    assert (cached, cached_again, len(calls)) == (False, True, 1)
    assert np.array_equal(np.asarray(first), np.asarray(again))
    cache.get("cube", view(10), 64, "", draw)
    assert len(calls) == 2  # another view is another render
