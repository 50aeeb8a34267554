"""CLI commands for the web features (registered on the main app by :mod:`losslab.cli.app`)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``losslab`` app."""
    app.command()(serve)


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; 127.0.0.1 keeps it to this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    lessons: Annotated[
        list[str] | None, typer.Option("--lessons", help="A folder of lesson files to teach too (repeatable).")
    ] = None,
) -> None:
    """Start the web explorer: the gallery, your formulas or data, and optimizers racing downhill."""
    import uvicorn

    from losslab.cli.common import friendly
    from losslab.web import ServerConfig, create_app

    @friendly
    def start() -> None:
        if lessons:
            from pathlib import Path

            from losslab.course.lessons import Library

            Library(tuple(Path(folder) for folder in lessons))  # a missing folder is refused before the start
        config = ServerConfig(host=host, port=port, lessons=tuple(lessons or ()))
        typer.echo(f"losslab explorer on http://{host}:{port}  (Ctrl-C stops it)")
        uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="warning")

    start()
