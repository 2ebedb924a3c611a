"""ticket_lookup_form validation, and the domain/actions contract (every response an action
names exists; every optional question offers a skip button)."""

from __future__ import annotations

import re
from pathlib import Path

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateTicketLookupForm

ACTIONS_DIR = Path(__file__).resolve().parents[2] / "actions"


async def test_ticket_id_typed_with_spaces_is_understood(tracker, domain):
    t = tracker("conversation", text="sz 20261125 000123", intent="inform",
                slots={"requested_slot": "ticket_id"})
    t.active_loop = {"name": "ticket_lookup_form"}
    events = await ValidateTicketLookupForm().run(CollectingDispatcher(), t, domain)
    assert events == [SlotSet("ticket_id", "SZ20261125-000123")]


async def test_something_else_than_an_id_is_refused_with_the_format(tracker, domain):
    t = tracker("conversation", text="就是上次那个", intent="inform", slots={"requested_slot": "ticket_id"})
    t.active_loop = {"name": "ticket_lookup_form"}
    d = CollectingDispatcher()
    events = await ValidateTicketLookupForm().run(d, t, domain)
    assert events == [SlotSet("ticket_id", None)]
    assert d.messages[0]["response"] == "utter_invalid_ticket_id"


def test_every_response_an_action_names_is_in_the_domain(domain):
    named = set()
    for path in ACTIONS_DIR.glob("*.py"):
        named |= set(re.findall(r'"(utter_[a-z0-9_]+)"', path.read_text(encoding="utf-8")))
    assert named, "no responses found: the scan is broken"
    assert named - set(domain["responses"]) == set()


def test_optional_questions_offer_skip_and_everything_offers_stop(domain):
    for name in ("utter_ask_since", "utter_ask_contact_phone", "utter_ask_location_detail"):
        buttons = domain["responses"][name][0]["buttons"]
        assert {"title": "跳过", "payload": "/skip"} in buttons, name
    for name in ("utter_ask_problem_text", "utter_ask_location"):
        assert any(b["payload"] == "/stop" for b in domain["responses"][name][0]["buttons"]), name


def test_session_config(domain):
    assert domain["session_config"] == {"session_expiration_time": 60,
                                        "carry_over_slots_to_new_session": False}
