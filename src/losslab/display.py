"""How results show themselves in Jupyter: as the readable text of ``str()``, not a dataclass repr."""

from __future__ import annotations

from typing import Any


class Readable:
    """Mixin: IPython's pretty printer shows ``str(self)`` (tables, sentences, aligned numbers)."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"{type(self).__name__}(...)" if cycle else str(self))
