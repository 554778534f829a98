"""Lazy matplotlib access for :mod:`minigrad.viz` (matplotlib is the ``plot`` extra).

Figures are built with ``matplotlib.figure.Figure`` and an Agg canvas, never through
``pyplot``, so nothing here changes the user's pyplot backend or global state.
"""
from __future__ import annotations

import importlib.util

__all__ = ["require_matplotlib", "new_figure", "has_pillow"]


def require_matplotlib():
    """Import matplotlib, or raise ImportError saying how to install it."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "minigrad.viz needs matplotlib: pip install 'minigrad[plot]' (or pip install "
            "matplotlib)") from exc
    return matplotlib


def new_figure(figsize=(6.4, 4.8), dpi=100, **subplots_kw):
    """A (Figure, axes) pair on an Agg canvas, independent of pyplot."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(**subplots_kw)
    return fig, axes


def has_pillow() -> bool:
    """True when pillow is installed (needed for animated GIFs)."""
    return importlib.util.find_spec("PIL") is not None
