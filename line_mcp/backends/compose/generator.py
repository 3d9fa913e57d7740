"""The ``compose:`` generator: draw a concept by composing labelled cut-outs.

No text-to-image weights install offline, and retrieving the one nearest
clip-art image (``bank:``) shows every proposal as a picture the vocabulary
already scored. This generator parses the concept (:mod:`line_mcp.core.composition`)
into objects, colours, patterns, counts, sizes and a setting, finds a source
image for each object (:mod:`.matching`: text embedder + WordNet), cuts the
subject out of its background, paints the attributes on the subject only
(:mod:`.paint`) and places the copies on a procedural background, framed by
the prompt's angle word and toned by its lighting word. Objects from a 3D bank
(``sweethome3d``) are rendered on CPU (:mod:`.render3d`) from a camera the angle
word places (aerial view from above, low angle from below, close or far), the
renders cached on disk per (model, view). A concept whose object
no source shows well enough raises
:class:`~line_mcp.core.composition.NotDrawableError` instead of drawing an
unrelated picture. Every image's ``source`` is a
:class:`~line_mcp.core.provenance.Provenance` dump.

Spec: ``compose:tuxpaint+openclipart+art4apps+gcompris+sweethome3d`` (any drawing banks of
:mod:`line_mcp.data.banks` except the control set ``openmoji``), options
``size`` and ``threshold`` (the lowest text-embedding similarity drawn for a
word WordNet does not link to any label).
"""

from __future__ import annotations

import functools
import hashlib
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np
from PIL import Image, ImageOps
from pydantic import BaseModel, ConfigDict, Field

from line_mcp.backends.bank_generator import _lighting
from line_mcp.backends.base import DrawRequest, GeneratedImage
from line_mcp.backends.compose import paint, render3d
from line_mcp.backends.compose.matching import LabelMatch, ObjectMatcher
from line_mcp.backends.registry import BackendError, BuildContext
from line_mcp.core.composition import (
    SIZES,
    ConceptParts,
    NotDrawableError,
    ObjectPart,
    parse_concept,
)
from line_mcp.core.provenance import CameraView, DrawnObject, Provenance, SourceMatch
from line_mcp.data import banks
from line_mcp.data.banks import sweethome3d

if TYPE_CHECKING:
    from line_mcp.backends.base import TextEmbedder
    from line_mcp.knowledge.wordnet import WordNet

# Bump when the drawing changes: part of the fingerprint, so cached images of an
# older scheme are never reused.
COMPOSE_VERSION = 4
DEFAULT_BANKS = "tuxpaint+openclipart+art4apps+gcompris+sweethome3d"
#: Banks that may never be drawn from: the embedded control/vocabulary set.
CONTROL_BANKS = frozenset({"openmoji"})
#: Lowest text-embedding similarity drawn when no WordNet relation links the word to a
#: label; measured with tools/compose_threshold.py (see docs/benchmark/).
DEFAULT_THRESHOLD = 0.75
# Words accepted: enough for "two red cats on grass" from ``line-mcp draw``; the loop
# passes shorter concepts (its max_concept_words).
MAX_WORDS = 6
_PLURAL_COUNT = 3


class ComposeGenerator:
    """Draws concepts as compositions of labelled cut-outs (see the module docstring)."""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        size: int = Field(256, ge=64, le=1024)
        threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0)

    def __init__(
        self,
        bank_names: Sequence[str],
        embedder: TextEmbedder,
        wordnet: WordNet | None,
        options: Options,
        cache_dir: Path | None = None,
    ) -> None:
        self.name = "compose:" + "+".join(bank_names)
        # Renders of 3D models, one PNG per (model, view, size, lighting).
        self.views = render3d.ViewCache(cache_dir / "render3d" if cache_dir else None)
        entries = [entry for name in bank_names for entry in banks.list_bank(name)]
        if not entries:
            raise BackendError(f"the image banks {', '.join(bank_names)} hold no images")
        self._options = options
        self.matcher = ObjectMatcher(entries, embedder, wordnet)
        listing = "\n".join(f"{e.image_id}\t{e.label}" for e in entries)
        digest = hashlib.sha256(
            f"{listing}|{embedder.fingerprint}|wordnet={wordnet is not None}"
            f"|v{COMPOSE_VERSION}.{render3d.RENDER_VERSION}|{options.model_dump_json()}".encode()
        )
        self.fingerprint = digest.hexdigest()[:16]

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> ComposeGenerator:
        try:
            names = banks.parse_bank_names(argument or DEFAULT_BANKS)
        except ValueError as err:
            raise BackendError(str(err)) from err
        control = sorted(CONTROL_BANKS.intersection(names))
        if control:
            raise BackendError(
                f"compose cannot draw from {', '.join(control)}: it is the control set, and "
                "drawn images must stay disjoint from it; drawing banks: "
                + ", ".join(n for n in banks.BANK_NAMES if n not in CONTROL_BANKS)
            )
        if context.embedder is None:
            raise BackendError("the compose generator needs a text embedder to match concepts")
        from line_mcp.knowledge.wordnet import WordNetNotInstalledError, default_wordnet

        try:
            wordnet = default_wordnet()
            wordnet.synsets("dog")  # parse now: a missing file fails here, not mid-run
            return cls(names, context.embedder, wordnet, options, context.cache_dir)
        except (banks.BankNotInstalledError, WordNetNotInstalledError) as err:
            raise BackendError(str(err)) from err

    # --- parsing and matching ------------------------------------------------------------------

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one generator lives per process
    def parse(self, concept: str) -> ConceptParts:
        """The concept's parts (cached); raises ConceptError on bad input."""
        return parse_concept(concept, MAX_WORDS, self._drawable_compound)

    def _drawable_compound(self, phrase: str) -> bool:
        """A WordNet compound that a source shows ("giant panda"), read as one object.

        "blue cat" is a WordNet noun too (a catfish) that no source shows, so it
        is read as a colour and an object instead.
        """
        return self.matcher.is_compound(phrase) and self._accepted(self.matcher.best(phrase))

    def _accepted(self, found: Sequence[LabelMatch]) -> bool:
        # A WordNet relation is evidence on its own; a text-similarity match must
        # clear the threshold.
        return bool(found) and (
            found[0].via != "embedding" or found[0].similarity >= self._options.threshold
        )

    @functools.lru_cache(maxsize=4096)  # noqa: B019
    def _object_matches(self, concept: str, phrase: str) -> tuple[LabelMatch, ...]:
        """The labels a phrase is drawn from (ties of the best), those with a picture only."""
        found = self._accepted_matches(concept, phrase)
        # A label whose files hold no picture (a few clip-art PNGs are fully
        # transparent) cannot be drawn from.
        usable = tuple(m for m in found if self._has_picture(m))
        if not usable:
            self._no_picture(concept, phrase, found[0])
        return usable

    @functools.lru_cache(maxsize=65536)  # noqa: B019
    def _first_object_match(self, concept: str, phrase: str) -> LabelMatch:
        """The first of :meth:`_object_matches`, found reading only up to its first picture:
        what a drawing key and the drawability flag need (the other ties are read when drawn)."""
        found = self._accepted_matches(concept, phrase)
        first = next((m for m in found if self._has_picture(m)), None)
        if first is None:
            self._no_picture(concept, phrase, found[0])
        return first

    def _accepted_matches(self, concept: str, phrase: str) -> list[LabelMatch]:
        found = self.matcher.best(phrase)
        best = found[0] if found else None
        if best is None or not self._accepted(found):
            raise NotDrawableError(
                concept,
                phrase,
                best.label if best else None,
                best.similarity if best else 0.0,
                self._options.threshold,
            )
        return found

    def _has_picture(self, match: LabelMatch) -> bool:
        return any(self._usable(e) for e in match.entries)

    def _no_picture(self, concept: str, phrase: str, best: LabelMatch) -> NoReturn:
        raise NotDrawableError(
            concept,
            phrase,
            best.label,
            best.similarity,
            self._options.threshold,
            detail=f"the images labelled {best.label!r} hold no picture",
        )

    def plan(self, concept: str) -> list[tuple[ObjectPart, tuple[LabelMatch, ...]]]:
        """Every object of the concept with its matched labels.

        Raises:
            ConceptError: bad input (see :func:`~line_mcp.core.composition.parse_concept`).
            NotDrawableError: an object no source shows.
        """
        parts = self.parse(concept)
        return [(part, self._object_matches(concept, part.phrase)) for part in parts.objects]

    def first_matches(self, concept: str) -> list[tuple[ObjectPart, LabelMatch]]:
        """Every object of the concept with the label it is keyed by (the first of
        :meth:`plan`'s), the same errors as :meth:`plan`."""
        parts = self.parse(concept)
        return [(part, self._first_object_match(concept, part.phrase)) for part in parts.objects]

    def can_draw(self, concepts: Sequence[str]) -> list[bool]:
        """Whether each concept can be drawn (parses and every object has a source).

        Used to score only the drawable part of a vocabulary; the object words of
        all concepts are embedded in one batch.
        """
        # Embed in two batches: the compound nouns the parser will ask about, then the
        # object phrases it finds (one call per phrase costs ~0.1 s on a loaded CPU).
        spans: set[str] = set()
        for concept in concepts:
            words = concept.lower().split()
            for n in (2, 3):
                spans.update(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        self.matcher.prepare(sorted(s for s in spans if self.matcher.is_compound(s)))
        parsed: list[ConceptParts | None] = []
        for concept in concepts:
            try:
                parsed.append(self.parse(concept))
            except ValueError:
                parsed.append(None)
        self.matcher.prepare([o.phrase for p in parsed if p is not None for o in p.objects])
        result = []
        for concept, parts in zip(concepts, parsed, strict=True):
            try:
                result.append(parts is not None and self.first_matches(concept) is not None)
            except ValueError:
                result.append(False)
        return result

    def source_labels(self, text: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` source labels nearest a text, with their match scores.

        Guided proposals take these as candidates ("the bank's labels nearest the
        top concepts"); :meth:`matches` returns composition keys instead.
        """
        return [(m.label, m.similarity) for m in self.matcher.match(text, k)]

    def matches(self, concept: str, k: int) -> list[tuple[str, float]]:
        """What the concept is drawn from, as ``[(key, score)]`` for the proposal rankers.

        The key names the source labels and attributes, so "red cat" and "blue
        cat" are different drawings while "cat" and "kitty" are the same one; the
        score is the weakest object match (1 for attribute-only concepts, 0 for a
        concept that cannot be drawn).
        """
        return [self._drawing_key(concept)][:k]

    @functools.lru_cache(maxsize=65536)  # noqa: B019
    def _drawing_key(self, concept: str) -> tuple[str, float]:
        """:meth:`matches`'s one answer, kept per concept: the rankers ask again for every
        taken concept at every step, and a concept's plan never changes."""
        try:
            parts = self.parse(concept)
            planned = self.first_matches(concept)
        except ValueError:
            return f"(not drawable) {concept}", 0.0
        pieces = []
        for part, first in planned:
            pieces.append(
                f"{self._count(part)}x{first.label}"
                f"/{part.colour or '-'}/{part.pattern or '-'}/{part.size or '-'}"
            )
        key = " + ".join(pieces) or f"fill {parts.colour}/{parts.pattern}"
        if parts.setting:
            key += f" @ {parts.setting}"
        score = min((first.similarity for _, first in planned), default=1.0)
        return key, score

    def _count(self, part: ObjectPart) -> int:
        if part.count_word is None and self.matcher.is_plural(part.phrase):
            return _PLURAL_COUNT
        return part.count

    # --- drawing -------------------------------------------------------------------------------

    def _usable(self, entry: banks.BankImage) -> bool:
        if sweethome3d.is_model(entry):
            return self._mesh(entry) is not None
        return self._cut_out(entry) is not None

    @functools.lru_cache(maxsize=64)  # noqa: B019
    def _mesh(self, entry: banks.BankImage) -> render3d.Mesh | None:
        """The model placed as its catalog says (rotation, size); None when it cannot be read."""
        try:
            archive, piece = sweethome3d.piece_of(entry)
            mesh = render3d.load_archive_model(archive, piece.model)
        except (OSError, ValueError):  # a broken model: another of the label is used
            return None
        return render3d.place(mesh, piece.rotation, piece.size)

    def _render(
        self, entry: banks.BankImage, view: CameraView, lighting: str
    ) -> Image.Image | None:
        """The model seen from ``view``, cut out tight (cached on disk when a cache dir is set).

        The model is parsed only when the view is not on disk yet.
        """
        size = self._options.size

        def draw() -> Image.Image:
            mesh = self._mesh(entry)
            if mesh is None:
                raise ValueError(f"the model {entry.image_id} cannot be read")
            return render3d.render_mesh(mesh, view, size, lighting)

        try:
            image, _ = self.views.get(entry.image_id, view, size, lighting, draw)
        except ValueError:  # a broken model: another of the label is used
            return None
        return paint.cut_out(image)

    @functools.lru_cache(maxsize=1024)  # noqa: B019
    def _cut_out(self, entry: banks.BankImage) -> Image.Image | None:
        try:
            return paint.cut_out(banks.load_rgba(entry, self._options.size))
        except ValueError:  # an empty or undecodable file: another image of the label is used
            return None

    def _subject(
        self, match: LabelMatch, rng: random.Random, request: DrawRequest
    ) -> tuple[banks.BankImage, Image.Image, CameraView | None]:
        """A seeded image of the label and its cut-out, skipping files that hold nothing.

        A 3D model is rendered from the camera the request's angle word and seed give.

        Raises:
            NotDrawableError: no image of the label can be read.
        """
        start = rng.randrange(len(match.entries))
        for k in range(len(match.entries)):
            entry = match.entries[(start + k) % len(match.entries)]
            view = None
            if sweethome3d.is_model(entry):
                view = render3d.camera_for(request.angle, request.seed)
                subject = self._render(entry, view, request.lighting)
            else:
                subject = self._cut_out(entry)
            if subject is not None:
                return entry, subject, view
        raise NotDrawableError(
            match.label,
            match.label,
            match.label,
            match.similarity,
            self._options.threshold,
            detail=f"the images labelled {match.label!r} hold no picture",
        )

    def generate(self, requests: Sequence[DrawRequest]) -> list[GeneratedImage]:
        """Draw every request; all concepts are checked before any image is drawn.

        Raises:
            ConceptError: a concept is bad input.
            NotDrawableError: a concept's object is shown by no source.
        """
        started = time.perf_counter()
        plans = {c: self.plan(c) for c in dict.fromkeys(r.concept for r in requests)}
        matching = (time.perf_counter() - started) / max(1, len(requests))
        return [self._draw(request, plans[request.concept], matching) for request in requests]

    def _draw(
        self,
        request: DrawRequest,
        planned: list[tuple[ObjectPart, tuple[LabelMatch, ...]]],
        matching_seconds: float,
    ) -> GeneratedImage:
        started = time.perf_counter()
        size = self._options.size
        parts = self.parse(request.concept)
        rng = random.Random(request.seed)
        np_rng = np.random.default_rng(request.seed)
        angle = request.angle.lower()
        rendering_seconds = 0.0
        if not planned:
            frame = (
                paint.fill_frame(size, np_rng, parts.colour, parts.pattern)
                if parts.colour or parts.pattern
                else paint.background(parts.setting, size, np_rng)
            )
            fill = " ".join(
                f"{name} {value}"
                for name, value in (("colour", parts.colour), ("pattern", parts.pattern))
                if value
            )
            objects: list[DrawnObject] = []
        else:
            frame = paint.background(parts.setting, size, np_rng)
            fill = None
            objects = []
            slots = _slots(len(planned), rng)
            for (part, found), slot in zip(planned, slots, strict=True):
                match = found[rng.randrange(len(found))]
                rendering = time.perf_counter()
                entry, subject, view = self._subject(match, rng, request)
                if view is not None:
                    rendering_seconds += time.perf_counter() - rendering
                if part.colour is not None and part.pattern is None:
                    subject = paint.recolour(subject, part.colour)
                elif part.pattern is not None:
                    subject = paint.apply_pattern(subject, part.pattern, np_rng, part.colour)
                count = self._count(part)
                scale = SIZES.get(part.size or "", 0.8) * _angle_scale(angle, rng)
                # A 3D render already shows the angle word's viewpoint; only pictures are
                # turned and squashed in 2D for an aerial view.
                framing = _framing_2d(angle) if view is None else f"3D camera: {view.framing}"
                _place(
                    frame,
                    subject,
                    count,
                    scale * slot[2],
                    slot,
                    parts.setting,
                    angle if view is None else "",
                    rng,
                )
                objects.append(
                    DrawnObject(
                        match=SourceMatch(
                            word=part.phrase,
                            image_id=entry.image_id,
                            bank=entry.bank,
                            label=match.label,
                            similarity=round(match.similarity, 4),
                            via=match.via,
                        ),
                        count=count,
                        colour=part.colour,
                        pattern=part.pattern,
                        size=part.size,
                        view=view,
                        framing=framing,
                    )
                )
        # A close-up crops into a single subject; it would cut copies or a second object off.
        # A 3D model's close-up is the camera's: the render is not cropped again.
        if "close" in angle and len(objects) == 1 and objects[0].count == 1 and not objects[0].view:
            side = int(size * rng.uniform(0.6, 0.75))
            x, y = rng.randint(0, size - side), rng.randint(0, size - side)
            frame = frame.crop((x, y, x + side, y + side)).resize(
                (size, size), Image.Resampling.BICUBIC
            )
        if rng.random() < 0.5:
            frame = ImageOps.mirror(frame)
        frame = _lighting(frame, request.lighting, rng)
        total = time.perf_counter() - started
        seconds = {"matching": round(matching_seconds, 5)}
        if any(item.view is not None for item in objects):
            seconds["rendering_3d"] = round(rendering_seconds, 5)
            total -= rendering_seconds
        seconds["compositing"] = round(total, 5)
        provenance = Provenance(
            generator=self.name.partition(":")[0],
            concept=request.concept,
            objects=objects,
            setting=parts.setting,
            fill=fill,
            angle=request.angle,
            lighting=request.lighting,
            ignored=parts.ignored,
            seconds=seconds,
        )
        return GeneratedImage(image=frame, source=provenance.model_dump(mode="json"))


def _slots(n_objects: int, rng: random.Random) -> list[tuple[float, float, float]]:
    """Centre (x, y as shares of the frame) and scale of each object's region."""
    if n_objects <= 1:
        return [(0.5 + rng.uniform(-0.06, 0.06), 0.5 + rng.uniform(-0.05, 0.05), 1.0)]
    left = (0.3 + rng.uniform(-0.04, 0.04), 0.52 + rng.uniform(-0.06, 0.06), 0.6)
    right = (0.72 + rng.uniform(-0.04, 0.04), 0.55 + rng.uniform(-0.06, 0.06), 0.5)
    return [left, right]


def _framing_2d(angle: str) -> str:
    """How :func:`_place` and the close-up crop apply the angle word to a picture."""
    if "aerial" in angle:
        return "2D: picture turned and squashed (aerial view)"
    if "close" in angle:
        return "2D: picture enlarged and cropped (close-up)"
    if "wide" in angle:
        return "2D: picture shrunk (wide angle shot)"
    return "2D: picture as drawn"


def _angle_scale(angle: str, rng: random.Random) -> float:
    if "wide" in angle:
        return rng.uniform(0.6, 0.75)
    if "close" in angle:
        return rng.uniform(1.0, 1.1)
    return rng.uniform(0.85, 1.0)


def _place(
    frame: Image.Image,
    subject: Image.Image,
    count: int,
    scale: float,
    slot: tuple[float, float, float],
    setting: str | None,
    angle: str,
    rng: random.Random,
) -> None:
    """Paste ``count`` copies of a cut-out into ``frame`` around ``slot`` (in place)."""
    size = frame.width
    columns = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    cell = scale * size / max(columns, rows) * (1.0 if count == 1 else 0.95)
    region = slot[2] * size * (1.0 if count == 1 else 0.92)
    horizon = paint.HORIZON.get(setting)
    for copy in range(count):
        piece = subject
        if "aerial" in angle:
            piece = piece.rotate(
                rng.uniform(0, 360), expand=True, resample=Image.Resampling.BICUBIC
            )
        factor = cell * rng.uniform(0.85, 1.0) / max(piece.size)
        width, height = max(1, round(piece.width * factor)), max(1, round(piece.height * factor))
        piece = piece.resize((width, height), Image.Resampling.LANCZOS)
        if "aerial" in angle:
            piece = piece.resize((width, max(1, round(height * rng.uniform(0.65, 0.8)))))
        if rng.random() < 0.5:
            piece = ImageOps.mirror(piece)
        row, column = divmod(copy, columns)
        cx = slot[0] * size + (column - (columns - 1) / 2) * region / columns
        cy = slot[1] * size + (row - (rows - 1) / 2) * region / max(rows, columns)
        if count > 1:
            cx += rng.uniform(-0.08, 0.08) * region / columns
            cy += rng.uniform(-0.06, 0.06) * region / columns
        if horizon is not None:  # stand on the ground: the bottom a little below the horizon
            cy = max(cy, (horizon + 0.1) * size - piece.height / 2)
        x = int(np.clip(cx - piece.width / 2, -piece.width * 0.2, size - piece.width * 0.8))
        y = int(np.clip(cy - piece.height / 2, -piece.height * 0.2, size - piece.height * 0.8))
        frame.paste(piece, (x, y), piece)
