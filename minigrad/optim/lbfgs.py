r"""L-BFGS: limited-memory BFGS with an optional strong-Wolfe line search (PyTorch's algorithm).

Intuition
---------
Newton's method steps along :math:`-H^{-1} g`. BFGS builds an approximation of
:math:`H^{-1}` from how the gradient changed between iterates; *limited-memory* BFGS keeps
only the last ``history_size`` pairs (step :math:`s_k`, gradient change :math:`y_k`) and
applies the approximation to :math:`-g` with the *two-loop recursion*, never forming a
matrix. Every parameter is flattened into one vector :math:`x`.

Algorithm (one call to ``step(closure)``; PyTorch's ``torch.optim.LBFGS``)
-----------------------------------------------------------------------
::

    input: x, closure f (returns f(x), fills ∇f), lr, max_iter, max_eval, tol_grad,
           tol_change, history m, pairs (s_i, y_i, ρ_i = 1/(y_iᵀs_i)) kept across calls
    f ← f(x); g ← ∇f(x);  if max|g| ≤ tol_grad: return f
    for k = 1 … max_iter:
        if first iteration ever:  d ← −g;  H₀ ← 1;  history ← ∅
        else:
            y ← g − g_prev;  s ← t·d                       (last step taken)
            if yᵀs > 1e-10:  push (s, y, ρ = 1/yᵀs), drop the oldest beyond m;
                             H₀ ← yᵀs / yᵀy                 (scaling of the initial Hessian)
            q ← −g                                          (two-loop recursion)
            for i = newest … oldest:  α_i ← ρ_i s_iᵀq;  q ← q − α_i y_i
            r ← H₀ q
            for i = oldest … newest:  β_i ← ρ_i y_iᵀr;  r ← r + (α_i − β_i) s_i
            d ← r                                           (≈ −H⁻¹g)
        t ← min(1, 1/‖g‖₁)·lr  on the first iteration ever, else t ← lr
        if gᵀd > −tol_change: stop                          (not a descent direction)
        if line_search_fn == "strong_wolfe":
            t ← a step satisfying  f(x+td) ≤ f + c₁ t gᵀd  and  |∇f(x+td)ᵀd| ≤ c₂|gᵀd|
                (c₁ = 1e-4, c₂ = 0.9; bracketing + cubic interpolation, ≤ max_eval evals)
            x ← x + t d;  (f, g) from the line search
        else:
            x ← x + t d;  (f, g) ← closure()   (skipped on the last iteration)
        stop if k = max_iter, evals ≥ max_eval, max|g| ≤ tol_grad,
             max|t d| ≤ tol_change, or |f − f_prev| < tol_change
    return the loss of the *first* closure call

On a convex quadratic with *exact* line searches (and history ≥ n) L-BFGS generates
conjugate directions and terminates in at most n iterations. PyTorch's strong-Wolfe
search with c₂ = 0.9 accepts any step with enough decrease (often t = 1), so it is not
exact and needs more iterations; with small ``c1 < c2`` the search's cubic interpolation,
which is exact on a quadratic, restores the n-step termination.

Calling protocol
----------------
The closure re-evaluates the model; ``step`` may call it many times::

    opt = LBFGS(model.parameters(), line_search_fn="strong_wolfe")
    def closure():
        opt.zero_grad()
        loss = loss_fn(model(x), y); loss.backward()
        return loss
    opt.step(closure)

Parameters
----------
params : iterable of Tensor
    One parameter group only (as in PyTorch).
lr : float, default 1
max_iter : int, default 20
    Iterations per ``step`` call.
max_eval : int, optional
    Closure evaluations per ``step`` call; default ``max_iter * 5 // 4`` (25).
tolerance_grad : float, default 1e-7
tolerance_change : float, default 1e-9
history_size : int, default 100
line_search_fn : None or "strong_wolfe", default None
c1, c2 : float, default 1e-4, 0.9
    Keyword-only minigrad extras: the strong-Wolfe constants, fixed at these values in
    PyTorch. Small values (e.g. c1=1e-10, c2=1e-8) make the line search nearly exact, which
    gives the textbook finite termination on a quadratic (at most n iterations).

Notes
-----
* Transcribes PyTorch's implementation (itself after Mark Schmidt's ``minFunc``),
  including its stopping rules, its first step ``min(1, 1/‖g‖₁)·lr`` and its choice to
  run the line search with the default ``tolerance_change`` of 1e-9 rather than the
  group's. The history (``d``, ``t``, pairs, ``H_diag``, ``prev_flat_grad``,
  ``prev_loss``, ``n_iter``, ``func_evals``) is kept in ``state`` of the first parameter
  under PyTorch's names, and persists across ``step`` calls.
* The arithmetic runs in the parameters' dtype (use float64 for tight tolerances).
* An unknown ``line_search_fn`` is refused in ``__init__`` (PyTorch refuses at ``step``).

References
----------
Nocedal, "Updating Quasi-Newton Matrices with Limited Storage", Math. Comp. 1980.
Liu & Nocedal, "On the limited memory BFGS method for large scale optimization", 1989.
Nocedal & Wright, *Numerical Optimization*, 2nd ed., Alg. 7.4 (two-loop recursion) and
Alg. 3.5-3.6 (strong-Wolfe line search).
"""
from __future__ import annotations

import copy
from typing import ClassVar

from minigrad._backend import get_array_module
from minigrad.optim.optimizer import Optimizer

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    r"""Minimiser of the cubic through (x1, f1, f'=g1) and (x2, f2, f'=g2), clipped to bounds.

    Nocedal & Wright eq. (3.59):  d1 = g1 + g2 − 3(f1 − f2)/(x1 − x2),
    d2 = sign(x2 − x1)·√(d1² − g1 g2),  x* = x2 − (x2 − x1)(g2 + d2 − d1)/(g2 − g1 + 2 d2).
    Falls back to the midpoint of the bounds when the cubic has no real minimiser.
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square**0.5
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    r"""Find a step ``t`` along ``d`` that satisfies the strong Wolfe conditions.

    Sufficient decrease (Armijo): :math:`f(x + td) \le f(x) + c_1 t\, g^\top d`;
    curvature: :math:`|\nabla f(x+td)^\top d| \le c_2 |g^\top d|`.
    Phase 1 extrapolates (cubic interpolation bounded to [t + 0.01(t − t_prev), 10t])
    until it brackets an acceptable step; phase 2 ("zoom") shrinks the bracket by cubic
    interpolation, with a safeguard against too little progress.

    Returns ``(f_new, g_new, t, n_evals)``.
    """
    xp = get_array_module(d)
    d_norm = xp.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = xp.dot(g_new, d)

    # phase 1: bracket
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):  # Armijo fails
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:  # strong Wolfe holds: accept
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:  # slope turned positive: the minimum is inside
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1

    if ls_iter == max_ls:  # reached the budget without a bracket
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    # phase 2: zoom
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # safeguard: stay at least 10% of the bracket away from its ends
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = xp.dot(g_new, d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low_pos]:
            # Armijo fails or no better than the low end: shrink from the high side
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # the old high end becomes the old low end
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    t = bracket[low_pos]
    return bracket_f[low_pos], bracket_g[low_pos], t, ls_func_evals


def two_loop_recursion(g, old_stps, old_dirs, ro, H_diag):
    r"""The L-BFGS direction :math:`d \approx -H^{-1} g` from the stored pairs.

    Parameters
    ----------
    g : array
        The flat gradient.
    old_stps, old_dirs : list of arrays
        :math:`s_i` (steps) and :math:`y_i` (gradient changes), oldest first.
    ro : list
        :math:`\rho_i = 1/(y_i^\top s_i)`.
    H_diag : float
        :math:`\gamma = s^\top y / y^\top y` of the newest pair; :math:`H_0 = \gamma I`.
    """
    num_old = len(old_dirs)
    al = [None] * num_old
    q = -g
    for i in range(num_old - 1, -1, -1):
        al[i] = xp_dot(old_stps[i], q) * ro[i]  # α_i = ρ_i s_iᵀ q
        q = q - al[i] * old_dirs[i]  # q ← q − α_i y_i
    r = q * H_diag  # r ← H₀ q
    for i in range(num_old):
        be_i = xp_dot(old_dirs[i], r) * ro[i]  # β_i = ρ_i y_iᵀ r
        r = r + (al[i] - be_i) * old_stps[i]  # r ← r + (α_i − β_i) s_i
    return r


def xp_dot(a, b):
    return get_array_module(a).dot(a, b)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _array(x):
    """The array of a Tensor; an array unchanged (NumPy arrays have a ``.data`` too)."""
    return x.data if hasattr(x, "requires_grad") else x


def _loss_value(loss) -> float:
    if hasattr(loss, "item"):
        return float(loss.item())
    return float(loss)


class LBFGS(Optimizer):
    __doc__ = __doc__

    _scalar_state: ClassVar[dict] = {"step": int, "n_iter": int, "func_evals": int}

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None, *, c1=1e-4,
                 c2=0.9):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr, "max_iter": max_iter, "max_eval": max_eval,
            "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
            "history_size": history_size, "line_search_fn": line_search_fn,
            "c1": c1, "c2": c2,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _check(self, group):
        self._check_nonnegative(group, "lr", "tolerance_grad", "tolerance_change")
        for key in ("max_iter", "max_eval", "history_size"):
            value = group[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                self._fail(f"invalid {key}={value!r}: must be a positive int")
        c1, c2 = group.get("c1", 1e-4), group.get("c2", 0.9)
        if not (_is_number(c1) and _is_number(c2) and 0 < c1 < c2 < 1):
            self._fail(
                f"the Wolfe constants must satisfy 0 < c1 < c2 < 1, got c1={c1!r}, c2={c2!r}")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            self._fail(
                f"line_search_fn must be None or 'strong_wolfe', got {group['line_search_fn']!r}")

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # ------------------------------------------------------------ flat views
    def _gather_flat_grad(self):
        xp = get_array_module(self._params[0].data)
        views = []
        for p in self._params:
            if p.grad is None:
                views.append(xp.zeros(p.data.size, dtype=p.data.dtype))
            else:
                g = p.grad
                if getattr(g, "is_sparse", False):
                    g = g.to_dense()
                views.append(_array(g).reshape(-1))
        return xp.concatenate(views)

    def _add_grad(self, step_size, update):
        """x ← x + step_size · update, written into the parameters in place."""
        offset = 0
        for p in self._params:
            theta = p.data
            n = theta.size
            theta += step_size * update[offset:offset + n].reshape(theta.shape)
            offset += n

    def _clone_param(self):
        return [p.data.copy() for p in self._params]

    def _set_param(self, params_data):
        for p, data in zip(self._params, params_data):
            p.data[...] = data

    def _directional_evaluate(self, closure, x, t, d):
        """(f(x + t d), ∇f(x + t d)), then put the parameters back at x."""
        self._add_grad(t, d)
        loss = _loss_value(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ------------------------------------------------------------ the step
    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; return the first loss of the call."""
        if closure is None:
            raise ValueError("LBFGS.step needs a closure that re-evaluates the loss")
        import minigrad as mg

        def f():
            with mg.enable_grad():
                return closure()

        group = self.param_groups[0]
        lr = group["lr"]
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]

        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = f()
        loss = _loss_value(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        xp = get_array_module(flat_grad)
        if xp.abs(flat_grad).max() <= tolerance_grad:  # already optimal
            return orig_loss

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # ---- direction
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = xp.dot(y, s)  # yᵀs
                if ys > 1e-10:  # keep only pairs with positive curvature
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / xp.dot(y, y)  # γ = yᵀs / yᵀy
                d = two_loop_recursion(flat_grad, old_stps, old_dirs, ro, H_diag)

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # ---- step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / xp.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = xp.dot(flat_grad, d)  # directional derivative gᵀd
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:  # "strong_wolfe"
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(f, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    c1=group.get("c1", 1e-4), c2=group.get("c2", 0.9),
                    max_ls=max_eval - current_evals)
                self._add_grad(t, d)
                opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)  # fixed step
                opt_cond = False
                if n_iter != max_iter:
                    loss = _loss_value(f())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = xp.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            # ---- stopping rules
            if n_iter == max_iter:
                break
            if current_evals >= max_eval:
                break
            if opt_cond:
                break
            if xp.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state["d"] = d
        state["t"] = t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        return orig_loss

    def _restore_param_state(self, p, saved):
        # the history is flat vectors over all parameters, not arrays shaped like p
        xp = get_array_module(p.data)

        def to_device(v):
            if hasattr(v, "shape") and hasattr(v, "dtype") and v.shape != ():
                if hasattr(v, "detach"):  # a torch tensor
                    v = v.detach().cpu().numpy()
                if xp.__name__ == "numpy" and get_array_module(v) is not xp:
                    v = v.get()
                return xp.array(v, dtype=p.data.dtype, copy=True)
            if isinstance(v, list):
                return [to_device(e) for e in v]
            if hasattr(v, "item"):
                return v.item()
            return copy.deepcopy(v)

        state = {}
        for key, value in saved.items():
            if key in self._scalar_state:
                value = value.item() if hasattr(value, "item") else value
                state[key] = self._scalar_state[key](value)
            else:
                state[key] = to_device(value)
        return state
