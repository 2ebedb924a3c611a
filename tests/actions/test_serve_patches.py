"""bot/runtime/serve.py: Rasa judges action-server answers exactly as before, with a validator built once."""

from __future__ import annotations

import jsonschema
import pytest
import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from bot.runtime import serve

ANSWERS = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "ticket_id", "value": "T1"}],
     "responses": [{"text": "已受理", "buttons": [{"title": "查进度", "payload": "/ticket_status"}]}]},
    {"events": [{"event": "followup", "name": "ticket_form"}, {"event": "active_loop", "name": None}]},
    {"events": [{"event": "action", "name": "action_listen", "policy": None, "confidence": 1.0},
                {"event": "bot", "text": "请问在哪个社区？", "data": {"buttons": []}, "metadata": {}},
                {"event": "user", "text": "南山区", "parse_data": {"intent": {"name": "inform", "confidence": 0.9},
                                                                  "entities": []}},
                {"event": "reset_slots"}, {"event": "pause"}, {"event": "resume"}, {"event": "restart"},
                {"event": "session_started", "timestamp": 1.5}, {"event": "slot", "name": "x", "value": [1, {}]}],
     "responses": [{}]},
    {"events": [{"event": "slot"}]},                       # a slot event without its name
    {"events": "SlotSet(ticket_id)"},                      # not a list
    {"responses": "已受理"},                               # not a list
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "ticket_id"}]},                   # no event type
    {"events": [{"event": "user", "text": 5}]},
    {"events": [{"event": "slot", "name": 5, "value": 1}]},  # a name that is not a string
    {"events": [{"event": ["slot"], "name": "x"}]},          # an event type that is not a string
    {"events": [5]},                                         # an event that is not an object
    {"events": None},
    {"responses": [5]},
    {"events": [{"event": "slot", "name": "x", "value": 1}, {"event": "slot", "timestamp": "now", "name": "y"}]},
]
N_ACCEPTED = 4


@pytest.fixture
def action(monkeypatch: pytest.MonkeyPatch) -> RemoteAction:
    # Whatever a test installs is undone afterwards.
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.engine import loader

    monkeypatch.setattr(TEDPolicy, "predict_action_probabilities", TEDPolicy.predict_action_probabilities)
    monkeypatch.setattr(loader, "load_predict_graph_runner", loader.load_predict_graph_runner)
    return RemoteAction("action_open_ticket", EndpointConfig("http://127.0.0.1:1/webhook"))


def _verdict(act: RemoteAction, answer: dict) -> str:
    try:
        act._validate_action_result(answer)
    except jsonschema.ValidationError as e:
        return "rejected: " + e.message
    return "accepted"


def test_every_answer_gets_the_same_verdict_and_message_as_unpatched_rasa(action: RemoteAction) -> None:
    before = [_verdict(action, a) for a in ANSWERS]
    assert serve.install()
    assert getattr(RemoteAction._validate_action_result, "compiled_once", False)
    after = [_verdict(action, a) for a in ANSWERS]
    assert after == before
    assert before[:N_ACCEPTED] == ["accepted"] * N_ACCEPTED
    assert all(v.startswith("rejected: ") and "Failed to validate Action server response" in v
               for v in before[N_ACCEPTED:])


def test_the_quick_check_passes_exactly_what_the_schema_passes() -> None:
    schema = RemoteAction.action_response_format_spec()
    cls = jsonschema.validators.validator_for(schema)
    quick = serve.quick_action_result_check(schema, cls)
    assert quick is not None
    assert [quick(a) for a in ANSWERS] == [cls(schema).is_valid(a) for a in ANSWERS]
    assert [quick(a) for a in ANSWERS] == [True] * N_ACCEPTED + [False] * (len(ANSWERS) - N_ACCEPTED)
    # a schema whose branches do not each fix the event's name is left to the full validator
    loose = {"type": "object", "properties": {"events": {"type": "array", "items": {"oneOf": [{}, {}]}}}}
    assert serve.quick_action_result_check(loose, cls) is None


def _resolved(name: str, **kw: object) -> str:
    try:
        return repr(Event.resolve_by_type(name, **kw))
    except ValueError as e:
        return f"ValueError: {e}"


def test_every_event_type_resolves_to_the_same_class_as_unpatched_rasa(action: RemoteAction) -> None:
    names = sorted({c.type_name for c in all_subclasses(Event)}) + ["topic", "no_such_event"]
    before = [_resolved(n) for n in names] + [_resolved("no_such_event", default=UserUttered)]
    assert serve.install()
    assert getattr(Event.resolve_by_type, "table", None)
    assert [_resolved(n) for n in names] + [_resolved("no_such_event", default=UserUttered)] == before
    assert "ValueError: Unknown event name 'no_such_event'." in before

    class LateEvent(UserUttered):  # an event class imported after the table was built is still found
        type_name = "late_event_for_test"

    assert Event.resolve_by_type("late_event_for_test") is LateEvent
    # Deserialising a tracker's events goes through it.
    assert isinstance(Event.from_parameters({"event": "user", "text": "楼道灯坏了",
                                                "parse_data": {"intent": {"name": "report_problem"}}}), UserUttered)


def test_an_unpinned_rasa_or_the_switch_leaves_rasa_as_it_is(action: RemoteAction,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    original = RemoteAction._validate_action_result
    original_resolve = Event.__dict__["resolve_by_type"]
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    assert not serve.install()
    assert RemoteAction._validate_action_result is original
    assert Event.__dict__["resolve_by_type"] is original_resolve
    monkeypatch.setattr(rasa, "__version__", serve.PINNED_RASA)
    monkeypatch.setenv("RASA_SERVE_PATCHES", "0")
    assert not serve.install()
    assert RemoteAction._validate_action_result is original


def test_the_pinned_version_is_the_locked_one() -> None:
    # Bumping Rasa in requirements/bot.lock must come with a look at the patched method.
    assert rasa.__version__ == serve.PINNED_RASA


def test_how_many_conversations_a_worker_keeps_warm_is_read_from_the_environment() -> None:
    assert serve.warm_trackers_kept("") == 256
    assert serve.warm_trackers_kept(" 1000 ") == 1000
    assert serve.warm_trackers_kept("0") == 0  # off: every message reads and writes the conversation whole
    with pytest.raises(SystemExit, match="number of conversations"):
        serve.warm_trackers_kept("yes")
