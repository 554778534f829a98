"""``python -m minigrad.search ...``: the ``minigrad search`` subcommand on its own."""
import sys

from .cli import main

sys.exit(main())
