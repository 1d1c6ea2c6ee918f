"""The published contract is valid OpenAPI 3.1 and complete; the docs page loads nothing from elsewhere."""

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from tests.conftest import Reply

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

HOST = "https://api.example.com"  # where the page would be served from, to resolve its relative URLs
URL = re.compile(r"""(?:https?:)?//[^\s"'<>()]+""", re.IGNORECASE)


def get_page(api, path: str) -> Reply:
    response = api.client.http.request("GET", path, headers={}, body=b"")
    return Reply(response.status_code, response.body, {k.lower(): v for k, v in response.headers.items()})


@pytest.fixture
def document(api) -> dict:
    reply = api.get("/openapi.json")
    assert reply.status == 200 and reply.headers["content-type"].startswith("application/json")
    return reply.body


def test_the_served_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document, cls=OpenAPIV31SpecValidator)  # raises on any error
    errors = list(OpenAPIV31SpecValidator(document).iter_errors())
    assert not errors, errors[:5]


def test_every_route_with_a_contract_is_documented_and_nothing_else(document):
    from app import app

    # Every route the app answers, but the CORS preflights and the unknown-route catch-alls.
    routes = {
        (path, method.lower())
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if method != "OPTIONS" and not entry.view_name.startswith("unknown_route_")
    }
    documented = {(path, method) for path, methods in document["paths"].items() for method in methods}
    assert routes == documented
    assert len(routes) >= 20
    # No catch-all or preflight leaks in as an operation.
    assert not any(path.startswith("/{p0}") for path, _ in documented)
    assert not any(method == "options" for _, method in documented)


def test_every_operation_is_complete(document):
    operation_ids = []
    for path, methods in document["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method, operation in methods.items():
            operation_ids.append(operation["operationId"])
            assert operation.get("summary"), (method, path)
            parameters = operation.get("parameters", [])
            assert {p["name"] for p in parameters if p["in"] == "path"} == names, (method, path)
            assert all(p["required"] for p in parameters if p["in"] == "path")
            responses = operation["responses"]
            assert any(status.startswith("2") for status in responses), (method, path)
            assert "500" in responses, (method, path)
            if operation.get("security") and {} not in operation["security"]:
                assert "401" in responses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "422"} <= set(responses), (method, path)
    assert len(operation_ids) == len(set(operation_ids)), "operationIds are unique"
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_document_describes_no_server_of_another_host(document):
    for server in document.get("servers", []):
        assert not urlsplit(server["url"]).netloc, server


class _Resources(HTMLParser):
    """Every URL an HTML page makes a browser fetch (or navigate to)."""

    ATTRIBUTES = frozenset(
        ("src", "href", "spec-url", "data", "action", "poster", "srcset", "formaction", "background")
    )

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_style_or_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in self.ATTRIBUTES and value:
                self.urls.append(value)
            if name == "style" and value:
                self.inline.append(value)
        self._in_style_or_script = tag in ("style", "script")

    def handle_endtag(self, tag):
        self._in_style_or_script = False

    def handle_data(self, data):
        if self._in_style_or_script:
            self.inline.append(data)


def test_the_docs_page_loads_nothing_from_another_host(api):
    reply = get_page(api, "/docs")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/html")
    page = reply.body.decode()
    assert not URL.findall(page), URL.findall(page)  # no absolute or protocol-relative URL at all

    parser = _Resources()
    parser.feed(page)
    assert parser.urls, "the page loads its script and its document"
    for url in parser.urls:
        resolved = urljoin(f"{HOST}/docs", url)
        assert urlsplit(resolved).netloc == urlsplit(HOST).netloc, url
        loaded = get_page(api, urlsplit(resolved).path)
        assert loaded.status == 200, (url, loaded.status)
    for text in parser.inline:
        assert not URL.findall(text) and "@import" not in text


def test_the_docs_page_policy_allows_no_other_host(api):
    policy = get_page(api, "/docs").headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives.get("default-src") == ["'none'"]
    assert "'self'" in directives["script-src"] and "'unsafe-inline'" not in directives["script-src"]
    allowed = {"'self'", "'none'", "'unsafe-inline'", "data:", "blob:"}
    for name, sources in directives.items():
        assert set(sources) <= allowed, (name, sources)


def test_the_docs_script_is_served_from_the_package(api):
    reply = get_page(api, "/docs/redoc.standalone.js")
    assert reply.status == 200 and "javascript" in reply.headers["content-type"]
    assert len(reply.body) > 100_000  # the Redoc bundle itself, not a loader that fetches it from a CDN
