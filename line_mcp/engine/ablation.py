"""Concept ablation: remove a concept from a stored image and measure the neuron again."""

from __future__ import annotations

import numpy as np

from line_mcp.core.records import AblationResult
from line_mcp.engine.backends import Backends
from line_mcp.engine.drawing import Drawing
from line_mcp.engine.stopwatch import Stopwatch, timed
from line_mcp.store.workspace import Workspace, image_id_for

# Occluded copies read per target call.
_OCCLUSION_BATCH = 32


class Ablation:
    """Edits (or, without an editor, occludes) images and measures the neuron before and after.

    Args:
        backends: Gives the editor (optional) and the target.
        workspace: Holds the images; the edited image is stored there.
        drawing: Reads the layer on images (cached per image).
    """

    def __init__(self, backends: Backends, workspace: Workspace, drawing: Drawing) -> None:
        self.backends = backends
        self.workspace = workspace
        self.drawing = drawing

    def ablate(
        self,
        neuron: int,
        image_id: str,
        concept: str,
        seed: int = 0,
        clock: Stopwatch | None = None,
    ) -> AblationResult:
        """Remove a concept from a stored image and measure the neuron before and after.

        With an editor backend the instruction "remove the {concept} from the
        image" is applied and the result brought back to the original size.
        Without one, an honest fallback: the region whose occlusion lowers the
        neuron most (a grey patch slid over the image, every position batched
        through the target) is blurred out, reported as method "occlusion".

        Args:
            neuron: Index of the neuron in the layer.
            image_id: A stored image (e.g. from ``score_concept``).
            concept: The concept to remove.
            seed: The editor's seed.
            clock: Receives the "edit" and "target" seconds.

        Returns:
            An :class:`~line_mcp.core.records.AblationResult`; the edited image is stored.

        Raises:
            NeuronError: the neuron is out of range.
            WorkspaceError: the image is unknown or not stored.
        """
        from PIL import Image

        from line_mcp.core import occlusion

        self.backends.check_neuron(neuron)
        image = self.workspace.load_image(image_id)
        before = float(self.drawing.image_activations([image_id])[0, neuron])
        editor, target = self.backends.editor, self.backends.target
        region: list[int] | None = None
        if editor is not None:
            ask = f"remove the {concept} from the image"
            instruction: str | None = ask
            with self.backends.lock, timed(clock, "edit"):
                edited = editor.edit(image, ask, seed).convert("RGB")
            if edited.size != image.size:  # editors may work at their own resolution
                edited = edited.resize(image.size, Image.Resampling.LANCZOS)
            method, maker = "edit", editor.fingerprint
            note = (
                f"{editor.name} was asked to {instruction!r}; check the edited image: an "
                "editor can also change other parts of the picture"
            )
        else:
            instruction = None
            boxes = occlusion.grid_boxes(image.size)
            occluded = [occlusion.occlude(image, box) for box in boxes]
            drops: list[float] = []
            for start in range(0, len(occluded), _OCCLUSION_BATCH):
                rows = self.drawing.read_activations(
                    occluded[start : start + _OCCLUSION_BATCH], clock
                )
                drops.extend(before - float(a) for a in rows[:, neuron])
            region = list(boxes[int(np.argmax(drops))])
            edited = occlusion.blur_region(image, region)
            method = "occlusion"
            # The region depends on the target, layer and neuron, not on the concept or seed.
            maker = f"occlusion-blur-1:{target.fingerprint}:{target.layer}:{neuron}"
            note = (
                "no editor backend is set (BackendConfig.editor), so this is NOT a concept edit: "
                f"the region where the neuron responds most ({region}, found by occlusion) was "
                f"blurred out, whatever it shows; look at the image to judge whether it is the "
                f"{concept!r}"
            )
        edited_id = image_id_for(f"ablation:{maker}", f"{image_id}\x1f{concept}", seed)
        vector = self.drawing.read_activations([edited], clock)
        self.workspace.put_image(
            edited_id,
            edited,
            generator=f"ablation:{maker}",
            concept=concept,
            prompt=instruction or f"occlusion blur of {image_id}",
            seed=seed,
            source={"from": image_id, "method": method, "region": region},
        )
        self.workspace.put_activations(target.fingerprint, target.layer, [edited_id], vector)
        after = float(vector[0, neuron])
        return AblationResult(
            neuron=neuron,
            image_id=image_id,
            concept=concept,
            method=method,  # type: ignore[arg-type]
            editor=editor.name if editor is not None else None,
            instruction=instruction,
            edited_image_id=edited_id,
            activation_before=before,
            activation_after=after,
            relative_drop=(before - after) / abs(before) if before != 0 else None,
            region=region,
            note=note,
        )
