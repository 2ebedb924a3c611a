"""The OpenAPI document built from the request and response models (router.views.models), through create_app:
valid OpenAPI 3.1, complete for /api/ and /channels/, its request schemas fit the bodies clients send, and
real answers fit its response schemas."""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from tests.integration.test_ticket_api import BODY as TICKET_BODY

TOKEN = "openapi-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
async def client(make_app, rasa, aiohttp_client):
    app = make_app(api_token=TOKEN, rasa_url=rasa.url, rasa_token=rasa.token, deps={"rasa_timeout": 2})
    return await aiohttp_client(app)


@pytest.fixture
async def spec(client) -> dict[str, Any]:
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    return await resp.json()


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A JSON Schema 2020-12 validator for ``schema``, its #/components/... references resolved in ``spec``."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]},
                                              validate_formats=True)


def response_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    return spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]


def request_schema(spec: dict[str, Any], path: str, method: str = "post") -> dict[str, Any]:
    return spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        return {node["$ref"]} if isinstance(node.get("$ref"), str) else set().union(*map(refs, node.values()))
    if isinstance(node, list):
        return set().union(*map(refs, node)) if node else set()
    return set()


async def test_document_is_valid_openapi_31_and_every_schema_is_valid_json_schema(spec) -> None:
    OPENAPI_31_VALIDATOR.validate(spec)
    schemas = spec["components"]["schemas"]
    for name, schema in schemas.items():
        assert jsonschema_rs.meta.is_valid(schema), name
    dangling = {r for r in refs(spec) if r.removeprefix("#/components/schemas/") not in schemas}
    assert not dangling
    # the models are the components: the ticket's own fields are named, with their types
    ticket = schemas["Ticket"]
    assert {"id", "status", "channel", "text", "topic", "location", "contact", "sla_deadline", "history"} <= set(
        ticket["required"])
    assert schemas["Status"]["enum"][0] == "受理"


async def test_every_api_and_channel_route_is_documented(client, spec) -> None:
    served = {(r.method.lower(), r.resource.canonical) for r in client.app.router.routes()
              if r.resource is not None and r.method.lower() in METHODS
              and r.resource.canonical.startswith(("/api/", "/channels/"))}
    assert ("post", "/api/v1/triage") in served and ("post", "/channels/wechat") in served
    missing = {(m, p) for m, p in served if m not in spec["paths"].get(p, {})}
    assert not missing
    documented = {(m, p) for p, item in spec["paths"].items() for m in item if p.startswith(("/api/", "/channels/"))}
    assert documented == served  # and nothing documented that is not served
    for path, item in spec["paths"].items():
        for op in item.values():
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path)), path


GOOD_AND_BAD: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    ("/api/v1/triage",
     [{"text": "路灯坏了", "channel": "web"}, {"text": "你好"}, {"text": "路灯", "alternatives": ["路灯", "炉灯"]}],
     [{}, {"text": ""}, {"text": "   "}, {"text": "a\x00b"}, {"text": "你好", "channel": "fax"}, {"text": "噪音" * 1500},
      {"text": "x", "alternatives": "y"}]),
    ("/api/v1/classify", [{"text": "楼上漏水"}], [{"text": 5}]),
    ("/api/v1/tickets",
     [TICKET_BODY, {"text": "小区门口垃圾没人清"}, {**TICKET_BODY, "channel": "grid", "urgency": "outage"},
      {"text": "井盖丢了", "topic": {"department": "区城管局"}, "location": {"district": "南山区"}}],
     [{}, {"text": ""}, {**TICKET_BODY, "urgency": "now"}, {**TICKET_BODY, "channel": "fax"},
      {**TICKET_BODY, "contact_phone": "call me"}, {**TICKET_BODY, "topic": "城管"},
      {**TICKET_BODY, "contact_name": "王" * 51}]),
    ("/api/v1/tickets/{id}/transitions",
     [{"action": "dispatch", "actor": "dispatcher", "department": "区城管局"},
      {"action": "resolve", "actor": "区城管局", "reason": "已修复", "expected_version": 3},
      {"action": "return", "actor": "x", "to": "派单"}],
     [{"action": "fly", "actor": "x"}, {"action": "dispatch"}, {"action": "dispatch", "actor": ""},
      {"action": "dispatch", "actor": "x", "expected_version": "3"}]),
    ("/api/v1/tickets/{id}/resident",
     [{"action": "urge", "conversation_id": "C0123456789abcdef", "phones": ["13812345678"]},
      {"action": "rate", "conversation_id": "C1", "rating": "满意"}],
     [{"action": "status"}, {"action": "delete", "conversation_id": "C1"},
      {"action": "urge", "conversation_id": "C1", "phones": ["1"] * 11}]),
    ("/api/v1/channels/web/messages",
     [{"session_id": "s1", "text": "路灯坏了"}, {"session_id": "s1", "text": "你好", "message_id": "m-00000001"}],
     [{"text": "你好"}, {"session_id": "s1", "text": "你好", "message_id": "x"}]),
    ("/api/v1/channels/web/sessions/end", [{"session_id": "s1"}], [{}]),
    ("/channels/voice/call", [{"call_sid": "CA1", "from": "13812345678", "to": "12345"}], [{"from": "1"}]),
]


@pytest.mark.parametrize(("path", "good", "bad"), GOOD_AND_BAD, ids=[g[0] for g in GOOD_AND_BAD])
async def test_request_schemas_accept_the_bodies_clients_send_and_reject_wrong_ones(spec, path, good, bad) -> None:
    check = validator(spec, request_schema(spec, path))
    for body in good:
        assert check.is_valid(body), (body, [e.message for e in check.iter_errors(body)])
    for body in bad:
        assert not check.is_valid(body), body


@pytest.mark.parametrize(("path", "bad"), [
    ("/api/v1/triage", {"text": "你好", "channel": "fax"}), ("/api/v1/triage", {"text": "   "}),
    ("/api/v1/triage", {"text": "你好", "alternatives": ["a"] * 6}),
    ("/api/v1/tickets", {}), ("/api/v1/tickets", {**TICKET_BODY, "contact_phone": "call me"}),
    ("/api/v1/tickets", {**TICKET_BODY, "contact_name": "王" * 51}),
    ("/api/v1/tickets/SZ20261125-000001/transitions", {"action": "dispatch", "actor": "  "}), ("/api/v1/tickets/SZ20261125-000001/transitions", {"action": "fly", "actor": "x"}),
    ("/api/v1/tickets/SZ20261125-000001/resident", {"action": "status"}),
])
async def test_what_the_schema_rejects_the_server_refuses_with_a_documented_error(client, spec, path, bad) -> None:
    documented = re.sub(r"SZ\d{8}-\d{6}", "{id}", path)
    assert not validator(spec, request_schema(spec, documented)).is_valid(bad)
    resp = await client.post(path, json=bad, headers=AUTH)
    assert 400 <= resp.status < 500 and str(resp.status) in spec["paths"][documented]["post"]["responses"]
    assert validator(spec, response_schema(spec, documented, "post", resp.status)).is_valid(await resp.json())


async def test_real_answers_fit_their_documented_schemas(client, spec, rasa) -> None:
    async def fits(method: str, url: str, documented: str, status: int, **kw: Any) -> Any:
        resp = await client.request(method, url, headers=kw.pop("headers", AUTH), **kw)
        assert resp.status == status, (url, await resp.text())
        data = await resp.json()
        check = validator(spec, response_schema(spec, documented, method.lower(), status))
        assert check.is_valid(data), (url, [e.message for e in check.iter_errors(data)])
        return data

    created = await fits("POST", "/api/v1/tickets", "/api/v1/tickets", 201, json=TICKET_BODY)
    tid = created["id"]
    await fits("GET", f"/api/v1/tickets/{tid}", "/api/v1/tickets/{id}", 200)
    listed = await fits("GET", "/api/v1/tickets?limit=5", "/api/v1/tickets", 200)
    assert listed["items"][0]["id"] == tid
    moved = await fits("POST", f"/api/v1/tickets/{tid}/transitions", "/api/v1/tickets/{id}/transitions", 200,
                       json={"action": "dispatch", "actor": "dispatcher", "department": "区城管局"})
    assert moved["assignee"]["department"] == "区城管局"
    await fits("POST", f"/api/v1/tickets/{tid}/resident", "/api/v1/tickets/{id}/resident", 200,
               json={"action": "status", "conversation_id": "C0123456789abcdef"})
    await fits("GET", "/api/v1/tickets/SZ19000101-000000", "/api/v1/tickets/{id}", 404)
    await fits("POST", f"/api/v1/tickets/{tid}/transitions", "/api/v1/tickets/{id}/transitions", 409,
               json={"action": "close", "actor": "dispatcher"})
    await fits("GET", "/api/v1/reports", "/api/v1/reports", 200)
    await fits("GET", "/api/v1/reports?group=unit", "/api/v1/reports", 200)

    triage = await fits("POST", "/api/v1/triage", "/api/v1/triage", 200, json={"text": "我家楼下路灯坏了", "channel": "web"})
    assert triage["outcome"] in spec["components"]["schemas"]["Triage"]["properties"]["outcome"]["enum"]
    await fits("POST", "/api/v1/classify", "/api/v1/classify", 200, json={"text": "楼上漏水"})
    await fits("POST", "/api/v1/locations/resolve", "/api/v1/locations/resolve", 200,
               json={"text": "南山区粤海街道科技园社区"})
    found = await fits("GET", "/api/v1/services/search?q=办理居住证", "/api/v1/services/search", 200)
    if found["items"]:
        await fits("GET", f"/api/v1/services/{found['items'][0]['id']}", "/api/v1/services/{id}", 200)

    session = await fits("POST", "/api/v1/channels/web/sessions", "/api/v1/channels/web/sessions", 200, headers={})
    sid = session["session_id"]
    rasa.responder = lambda s, t, m: [{"recipient_id": s, "text": "请问您的联系电话？",
                                       "buttons": [{"title": "跳过", "payload": "/skip"}]}]
    await fits("POST", "/api/v1/channels/web/messages", "/api/v1/channels/web/messages", 200, headers={},
               json={"session_id": sid, "text": "路灯坏了"})
    history = await fits("GET", f"/api/v1/channels/web/history?session_id={sid}", "/api/v1/channels/web/history",
                         200, headers={})
    assert [m["author"] for m in history["messages"]] == ["resident", "bot"]
    conv = await fits("GET", f"/api/v1/conversations/{history['conversation']['id']}",
                      "/api/v1/conversations/{id}", 200)
    assert conv["transcript"]
    await fits("POST", "/api/v1/channels/web/sessions/end", "/api/v1/channels/web/sessions/end", 200, headers={},
               json={"session_id": sid})

    health = await client.get("/healthz")  # the action server is not running here: 503, the same shape
    assert health.status in (200, 503)
    check = validator(spec, response_schema(spec, "/healthz", "get", health.status))
    assert check.is_valid(await health.json())


async def test_the_web_message_id_rule_is_the_channels_own(spec) -> None:
    from router.channels.web import _MESSAGE_ID

    documented = spec["components"]["schemas"]["WebMessage"]["properties"]["message_id"]["anyOf"][0]["pattern"]
    assert documented == f"^{_MESSAGE_ID.pattern}$"


async def test_a_wrong_answer_would_not_fit(spec) -> None:
    """The response schemas are not vacuous: a ticket without its history, or with a made-up status, fails."""
    check = validator(spec, response_schema(spec, "/api/v1/tickets/{id}", "get", 200))
    ticket = {"id": "SZ20261125-000123", "status": "受理", "channel": "web", "text": "路灯坏了",
              "topic": {"l1": "城乡建设", "department": "区城管局"}, "location": {}, "contact": {"name": "", "phone": ""},
              "sla_deadline": "2026-11-25T16:30:00+08:00", "history": []}
    assert check.is_valid(ticket)
    assert not check.is_valid({k: v for k, v in ticket.items() if k != "history"})
    assert not check.is_valid({**ticket, "status": "done"})
    assert not check.is_valid({**ticket, "id": "123"})
    error = validator(spec, response_schema(spec, "/api/v1/tickets/{id}", "get", 404))
    assert not error.is_valid({"error": "not found"})


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/triage", "/api/v1/tickets/SZ20261125-000001/resident"])
async def test_a_lone_surrogate_the_fuzzer_sends_is_a_clear_400_not_a_500(client, path) -> None:
    """Found by schemathesis over this document: "\\ud946" is valid JSON but no text (Redis cannot store it)."""
    raw = '{"text": "路灯\\ud946坏了", "action": "status", "conversation_id": "C1"}'
    resp = await client.post(path, data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "invalid_json"


async def test_a_paired_surrogate_is_still_text(client) -> None:
    raw = '{"text": "路灯坏了\\ud83d\\ude22"}'
    resp = await client.post("/api/v1/tickets", data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 201
    assert (await resp.json())["text"].endswith("😢")
