"""The ``losslab`` command: the Typer app and its verbs, registered from one module per verb group.

No maths here. Every verb takes ``--json`` and then prints one JSON document. Bad input
(a :class:`~losslab.errors.LosslabError`) is printed as one line on stderr with exit code 2
and no traceback. The verb modules do not import this one, so registration has no cycle.
"""

from __future__ import annotations

import typer

from losslab.cli import formulas, hessian, landscape, plot, serve

app = typer.Typer(
    help="losslab — see, differentiate, analyse and descend a loss.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(formulas.analyze)
app.command()(formulas.descend)
app.command()(formulas.fit)
app.command("gallery")(formulas.gallery_command)
app.command()(formulas.tour)
for verb_group in (plot, landscape, hessian, serve):
    verb_group.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
