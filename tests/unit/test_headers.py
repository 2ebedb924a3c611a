"""Security headers on every response, the resident page without inline code, and which address a
request comes from (X-Forwarded-For only from a trusted proxy). No Redis: the page and error paths only."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from router import appkeys as K
from router.channels import web as web_channel
from router.http import auth_middleware, client_ip, error_middleware, security_headers
from router.services.outbound import Outbound
from router.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "router" / "static"


@pytest.fixture
async def client():
    app = web.Application(middlewares=[security_headers, error_middleware, auth_middleware])
    app[K.SETTINGS] = Settings(api_token="t")
    app[K.OPENAPI_PATHS] = {}
    app[K.OUTBOUND] = Outbound()
    web_channel.setup_routes(app)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("unexpected")

    app.router.add_get("/api/v1/channels/web/boom", boom)
    async with TestClient(TestServer(app)) as c:
        yield c


def _csp(resp) -> dict[str, str]:
    [value] = resp.headers.getall("Content-Security-Policy")
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in
            (part.strip() for part in value.split(";")) if d}


def _assert_common(resp) -> None:
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] in ("no-referrer", "strict-origin-when-cross-origin")
    assert _csp(resp)["frame-ancestors"] == "'none'"


async def test_resident_page_has_a_strict_csp_and_no_framing(client):
    resp = await client.get("/")
    assert resp.status == 200
    _assert_common(resp)
    csp = _csp(resp)
    assert csp["default-src"] == "'self'"
    for directive in ("script-src", "style-src"):
        assert "unsafe-inline" not in csp.get(directive, csp["default-src"])
        assert "unsafe-eval" not in csp.get(directive, csp["default-src"])
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"


@pytest.mark.parametrize("path, status", [
    ("/static/chat.js", 200),
    ("/static/chat.css", 200),
    ("/api/v1/tickets", 401),           # refused by auth: JSON
    ("/api/v1/channels/web/nothing", 404),  # JSON 404 from the error middleware
    ("/nothing-here", 404),             # aiohttp's own 404 (re-raised HTTPException)
    ("/api/v1/channels/web/boom", 500),   # an unhandled error rendered as JSON
])
async def test_every_response_carries_the_headers(client, path, status):
    resp = await client.get(path)
    assert resp.status == status
    _assert_common(resp)


async def test_json_answers_allow_nothing_to_load(client):
    resp = await client.get("/api/v1/tickets")
    assert resp.content_type == "application/json"
    assert _csp(resp)["default-src"] == "'none'"


async def test_a_handlers_own_headers_are_kept():
    """The console sets its own (stricter, same-origin) policy: the router's defaults do not replace it."""
    async def own(request: web.Request) -> web.Response:
        return web.Response(text="x", headers={"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
                                               "Referrer-Policy": "same-origin"})

    app = web.Application(middlewares=[security_headers])
    app.router.add_get("/own", own)
    async with TestClient(TestServer(app)) as c:
        resp = await c.get("/own")
        assert resp.headers.getall("Content-Security-Policy") == ["default-src 'none'; frame-ancestors 'none'"]
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert resp.headers["X-Frame-Options"] == "DENY"


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts: list[str] = []
        self.handlers: list[str] = []
        self.styles: list[str] = []
        self.ids: dict[str, dict[str, str | None]] = {}
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in a
        if tag == "style":
            self.styles.append("<style>")
        self.handlers += [k for k in a if k.startswith("on")]
        if "style" in a:
            self.styles.append(f"{tag} style=")
        if a.get("id"):
            self.ids[a["id"]] = {"tag": tag, **a}

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts.append(data.strip()[:60])


def test_page_has_no_inline_code_and_a_clear_button():
    scan = _Scan()
    scan.feed((STATIC / "chat.html").read_text(encoding="utf-8"))
    assert scan.inline_scripts == [] and scan.handlers == [] and scan.styles == []
    clear = scan.ids.get("clear")
    assert clear and clear["tag"] == "button"
    assert "清空对话" in (STATIC / "chat.html").read_text(encoding="utf-8")


def test_page_keeps_the_session_only_for_the_tab():
    js = (STATIC / "chat.js").read_text(encoding="utf-8")
    assert "sessionStorage" in js
    assert not re.search(r"localStorage\.\w+Item\(\s*KEY", js), "the session id must not outlive the tab"


def _request(peer: str, xff: str | None = None, trusted: tuple[str, ...] = ("127.0.0.1/32", "::1/128")):
    app = web.Application()
    app[K.SETTINGS] = Settings(trusted_proxies=trusted)
    headers = {"X-Forwarded-For": xff} if xff is not None else {}

    class Transport:
        def get_extra_info(self, name, default=None):
            return (peer, 40000) if name == "peername" else default

    return make_mocked_request("GET", "/", headers=headers, app=app, transport=Transport())


@pytest.mark.parametrize("peer, xff, trusted, expected", [
    ("203.0.113.9", None, ("127.0.0.1/32",), "203.0.113.9"),
    ("203.0.113.9", "198.51.100.1", ("127.0.0.1/32",), "203.0.113.9"),       # forged by a direct client
    ("127.0.0.1", "198.51.100.1", ("127.0.0.1/32",), "198.51.100.1"),        # our own proxy says who it was
    ("127.0.0.1", "6.6.6.6, 198.51.100.1", ("127.0.0.1/32",), "198.51.100.1"),  # the client's own prefix is ignored
    ("127.0.0.1", "198.51.100.1, 10.0.0.2", ("127.0.0.1/32", "10.0.0.0/8"), "198.51.100.1"),  # two proxies
    ("127.0.0.1", "not-an-address", ("127.0.0.1/32",), "127.0.0.1"),
    ("127.0.0.1", "198.51.100.1", (), "127.0.0.1"),                          # nothing trusted
    ("::1", "2001:db8::7", ("::1/128",), "2001:db8::7"),
])
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(peer, xff, trusted, expected):
    assert client_ip(_request(peer, xff, trusted)) == expected
