"""CLI commands for the hessian features (registered on the main app by :mod:`losslab.cli`)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``losslab`` app."""
