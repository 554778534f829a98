"""Learning-rate schedules: every sequence against its closed form, state_dict round trips,
chaining, momentum cycling, and (when torch imports) against torch.optim.lr_scheduler.

The schedulers only touch ``optimizer.param_groups``, so a tiny stand-in optimizer is
enough here; the tests do not depend on any minigrad optimizer.
"""
import copy
import math
import pickle

import pytest

from minigrad.optim import lr_scheduler as S


class FakeOptimizer:
    """The part of an optimizer a scheduler sees: param_groups and defaults."""

    def __init__(self, lr=0.1, groups=1, **hyper):
        self.defaults = dict(lr=lr, **hyper)
        self.param_groups = [dict(lr=lr * (i + 1), **hyper) for i in range(groups)]

    def step(self):
        pass


def lrs_of(sched, n, group=0):
    """lr used at steps t = 0..n-1 (the initial value, then one value per step())."""
    out = [sched.get_last_lr()[group]]
    for _ in range(n - 1):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr()[group])
    return out


def close(a, b, rel=1e-10, abs_=1e-14):
    assert len(a) == len(b)
    for t, (x, y) in enumerate(zip(a, b)):
        assert math.isclose(x, y, rel_tol=rel, abs_tol=abs_), f"t={t}: {x} != {y}"


# ----------------------------------------------------------------------------- closed forms
N = 60
B = 0.1


def test_step_lr():
    s = S.StepLR(FakeOptimizer(B), step_size=7, gamma=0.5)
    close(lrs_of(s, N), [B * 0.5 ** (t // 7) for t in range(N)])


def test_multistep_lr_with_repeated_milestone():
    ms = [5, 12, 12, 40]
    s = S.MultiStepLR(FakeOptimizer(B), milestones=ms, gamma=0.3)
    close(lrs_of(s, N), [B * 0.3 ** sum(m <= t for m in ms) for t in range(N)])


def test_exponential_lr():
    s = S.ExponentialLR(FakeOptimizer(B), gamma=0.93)
    close(lrs_of(s, N), [B * 0.93**t for t in range(N)], rel=1e-9)


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_polynomial_lr(power):
    T = 25
    s = S.PolynomialLR(FakeOptimizer(B), total_iters=T, power=power)
    close(lrs_of(s, N), [B * (1 - min(t, T) / T) ** power for t in range(N)], rel=1e-9)


@pytest.mark.parametrize("start,end", [(0.1, 1.0), (1.0, 0.2), (0.5, 0.5)])
def test_linear_lr(start, end):
    T = 13
    s = S.LinearLR(FakeOptimizer(B), start_factor=start, end_factor=end, total_iters=T)
    close(lrs_of(s, N), [B * (start + (end - start) * min(t, T) / T) for t in range(N)], rel=1e-9)


def test_constant_lr():
    s = S.ConstantLR(FakeOptimizer(B), factor=0.25, total_iters=4)
    close(lrs_of(s, N), [B * (0.25 if t < 4 else 1.0) for t in range(N)])


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing_lr_recursive_matches_closed_form(eta_min):
    T = 17
    s = S.CosineAnnealingLR(FakeOptimizer(B), T_max=T, eta_min=eta_min)
    # past T_max PyTorch's recursive form keeps following the cosine (period 2T)
    closed = [eta_min + 0.5 * (B - eta_min) * (1 + math.cos(math.pi * t / T))
              for t in range(3 * T)]
    close(lrs_of(s, 3 * T), closed, rel=1e-8, abs_=1e-12)


@pytest.mark.parametrize("T_0,T_mult", [(5, 1), (3, 2), (2, 3)])
def test_cosine_warm_restarts(T_0, T_mult):
    eta_min = 0.001

    def closed(t):
        if T_mult == 1:
            T_i, T_cur = T_0, t % T_0
        else:
            n = int(math.log(t / T_0 * (T_mult - 1) + 1, T_mult))
            T_i = T_0 * T_mult**n
            T_cur = t - T_0 * (T_mult**n - 1) / (T_mult - 1)
        return eta_min + 0.5 * (B - eta_min) * (1 + math.cos(math.pi * T_cur / T_i))

    s = S.CosineAnnealingWarmRestarts(FakeOptimizer(B), T_0=T_0, T_mult=T_mult, eta_min=eta_min)
    close(lrs_of(s, N), [closed(t) for t in range(N)], rel=1e-9)


def test_cosine_warm_restarts_fractional_epochs():
    """SGDR steps within an epoch: step(epoch + i/iters); restarts land at T_0, T_0(1+T_mult)."""
    s = S.CosineAnnealingWarmRestarts(FakeOptimizer(B), T_0=2, T_mult=2)
    iters = 4
    for epoch in range(6):
        for i in range(iters):
            e = epoch + i / iters
            s.step(e) if e > 0 else None
            if e < 2:
                T_cur, T_i = e, 2
            else:
                T_cur, T_i = e - 2, 4
            want = 0.5 * B * (1 + math.cos(math.pi * T_cur / T_i))
            assert math.isclose(s.get_last_lr()[0], want, rel_tol=1e-12, abs_tol=1e-15), e
            assert s.last_epoch == math.floor(e)


def test_lambda_and_multiplicative_lr():
    s = S.LambdaLR(FakeOptimizer(B), lr_lambda=lambda t: 1 / (1 + t) ** 0.5)
    close(lrs_of(s, N), [B / (1 + t) ** 0.5 for t in range(N)])
    s = S.MultiplicativeLR(FakeOptimizer(B), lr_lambda=lambda t: 0.95 if t % 2 else 1.01)
    want, lr = [], B
    for t in range(N):
        if t > 0:
            lr *= 0.95 if t % 2 else 1.01
        want.append(lr)
    close(lrs_of(s, N), want, rel=1e-12)


def test_lambda_lr_one_lambda_per_group():
    opt = FakeOptimizer(B, groups=2)
    s = S.LambdaLR(opt, [lambda t: 0.5**t, lambda t: 1.0 + t])
    for _ in range(5):
        s.step()
    close(s.get_last_lr(), [B * 0.5**5, 2 * B * 6.0])
    with pytest.raises(ValueError, match="one value per param group"):
        S.LambdaLR(FakeOptimizer(B, groups=2), [lambda t: 1.0])


@pytest.mark.parametrize("k", [0.0, 0.1, 2.5])
def test_inverse_time_lr(k):
    s = S.InverseTimeLR(FakeOptimizer(B), decay=k)
    close(lrs_of(s, N), [B / (1 + k * t) for t in range(N)], rel=1e-9)


def test_inverse_time_lr_closed_form_via_epoch():
    s = S.InverseTimeLR(FakeOptimizer(B), decay=0.5)
    with pytest.warns(UserWarning, match="deprecated"):
        s.step(10)
    assert math.isclose(s.get_last_lr()[0], B / 6)


def _cyclic_closed(t, base, peak, up, down, mode, gamma, mom=(0.8, 0.9)):
    total = up + down
    cycle = math.floor(1 + t / total)
    x = 1 + t / total - cycle
    h = x / (up / total) if x <= up / total else (x - 1) / (up / total - 1)
    sigma = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1), "exp_range": gamma**t}[mode]
    return base + (peak - base) * h * sigma, mom[1] - (mom[1] - mom[0]) * h * sigma


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize("up,down", [(5, 5), (4, 9)])
def test_cyclic_lr_and_momentum(mode, up, down):
    opt = FakeOptimizer(B, momentum=0.9)
    s = S.CyclicLR(opt, base_lr=0.01, max_lr=0.2, step_size_up=up, step_size_down=down,
                   mode=mode, gamma=0.97)
    for t in range(N):
        lr, mom = _cyclic_closed(t, 0.01, 0.2, up, down, mode, 0.97)
        assert math.isclose(s.get_last_lr()[0], lr, rel_tol=1e-9), (t, mode)
        assert math.isclose(opt.param_groups[0]["momentum"], mom, rel_tol=1e-9), t
        s.step()


def test_cyclic_lr_cycles_beta1_for_adam_like():
    opt = FakeOptimizer(1e-3, betas=(0.9, 0.999))
    s = S.CyclicLR(opt, base_lr=1e-4, max_lr=1e-2, step_size_up=3, base_momentum=0.85,
                   max_momentum=0.95)
    seen = []
    for _ in range(7):
        seen.append(opt.param_groups[0]["betas"])
        s.step()
    assert [b[1] for b in seen] == [0.999] * 7
    assert math.isclose(seen[0][0], 0.95) and math.isclose(seen[3][0], 0.85)
    assert math.isclose(seen[6][0], 0.95)


def test_cyclic_lr_needs_momentum():
    with pytest.raises(ValueError, match="momentum or beta1"):
        S.CyclicLR(FakeOptimizer(B), 0.01, 0.1)
    S.CyclicLR(FakeOptimizer(B), 0.01, 0.1, cycle_momentum=False)


def _one_cycle_closed(t, N, max_lr, pct, div, fdiv, strategy, three, mom=(0.85, 0.95)):
    init, lo = max_lr / div, max_lr / div / fdiv
    bm, mm = mom
    if strategy == "cos":
        def ann(a, b, u):
            return b + (a - b) * (1 + math.cos(math.pi * u)) / 2
    else:
        def ann(a, b, u):
            return a + (b - a) * u
    if three:
        phases = [(pct * N - 1, init, max_lr, mm, bm), (2 * pct * N - 2, max_lr, init, bm, mm),
                  (N - 1, init, lo, mm, mm)]
    else:
        phases = [(pct * N - 1, init, max_lr, mm, bm), (N - 1, max_lr, lo, bm, mm)]
    start = 0.0
    for i, (end, a, b, ma, mb) in enumerate(phases):
        if t <= end or i == len(phases) - 1:
            u = (t - start) / (end - start)
            return ann(a, b, u), ann(ma, mb, u)
        start = end


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_lr_and_momentum(strategy, three_phase):
    total = 50
    opt = FakeOptimizer(B, momentum=0.9)
    s = S.OneCycleLR(opt, max_lr=0.5, total_steps=total, pct_start=0.25,
                     anneal_strategy=strategy, three_phase=three_phase)
    for t in range(total):
        lr, mom = _one_cycle_closed(t, total, 0.5, 0.25, 25.0, 1e4, strategy, three_phase)
        assert math.isclose(s.get_last_lr()[0], lr, rel_tol=1e-9), t
        assert math.isclose(opt.param_groups[0]["momentum"], mom, rel_tol=1e-9), t
        s.step() if t < total - 1 else None
    # ends at min_lr with momentum back at max_momentum
    assert math.isclose(s.get_last_lr()[0], 0.5 / 25 / 1e4, rel_tol=1e-9)
    assert math.isclose(opt.param_groups[0]["momentum"], 0.95)
    s.step()  # step == total_steps is allowed (PyTorch), one more is not
    with pytest.raises(ValueError, match="total steps"):
        s.step()


def test_one_cycle_inverse_momentum_on_betas():
    opt = FakeOptimizer(1e-3, betas=(0.9, 0.99))
    s = S.OneCycleLR(opt, max_lr=1e-2, epochs=2, steps_per_epoch=10)
    lrs, b1 = [], []
    for _ in range(20):
        lrs.append(s.get_last_lr()[0])
        b1.append(opt.param_groups[0]["betas"][0])
        s.step()
    peak = max(range(20), key=lambda i: lrs[i])
    assert min(range(20), key=lambda i: b1[i]) == peak  # beta1 lowest where lr is highest
    assert all(b[1] == 0.99 for b in [opt.param_groups[0]["betas"]])


def test_linear_warmup_and_helpers():
    W = 8
    s = S.LinearWarmup(FakeOptimizer(B), warmup_iters=W)
    close(lrs_of(s, 20), [B * (1 / W + (1 - 1 / W) * min(t, W) / W) for t in range(20)], rel=1e-9)
    assert S.linear_scaling_rule(0.1, 8192) == pytest.approx(3.2)
    assert S.linear_scaling_rule(0.1, 64, base_batch_size=32) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="batch sizes"):
        S.linear_scaling_rule(0.1, 0)


def test_gradual_warmup_goyal():
    """lr goes linearly from base_lr to k·base_lr over W steps, then the next schedule."""
    base, batch, W = 0.1, 1024, 10
    scaled = S.linear_scaling_rule(base, batch)  # 0.4, k = 4
    opt = FakeOptimizer(scaled)
    after = S.MultiStepLR(opt, milestones=[5], gamma=0.1)
    s = S.gradual_warmup(opt, W, batch_size=batch, after=after)
    got = lrs_of(s, 30)
    want = [base + (scaled - base) * t / W for t in range(W)]
    want += [scaled * (0.1 if t - W >= 5 else 1.0) for t in range(W, 30)]
    close(got, want, rel=1e-9)
    assert math.isclose(got[0], base)
    # no warm-up needed when the batch is not larger than the base batch
    s2 = S.gradual_warmup(FakeOptimizer(0.05), 5, batch_size=128)
    close(lrs_of(s2, 8), [0.05] * 8)


# ----------------------------------------------------------------------------- composition
def test_chained_scheduler_factors_multiply():
    opt = FakeOptimizer(B)
    s = S.ChainedScheduler([S.ConstantLR(opt, factor=0.1, total_iters=3),
                            S.ExponentialLR(opt, gamma=0.9)])
    close(lrs_of(s, 20), [B * 0.9**t * (0.1 if t < 3 else 1) for t in range(20)], rel=1e-9)


def test_two_schedulers_stepped_by_hand_chain():
    opt = FakeOptimizer(B)
    a = S.StepLR(opt, step_size=4, gamma=0.5)
    b = S.ExponentialLR(opt, gamma=0.95)
    got = [opt.param_groups[0]["lr"]]
    for _ in range(15):
        a.step()
        b.step()
        got.append(opt.param_groups[0]["lr"])
    close(got, [B * 0.5 ** (t // 4) * 0.95**t for t in range(16)], rel=1e-9)
    assert a.base_lrs == b.base_lrs == [B]  # initial_lr is set once and shared


def test_sequential_lr_warmup_then_cosine():
    opt = FakeOptimizer(B)
    warm = S.LinearLR(opt, start_factor=0.2, total_iters=4)
    cos = S.CosineAnnealingLR(opt, T_max=20)
    s = S.SequentialLR(opt, [warm, cos], milestones=[4])
    want = [B * (0.2 + 0.8 * t / 4) for t in range(4)]
    want += [0.5 * B * (1 + math.cos(math.pi * (t - 4) / 20)) for t in range(4, 24)]
    close(lrs_of(s, 24), want, rel=1e-8, abs_=1e-12)


def test_sequential_lr_validation():
    opt = FakeOptimizer(B)
    a = S.StepLR(opt, 3)
    with pytest.raises(ValueError, match="one milestone fewer"):
        S.SequentialLR(opt, [a], milestones=[2])
    with pytest.raises(ValueError, match="same optimizer"):
        S.SequentialLR(opt, [a, S.StepLR(FakeOptimizer(), 3)], milestones=[2])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        S.ChainedScheduler([a, S.ReduceLROnPlateau(opt)])


# ----------------------------------------------------------------------------- plateau
def test_reduce_lr_on_plateau_by_hand():
    opt = FakeOptimizer(1.0)
    s = S.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, threshold=0.1,
                            threshold_mode="abs", cooldown=1, min_lr=0.2)
    metrics = [10, 9, 8.95, 8.95, 8.95,  # 8.95 is not 0.1 better than 9: bad x3 -> reduce
               8.95,                      # cooldown: bad epochs are ignored
               8.95, 8.95, 8.95,          # bad x3 -> reduce again
               8.95, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    lrs = []
    for m in metrics:
        s.step(m)
        lrs.append(s.get_last_lr()[0])
    assert lrs[:4] == [1.0] * 4
    assert lrs[4] == 0.5
    assert lrs[5:8] == [0.5] * 3
    assert lrs[8] == 0.25
    assert lrs[-1] == 0.2  # floored at min_lr
    assert s.best == 1.0


def test_reduce_lr_on_plateau_modes_and_errors():
    opt = FakeOptimizer(1.0)
    s = S.ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.01)
    s.step(1.0)
    s.step(1.005)  # not 1% better than 1.0
    assert s.get_last_lr() == [0.1]
    with pytest.raises(ValueError, match="mode"):
        S.ReduceLROnPlateau(opt, mode="median")
    with pytest.raises(ValueError, match="factor"):
        S.ReduceLROnPlateau(opt, factor=1.5)


# ----------------------------------------------------------------------------- state_dict
def _make(name, opt):
    return {
        "step": lambda: S.StepLR(opt, 5, 0.5),
        "multistep": lambda: S.MultiStepLR(opt, [3, 9], 0.3),
        "exp": lambda: S.ExponentialLR(opt, 0.9),
        "poly": lambda: S.PolynomialLR(opt, 20, 2.0),
        "linear": lambda: S.LinearLR(opt, 0.25, 1.0, 10),
        "constant": lambda: S.ConstantLR(opt, 0.5, 6),
        "cos": lambda: S.CosineAnnealingLR(opt, 11, 0.001),
        "sgdr": lambda: S.CosineAnnealingWarmRestarts(opt, 3, 2),
        "cyclic": lambda: S.CyclicLR(opt, 0.01, 0.1, 4, mode="triangular2"),
        "onecycle": lambda: S.OneCycleLR(opt, 0.3, total_steps=40),
        "inverse": lambda: S.InverseTimeLR(opt, 0.3),
        "lambda": lambda: S.LambdaLR(opt, lambda t: 0.97**t),
        "seq": lambda: S.SequentialLR(opt, [S.LinearLR(opt, 0.1, 1.0, 5),
                                            S.ExponentialLR(opt, 0.8)], [5]),
        "chained": lambda: S.ChainedScheduler([S.StepLR(opt, 3, 0.5), S.ExponentialLR(opt, 0.9)]),
    }[name]()


NAMES = ["step", "multistep", "exp", "poly", "linear", "constant", "cos", "sgdr", "cyclic",
         "onecycle", "inverse", "lambda", "seq", "chained"]


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_resumes_exactly(name):
    opt = FakeOptimizer(B, momentum=0.9)
    s = _make(name, opt)
    for _ in range(7):
        s.step()
    saved_sched = pickle.loads(pickle.dumps(s.state_dict()))
    saved_groups = copy.deepcopy(opt.param_groups)
    reference = lrs_of(s, 15)

    opt2 = FakeOptimizer(B, momentum=0.9)
    s2 = _make(name, opt2)
    opt2.param_groups = saved_groups  # what Optimizer.load_state_dict restores
    s2.optimizer = opt2
    for sub in getattr(s2, "_schedulers", []):
        sub.optimizer = opt2
    s2.load_state_dict(saved_sched)
    assert lrs_of(s2, 15) == reference
    assert "optimizer" not in saved_sched


def test_plateau_state_dict_round_trip():
    opt = FakeOptimizer(1.0)
    s = S.ReduceLROnPlateau(opt, patience=1)
    for m in [3, 2, 2, 2]:
        s.step(m)
    sd = s.state_dict()
    s2 = S.ReduceLROnPlateau(FakeOptimizer(1.0), patience=5)
    s2.load_state_dict(sd)
    assert (s2.best, s2.num_bad_epochs, s2.patience) == (s.best, s.num_bad_epochs, 1)


def test_resume_with_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(FakeOptimizer(B), 3, last_epoch=5)
    opt = FakeOptimizer(B)
    for g in opt.param_groups:
        g["initial_lr"] = B
    # as in PyTorch the constructor's initial step counts (last_epoch 4 -> 5) and keeps the
    # group's lr (the resumed value); the next step applies the recursive ratio f(6)/f(5)
    s = S.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
    assert s.last_epoch == 5 and s.get_last_lr() == [B]
    s.step()
    ratio = (1 + math.cos(math.pi * 6 / 10)) / (1 + math.cos(math.pi * 5 / 10))
    assert math.isclose(s.get_last_lr()[0], B * ratio)


def test_not_an_optimizer():
    with pytest.raises(TypeError, match="not an Optimizer"):
        S.StepLR(object(), 3)


def test_validation_messages():
    opt = FakeOptimizer(B)
    with pytest.raises(ValueError, match="step_size"):
        S.StepLR(opt, 0)
    with pytest.raises(ValueError, match="start_factor"):
        S.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="T_0"):
        S.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(opt, 0.1)
    with pytest.raises(ValueError, match="decay"):
        S.InverseTimeLR(opt, -1.0)


# ----------------------------------------------------------------------------- torch oracle
def _torch_cases(tS):
    return {
        "step": (lambda o: tS.StepLR(o, 7, 0.5), lambda o: S.StepLR(o, 7, 0.5)),
        "multistep": (lambda o: tS.MultiStepLR(o, [4, 10, 10, 30], 0.3),
                      lambda o: S.MultiStepLR(o, [4, 10, 10, 30], 0.3)),
        "exp": (lambda o: tS.ExponentialLR(o, 0.93), lambda o: S.ExponentialLR(o, 0.93)),
        "poly": (lambda o: tS.PolynomialLR(o, 30, 1.7), lambda o: S.PolynomialLR(o, 30, 1.7)),
        "linear": (lambda o: tS.LinearLR(o, 0.2, 0.9, 12), lambda o: S.LinearLR(o, 0.2, 0.9, 12)),
        "constant": (lambda o: tS.ConstantLR(o, 0.3, 5), lambda o: S.ConstantLR(o, 0.3, 5)),
        "cos": (lambda o: tS.CosineAnnealingLR(o, 13, 0.002),
                lambda o: S.CosineAnnealingLR(o, 13, 0.002)),
        "sgdr": (lambda o: tS.CosineAnnealingWarmRestarts(o, 4, 2, 0.001),
                 lambda o: S.CosineAnnealingWarmRestarts(o, 4, 2, 0.001)),
        "lambda": (lambda o: tS.LambdaLR(o, lambda t: 1 / (1 + t)),
                   lambda o: S.LambdaLR(o, lambda t: 1 / (1 + t))),
        "mult": (lambda o: tS.MultiplicativeLR(o, lambda t: 0.9),
                 lambda o: S.MultiplicativeLR(o, lambda t: 0.9)),
        "cyclic": (lambda o: tS.CyclicLR(o, 0.01, 0.2, 5, 8, mode="exp_range", gamma=0.98),
                   lambda o: S.CyclicLR(o, 0.01, 0.2, 5, 8, mode="exp_range", gamma=0.98)),
        "cyclic2": (lambda o: tS.CyclicLR(o, 0.01, 0.2, 6, mode="triangular2"),
                    lambda o: S.CyclicLR(o, 0.01, 0.2, 6, mode="triangular2")),
        "onecycle": (lambda o: tS.OneCycleLR(o, 0.4, total_steps=70, three_phase=True),
                     lambda o: S.OneCycleLR(o, 0.4, total_steps=70, three_phase=True)),
        "onecycle_lin": (lambda o: tS.OneCycleLR(o, 0.4, total_steps=70, anneal_strategy="linear"),
                         lambda o: S.OneCycleLR(o, 0.4, total_steps=70, anneal_strategy="linear")),
        "seq": (lambda o: tS.SequentialLR(o, [tS.LinearLR(o, 0.1, 1.0, 5),
                                              tS.CosineAnnealingLR(o, 20)], [5]),
                lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 5),
                                             S.CosineAnnealingLR(o, 20)], [5])),
        "chained": (lambda o: tS.ChainedScheduler([tS.ConstantLR(o, 0.5, 4),
                                                   tS.ExponentialLR(o, 0.95),
                                                   tS.CosineAnnealingLR(o, 25)]),
                    lambda o: S.ChainedScheduler([S.ConstantLR(o, 0.5, 4),
                                                  S.ExponentialLR(o, 0.95),
                                                  S.CosineAnnealingLR(o, 25)])),
    }


@pytest.mark.parametrize("name", ["step", "multistep", "exp", "poly", "linear", "constant",
                                  "cos", "sgdr", "lambda", "mult", "cyclic", "cyclic2",
                                  "onecycle", "onecycle_lin", "seq", "chained"])
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    import torch.optim.lr_scheduler as tS
    make_t, make_m = _torch_cases(tS)[name]
    p = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([{"params": [p]}, {"params": [torch.zeros(1, requires_grad=True)],
                                              "lr": 0.05}], lr=0.1, momentum=0.9)
    mopt = FakeOptimizer(0.1, groups=2, momentum=0.9)
    mopt.param_groups[1]["lr"] = 0.05
    ts, ms = make_t(topt), make_m(mopt)
    for t in range(70):
        for g in (0, 1):
            assert math.isclose(ts.get_last_lr()[g], ms.get_last_lr()[g], rel_tol=1e-12,
                                abs_tol=1e-16), (name, t, g)
            assert math.isclose(topt.param_groups[g]["momentum"], mopt.param_groups[g]["momentum"],
                                rel_tol=1e-12), (name, t)
        if t < 69:
            topt.step()
            ts.step()
            ms.step()


def test_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    p = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([p], lr=1.0)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, factor=0.5, patience=2, cooldown=2,
                                                    min_lr=1e-3, threshold=0.05)
    ms = S.ReduceLROnPlateau(FakeOptimizer(1.0), factor=0.5, patience=2, cooldown=2, min_lr=1e-3,
                             threshold=0.05)
    metric = 10.0
    for t in range(60):
        metric = metric * (0.9 if t % 7 == 0 else 0.99)
        ts.step(metric)
        ms.step(metric)
        assert ts.get_last_lr() == ms.get_last_lr(), t
