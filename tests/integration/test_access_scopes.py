"""The bot's token opens a ticket and acts for the resident, but cannot read, list or move tickets."""

from __future__ import annotations

API, BOT = "internal-token", "bot-token"
BODY = {
    "text": "南山区粤海街道科技园社区路灯坏了好几天", "channel": "web", "conversation_id": "C0123456789abcdef",
    "address": "科技园路1号", "location": {"district": "南山区", "street": "粤海街道"},
    "contact_phone": "13812345678",
}


async def test_each_token_reaches_only_its_routes(aiohttp_client, make_app) -> None:
    client = await aiohttp_client(make_app(api_token=API, bot_token=BOT, ticket_id_key="test-key"))

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    created = await client.post("/api/v1/tickets", json=BODY, headers=auth(BOT))
    assert created.status == 201
    ticket_id, status = (await created.json())["id"], (await created.json())["status"]
    # the ticket id is not the day's first sequence number: the key permutes it
    assert not ticket_id.endswith("-000001")

    for method, path, body in (("GET", f"/api/v1/tickets/{ticket_id}", None), ("GET", "/api/v1/tickets", None),
                               ("POST", f"/api/v1/tickets/{ticket_id}/transitions",
                                {"action": "dispatch", "actor": "bot"}),
                               ("GET", "/api/v1/reports", None)):
        refused = await client.request(method, path, json=body, headers=auth(BOT))
        assert refused.status == 403, path
        assert (await refused.json())["error"]["code"] == "forbidden"
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status == 401, path
    # the resident's own view goes through the resident endpoint, which the bot may call
    own = await client.post(f"/api/v1/tickets/{ticket_id}/resident", headers=auth(BOT),
                            json={"action": "status", "conversation_id": "C0123456789abcdef", "channel": "web"})
    assert own.status == 200
    # the internal token reaches everything, and the ticket is unchanged by the refused move
    got = await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(API))
    assert got.status == 200 and (await got.json())["status"] == status
    wrong = await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth("guess"))
    assert wrong.status == 401
