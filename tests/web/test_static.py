"""The web console's files as pbxd serves them: page paths get index.html, assets are cached
for good, every answer carries the CSP, and the API keeps its own routes and JSON 404."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from pbxd.cli import build_parser
from pbxd.web import make_app
from pbxd.web.static import CHECKOUT_UI_DIR, SYSTEM_UI_DIR, default_ui_dir

from .apitest import ApiTestCase

INDEX_HTML = b'<!doctype html><script type="module" src="/ui/app-ABCD1234.js"></script>'
SCRIPT = b"console.log('console');"


class UiTestCase(ApiTestCase):
    def setUp(self) -> None:
        self.ui_dir = Path(tempfile.mkdtemp(prefix="pbxd-ui-"))
        (self.ui_dir / "index.html").write_bytes(INDEX_HTML)
        (self.ui_dir / "app-ABCD1234.js").write_bytes(SCRIPT)
        (self.ui_dir / "app-ABCD1234.css").write_bytes(b"body{margin:0}")
        (self.ui_dir / "favicon-0123456789.svg").write_bytes(b"<svg/>")
        (self.ui_dir / ".coocenter-ui").write_bytes(b"marker")
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        shutil.rmtree(self.ui_dir, ignore_errors=True)

    def get_app(self):
        return make_app(
            self.services,
            status_provider=self.status_provider,
            clock=self.monotonic,
            ui_dir=self.ui_dir,
        )

    def get(self, path: str, **kwargs):
        return self.fetch(path, raise_error=False, follow_redirects=False, **kwargs)

    def assert_secured(self, response) -> None:
        csp = response.headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "script-src 'self'",
            "img-src 'self' data:",
            "media-src 'self' blob:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ):
            assert directive in csp, csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Content-Type-Options"] == "nosniff"

    def test_root_and_page_paths_get_index_html_uncached(self) -> None:
        for path in ("/", "/queues", "/agents/1001", "/login"):
            response = self.get(path)
            assert response.code == 200, path
            assert response.body == INDEX_HTML
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            assert response.headers["Cache-Control"] == "no-cache"
            self.assert_secured(response)

    def test_assets_are_immutable_with_their_types(self) -> None:
        cases = {
            "/ui/app-ABCD1234.js": "text/javascript; charset=utf-8",
            "/ui/app-ABCD1234.css": "text/css; charset=utf-8",
            "/ui/favicon-0123456789.svg": "image/svg+xml",
        }
        for path, content_type in cases.items():
            response = self.get(path)
            assert response.code == 200, path
            assert response.headers["Content-Type"] == content_type
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            self.assert_secured(response)
        assert self.get("/ui/app-ABCD1234.js").body == SCRIPT
        head = self.get("/ui/app-ABCD1234.js", method="HEAD")
        assert head.code == 200 and head.body == b""

    def test_no_file_outside_the_build_and_no_index_via_ui(self) -> None:
        for path in (
            "/ui/missing-00000000.js",
            "/ui/.coocenter-ui",
            "/ui/index.html",
            "/ui/..%2f..%2fetc%2fpasswd",
            "/ui/%2e%2e/secret",
            "/ui/sub/dir.js",
        ):
            response = self.get(path)
            assert response.code == 404, (path, response.code)
            assert b"console" not in response.body

    def test_api_paths_keep_precedence_and_json_404(self) -> None:
        health = self.get("/api/v1/health")
        assert health.code == 200 and json.loads(health.body) == {"status": "ok"}
        for path in ("/api/v1/nope", "/api/nope", "/api", "/api/"):
            response = self.get(path)
            assert response.code == 404, path
            assert response.headers["Content-Type"].startswith("application/json"), path
            assert json.loads(response.body)["error"]["code"] == "not_found"
        # a path with a dot that is no asset is no page either
        assert self.get("/favicon.ico").code == 404

    def test_missing_build_answers_503_with_directions(self) -> None:
        (self.ui_dir / "index.html").unlink()
        response = self.get("/")
        assert response.code == 503
        assert b"tools.ui.build" in response.body
        self.assert_secured(response)


class ApiOnlyTestCase(ApiTestCase):
    def test_without_ui_dir_everything_but_the_api_is_a_json_404(self) -> None:
        response = self.fetch("/", raise_error=False)
        assert response.code == 404
        assert json.loads(response.body)["error"]["code"] == "not_found"


def test_default_ui_dir_prefers_a_built_checkout() -> None:
    expected = CHECKOUT_UI_DIR if (CHECKOUT_UI_DIR / "index.html").is_file() else SYSTEM_UI_DIR
    assert default_ui_dir() == expected


def test_ui_dir_option() -> None:
    args = build_parser().parse_args(["--data-dir", "/tmp/x", "--ui-dir", "/srv/ui"])
    assert args.ui_dir == Path("/srv/ui")
    assert build_parser().parse_args(["--data-dir", "/tmp/x"]).ui_dir is None
