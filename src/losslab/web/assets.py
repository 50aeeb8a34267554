"""The page's files (HTML, CSS, ES modules, plotly.min.js) served compressed and cacheable.

Each file is read and gzip-compressed once per process (level 9: plotly.min.js goes from 4.8 MB
to about 1.4 MB), then answered from memory: gzip when the browser accepts it, with an ``ETag``
so a reload costs a ``304 Not Modified`` and no body. The page's own files are
``no-cache`` (revalidated each load, so an upgrade shows at once); Plotly, which changes only
with the installed plotly package, may be kept for a day.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Response

PAGE_CACHE = "no-cache"
VENDOR_CACHE = "public, max-age=86400"


@dataclass(frozen=True)
class Asset:
    """One file's bytes, its gzip form, its ETag, media type and caching rule."""

    body: bytes
    gzipped: bytes
    etag: str
    media_type: str
    cache: str

    def response(self, request: Request) -> Response:
        """200 with the (gzipped, when accepted) body, or 304 when the browser already has this version."""
        headers = {"ETag": self.etag, "Cache-Control": self.cache, "Vary": "Accept-Encoding"}
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(self.gzipped, media_type=self.media_type, headers={**headers, "Content-Encoding": "gzip"})
        return Response(self.body, media_type=self.media_type, headers=headers)


@functools.cache
def asset(path: Path, cache: str = PAGE_CACHE) -> Asset:
    """The file at ``path``, compressed once and kept (the files ship inside the package and do not change)."""
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".js":
        media_type = "text/javascript"  # ES modules need a JavaScript type whatever the system's mime table says
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset(body, gzip.compress(body, compresslevel=9, mtime=0), etag, media_type, cache)


def page_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` when ``name`` is a file directly in ``folder`` (no paths, no dot files), else None."""
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    candidate = folder / name
    return candidate if candidate.is_file() else None
