"""Save any losslab picture by the extension of its file name.

============  =====================================  ======================================
extension     what it holds                          picture
============  =====================================  ======================================
png svg pdf   a still image                          a matplotlib ``Figure``
gif mp4       a film (mp4 needs ffmpeg)              an :class:`~losslab.plot.animate.Animation`
html          a rotatable page, plotly.js inline     a plotly ``Figure``
============  =====================================  ======================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from matplotlib.figure import Figure

from losslab.errors import LosslabError, first_line, unwritable_folder
from losslab.plot._style import fit_titles
from losslab.plot.animate import Animation
from losslab.plot.interactive import write_html

FORMATS = {
    "png": "still",
    "svg": "still",
    "pdf": "still",
    "gif": "animation",
    "mp4": "animation",
    "html": "interactive",
}
_EXPECTS = {
    "still": "a matplotlib Figure (e.g. losslab.plot.contour)",
    "animation": "an Animation (losslab.plot.animate)",
    "interactive": "a plotly Figure (losslab.plot.interactive_surface)",
}


def format_of(path: str | Path) -> str:
    """The kind of picture a file name asks for: ``still``, ``animation`` or ``interactive``.

    >>> format_of("race.gif"), format_of("bowl.PNG")
    ('animation', 'still')
    >>> format_of("x.bmp")
    Traceback (most recent call last):
    ...
    losslab.errors.LosslabError: cannot save 'x.bmp': extension '.bmp' is not one of png, svg, pdf, gif, mp4, html
    """
    name = Path(path).name
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        shown = f"'.{suffix}'" if suffix else "(none)"
        raise LosslabError(f"cannot save '{name}': extension {shown} is not one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def picture_target(path: str | Path) -> str:
    """The kind of picture ``path`` asks for (:func:`format_of`), once it is known that it can be
    written there: cheap, so a command checks it before drawing anything.

    >>> picture_target("/no/such/folder/x.png")
    Traceback (most recent call last):
    ...
    losslab.errors.LosslabError: cannot save '/no/such/folder/x.png': folder '/no/such/folder' does not exist
    """
    kind = format_of(path)
    target = Path(path)
    if target.is_dir():
        raise LosslabError(f"cannot save '{target}': it is a folder; give a file name such as picture.png")
    reason = unwritable_folder(target.parent)
    if reason is not None:
        raise LosslabError(f"cannot save '{target}': {reason}")
    return kind


def save(picture: Any, path: str | Path, *, dpi: int = 150) -> Path:
    """Write ``picture`` to ``path`` in the format its extension names; returns the path.

    Raises:
        LosslabError: for an unknown extension (naming the accepted ones), a folder that cannot be
            written (:func:`picture_target`), a picture of the wrong kind for it (a still figure to
            ``.gif``), ``.mp4`` without ffmpeg, or what the system refuses while writing (a full disk).
    """
    kind = picture_target(path)
    target = Path(path)
    try:
        if kind == "still" and isinstance(picture, Figure):
            fit_titles(picture)
            picture.savefig(target, dpi=dpi)
        elif kind == "animation" and isinstance(picture, Animation):
            picture.save(target, dpi=min(dpi, 100))
        elif kind == "interactive" and isinstance(picture, go.Figure):
            write_html(picture, target)
        else:
            raise LosslabError(f"'{target.name}' needs {_EXPECTS[kind]}; got {type(picture).__name__}")
    except OSError as exc:
        raise LosslabError(f"cannot save '{target}': {exc.strerror or first_line(exc)}") from None
    return target
