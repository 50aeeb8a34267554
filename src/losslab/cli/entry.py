"""The ``losslab`` console script: the CLI, with a Ctrl-C at any moment ending it quietly (exit 130) —
even in its first seconds, while torch and SymPy are still being imported (``losslab`` itself imports
them only on first use, so this module starts before them and can catch the interrupt)."""

from __future__ import annotations

import sys

INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def main() -> None:
    """Run the CLI; a KeyboardInterrupt while it starts is one line and exit 130, not a traceback."""
    try:
        from losslab.cli.app import main as run
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)
    run()
