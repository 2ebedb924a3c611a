"""Service search and the channel remembered at session start."""

from __future__ import annotations

import re

from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import find_phone, find_ticket_id, mask_phone, render
from actions.services import ActionServiceSearch
from actions.session import ActionSessionStart


async def test_service_question_answers_best_item_and_offers_the_next_two(router, tracker, domain):
    state, client = router
    d = CollectingDispatcher()
    t = tracker("conversation", text="南山区居住证怎么办", intent="ask_service",
                entities=[{"entity": "district", "value": "南山区"}])
    assert await ActionServiceSearch(client).run(d, t, domain) == []
    assert state.searches == [{"q": "南山区居住证怎么办", "district": "南山区"}]
    answer, others = d.messages
    assert answer["response"] == "utter_service_answer" and answer["name"] == "居住证办理"
    assert answer["department"] == "深圳市公安局"
    assert "南山区行政服务大厅" in answer["where"] and "南山大道2072号" in answer["where"]
    assert [b["title"] for b in others["buttons"]] == ["居住证签注", "居住登记"]


async def test_service_answer_on_voice_has_no_links_and_no_buttons(router, tracker, domain):
    _, client = router
    d = CollectingDispatcher()
    t = tracker("conversation", text="居住证怎么办", intent="ask_service", slots={"channel": "voice"})
    await ActionServiceSearch(client).run(d, t, domain)
    assert len(d.messages) == 1 and "http" not in d.messages[0]["where"]


async def test_service_button_without_words_asks_what_service(router, tracker, domain):
    state, client = router
    d = CollectingDispatcher()
    await ActionServiceSearch(client).run(d, tracker("conversation", text="/ask_service", intent="ask_service"),
                                          domain)
    assert d.messages[0]["response"] == "utter_ask_service_what" and state.searches == []


async def test_nothing_found_and_router_down_are_told_apart(router, dead_client, tracker, domain):
    _, client = router
    d = CollectingDispatcher()
    await ActionServiceSearch(client).run(d, tracker("conversation", text="怎么养猫", intent="ask_service"), domain)
    assert d.messages[0]["response"] == "utter_service_not_found"
    d = CollectingDispatcher()
    await ActionServiceSearch(dead_client).run(d, tracker("conversation", text="居住证", intent="ask_service"),
                                               domain)
    assert d.messages[0]["response"] == "utter_router_down"


async def test_session_start_remembers_the_voice_channel(tracker, domain):
    t = tracker("conversation", slots={"channel": None,
                                       "session_started_metadata": {"channel": "voice", "conversation_id": "C1"}})
    events = await ActionSessionStart().run(CollectingDispatcher(), t, domain)
    assert events == [SessionStarted(), SlotSet("channel", "voice"), ActionExecuted("action_listen")]


EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2705]")


def test_voice_variants_are_short_without_emoji_or_links(domain):
    voiced = 0
    for name, variants in domain["responses"].items():
        for v in variants:
            if any(c.get("value") == "voice" for c in v.get("condition") or []):
                voiced += 1
                assert "http" not in v["text"] and not EMOJI.search(v["text"]), name
                assert len(v["text"]) <= 120, name
                assert not v.get("buttons"), name
    assert voiced >= 20
    assert EMOJI.search(render(domain, "utter_ticket_created", "web", **dict.fromkeys(
        ["ticket_id", "problem", "place", "department", "deadline", "sla", "phone"], "x")))
    assert render(domain, "utter_greet", "voice").startswith("您好，这里是社区民生服务热线")


def test_parsing_helpers():
    assert find_phone("电话 138-1234-5678") == "13812345678"
    assert find_phone("座机0755-86001234") == "0755-86001234"
    assert find_phone("1381234") is None
    assert find_ticket_id("查一下 sz20261125 000123") == "SZ20261125-000123"
    assert mask_phone("13812345678") == "138****5678"
