"""validate_ticket_form / action_ask_location_ok: what the resident is (not) asked, and the events."""

from __future__ import annotations

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import idempotency_key, normalise
from actions.forms import ActionAskLocationOk, ValidateTicketForm, is_substantive_report, merge_place

REPORT = "我家楼上半夜装修吵死了，在南山区粤海街道"


async def test_first_report_fills_problem_and_place_then_asks_for_community(router, tracker, domain):
    state, client = router
    t = tracker("report_first_message")
    d = CollectingDispatcher()
    events = await ValidateTicketForm(client).run(d, t, domain)
    assert events == [
        SlotSet("problem_text", normalise(REPORT)),
        SlotSet("ticket_key", idempotency_key("C0123456789abcdef", "m-001", REPORT)),
        SlotSet("district", "南山区"),
        SlotSet("street", "粤海街道"),
        SlotSet("community", None),
        SlotSet("grid", None),
        SlotSet("landmark", None),
        SlotSet("address", None),
        SlotSet("location_ok", None),
        SlotSet("location_candidates", None),
        SlotSet("requested_slot", "location_ok"),
    ]
    assert state.resolves == [normalise(REPORT)]
    assert d.messages == []


async def test_ask_location_names_the_known_street_and_offers_skip(router, tracker, domain):
    _, client = router
    t = tracker("ticket_form_active")
    d = CollectingDispatcher()
    assert await ActionAskLocationOk(client).run(d, t, domain) == []
    assert d.messages[0]["response"] == "utter_ask_location_detail"
    assert d.messages[0]["place"] == "南山区粤海街道"
    buttons = domain["responses"]["utter_ask_location_detail"][0]["buttons"]
    assert {"title": "跳过", "payload": "/skip"} in buttons


async def test_skipping_the_community_accepts_the_street(router, tracker, domain):
    _, client = router
    t = tracker("ticket_form_active", text="/skip", intent="skip")
    events = await ValidateTicketForm(client).run(CollectingDispatcher(), t, domain)
    assert events == [SlotSet("location_ok", True), SlotSet("location_candidates", None),
                      SlotSet("requested_slot", "since")]


async def test_community_answer_is_resolved_inside_the_known_street(router, tracker, domain):
    state, client = router
    t = tracker("ticket_form_active", text="麻岭社区", intent="inform",
                entities=[{"entity": "community", "value": "麻岭社区"}])
    events = await ValidateTicketForm(client).run(CollectingDispatcher(), t, domain)
    assert state.resolves == ["南山区粤海街道麻岭社区"]
    assert SlotSet("community", "麻岭社区") in events
    assert SlotSet("location_ok", True) in events
    assert events[-1] == SlotSet("requested_slot", "since")


async def test_correction_to_another_street_replaces_the_place_and_asks_again(router, tracker, domain):
    _, client = router
    t = tracker("ticket_form_active", text="不对，是西乡街道", intent="inform",
                entities=[{"entity": "street", "value": "西乡街道"}],
                slots={"community": "科技园社区", "location_ok": True, "requested_slot": "since"})
    events = await ValidateTicketForm(client).run(CollectingDispatcher(), t, domain)
    assert events == [
        SlotSet("district", "宝安区"), SlotSet("street", "西乡街道"), SlotSet("community", None),
        SlotSet("grid", None), SlotSet("landmark", None), SlotSet("address", None),
        SlotSet("location_ok", None), SlotSet("location_candidates", None),
        SlotSet("requested_slot", "location_ok"),
    ]


async def test_correction_to_a_community_is_confirmed_and_the_form_goes_on(router, tracker, domain):
    _, client = router
    t = tracker("ticket_form_active", text="不对，是西乡街道铁仔山社区", intent="inform",
                entities=[{"entity": "street", "value": "西乡街道"},
                          {"entity": "community", "value": "铁仔山社区"}],
                slots={"community": "科技园社区", "location_ok": True, "requested_slot": "since"})
    d = CollectingDispatcher()
    events = await ValidateTicketForm(client).run(d, t, domain)
    assert SlotSet("community", "铁仔山社区") in events and SlotSet("district", "宝安区") in events
    assert events[-1] == SlotSet("requested_slot", "since")
    assert d.messages[0]["response"] == "utter_location_noted"
    assert d.messages[0]["place"] == "宝安区西乡街道铁仔山社区"


async def test_ambiguous_place_offers_the_candidates_as_buttons(router, tracker, domain):
    _, client = router
    t = tracker("ticket_form_active", text="桃源社区", intent="inform",
                entities=[{"entity": "community", "value": "桃源社区"}], slots={"district": None, "street": None})
    events = await ValidateTicketForm(client).run(CollectingDispatcher(), t, domain)
    cands = dict((e["name"], e["value"]) for e in events)["location_candidates"]
    assert len(cands) == 2 and events[-1] == SlotSet("requested_slot", "location_ok")
    d = CollectingDispatcher()
    t2 = tracker("ticket_form_active", slots={"location_candidates": cands, "district": None, "street": None})
    await ActionAskLocationOk(client).run(d, t2, domain)
    assert d.messages[0]["response"] == "utter_ask_location_choice"
    assert [b["title"] for b in d.messages[0]["buttons"]] == ["南山区桃源街道桃源社区", "龙华区民治街道桃源社区"]
    assert d.messages[0]["buttons"][1]["payload"] == (
        '/inform{"district": "龙华区", "street": "民治街道", "community": "桃源社区"}')


async def test_skipped_optional_questions_are_not_asked_again(router, tracker, domain):
    _, client = router
    form = ValidateTicketForm(client)
    t = tracker("ticket_form_active", text="/skip", intent="skip",
                slots={"location_ok": True, "requested_slot": "since"})
    events = await form.run(CollectingDispatcher(), t, domain)
    assert events == [SlotSet("skipped_slots", ["since"]), SlotSet("requested_slot", "contact_phone")]
    t = tracker("ticket_form_active", text="/skip", intent="skip",
                slots={"location_ok": True, "requested_slot": "contact_phone", "skipped_slots": ["since"]})
    events = await form.run(CollectingDispatcher(), t, domain)
    # nothing left to ask: the form completes and the ticket is submitted
    assert events == [SlotSet("skipped_slots", ["since", "contact_phone"]), SlotSet("requested_slot", None)]


async def test_phone_is_taken_from_speech_style_text(router, tracker, domain):
    _, client = router
    t = tracker("ticket_form_active", text="我的电话是 138 1234 5678", intent="inform",
                slots={"location_ok": True, "since": "昨天", "requested_slot": "contact_phone"})
    events = await ValidateTicketForm(client).run(CollectingDispatcher(), t, domain)
    assert events == [SlotSet("contact_phone", "13812345678"), SlotSet("requested_slot", None)]


async def test_a_bad_phone_is_refused_with_a_hint_and_asked_again(router, tracker, domain):
    _, client = router
    t = tracker("ticket_form_active", text="1381234", intent="inform",
                slots={"location_ok": True, "since": "昨天", "requested_slot": "contact_phone"})
    d = CollectingDispatcher()
    events = await ValidateTicketForm(client).run(d, t, domain)
    assert events == [SlotSet("contact_phone", None), SlotSet("requested_slot", "contact_phone")]
    assert d.messages[0]["response"] == "utter_invalid_phone"


async def test_stop_is_not_taken_as_an_answer(router, tracker, domain):
    _, client = router
    t = tracker("ticket_form_active", text="算了", intent="stop", slots={"requested_slot": "since",
                                                                         "location_ok": True})
    events = await ValidateTicketForm(client).run(CollectingDispatcher(), t, domain)
    # only the requested slot again: Rasa rejects the form and the stop rule runs
    assert events == [SlotSet("requested_slot", "since")]


async def test_router_down_falls_back_to_the_nlu_entities(dead_client, tracker, domain):
    t = tracker("report_first_message")
    events = await ValidateTicketForm(dead_client).run(CollectingDispatcher(), t, domain)
    assert SlotSet("district", "南山区") in events and SlotSet("street", "粤海街道") in events
    assert events[-1] == SlotSet("requested_slot", "location_ok")


async def test_bare_announcement_asks_what_happened(router, tracker, domain):
    _, client = router
    t = tracker("report_first_message", text="我要投诉", entities=[])
    events = await ValidateTicketForm(client).run(CollectingDispatcher(), t, domain)
    assert events[-1] == SlotSet("requested_slot", "problem_text")
    assert not any(e["name"] == "problem_text" for e in events)


def test_substantive_report():
    assert not is_substantive_report("我要投诉一下", [])
    assert not is_substantive_report("我要反映个问题，在南山区粤海街道", ["南山区", "粤海街道"])
    assert is_substantive_report("路灯坏了", [])
    assert is_substantive_report(REPORT, ["南山区", "粤海街道"])


def test_merge_place_refines_and_corrects():
    known = {"district": "南山区", "street": "粤海街道", "community": "科技园社区"}
    assert merge_place(known, {"landmark": "腾讯大厦"})["community"] == "科技园社区"
    moved = merge_place(known, {"district": "宝安区", "street": "西乡街道"})
    assert moved["community"] is None and moved["street"] == "西乡街道"


async def test_other_information_while_asked_for_the_phone_is_not_called_a_bad_number(router, tracker, domain):
    _, client = router
    t = tracker("ticket_form_active", text="不对，是西乡街道", intent="inform",
                entities=[{"entity": "street", "value": "西乡街道"}],
                slots={"community": "科技园社区", "location_ok": True, "since": "昨天",
                       "requested_slot": "contact_phone"})
    d = CollectingDispatcher()
    events = await ValidateTicketForm(client).run(d, t, domain)
    assert [m["response"] for m in d.messages] == []
    assert not any(e["name"] == "contact_phone" for e in events)
    assert events[-1] == SlotSet("requested_slot", "location_ok")
