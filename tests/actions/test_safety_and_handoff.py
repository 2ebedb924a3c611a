"""Emergency, crisis, handoff and the two-stage fallback."""

from __future__ import annotations

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import safety
from actions.handoff import ActionFallback, ActionHandoff, consecutive_fallbacks
from actions.safety import ActionEmergency, ActionSelfHarm


async def test_emergency_fire_gives_119_first(router, tracker, domain, monkeypatch):
    monkeypatch.setattr(safety, "_emergency", None)  # the entity path, whatever the detector says
    _, client = router
    d = CollectingDispatcher()
    t = tracker("conversation", text="楼道里着火了", intent="emergency",
                entities=[{"entity": "emergency_type", "value": "fire"}])
    assert await ActionEmergency(client).run(d, t, domain) == []
    assert [m["response"] for m in d.messages] == ["utter_emergency_119", "utter_emergency_followup"]
    assert "119" in domain["responses"]["utter_emergency_119"][0]["text"]


async def test_emergency_without_any_source_lists_all_numbers(dead_client, tracker, domain, monkeypatch):
    monkeypatch.setattr(safety, "_emergency", None)
    d = CollectingDispatcher()
    t = tracker("conversation", text="救命啊", intent="emergency", entities=[])
    await ActionEmergency(dead_client).run(d, t, domain)
    assert d.messages[0]["response"] == "utter_emergency_unknown"
    text = domain["responses"]["utter_emergency_unknown"][0]["text"]
    assert all(n in text for n in ("110", "119", "120"))


async def test_emergency_on_voice_is_only_the_number(router, tracker, domain, monkeypatch):
    monkeypatch.setattr(safety, "_emergency", None)
    _, client = router
    d = CollectingDispatcher()
    t = tracker("conversation", text="有人晕倒了", intent="emergency", slots={"channel": "voice"},
                entities=[{"entity": "emergency_type", "value": "medical"}])
    await ActionEmergency(client).run(d, t, domain)
    assert [m["response"] for m in d.messages] == ["utter_emergency_120"]


async def test_self_harm_gives_crisis_lines_and_an_urgent_handoff(router, tracker, domain):
    state, client = router
    d = CollectingDispatcher()
    t = tracker("conversation", text="我不想活了", intent="self_harm")
    events = await ActionSelfHarm(client).run(d, t, domain)
    assert events == [SlotSet("handoff_reason", "self_harm")]
    assert [m["response"] for m in d.messages] == ["utter_self_harm", None]
    # then, on a channel with buttons, the offer of the community's 心理服务室 (the router takes the answer)
    offer = d.messages[1]
    assert "社区心理服务室" in offer["text"]
    assert [b["title"] for b in offer["buttons"]] == ["希望社区心理服务室联系我", "暂时不用"]
    assert offer["buttons"][0]["payload"] == (
        '/referral_consent{"conversation_id": "C00000000000000a1", "answer": "yes"}')
    text = domain["responses"]["utter_self_harm"][0]["text"]
    assert "400-161-9995" in text and "120" in text and "110" in text
    [(conv, body)] = state.handoffs
    assert conv == "C00000000000000a1" and body["reason"] == "self_harm" and body["summary"]["urgent"] is True


async def test_self_harm_when_nobody_can_be_reached_still_gives_the_lines(dead_client, tracker, domain):
    d = CollectingDispatcher()
    await ActionSelfHarm(dead_client).run(d, tracker("conversation", text="想自杀", intent="self_harm"), domain)
    assert [m["response"] for m in d.messages] == ["utter_self_harm", "utter_handoff_unavailable"]


async def test_handoff_sends_a_summary_with_the_ticket_draft(router, tracker, domain):
    state, client = router
    d = CollectingDispatcher()
    t = tracker("ticket_form_active", text="转人工", intent="request_human",
                slots={"contact_phone": "13812345678", "since": "昨天"})
    events = await ActionHandoff(client).run(d, t, domain)
    assert events == [SlotSet("handoff_reason", "request_human"), SlotSet("handoff_due", False),
                      SlotSet("failed_turns", 0)]
    assert d.messages[0]["response"] == "utter_handoff"
    [(conv, body)] = state.handoffs
    s = body["summary"]
    assert conv == "C0123456789abcdef" and body["reason"] == "request_human"
    assert s["intent"] == "report_problem" and s["place"] == "南山区粤海街道"
    assert s["ticket_draft"]["contact_phone"] == "138****5678"
    assert s["ticket_draft"]["problem_text"].startswith("我家楼上半夜装修")


async def test_despair_without_words_of_harm_reaches_a_person_marked_urgent(router, tracker, domain):
    state, client = router
    t = tracker("conversation", text="好累，每天醒来都觉得没有意义，也不知道还能跟谁说", intent="request_human")
    t.latest_message["intake"] = {"outcome": "handoff", "intent": "request_human",
                                  "reasons": ["detector:distress:0.91"]}
    d = CollectingDispatcher()
    events = await ActionHandoff(client).run(d, t, domain)
    assert SlotSet("handoff_reason", "distress") in events
    # care and the support lines first (no 110/120: nobody named harm), then the person, then the 心理服务室 offer
    assert "12356" in d.messages[0]["text"] and "110" not in d.messages[0]["text"]
    assert d.messages[1]["response"] == "utter_handoff"
    assert [b["title"] for b in d.messages[2]["buttons"]] == ["希望社区心理服务室联系我", "暂时不用"]
    [(conv, body)] = state.handoffs
    assert body["reason"] == "distress" and body["summary"]["urgent"] is True
    # despair heard in the words themselves, the same
    said = tracker("conversation", text="我真的好难受，没有人懂我，每天都很痛苦", intent="request_human")
    said.latest_message["intake"] = {"outcome": "handoff", "reasons": ["cues:distress"]}
    await ActionHandoff(client).run(CollectingDispatcher(), said, domain)
    assert state.handoffs[-1][1]["reason"] == "distress" and state.handoffs[-1][1]["summary"]["urgent"] is True
    # a plain request for a person stays one, not urgent
    plain = tracker("conversation", text="转人工", intent="request_human")
    plain.latest_message["intake"] = {"outcome": "handoff", "reasons": ["asks_for_person"]}
    await ActionHandoff(client).run(CollectingDispatcher(), plain, domain)
    assert state.handoffs[-1][1]["reason"] == "request_human" and state.handoffs[-1][1]["summary"]["urgent"] is False


async def test_handoff_with_the_router_down_points_to_12345(dead_client, tracker, domain):
    d = CollectingDispatcher()
    await ActionHandoff(dead_client).run(d, tracker("conversation", text="转人工", intent="request_human"), domain)
    assert d.messages[0]["response"] == "utter_handoff_unavailable"


async def test_first_fallback_asks_to_rephrase_with_likely_intents_first(tracker, domain):
    t = tracker("conversation", text="嗯那个啥", intent="nlu_fallback")
    t.latest_message["intent_ranking"] = [{"name": "nlu_fallback"}, {"name": "check_ticket"},
                                          {"name": "report_problem"}]
    d = CollectingDispatcher()
    events = await ActionFallback().run(d, t, domain)
    assert events == [SlotSet("failed_turns", 1), SlotSet("handoff_due", False)]
    assert [b["payload"] for b in d.messages[0]["buttons"]] == [
        "/check_ticket", "/report_problem", "/ask_service", "/request_human"]


async def test_second_fallback_in_a_row_leads_to_a_person(tracker, domain):
    t = tracker("after_one_fallback")
    assert consecutive_fallbacks(t) == 2
    d = CollectingDispatcher()
    assert await ActionFallback().run(d, t, domain) == [
        SlotSet("failed_turns", 2), SlotSet("handoff_reason", "fallback"), SlotSet("handoff_due", True)]
    assert d.messages == []


async def test_fallback_on_voice_has_no_buttons(tracker, domain):
    d = CollectingDispatcher()
    await ActionFallback().run(d, tracker("conversation", text="呃", intent="nlu_fallback",
                                          slots={"channel": "voice"}), domain)
    assert "buttons" not in d.messages[0] or not d.messages[0]["buttons"]
    assert "😊" not in d.messages[0]["text"] and "http" not in d.messages[0]["text"]


async def test_an_angry_message_we_do_not_understand_goes_to_a_person_at_once(router, tracker, domain):
    state, client = router
    d = CollectingDispatcher()
    t = tracker("conversation", text="打了多少次电话了到底管不管！", intent="nlu_fallback")
    events = await ActionFallback(client).run(d, t, domain)
    assert events == [SlotSet("failed_turns", 1), SlotSet("handoff_reason", "anger"), SlotSet("handoff_due", True)]
    assert d.messages[0]["response"] == "utter_handoff_anger"
    # the rule then runs action_handoff, which tells the router why
    t = tracker("conversation", text="打了多少次电话了到底管不管！", intent="nlu_fallback",
                slots={"handoff_due": True, "handoff_reason": "anger"})
    await ActionHandoff(client).run(CollectingDispatcher(), t, domain)
    assert state.handoffs[0][1]["reason"] == "anger"


def test_ordinary_complaint_heat_is_not_strong_anger():
    from actions.common import is_angry

    assert not is_angry("我家楼上半夜装修吵死了")
    assert not is_angry("商场的滚梯坏了")
    assert is_angry("你们到底管不管，忍无可忍了")


async def test_self_harm_on_the_phone_offers_no_buttons(router, tracker, domain):
    _, client = router
    d = CollectingDispatcher()
    t = tracker("conversation", text="我不想活了", intent="self_harm", slots={"channel": "voice"})
    await ActionSelfHarm(client).run(d, t, domain)
    assert [m["response"] for m in d.messages] == ["utter_self_harm"]
