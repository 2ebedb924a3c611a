"""action_submit_ticket / action_stop_ticket / action_ticket_request against a local router."""

from __future__ import annotations

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.tickets import (
    DRAFT_SLOTS,
    ActionRateTicket,
    ActionStopTicket,
    ActionSubmitTicket,
    ActionTicketRequest,
)

FILLED = {"problem_text": "我家楼上半夜装修吵死了", "district": "南山区", "street": "粤海街道",
          "community": "科技园社区", "location_ok": True, "since": "昨天晚上",
          "contact_phone": "13812345678", "ticket_key": "k-42", "requested_slot": None}
CLEARED = [SlotSet(s, None) for s in DRAFT_SLOTS] + [SlotSet("skipped_slots", [])]


async def test_submit_opens_one_ticket_and_replies_with_id_department_and_sla(router, tracker, domain):
    state, client = router
    t = tracker("ticket_form_active", slots=FILLED)
    d = CollectingDispatcher()
    events = await ActionSubmitTicket(client).run(d, t, domain)
    [body] = state.created
    assert body["text"] == "我家楼上半夜装修吵死了" and body["conversation_id"] == "C0123456789abcdef"
    assert body["location"]["community"] == "科技园社区" and body["address"] == "南山区粤海街道科技园社区"
    assert body["contact_phone"] == "13812345678" and body["since"] == "昨天晚上"
    ticket_id = next(iter(state.tickets))
    assert events == [SlotSet("ticket_id", ticket_id), *CLEARED]
    msg = d.messages[0]
    assert msg["response"] == "utter_ticket_created"
    assert msg["ticket_id"] == ticket_id and msg["ticket_id"].startswith("SZ")
    assert msg["department"] == "南山区城市管理和综合执法局"
    assert msg["sla"] == "7天" and msg["phone"] == "138****5678"


async def test_a_retried_submit_never_opens_a_second_ticket(router, tracker, domain):
    state, client = router
    first, second = CollectingDispatcher(), CollectingDispatcher()
    await ActionSubmitTicket(client).run(first, tracker("ticket_form_active", slots=FILLED), domain)
    await ActionSubmitTicket(client).run(second, tracker("ticket_form_active", slots=FILLED), domain)
    assert len(state.tickets) == 1
    assert first.messages[0]["ticket_id"] == second.messages[0]["ticket_id"]


async def test_skipped_phone_reads_as_not_given(router, tracker, domain):
    _, client = router
    d = CollectingDispatcher()
    await ActionSubmitTicket(client).run(d, tracker("ticket_form_active",
                                                    slots={**FILLED, "contact_phone": None}), domain)
    assert d.messages[0]["phone"] == "未留"


async def test_router_down_keeps_the_draft_and_says_so(dead_client, tracker, domain):
    d = CollectingDispatcher()
    events = await ActionSubmitTicket(dead_client).run(d, tracker("ticket_form_active", slots=FILLED), domain)
    assert events == [SlotSet("ticket_key", "k-42")]
    assert d.messages[0]["response"] == "utter_ticket_router_down"


async def test_stop_forgets_the_draft(tracker, domain):
    d = CollectingDispatcher()
    events = await ActionStopTicket().run(d, tracker("ticket_form_active", slots=FILLED), domain)
    assert events == [SlotSet("requested_slot", None), *CLEARED]
    assert d.messages[0]["response"] == "utter_ticket_stopped"


async def test_check_reports_status_department_and_deadline(router, tracker, domain):
    state, client = router
    ticket = state.add_ticket("SZ20261125-000123")
    d = CollectingDispatcher()
    events = await ActionTicketRequest(client).run(
        d, tracker("conversation", slots={"ticket_id": "SZ20261125-000123", "ticket_request": "check"}), domain)
    assert events == [SlotSet("ticket_request", None)]
    msg = d.messages[0]
    assert msg["response"] == "utter_ticket_status" and msg["status"] == "受理"
    assert msg["department"] == "南山区城市管理和综合执法局"
    assert msg["deadline"] == ticket["sla_deadline"].replace("T", " ")[:16]


async def test_unknown_ticket_is_reported_and_forgotten(router, tracker, domain):
    _, client = router
    d = CollectingDispatcher()
    events = await ActionTicketRequest(client).run(
        d, tracker("conversation", slots={"ticket_id": "SZ20260101-000001", "ticket_request": "check"}), domain)
    assert events == [SlotSet("ticket_id", None), SlotSet("ticket_request", None)]
    assert d.messages[0]["response"] == "utter_ticket_not_found"


async def test_withdraw_moves_the_ticket_and_a_closed_one_cannot(router, tracker, domain):
    state, client = router
    state.add_ticket("SZ20261125-000123")
    state.add_ticket("SZ20261125-000124", status="归档")
    d = CollectingDispatcher()
    await ActionTicketRequest(client).run(
        d, tracker("conversation", slots={"ticket_id": "SZ20261125-000123", "ticket_request": "withdraw"}), domain)
    assert state.tickets["SZ20261125-000123"]["status"] == "撤销"
    assert state.transitions[0][1]["action"] == "withdraw"
    assert state.transitions[0][1]["actor"] == "resident:C00000000000000a1"
    assert d.messages[0]["response"] == "utter_ticket_withdrawn"
    d = CollectingDispatcher()
    await ActionTicketRequest(client).run(
        d, tracker("conversation", slots={"ticket_id": "SZ20261125-000124", "ticket_request": "withdraw"}), domain)
    assert d.messages[0]["response"] == "utter_ticket_cannot_withdraw" and d.messages[0]["status"] == "归档"


async def test_only_the_reporter_may_withdraw_a_ticket(router, tracker, domain):
    """A stranger quoting someone else's id cannot withdraw it, the reporter can
    — from another conversation too, once they give the phone number left on the ticket."""
    state, client = router
    state.add_ticket("SZ20261125-000200", conversation_id="Cffffffffffffff01", phone="13900001111")
    request = {"ticket_id": "SZ20261125-000200", "ticket_request": "withdraw"}
    d = CollectingDispatcher()
    events = await ActionTicketRequest(client).run(d, tracker("conversation", slots=request), domain)
    assert d.messages[0]["response"] == "utter_ticket_withdraw_not_owner"
    assert state.tickets["SZ20261125-000200"]["status"] == "受理" and state.transitions == []
    assert events == [SlotSet("ticket_request", None)]
    # a wrong number does not help either
    d = CollectingDispatcher()
    await ActionTicketRequest(client).run(
        d, tracker("conversation", slots=request, text="撤销工单SZ20261125-000200 手机13900002222"), domain)
    assert d.messages[0]["response"] == "utter_ticket_withdraw_not_owner"
    # the reporter, writing from a new conversation with the number they left (spoken with gaps)
    d = CollectingDispatcher()
    await ActionTicketRequest(client).run(
        d, tracker("conversation", slots=request, text="撤销工单SZ20261125-000200 我手机139 0000 1111"), domain)
    assert d.messages[0]["response"] == "utter_ticket_withdrawn"
    assert state.tickets["SZ20261125-000200"]["status"] == "撤销"
    # the action asked the router, with the number the resident gave; it never fetched the full contact
    assert state.resident_requests[-1][1]["phones"] == ["13900001111"]
    assert {"unmask": "1"} not in state.lookups
    d = CollectingDispatcher()
    await ActionTicketRequest(client).run(
        d, tracker("conversation", slots={**request, "ticket_request": "check"}), domain)
    assert "13900001111" not in str(d.messages)


async def test_urge_escalates_only_an_overdue_ticket(router, tracker, domain):
    state, client = router
    state.add_ticket("SZ20261115-000001", overdue=True)
    state.add_ticket("SZ20261125-000002")
    d = CollectingDispatcher()
    await ActionTicketRequest(client).run(
        d, tracker("conversation", slots={"ticket_id": "SZ20261115-000001", "ticket_request": "urge"}), domain)
    assert d.messages[0]["response"] == "utter_ticket_urged_escalated"
    assert state.tickets["SZ20261115-000001"]["status"] == "督办"
    d = CollectingDispatcher()
    await ActionTicketRequest(client).run(
        d, tracker("conversation", slots={"ticket_id": "SZ20261125-000002", "ticket_request": "urge"}), domain)
    assert d.messages[0]["response"] == "utter_ticket_urge_in_time"
    assert state.tickets["SZ20261125-000002"]["status"] == "受理" and len(state.transitions) == 1


async def test_router_down_on_lookup_gives_a_clear_reply(dead_client, tracker, domain):
    d = CollectingDispatcher()
    events = await ActionTicketRequest(dead_client).run(
        d, tracker("conversation", slots={"ticket_id": "SZ20261125-000123", "ticket_request": "check"}), domain)
    assert events == [SlotSet("ticket_request", None)]
    assert d.messages[0]["response"] == "utter_router_down"


async def test_a_ticket_the_router_refuses_is_explained_with_a_way_out(router, tracker, domain):
    state, client = router
    d = CollectingDispatcher()
    events = await ActionSubmitTicket(client).run(
        d, tracker("ticket_form_active", slots={**FILLED, "problem_text": "", "district": None, "street": None,
                                                "community": None}), domain)
    assert state.tickets == {} and events == [SlotSet("ticket_key", "k-42")]
    assert d.messages[0]["response"] == "utter_ticket_rejected"
    assert d.messages[0]["error"] == "text and address are required"
    assert {"title": "转人工", "payload": "/request_human"} in domain["responses"]["utter_ticket_rejected"][0]["buttons"]


async def test_an_angry_report_gets_its_ticket_and_the_offer_of_a_person(router, tracker, domain):
    _, client = router
    t = tracker("ticket_form_active", slots=FILLED)
    t.events.insert(5, {"event": "user", "text": "投诉多少次了都没人管，忍无可忍",
                        "parse_data": {"intent": {"name": "inform"}}})
    d = CollectingDispatcher()
    await ActionSubmitTicket(client).run(d, t, domain)
    assert [m["response"] for m in d.messages] == ["utter_ticket_created", "utter_anger_offer_human"]


async def test_rating_a_resolved_ticket_records_the_follow_up(router, tracker, domain):
    state, client = router
    state.add_ticket("SZ20261125-000123", status="办结")
    d = CollectingDispatcher()
    t = tracker("conversation", text="不满意", intent="rate", slots={"ticket_id": "SZ20261125-000123"})
    assert await ActionRateTicket(client).run(d, t, domain) == []
    assert state.transitions == [("SZ20261125-000123", {"action": "follow_up", "actor": "resident:C00000000000000a1",
                                                         "rating": "不满意"})]
    assert d.messages[0]["response"] == "utter_rate_dissatisfied"


async def test_dissatisfied_without_a_reason_is_asked_why_with_a_skip_button(router, tracker, domain):
    state, client = router
    state.add_ticket("SZ20261125-000123", status="办结")
    d = CollectingDispatcher()
    t = tracker("conversation", text="不满意", intent="rate", slots={"ticket_id": "SZ20261125-000123"})
    await ActionRateTicket(client).run(d, t, domain)
    assert [m["response"] for m in d.messages] == ["utter_rate_dissatisfied", None]
    assert d.messages[1]["text"] == "请说说哪里还不满意，我们转告处理单位"
    assert d.messages[1]["buttons"] == [{"title": "跳过",
                                         "payload": '/reopen_reason_skip{"ticket_id": "SZ20261125-000123"}'}]


async def test_dissatisfied_with_a_reason_passes_it_on_and_does_not_ask(router, tracker, domain):
    state, client = router
    state.add_ticket("SZ20261125-000123", status="办结")
    d = CollectingDispatcher()
    t = tracker("conversation", text="不满意，路灯还是不亮", intent="rate", slots={"ticket_id": "SZ20261125-000123"})
    await ActionRateTicket(client).run(d, t, domain)
    [(tid, move)] = state.transitions
    assert move["rating"] == "不满意" and move.get("reason") == "路灯还是不亮"
    assert [m["response"] for m in d.messages] == ["utter_rate_dissatisfied"]


async def test_rating_a_ticket_still_open_changes_nothing(router, tracker, domain):
    state, client = router
    state.add_ticket("SZ20261125-000123")
    d = CollectingDispatcher()
    t = tracker("conversation", text="满意", intent="rate", slots={"ticket_id": "SZ20261125-000123"},
                entities=[{"entity": "rating", "value": "满意"}])
    await ActionRateTicket(client).run(d, t, domain)
    assert state.tickets["SZ20261125-000123"]["status"] == "受理" and state.transitions == []
    assert d.messages[0]["response"] == "utter_rate_thanks"


async def test_a_stranger_hears_only_the_status_and_cannot_rate(router, tracker, domain):
    state, client = router
    state.add_ticket("SZ20261125-000300", status="办结", conversation_id="Cffffffffffffff02", phone="13900003333")
    d = CollectingDispatcher()
    await ActionTicketRequest(client).run(
        d, tracker("conversation", slots={"ticket_id": "SZ20261125-000300", "ticket_request": "check"}), domain)
    assert d.messages[0]["response"] == "utter_ticket_status_public" and d.messages[0]["status"] == "办结"
    assert "department" not in d.messages[0] and "last" not in d.messages[0]
    d = CollectingDispatcher()
    t = tracker("conversation", text="满意", intent="rate", slots={"ticket_id": "SZ20261125-000300"},
                entities=[{"entity": "rating", "value": "满意"}])
    await ActionRateTicket(client).run(d, t, domain)
    assert d.messages[0]["response"] == "utter_rate_not_owner"
    assert state.tickets["SZ20261125-000300"]["status"] == "办结" and state.transitions == []
