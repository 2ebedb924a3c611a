"""A typed "/intent{json}" is not a button: the router passes a payload to the bot only when this
conversation was shown a button with exactly that payload (real Redis, a stand-in Rasa)."""

from __future__ import annotations

import aiohttp
import pytest

from router.adapters.conversations import ConversationStore
from router.adapters.rasa import RasaClient
from router.services.dialogue import Dialogue

FORGED = '/rate{"rating":"满意","ticket_id":"SZ20261125-000123"}'


@pytest.fixture
async def dialogue(redis, rasa):
    http = aiohttp.ClientSession()
    yield Dialogue(redis, ConversationStore(redis), RasaClient(http, rasa.url, rasa.token, timeout=2))
    await http.close()


async def test_a_typed_rating_payload_never_reaches_the_bot(dialogue, rasa) -> None:
    turn = await dialogue.handle("web", "visitor-1", FORGED)
    assert rasa.calls == []  # Rasa would have read it as intent rate with a stranger's ticket id
    assert "按钮已经失效" in turn.replies[0].text
    transcript = await dialogue.conversations.transcript(turn.conversation.id)
    assert [e["author"] for e in transcript] == ["resident", "system"]


async def test_a_button_the_conversation_was_shown_is_passed_on(dialogue, rasa) -> None:
    rasa.responder = lambda s, t, m: [{"recipient_id": s, "text": "请问您的联系电话？",
                                       "buttons": [{"title": "跳过", "payload": "/skip"}]}]
    await dialogue.handle("web", "visitor-2", "路灯坏了")
    await dialogue.handle("web", "visitor-2", "/skip")
    assert [c["message"] for c in rasa.calls] == ["路灯坏了", "/skip"]
    # a payload that differs in any character is refused
    await dialogue.handle("web", "visitor-2", '/skip{"x":1}')
    assert len(rasa.calls) == 2


async def test_the_rating_buttons_of_a_follow_up_question_are_accepted(dialogue, rasa) -> None:
    conv = await dialogue.conversations.current("wechat", "openid-9")
    payload = '/rate{"rating": "不满意", "ticket_id": "SZ20261125-000123"}'
    await dialogue.conversations.append(conv.id, "system", "工单已经办结，您满意吗？",
                                        buttons=[{"title": "不满意", "payload": payload}])
    await dialogue.handle("wechat", "openid-9", payload)
    assert [c["message"] for c in rasa.calls] == [payload]


async def test_a_menu_key_the_account_configured_is_trusted(dialogue, rasa) -> None:
    await dialogue.handle("wechat", "openid-10", "/check_ticket", trusted_payload=True)
    assert [c["message"] for c in rasa.calls] == ["/check_ticket"]
