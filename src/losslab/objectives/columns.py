"""Data sets as columns: validated arrays, CSV files, and seeded synthetic data.

A data set is a ``dict`` from column name to a 1-D float64 tensor, every column the same
length. :func:`as_columns` checks arrays handed in from Python, :func:`load_csv` reads a
CSV file with a header row, and the synthetic helpers reproduce the data of the book's
listings 3.1 and 3.3 and a two-class problem for a logistic classifier. Randomness comes
only from the ``torch.Generator`` passed in (a fresh one seeded with 0 when none is).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from losslab.errors import LosslabError, check_int

Columns = dict[str, Tensor]

# Case Study 1's five points (seed 002), as the exact decimals the seed prints: the gallery builds
# an exact formula from them, the tour and the explorer take them as floats.
CASE_STUDY_1_X = ("1", "2", "3", "4", "5")
CASE_STUDY_1_Y = ("2.1", "3.9", "6.1", "8.0", "9.9")


def case_study_1_points() -> tuple[list[float], list[float]]:
    """Case Study 1's ``(x, y)`` as floats.

    >>> case_study_1_points()[1]
    [2.1, 3.9, 6.1, 8.0, 9.9]
    """
    return [float(v) for v in CASE_STUDY_1_X], [float(v) for v in CASE_STUDY_1_Y]


def as_columns(data: Mapping[str, Any]) -> Columns:
    """Validate a mapping of column name → 1-D numbers and return float64 tensors.

    Raises:
        LosslabError: when it is empty, a column is not 1-D numeric, the lengths differ, or
            a value is NaN or infinite.

    >>> as_columns({"x": [1, 2], "y": [3.5, 4.0]})["y"]
    tensor([3.5000, 4.0000], dtype=torch.float64)
    """
    if not isinstance(data, Mapping):
        raise LosslabError(f"data must be a mapping of column name to values, got {type(data).__name__}")
    if not data:
        raise LosslabError("data has no columns; give e.g. {'x': [1, 2, 3], 'y': [2, 4, 6]}")
    columns = {_column_name(name): _column(name, values) for name, values in data.items()}
    lengths = {name: column.numel() for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise LosslabError(f"data columns differ in length ({listed}); every column needs one value per sample")
    for name, column in columns.items():
        bad = ~torch.isfinite(column)
        if bad.any():
            row = int(bad.nonzero()[0, 0])
            raise LosslabError(
                f"data column '{name}' holds {float(column[row])} at row {row}; only finite numbers are accepted"
            )
    return columns


def _column_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise LosslabError(f"data column name {name!r} is not accepted; use text such as 'x'")
    return name


def _column(name: str, values: Any) -> Tensor:
    try:
        column = torch.as_tensor(values, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise LosslabError(f"data column '{name}' is not an array of numbers ({exc})") from None
    if column.dim() != 1:
        raise LosslabError(
            f"data column '{name}' has shape {tuple(column.shape)}; give a 1-D array, one value per sample"
        )
    if column.numel() == 0:
        raise LosslabError(f"data column '{name}' is empty; a data set needs at least one sample")
    return column


def load_csv(path: str | os.PathLike[str]) -> Columns:
    """Read a CSV file with a header row of column names into float64 columns.

    Blank lines are skipped; every other row needs one number per header column.

    Raises:
        LosslabError: naming the file (and line, column and value where there is one) when
            the file is missing or empty, has only a header, has ragged rows, duplicate or
            empty column names, a cell that is not a number, or a NaN or infinite value.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     file = Path(folder) / "points.csv"
    ...     _ = file.write_text("x,y\\n1,2\\n2,2\\n")
    ...     load_csv(file)["y"].tolist()
    [2.0, 2.0]
    """
    file = Path(path)
    text = _read_text(file)
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[list[float]] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            header = _header(file, reader.line_num, cells)
        else:
            rows.append(_row(file, reader.line_num, header, cells))
    if header is None:
        raise LosslabError(f"CSV file '{file}' is empty; expected a header row such as 'x,y' and data rows")
    if not rows:
        raise LosslabError(
            f"CSV file '{file}' has a header ({','.join(header)}) but no data rows; at least one is needed"
        )
    return {
        name: torch.tensor(values, dtype=torch.float64)
        for name, values in zip(header, zip(*rows, strict=True), strict=True)
    }


def _read_text(file: Path) -> str:
    if not file.exists():
        raise LosslabError(f"CSV file '{file}' does not exist; give the path of a CSV file with a header row")
    if not file.is_file():
        raise LosslabError(f"'{file}' is not a file; give the path of a CSV file with a header row")
    try:
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LosslabError(f"CSV file '{file}' is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise LosslabError(f"cannot read CSV file '{file}': {exc.strerror}") from None


def _header(file: Path, line: int, cells: list[str]) -> list[str]:
    names = [cell.strip() for cell in cells]
    for column, name in enumerate(names, start=1):
        if not name:
            raise LosslabError(f"CSV file '{file}' line {line}: header column {column} has no name; name every column")
        if names.index(name) != column - 1:
            raise LosslabError(
                f"CSV file '{file}' line {line}: column name '{name}' appears twice; names must be unique"
            )
    return names


def _row(file: Path, line: int, header: list[str], cells: list[str]) -> list[float]:
    if len(cells) != len(header):
        raise LosslabError(
            f"CSV file '{file}' line {line} has {len(cells)} cells; the header has {len(header)} ({','.join(header)})"
        )
    values = []
    for column, (name, cell) in enumerate(zip(header, cells, strict=True), start=1):
        try:
            value = float(cell.strip())
        except ValueError:
            raise LosslabError(
                f"CSV file '{file}' line {line}, column {column} ('{name}'): {cell!r} is not a number"
            ) from None
        if not math.isfinite(value):
            raise LosslabError(
                f"CSV file '{file}' line {line}, column {column} ('{name}'):"
                f" {cell.strip()!r} is not finite;"
                " only finite numbers are accepted"
            )
        values.append(value)
    return values


def _generator(generator: torch.Generator | None) -> torch.Generator:
    if generator is None:
        return torch.Generator().manual_seed(0)
    if not isinstance(generator, torch.Generator):
        raise LosslabError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return generator


def _count(n: int, least: int = 1) -> int:
    return check_int("number of samples", n, least=least)


def synthetic_linear(
    n: int,
    slope: float = 1.5,
    intercept: float = 2.73,
    noise: float = 0.5,
    generator: torch.Generator | None = None,
) -> Columns:
    r"""Noisy points on a line, as in listing 3.1: :math:`x = 10\,\mathcal N(0,1)`,
    :math:`y = \text{slope}\cdot x + \text{intercept} + \text{noise}\cdot\mathcal N(0,1)`.

    >>> data = synthetic_linear(4, generator=torch.Generator().manual_seed(1))
    >>> sorted(data), data["x"].shape
    (['x', 'y'], torch.Size([4]))
    """
    n, gen = _count(n), _generator(generator)
    x = 10 * torch.randn(n, generator=gen, dtype=torch.float64)
    y = slope * x + intercept + noise * torch.randn(n, generator=gen, dtype=torch.float64)
    return {"x": x, "y": y}


def synthetic_quadratic(n: int, generator: torch.Generator | None = None) -> Columns:
    r"""Points near a parabola, as in listing 3.3: :math:`x = 10\,U(0,1)`,
    :math:`y = x^2 - x + 2 + \varepsilon`, :math:`\varepsilon \sim U(-0.25, 0.25)`.

    >>> data = synthetic_quadratic(3, torch.Generator().manual_seed(1))
    >>> bool(((data["y"] - (data["x"]**2 - data["x"] + 2)).abs() <= 0.25).all())
    True
    """
    n, gen = _count(n), _generator(generator)
    x = 10 * torch.rand(n, generator=gen, dtype=torch.float64)
    y = x**2 - x + 2.0 + (0.5 * torch.rand(n, generator=gen, dtype=torch.float64) - 0.25)
    return {"x": x, "y": y}


def two_blobs(
    n: int, generator: torch.Generator | None = None, separation: float = 3.0, spread: float = 1.0
) -> Columns:
    r"""Two Gaussian clouds in the plane, labels 0 and 1, for a logistic classifier.

    Sample i has label :math:`y_i = i \bmod 2` and lies at
    :math:`(x_1, x_2) = \pm\frac{\text{separation}}{2}(1, 1) + \text{spread}\cdot\mathcal N(0, I)`,
    minus for label 0 and plus for label 1. The clouds overlap a little at the defaults, so
    the logistic loss has a finite minimizer.

    >>> data = two_blobs(6, torch.Generator().manual_seed(1))
    >>> sorted(data), data["y"].tolist()
    (['x1', 'x2', 'y'], [0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    """
    n, gen = _count(n, least=2), _generator(generator)
    labels = (torch.arange(n) % 2).to(torch.float64)
    centers = (labels - 0.5) * separation
    noise = spread * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    return {"x1": centers + noise[:, 0], "x2": centers + noise[:, 1], "y": labels}
