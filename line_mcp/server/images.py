"""Images in tool results: small inline PNG thumbnails plus links to the full images."""

from __future__ import annotations

import base64

from mcp_types import ImageContent, ResourceLink

from line_mcp.core.provenance import describe
from line_mcp.store.workspace import Workspace

#: Longest side of an inline thumbnail, in pixels.
THUMBNAIL_SIDE = 96
#: Thumbnails inlined per tool result at most; the rest are links only.
MAX_THUMBNAILS = 8
#: Bytes of one encoded thumbnail at most (a larger one is left out, the link stays).
MAX_THUMBNAIL_BYTES = 48_000


def image_uri(image_id: str) -> str:
    """The resource URI of a stored image."""
    return f"line://images/{image_id}"


def thumbnail(workspace: Workspace, image_id: str) -> ImageContent | None:
    """A PNG thumbnail of a stored image, or None if it is not stored or too large."""
    data = workspace.thumbnail_png(image_id, THUMBNAIL_SIDE)
    if data is None or len(data) > MAX_THUMBNAIL_BYTES:
        return None
    return ImageContent(data=base64.b64encode(data).decode(), mime_type="image/png")


def image_blocks(
    workspace: Workspace,
    image_ids: list[str],
    label: str = "",
    max_thumbnails: int = MAX_THUMBNAILS,
) -> list[ImageContent | ResourceLink]:
    """Thumbnails of the first images and a resource link for every image.

    Args:
        workspace: Where the images are stored.
        image_ids: The images, in order (repeats are shown once).
        label: Prefix of each link's name (e.g. the concept).
        max_thumbnails: Thumbnails at most; a result built from several calls
            passes what is left of :data:`MAX_THUMBNAILS`.

    Returns:
        Image and resource-link content blocks.
    """
    blocks: list[ImageContent | ResourceLink] = []
    for k, image_id in enumerate(dict.fromkeys(image_ids)):
        if k < max_thumbnails and (thumb := thumbnail(workspace, image_id)) is not None:
            blocks.append(thumb)
        info = workspace.image_info(image_id)
        drawn_from = describe(info["source"]) if info and info.get("source") else ""
        note = f"; drawn from {drawn_from}" if drawn_from else ""
        blocks.append(
            ResourceLink(
                uri=image_uri(image_id),
                name=f"{label} {image_id}".strip(),
                mime_type="image/png",
                # Provenance next to the thumbnail, for clients that show only the blocks.
                description="full-size image" + note,
            )
        )
    return blocks
