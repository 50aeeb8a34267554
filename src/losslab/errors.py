"""The one exception type losslab raises for bad input."""

from __future__ import annotations


class LosslabError(ValueError):
    """Bad input to losslab: the message names the value and what is accepted.

    The CLI prints it on one line (exit code 2, no traceback); the web API turns it into a
    4xx JSON error. It subclasses ``ValueError`` so callers that already catch
    ``ValueError`` keep working.
    """
