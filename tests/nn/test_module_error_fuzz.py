"""Bad input to a layer gets minigrad's error, never one from inside NumPy: some sixty
layers, each called on float64 and int64 inputs of 0-d, 1-d to 5-d and empty shapes. Every
call must return or raise ValueError, TypeError, IndexError, RuntimeError or
NotImplementedError from minigrad's own code. Found at stop 27 this way: adaptive average
pooling of an empty plane (a ZeroDivisionError) and Unflatten of a 0-d tensor."""
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn

PACKAGE = str(Path(mg.__file__).parent)
LAYERS = {
    "Linear": lambda: nn.Linear(3, 2), "LowRankLinear": lambda: nn.LowRankLinear(3, 2, 1),
    "Conv1d": lambda: nn.Conv1d(3, 2, 2), "Conv2d": lambda: nn.Conv2d(3, 2, 2),
    "Conv3d": lambda: nn.Conv3d(3, 2, 2), "ConvTranspose1d": lambda: nn.ConvTranspose1d(3, 2, 2),
    "ConvTranspose2d": lambda: nn.ConvTranspose2d(3, 2, 2),
    "ConvTranspose3d": lambda: nn.ConvTranspose3d(3, 2, 2),
    "MaxPool1d": lambda: nn.MaxPool1d(2), "MaxPool2d": lambda: nn.MaxPool2d(2),
    "MaxPool3d": lambda: nn.MaxPool3d(2), "AvgPool1d": lambda: nn.AvgPool1d(2),
    "AvgPool2d": lambda: nn.AvgPool2d(2), "AvgPool3d": lambda: nn.AvgPool3d(2),
    "AdaptiveAvgPool1d": lambda: nn.AdaptiveAvgPool1d(2),
    "AdaptiveAvgPool2d": lambda: nn.AdaptiveAvgPool2d(2),
    "AdaptiveMaxPool2d": lambda: nn.AdaptiveMaxPool2d(2), "LPPool2d": lambda: nn.LPPool2d(2, 2),
    "BatchNorm1d": lambda: nn.BatchNorm1d(3), "BatchNorm2d": lambda: nn.BatchNorm2d(3),
    "BatchNorm3d": lambda: nn.BatchNorm3d(3), "LayerNorm": lambda: nn.LayerNorm(3),
    "GroupNorm": lambda: nn.GroupNorm(1, 3), "InstanceNorm1d": lambda: nn.InstanceNorm1d(3),
    "InstanceNorm2d": lambda: nn.InstanceNorm2d(3), "RMSNorm": lambda: nn.RMSNorm(3),
    "LocalResponseNorm": lambda: nn.LocalResponseNorm(2),
    "Dropout": lambda: nn.Dropout(0.5), "Dropout1d": lambda: nn.Dropout1d(0.5),
    "Dropout2d": lambda: nn.Dropout2d(0.5), "Dropout3d": lambda: nn.Dropout3d(0.5),
    "AlphaDropout": lambda: nn.AlphaDropout(0.5),
    "Embedding": lambda: nn.Embedding(5, 3), "EmbeddingBag": lambda: nn.EmbeddingBag(5, 3),
    "RNN": lambda: nn.RNN(3, 2), "LSTM": lambda: nn.LSTM(3, 2), "GRU": lambda: nn.GRU(3, 2),
    "RNNCell": lambda: nn.RNNCell(3, 2), "LSTMCell": lambda: nn.LSTMCell(3, 2),
    "GRUCell": lambda: nn.GRUCell(3, 2),
    "TransformerEncoderLayer": lambda: nn.TransformerEncoderLayer(4, 2, 8),
    "Flatten": lambda: nn.Flatten(), "Unflatten": lambda: nn.Unflatten(1, (3, 1)),
    "PixelShuffle": lambda: nn.PixelShuffle(2), "PixelUnshuffle": lambda: nn.PixelUnshuffle(2),
    "Upsample": lambda: nn.Upsample(scale_factor=2),
    "UpsamplingBilinear2d": lambda: nn.UpsamplingBilinear2d(scale_factor=2),
    "ReflectionPad2d": lambda: nn.ReflectionPad2d(1),
    "ReplicationPad2d": lambda: nn.ReplicationPad2d(1), "ZeroPad2d": lambda: nn.ZeroPad2d(1),
    "CircularPad2d": lambda: nn.CircularPad2d(1),
    "ConstantPad1d": lambda: nn.ConstantPad1d(1, 0.5),
    "Softmax": lambda: nn.Softmax(dim=1), "LogSoftmax": lambda: nn.LogSoftmax(dim=1),
    "Softmax2d": lambda: nn.Softmax2d(), "GLU": lambda: nn.GLU(), "PReLU": lambda: nn.PReLU(3),
    "Fold": lambda: nn.Fold((4, 4), 2), "Unfold": lambda: nn.Unfold(2),
    "ChannelShuffle": lambda: nn.ChannelShuffle(3),
    "CosineSimilarity": lambda: nn.CosineSimilarity(),
    "PairwiseDistance": lambda: nn.PairwiseDistance(),
}
TWO_INPUTS = {"CosineSimilarity", "PairwiseDistance"}
SHAPES = [(), (3,), (2, 3), (2, 3, 4), (2, 3, 4, 4), (2, 3, 4, 4, 4), (0, 3, 4, 4), (2, 0),
          (2, 5, 4)]
ALLOWED = (ValueError, TypeError, IndexError, RuntimeError, NotImplementedError)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_layer_on_bad_input_raises_minigrads_error(name):
    layer = LAYERS[name]().double()
    rng = np.random.default_rng(0)
    escaped = []
    for dtype in (np.float64, np.int64):
        for shape in SHAPES:
            x = mg.tensor((rng.standard_normal(shape) * 3).astype(dtype))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    layer(*((x, x) if name in TWO_INPUTS else (x,)))
            except ALLOWED as e:
                where = traceback.extract_tb(e.__traceback__)[-1].filename
                if not where.startswith(PACKAGE):
                    escaped.append(f"{shape} {dtype.__name__}: {type(e).__name__} from "
                                   f"{where}: {e}")
            except Exception as e:  # noqa: BLE001 -- what the test looks for
                escaped.append(f"{shape} {dtype.__name__}: {type(e).__name__}: {e}")
    assert not escaped, "\n".join(escaped)


def test_adaptive_average_pooling_of_an_empty_plane():
    for call in (lambda: nn.AdaptiveAvgPool1d(2)(mg.zeros(2, 0)),
                 lambda: nn.AdaptiveAvgPool2d(2)(mg.zeros(2, 3, 0)),
                 lambda: nn.AdaptiveAvgPool3d(2)(mg.zeros(1, 2, 0, 3))):
        with pytest.raises(ValueError, match="expected a non-empty input plane"):
            call()
    assert nn.AdaptiveAvgPool2d(2)(mg.zeros(0, 3, 4, 4)).shape == (0, 3, 2, 2)  # empty batch


def test_unflatten_checks_its_sizes():
    x = mg.arange(12.0).reshape(2, 6)
    assert nn.Unflatten(1, (3, -1))(x).shape == (2, 3, 2)
    assert nn.Unflatten(-1, (2, 3))(x).tolist() == x.reshape(2, 2, 3).tolist()
    with pytest.raises(ValueError, match=r"sizes \[4, -1\] do not multiply up to the size 6"):
        x.unflatten(1, (4, -1))
    with pytest.raises(ValueError, match=r"sizes \[-1, -1\]"):
        x.unflatten(1, (-1, -1))
    with pytest.raises(ValueError, match="unflatten: expects a tensor with at least 1 dim"):
        nn.Unflatten(0, (1,))(mg.tensor(1.0))


@pytest.mark.parametrize("name", sorted(set(LAYERS) - {"Embedding", "EmbeddingBag"}))
def test_layers_stay_quiet_at_extreme_values(name):
    """Each layer, forward and backward, on inputs filled with ±inf, NaN, ±1e308, ±1e-300,
    ±0 ...: infinities and NaNs come out as in PyTorch, without a RuntimeWarning from inside
    NumPy (found at stop 28: transposed convolutions' col2im and average pooling's window
    sums warned about inf − inf)."""
    from tests.core.api_functions import EXTREMES

    rng = np.random.default_rng(0)
    layer = LAYERS[name]().double()
    warned, ran = [], 0
    for shape in SHAPES + ([(1, 4, 9), (2, 8, 9)] if name == "Fold" else []):  # (N, C·4, 9)
        if 0 in shape:
            continue
        values = np.resize(np.array(EXTREMES), int(np.prod(shape)))
        rng.shuffle(values)
        x = mg.tensor(values.reshape(shape), requires_grad=True)
        args = [x, mg.tensor(values[::-1].reshape(shape))] if name in TWO_INPUTS else [x]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = layer(*args)
                (out[0] if isinstance(out, tuple) else out).sum().backward()
                ran += 1
            except ALLOWED:
                continue
        warned += [f"{shape}: {w.message} at {w.filename}:{w.lineno}" for w in caught
                   if issubclass(w.category, RuntimeWarning)][:1]
    assert ran, f"{name} took none of the shapes"
    assert not warned, "\n".join(warned)
