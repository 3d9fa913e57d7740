"""A small CPU renderer for the 3D models: OBJ/MTL parsing, a camera from the angle word, splats.

No GPU and no 3D library: the mesh's surface is sampled densely (points per
face in proportion to its area, fixed seed), each point is Lambert-shaded by its
face normal and the light the lighting word names, projected through a
perspective camera and kept where it is nearest (a z-buffer over 2x2 splats).
What no point covers stays transparent, so the compositing of the compose
generator (recolour, pattern, setting, count) works on the render as on a cut-out.

The camera follows the prompt's angle word: an aerial view looks down from
high above, a low angle from below the middle, a close-up stands near, a wide
angle shot far with a wider lens; the azimuth comes from the image seed.

Example:
    >>> view = camera_for("aerial view", seed=3)
    >>> view.framing, 55 <= view.elevation <= 80
    ('aerial view', True)
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from line_mcp.core.provenance import CameraView

# Bump when the rendering changes: part of the on-disk cache key.
RENDER_VERSION = 1
#: Surface points per output pixel of the frame: enough for a solid look at 2x2 splats.
POINTS_PER_PIXEL = 2.5
#: Faces kept per model: bigger meshes are decimated (a seeded subset, area-weighted
#: sampling still covers the surface) so one render stays well under a second.
MAX_FACES = 60_000
_DEFAULT_COLOUR = (0.72, 0.72, 0.72)


@dataclass(frozen=True)
class _Framing:
    name: str
    elevation: tuple[float, float]
    azimuth: float  # half-range around the front; 180 = any side
    distance: float
    fov: float


# The paper's angle words; anything else gets the default three-quarter view.
_FRAMINGS: tuple[tuple[str, _Framing], ...] = (
    ("close", _Framing("extreme close-up", (10.0, 25.0), 50.0, 1.7, 40.0)),
    ("wide", _Framing("wide angle shot", (12.0, 28.0), 80.0, 3.6, 60.0)),
    ("aerial", _Framing("aerial view", (55.0, 80.0), 180.0, 3.0, 40.0)),
    ("low", _Framing("low angle", (-12.0, -2.0), 60.0, 2.8, 40.0)),
)
_DEFAULT_FRAMING = _Framing("default", (15.0, 35.0), 70.0, 2.9, 40.0)


def camera_for(angle: str, seed: int) -> CameraView:
    """The camera view for a prompt's angle word, its azimuth and elevation drawn from ``seed``.

    Example:
        >>> camera_for("low angle", 1).elevation < 0 < camera_for("wide angle shot", 1).elevation
        True
    """
    lowered = angle.lower()
    framing = next((f for word, f in _FRAMINGS if word in lowered), _DEFAULT_FRAMING)
    rng = random.Random(f"camera|{seed}")
    return CameraView(
        framing=framing.name,
        elevation=round(rng.uniform(*framing.elevation), 1),
        azimuth=round(rng.uniform(-framing.azimuth, framing.azimuth) % 360.0, 1),
        distance=framing.distance,
        fov=framing.fov,
    )


# --------------------------------------------------------------------------- meshes


@dataclass(frozen=True)
class Mesh:
    """Triangles with one diffuse colour each.

    Attributes:
        vertices: ``(V, 3)`` float positions, y up.
        faces: ``(F, 3)`` vertex indices.
        colours: ``(F, 3)`` RGB diffuse colours in [0, 1].
    """

    vertices: np.ndarray
    faces: np.ndarray
    colours: np.ndarray


def parse_mtl(
    text: str, texture_colour: Callable[[str], tuple[float, float, float] | None] | None = None
) -> dict[str, tuple[float, float, float]]:
    """Diffuse colour of each material: ``Kd``, or a texture's mean colour where it has one.

    Args:
        text: The MTL source.
        texture_colour: Returns a texture file's mean colour (None when unreadable).

    Example:
        >>> parse_mtl("newmtl red\\nKd 1 0 0\\nnewmtl grey\\nKa 0 0 0")
        {'red': (1.0, 0.0, 0.0), 'grey': (0.72, 0.72, 0.72)}
    """
    colours: dict[str, tuple[float, float, float]] = {}
    current: str | None = None
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "newmtl" and len(words) > 1:
            current = " ".join(words[1:])
            colours[current] = _DEFAULT_COLOUR
        elif current is not None and words[0] == "Kd" and len(words) >= 4:
            with contextlib.suppress(ValueError):
                colours[current] = (float(words[1]), float(words[2]), float(words[3]))
        elif current is not None and words[0] == "map_Kd" and texture_colour is not None:
            # Textures are not mapped (cheap renders); their mean colour stands in for them.
            found = texture_colour(words[-1])
            if found is not None:
                colours[current] = found
    return colours


def parse_obj(text: str, materials: dict[str, tuple[float, float, float]] | None = None) -> Mesh:
    """The triangles of an OBJ source (polygons fanned), coloured by their ``usemtl``.

    Raises:
        ValueError: the source holds no face.

    Example:
        >>> mesh = parse_obj("v 0 0 0\\nv 1 0 0\\nv 1 1 0\\nv 0 1 0\\nf 1/1 2/2 3/3 4/4")
        >>> mesh.faces.tolist()
        [[0, 1, 2], [0, 2, 3]]
    """
    materials = materials or {}
    vertices: list[list[float]] = []
    faces: list[tuple[int, int, int]] = []
    face_material: list[int] = []
    palette: list[tuple[float, float, float]] = [_DEFAULT_COLOUR]
    palette_index: dict[str, int] = {}
    current = 0
    for line in text.splitlines():
        if line.startswith("v "):
            parts = line.split()
            vertices.append([float(parts[1]), float(parts[2]), float(parts[3])])
        elif line.startswith("f "):
            indices = []
            for token in line.split()[1:]:
                value = int(token.split("/", 1)[0])
                indices.append(value - 1 if value > 0 else len(vertices) + value)
            for k in range(1, len(indices) - 1):
                faces.append((indices[0], indices[k], indices[k + 1]))
                face_material.append(current)
        elif line.startswith("usemtl"):
            name = line[6:].strip()
            if name not in palette_index:
                palette_index[name] = len(palette)
                palette.append(materials.get(name, _DEFAULT_COLOUR))
            current = palette_index[name]
    if not faces:
        raise ValueError("the OBJ model holds no face")
    face_array = np.asarray(faces, np.int64)
    vertex_array = np.asarray(vertices, np.float64)
    if face_array.min() < 0 or face_array.max() >= len(vertex_array):
        raise ValueError("the OBJ model has a face with a vertex index out of range")
    colours = np.clip(np.asarray(palette, np.float64)[np.asarray(face_material)], 0.0, 1.0)
    return Mesh(vertex_array, face_array, colours)


def place(mesh: Mesh, rotation: tuple[float, ...], size: tuple[float, float, float]) -> Mesh:
    """The mesh rotated (row-major 3x3) and stretched to a width, height and depth."""
    matrix = np.asarray(rotation, np.float64).reshape(3, 3)
    vertices = mesh.vertices @ matrix.T
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    extent = np.where(high - low > 1e-9, high - low, 1.0)
    vertices = (vertices - (low + high) / 2) / extent * np.asarray(size, np.float64)
    return Mesh(vertices, mesh.faces, mesh.colours)


# --------------------------------------------------------------------------- rendering


def _light(lighting: str) -> tuple[np.ndarray, float]:
    """Light direction (in camera space: x right, y up, z towards the viewer) and ambient share."""
    lowered = lighting.lower()
    if "cinematic" in lowered:  # low, from the side: strong shadows
        direction, ambient = (0.9, 0.25, 0.35), 0.18
    elif "sun" in lowered:  # high and to one side
        direction, ambient = (0.45, 0.85, 0.3), 0.35
    else:  # studio or other: frontal key light from above
        direction, ambient = (0.3, 0.5, 0.8), 0.4
    vector = np.asarray(direction, np.float64)
    return vector / np.linalg.norm(vector), ambient


def render_mesh(mesh: Mesh, view: CameraView, size: int = 256, lighting: str = "") -> Image.Image:
    """Render a mesh from a camera view as an RGBA image, the background transparent.

    The model is centred and scaled to its bounding sphere first, so the view's
    distance is in model radii whatever the units of the file.
    """
    vertices = mesh.vertices - (mesh.vertices.min(axis=0) + mesh.vertices.max(axis=0)) / 2
    radius = float(np.linalg.norm(vertices, axis=1).max()) or 1.0
    vertices = vertices / radius
    faces = mesh.faces
    a, b, c = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    cross = np.cross(b - a, c - a)
    areas = np.linalg.norm(cross, axis=1)
    keep = areas > 1e-12
    if not keep.any():
        return Image.new("RGBA", (size, size))
    a, b, c, cross, areas = a[keep], b[keep], c[keep], cross[keep], areas[keep]
    normals = cross / areas[:, None]
    colours = mesh.colours[keep]

    # Camera basis: eye on a sphere around the centre, looking at it, y up.
    elevation, azimuth = math.radians(view.elevation), math.radians(view.azimuth)
    eye = view.distance * np.array(
        [
            math.cos(elevation) * math.sin(azimuth),
            math.sin(elevation),
            math.cos(elevation) * math.cos(azimuth),
        ]
    )
    forward = -eye / np.linalg.norm(eye)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    basis = np.stack([right, up, -forward])  # rows: camera x, y, z (z towards the viewer)

    # Seeded area-weighted surface samples: the same model and view give the same pixels.
    rng = np.random.default_rng(0)
    count = int(POINTS_PER_PIXEL * size * size * min(4.0, 2.9 / max(view.distance, 0.5)) ** 2)
    chosen = rng.choice(len(areas), size=count, p=areas / areas.sum())
    u, v = rng.random(count), rng.random(count)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    points = a[chosen] + u[:, None] * (b - a)[chosen] + v[:, None] * (c - a)[chosen]

    camera = (points - eye) @ basis.T
    depth = -camera[:, 2]
    ahead = depth > 1e-3
    focal = 0.5 * size / math.tan(math.radians(view.fov) / 2)
    x = camera[:, 0] / np.where(ahead, depth, 1.0) * focal + size / 2
    y = -camera[:, 1] / np.where(ahead, depth, 1.0) * focal + size / 2

    # Lambert shading, two-sided: a normal facing away is flipped towards the camera.
    face_normals = normals @ basis.T
    face_normals[face_normals[:, 2] < 0] *= -1
    light, ambient = _light(lighting)
    shade = ambient + (1 - ambient) * np.clip(face_normals @ light, 0.0, 1.0)
    face_rgb = np.clip(colours * shade[:, None], 0.0, 1.0)

    # 2x2 splats into a z-buffer: per pixel, keep the nearest point.
    xs = np.floor(x).astype(np.int64)
    ys = np.floor(y).astype(np.int64)
    pixel_list, depth_list, face_list = [], [], []
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        px, py = xs + dx, ys + dy
        inside = ahead & (px >= 0) & (px < size) & (py >= 0) & (py < size)
        pixel_list.append(py[inside] * size + px[inside])
        depth_list.append(depth[inside])
        face_list.append(chosen[inside])
    pixels = np.concatenate(pixel_list)
    depths = np.concatenate(depth_list)
    owners = np.concatenate(face_list)
    order = np.lexsort((depths, pixels))
    pixels, owners = pixels[order], owners[order]
    first = np.ones(len(pixels), bool)
    first[1:] = pixels[1:] != pixels[:-1]
    rgba = np.zeros((size * size, 4), np.uint8)
    rgba[pixels[first], :3] = np.round(face_rgb[owners[first]] * 255).astype(np.uint8)
    rgba[pixels[first], 3] = 255
    return Image.fromarray(rgba.reshape(size, size, 4), "RGBA")


def decimate(mesh: Mesh, max_faces: int = MAX_FACES) -> Mesh:
    """At most ``max_faces`` faces: a seeded subset of a bigger mesh (same vertices)."""
    if len(mesh.faces) <= max_faces:
        return mesh
    keep = np.sort(np.random.default_rng(0).choice(len(mesh.faces), max_faces, replace=False))
    return Mesh(mesh.vertices, mesh.faces[keep], mesh.colours[keep])


class ViewCache:
    """Renders kept on disk per (model, view, size, lighting): a view is rendered once.

    Args:
        folder: Where the PNGs go; None keeps nothing on disk.
    """

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def path(self, model_id: str, view: CameraView, size: int, lighting: str) -> Path | None:
        """The cache file of one render, or None without a folder."""
        if self.folder is None:
            return None
        key = f"{model_id}|{view.model_dump_json()}|{size}|{lighting}|v{RENDER_VERSION}"
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.png"

    def get(
        self,
        model_id: str,
        view: CameraView,
        size: int,
        lighting: str,
        render: Callable[[], Image.Image],
    ) -> tuple[Image.Image, bool]:
        """The cached render, or ``render()`` stored; and whether it came from the cache."""
        path = self.path(model_id, view, size, lighting)
        if path is not None and path.is_file():
            with Image.open(path) as stored:
                stored.load()
                return stored.convert("RGBA"), True
        image = render()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp.png")
            image.save(temporary)
            temporary.replace(path)  # atomic: a reader never sees half a file
        return image, False


def _mean_texture_colour(data: bytes) -> tuple[float, float, float] | None:
    import io

    try:
        with Image.open(io.BytesIO(data)) as image:
            small = image.convert("RGB").resize((16, 16))
    except (OSError, ValueError):
        return None
    mean = np.asarray(small, np.float64).reshape(-1, 3).mean(axis=0) / 255
    return (float(mean[0]), float(mean[1]), float(mean[2]))


def load_archive_model(archive: Path, inner: str) -> Mesh:
    """Parse an OBJ model and its MTL materials out of a zip archive (a ``.sh3f`` catalog).

    Raises:
        FileNotFoundError: the archive or the model is missing.
        ValueError: the model holds no face.
    """
    import posixpath
    import zipfile

    if not archive.is_file():
        raise FileNotFoundError(f"no model archive {archive}")
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        if inner not in names:
            raise FileNotFoundError(f"{inner} is not in {archive}")
        text = zipped.read(inner).decode("utf-8", errors="replace")
        folder = posixpath.dirname(inner)

        def member(name: str) -> str | None:
            path = posixpath.normpath(posixpath.join(folder, name.replace("\\", "/")))
            return path if path in names else None

        def texture_colour(name: str) -> tuple[float, float, float] | None:
            path = member(name)
            return _mean_texture_colour(zipped.read(path)) if path else None

        materials: dict[str, tuple[float, float, float]] = {}
        for line in text.splitlines():
            if line.startswith("mtllib"):
                path = member(line[6:].strip())
                if path is not None:
                    source = zipped.read(path).decode("utf-8", errors="replace")
                    materials.update(parse_mtl(source, texture_colour))
    return decimate(parse_obj(text, materials))
