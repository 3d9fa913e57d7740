"""The Open Clip Art Library PNGs (Debian ``openclipart-png``).

Labeled from their file names with the author names dropped (helped by the
``Author``/``Title`` text in the PNG header); clip art on a transparent background.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from PIL import Image

from line_mcp.data.banks.base import MAX_PIXELS, Bank, BankImage

OPENCLIPART_ROOT = Path("/usr/share/openclipart/png")
_PNG_HEAD_BYTES = 8192  # openclipart's text chunks end within the first 1.5 KiB


# Top-level openclipart folders that hold icons, symbols, patterns, logos,
# maps of flags etc. rather than depictions of things; ``unsorted`` is mostly
# Italian titles and duplicates.
OPENCLIPART_EXCLUDED_DIRS: frozenset[str] = frozenset(
    {"buttons", "computer", "logos", "shapes", "signs_and_symbols", "special", "unsorted"}
)
# Sub-folders of included folders that are pictograms and road signs.
OPENCLIPART_EXCLUDED_SUBDIRS: frozenset[str] = frozenset(
    {"transportation/aiga-symbols", "transportation/roadsigns"}
)

# Authors whose names end openclipart file names ("happy_woman_dirk_struve_01"),
# read off the installed package. Names are cut at 24 characters, so the last
# one may be truncated ("quattro_farfalle_archite_01").
OPENCLIPART_AUTHORS: tuple[str, ...] = (
    "a.j. ashton", "aj", "aj ashton", "alejandro tejada", "alex fernandez", "alex kuehne",
    "alexander d. nazarenko", "ali hussnain", "andrea bianchi", "andreas nilsson",
    "andrew fitzsimon", "angelo gelmi", "anita", "anonymous", "anthony liekens", "anton fr",
    "anton yu", "architetto francesco rollandin", "astrid graeber", "aubanel monnier",
    "benji park", "bram geron", "brice boyer", "celso junior", "charles mccolm", "chaspo",
    "chris hinton", "chris kempson", "christian h.", "christoph brill", "clemente",
    "costea bogdan", "dan gerhards", "dan gerhrads", "daniel steele", "danny allen",
    "darek adamkiewicz", "darkon", "daul", "dave pena", "davek", "david wislon", "davide pesenti",
    "dennis bos", "dennis rutjes", "didier fabert", "dirk struve", "durex", "einar",
    "enrique meza c", "erich schubert", "erik postma", "erwan", "etienne bersac", "fabien omic.ch",
    "fco. andrade", "felipe macie", "francesco rollandin", "frederic moser", "frouke",
    "fudriot omic.ch", "gabriel lo iacono", "gabrielle nowicki", "ganson", "geraint luff",
    "gerald g.", "ghuul", "ghuul ghuul", "gino rivera", "giuseppe m", "graig ryan smith",
    "guillaume boitel", "guziec", "hans deragon", "hardi", "igor k", "israel c", "jaime sanchez",
    "jakob chaosinfa", "james birkett", "james kilfiger", "jamin ellis", "janet theobroma",
    "jarno vasamaa", "jasper van de grond", "jean maurice", "jean victor balin",
    "jean vitor balin", "jeff simpson", "joel", "joel montes", "joerg rosenbauer", "john rariden",
    "jon campbell", "jon phillips", "jonadab the unsightly one", "jonathan dietrich", "jonvdveen",
    "jordan wiens", "jorkon", "josu alcalde", "juliane krug", "jure kodzoman", "jurgen",
    "jurgen gaeremyn", "k yager", "karl bartel", "kevin cowtan", "kilian valkhof", "konstantin r.",
    "kurt cagle", "leif lodahl", "leigh purdie", "linda kim", "lion kimbro", "lorenzo luengo",
    "lumen design studio", "marcelo caiafa", "marcelo staudt", "mariusz k", "mark near",
    "martin schmidt", "massimo aiello", "mateya", "matt todd", "matthew gates", "mauro olivo",
    "md", "michael hart", "michael jahn", "michael moore", "michael tunnicliffe",
    "mike honeychurch", "mike smith", "mikhail a.medvedev", "mimooh", "mirjam meijer",
    "mirko maischberger", "mitchell johnson", "mo", "nae", "nathan eady", "nathan hawke",
    "nicolas gagliani", "nicu buculei", "nurbldoff", "olivier", "omar abo namous", "onelette",
    "openclipart", "orbu", "orlando karam", "patricia fidi", "paul", "peterm", "petri lummemaki",
    "philippe colin", "ralf stephan", "raphael seban", "rgolan", "rikva", "roberto u.",
    "rollandin francesco architetto", "romus", "ron golan", "rory mccann", "ross merrigan",
    "ruud steltenpool", "saint", "santiago diaz", "schwoo", "sek", "sergio luiz araujo",
    "seth yastrov", "shandy brown", "sherrera", "stefan bazelkov", "stefan illner",
    "steffen gluckselig", "stuart moore", "susan park", "t. eitel", "tanguy jacq", "tess brady",
    "teudimundo", "theerud law", "timothy white", "tobias jakobs", "toh yen cheng", "tom kralidis",
    "tomek dudziak", "uliphant", "utrescu", "valessio soares de souza", "vikingdread",
    "vladimir hernandez", "william page", "yemu", "yogesh kanitkar", "yves guillou",
)  # fmt: skip
# Authors who title their clip art in Italian ("quattro_farfalle", "coccinella"):
# their entries are left out, since the labels would not be English.
OPENCLIPART_ITALIAN_AUTHORS: frozenset[str] = frozenset(
    {
        "architetto francesco rollandin",
        "francesco rollandin",
        "rollandin francesco architetto",
        "mauro olivo",
    }
)
_ITALIAN_WORDS = tuple(frozenset(name.split()) for name in OPENCLIPART_ITALIAN_AUTHORS)
_AUTHORS_BY_FIRST_WORD: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
for _author in OPENCLIPART_AUTHORS:
    _parts = tuple(re.split(r"[\s_\-]+", _author))
    _AUTHORS_BY_FIRST_WORD.setdefault(_parts[0], []).append((_author, _parts))
_NAME_LIMIT = 24  # openclipart cut "title_author" names at 24 characters
# Numbering and variant marks at the end of a name: "_01", "_01a", "_r", "v0.1", "bw".
_TRAILING_NOISE = re.compile(r"^(?:\d+[a-z]?r?|r|s|bw|v\d+(?:\.\d+)*)$")
_NOISE_TOKEN = re.compile(r"^(?:alt|bw|v\d+(?:\.\d+)*|\d+[a-z]?|svg)$")
_URL_TOKEN = re.compile(r"^(?:https?|www\..*|\w+\.\w+.*)$")  # "omic.ch", "in-berlin.de"
# Words of Italian, French and Spanish titles ("cigno di notte", "carte de france").
_NON_ENGLISH_WORDS: frozenset[str] = frozenset(
    {"al", "alla", "au", "aux", "avec", "con", "das", "de", "degli", "dei", "del", "della",
     "delle", "der", "des", "di", "die", "du", "e", "el", "gli", "il", "la", "las", "le", "les",
     "los", "mie", "nella", "noi", "per", "sul", "sulla", "und", "y"}
)  # fmt: skip
_DANGLING_WORDS: frozenset[str] = frozenset(
    {"a", "an", "and", "as", "at", "for", "from", "in", "of", "on", "or", "the", "to", "with"}
)
_CARD_RANKS = {
    "a": "ace", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven",
    "8": "eight", "9": "nine", "10": "ten", "j": "jack", "q": "queen", "k": "king",
}  # fmt: skip
_CARD_SUITS = {"c": "clubs", "d": "diamonds", "h": "hearts", "s": "spades"}
_CARD = re.compile(r"^(?:bordered|ornamental|simple|white)_(?:([cdhs])_(\w+)|jk_[br])$")


def _author_parts(author: str) -> tuple[str, ...]:
    """Words of an author name as file names spell them ("Jean-Victor Balin (mail)")."""
    text = re.sub(r"\S+@\S+|\([^)]*\)|\[[^\]]*\]|<[^>]*>|[\"']", " ", author.lower())
    return tuple(token for token in re.split(r"[\s_\-]+", text) if token)


def _match_author(
    tokens: list[str], truncated: bool, extra: tuple[str, ...] = ()
) -> tuple[int, str] | None:
    """The author name that ends ``tokens`` and starts earliest.

    Args:
        tokens: Words of a file name, numbering removed.
        truncated: The name was cut at the length limit, so a lone last word may
            be the start of an author's first word ("archite" for "architetto").
        extra: Words of one more author name to look for (from the file's metadata).

    Returns:
        (index of the author's first word, author), or None.
    """
    for start in range(1, len(tokens)):
        tail = tokens[start:]
        *whole, last = tail
        if whole:
            candidates = list(_AUTHORS_BY_FIRST_WORD.get(whole[0], []))
        elif truncated and len(last) >= (4 if extra else 3) and last not in _DANGLING_WORDS:
            # a lone cut word ("archite"); shorter ones ("lin" of "links", not "linda")
            # only when the file does not say who its author is
            candidates = [
                author
                for first, authors in _AUTHORS_BY_FIRST_WORD.items()
                if first.startswith(last)
                for author in authors
            ]
        else:
            candidates = list(_AUTHORS_BY_FIRST_WORD.get(last, []))
        if extra:
            candidates.insert(0, (" ".join(extra), extra))
        for name, parts in candidates:
            if len(tail) > len(parts) or list(parts[: len(whole)]) != whole:
                continue
            target = parts[len(tail) - 1]
            # the whole name, or its start cut inside a word after a whole first word
            if (len(tail) == len(parts) and last == target) or (
                target.startswith(last) and (whole or (truncated and len(last) >= 3))
            ):
                return start, name
    return None


def _title_words(text: str) -> list[str]:
    """Lowercase words of a title: no parentheses, numbers, versions or "bw"."""
    text = re.split(r"[|/]", re.sub(r"\([^)]*\)", " ", text.lower()))[0]
    tokens = [token for token in re.split(r"[^a-z0-9.']+", text) if token.strip(".'")]
    tokens = [re.sub(r"(?<=[a-z]{3})\d+$", "", token.strip(".'")) for token in tokens]
    return [
        token
        for token in tokens
        if token
        and token not in ("clipart", "openclipart")
        and not _NOISE_TOKEN.match(token)
        and not _URL_TOKEN.match(token)
    ]


def openclipart_label(
    relative_path: str, author: str | None = None, title: str | None = None
) -> str | None:
    """Label of an openclipart PNG from its file name (and its PNG metadata, if given).

    Openclipart names its files ``title_author_NN`` cut at 24 characters. The
    rule: split the file stem on ``_`` and ``-``; drop trailing numbering and
    variant marks (``01``, ``01a``, ``r``, ``bw``, ``v0.1``); drop a trailing
    author name: the file's ``Author`` metadata or one of
    :data:`OPENCLIPART_AUTHORS`, whose last word may be cut when the name
    reached the limit; when none matches and the name reached the limit, drop
    its cut last word and look for a whole author name again; cut at a
    URL-like word; drop ``bw``, number and version words, a leading article
    and dangling function words ("with", "of"). When the name was cut and the
    ``Title`` metadata continues it, the title is used. Playing cards
    (``ornamental_h_q``) are spelled out.

    Args:
        relative_path: Path relative to the bank root, e.g.
            ``"people/happy_woman_dirk_struve_01.png"``.
        author: The PNG's ``Author`` text, e.g. ``"Dirk Struve"``.
        title: The PNG's ``Title`` text, e.g. ``"Happy Woman"``.

    Returns:
        The label (``"happy woman"``), or None when the entry should be left out:
        an Italian-titling author, Italian/French/Spanish words, or fewer than
        three letters left.
    """
    name = relative_path.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0].lower() if "." in name else name.lower()
    if "/cardbacks/" in f"/{relative_path}":
        return "playing card back"
    card = _CARD.match(stem)
    if card:
        suit, rank = card.groups()
        if suit is None:
            return "joker playing card"
        if rank in _CARD_RANKS:
            return f"{_CARD_RANKS[rank]} of {_CARD_SUITS[suit]} playing card"
    author_parts = _author_parts(author) if author else ()
    if author_parts and any(
        set(author_parts) <= words or words <= set(author_parts) for words in _ITALIAN_WORDS
    ):
        return None
    # The name before its numbering ("_01", "_01r", "_r", glued "1"): 23 or 24
    # characters there means openclipart cut it (22 when the cut left a "_").
    core = re.sub(r"(?:_(?:\d+[a-z]?r?|r|s)|\d+)$", "", stem)
    numbered = core != stem or stem.endswith("_")
    shortest = _NAME_LIMIT - (2 if core.endswith("_") else 1)
    core = core.rstrip("_")
    truncated = numbered and shortest <= len(core) <= _NAME_LIMIT
    tokens = [token for token in re.split(r"[_\-\s]+", stem) if token]
    while len(tokens) > 1 and _TRAILING_NOISE.match(tokens[-1]):
        tokens.pop()
    if not tokens:
        return None
    tokens[-1] = re.sub(r"(?<=[a-z.]{2})\d+$", "", tokens[-1])  # "ganson1", "fra1"
    matched = _match_author(tokens, truncated, author_parts)
    if matched is None and len(tokens) > 2 and len(tokens[-1]) <= 2:
        # a variant mark after the author: "bullet_hole_linda_kim_aa"
        matched = _match_author(tokens[:-1], truncated=False, extra=author_parts)
    if (
        matched is None
        and truncated
        and len(tokens) > 1
        and (len(core) == _NAME_LIMIT or len(tokens[-1]) <= 3)
    ):
        tokens = tokens[:-1]  # the cut word of an unknown author or of the title
        matched = _match_author(tokens, truncated=False, extra=author_parts)
    if matched is not None:
        start, matched_author = matched
        if matched_author in OPENCLIPART_ITALIAN_AUTHORS:
            return None
        tokens = tokens[:start]
    for index, token in enumerate(tokens):
        if _URL_TOKEN.match(token):
            tokens = tokens[:index]
            break
    # Numbers go ("dog_01_drawn"), except a leading one that counts ("9_ball").
    keep_first = bool(tokens) and re.fullmatch(r"[1-9]\d*", tokens[0]) is not None
    tokens = [
        token
        for index, token in enumerate(tokens)
        if (index == 0 and keep_first) or not _NOISE_TOKEN.match(token)
    ]
    if tokens:
        tokens[-1] = re.sub(r"(?<=[a-z]{3})\d+$", "", tokens[-1])  # "smiley102"
    if truncated and matched is None and title and tokens:
        # A cut name continued by its title: "simple_stylized_wolf_he" + "Simple
        # Stylized Wolf Head".
        words = _title_words(title)
        if (
            len(tokens) <= len(words) <= len(tokens) + 3
            and words[: len(tokens) - 1] == tokens[:-1]
            and words[len(tokens) - 1].startswith(tokens[-1])
        ):
            tokens = words
    if any(token in _NON_ENGLISH_WORDS for token in tokens):
        return None
    while len(tokens) > 1 and tokens[0] in ("a", "an", "the"):
        tokens.pop(0)
    while len(tokens) > 1 and tokens[-1] in _DANGLING_WORDS:  # "teddy bear with"
        tokens.pop()
    label = " ".join(tokens).rstrip(".,;:!?'")
    if sum(character.isalpha() for character in label) < 3:
        return None
    return label


def _png_info(path: Path) -> tuple[int, dict[str, str]] | None:
    """Pixel count and text metadata of a PNG, read from the chunks before its pixels.

    Args:
        path: A PNG file.

    Returns:
        (width x height, ``tEXt``/``iTXt`` key-value pairs), or None when the file
        is not a readable PNG.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(_PNG_HEAD_BYTES)
    except OSError:
        return None
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    texts: dict[str, str] = {}
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind in (b"IDAT", b"IEND"):
            break
        body = data[position + 8 : position + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            texts[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            if rest[:1] == b"\0":  # not compressed
                _, _, rest = rest[2:].partition(b"\0")  # language tag
                _, _, value = rest.partition(b"\0")  # translated keyword
                texts[key.decode("latin-1")] = value.decode("utf-8", errors="replace")
        position += 12 + length
    return width * height, texts


def list_openclipart(root: Path | None = None) -> list[BankImage]:
    """The openclipart PNGs that depict something and get an English label.

    Leaves out :data:`OPENCLIPART_EXCLUDED_DIRS` and
    :data:`OPENCLIPART_EXCLUDED_SUBDIRS`, symlinks to files already listed,
    PNGs over :data:`MAX_PIXELS` or PIL's decompression-bomb limit, and files
    :func:`openclipart_label` rejects. Only the PNG header is read (size and
    text chunks), no pixels are decoded.

    Args:
        root: The PNG folder; :data:`OPENCLIPART_ROOT` when None.

    Returns:
        Entries sorted by path.

    Raises:
        BankNotInstalledError: The PNG folder does not exist.
    """
    root = OPENCLIPART_ROOT if root is None else root
    if not root.is_dir():
        raise BANK.not_installed(f"no folder {root}")
    limit = min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_PIXELS)
    files: list[tuple[str, Path]] = []
    for folder, subfolders, names in os.walk(root):
        relative_folder = Path(folder).relative_to(root).as_posix()
        if relative_folder == ".":
            subfolders[:] = [name for name in subfolders if name not in OPENCLIPART_EXCLUDED_DIRS]
        else:
            subfolders[:] = [
                name
                for name in subfolders
                if f"{relative_folder}/{name}" not in OPENCLIPART_EXCLUDED_SUBDIRS
            ]
        prefix = "" if relative_folder == "." else f"{relative_folder}/"
        for name in names:
            if name.lower().endswith(".png"):
                files.append((prefix + name, Path(folder) / name))
    files.sort()
    seen: set[str] = set()
    kept: list[tuple[str, Path]] = []
    # Real files first, so a symlink is kept only when its target is not listed.
    for relative, path in sorted(files, key=lambda item: (item[1].is_symlink(), item[0])):
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        kept.append((relative, path))
    entries: list[BankImage] = []
    for relative, path in kept:
        info = _png_info(path)
        if info is None:
            continue
        pixels, texts = info
        if pixels > limit:
            continue
        label = openclipart_label(relative, texts.get("Author"), texts.get("Title"))
        if label is None:
            continue
        entries.append(BankImage("openclipart", label, path.absolute()))
    entries.sort(key=lambda entry: entry.path)
    return entries


BANK = Bank(
    name="openclipart",
    package="Debian package openclipart-png",
    install="apt-get install -y openclipart-png",
    root=lambda: OPENCLIPART_ROOT,
    list=lambda: list_openclipart(),
)
