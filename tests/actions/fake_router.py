"""A real HTTP stand-in for the router's internal API, for action-server tests (bot runtime).

It keeps what it was sent (tickets, transitions, handoffs) so tests can assert what the router
saw, honours Idempotency-Key like the real one, and knows a handful of Shenzhen places. It can
also run on its own (``python tests/actions/fake_router.py --port 8080``) to drive Rasa by hand.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

__all__ = ["FakeRouter", "create_app", "TOKEN"]

TOKEN = "test-token"
CST = timezone(timedelta(hours=8))

# name → (district, street, community, landmark)
PLACES: dict[str, tuple[str | None, str | None, str | None, str | None]] = {
    "南山区": ("南山区", None, None, None),
    "宝安区": ("宝安区", None, None, None),
    "粤海街道": ("南山区", "粤海街道", None, None),
    "西乡街道": ("宝安区", "西乡街道", None, None),
    "科技园社区": ("南山区", "粤海街道", "科技园社区", None),
    "麻岭社区": ("南山区", "粤海街道", "麻岭社区", None),
    "铁仔山社区": ("宝安区", "西乡街道", "铁仔山社区", None),
    "腾讯大厦": ("南山区", "粤海街道", "科技园社区", "腾讯大厦"),
}
AMBIGUOUS = {"桃源社区": [{"district": "南山区", "street": "桃源街道", "community": "桃源社区"},
                          {"district": "龙华区", "street": "民治街道", "community": "桃源社区"}]}
SERVICES = [
    {"id": "svc-001", "name": "居住证办理", "department": "深圳市公安局", "keywords": ["居住证"],
     "where": {"name": "南山区行政服务大厅", "address": "南山区南山大道2072号",
               "url": "https://example.invalid/jzz"}},
    {"id": "svc-002", "name": "居住证签注", "department": "深圳市公安局", "keywords": ["居住证", "签注"],
     "where": "各派出所户政窗口"},
    {"id": "svc-003", "name": "居住登记", "department": "深圳市公安局", "keywords": ["居住", "登记"],
     "where": ""},
]


@dataclass
class FakeRouter:
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    transitions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    handoffs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    resolves: list[str] = field(default_factory=list)
    searches: list[dict[str, str]] = field(default_factory=list)
    lookups: list[dict[str, str]] = field(default_factory=list)
    resident_requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail_with: int | None = None  # answer every call with this status (simulate an outage)
    seq: int = 0

    def add_ticket(self, ticket_id: str, status: str = "受理", *, overdue: bool = False,
                   conversation_id: str | None = "C00000000000000a1",
                   phone: str = "13812345678") -> dict[str, Any]:
        now = datetime.now(CST)
        created = now - timedelta(days=10 if overdue else 0)
        ticket = {"id": ticket_id, "status": status, "channel": "web", "text": "路灯坏了",
                  "topic": {"l1": "城市管理", "l2": "市政设施", "department": "南山区城市管理和综合执法局"},
                  "location": {"district": "南山区", "street": "粤海街道", "community": None, "grid": None},
                  "contact": {"name": "", "phone": phone}, "urgency": "general",
                  "conversation_id": conversation_id,
                  "created_at": created.isoformat(), "sla_deadline": (created + timedelta(days=7)).isoformat(),
                  "history": [{"from": None, "to": "受理", "action": "create", "actor": "bot",
                               "at": created.isoformat(), "reason": None}]}
        self.tickets[ticket_id] = ticket
        return ticket


def _resolve(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {"district": None, "street": None, "community": None, "grid": None,
                           "landmark": None, "ambiguous": [], "confidence": 0.0}
    for name, cands in AMBIGUOUS.items():
        if name in text:
            out["ambiguous"] = cands
    best: tuple[int, tuple[Any, ...]] | None = None
    for name, levels in PLACES.items():
        if name in text:
            depth = sum(1 for x in levels if x)
            if best is None or depth > best[0]:
                best = (depth, levels)
    if best:
        out.update(zip(("district", "street", "community", "landmark"), best[1], strict=True))
        out["confidence"] = 0.9
    return out


def create_app(state: FakeRouter) -> web.Application:
    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "unauthorised"}, status=401)
        if state.fail_with:
            return web.json_response({"error": "down"}, status=state.fail_with)
        return await handler(request)

    app = web.Application(middlewares=[guard])

    async def resolve(request: web.Request) -> web.Response:
        body = await request.json()
        state.resolves.append(body["text"])
        return web.json_response(_resolve(body["text"]))

    async def search(request: web.Request) -> web.Response:
        q = request.query.get("q", "")
        state.searches.append(dict(request.query))
        scored = [(sum(len(k) for k in s["keywords"] if k in q), s) for s in SERVICES]
        items = [{"id": s["id"], "name": s["name"], "department": s["department"], "score": sc / 10}
                 for sc, s in sorted(scored, key=lambda p: -p[0]) if sc > 0]
        return web.json_response({"items": items[:3]})

    async def service(request: web.Request) -> web.Response:
        item = next((s for s in SERVICES if s["id"] == request.match_info["id"]), None)
        if item is None:
            return web.json_response({"error": "no such item"}, status=404)
        return web.json_response({k: v for k, v in item.items() if k != "keywords"})

    async def create_ticket(request: web.Request) -> web.Response:
        body = await request.json()
        key = request.headers.get("Idempotency-Key")
        if not key:
            return web.json_response({"error": "Idempotency-Key required"}, status=400)
        if not body.get("text") or not body.get("address"):
            return web.json_response({"error": "text and address are required"}, status=422)
        if key in state.by_key:
            return web.json_response(state.tickets[state.by_key[key]], status=200)
        state.seq += 1
        tid = f"SZ{datetime.now(CST):%Y%m%d}-{state.seq:06d}"
        ticket = state.add_ticket(tid)
        ticket.update(text=body["text"], channel=body["channel"],
                      location={**(body.get("location") or {}), "address": body["address"]})
        ticket["sla_deadline"] = (datetime.fromisoformat(ticket["created_at"]) + timedelta(days=7)).isoformat()
        state.by_key[key] = tid
        state.created.append(body)
        return web.json_response(ticket, status=201)

    async def get_ticket(request: web.Request) -> web.Response:
        ticket = state.tickets.get(request.match_info["id"])
        if ticket is None:
            return web.json_response({"error": "no such ticket"}, status=404)
        state.lookups.append(dict(request.query))
        if request.query.get("unmask") == "1":
            return web.json_response(ticket)
        phone = ticket["contact"]["phone"]
        return web.json_response({**ticket, "contact": {**ticket["contact"],
                                                        "phone": phone[:3] + "****" + phone[-4:]}})

    async def transition(request: web.Request) -> web.Response:
        tid = request.match_info["id"]
        ticket = state.tickets.get(tid)
        if ticket is None:
            return web.json_response({"error": "no such ticket"}, status=404)
        body = await request.json()
        open_ = ("受理", "派单", "处置", "退单", "督办")
        allowed = {"withdraw": open_, "escalate": open_, "follow_up": ("办结",)}
        if ticket["status"] not in allowed.get(body.get("action"), ()):
            return web.json_response({"error": "illegal transition"}, status=409)
        state.transitions.append((tid, body))
        ticket["status"] = {"withdraw": "撤销", "escalate": "督办", "follow_up": "回访"}[body["action"]]
        return web.json_response(ticket)

    async def resident(request: web.Request) -> web.Response:
        """The router's ``/tickets/{id}/resident``: ownership by conversation or the phone left on the
        ticket; a stranger sees id and status and moves nothing (403)."""
        tid = request.match_info["id"]
        ticket = state.tickets.get(tid)
        if ticket is None:
            return web.json_response({"error": "no such ticket"}, status=404)
        body = await request.json()
        state.resident_requests.append((tid, body))
        action, conv = body.get("action"), body.get("conversation_id")
        on_ticket = "".join(ch for ch in ticket["contact"]["phone"] if ch.isdigit())
        told = ["".join(ch for ch in p if ch.isdigit()) for p in body.get("phones") or []]
        reporter = (bool(conv) and conv == ticket.get("conversation_id")) or on_ticket in told
        phone = ticket["contact"]["phone"]
        view = ({**ticket, "contact": {**ticket["contact"], "phone": phone[:3] + "****" + phone[-4:]}}
                if reporter else {"id": tid, "status": ticket["status"]})
        if action == "status":
            return web.json_response({"ticket": view, "reporter": reporter})
        if not reporter:
            return web.json_response({"error": {"code": "not_reporter", "message": "not the reporter"}},
                                     status=403)
        open_ = ("受理", "派单", "处置", "退单", "督办")
        actor = f"resident:{conv}"
        if action == "urge":
            overdue = datetime.fromisoformat(ticket["sla_deadline"]) < datetime.now(CST)
            if ticket["status"] in open_ and overdue:
                move = {"action": "escalate", "actor": actor, "reason": "居民催办（已超时）"}
                state.transitions.append((tid, move))
                ticket["status"] = "督办"
                ticket["history"].append({"from": None, "to": "督办", "action": "escalate", "actor": actor,
                                          "at": datetime.now(CST).isoformat(), "reason": move["reason"]})
            return web.json_response({"ticket": view | {"status": ticket["status"], "history": ticket["history"]},
                                      "reporter": True})
        allowed = {"withdraw": open_, "rate": ("办结",)}
        if ticket["status"] not in allowed.get(action, ()):
            return web.json_response({"error": {"code": "illegal_transition", "message": "illegal",
                                                "ticket_status": ticket["status"]}}, status=409)
        move = {"action": {"withdraw": "withdraw", "rate": "follow_up"}[action], "actor": actor}
        if action == "rate":
            move["rating"] = body.get("rating")
            if body.get("reason"):
                move["reason"] = body["reason"]
        state.transitions.append((tid, move))
        ticket["status"] = {"withdraw": "撤销", "rate": "回访"}[action]
        return web.json_response({"ticket": {**view, "status": ticket["status"]}, "reporter": True})

    async def handoff(request: web.Request) -> web.Response:
        body = await request.json()
        state.handoffs.append((request.match_info["id"], body))
        return web.json_response({"id": request.match_info["id"], "state": "queued"})

    app.router.add_post("/api/v1/locations/resolve", resolve)
    app.router.add_get("/api/v1/services/search", search)
    app.router.add_get("/api/v1/services/{id}", service)
    app.router.add_post("/api/v1/tickets", create_ticket)
    app.router.add_get("/api/v1/tickets/{id}", get_ticket)
    app.router.add_post("/api/v1/tickets/{id}/transitions", transition)
    app.router.add_post("/api/v1/tickets/{id}/resident", resident)
    app.router.add_post("/api/v1/conversations/{id}/handoff", handoff)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8080)
    web.run_app(create_app(FakeRouter()), host="127.0.0.1", port=parser.parse_args().port)
