"""Where a composed image came from: its source images, their match, what was painted.

The compositional image source stores one :class:`Provenance` per image in
``GeneratedImage.source`` (as its JSON dump), so the run record, the MCP
results and ``line-mcp draw`` show for every picture which labelled source
image(s) it was built from, how well their labels matched the concept's words
and which attributes were applied. :func:`describe` turns it into one line for
a thumbnail caption.

Example:
    >>> match = SourceMatch(word="puppy", image_id="tuxpaint:animals/dog", bank="tuxpaint",
    ...                     label="dog", similarity=0.85, via="hypernym")
    >>> item = DrawnObject(match=match, count=2, colour="red")
    >>> describe(Provenance(concept="two red puppies", objects=[item]).model_dump())
    "2 x 'dog' (tuxpaint:animals/dog, hypernym of 'puppy', 0.85), colour red"
    >>> chair = SourceMatch(word="chair", image_id="sweethome3d:s/chair",
    ...                     bank="sweethome3d", label="chair", similarity=1.0, via="label")
    >>> view = CameraView(framing="aerial view", elevation=70, azimuth=120, distance=3)
    >>> describe(Provenance(concept="chair", objects=[DrawnObject(match=chair, view=view)]
    ...                     ).model_dump())
    "'chair' (sweethome3d:s/chair, 1.00), 3D view elevation 70 azimuth 120 distance 3"
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: How a source label was matched to a concept word: the same label text, a WordNet
#: synonym, a more specific kind (hyponym: "vehicle" -> "car"), a more general
#: kind (hypernym: "puppy" -> "dog") or text-embedding similarity alone.
MatchKind = Literal["label", "synonym", "hyponym", "hypernym", "embedding"]


class SourceMatch(BaseModel):
    """The source image an object was cut from and how its label matched.

    Attributes:
        word: The concept's object phrase.
        image_id: Stable id of the source image (``bank:relative/path``).
        bank: The bank (package) it belongs to.
        label: The source image's label.
        similarity: Match score in [0, 1] (cosine of the text embeddings, or the
            WordNet relation's score when higher).
        via: How the label was matched (:data:`MatchKind`).
    """

    word: str
    image_id: str
    bank: str
    label: str
    similarity: float
    via: MatchKind


class CameraView(BaseModel):
    """Where the camera stood for an object rendered from a 3D model.

    Attributes:
        framing: The angle word's framing it was made for ("aerial view", "default").
        elevation: Degrees above the model's middle (negative: from below).
        azimuth: Degrees around the vertical axis; 0 looks at the model's front.
        distance: From the model's centre, in bounding-sphere radii.
        fov: Vertical field of view in degrees.
    """

    model_config = ConfigDict(frozen=True)

    framing: str
    elevation: float
    azimuth: float
    distance: float
    fov: float = 40.0


class DrawnObject(BaseModel):
    """One object of the image with the attributes painted on it.

    Attributes:
        view: The camera view, for an object rendered from a 3D model (its
            ``match.image_id`` names the model); None for a picture.
        framing: How the prompt's angle word was applied to this object: a real
            camera view for a 3D model, 2D operations on a picture.
    """

    match: SourceMatch
    count: int = 1
    colour: str | None = None
    pattern: str | None = None
    size: str | None = None
    view: CameraView | None = None
    framing: str = ""


class Provenance(BaseModel):
    """Everything a composed image is made of.

    Attributes:
        generator: The generator's name.
        concept: The concept drawn.
        objects: The objects, each from one source image.
        setting: The background drawn (procedural), or None for plain white.
        fill: What fills the frame when the concept names no object
            (``"colour red"``, ``"pattern stripes"``).
        angle: The prompt's camera word and how it was applied.
        lighting: The prompt's lighting word.
        ignored: Concept words that were dropped as stop words.
        seconds: Time spent per stage (matching, compositing).
    """

    generator: str = "compose"
    concept: str
    objects: list[DrawnObject] = Field(default_factory=list)
    setting: str | None = None
    fill: str | None = None
    angle: str = ""
    lighting: str = ""
    ignored: list[str] = Field(default_factory=list)
    seconds: dict[str, float] = Field(default_factory=dict)


def describe(source: dict[str, Any]) -> str:
    """One line for a thumbnail: what an image shows and where it came from.

    Understands :class:`Provenance` dumps and the ``bank:`` generator's
    ``bank_image``/``bank_label``/``similarity``; other sources give "".

    Example:
        >>> describe({"bank_image": "tuxpaint:animals/cat", "bank_label": "cat", "similarity": 0.9})
        "'cat' (tuxpaint:animals/cat, 0.90)"
    """
    if "bank_image" in source:
        return (
            f"{source.get('bank_label')!r} ({source['bank_image']}, "
            f"{float(source.get('similarity', 0.0)):.2f})"
        )
    if source.get("generator") != "compose":
        return ""
    provenance = Provenance.model_validate(source)
    pieces = []
    for item in provenance.objects:
        match = item.match
        how = f"{match.via} of {match.word!r}, " if match.via in ("hyponym", "hypernym") else ""
        text = f"{match.label!r} ({match.image_id}, {how}{match.similarity:.2f})"
        if item.view is not None:
            view = item.view
            text += (
                f", 3D view elevation {view.elevation:g} azimuth {view.azimuth:g}"
                f" distance {view.distance:g}"
            )
        if item.count > 1:
            text = f"{item.count} x {text}"
        for name in ("colour", "pattern", "size"):
            value = getattr(item, name)
            if value:
                text += f", {name} {value}"
        pieces.append(text)
    if provenance.fill:
        pieces.append(f"fill {provenance.fill}")
    if provenance.setting:
        pieces.append(f"setting {provenance.setting} (procedural)")
    return "; ".join(pieces)
