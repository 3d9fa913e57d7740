"""A reader of Qt binary resource bundles (``.rcc``), enough to list and extract files.

A bundle starts with the magic ``qres``, a format version and the offsets of
three areas: a tree of fixed-size nodes (a node is a directory with a child
range, or a file with a data offset), the names (UTF-16 with a length and a
hash) and the data (a 4-byte size, then the bytes; compressed entries hold
Qt's ``qCompress`` format, a 4-byte length followed by a zlib stream). GCompris
ships its photos this way.

Example:
    >>> bundle = RccBundle.from_bytes(build_rcc({"a/b.txt": b"hello"}))
    >>> bundle.names(), bundle.read("a/b.txt")
    (['a/b.txt'], b'hello')
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"qres"
_DIRECTORY, _COMPRESSED, _ZSTD = 0x02, 0x01, 0x04


class RccError(ValueError):
    """A file that is not a readable Qt resource bundle; says what is wrong."""


@dataclass(frozen=True)
class RccEntry:
    """One file of a bundle: its path and where its bytes are."""

    path: str
    offset: int
    flags: int


class RccBundle:
    """The files of one ``.rcc`` bundle (read eagerly; bundles are a few MiB).

    Raises:
        RccError: bad magic, an unknown version or offsets outside the file.
    """

    def __init__(self, data: bytes, source: str = "<bytes>") -> None:
        self._data, self._source = data, source
        if data[:4] != MAGIC:
            raise RccError(f"{source} is not a Qt resource bundle (no 'qres' magic)")
        version, tree, payload, names = struct.unpack(">4I", data[4:20])
        if version not in (1, 2, 3):
            raise RccError(f"{source}: unknown rcc format version {version}")
        if max(tree, payload, names) >= len(data):
            raise RccError(f"{source}: an area offset lies outside the {len(data)}-byte file")
        self._tree, self._payload, self._names = tree, payload, names
        self._node = 14 if version == 1 else 22  # version 2 adds an 8-byte modification time
        self.entries: dict[str, RccEntry] = {}
        self._walk(0, "")

    @classmethod
    def open(cls, path: Path) -> RccBundle:
        """Read a bundle from a file."""
        return cls(path.read_bytes(), str(path))

    @classmethod
    def from_bytes(cls, data: bytes) -> RccBundle:
        """Read a bundle held in memory."""
        return cls(data)

    def _name(self, offset: int) -> str:
        start = self._names + offset
        (length,) = struct.unpack(">H", self._data[start : start + 2])
        return self._data[start + 6 : start + 6 + 2 * length].decode("utf-16-be")

    def _walk(self, index: int, prefix: str, depth: int = 0) -> None:
        if depth > 64:
            raise RccError(f"{self._source}: the resource tree is deeper than 64 levels")
        at = self._tree + index * self._node
        name_offset, flags = struct.unpack(">IH", self._data[at : at + 6])
        name = "" if index == 0 else self._name(name_offset)
        path = f"{prefix}/{name}" if prefix else name
        if flags & _DIRECTORY:
            count, first = struct.unpack(">II", self._data[at + 6 : at + 14])
            for child in range(first, first + count):
                self._walk(child, path, depth + 1)
        else:
            (offset,) = struct.unpack(">I", self._data[at + 10 : at + 14])
            self.entries[path] = RccEntry(path, offset, flags)

    def names(self) -> list[str]:
        """Paths of every file, in tree order."""
        return list(self.entries)

    def read(self, path: str) -> bytes:
        """The (decompressed) bytes of one file.

        Raises:
            KeyError: no such file in the bundle.
            RccError: a zstd-compressed entry (not supported) or corrupt data.
        """
        entry = self.entries[path]
        start = self._payload + entry.offset
        (size,) = struct.unpack(">I", self._data[start : start + 4])
        body = self._data[start + 4 : start + 4 + size]
        if entry.flags & _ZSTD:
            raise RccError(f"{self._source}: {path} is zstd-compressed, which is not supported")
        if entry.flags & _COMPRESSED:
            try:
                return zlib.decompress(body[4:])
            except zlib.error as err:
                raise RccError(f"{self._source}: {path} does not decompress: {err}") from err
        return body


def build_rcc(files: dict[str, bytes], compress: bool = True) -> bytes:
    """A version-2 bundle of ``files`` (for tests; Qt's ``rcc`` writes the same layout).

    Args:
        files: Path -> bytes; folders are made from the paths.
        compress: Store entries in qCompress form.
    """
    tree: dict[str, dict | bytes] = {}
    for path, content in files.items():
        node = tree
        *folders, leaf = path.split("/")
        for folder in folders:
            node = node.setdefault(folder, {})  # type: ignore[assignment]
        node[leaf] = content
    names, payload, nodes = bytearray(), bytearray(), []

    def name_offset(name: str) -> int:
        offset = len(names)
        encoded = name.encode("utf-16-be")
        names.extend(struct.pack(">HI", len(name), 0) + encoded)
        return offset

    # Breadth-first numbering: a directory's children are consecutive nodes.
    queue: list[tuple[str, dict | bytes]] = [("", tree)]
    order: list[tuple[str, dict | bytes]] = []
    while queue:
        name, item = queue.pop(0)
        order.append((name, item))
        if isinstance(item, dict):
            queue.extend(sorted(item.items()))
    next_child = 1
    for name, item in order:
        offset = name_offset(name) if name else 0
        if isinstance(item, dict):
            nodes.append(struct.pack(">IHII", offset, _DIRECTORY, len(item), next_child) + bytes(8))
            next_child += len(item)
        else:
            body = struct.pack(">I", len(item)) + zlib.compress(item) if compress else item
            data_offset = len(payload)
            payload.extend(struct.pack(">I", len(body)) + body)
            flags = _COMPRESSED if compress else 0
            nodes.append(struct.pack(">IHHHI", offset, flags, 0, 0, data_offset) + bytes(8))
    header_size = 20
    tree_offset = header_size
    tree_bytes = b"".join(nodes)
    payload_offset = tree_offset + len(tree_bytes)
    names_offset = payload_offset + len(payload)
    header = MAGIC + struct.pack(">4I", 2, tree_offset, payload_offset, names_offset)
    return header + tree_bytes + bytes(payload) + bytes(names)
