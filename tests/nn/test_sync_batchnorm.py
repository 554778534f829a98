"""SyncBatchNorm in one process (it is BatchNorm there), convert_sync_batchnorm, and the
differentiable all-reduce. Two ranks are tested under mpiexec in
tests/distributed/test_ddp_mpi.py."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.distributed.functional import all_reduce


def test_one_process_sync_batchnorm_is_batchnorm():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 5))
    sync, ref = nn.SyncBatchNorm(3).to(dtype=mg.float64), nn.BatchNorm1d(3).to(
        dtype=mg.float64)
    for m in (sync, ref):
        xt = mg.tensor(x, requires_grad=True)
        (m(xt) ** 3).sum().backward()
        m.grad_x = xt.grad.numpy()
    np.testing.assert_allclose(sync.grad_x, ref.grad_x, rtol=1e-12)
    for (name, a), (_, b) in zip(sync.state_dict().items(), ref.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), err_msg=name)
    assert nn.SyncBatchNorm(2)(mg.randn(3, 2, 2, 2, 2, 2)).shape == (3, 2, 2, 2, 2, 2)
    with pytest.raises(NotImplementedError, match="process groups"):
        nn.SyncBatchNorm(2, process_group=object())


def test_convert_sync_batchnorm_keeps_the_tensors_and_the_order():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(),
                          nn.Sequential(nn.Flatten(), nn.BatchNorm1d(8)))
    model.eval()
    weight, running = model[1].weight, model[3][1].running_mean
    out = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert out is model and isinstance(model[1], nn.SyncBatchNorm)
    assert isinstance(model[3][1], nn.SyncBatchNorm) and isinstance(model[2], nn.ReLU)
    assert model[1].weight is weight and model[3][1].running_mean is running
    assert not model[1].training
    single = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(4))
    assert isinstance(single, nn.SyncBatchNorm) and single.num_features == 4


def test_all_reduce_is_the_identity_in_one_process():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = all_reduce(x)
    assert y.tolist() == [1.0, 2.0] and y is not x
    (y * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_sync_batchnorm_matches_pytorch_in_eval():
    torch = pytest.importorskip("torch")
    mine, theirs = nn.SyncBatchNorm(3), torch.nn.SyncBatchNorm(3)
    for m in (mine, theirs):
        m.eval()
    x = np.random.default_rng(1).standard_normal((4, 3, 2)).astype(np.float32)
    np.testing.assert_allclose(mine(mg.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    assert sorted(mine.state_dict()) == sorted(theirs.state_dict())
