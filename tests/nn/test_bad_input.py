"""Bad input to layers, losses, initializers and state dicts: a clear error naming the
problem, and nothing half done (found by an audit against PyTorch 2.13)."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn


def test_load_state_dict_checks_every_value_before_copying_any():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    before = m[0].weight.numpy().copy()
    state = {k: v.clone() for k, v in m.state_dict().items()}
    state["0.weight"] = mg.full((4, 3), 7.0)
    for bad, message in [(None, "expected a tensor or an array of numbers, got object"),
                         ("abc", "expected a tensor or an array of numbers, got <U3"),
                         (mg.tensor(float("nan")), r"inf or NaN cannot be copied into an "
                                                   r"integer tensor \(int64\)")]:
        state["1.num_batches_tracked"] = bad
        with pytest.raises(RuntimeError, match='While copying the parameter named '
                                               '"1.num_batches_tracked", ' + message):
            m.load_state_dict(state)
        np.testing.assert_array_equal(m[0].weight.numpy(), before)  # nothing copied
    state["1.num_batches_tracked"] = mg.tensor(3.0)  # a whole float goes into the int buffer
    m.load_state_dict(state)
    assert m[1].num_batches_tracked.item() == 3 and m[0].weight.numpy()[0, 0] == 7.0


def test_module_to_an_unknown_device_says_so():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        nn.Linear(2, 2).to("tpu")
    assert nn.Linear(2, 2).to("float64").weight.dtype == mg.float64
    with pytest.raises(TypeError, match="dtype must be floating"):
        nn.Linear(2, 2).to("int64")


def test_binary_cross_entropy_targets_are_probabilities():
    with pytest.raises(ValueError, match=r"every target element must be in \[0, 1\], got "
                                         r"values in \[-0.5, 2.0\]"):
        F.binary_cross_entropy(mg.tensor([0.5, 0.5]), mg.tensor([2.0, -0.5]))
    loss = F.binary_cross_entropy(mg.tensor([0.5]), mg.tensor([1.0]))
    assert abs(loss.item() - np.log(2.0)) < 1e-6


@pytest.mark.parametrize("init", [nn.init.uniform_, nn.init.normal_, nn.init.trunc_normal_,
                                  nn.init.xavier_uniform_, nn.init.xavier_normal_,
                                  nn.init.kaiming_uniform_, nn.init.kaiming_normal_,
                                  nn.init.lecun_normal_, nn.init.lecun_uniform_,
                                  nn.init.orthogonal_])
def test_random_initializers_need_a_floating_tensor(init):
    with pytest.raises(TypeError, match=f"{init.__name__}: expects a floating-point tensor, "
                                        "got int64"):
        init(mg.zeros(3, 3, dtype=mg.int64))
    for bad in ([1.0, 2.0], None, np.zeros((3, 3))):
        with pytest.raises(TypeError, match=f"{init.__name__}: expects a Tensor, got "):
            init(bad)


def test_constant_initializers_fill_integer_tensors_as_in_pytorch():
    np.testing.assert_array_equal(nn.init.zeros_(mg.ones(2, dtype=mg.int64)).numpy(), [0, 0])
    np.testing.assert_array_equal(nn.init.eye_(mg.empty(2, 2, dtype=mg.int64)).numpy(),
                                  np.eye(2))


def test_norm_layers_refuse_negative_sizes():
    with pytest.raises(ValueError, match="BatchNorm2d: num_features must be a non-negative"):
        nn.BatchNorm2d(-1)
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must hold non-negative"):
        nn.LayerNorm(-1)
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must hold"):
        nn.LayerNorm((2, 2.5))


def test_one_dimensional_windows_are_reported_in_one_dimension():
    x = mg.randn(1, 3, 5)
    with pytest.raises(ValueError, match=r"conv1d: the kernel spans 7 positions .* padded "
                                         r"input length 5 \(input shape \(1, 3, 5\)"):
        nn.Conv1d(3, 4, 7)(x)
    with pytest.raises(ValueError, match="max_pool1d: the kernel spans 7 positions"):
        nn.MaxPool1d(7)(x)
    with pytest.raises(ValueError, match="conv1d: padding must be at least 0, got -1"):
        nn.Conv1d(3, 4, 3, padding=-1)(x)
    with pytest.raises(ValueError, match="avg_pool1d: stride must be at least 1, got 0"):
        F.avg_pool1d(x, 2, stride=0)
    assert nn.Conv1d(3, 4, 3, padding=1)(x).shape == (1, 4, 5)
    assert nn.Conv1d(3, 4, 3, padding="same")(x).shape == (1, 4, 5)
    assert nn.MaxPool1d(2)(x).shape == (1, 3, 2)


def test_weights_and_masks_that_do_not_fit_name_the_function_and_the_shapes():
    x = mg.randn(2, 3)
    with pytest.raises(ValueError, match=r"layer_norm: weight must have the normalized shape "
                                         r"\(3,\), got \(4,\)"):
        F.layer_norm(x, (3,), weight=mg.ones(4))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: weight of shape \(4,\) does "
                                         r"not broadcast to the input's shape \(2, 3\)"):
        F.binary_cross_entropy(mg.full((2, 3), 0.5), mg.ones(2, 3), weight=mg.ones(4))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: pos_weight of "
                                         r"shape \(4,\)"):
        F.binary_cross_entropy_with_logits(x, mg.ones(2, 3), pos_weight=mg.ones(4))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: attn_mask of shape "
                                         r"\(3, 3\) does not broadcast"):
        q = mg.randn(1, 2, 4)
        F.scaled_dot_product_attention(q, q, q, attn_mask=mg.ones(3, 3).bool())
    with pytest.raises(ValueError, match=r"pairwise_distance: shapes do not broadcast: "
                                         r"x1 \(2, 3\), x2 \(2, 4\)"):
        F.pairwise_distance(mg.randn(2, 3), mg.randn(2, 4))
    assert F.layer_norm(x, (3,), weight=mg.ones(3), bias=mg.zeros(3)).shape == (2, 3)
    weighted = F.binary_cross_entropy(mg.full((2, 3), 0.5), mg.ones(2, 3), weight=mg.ones(3))
    assert abs(weighted.item() - np.log(2.0)) < 1e-6


def test_unbatched_cross_entropy_takes_one_class_index():
    x = mg.tensor([0.3, -1.0, 0.5])
    expected = -(x.numpy()[1] - np.log(np.exp(x.numpy()).sum()))
    for target in (mg.tensor(1), mg.tensor([1])):  # PyTorch takes shape (1,) too
        assert abs(F.cross_entropy(x, target).item() - expected) < 1e-6
    with pytest.raises(ValueError, match=r"cross_entropy: for an unbatched input of shape "
                                         r"\(3,\), target must be one class index"):
        F.cross_entropy(x, mg.tensor([1, 2]))


def test_embedding_weight_is_a_matrix():
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D \(num_embeddings, "
                                         r"dim\), got shape \(5,\)"):
        F.embedding(mg.tensor([0, 1]), mg.ones(5))
    assert F.embedding(mg.tensor([0, 1]), mg.ones(5, 2)).shape == (2, 2)
