"""Fused optimizer steps (minigrad/optim/fused.py) against the pure update functions.

Three layers, strongest first:

* each kernel program, evaluated by NumPy, equals the pure ``*_update`` function it
  replaces — bit for bit on the CPU (same operations in the same order);
* the CUDA text of each program, translated back to Python and evaluated the same way,
  equals the program (the translation keeps the operator tree), and compiles with nvcc;
* ``fused_step`` (flat buffers, runs, state views) equals ``optimizer.step`` over several
  steps, on every device (bit for bit on CPU, to float32 rounding on CUDA), with
  checkpoints, skipped parameters, rebinding and GradScaler.
"""
import copy
import itertools
import re
import shutil

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad._backend import to_device
from minigrad.amp import GradScaler
from minigrad.optim import fused
from minigrad.optim.adam import adam_update
from minigrad.optim.adamw import adamw_update
from minigrad.optim.fused import (
    FlatParams,
    Program,
    adabelief_program,
    adam_program,
    fused_step,
    fused_zero_grad,
    lion_program,
    rule_for,
    sgd_program,
    sophia_hessian_ema_program,
    sophia_program,
)
from minigrad.optim.sophia import hessian_ema


def host(a):
    return np.asarray(to_device(a, "cpu"))


# --------------------------------------------------------------------------- programs


def all_programs():
    progs = [sophia_hessian_ema_program()]
    progs += [adam_program(*f) for f in itertools.product([False, True], repeat=4)]
    progs += [sgd_program(*f) for f in itertools.product([False, True], repeat=6)]
    progs += [adabelief_program(m, d, dc, b) for m, d, dc, b in itertools.product(
        [False, True], [False, True], [False, True], ["adam", "rect", "sgd"])]
    progs += [lion_program(*f) for f in itertools.product([False, True], repeat=2)]
    progs += [sophia_program(*f) for f in itertools.product([False, True], repeat=2)]
    return list(dict.fromkeys(progs))


def random_arrays(program, rng, n=257, dtype=np.float32):
    arrays = {}
    for name in program.inputs + program.inouts:
        a = rng.standard_normal(n).astype(dtype)
        if name in ("v", "v_max", "s", "h", "h_hat"):
            a = np.abs(a) + dtype(0.1)  # second moments are positive
        arrays[name] = a
    return arrays


def random_scalars(program, rng):
    return {name: float(rng.uniform(0.05, 0.95)) for name in program.scalars}


def c_to_python(line):
    """One generated CUDA statement back in Python syntax (types and casts removed)."""
    line = line.strip().rstrip(";")
    line = re.sub(r"^(float|double) ", "", line)
    line = re.sub(r"\(\((?:float|double)\)([^()]+)\)", r"(\1)", line)
    for py, (_, c) in fused._FUNCTIONS.items():
        line = line.replace(c + "(", py + "(")
    return line


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_text_computes_the_program(dtype):
    """The CUDA body, read back as Python, gives the program's NumPy results exactly."""
    rng = np.random.default_rng(0)
    funcs = {"__builtins__": {}, **{k: f for k, (f, _) in fused._FUNCTIONS.items()}}
    for program in all_programs():
        arrays = random_arrays(program, rng, dtype=np.dtype(dtype).type)
        scalars = random_scalars(program, rng)
        expected = copy.deepcopy(arrays)
        program.run_numpy(expected, scalars)
        env = {k: v.copy() for k, v in arrays.items()}
        env.update({k: np.dtype(dtype).type(v) for k, v in scalars.items()})
        lines = program.cuda_source(dtype).splitlines()
        assert len(lines) == len(program.body), program
        for line in lines:
            target, expr = c_to_python(line).split(" = ", 1)
            value = eval(expr, funcs, env)
            if target in program.inouts:
                env[target][...] = value
            else:
                env[target] = value
        for name in program.inouts:
            np.testing.assert_array_equal(env[name], expected[name], err_msg=program.name)


def test_program_validation():
    with pytest.raises(ValueError, match="used before it is defined"):
        Program("bad", ("g",), ("theta",), (), ("theta = theta - lr * g",))
    with pytest.raises(ValueError, match="unknown function"):
        Program("bad", ("g",), ("theta",), (), ("theta = exp(g)",))
    with pytest.raises(ValueError, match="only"):
        Program("bad", ("g",), ("theta",), (), ("theta = g ** 2",))
    with pytest.raises(ValueError, match="scalar"):
        Program("bad", ("g",), ("theta",), ("lr",), ("lr = g",))
    p = Program("ok", ("g",), ("theta",), ("lr",), ("theta = theta - lr * g",))
    with pytest.raises(TypeError, match="float32 or float64"):
        p.run({"theta": np.zeros(2, np.float16), "g": np.zeros(2, np.float16)}, {"lr": 1.0})
    with pytest.raises(ValueError, match="shape"):
        p.run({"theta": np.zeros(2, np.float32), "g": np.zeros(3, np.float32)}, {"lr": 1.0})


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not found")
def test_every_program_compiles(tmp_path):
    """Each program's ElementwiseKernel (its parameters, body and preamble, as
    ``Program.kernel`` passes them to CuPy) in a kernel shaped as CuPy builds it
    (tests/kernels/elementwise_cuda.py), compiled by nvcc for sm_80 in float and double."""
    from types import SimpleNamespace

    from tests.kernels.elementwise_cuda import kernel_source, nvcc_errors

    sources = []
    for program in all_programs():
        for dt in ("float32", "float64"):
            in_params, out_params = program.cuda_params(dt)
            k = SimpleNamespace(in_params=in_params, out_params=out_params,
                                operation=program.cuda_source(dt), name=program.name,
                                preamble=fused._PREAMBLE)
            sources.append(kernel_source(k, len(sources)))
    assert nvcc_errors(sources, tmp_path, options=("--fmad=false",)) == ""


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not found")
def test_every_program_runs_on_the_host_bitwise(tmp_path):
    """Each program's CUDA text (body, parameters, preamble), compiled as host C++ by g++
    without contraction into FMAs (the kernels' --fmad=false) and run on the CPU
    (tests/kernels/elementwise_cuda.py), gives the program's NumPy results bit for bit in
    float and double: the C++ the GPU compiles, not a reading of it, equals the update."""
    from types import SimpleNamespace

    from tests.kernels.elementwise_cuda import host_library, host_source, run_on_host

    programs = [(p, dt) for p in all_programs() for dt in ("float32", "float64")]
    sources = []
    for tag, (program, dt) in enumerate(programs):
        in_params, out_params = program.cuda_params(dt)
        k = SimpleNamespace(in_params=in_params, out_params=out_params,
                            operation=program.cuda_source(dt), name=program.name,
                            preamble=fused._PREAMBLE)
        sources.append(host_source(k, tag))
    lib = host_library(sources, tmp_path)
    rng = np.random.default_rng(1)
    for tag, (program, dt) in enumerate(programs):
        dtype = np.dtype(dt).type
        arrays = random_arrays(program, rng, dtype=dtype)
        first = arrays[program.inputs[0]]  # g (ĥ for Sophia's EMA)
        first[:3] = [0.0, -0.0, np.nan]  # sign(0), sign(−0), NaN through every operation
        scalars = random_scalars(program, rng)
        expected = copy.deepcopy(arrays)
        with np.errstate(invalid="ignore"):
            program.run_numpy(expected, scalars)
        n = first.size
        got = {k: v.copy() for k, v in arrays.items()}
        run_on_host(lib, tag, *[got[k] for k in program.inputs],
                    *[np.full(n, scalars[k], dtype) for k in program.scalars],
                    *[got[k] for k in program.inouts])
        for name in program.inouts:  # equal values, NaNs where NaNs, signed zeros alike
            a, b = got[name], expected[name]
            np.testing.assert_array_equal(a, b, err_msg=f"{program!r} {dt} {name}")
            keep = ~np.isnan(b)
            np.testing.assert_array_equal(np.signbit(a[keep]), np.signbit(b[keep]))


# ------------------------------------------------ programs vs the pure functions (direct)


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
def test_adam_program_is_adam_update_bitwise(decoupled, amsgrad, maximize):
    rng = np.random.default_rng(1)
    n = 1000
    theta = rng.standard_normal(n).astype(np.float32)
    m, v, v_max = (np.zeros(n, np.float32) for _ in range(3))
    ref = [a.copy() for a in (theta, m, v, v_max)]
    group = dict(lr=3e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05,
                 amsgrad=amsgrad, maximize=maximize)
    rule = fused._AdamWRule() if decoupled else fused._AdamRule()
    update = adamw_update if decoupled else adam_update
    for t in range(1, 6):
        g = (rng.standard_normal(n) * 10.0 ** rng.integers(-6, 2, n)).astype(np.float32)
        update(np, ref[0], g, ref[1], ref[2], t, lr=3e-3, beta1=0.9, beta2=0.999, eps=1e-8,
               weight_decay=0.05, amsgrad=amsgrad, v_max=ref[3], maximize=maximize)
        arrays = {"theta": theta, "g": g, "m": m, "v": v, "v_max": v_max}
        rule.program(group, t - 1, t).run(arrays, rule.scalars(group, t))
        for a, b in zip((theta, m, v, v_max), ref):
            np.testing.assert_array_equal(a, b)


def test_sophia_hessian_ema_program_is_hessian_ema():
    rng = np.random.default_rng(2)
    h = np.abs(rng.standard_normal(100)).astype(np.float32)
    h_ref = h.copy()
    h_hat = rng.standard_normal(100).astype(np.float32)
    hessian_ema(h_ref, h_hat, 0.99)
    sophia_hessian_ema_program().run({"h": h, "h_hat": h_hat},
                                     {"beta2": 0.99, "one_minus_beta2": 1 - 0.99})
    np.testing.assert_array_equal(h, h_ref)


# --------------------------------------------------------------- fused_step vs step

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    ("AdaBelief", dict(lr=1e-2)),
    ("AdaBelief", dict(lr=1e-2, weight_decay=0.1, weight_decouple=False, maximize=True)),
    ("AdaBelief", dict(lr=1e-2, weight_decay=0.1, betas=(0.9, 0.99), rectify=True)),
    ("Lion", dict(lr=1e-3)),
    ("Lion", dict(lr=1e-3, weight_decay=0.1, maximize=True)),
    ("Sophia", dict(lr=1e-2, k=2)),
    ("Sophia", dict(lr=1e-2, weight_decay=0.0, maximize=True, k=3)),
]
SHAPES = [(3, 4), (5,), (), (2, 3, 2)]
STEPS = 8


def make_params(device, dtype=mg.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [mg.tensor(rng.standard_normal(s).astype(dtype), device=device,
                      requires_grad=True) for s in SHAPES]


def set_grads(params, rng, skip=()):
    for i, p in enumerate(params):
        if i in skip:
            p.grad = None
            continue
        g = rng.standard_normal(p.shape).astype(p.dtype)
        p.grad = mg.tensor(g, device=p.device)


def make_opt(name, kwargs, params):
    kwargs = dict(kwargs)
    if name == "Sophia":
        return optim.Sophia(params, **kwargs)
    return getattr(optim, name)(params, **kwargs)


def maybe_hessian(opt, rng):
    if isinstance(opt, optim.Sophia) and opt.hessian_due:
        hats = [np.abs(rng.standard_normal(p.shape)).astype(np.float32) for p in opt._params()]
        opt.update_hessian([to_device(h, p.device) for h, p in zip(hats, opt._params())])


def assert_same(a, b, device):
    a, b = host(a), host(b)
    if device == "cpu":
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)


def run_pair(name, kwargs, device, steps=STEPS, skip_at=None):
    """Drive a reference optimizer (step) and a fused one (fused_step) side by side."""
    ref_params, fus_params = make_params(device), make_params(device)
    ref, fus = make_opt(name, kwargs, ref_params), make_opt(name, kwargs, fus_params)
    rng_r, rng_f = np.random.default_rng(5), np.random.default_rng(5)
    for t in range(steps):
        skip = skip_at(t) if skip_at else ()
        set_grads(ref_params, rng_r, skip)
        set_grads(fus_params, rng_f, skip)
        maybe_hessian(ref, rng_r)
        maybe_hessian(fus, rng_f)
        ref.step() if name != "Sophia" else optim.Optimizer.step(ref)
        fused_step(fus)
        for p, q in zip(ref_params, fus_params):
            assert_same(p.data, q.data, device)
    return ref, fus, ref_params, fus_params


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_fused_step_equals_step(name, kwargs, device):
    ref, fus, ref_params, fus_params = run_pair(name, kwargs, device)
    for p, q in zip(ref_params, fus_params):
        sr, sf = ref.state[p], fus.state[q]
        assert sr["step"] == sf["step"] == STEPS
        for key, value in sr.items():
            if hasattr(value, "shape"):
                assert_same(value, sf[key], device)


def test_parameters_and_state_are_views_of_flat_buffers():
    params = make_params("cpu")
    opt = optim.Adam(params, lr=1e-2)
    set_grads(params, np.random.default_rng(0))
    fused_step(opt)
    flat = opt._fused_flat[0]
    for p in params:
        assert p.data.base is flat.theta
        assert opt.state[p]["m"].base is flat.buffer("m")
        assert opt.state[p]["v"].base is flat.buffer("v")
        assert p.grad.data.base is flat.grad  # rebound: the next backward can write in place


@pytest.mark.parametrize("name", ["Adam", "SGD"])
def test_parameters_without_grad_are_skipped(name, device):
    kwargs = dict(lr=1e-2) if name == "Adam" else dict(lr=0.1, momentum=0.9)
    # parameter 1 has no gradient on even steps, parameter 3 never: runs split around them
    ref, fus, ref_params, fus_params = run_pair(
        name, kwargs, device, skip_at=lambda t: (1, 3) if t % 2 == 0 else (3,))
    assert 3 not in [i for i, p in enumerate(fus_params) if p in fus.state]
    assert fus.state[fus_params[1]]["step"] == STEPS // 2


def test_state_dict_round_trip_continues_identically():
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    pa, pb = make_params("cpu"), make_params("cpu")
    a, b = optim.AdamW(pa, lr=1e-2, amsgrad=True), optim.AdamW(pb, lr=1e-2, amsgrad=True)
    for _ in range(3):
        set_grads(pa, rng_a)
        set_grads(pb, rng_b)
        fused_step(a)
        fused_step(b)
    snapshot = copy.deepcopy(b.state_dict())
    params_c = [mg.tensor(p.data.copy(), requires_grad=True) for p in pb]
    c = optim.AdamW(params_c, lr=1e-2, amsgrad=True)
    c.load_state_dict(snapshot)
    rng_c = copy.deepcopy(rng_b)
    for _ in range(3):
        set_grads(pa, rng_a)
        set_grads(params_c, rng_c)
        fused_step(a)
        fused_step(c)
    for p, q in zip(pa, params_c):
        np.testing.assert_array_equal(p.data, q.data)
        np.testing.assert_array_equal(a.state[p]["v_max"], c.state[q]["v_max"])


def test_load_state_dict_into_a_packed_optimizer_is_copied_in():
    params = make_params("cpu")
    opt = optim.Adam(params, lr=1e-2)
    set_grads(params, np.random.default_rng(0))
    fused_step(opt)
    saved = opt.state_dict()
    set_grads(params, np.random.default_rng(1))
    fused_step(opt)
    opt.load_state_dict(saved)  # replaces the state arrays: fused_step must adopt them
    ref_params = [mg.tensor(p.data.copy(), requires_grad=True) for p in params]
    ref = optim.Adam(ref_params, lr=1e-2)
    ref.load_state_dict(saved)
    set_grads(params, np.random.default_rng(2))
    set_grads(ref_params, np.random.default_rng(2))
    fused_step(opt)
    ref.step()
    for p, q in zip(params, ref_params):
        np.testing.assert_array_equal(p.data, q.data)
        assert opt.state[p]["m"].base is opt._fused_flat[0].buffer("m")


def test_rebound_parameter_data_is_copied_in():
    params = make_params("cpu")
    opt = optim.SGD(params, lr=0.5)
    set_grads(params, np.random.default_rng(0))
    fused_step(opt)
    with mg.no_grad():
        params[0].data = np.full(params[0].shape, 7.0, np.float32)  # e.g. a loaded checkpoint
    params[0].grad = mg.ones(*params[0].shape)
    fused_step(opt)
    np.testing.assert_array_equal(params[0].data, np.full(params[0].shape, 6.5, np.float32))
    assert params[0].data.base is opt._fused_flat[0].theta


def test_mixed_dtypes_take_the_per_parameter_path():
    p32 = mg.tensor([1.0, 2.0], requires_grad=True)
    p64 = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.Adam([p32, p64], lr=0.1)
    for p in (p32, p64):
        p.grad = mg.tensor(np.ones(2, p.dtype))
    fused_step(opt)
    assert opt._fused_flat == {}
    assert np.allclose(p32.data, [0.9, 1.9]) and np.allclose(p64.data, [0.9, 1.9])


def test_unsupported_optimizers_raise():
    w = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="RMSprop has no fused update"):
        rule_for(optim.RMSprop([w]))

    class MyAdam(optim.Adam):
        def _update(self, theta, g, state, group):
            pass

    with pytest.raises(TypeError, match="MyAdam has no fused update"):
        rule_for(MyAdam([w]))

    class PlainSubclass(optim.Adam):
        pass

    assert isinstance(rule_for(PlainSubclass([w])), fused._AdamRule)


def test_zero_grad_keeps_gradients_in_the_flat_buffer():
    rng = np.random.default_rng(0)
    W = mg.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    b = mg.tensor(np.zeros(3, np.float32), requires_grad=True)
    x = mg.tensor(rng.standard_normal((8, 4)).astype(np.float32))
    ref_W, ref_b = (mg.tensor(t.data.copy(), requires_grad=True) for t in (W, b))
    opt, ref = optim.SGD([W, b], lr=0.1, momentum=0.9), optim.SGD([ref_W, ref_b], lr=0.1,
                                                                   momentum=0.9)
    for _ in range(3):
        fused_zero_grad(opt, set_to_none=False)
        ref.zero_grad()
        ((x @ W + b) ** 2).mean().backward()
        ((x @ ref_W + ref_b) ** 2).mean().backward()
        fused_step(opt)
        ref.step()
        flat = opt._fused_flat[0]
        assert W.grad.data.base is flat.grad and b.grad.data.base is flat.grad
    np.testing.assert_allclose(W.data, ref_W.data, rtol=1e-6)
    np.testing.assert_allclose(b.data, ref_b.data, rtol=1e-6, atol=1e-7)


def test_grad_scaler_with_fused_step():
    """A skipped step leaves the flat buffers alone; a clean one matches the unscaled run."""
    params = make_params("cpu")
    ref_params = make_params("cpu")
    opt, ref = optim.Adam(params, lr=1e-2), optim.Adam(ref_params, lr=1e-2)
    opt.step = lambda closure=None: fused_step(opt, closure)  # the proposed fused=True
    scaler = GradScaler(init_scale=2.0**8)
    rng = np.random.default_rng(0)
    for t in range(4):
        grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
        if t == 1:
            grads[0].reshape(-1)[0] = np.inf
        scaler.scale(mg.tensor(0.0))  # what scaler.scale(loss).backward() would do to S
        for p, q, g in zip(params, ref_params, grads):
            p.grad = mg.tensor(g * np.float32(scaler.get_scale()))
            q.grad = mg.tensor(g)
        before = [p.data.copy() for p in params]
        scaler.step(opt)
        scaler.update()
        if t == 1:
            for p, b0 in zip(params, before):
                np.testing.assert_array_equal(p.data, b0)
        else:
            ref.step()
        for p, q in zip(params, ref_params):
            np.testing.assert_array_equal(p.data, q.data)
    assert scaler.get_scale() == 2.0**7


def test_sophia_fused_hessian_update_matches():
    params = make_params("cpu")
    opt = optim.Sophia(params, lr=1e-2)
    rng = np.random.default_rng(0)
    hats = [np.abs(rng.standard_normal(p.shape)).astype(np.float32) for p in params]
    ref = [np.zeros(p.shape, np.float32) for p in params]
    for h, hh in zip(ref, hats):
        hessian_ema(h, hh, 0.99)
    fused.sophia_update_hessian_fused(opt, hats)
    for p, h in zip(params, ref):
        np.testing.assert_array_equal(opt.state[p]["h"], h)


def test_flat_params_refuses_mixed_groups():
    a = mg.tensor([1.0], requires_grad=True)
    b = mg.tensor(np.array([1.0]), requires_grad=True)
    with pytest.raises(ValueError, match="one dtype"):
        FlatParams([a, b])
    with pytest.raises(ValueError, match="float32 or float64"):
        FlatParams([mg.tensor([1.0], dtype=mg.float16)])


def test_sparse_gradients_take_the_class_path():
    """A sparse gradient goes to the optimizer's own per-parameter rule: for Adam that is
    the same error as without fusion."""

    class FakeSparse:
        is_sparse = True

    params = make_params("cpu")
    opt = optim.Adam(params, lr=1e-2)
    set_grads(params, np.random.default_rng(0))
    params[1].grad = FakeSparse()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        fused_step(opt)
