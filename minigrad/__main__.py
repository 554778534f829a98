"""``python -m minigrad`` and the ``minigrad`` console script: the command line of
:mod:`minigrad.cli`."""
import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
