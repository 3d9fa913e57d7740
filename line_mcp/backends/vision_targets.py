"""Vision targets beyond the embedded default: torchvision, Places365, timm,
transformers image classifiers, any torch module, and black-box callables.

Every target here except :class:`CallableTarget` is a
:class:`~line_mcp.backends.torch_target.TorchModuleTarget`: forward hooks on a
named module, feature maps averaged over space, token sequences reduced to the
class token (or the token mean with ``?tokens=mean``). Each reports its layers,
neuron count, preprocessing and a weights fingerprint.

Specs (the layer comes from ``--layer``; aliases are listed by ``line-mcp describe``):

- ``torchvision:resnet50`` / ``resnet18`` / ``vit_b_16`` (any ``torchvision.models``
  name): ``?weights=IMAGENET1K_V1`` (default; the paper's weights), ``none``
  (random init) or a checkpoint file. Needs the optional ``torchvision`` package.
- ``places365:/models/resnet50_places365.pth.tar``: ResNet50 trained on Places365 from
  the CSAIL checkpoint file; ``?classes=categories_places365.txt`` names the logits.
- ``timm:resnet50.a1_in1k`` (``?checkpoint=FILE`` for local weights). Needs ``timm``
  (which itself needs ``torchvision``).
- ``transformers:microsoft/resnet-50`` or a local folder: any image classifier
  ``AutoModelForImageClassification`` loads, with its own image processor.
- ``torch:package.module:factory``: the ``nn.Module`` a factory returns
  (``?checkpoint=FILE`` loads a state dict into it); any module by dotted name.
- ``callable:package.module:function``: a black box ``function(images) -> [n, neurons]``.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from line_mcp.backends.hub import files_fingerprint, offline_error
from line_mcp.backends.registry import BackendError, BuildContext
from line_mcp.backends.torch_target import (
    Preprocessing,
    TorchModuleTarget,
    imagenet_class_names,
    mix_fingerprint,
)

if TYPE_CHECKING:
    import torch
    from PIL import Image

_TORCHVISION_HINT = (
    "the torchvision package is not installed: install the torchvision build that matches "
    "your torch (e.g. `pip install torchvision` next to a CUDA torch, or "
    "`pip install torchvision --index-url https://download.pytorch.org/whl/cpu` for a CPU torch)"
)


class _TargetOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    batch_size: int = Field(32, ge=1, le=4096, description="images per forward pass")
    tokens: Literal["cls", "mean"] = Field(
        "cls", description="token sequences: class token or token mean"
    )


def _imagenet_names_or_none() -> list[str] | None:
    try:
        return imagenet_class_names()
    except BackendError:
        return None


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a checkpoint file, unwrapped the usual ways.

    Accepts a bare state dict or one under ``state_dict`` / ``model``, and strips
    the ``module.`` prefix ``DataParallel`` leaves (as in the Places365 checkpoints).
    Loaded with ``weights_only=True``: a checkpoint cannot run code.

    Args:
        path: A ``.pth``, ``.pth.tar``, ``.pt`` or ``.safetensors`` file.

    Returns:
        Parameter name -> tensor.

    Example:
        >>> state = load_state_dict_file("resnet50_places365.pth.tar")  # doctest: +SKIP
        >>> network.load_state_dict(state)  # doctest: +SKIP
    """
    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise BackendError(f"checkpoint file {str(path)!r} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state: Any = load_file(str(path))
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise BackendError(f"cannot read checkpoint {str(path)!r}: {err}") from err
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise BackendError(f"checkpoint {str(path)!r} holds no state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _load_into(network: torch.nn.Module, checkpoint: str) -> None:
    missing, unexpected = network.load_state_dict(load_state_dict_file(checkpoint), strict=False)
    if missing or unexpected:
        raise BackendError(
            f"checkpoint {checkpoint!r} does not fit the network: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )


def _import_attribute(reference: str, what: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise BackendError(f"{what} must be written package.module:function, got {reference!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise BackendError(f"cannot import module {module_name!r} for {what}: {err}") from err
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise BackendError(f"module {module_name!r} has no attribute {attribute!r}")
        value = getattr(value, part)
    return value


def _source_fingerprint(function: Callable[..., Any]) -> str:
    """Hash of the source file that defines ``function`` plus its qualified name."""
    digest = hashlib.sha256(f"{function.__module__}:{function.__qualname__}".encode())
    try:
        source = inspect.getsourcefile(function)
    except TypeError:
        source = None
    if source and Path(source).is_file():
        digest.update(Path(source).read_bytes())
    return digest.hexdigest()[:16]


# --- torchvision ---------------------------------------------------------------------------

_RESNET_ALIASES = {
    "avgpool": ("avgpool", "global average pool, the paper's layer (512 or 2048 features)"),
    "layer4": ("layer4", "last residual stage, pooled over space"),
    "layer3": ("layer3", "third residual stage, pooled over space"),
    "logits": ("fc", "classifier outputs"),
}
_VIT_ALIASES = {
    "encoder": ("encoder", "encoder output (after its layer norm), class token"),
    "heads": ("heads", "classifier heads, the paper's ViT layer (class logits)"),
    "logits": ("heads", "classifier heads (class logits)"),
}


def _torchvision_aliases(network: torch.nn.Module) -> dict[str, tuple[str, str]]:
    names = {name for name, _ in network.named_modules()}
    table = _VIT_ALIASES if "heads" in names and "encoder" in names else _RESNET_ALIASES
    return {alias: spec for alias, spec in table.items() if spec[0] in names}


def _cached_torch_hub_weights(weights: Any) -> None:
    """Fail fast and clearly when torchvision weights are not cached and the hub is offline."""
    import torch

    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false")
    if not cached.is_file() and offline:
        raise BackendError(
            f"torchvision weights {weights} are not in the local cache ({cached}) and "
            f"HF_HUB_OFFLINE is set: download {weights.url} to that path on a machine "
            "with network access, or pass ?weights=/path/to/checkpoint.pth"
        )


class TorchvisionTarget:
    """A ``torchvision.models`` classifier: ResNet18/50 and ViT-B/16 as in the paper.

    Layers: ResNets have ``avgpool`` (the paper's layer), ``layer4``, ``layer3`` and
    ``logits``; ViT-B/16 has ``encoder`` (the class token of the encoder output) and
    ``heads`` (logits); any module name works too. Preprocessing is the weights'
    own (resize, crop, mean, std).

    Example:
        >>> context = BuildContext(layer="avgpool")
        >>> resolve("target", "torchvision:resnet50", context)  # doctest: +SKIP
    """

    class Options(_TargetOptions):
        weights: str = Field(
            "IMAGENET1K_V1",
            description="torchvision weights enum name, DEFAULT, none, or a checkpoint file",
        )

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> TorchModuleTarget:
        try:
            import torchvision
        except ImportError as err:
            raise BackendError(f"target torchvision:{argument}: {_TORCHVISION_HINT}") from err
        name = argument or "resnet50"
        if name not in torchvision.models.list_models():
            raise BackendError(
                f"unknown torchvision model {name!r}; e.g. resnet18, resnet50, vit_b_16"
            )
        weights_arg = options.weights
        preprocessing = Preprocessing()
        neuron_names = _imagenet_names_or_none()
        if weights_arg.lower() == "none" or Path(weights_arg).expanduser().is_file():
            network = torchvision.models.get_model(name, weights=None)
            if weights_arg.lower() != "none":
                _load_into(network, weights_arg)
        else:
            try:
                weights = torchvision.models.get_model_weights(name)[weights_arg]
            except KeyError as err:
                raise BackendError(
                    f"unknown weights {weights_arg!r} for {name}; give a weights name, "
                    "DEFAULT, none or a checkpoint file"
                ) from err
            _cached_torch_hub_weights(weights)
            try:
                network = torchvision.models.get_model(name, weights=weights)
            except OSError as err:  # URLError is an OSError: no network
                raise offline_error(str(weights.url), err) from err
            transform = weights.transforms()
            preprocessing = Preprocessing(
                resize=int(transform.resize_size[0]),
                crop=int(transform.crop_size[0]),
                mean=tuple(transform.mean),
                std=tuple(transform.std),
            )
            neuron_names = list(weights.meta.get("categories") or []) or neuron_names
        aliases = _torchvision_aliases(network)
        return TorchModuleTarget(
            name=f"torchvision:{name}",
            module=network,
            layer=context.layer or next(iter(aliases), "avgpool"),
            aliases=aliases,
            preprocessing=preprocessing,
            device=context.device,
            batch_size=options.batch_size,
            token_pooling=options.tokens,
            neuron_names={a: neuron_names for a in ("logits", "heads")} if neuron_names else None,
        )


def read_places365_categories(path: str | Path) -> list[str]:
    """Class names from ``categories_places365.txt`` (lines like ``/a/airfield 0``).

    Example:
        >>> read_places365_categories("categories_places365.txt")[:2]  # doctest: +SKIP
        ['airfield', 'airplane cabin']
    """
    names: dict[int, str] = {}
    for line in Path(path).expanduser().read_text().splitlines():
        if not line.strip():
            continue
        label, _, index = line.strip().rpartition(" ")
        label = label.strip("/").split("/", 1)[-1]
        names[int(index)] = label.replace("/", " ").replace("_", " ")
    return [names[i] for i in sorted(names)]


class Places365Target:
    """ResNet50 trained on Places365 (the CSAIL checkpoint), read like torchvision's ResNet50.

    The argument is the checkpoint file (``resnet50_places365.pth.tar`` from the
    Places365 project); ``?classes=`` the category file that names the 365 logits.
    """

    class Options(_TargetOptions):
        arch: str = Field("resnet50", description="torchvision architecture of the checkpoint")
        classes: str | None = Field(None, description="categories_places365.txt")

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> TorchModuleTarget:
        try:
            import torchvision
        except ImportError as err:
            raise BackendError(f"target places365: {_TORCHVISION_HINT}") from err
        if not argument:
            raise BackendError(
                "places365 needs the checkpoint file: places365:/path/resnet50_places365.pth.tar"
            )
        network = torchvision.models.get_model(options.arch, weights=None, num_classes=365)
        _load_into(network, argument)
        names = read_places365_categories(options.classes) if options.classes else None
        return TorchModuleTarget(
            name=f"places365:{options.arch}",
            module=network,
            layer=context.layer or "avgpool",
            aliases=_torchvision_aliases(network),
            preprocessing=Preprocessing(),
            device=context.device,
            batch_size=options.batch_size,
            token_pooling=options.tokens,
            neuron_names={"logits": names} if names else None,
        )


# --- timm ----------------------------------------------------------------------------------


class TimmTarget:
    """A timm model by name (``resnet50.a1_in1k``, ``vit_base_patch16_224``, ...).

    Weights come from the local hub cache or ``?checkpoint=FILE``; preprocessing
    from the model's pretrained config. Aliases: ``avgpool`` (``global_pool``
    where the model has one), ``logits`` (its classifier); any module name.
    """

    class Options(_TargetOptions):
        checkpoint: str | None = Field(None, description="local weights file")

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> TorchModuleTarget:
        try:
            import timm
            from timm.data import resolve_data_config
        except ImportError as err:
            raise BackendError(
                f"target timm:{argument} needs the timm package, which itself needs "
                f"torchvision ({err}): pip install timm and {_TORCHVISION_HINT}"
            ) from err
        if not argument:
            raise BackendError("timm needs a model name, e.g. timm:resnet50.a1_in1k")
        try:
            if options.checkpoint:
                network = timm.create_model(argument, pretrained=False)
                _load_into(network, options.checkpoint)
            else:
                network = timm.create_model(argument, pretrained=True)
        except (OSError, RuntimeError) as err:
            raise offline_error(argument, err) from err
        data = resolve_data_config(model=network)
        crop = int(data["input_size"][-1])
        preprocessing = Preprocessing(
            resize=round(crop / float(data.get("crop_pct", 0.875))),
            crop=crop,
            mean=tuple(data["mean"]),
            std=tuple(data["std"]),
        )
        names = {name for name, _ in network.named_modules()}
        aliases: dict[str, tuple[str, str]] = {}
        if "global_pool" in names:
            aliases["avgpool"] = ("global_pool", "global pool before the classifier")
        classifier = network.default_cfg.get("classifier")
        if classifier in names:
            aliases["logits"] = (classifier, "classifier outputs")
        return TorchModuleTarget(
            name=f"timm:{argument}",
            module=network,
            layer=context.layer or next(iter(aliases), "logits"),
            aliases=aliases,
            preprocessing=preprocessing,
            device=context.device,
            batch_size=options.batch_size,
            token_pooling=options.tokens,
        )


# --- transformers image classifiers --------------------------------------------------------


class ProcessorPreprocessing:
    """A transformers image processor used as a target's preprocessing."""

    def __init__(self, processor: Any) -> None:
        self._processor = processor

    def __call__(self, images: Sequence[Image.Image]) -> torch.Tensor:
        rgb = [image.convert("RGB") for image in images]
        return self._processor(images=rgb, return_tensors="pt")["pixel_values"]

    def describe(self) -> dict[str, Any]:
        """The processor's settings (size, crop, mean, std, ...)."""
        keep = ("size", "crop_size", "crop_pct", "image_mean", "image_std", "do_center_crop")
        settings = self._processor.to_dict()
        return {
            "processor": type(self._processor).__name__,
            **{k: settings[k] for k in keep if k in settings},
        }


class TransformersImageTarget:
    """An image classifier that ``AutoModelForImageClassification`` loads (hub id or folder).

    Aliases: ``logits`` (the classifier), ``avgpool`` (the backbone's pooler, for
    ResNet/ConvNeXt-like models) and ``encoder`` (the final layer norm's class
    token, for ViT-like models); any module name. The model's own image processor
    is the preprocessing; ``id2label`` names the logits.

    Example:
        >>> resolve("target", "transformers:microsoft/resnet-50",
        ...         BuildContext(layer="avgpool"))  # doctest: +SKIP
    """

    Options = _TargetOptions

    @classmethod
    def build(cls, argument: str, options: _TargetOptions, context: BuildContext):
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        if not argument:
            raise BackendError("give a model: transformers:HUB_ID or transformers:/local/folder")
        try:
            processor = AutoImageProcessor.from_pretrained(argument)
            network = AutoModelForImageClassification.from_pretrained(argument)
        except OSError as err:
            raise offline_error(argument, err) from err
        names = {name for name, _ in network.named_modules()}
        base = network.base_model_prefix
        aliases: dict[str, tuple[str, str]] = {}
        if "classifier" in names:
            aliases["logits"] = ("classifier", "classifier outputs")
        if f"{base}.pooler" in names:
            aliases["avgpool"] = (f"{base}.pooler", "backbone's global pool")
        if f"{base}.layernorm" in names:
            aliases["encoder"] = (f"{base}.layernorm", "encoder output, class token")
        id2label = network.config.id2label or {}
        labels = [str(id2label[i]) for i in sorted(id2label)]
        local = Path(argument).expanduser()
        # files_fingerprint is cheaper than hashing every tensor again
        files = files_fingerprint(local) if local.is_dir() else None
        target = TorchModuleTarget(
            name=f"transformers:{argument}",
            module=network,
            layer=context.layer or "logits",
            aliases=aliases,
            preprocessing=ProcessorPreprocessing(processor),  # type: ignore[arg-type]
            device=context.device,
            batch_size=options.batch_size,
            token_pooling=options.tokens,
            neuron_names={"logits": labels} if labels else None,
            rekey=(lambda fp: f"{files}@{fp[:8]}") if files else None,
        )
        return target


# --- any torch module ----------------------------------------------------------------------


class TorchFactoryTarget:
    """Any ``nn.Module`` returned by a factory ``package.module:function``.

    ``?checkpoint=FILE`` loads a state dict into it; ``?resize=&crop=&mean=&std=``
    set the preprocessing (ImageNet's by default; mean/std as ``r,g,b``). Layers
    are the module's dotted names (``layer4``, ``blocks.3.attn``, ...).

    Example:
        >>> resolve("target", "torch:mypkg.models:build_net?checkpoint=net.pt",
        ...         BuildContext(layer="features.7"))  # doctest: +SKIP
    """

    class Options(_TargetOptions):
        checkpoint: str | None = None
        resize: int = Field(256, ge=8)
        crop: int = Field(224, ge=8)
        mean: str = "0.485,0.456,0.406"
        std: str = "0.229,0.224,0.225"

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> TorchModuleTarget:
        import torch

        factory = _import_attribute(argument, "a torch target factory")
        network = factory()
        if not isinstance(network, torch.nn.Module):
            raise BackendError(f"{argument} returned {type(network).__name__}, not an nn.Module")
        if options.checkpoint:
            _load_into(network, options.checkpoint)
        try:
            mean = tuple(float(x) for x in options.mean.split(","))
            std = tuple(float(x) for x in options.std.split(","))
            preprocessing = Preprocessing(
                resize=options.resize, crop=options.crop, mean=mean, std=std
            )
        except (ValueError, TypeError) as err:
            raise BackendError(f"mean and std must be three numbers r,g,b: {err}") from err
        if not context.layer:
            raise BackendError("a torch target needs a layer: any dotted module name")
        target = TorchModuleTarget(
            name=f"torch:{argument}",
            module=network,
            layer=context.layer,
            aliases={},
            preprocessing=preprocessing,
            device=context.device,
            batch_size=options.batch_size,
            token_pooling=options.tokens,
            # resize/crop/mean/std are options here, not fixed by the model: part of the key
            rekey=lambda fp: mix_fingerprint(fp, preprocessing.model_dump_json()),
        )
        return target


# --- black box -----------------------------------------------------------------------------


class CallableTarget:
    """A black-box target: ``function(images) -> array [len(images), neurons]``.

    The function may take a ``layer`` keyword, which receives ``--layer``. Its
    fingerprint hashes the source file that defines it; set ``?fingerprint=`` to
    a version string when its weights live elsewhere, so caches notice a change.

    Example:
        >>> target = resolve("target", "callable:mypkg.probe:activations")  # doctest: +SKIP
        >>> target.activations(images).shape  # doctest: +SKIP
        (5, 64)
    """

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        fingerprint: str | None = Field(None, description="version of the function's model")
        batch_size: int = Field(32, ge=1, le=4096)

    def __init__(
        self, reference: str, function: Callable[..., Any], layer: str, options: Options
    ) -> None:
        self.name = f"callable:{reference}"
        self.layer = layer
        self._function = function
        self._batch_size = options.batch_size
        self._takes_layer = "layer" in inspect.signature(function).parameters
        base = _source_fingerprint(function)
        if options.fingerprint:
            base = hashlib.sha256(f"{base}:{options.fingerprint}".encode()).hexdigest()[:16]
        self.fingerprint = base
        self._num_neurons: int | None = None

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> CallableTarget:
        function = _import_attribute(argument, "a callable target")
        if not callable(function):
            raise BackendError(f"{argument} is not callable")
        return cls(argument, function, context.layer or "output", options)

    @property
    def preprocessing(self) -> dict[str, Any]:
        return {"black box": "the function receives PIL RGB images as drawn"}

    def layers(self) -> dict[str, str]:
        return {self.layer: "the function's output"}

    def neuron_names(self) -> list[str] | None:
        return None

    @property
    def num_neurons(self) -> int:
        if self._num_neurons is None:
            from PIL import Image as PILImage

            self._num_neurons = int(self.activations([PILImage.new("RGB", (64, 64))]).shape[1])
        return self._num_neurons

    def activations(self, images: Sequence[Image.Image]) -> np.ndarray:
        rows = []
        for start in range(0, len(images), self._batch_size):
            batch = [image.convert("RGB") for image in images[start : start + self._batch_size]]
            kwargs = {"layer": self.layer} if self._takes_layer else {}
            output = np.asarray(self._function(batch, **kwargs), dtype=np.float32)
            if output.ndim != 2 or output.shape[0] != len(batch):
                raise BackendError(
                    f"{self.name} returned shape {output.shape} for {len(batch)} images; "
                    "it must return [n_images, n_neurons]"
                )
            rows.append(output)
        if not rows:
            return np.zeros((0, self._num_neurons or 0), dtype=np.float32)
        result = np.concatenate(rows)
        self._num_neurons = result.shape[1]
        return result
