"""The one exception type losslab raises for bad input."""

from __future__ import annotations

import re


class LosslabError(ValueError):
    """Bad input to losslab: the message names the value and what is accepted.

    The CLI prints it on one line (exit code 2, no traceback); the web API turns it into a
    4xx JSON error. It subclasses ``ValueError`` so callers that already catch
    ``ValueError`` keep working.
    """


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none), without the
    terminal colour codes some libraries (torch.load) put in it: the reason a LosslabError quotes.

    >>> first_line(RuntimeError("\\x1b[1mbad\\x1b[0m shape\\nmore detail")), first_line(KeyError())
    ('bad shape', 'KeyError')
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
