"""The one exception type losslab raises for bad input, and the checks every layer shares (whole numbers,
choices from a set, folders that can be written) with their one wording."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class LosslabError(ValueError):
    """Bad input to losslab: the message names the value and what is accepted.

    The CLI prints it on one line (exit code 2, no traceback); the web API turns it into a
    4xx JSON error. It subclasses ``ValueError`` so callers that already catch
    ``ValueError`` keep working.

    Attributes:
        column: for an error in typed text (a formula), the 1-based column it points at; else None.

    >>> LosslabError("bad token at column 3", column=3).column
    3
    """

    def __init__(self, message: str, *, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none), without the
    terminal colour codes some libraries (torch.load) put in it: the reason a LosslabError quotes.

    >>> first_line(RuntimeError("\\x1b[1mbad\\x1b[0m shape\\nmore detail")), first_line(KeyError())
    ('bad shape', 'KeyError')
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_int(name: str, value: Any, *, least: int | None = None, most: int | None = None) -> int:
    """``value`` when it is a whole number (``bool`` is not one) in ``[least, most]``; else one LosslabError line.

    >>> check_int("steps", 10, least=1)
    10
    >>> check_int("points per axis", True, least=2)
    Traceback (most recent call last):
    losslab.errors.LosslabError: points per axis must be a whole number ≥ 2, got True
    """
    if isinstance(value, bool) or not isinstance(value, int) or (least is not None and value < least):
        bound = "" if least is None else f" ≥ {least}"
        raise LosslabError(f"{name} must be a whole number{bound}, got {value!r}")
    if most is not None and value > most:
        raise LosslabError(f"{name} must be at most {most}, got {value!r}")
    return value


def check_choice(name: str, value: Any, accepted: Iterable[str]) -> str:
    """``value`` when it is one of ``accepted``; else one LosslabError line naming them all.

    >>> check_choice("loss", "mae", ("mse", "bce"))
    Traceback (most recent call last):
    losslab.errors.LosslabError: loss 'mae' is not one of mse, bce
    """
    accepted = tuple(accepted)
    if value not in accepted:
        raise not_one_of(name, value, accepted)
    return str(value)


def not_one_of(name: str, value: Any, accepted: Iterable[str]) -> LosslabError:
    """The one wording for a value outside a fixed set: ``loss 'mae' is not one of mse, bce``."""
    return LosslabError(f"{name} {value!r} is not one of {', '.join(accepted)}")


def unwritable_folder(folder: Path, *, create: bool = False) -> str | None:
    """Why files cannot be written in ``folder``, or None when they can: it is missing (unless
    ``create``: then the nearest existing folder above it must be writable), it is a file, or this
    process cannot create a file in it (tried: permissions, a read-only disk).

    >>> unwritable_folder(Path("/no/such"))
    "folder '/no/such' does not exist"
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != folder and not create and existing.is_dir():
        return f"folder '{folder}' does not exist"
    if not existing.is_dir():
        return f"'{existing}' is a file, not a folder"
    try:
        handle, probe = tempfile.mkstemp(dir=existing, prefix=".losslab-probe-")
    except OSError as exc:
        return f"folder '{existing}' cannot be written ({exc.strerror or first_line(exc)})"
    os.close(handle)
    os.unlink(probe)
    return None
