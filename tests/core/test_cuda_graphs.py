"""CUDA graphs (minigrad.cuda_graphs): the capture's bookkeeping with a stand-in CuPy on
any machine (the allocator and the stream swapped in and restored, failures ending the
capture, refusals inside a capture), and on a GPU the real thing: a replayed forward +
backward equals the eager one, step after step."""
import math
import types

import numpy as np
import pytest

import minigrad as mg
from minigrad import cuda_graphs
from minigrad._backend import DeviceError, cuda_available


class _Stream:
    def __init__(self, log, fail_end=None):
        self.log, self.fail_end, self.capturing = log, fail_end, False

    def synchronize(self):
        self.log.append("sync")

    def __enter__(self):
        self.log.append("enter")
        return self

    def __exit__(self, *exc):
        self.log.append("exit")

    def begin_capture(self):
        self.capturing = True
        self.log.append("begin")

    def end_capture(self):
        self.capturing = False
        self.log.append("end")
        if self.fail_end:
            raise RuntimeError(self.fail_end)
        return _Graph(self.log)


class _Graph:
    def __init__(self, log):
        self.log = log

    def launch(self, stream=None):
        self.log.append("launch")


class _Pool:
    def malloc(self, n):  # pragma: no cover - never called by the bookkeeping
        raise AssertionError


def _fake_cupy(monkeypatch, fail_end=None):
    log = []
    state = {"allocator": "default"}
    streams = []

    def make_stream(non_blocking=False):
        s = _Stream(log, fail_end)
        streams.append(s)
        return s

    cuda = types.SimpleNamespace(
        get_current_stream=lambda: _Stream(log), MemoryPool=_Pool, Stream=make_stream,
        get_allocator=lambda: state["allocator"],
        set_allocator=lambda a: state.__setitem__("allocator", a))
    fake = types.SimpleNamespace(cuda=cuda)
    monkeypatch.setattr(cuda_graphs, "cupy", lambda: fake)
    monkeypatch.setattr(cuda_graphs, "cuda_available", lambda: True)
    return log, state


def test_capture_swaps_the_allocator_and_stream_and_restores_them(monkeypatch):
    log, state = _fake_cupy(monkeypatch)
    g = mg.cuda.CUDAGraph()
    with mg.cuda.graph(g):
        assert mg.cuda.is_current_stream_capturing()
        # the private pool's malloc is the allocator while capturing
        assert state["allocator"] == g.pool().malloc
    assert not mg.cuda.is_current_stream_capturing()
    assert state["allocator"] == "default"
    assert log == ["sync", "enter", "begin", "end", "exit"]
    g.replay()
    g.replay()
    assert log[-2:] == ["launch", "launch"]


def test_failed_body_ends_the_capture_and_says_why(monkeypatch):
    log, state = _fake_cupy(monkeypatch)
    g = mg.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="waits for the GPU"):
        with mg.cuda.graph(g):
            raise RuntimeError("cudaErrorStreamCaptureUnsupported: operation not permitted "
                               "when stream is capturing")
    assert not mg.cuda.is_current_stream_capturing() and state["allocator"] == "default"
    assert log[-2:] == ["end", "exit"]
    with pytest.raises(RuntimeError, match="nothing has been captured"):
        g.replay()
    with pytest.raises(ZeroDivisionError):  # other errors pass through unchanged
        with mg.cuda.graph(mg.cuda.CUDAGraph()):
            raise ZeroDivisionError("an error of the body itself")
    assert not mg.cuda.is_current_stream_capturing() and state["allocator"] == "default"


def test_a_refused_cublas_call_is_named(monkeypatch):
    _, state = _fake_cupy(monkeypatch)
    with pytest.raises(RuntimeError, match="CuPy refuses to call cuBLAS"):
        with mg.cuda.graph(mg.cuda.CUDAGraph()):
            raise NotImplementedError("calling cuBLAS API during stream capture is currently "
                                      "unsupported")
    assert not mg.cuda.is_current_stream_capturing() and state["allocator"] == "default"


def test_an_invalidated_capture_is_restored_even_when_ending_it_fails(monkeypatch):
    _, state = _fake_cupy(monkeypatch, fail_end="cudaErrorStreamCaptureInvalidated")
    g = mg.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="CUDA graph capture failed"):
        with mg.cuda.graph(g):
            raise RuntimeError("cudaErrorStreamCaptureInvalidated")
    assert not mg.cuda.is_current_stream_capturing() and state["allocator"] == "default"


def test_captures_do_not_nest_and_a_graph_is_captured_once(monkeypatch):
    _fake_cupy(monkeypatch)
    g = mg.cuda.CUDAGraph()
    with mg.cuda.graph(g):
        with pytest.raises(RuntimeError, match="do not nest"):
            mg.cuda.CUDAGraph().capture_begin()
    with pytest.raises(RuntimeError, match="reset"):
        g.capture_begin()
    with pytest.raises(RuntimeError, match="not capturing"):
        g.capture_end()
    g.reset()
    with mg.cuda.graph(g, pool=g.pool()):  # a shared pool is used as given
        pass


def test_random_draws_refuse_inside_a_capture(monkeypatch):
    _fake_cupy(monkeypatch)
    from minigrad.random import Philox

    gen = Philox(0, xp=np)
    with mg.cuda.graph(mg.cuda.CUDAGraph()):
        with pytest.raises(RuntimeError, match="reuse the same numbers"):
            gen.random(4)
    assert gen.random(4).shape == (4,)


def test_grad_scaling_inside_a_capture_reads_the_scale_of_each_replay(monkeypatch):
    """Inside a capture GradScaler.scale multiplies by a device copy of S, which every later
    change of S rewrites in place: a replay (here: the recorded backward run after S has
    changed) uses the S of its moment, not the S of the capture."""
    _fake_cupy(monkeypatch)
    scaler = mg.amp.GradScaler(growth_interval=1)
    w = mg.tensor(2.0, requires_grad=True)
    with mg.cuda.graph(mg.cuda.CUDAGraph()):  # no copy of S yet: a fill would be recorded
        with pytest.raises(RuntimeError, match="warm-up step"):
            scaler.scale(w * 1)
    scaler.scale(w * 1)  # the warm-up step's scale() makes the copy
    with mg.cuda.graph(mg.cuda.CUDAGraph()):
        scaled = scaler.scale(w * 1)
        assert mg.amp.GradScaler(enabled=False).scale(w) is w
    assert scaled.item() == 2.0 * 2 ** 16
    buffer = scaler._device_scale(w)
    scaler.update(new_scale=8.0)
    assert float(buffer) == 8.0
    scaled.backward()
    assert w.grad.item() == 8.0  # d(w·S)/dw with the S of the backward's run
    scaler._update_scale(found_inf=True)  # backoff: S · 0.5
    scaler._update_scale(found_inf=False)  # growth after growth_interval = 1 clean step
    assert float(buffer) == scaler.get_scale() == 8.0
    scaler.load_state_dict({**scaler.state_dict(), "scale": 32.0})
    assert float(buffer) == 32.0
    assert scaler.scale(w * 1).item() == 64.0  # outside a capture: the host float


@pytest.mark.skipif(cuda_available(), reason="checks the error without a GPU")
def test_without_a_gpu_capture_names_what_is_missing():
    with pytest.raises(DeviceError, match="CUDA graphs need CuPy and a CUDA device"):
        mg.cuda.CUDAGraph().capture_begin()


# ---------------------------------------------------------------------------- on a GPU


def _model(kind):
    nn = mg.nn
    if kind == "mlp":
        return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 5))
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                         nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a CUDA device")
@pytest.mark.parametrize("kind", ["mlp", "convnet"])
def test_replayed_step_equals_the_eager_step(kind):
    """Forward + backward captured once, replayed with new data copied into the static
    input each step, Adam eager: the weights and losses follow the eager run."""
    rng = np.random.default_rng(0)
    shape = (16, 12) if kind == "mlp" else (16, 3, 9, 9)
    batches = [(rng.standard_normal(shape).astype(np.float32), rng.integers(0, 5, 16))
               for _ in range(6)]
    from minigrad.ops.fused import fused_cross_entropy  # no host checks: capturable

    def setup():
        mg.manual_seed(0)
        model = _model(kind).to("cuda")
        return model, mg.optim.Adam(model.parameters(), lr=1e-2, fused=True)

    model, opt = setup()
    eager = []
    for x, y in batches:
        opt.zero_grad(set_to_none=False)
        loss = fused_cross_entropy(model(mg.tensor(x, device="cuda")),
                                   mg.tensor(y, device="cuda"))
        loss.backward()
        opt.step()
        eager.append(loss.item())
    eager_weights = [p.detach().cpu().numpy() for p in model.parameters()]

    model, opt = setup()
    X = mg.tensor(batches[0][0], device="cuda")
    Y = mg.tensor(batches[0][1], device="cuda")

    def body():
        opt.zero_grad(set_to_none=False)
        loss = fused_cross_entropy(model(X), Y)
        loss.backward()
        return loss

    graphed = []
    for x, y in batches[:2]:  # warm-up steps, eager
        X.data[...] = mg.tensor(x, device="cuda").data
        Y.data[...] = mg.tensor(y, device="cuda").data
        loss = body()
        opt.step()
        graphed.append(loss.item())
    g = mg.cuda.CUDAGraph()
    with mg.cuda.graph(g):
        static_loss = body()
    for x, y in batches[2:]:
        X.data[...] = mg.tensor(x, device="cuda").data
        Y.data[...] = mg.tensor(y, device="cuda").data
        g.replay()
        opt.step()
        graphed.append(static_loss.item())
    # Norm-wise: cuBLAS may pick another algorithm under capture (rounding differences).
    np.testing.assert_allclose(graphed, eager, rtol=1e-4)
    assert len(set(graphed[2:])) > 1  # the replays computed new losses, not one frozen value
    for p, w in zip(model.parameters(), eager_weights):
        err = np.linalg.norm(p.detach().cpu().numpy() - w) / np.linalg.norm(w)
        assert err < 1e-4, (p.shape, err)


PLANTED = {3, 6}  # batches scaled past float16's range: their gradients are inf


def _scaled_steps(device, graphed, steps=10):
    """Ten fp16 autocast steps of the convnet with a GradScaler (S starts at 2^8 and grows
    after 2 clean steps); batches PLANTED overflow. With ``graphed`` the forward and the
    scaled backward are captured once at step 2 (two eager warm-up steps) and replayed,
    the scaler's step and update eager. Returns (loss, scaled gradient norm, S after the
    update) per step."""
    from minigrad.amp import GradScaler, autocast
    from minigrad.ops.fused import fused_cross_entropy

    rng = np.random.default_rng(1)
    batches = [(rng.standard_normal((16, 3, 9, 9)).astype(np.float32)
                * (1e5 if i in PLANTED else 1), rng.integers(0, 5, 16)) for i in range(steps)]
    X = mg.tensor(batches[0][0], device=device)
    Y = mg.tensor(batches[0][1], device=device)
    mg.manual_seed(0)
    model = _model("convnet").to(device)
    opt = mg.optim.Adam(model.parameters(), lr=1e-2, fused=device == "cuda")
    scaler = GradScaler(device, init_scale=2.0 ** 8, growth_interval=2)

    def body():
        opt.zero_grad(set_to_none=False)
        with autocast(device):
            loss = fused_cross_entropy(model(X), Y)
        scaler.scale(loss).backward()
        return loss

    out, graph, static_loss = [], None, None
    for i, (x, y) in enumerate(batches):
        X.data[...] = mg.tensor(x, device=device).data
        Y.data[...] = mg.tensor(y, device=device).data
        if graphed and i == 2:
            graph = mg.cuda.CUDAGraph()
            with mg.cuda.graph(graph):
                static_loss = body()
        if graph is not None:
            graph.replay()
            loss = static_loss
        else:
            loss = body()
        gnorm = math.sqrt(sum(float((p.grad.float() ** 2).sum()) for p in model.parameters()))
        scaler.step(opt)
        scaler.update()
        out.append((loss.item(), gnorm, scaler.get_scale()))
    return out


def _expected_scales(steps=10, scale=2.0 ** 8, growth_interval=2):
    """GradScaler's rule on the planted overflows: ×0.5 on an inf step, ×2 after
    ``growth_interval`` clean steps in a row."""
    out, clean = [], 0
    for i in range(steps):
        if i in PLANTED:
            scale, clean = scale * 0.5, 0
        else:
            clean += 1
            if clean == growth_interval:
                scale, clean = scale * 2, 0
        out.append(scale)
    return out


def test_the_planted_overflows_give_the_hand_computed_scale_trajectory_on_the_cpu():
    """The eager run that the GPU test below replays, on the CPU: S follows the rule on the
    planted overflows alone (no other step overflows at these scales), and S changes
    while the GPU run replays (steps 2 and later)."""
    eager = _scaled_steps("cpu", graphed=False)
    assert [s for _, _, s in eager] == _expected_scales()
    assert all(math.isfinite(g) != (i in PLANTED) for i, (_, g, _) in enumerate(eager))
    assert len({s for _, _, s in eager[2:]}) > 1


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a CUDA device")
def test_replayed_fp16_step_with_a_grad_scaler_follows_the_eager_one():
    """The autocast forward and the scaled backward captured once; after each replay the
    scaler's step (unscale, inf check, Adam) and update run eagerly. Planted overflows make
    S back off and grow again during the replays: each replay must scale by the S of its
    moment (read from S's device copy), so its scaled gradients have the eager run's norm
    (a replay that kept the S of the capture would be off by 2x), and both runs follow the
    hand-computed trajectory. The overflows are planted (inputs past float16's range)
    rather than found at the edge of the range: on an H200 (2026-11-27) a version that
    let S settle where the gradients just overflow saw the two runs agree for 8 steps
    (backoffs during replays included) and part at step 8, most likely where rounding
    (cuBLAS may pick another algorithm under capture) tipped one step over the edge: not
    confirmed, since no GPU time was left to look."""
    eager, graphed = _scaled_steps("cuda", False), _scaled_steps("cuda", True)
    assert [s for _, _, s in eager] == [s for _, _, s in graphed] == _expected_scales()
    np.testing.assert_allclose([g for _, g, _ in graphed], [g for _, g, _ in eager], rtol=1e-2)
    np.testing.assert_allclose([v for v, _, _ in graphed], [v for v, _, _ in eager], rtol=1e-2)


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a CUDA device")
def test_a_call_that_waits_for_the_gpu_ends_the_capture_cleanly():
    x = mg.randn(8, device="cuda")
    import cupy

    allocator = cupy.cuda.get_allocator()
    with pytest.raises(RuntimeError, match="CUDA graph capture failed"):
        with mg.cuda.graph(mg.cuda.CUDAGraph()):
            (x * 2).sum().item()
    assert not mg.cuda.is_current_stream_capturing()
    assert cupy.cuda.get_allocator() == allocator
    assert (x * 2).sum().item() == pytest.approx(2 * float(x.sum().item()), rel=1e-5)
    with pytest.raises(RuntimeError, match="reuse the same numbers"):
        with mg.cuda.graph(mg.cuda.CUDAGraph()):
            mg.nn.functional.dropout(x, 0.5, training=True)


def test_max_pool_takes_its_nan_rule_unasked_while_capturing(monkeypatch):
    """Max pooling asks the host whether its input holds a NaN (a sync a capture forbids);
    while capturing it takes the NaN rule without asking: the same values and indices."""
    F = mg.nn.functional
    rng = np.random.default_rng(0)
    for data in (rng.standard_normal((2, 3, 6, 6)),
                 np.where(rng.random((2, 3, 6, 6)) < 0.1, np.nan, 1.0)):
        x = mg.tensor(data)
        want, want_idx = F.max_pool2d(x, 2, return_indices=True)
        monkeypatch.setattr(cuda_graphs, "_capturing", [object()])
        got, got_idx = F.max_pool2d(x, 2, return_indices=True)
        monkeypatch.setattr(cuda_graphs, "_capturing", [None])
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        np.testing.assert_array_equal(got_idx.numpy(), want_idx.numpy())
