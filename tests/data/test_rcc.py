"""The Qt resource bundle reader, on built bundles and on GCompris' installed ones."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from line_mcp.data.rcc import RccBundle, RccError, build_rcc

FILES = {"a/b/one.txt": b"first", "a/two.bin": bytes(range(256)) * 10, "top.txt": b""}


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip(compress: bool) -> None:
    bundle = RccBundle.from_bytes(build_rcc(FILES, compress=compress))
    assert sorted(bundle.names()) == sorted(FILES)
    for path, content in FILES.items():
        assert bundle.read(path) == content


def test_bad_bundles_say_what_is_wrong() -> None:
    with pytest.raises(RccError, match="no 'qres' magic"):
        RccBundle.from_bytes(b"PK\x03\x04" + bytes(40))
    data = bytearray(build_rcc(FILES))
    data[4:8] = struct.pack(">I", 9)
    with pytest.raises(RccError, match="unknown rcc format version 9"):
        RccBundle.from_bytes(bytes(data))
    data = bytearray(build_rcc(FILES))
    data[8:12] = struct.pack(">I", 10**9)
    with pytest.raises(RccError, match="outside"):
        RccBundle.from_bytes(bytes(data))
    with pytest.raises(KeyError):
        RccBundle.from_bytes(build_rcc(FILES)).read("missing.txt")


def test_reads_an_installed_gcompris_bundle() -> None:
    path = Path("/usr/share/gcompris-qt/rcc/explore_farm_animals.rcc")
    if not path.is_file():
        pytest.skip("Debian package gcompris-qt-data is not installed")
    bundle = RccBundle.open(path)
    cow = next(n for n in bundle.names() if n.endswith("/cow.webp"))
    assert bundle.read(cow)[:4] == b"RIFF"  # a WebP file, decompressed
