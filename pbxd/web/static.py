"""The web console's files: index.html for the page paths, content-hashed assets under /ui/.

The console is a single page (ui/, built by `python -m tools.ui.build`); its data comes from
the API, so these files need no login. Every answer carries a strict Content-Security-Policy:
the console loads nothing but its own scripts, styles and the API's media.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Any

from tornado.web import HTTPError, RequestHandler

INDEX = "index.html"
SYSTEM_UI_DIR = Path("/usr/share/coocenter/ui")
# A source checkout's build output: <repo>/build/ui (pbxd/web/static.py -> <repo>).
CHECKOUT_UI_DIR = Path(__file__).resolve().parents[2] / "build" / "ui"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
# Asset names carry a hash of their content: a changed file is a new name.
IMMUTABLE = "public, max-age=31536000, immutable"
# Page paths: anything without a dot outside /api/, /ws (SIP over WebSocket) and /ui/.
PAGE_PATTERN = r"/(?!(?:api|ws|ui)(?:/|$))[^.]*$"
ASSET_PATTERN = r"/ui/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)$"
_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
}

_NOT_BUILT = """<!doctype html>
<html><head><meta charset="utf-8"><title>CooCenter S10</title></head>
<body><h1>Web console not installed</h1>
<p>pbxd found no {index} in {ui_dir}. Build it with <code>python -m tools.ui.build</code>
(or start pbxd with <code>--ui-dir DIR</code>). The API is at <code>/api/v1/</code>.</p>
<p>未找到网页控制台文件。</p></body></html>
"""


def default_ui_dir() -> Path:
    """`build/ui` of a source checkout when it has been built, else the image's directory."""
    if (CHECKOUT_UI_DIR / INDEX).is_file():
        return CHECKOUT_UI_DIR
    return SYSTEM_UI_DIR


class _UiHandler(RequestHandler):
    SUPPORTED_METHODS = ("GET", "HEAD")

    def initialize(self, ui_dir: Path) -> None:
        self.ui_dir = ui_dir

    def set_default_headers(self) -> None:
        self.clear_header("Server")
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(f"{status_code} {self._reason}\n")


class IndexHandler(_UiHandler):
    """The console's page for every page path; the browser's router takes it from there."""

    def get(self, *args: str) -> None:
        self.set_header("Cache-Control", "no-cache")
        try:
            body = (self.ui_dir / INDEX).read_bytes()
        except OSError:
            self.set_status(503)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(_NOT_BUILT.format(index=INDEX, ui_dir=self.ui_dir))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(body)  # Tornado leaves the body out for HEAD

    def head(self, *args: str) -> None:
        self.get(*args)


class AssetHandler(_UiHandler):
    """/ui/<name>: one file of the build, cached for good (its name changes with its content)."""

    def get(self, name: str) -> None:
        # One flat directory: no separators, no dot files, no index.html (that one is no-cache).
        if not _ASSET_NAME.match(name) or name == INDEX or ".." in name:
            raise HTTPError(404)
        path = self.ui_dir / name
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise HTTPError(404) from None
        suffix = path.suffix.lower()
        content_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0]
        self.set_header("Content-Type", content_type or "application/octet-stream")
        self.set_header("Cache-Control", IMMUTABLE)
        self.finish(data)  # Tornado leaves the body out for HEAD

    def head(self, name: str) -> None:
        self.get(name)


def ui_routes(ui_dir: Path) -> list[tuple[str, type[RequestHandler], dict[str, Any]]]:
    """Routes for the console; put them after the API's so that /api/... always wins."""
    args = {"ui_dir": ui_dir}
    return [(ASSET_PATTERN, AssetHandler, args), (PAGE_PATTERN, IndexHandler, args)]
