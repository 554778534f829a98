r"""The models of ``minigrad train --model``: an MLP, a LeNet-style CNN, a small ResNet and
a small MobileNet(v2), sized for the 8×8 digits (1 channel) and for 28–32 pixel images.

=====================  ==================================================================
``mlp``                 flatten → [Linear → ReLU → Dropout] × len(hidden) → Linear
``cnn``                 LeNet: [conv → ReLU → max-pool 2] × 2 → flatten → MLP head
                        (3×3 convs with padding for small images, LeCun's 5×5 for ≥ 28 px)
``resnet-small``        stem conv → BasicBlock(16) → BasicBlock(32, /2) → BasicBlock(64, /2)
                        → global average pool → Linear (He et al. 2016)
``mobilenet-small``     stem conv → inverted residual blocks (1×1 expand → 3×3 depthwise
                        → 1×1 linear projection) → 1×1 conv → pool → Linear
                        (Howard et al. 2017; Sandler et al. 2018)
=====================  ==================================================================

:func:`build_model` makes one from its name, the input shape (C, H, W) or (d,), and the
number of outputs.

Examples
--------
>>> import minigrad as mg
>>> mg.manual_seed(0)
0
>>> net = build_model("mobilenet-small", (1, 8, 8), 10)
>>> net(mg.randn(2, 1, 8, 8)).shape
(2, 10)
>>> build_model("cnn", (3, 32, 32), 10)(mg.randn(2, 3, 32, 32)).shape
(2, 10)
"""
from __future__ import annotations

from .. import nn

__all__ = ["MODELS", "build_model", "mlp", "cnn", "ResNetSmall", "MobileNetSmall",
           "InvertedResidual", "count_parameters"]


def _numel(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n


def mlp(in_features, num_classes, hidden=(128, 64), dropout=0.1, activation=nn.ReLU):
    """flatten → [Linear(·, h) → activation → Dropout(p)] for h in hidden → Linear."""
    layers, width = [nn.Flatten()], int(in_features)
    for h in hidden:
        layers += [nn.Linear(width, h), activation()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def cnn(in_channels, num_classes, image_size=8, dropout=0.1):
    r"""LeNet-style: two conv → ReLU → max-pool stages, then a two-layer head.

    ``image_size`` < 28: 3×3 convs with padding 1 and 16, 32 channels (8×8 → 4×4 → 2×2).
    ``image_size`` ≥ 28: LeNet-5's 5×5 convs with 6 and 16 channels (32×32 → 14×14 →
    5×5; 28×28 inputs are padded by 2 as in LeNet-5's 32×32 retina) and a 120-84 head.
    """
    if image_size < 28:
        c1, c2, k, pad, head = 16, 32, 3, 1, (64,)
        side = image_size // 2 // 2
    else:
        c1, c2, k, head = 6, 16, 5, (120, 84)
        pad = 2 if image_size < 32 else 0
        side = ((image_size + 2 * pad - 4) // 2 - 4) // 2
    if side < 1:
        raise ValueError(f"cnn: images of {image_size} pixels are too small")
    layers = [nn.Conv2d(in_channels, c1, k, padding=pad), nn.ReLU(), nn.MaxPool2d(2),
              nn.Conv2d(c1, c2, k, padding=pad if image_size < 28 else 0), nn.ReLU(),
              nn.MaxPool2d(2), nn.Flatten()]
    width = c2 * side * side
    for h in head:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


class ResNetSmall(nn.Module):
    r"""A three-stage residual network: a 3×3 stem (16 channels, BatchNorm, ReLU), then
    ``nn.BasicBlock`` s of 16, 32 (stride 2) and 64 (stride 2) channels, global average
    pooling and a Linear classifier. Inputs of 28 pixels or more get a stride-2 stem."""

    def __init__(self, in_channels, num_classes, image_size=8, widths=(16, 32, 64)):
        super().__init__()
        stride = 2 if image_size >= 28 else 1
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, stride, 1, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks, c = [], widths[0]
        for i, w in enumerate(widths):
            blocks.append(nn.BasicBlock(c, w, stride=1 if i == 0 else 2))
            c = w
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.layers(self.stem(x)))))


class InvertedResidual(nn.Module):
    r"""MobileNetV2's block: 1×1 expansion to t·C channels → BatchNorm → ReLU →
    3×3 *depthwise* conv (``groups`` = channels: one filter per channel) → BatchNorm →
    ReLU → 1×1 *linear* projection to C' → BatchNorm, plus the input when stride = 1 and
    C = C'.

    The depthwise + pointwise pair is the depthwise-separable convolution: k²·C + C·C'
    multiply-adds per pixel instead of k²·C·C'. The projection has no ReLU (the "linear
    bottleneck"): a ReLU on the narrow layer would discard information.
    (MobileNetV2 uses ReLU6; minigrad has no ReLU6 layer, so plain ReLU here.)
    """

    def __init__(self, in_channels, out_channels, stride=1, expand_ratio=4):
        super().__init__()
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        layers = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                       nn.ReLU()]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),  # depthwise
            nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, out_channels, 1, bias=False),                     # pointwise
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        out = self.conv(x)
        return x + out if self.use_residual else out


class MobileNetSmall(nn.Module):
    r"""A small MobileNetV2: 3×3 stem (16 channels) → inverted residual blocks
    (16 → 16, 16 → 24 /2, 24 → 24, 24 → 32 /2, 32 → 32) → 1×1 conv to 128 → global average
    pool → Linear. Inputs of 28 pixels or more get a stride-2 stem."""

    #: (out_channels, stride, expand_ratio) of each block
    config = ((16, 1, 1), (24, 2, 4), (24, 1, 4), (32, 2, 4), (32, 1, 4))

    def __init__(self, in_channels, num_classes, image_size=8, last_channels=128):
        super().__init__()
        stride = 2 if image_size >= 28 else 1
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 16, 3, stride, 1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU())
        blocks, c = [], 16
        for out, s, t in self.config:
            blocks.append(InvertedResidual(c, out, s, t))
            c = out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(c, last_channels, 1, bias=False),
                                  nn.BatchNorm2d(last_channels), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(last_channels, num_classes)

    def forward(self, x):
        return self.fc(self.head(self.blocks(self.stem(x))))


def _image_shape(name, in_shape):
    if len(in_shape) != 3:
        raise ValueError(f"model {name!r} needs images (C, H, W), got inputs of shape "
                         f"{tuple(in_shape)}; use --model mlp for feature vectors")
    return in_shape


def _build_mlp(in_shape, num_classes):
    return mlp(_numel(in_shape), num_classes)


def _build_cnn(in_shape, num_classes):
    C, H, _ = _image_shape("cnn", in_shape)
    return cnn(C, num_classes, H)


def _build_resnet(in_shape, num_classes):
    C, H, _ = _image_shape("resnet-small", in_shape)
    return ResNetSmall(C, num_classes, H)


def _build_mobilenet(in_shape, num_classes):
    C, H, _ = _image_shape("mobilenet-small", in_shape)
    return MobileNetSmall(C, num_classes, H)


#: name → builder(in_shape, num_outputs)
MODELS = {
    "mlp": _build_mlp,
    "cnn": _build_cnn,
    "resnet-small": _build_resnet,
    "mobilenet-small": _build_mobilenet,
}


def build_model(name, in_shape, num_outputs):
    """The model ``name`` (a key of :data:`MODELS`) for inputs of shape ``in_shape``
    (without the batch dimension) and ``num_outputs`` outputs."""
    try:
        builder = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}") from None
    return builder(tuple(int(s) for s in in_shape), int(num_outputs))


def count_parameters(model):
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
