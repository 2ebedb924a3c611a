"""A resolved ticket asks its resident, on their own channel, to rate the result (回访)."""

from __future__ import annotations

import json

from router.adapters.conversations import ConversationStore
from router.services.outbound import Outbound

TOKEN = "api-token-for-tests"


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    async def send(self, conversation, reply) -> None:
        self.sent.append((conversation.id, reply))


async def test_resolving_asks_the_resident_to_rate_on_their_channel(aiohttp_client, redis, make_app) -> None:
    conversations = ConversationStore(redis)
    outbound = Outbound()
    app = make_app(api_token=TOKEN, deps={"outbound": outbound})
    wechat = RecordingSender()
    outbound.register("wechat", wechat)  # in place of the WeChat channel's own sender (its outbox)
    client = await aiohttp_client(app, headers={"Authorization": f"Bearer {TOKEN}"})

    conv = await conversations.current("wechat", "openid-7")
    created = await (await client.post("/api/v1/tickets", json={
        "text": "小区路灯坏了", "channel": "wechat", "conversation_id": conv.id,
        "topic": {"l1": "城乡建设", "department": "城市管理和综合执法局", "needs_human_dispatch": True},
        "location": {"district": "南山区", "street": "粤海街道"}})).json()
    tid = created["id"]
    for action in ("dispatch", "accept"):
        r = await client.post(f"/api/v1/tickets/{tid}/transitions", json={"action": action, "actor": "dept:城管"})
        assert r.status == 200, await r.text()
    assert [reply.buttons for _c, reply in wechat.sent] == [()]  # the 派单 notice; nothing to rate yet
    wechat.sent.clear()
    r = await client.post(f"/api/v1/tickets/{tid}/transitions",
                          json={"action": "resolve", "actor": "dept:城管", "reason": "已更换灯泡"})
    assert r.status == 200
    [(conv_id, reply)] = wechat.sent
    assert conv_id == conv.id and tid in reply.text
    assert [b.title for b in reply.buttons] == ["满意", "基本满意", "不满意"]
    payload = reply.buttons[2].payload
    assert payload.startswith("/rate") and json.loads(payload[5:]) == {"rating": "不满意", "ticket_id": tid}
    last = (await conversations.transcript(conv.id))[-1]
    assert last["author"] == "system" and last["buttons"][0]["title"] == "满意"
