r"""Residual connections (He et al. 2016): y = shortcut(x) + branch(x).

The identity path lets the gradient reach early layers unattenuated
(∂y/∂x = I + ∂branch/∂x), which is what makes very deep networks trainable.
``Residual`` wraps any branch; ``drop_path`` adds stochastic depth (the branch is
dropped for a whole sample with that probability in training, survivors scaled by
1/(1 − p)). ``BasicBlock`` is the two-3×3-conv block of ResNet-18/34 with
torchvision's parameter names (``conv1``, ``bn1``, ``conv2``, ``bn2``, ``downsample``).
"""
from __future__ import annotations

from ..ops.fused import bias_act
from .activation import ReLU
from .conv import Conv2d
from .dropout import StochasticDepth
from .linear import Identity
from .module import Module, Sequential
from .normalization import BatchNorm2d

__all__ = ["Residual", "BasicBlock"]


class Residual(Module):
    """y = shortcut(x) + drop_path(branch(x)) (shortcut: the identity by default).

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> block = nn.Residual(nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8)))
    >>> block(mg.randn(4, 8)).shape
    (4, 8)
    """

    def __init__(self, branch, shortcut=None, drop_path=0.0):
        super().__init__()
        self.branch = branch
        self.shortcut = shortcut if shortcut is not None else Identity()
        self.drop_path = StochasticDepth(drop_path) if drop_path > 0 else Identity()

    def forward(self, x):
        return self.shortcut(x) + self.drop_path(self.branch(x))


class BasicBlock(Module):
    r"""ResNet's basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x)).

    Parameters
    ----------
    in_channels, out_channels : int
    stride : int — of the first conv (and of the projection shortcut).
    drop_path : float — stochastic-depth probability of the residual branch.

    Notes
    -----
    torchvision's ``BasicBlock(inplanes, planes, stride, downsample, ...)`` takes the
    shortcut module as an argument; here a 1×1-conv + BatchNorm projection is built
    whenever the shape changes. Parameter names match torchvision, so its state dicts
    load.
    """

    def __init__(self, in_channels, out_channels, stride=1, drop_path=0.0):
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.relu = ReLU()
        self.conv2 = Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.downsample = Sequential(
                Conv2d(in_channels, out_channels, 1, stride, bias=False),
                BatchNorm2d(out_channels))
        else:
            self.downsample = None
        self.drop_path = StochasticDepth(drop_path) if drop_path > 0 else Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        # relu(identity + out) in one fused kernel on CUDA (the same numbers everywhere)
        return bias_act(self.drop_path(out), identity, "relu")
