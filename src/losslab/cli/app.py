"""The ``losslab`` command: the Typer app and its verbs, registered from one module per verb group.

No maths here. Every verb takes ``--json`` and then prints one JSON document. Bad input
(a :class:`~losslab.errors.LosslabError`) is printed as one line on stderr with exit code 2
and no traceback. The verb modules do not import this one, so registration has no cycle.
"""

from __future__ import annotations

import difflib
import re
import sys
from typing import Any

import typer
from typer.core import TyperGroup

try:  # Typer 0.2x carries its own copy of Click, whose exceptions are the ones raised
    from typer._click import exceptions as click_errors
except ImportError:  # older Typer uses the click package
    from click import exceptions as click_errors  # type: ignore[no-redef]

from losslab.cli import basins, connect, formulas, hessian, landscape, lessons, plot, serve
from losslab.cli.common import FORMULA_FIRST


class OneLineErrors(TyperGroup):
    """Usage errors (an unknown option, a missing argument, a bad value) as one line on stderr with exit
    code 2, as every other refusal is, instead of Click's usage block or a boxed panel."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        if not standalone_mode:
            return super().main(*args, **kwargs)
        try:
            result = super().main(*args, **kwargs)
        except click_errors.NoArgsIsHelpError:  # 'losslab plot': the help was printed while the error was made
            sys.exit(0)
        except click_errors.UsageError as error:
            where = f"; see '{error.ctx.command_path} --help'" if error.ctx is not None else ""
            message = _unknown_option(error) or error.format_message().rstrip(".")
            typer.echo(f"error: {message}{where}", err=True)
            sys.exit(error.exit_code)
        except click_errors.ClickException as error:
            typer.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


def _unknown_option(error: click_errors.UsageError) -> str | None:
    """A verb whose formula may begin with '-' keeps unknown options as arguments, and Click then reports them as
    "unexpected extra argument(s) (--grid 5)": name the option as an unknown one instead, with the nearest ones."""
    found = re.fullmatch(r"Got unexpected extra argument\(s\) \((.*)\)", error.format_message().strip())
    if found is None or error.ctx is None:
        return None
    unknown = next((t for t in found.group(1).split() if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", t)), None)
    if unknown is None:
        return None
    name = unknown.split("=")[0]
    options = [o for p in error.ctx.command.params for o in getattr(p, "opts", []) if o.startswith("-")]
    near = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    listed = near or [o for o in options if o.startswith("--") and o != "--help"]
    return f"No such option: {name} ({'Possible' if near else 'the'} options: {', '.join(listed)})"


app = typer.Typer(
    cls=OneLineErrors,
    help="losslab — see, differentiate, analyse and descend a loss.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command(context_settings=FORMULA_FIRST)(formulas.analyze)
app.command(context_settings=FORMULA_FIRST)(formulas.descend)
app.command()(formulas.fit)
app.command("gallery")(formulas.gallery_command)
app.command()(formulas.tour)
for verb_group in (plot, landscape, hessian, serve, lessons, connect, basins):
    verb_group.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
