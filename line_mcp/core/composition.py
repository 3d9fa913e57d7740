"""A concept split into what a compositional image source draws.

"two red cats on grass" is one object ("cat", plural folded by the source),
a count (2), a colour (red) and a setting (grass); "dog and ball" is two
objects; "striped" is only an attribute. The parser is lexical: it knows the
attribute words (colours and patterns from :mod:`line_mcp.core.attributes`,
counts, sizes, settings) and treats every other word as part of an object
phrase. A compound such as "giant panda", "snow leopard" or "red fox" stays
one object when ``is_compound`` (e.g. WordNet) says it is a noun, so attribute
words inside real names are not torn out.

Errors are :class:`ConceptError` (bad input) and its subclass
:class:`NotDrawableError` (the source has nothing that shows the object),
both ``ValueError`` so every driver reports them to the user as they are.

Example:
    >>> parts = parse_concept("two red cats on grass", max_words=5)
    >>> parts.objects[0].phrase, parts.objects[0].count, parts.objects[0].colour, parts.setting
    ('cats', 2, 'red', 'grass')
    >>> [o.phrase for o in parse_concept("dog and ball").objects]
    ['dog', 'ball']
    >>> parse_concept("striped").pattern
    'stripes'
    >>> parse_concept("giant panda", is_compound=lambda p: p == "giant panda").objects[0].phrase
    'giant panda'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydantic import BaseModel, Field

from line_mcp.core.attributes import colour_name, pattern_name
from line_mcp.errors import InputError


class ConceptError(InputError):
    """A concept the compositional source cannot take as input; the message says why."""


class NotDrawableError(ConceptError):
    """A concept whose object no installed image source shows well enough to draw it.

    Attributes:
        concept: The concept asked for.
        word: The object phrase that found no good match.
        best_label: The closest source label, for the message.
        similarity: Its match score, below the source's threshold.
    """

    def __init__(
        self,
        concept: str,
        word: str,
        best_label: str | None,
        similarity: float,
        threshold: float,
        detail: str | None = None,
    ) -> None:
        self.concept, self.word = concept, word
        self.best_label, self.similarity = best_label, similarity
        if detail is None:
            closest = (
                f"the closest label is {best_label!r} at {similarity:.2f}"
                if best_label is not None
                else "no source label matches at all"
            )
            detail = f"{closest}, below the threshold {threshold:.2f}"
        super().__init__(
            f"concept {concept!r} is not drawable: no installed image source shows "
            f"{word!r} ({detail}); nothing unrelated is drawn in its place"
        )


#: Words that carry no drawable meaning.
STOP_WORDS: frozenset[str] = frozenset(
    {"a", "an", "the", "of", "some", "this", "that", "these", "those", "its", "their", "very"}
)
#: Words joining two objects.
CONNECTORS: frozenset[str] = frozenset({"and", "with", "&", "plus", "beside", "near"})
#: Words placing the subject in a setting ("on grass"); dropped once the setting is read.
PREPOSITIONS: frozenset[str] = frozenset(
    {"on", "in", "at", "under", "during", "by", "over", "inside", "underwater", "against"}
)
#: Count words and the number of copies drawn.
COUNTS: dict[str, int] = {
    "one": 1, "single": 1, "lone": 1, "two": 2, "pair": 2, "couple": 2, "twin": 2,
    "three": 3, "few": 3, "four": 4, "several": 4, "five": 5, "group": 5, "many": 6,
    "lots": 6, "multiple": 4, "herd": 6, "flock": 6, "pack": 5, "crowd": 7, "swarm": 8,
}  # fmt: skip
#: Size words and the share of the frame the subject's longer side covers.
SIZES: dict[str, float] = {
    "tiny": 0.3, "small": 0.42, "little": 0.45, "big": 0.92, "large": 0.92, "huge": 0.98,
    "giant": 0.98,
}  # fmt: skip
#: Settings (backgrounds) and the words that name them.
SETTINGS: dict[str, tuple[str, ...]] = {
    "grass": ("grass", "grassy", "lawn", "meadow", "field", "garden", "park"),
    "water": ("water", "sea", "ocean", "lake", "river", "pond", "underwater", "swimming"),
    "snow": ("snow", "snowy", "winter", "ice", "icy", "frozen"),
    "night": ("night", "nighttime", "dark", "darkness", "moonlight"),
    "sky": ("sky", "air", "clouds", "cloudy", "flying", "airborne"),
    "indoors": ("indoors", "indoor", "room", "house", "home", "kitchen", "interior"),
    "sand": ("sand", "sandy", "beach", "desert", "dune"),
    "forest": ("forest", "woods", "jungle", "woodland", "trees"),
    "street": ("street", "road", "city", "town", "urban"),
}
_SETTING_WORDS = {word: name for name, words in SETTINGS.items() for word in words}


class ObjectPart(BaseModel):
    """One object of a concept with the attributes written before (or after) it.

    Attributes:
        phrase: The object's words as written ("fire truck", "cats").
        count: Copies drawn; 1 unless a count word says otherwise (plurals are
            resolved by the source, which knows the nouns).
        count_word: The count word used, if any.
        colour: Basic colour name painted on the subject.
        pattern: Canonical pattern or material painted on the subject.
        size: The size word used, if any.
    """

    phrase: str
    count: int = 1
    count_word: str | None = None
    colour: str | None = None
    pattern: str | None = None
    size: str | None = None


class ConceptParts(BaseModel):
    """What a concept asks to be drawn.

    Attributes:
        concept: The concept as given (whitespace tidied).
        objects: Zero to two objects.
        setting: A background name from :data:`SETTINGS`, or None.
        colour: A colour with no object to carry it ("red"): it fills the frame.
        pattern: A pattern with no object ("striped"): it fills the frame.
        ignored: Stop words and prepositions that were dropped.
    """

    concept: str
    objects: list[ObjectPart] = Field(default_factory=list)
    setting: str | None = None
    colour: str | None = None
    pattern: str | None = None
    ignored: list[str] = Field(default_factory=list)


MAX_OBJECTS = 2
_TOKEN = re.compile(r"[a-z0-9&']+(?:-[a-z0-9']+)*")


def _words(concept: str) -> list[str]:
    return _TOKEN.findall(concept.lower().replace("’", "'"))


def parse_concept(
    concept: str, max_words: int = 3, is_compound: Callable[[str], bool] | None = None
) -> ConceptParts:
    """Split a concept into objects, attributes and a setting.

    Args:
        concept: e.g. ``"two red cats"``, ``"dog and ball"``, ``"owl at night"``.
        max_words: The longest concept accepted (the loop's ``max_concept_words``);
            stop words and prepositions count.
        is_compound: Says whether a multi-word phrase is a noun in its own right
            ("snow leopard"); then its words are one object even when some of
            them are attribute words. None: no compounds.

    Returns:
        The :class:`ConceptParts`.

    Raises:
        ConceptError: the concept is empty, longer than ``max_words``, only stop
            words, names more than :data:`MAX_OBJECTS` objects or two settings.

    Example:
        >>> parse_concept("small blue bird in the sky", max_words=6).objects[0].model_dump()
        {'phrase': 'bird', 'count': 1, 'count_word': None, 'colour': 'blue', 'pattern': None, 'size': 'small'}
        >>> parse_concept("  ")
        Traceback (most recent call last):
        ...
        line_mcp.core.composition.ConceptError: empty concept: give one to a few words, e.g. 'red cat'
    """  # noqa: E501
    tidy = " ".join(concept.split())
    words = _words(tidy)
    if not words:
        raise ConceptError("empty concept: give one to a few words, e.g. 'red cat'")
    if len(words) > max_words:
        raise ConceptError(
            f"concept {tidy!r} has {len(words)} words; at most {max_words} are allowed"
        )
    compound = is_compound or (lambda _phrase: False)
    parts = ConceptParts(concept=tidy)
    pending = ObjectPart(phrase="")
    phrase: list[str] = []
    objects: list[ObjectPart] = []

    def close_phrase() -> None:
        nonlocal pending
        if phrase:
            objects.append(pending.model_copy(update={"phrase": " ".join(phrase)}))
            phrase.clear()
            pending = ObjectPart(phrase="")

    last_attribute: tuple[str, str, str | None] | None = None  # word, kind, value before it
    index = 0
    while index < len(words):
        # The longest compound noun starting here wins over attribute readings.
        span = next(
            (
                n
                for n in range(min(3, len(words) - index), 1, -1)
                if compound(" ".join(words[index : index + n]))
            ),
            0,
        )
        if span:
            phrase.extend(words[index : index + span])
            index += span
            continue
        word = words[index]
        index += 1
        if word in STOP_WORDS or word in PREPOSITIONS:
            parts.ignored.append(word)
        elif word in CONNECTORS:
            close_phrase()
        elif word in COUNTS and not phrase:
            pending.count, pending.count_word = COUNTS[word], word
        elif word.isdigit() and not phrase:
            pending.count, pending.count_word = max(1, min(int(word), 9)), word
        elif word in SIZES and not phrase:
            pending.size = word
        elif colour_name(word) is not None and word not in _SETTING_WORDS:
            close_phrase()
            last_attribute = (word, "colour", pending.colour)
            pending.colour = colour_name(word)
        elif pattern_name(word) is not None:
            close_phrase()
            last_attribute = (word, "pattern", pending.pattern)
            pending.pattern = pattern_name(word)
        elif word in _SETTING_WORDS:
            close_phrase()
            setting = _SETTING_WORDS[word]
            if parts.setting is not None and parts.setting != setting:
                raise ConceptError(
                    f"concept {tidy!r} names two settings ({parts.setting}, {setting}); "
                    "one background is drawn"
                )
            parts.setting = setting
        else:
            phrase.append(word)
    close_phrase()
    leftover = pending.model_dump(exclude={"phrase"}, exclude_defaults=True)
    if objects and leftover:  # "cat red": attributes after the last object describe it
        objects[-1] = objects[-1].model_copy(update=leftover)
    elif not objects and (pending.count_word or pending.size) and last_attribute is not None:
        # "two lemons", "big orange": with a count or size, the last colour or pattern
        # word is the object itself.
        word, kind, before = last_attribute
        objects.append(pending.model_copy(update={"phrase": word, kind: before}))
    elif not objects:
        if pending.count_word or pending.size:
            raise ConceptError(
                f"concept {tidy!r} has a count or size but no object to draw; "
                "name one, e.g. 'two cats'"
            )
        parts.colour, parts.pattern = pending.colour, pending.pattern
    if len(objects) > MAX_OBJECTS:
        raise ConceptError(
            f"concept {tidy!r} names {len(objects)} objects; "
            f"at most {MAX_OBJECTS} are drawn together"
        )
    parts.objects = objects
    if not objects and parts.setting is None and parts.colour is None and parts.pattern is None:
        raise ConceptError(
            f"concept {tidy!r} is only stop words ({', '.join(parts.ignored)}); "
            "name an object, a colour, a pattern or a setting"
        )
    return parts
