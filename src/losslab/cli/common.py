"""What every ``losslab`` verb shares: the consoles, the common options, printing and the error wrapper.

No maths here. Every verb takes ``--json`` and then prints one JSON document. Bad input
(a :class:`~losslab.errors.LosslabError`) is printed as one line on stderr with exit code 2
and no traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from losslab.errors import LosslabError
from losslab.serialize import dumps

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])

# A formula may begin with '-' ('-x**2 + y**2'): Click would take it for an option; these commands
# keep what is not one of their options as an argument.
FORMULA_FIRST: dict[str, Any] = {"ignore_unknown_options": True}

Vars = Annotated[str | None, typer.Option("--vars", help="Parameter names in order, e.g. 'w0,w1'.")]
DomainOpt = Annotated[str | None, typer.Option(help="Box to search, e.g. 'w0=-5:5,w1=-5:5' or '-5:5'.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]

# where a network comes from (losslab.networks.build.network_objective holds the rules), for every verb that takes one
DemoOpt = Annotated[str | None, typer.Option(help="Built-in model and data: mlp, cnn or moons-mlp (default mlp).")]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        help="Your model as pkg.module:factory or path/to/file.py:factory (called with --model-args), or "
        "transformers:gpt2-tiny / transformers:llama-tiny (built from a config, no download)."
    ),
]
ModelArgsOpt = Annotated[
    str | None, typer.Option("--model-args", help="Arguments for the --model factory: 'width=16, blocks=(1, 1)'.")
]
WeightsOpt = Annotated[Path | None, typer.Option(help="State dict for --model (torch.load, weights_only).")]
DataOpt = Annotated[
    str | None,
    typer.Option(
        help="digits, moons, a .pt file ((inputs, targets), a dict of tensors such as input_ids/labels, or token "
        "ids), or pkg.module:factory / file.py:factory returning one of those or a DataLoader."
    ),
]
DataArgsOpt = Annotated[
    str | None, typer.Option("--data-args", help="Arguments for the --data factory: 'batch_size=32'.")
]
ParametersOpt = Annotated[
    str,
    typer.Option(
        help="The parameters θ spans: all, or trainable (those with requires_grad; frozen ones held at their values)."
    ),
]
LossOpt = Annotated[
    str | None,
    typer.Option(
        help="cross_entropy, mse, bce_with_logits, model (the model's own outputs.loss) or an import path "
        "pkg.module:function (default: the demo's; for a model, 'model' when the data holds labels, else "
        "cross_entropy)."
    ),
]


def friendly(command: F) -> F:
    """Turn LosslabError into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LosslabError as exc:
            err.print(Text.assemble(("error:", "bold red"), f" {exc}"), highlight=False)  # the user's text as typed
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def emit(result: Any, as_json: bool) -> None:
    """Print a result as JSON or as its readable text."""
    if as_json:
        sys.stdout.write(dumps(result) + "\n")
    elif hasattr(result, "__rich__"):
        out.print(result)
    else:
        out.print(str(result), highlight=False, markup=False)


def formula_objective(text: str, variables: str | None = None, domain: str | None = None) -> Any:
    """The objective a verb's FORMULA argument names; says on stderr how a student's spelling was read
    (``read 'x^2 - 4x + 5' as x**2 - 4*x + 5``), so nothing is reinterpreted silently."""
    from losslab.objectives.from_text import objective_from_text

    objective = objective_from_text(text, variables, domain)
    understood = getattr(objective, "understood", None)
    if understood:
        err.print(f"read '{text}' as {understood}", highlight=False, markup=False)
    return objective
