from __future__ import annotations

import re
from typing import Any

from pbxd.web.base import PUBLIC
from pbxd.web.openapi import OPENAPI_DOCUMENT

from .apitest import ApiTestCase

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def app_routes(app) -> dict[str, dict[str, Any]]:
    """{OpenAPI path: {method: access rule}} read back from the running application."""
    routes = {}
    for rule in app.wildcard_router.rules:
        pattern = rule.matcher.regex.pattern
        path = re.sub(r"\(\?P<(\w+)>\[\^/\]\+\)", r"{\1}", pattern).rstrip("$").replace("\\", "")
        routes[path] = {method.lower(): access for method, access in rule.target.access.items()}
    return routes


def refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if "$ref" in value else []
        return found + [ref for item in value.values() for ref in refs(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in refs(item)]
    return []


class OpenApiTest(ApiTestCase):
    def test_document_is_served_as_json(self) -> None:
        status, data, _ = self.call("GET", "/api/v1/openapi.json")
        assert status == 200
        assert data == OPENAPI_DOCUMENT
        assert data["openapi"].startswith("3.1.")

    def test_every_route_is_documented_and_vice_versa(self) -> None:
        routes = app_routes(self._app)
        paths = OPENAPI_DOCUMENT["paths"]
        assert set(routes) == set(paths)
        for path, methods in routes.items():
            documented = {name: op for name, op in paths[path].items() if name in HTTP_METHODS}
            assert set(documented) == set(methods), path
            for method, rule in methods.items():
                operation = documented[method]
                if rule == PUBLIC:
                    assert operation["x-pbxd-roles"] == "public", (path, method)
                    assert operation["security"] == [], (path, method)
                else:
                    assert set(operation["x-pbxd-roles"]) == set(rule), (path, method)
                    assert "security" not in operation  # the global bearer requirement applies
                    assert "401" in operation["responses"], (path, method)

    def test_path_parameters_are_declared(self) -> None:
        for path, item in OPENAPI_DOCUMENT["paths"].items():
            declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path)), path

    def test_every_reference_resolves(self) -> None:
        for ref in refs(OPENAPI_DOCUMENT):
            node: Any = OPENAPI_DOCUMENT
            assert ref.startswith("#/"), ref
            for part in ref[2:].split("/"):
                assert part in node, ref
                node = node[part]
