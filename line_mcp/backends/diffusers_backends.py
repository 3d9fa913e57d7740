"""diffusers backends: text-to-image generators and image editors.

One loader serves both roles: a hub id (from the local cache or downloaded when
the hub is reachable), a local folder written by ``save_pretrained``, or a short
alias. Device, dtype and CPU offload are options; steps, guidance and resolution
default to the pipeline's own defaults (its ``__call__`` signature and config),
except where a model's card says otherwise (SD-Turbo: one step, no guidance).

Generator aliases: ``sdxl`` (the paper's default), ``flux-dev``, ``sd15``, ``sd-turbo``.
Editor aliases: ``qwen-image-edit`` (the paper's ablation editor), ``qwen-image-edit-2509``,
``instruct-pix2pix``. Any other argument is a hub id or a folder.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from line_mcp.backends.base import DrawRequest, GeneratedImage
from line_mcp.backends.hub import files_fingerprint, offline_error
from line_mcp.backends.registry import BackendError, BuildContext

if TYPE_CHECKING:
    from PIL import Image

# alias -> (hub id, option defaults from the model card)
GENERATOR_ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "sdxl": ("stabilityai/stable-diffusion-xl-base-1.0", {}),
    "flux-dev": ("black-forest-labs/FLUX.1-dev", {}),
    "sd15": ("stable-diffusion-v1-5/stable-diffusion-v1-5", {}),
    "sd-turbo": ("stabilityai/sd-turbo", {"steps": 1, "guidance": 0.0}),
}
EDITOR_ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "qwen-image-edit": ("Qwen/Qwen-Image-Edit", {}),
    "qwen-image-edit-2509": ("Qwen/Qwen-Image-Edit-2509", {}),
    "instruct-pix2pix": ("timbrooks/instruct-pix2pix", {}),
}


class PipelineOptions(BaseModel):
    """Options shared by diffusers generators and editors."""

    model_config = ConfigDict(extra="forbid")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="auto: bfloat16 on CUDA, float32 on CPU"
    )
    offload: Literal["none", "model", "sequential"] = Field(
        "none", description="CPU offload (CUDA only): model-level or sequential (least memory)"
    )
    variant: str | None = Field(None, description="weights variant to load, e.g. fp16")
    steps: int | None = Field(None, ge=1, le=1000, description="default: the pipeline's")
    guidance: float | None = Field(None, ge=0.0, le=50.0, description="default: the pipeline's")
    negative_prompt: str | None = None


def _dtype(name: str, device: str) -> Any:
    import torch

    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, name)


def _model_fingerprint(argument: str, reference: str) -> str:
    """Local folder: its files; hub id: the cached snapshot's commit."""
    local = Path(reference).expanduser()
    if local.exists():
        return files_fingerprint(local)
    try:
        from huggingface_hub import snapshot_download

        snapshot = Path(snapshot_download(reference, local_files_only=True))
        return f"{reference.replace('/', '--')}@{snapshot.name[:12]}"
    except Exception:  # downloaded under another cache layout: the id is the best we have
        return reference.replace("/", "--")


def load_pipeline(
    argument: str,
    aliases: dict[str, tuple[str, dict[str, Any]]],
    options: PipelineOptions,
    device: str,
    role: str,
) -> tuple[Any, str, dict[str, Any]]:
    """Load a diffusers pipeline for a spec argument.

    Args:
        argument: Alias, hub id or local folder.
        aliases: The role's alias table.
        options: dtype, offload and variant are used here.
        device: Torch device string.
        role: "generator" or "editor", for messages.

    Returns:
        ``(pipeline, model fingerprint, alias option defaults)``.

    Raises:
        BackendError: no model given, model not available offline, offload on CPU.
    """
    import torch
    from diffusers import DiffusionPipeline

    if not argument:
        known = ", ".join(aliases)
        raise BackendError(
            f"a diffusers {role} needs a model: an alias ({known}), a hub id or a path"
        )
    reference, defaults = aliases.get(argument, (argument, {}))
    if options.offload != "none" and not device.startswith("cuda"):
        raise BackendError(
            f"offload={options.offload} moves weights between CPU and a CUDA device; "
            f"the device here is {device!r}: use offload=none or --device cuda"
        )
    extra: dict[str, Any] = {"variant": options.variant} if options.variant else {}
    # diffusers renamed torch_dtype to dtype (the old name still works, with a warning)
    from diffusers.pipelines import pipeline_utils

    dtype_key = "dtype" if hasattr(pipeline_utils, "_resolve_dtype") else "torch_dtype"
    extra[dtype_key] = _dtype(options.dtype, device)
    try:
        pipeline = DiffusionPipeline.from_pretrained(reference, **extra)
    except (OSError, ValueError) as err:
        if Path(reference).expanduser().exists():
            raise BackendError(
                f"cannot load the diffusers pipeline in {reference!r}: {err}"
            ) from err
        raise offline_error(reference, err) from err
    if options.offload == "model":
        pipeline.enable_model_cpu_offload(device=torch.device(device))
    elif options.offload == "sequential":
        pipeline.enable_sequential_cpu_offload(device=torch.device(device))
    else:
        pipeline = pipeline.to(device)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline, _model_fingerprint(argument, reference), defaults


def _call_defaults(pipeline: Any) -> dict[str, Any]:
    """The pipeline's own defaults for the arguments we may set."""
    parameters = inspect.signature(pipeline.__call__).parameters
    return {
        name: parameter.default
        for name, parameter in parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


def _native_size(pipeline: Any) -> int | None:
    """The resolution a pipeline draws at by default (SDXL 1024, SD 1.5 512, ...)."""
    scale = getattr(pipeline, "vae_scale_factor", None)
    sample = getattr(pipeline, "default_sample_size", None)
    if sample is None:
        for name in ("unet", "transformer"):
            module = getattr(pipeline, name, None)
            sample = getattr(getattr(module, "config", None), "sample_size", None) or sample
    if isinstance(sample, (tuple, list)):
        sample = sample[0]
    return int(sample * scale) if sample and scale else None


def _pipeline_fingerprint(
    pipeline: Any, model_fingerprint: str, options: PipelineOptions, **settings: Any
) -> str:
    """Hash of what fixes a pipeline's pixels: class, model files, dtype and call settings."""
    described = {
        "pipeline": type(pipeline).__name__,
        "model": model_fingerprint,
        "dtype": str(getattr(pipeline, "dtype", options.dtype)),
        **settings,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


class DiffusersGenerator:
    """Text-to-image through any diffusers pipeline: all of a concept's images in one call.

    Each image gets its own CPU ``torch.Generator`` seeded from its request, so an
    image depends only on (model, options, prompt, seed), not on the batch it was
    drawn in or the device — which is what the workspace's image cache assumes.

    Spec: ``diffusers:sdxl``, ``diffusers:black-forest-labs/FLUX.1-dev?dtype=bfloat16``,
    ``diffusers:/models/sd15?steps=25&guidance=7&height=512&width=512&offload=model``.

    Example:
        >>> context = BuildContext(device="cuda")
        >>> generator = resolve("generator", "diffusers:sdxl", context)  # doctest: +SKIP
        >>> generator.generate([DrawRequest("zebra", "photo of a zebra", 1)])  # doctest: +SKIP
    """

    class Options(PipelineOptions):
        height: int | None = Field(None, ge=16, le=4096, description="default: the model's")
        width: int | None = Field(None, ge=16, le=4096, description="default: the model's")
        batch_size: int = Field(5, ge=1, le=256, description="images per pipeline call")

    def __init__(
        self, name: str, pipeline: Any, model_fingerprint: str, options: Options, defaults: dict
    ) -> None:
        self.name = name
        self._pipeline = pipeline
        self._batch_size = options.batch_size
        call = _call_defaults(pipeline)
        native = _native_size(pipeline)
        steps = options.steps or defaults.get("steps") or call.get("num_inference_steps")
        guidance = options.guidance
        if guidance is None:
            guidance = defaults.get("guidance", call.get("guidance_scale"))
        self.settings: dict[str, Any] = {
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "height": options.height or native,
            "width": options.width or native,
        }
        self.settings = {k: v for k, v in self.settings.items() if k in call and v is not None}
        self._negative = options.negative_prompt
        self._accepts_negative = "negative_prompt" in call
        self.fingerprint = _pipeline_fingerprint(
            pipeline, model_fingerprint, options, negative_prompt=self._negative, **self.settings
        )

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> DiffusersGenerator:
        pipeline, fingerprint, defaults = load_pipeline(
            argument, GENERATOR_ALIASES, options, context.device, "generator"
        )
        return cls(f"diffusers:{argument}", pipeline, fingerprint, options, defaults)

    def generate(self, requests: Sequence[DrawRequest]) -> list[GeneratedImage]:
        """Draw every request; ``batch_size`` images per pipeline call, one seed each."""
        import torch

        images: list[GeneratedImage] = []
        for start in range(0, len(requests), self._batch_size):
            chunk = requests[start : start + self._batch_size]
            kwargs: dict[str, Any] = dict(self.settings)
            if self._negative and self._accepts_negative:
                kwargs["negative_prompt"] = [self._negative] * len(chunk)
            output = self._pipeline(
                prompt=[r.prompt for r in chunk],
                generator=[torch.Generator("cpu").manual_seed(r.seed) for r in chunk],
                num_images_per_prompt=1,
                output_type="pil",
                **kwargs,
            )
            for request, image in zip(chunk, output.images, strict=True):
                source = {"generator": self.name, "seed": request.seed, **self.settings}
                images.append(GeneratedImage(image.convert("RGB"), source))
        return images


class DiffusersEditor:
    """Instruction-based image editing through diffusers (Qwen-Image-Edit for ablation).

    Loads the pipeline a model folder names (``QwenImageEditPipeline``,
    ``StableDiffusionInstructPix2PixPipeline``, ...); a text-to-image pipeline is
    switched to its image-to-image variant. The edited image is resized back to the
    input's resolution, so activations before and after compare like for like.

    Spec: ``diffusers:qwen-image-edit?offload=model``, ``diffusers:/models/pix2pix``,
    ``diffusers:/models/sd15?strength=0.6&working_size=512`` (plain img2img).

    Example:
        >>> editor = resolve("editor", "diffusers:qwen-image-edit",
        ...                  BuildContext(device="cuda"))  # doctest: +SKIP
        >>> edited = editor.edit(image, "remove the zebra stripes", seed=0)  # doctest: +SKIP
    """

    class Options(PipelineOptions):
        strength: float | None = Field(None, gt=0.0, le=1.0, description="img2img strength")
        image_guidance: float | None = Field(None, ge=0.0, description="pix2pix image guidance")
        working_size: int | None = Field(
            None, ge=16, le=4096, description="longer side while editing; default: the model's"
        )

    def __init__(
        self, name: str, pipeline: Any, model_fingerprint: str, options: Options, defaults: dict
    ) -> None:
        self.name = name
        self._pipeline = pipeline
        call = _call_defaults(pipeline)
        chosen = {
            "num_inference_steps": options.steps or defaults.get("steps"),
            # Qwen-Image-Edit's classifier-free guidance is true_cfg_scale; others guidance_scale
            "true_cfg_scale" if "true_cfg_scale" in call else "guidance_scale": options.guidance,
            "strength": options.strength,
            "image_guidance_scale": options.image_guidance,
            "negative_prompt": options.negative_prompt,
        }
        self.settings = {k: v for k, v in chosen.items() if k in call and v is not None}
        if "true_cfg_scale" in call and "negative_prompt" not in self.settings:
            self.settings["negative_prompt"] = " "  # true CFG runs only with a negative prompt
        native = None if "true_cfg_scale" in call else _native_size(pipeline)
        self._working_size = options.working_size or native
        self.fingerprint = _pipeline_fingerprint(
            pipeline, model_fingerprint, options, working_size=self._working_size, **self.settings
        )

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> DiffusersEditor:
        pipeline, fingerprint, defaults = load_pipeline(
            argument, EDITOR_ALIASES, options, context.device, "editor"
        )
        if "image" not in _call_defaults(pipeline):
            from diffusers import AutoPipelineForImage2Image

            try:
                pipeline = AutoPipelineForImage2Image.from_pipe(pipeline)
            except ValueError as err:
                raise BackendError(
                    f"{argument!r} loads {type(pipeline).__name__}, which cannot edit images "
                    f"and has no image-to-image variant: {err}"
                ) from err
            pipeline.set_progress_bar_config(disable=True)
        return cls(f"diffusers:{argument}", pipeline, fingerprint, options, defaults)

    def _working_image(self, image: Image.Image) -> Image.Image:
        from PIL import Image as PILImage

        if not self._working_size:
            return image
        scale = self._working_size / max(image.size)
        multiple = 16  # latent grids want sides divisible by the VAE factor (8) x patch (2)
        width, height = (
            max(multiple, round(side * scale / multiple) * multiple) for side in image.size
        )
        return image.resize((width, height), PILImage.Resampling.LANCZOS)

    def edit(self, image: Image.Image, instruction: str, seed: int) -> Image.Image:
        """Edit ``image`` as ``instruction`` says; the result has the input's size.

        Args:
            image: The image to edit.
            instruction: What to change, e.g. "remove the dog from the picture".
            seed: Seed of the edit's noise.

        Returns:
            The edited RGB image, resized to ``image.size``.
        """
        import torch
        from PIL import Image as PILImage

        original = image.convert("RGB")
        output = self._pipeline(
            image=self._working_image(original),
            prompt=instruction,
            generator=torch.Generator("cpu").manual_seed(seed),
            output_type="pil",
            **self.settings,
        )
        edited = output.images[0].convert("RGB")
        if edited.size != original.size:
            edited = edited.resize(original.size, PILImage.Resampling.LANCZOS)
        return edited
