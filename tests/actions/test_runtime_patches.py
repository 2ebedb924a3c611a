"""bot/runtime/serve.py's TED skip: whole conversations through the trained model (models/current.tar.gz) and
the real action server (against tests/actions/fake_router.py) choose exactly the same actions and say exactly
the same things with TED skipped when outvoted as with TED run for every prediction."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore
from rasa.engine import loader
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet
from rasa.utils.endpoints import EndpointConfig

from bot.runtime import serve

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "current.tar.gz"
ACTIONS_TOKEN = "actions-secret"

# sender → the resident's turns: greeting, service questions, a report through its form with skips, an
# emergency, a status question, out of scope, and a few more that end in rules, forms or TED.
CONVERSATIONS: dict[str, list[str]] = {
    "greet-service": ["你好", "怎么办理居住证", "谢谢", "社保卡丢了怎么补办", "好的谢谢", "再见"],
    "report-skips": ["路灯坏了", "/skip", "/skip", "/skip", "好的谢谢"],
    "report-full": ["我家楼下的下水道堵了，臭得不行", "南山区粤海街道科技园社区", "上周开始的", "13812345678",
                    "谢谢"],
    "report-with-place": ["南山区粤海街道科技园社区门口的路灯坏了三天了", "/skip", "13912345678"],
    "emergency": ["救命，楼里着火了", "好的"],
    "medical": ["我爸突然晕倒了，叫不醒"],
    "status": ["我上周报的工单现在怎么样了", "/skip", "谢谢"],
    "out-of-scope": ["今天股票会涨吗", "给我讲个笑话", "你好", "转人工"],
    "mixed": ["你好", "小区噪音太大了晚上睡不着", "算了不报了", "怎么办理护照", "再见"],
}


RANDOM_SLOTS = {"ticket_key"}  # a fresh idempotency key per report (actions/), whatever the dialogue
# Deadlines and ticket numbers carry the clock's date and time, which may move on between the two plays.
CLOCK = re.compile(r"(?<!\d)(\d{4}-?\d{2}-?\d{2}|\d{1,2}-\d{1,2}|\d{1,2}:\d{2}(:\d{2})?)(?!\d)")


def _unclocked(value: Any) -> Any:
    return CLOCK.sub("<clock>", value) if isinstance(value, str) else value


def _wait(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}") from None
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def backends() -> Iterator[str]:
    """A fresh fake router and the real action server on free ports; yields the action endpoint URL."""
    from tests.actions.fake_router import TOKEN
    from tests.e2e.stack import free_ports

    router_port, actions_port = free_ports(2)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACTIONS_TOKEN": ACTIONS_TOKEN,
           "ROUTER_URL": f"http://127.0.0.1:{router_port}", "ROUTER_BOT_TOKEN": TOKEN, "ROUTER_API_TOKEN": TOKEN}
    env.pop("ACTIONS_HOST", None)
    log = open(os.devnull, "wb")  # noqa: SIM115 — closed below
    procs = [subprocess.Popen([sys.executable, "-m", "tests.actions.fake_router", "--port", str(router_port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
             subprocess.Popen([sys.executable, "-m", "actions.server", "--port", str(actions_port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)]
    try:
        _wait(f"http://127.0.0.1:{router_port}/", procs[0])
        _wait(f"http://127.0.0.1:{actions_port}/health", procs[1])
        yield f"http://127.0.0.1:{actions_port}/webhook"
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        log.close()


def _bot_says(event: BotUttered) -> tuple[Any, ...]:
    data = event.data or {}
    return (_unclocked(event.text), repr(data.get("buttons")), _unclocked(repr(data.get("custom"))),
            repr(data.get("elements")))


def play(redis_port: int | None = None) -> dict[str, Any]:
    """Every conversation through a freshly loaded agent: the actions it ran, what it said, the slots set.
    Kept in memory, or with ``redis_port`` in Rasa's Redis tracker store (as patched at the time)."""
    with backends() as webhook:
        agent = Agent.load(str(MODEL), action_endpoint=EndpointConfig(webhook, token=ACTIONS_TOKEN))
        agent.tracker_store = (InMemoryTrackerStore(agent.domain) if redis_port is None else
                               RedisTrackerStore(agent.domain, host="127.0.0.1", port=redis_port))
        agent.processor.tracker_store = agent.tracker_store  # type: ignore[union-attr]

        async def run() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for sender, turns in CONVERSATIONS.items():
                replies = [await agent.handle_text(text, sender_id=sender) for text in turns]
                tracker = await agent.tracker_store.retrieve(sender)
                assert tracker is not None
                out[sender] = {
                    "actions": [(e.action_name, e.policy, e.confidence) for e in tracker.events
                                if isinstance(e, ActionExecuted)],
                    "said": [_bot_says(e) for e in tracker.events if isinstance(e, BotUttered)],
                    "slots": [(e.key, "<random>" if e.key in RANDOM_SLOTS else _unclocked(repr(e.value)))
                              for e in tracker.events if isinstance(e, SlotSet)],
                    "replies": [[(_unclocked(m.get("text")), repr(m.get("buttons"))) for m in r or []]
                                for r in replies],
                }
            return out

        return asyncio.run(run())


@pytest.fixture
def unpatched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa as it is; whatever a test installs is undone afterwards."""
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event

    original = getattr(TEDPolicy.predict_action_probabilities, "original", TEDPolicy.predict_action_probabilities)
    monkeypatch.setattr(TEDPolicy, "predict_action_probabilities", original)
    monkeypatch.setattr(loader, "load_predict_graph_runner",
                        getattr(loader.load_predict_graph_runner, "original", loader.load_predict_graph_runner))
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    monkeypatch.setattr(DaskGraphRunner, "run", getattr(DaskGraphRunner.run, "original", DaskGraphRunner.run))
    from rasa.core import run as rasa_run

    monkeypatch.setattr(rasa_run, "load_agent_on_start",
                        getattr(rasa_run.load_agent_on_start, "original", rasa_run.load_agent_on_start))
    monkeypatch.delenv("GC_FREEZE", raising=False)
    from rasa.core.tracker_store import RedisTrackerStore

    monkeypatch.setattr(RedisTrackerStore, "save", getattr(RedisTrackerStore.save, "original", RedisTrackerStore.save))
    monkeypatch.setattr(RedisTrackerStore, "_retrieve",
                        getattr(RedisTrackerStore._retrieve, "original", RedisTrackerStore._retrieve))
    monkeypatch.delenv("RASA_SERVE_WARM_TRACKERS", raising=False)
    from rasa.core.lock_store import RedisLockStore

    monkeypatch.setattr(RedisLockStore, "lock", getattr(RedisLockStore.lock, "original", RedisLockStore.lock))
    monkeypatch.delenv("RASA_SERVE_ATOMIC_LOCK", raising=False)
    monkeypatch.delenv("RASA_SERVE_SAVE_REPLAY", raising=False)
    monkeypatch.delenv("RASA_SERVE_DASK", raising=False)
    monkeypatch.delenv("RASA_SERVE_TED_SKIP", raising=False)
    monkeypatch.delenv("RASA_SERVE_PATCHES", raising=False)


# Loading the model: Rasa's JiebaTokenizer leaves its user dictionary's file open (not ours to fix).
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.skipif(not MODEL.exists(), reason="no trained model (make model)")
def test_conversations_are_the_same_with_ted_skipped_when_outvoted(unpatched: None, redis_server: Any) -> None:
    """... and with every other fix of install(): the patched worker keeps its conversations in Redis, warm."""
    rasas_ted = TEDPolicy.predict_action_probabilities
    ted_said: list[Any] = []

    def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        prediction = rasas_ted(self, *args, **kwargs)
        ted_said.append(prediction)
        return prediction

    TEDPolicy.predict_action_probabilities = recording  # type: ignore[method-assign]
    try:
        before = play()
    finally:
        TEDPolicy.predict_action_probabilities = rasas_ted  # type: ignore[method-assign]
    # what the skip relies on, as TED really answered: never end to end, never above 1.0, no events
    assert ted_said and all(not p.is_end_to_end_prediction and not p.is_no_user_prediction
                            and p.max_confidence <= 1.0 and not p.events and not p.optional_events
                            for p in ted_said)
    assert serve.install()
    skipping = TEDPolicy.predict_action_probabilities
    planned = DaskGraphRunner.run
    assert getattr(loader.load_predict_graph_runner, "rewires_ted", False)
    warm = RedisTrackerStore._retrieve
    after = play(redis_server.port)
    for sender in CONVERSATIONS:
        assert after[sender] == before[sender], sender
    # the conversations were handed back warm after the first message, and each save appended
    print("tracker store:", warm.counts)  # type: ignore[attr-defined]
    turns = sum(len(t) for t in CONVERSATIONS.values())
    assert warm.counts["warm"] >= turns - len(CONVERSATIONS), warm.counts  # type: ignore[attr-defined]
    assert warm.counts["appended"] >= turns, warm.counts  # type: ignore[attr-defined]
    # the graph ran without dask: planned once per kind of run (NLU, an action prediction, ...), not per run
    print("graph runs without dask:", planned.counts)
    assert planned.counts["ran"] > 50 and 0 < planned.counts["planned"] <= 6, planned.counts
    # the patch was in play: TED was skipped for some predictions, and still ran for others
    print("TED predictions with the patch:", skipping.counts)
    assert skipping.counts["skipped"] > 0 and skipping.counts["ran"] > 0, skipping.counts
    # and the conversations went where they were meant to
    actions = {s: [a for a, _, _ in v["actions"]] for s, v in before.items()}
    assert "ticket_form" in actions["report-skips"]
    assert any(a.startswith("action_") and "emergency" in a for a in actions["emergency"]), actions["emergency"]
    assert all(v["said"] for v in before.values())


@pytest.mark.skipif(not MODEL.exists(), reason="no trained model (make model)")
def test_the_predict_graph_is_rewired_only_for_ted(unpatched: None) -> None:
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.utils.common import TempDirectoryPath, get_temp_dir_name

    with TempDirectoryPath(get_temp_dir_name()) as tmp:
        _, metadata = LocalModelStorage.from_model_archive(Path(tmp), MODEL)
    schema = metadata.predict_schema
    rewired = serve.ted_waits_for_deciding_policies(schema)
    changed = {n for n in schema.nodes if schema.nodes[n] != rewired.nodes[n]}
    assert changed == {"run_TEDPolicy2"}
    extra = {k: v for k, v in rewired.nodes["run_TEDPolicy2"].needs.items()
             if k not in schema.nodes["run_TEDPolicy2"].needs}
    assert extra == {f"{serve.DECIDED_BY}run_MemoizationPolicy0": "run_MemoizationPolicy0",
                     f"{serve.DECIDED_BY}run_RulePolicy1": "run_RulePolicy1"}
    assert "decided_by" not in str(metadata.predict_schema.as_dict())  # the stored schema is left alone


def _prediction(probabilities: list[float], priority: int, **kw: Any) -> Any:
    from rasa.core.policies.policy import PolicyPrediction

    return PolicyPrediction(probabilities, "p", priority, **kw)


def test_ted_is_outvoted_only_when_the_ensemble_cannot_pick_it() -> None:
    from types import SimpleNamespace

    from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecutionRejected, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.from_dict({"intents": ["greet"], "actions": ["action_a", "action_b"],
                               "responses": {"utter_x": [{"text": "x"}]}})
    n = domain.num_actions
    a, b = domain.index_for_action("action_a"), domain.index_for_action("action_b")
    ted = SimpleNamespace(model=object(), only_e2e=False, fake_features={}, priority=1,
                          config={"model_confidence": "softmax"})
    tracker = DialogueStateTracker.from_events("s", [ActionExecuted("action_listen"), UserUttered("hi")])
    rejected = DialogueStateTracker.from_events("s", [ActionExecuted("action_listen"), UserUttered("hi"),
                                                      ActionExecutionRejected("action_a")])

    def onehot(i: int, c: float = 1.0) -> list[float]:
        p = [0.0] * n
        p[i] = c
        return p

    cases = [  # (other predictions, tracker, outvoted?)
        ([_prediction(onehot(a), 6)], tracker, True),                         # rule at 1.0
        ([_prediction(onehot(a), 3)], tracker, True),                         # memoization at 1.0
        ([_prediction(onehot(a, 0.3), 6)], tracker, False),                   # rule's fallback at 0.3
        ([_prediction(onehot(a), 1)], tracker, False),                        # 1.0 but not above TED's priority
        ([_prediction(onehot(a, 0.2), 6, is_no_user_prediction=True)], tracker, True),
        ([_prediction(onehot(a, 0.2), 6, is_end_to_end_prediction=True)], tracker, True),
        ([_prediction(onehot(a), 6)], rejected, False),                       # the ensemble zeroes action_a
        ([_prediction(onehot(b), 6)], rejected, True),
        ([_prediction([0.0] * n, 3), _prediction(onehot(b), 6)], tracker, True),
    ]
    for others, trk, expected in cases:
        assert serve.ted_is_outvoted(ted, others, trk, domain) is expected, (others, expected)
        if expected:  # the ensemble agrees, whatever TED (non-e2e, softmax ≤ 1.0) says, even all on one action
            for ted_says in (onehot(a), onehot(b), onehot(a, 0.99)):
                for at in range(len(others) + 1):
                    preds = [_prediction(list(p.probabilities), p.policy_priority,
                                         is_no_user_prediction=p.is_no_user_prediction,
                                         is_end_to_end_prediction=p.is_end_to_end_prediction) for p in others]
                    ted_pred = _prediction(list(ted_says), 1)
                    ted_pred.policy_name = "TEDPolicy"
                    preds.insert(at, ted_pred)
                    best = DefaultPolicyPredictionEnsemble._best_policy_prediction(preds, trk, domain)
                    assert best.policy_name != "TEDPolicy"
    # a TED that could predict end to end, or without softmax confidences, always runs
    assert not serve.ted_is_outvoted(SimpleNamespace(**{**vars(ted), "only_e2e": True}),
                                     [_prediction(onehot(a), 6)], tracker, domain)
    assert not serve.ted_is_outvoted(SimpleNamespace(**{**vars(ted), "fake_features": {"text": []}}),
                                     [_prediction(onehot(a), 6)], tracker, domain)
    assert not serve.ted_is_outvoted(SimpleNamespace(**{**vars(ted), "config": {"model_confidence": "linear_norm"}}),
                                     [_prediction(onehot(a), 6)], tracker, domain)


def test_the_switch_keeps_ted_running(unpatched: None, monkeypatch: pytest.MonkeyPatch) -> None:
    original = TEDPolicy.predict_action_probabilities
    original_loader = loader.load_predict_graph_runner
    original_run = DaskGraphRunner.run
    monkeypatch.setenv("RASA_SERVE_TED_SKIP", "0")
    monkeypatch.setenv("RASA_SERVE_DASK", "1")
    assert serve.install()  # the other fixes are still applied
    assert TEDPolicy.predict_action_probabilities is original
    assert loader.load_predict_graph_runner is original_loader
    assert DaskGraphRunner.run is original_run
    monkeypatch.setenv("RASA_SERVE_TED_SKIP", "1")
    monkeypatch.setenv("RASA_SERVE_PATCHES", "0")
    assert not serve.install()
    assert TEDPolicy.predict_action_probabilities is original


class _Node:
    """A stand-in for a GraphNode: returns (its name, what it computed) and notes the order it ran in."""

    def __init__(self, name: str, log: list[str], fail: BaseException | None = None) -> None:
        self.name, self.log, self.fail = name, log, fail

    def __call__(self, *inputs: Any) -> tuple[str, Any]:
        self.log.append(self.name)
        if self.fail is not None:
            raise self.fail
        return self.name, (self.name, inputs)


def _runner(needs: dict[str, dict[str, str]], log: list[str], fail: dict[str, BaseException] | None = None) -> Any:
    runner = DaskGraphRunner.__new__(DaskGraphRunner)
    runner._graph_schema = GraphSchema({
        name: SchemaNode(needs=n, uses=object, constructor_name="create", fn="run", config={},
                         is_target=name.startswith("target")) for name, n in needs.items()})
    runner._instantiated_nodes = {name: _Node(name, log, (fail or {}).get(name)) for name in needs}
    runner._execution_context = None  # only logged
    return runner


# a diamond under two targets, a node an input stands in for, a need that names nothing (dask passes the
# string), and a node no target needs
TOY = {"tokens": {"m": "__message__"}, "features": {"t": "tokens"}, "regex": {"t": "tokens", "x": "literal"},
       "intent": {"f": "features", "r": "regex"}, "entities": {"f": "features"},
       "target_a": {"i": "intent", "e": "entities"}, "target_b": {"e": "entities", "tr": "__tracker__"},
       "replaced": {}, "user": {"r": "replaced"}, "unused": {"t": "tokens"}}


@pytest.mark.parametrize("targets", [None, ["target_a"], ["target_b", "target_a"], ["user"], ["entities"]])
def test_the_graph_runs_as_dask_runs_it(unpatched: None, targets: list[str] | None) -> None:
    planned_run = serve.planned_graph_run()
    inputs = {"__message__": ["text"], "__tracker__": "a tracker", "replaced": {"from": "outside"}}
    for _ in range(2):  # planned the first time, from the plan the second
        dask_log: list[str] = []
        plan_log: list[str] = []
        expected = DaskGraphRunner.run(_runner(TOY, dask_log), inputs=dict(inputs), targets=targets)
        got = planned_run(_runner(TOY, plan_log), inputs=dict(inputs), targets=targets)
        assert got == expected and plan_log == dask_log
    assert "unused" not in plan_log and "replaced" not in plan_log
    assert planned_run.counts["planned"] == 2  # a fresh runner each time: its own plan


def test_the_graph_fails_as_dask_fails(unpatched: None) -> None:
    planned_run = serve.planned_graph_run()
    for fail, raised in ((RuntimeError("boom"), GraphRunError), (ValueError("bad"), ValueError)):
        for run in (DaskGraphRunner.run, planned_run):
            with pytest.raises(raised):
                run(_runner(TOY, [], {"features": fail}), inputs={"__message__": [], "__tracker__": 1},
                    targets=["target_a"])
    for run in (DaskGraphRunner.run, planned_run):  # an input whose value names a node
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            run(_runner(TOY, []), inputs={"__message__": "tokens", "__tracker__": 1}, targets=["target_a"])


def test_the_heap_is_frozen_once_the_agent_is_loaded(unpatched: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from rasa.core import run as rasa_run

    loaded = object()

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        return loaded

    monkeypatch.setattr(rasa_run, "load_agent_on_start", load_agent_on_start)
    assert serve.install()
    assert rasa_run.load_agent_on_start is not load_agent_on_start
    gc.unfreeze()
    try:
        assert asyncio.run(rasa_run.load_agent_on_start("model.tar.gz", None, None, None, None)) is loaded
        assert gc.get_freeze_count() > 0  # what was alive is no longer walked by the cyclic GC
    finally:
        gc.unfreeze()
    monkeypatch.setattr(rasa_run, "load_agent_on_start", load_agent_on_start)
    monkeypatch.setenv("GC_FREEZE", "0")
    assert serve.install()
    assert rasa_run.load_agent_on_start is load_agent_on_start


@pytest.fixture
def redis_server() -> Iterator[Any]:
    from tests.conftest import RedisServer  # a throwaway redis-server on a free port

    server = RedisServer()
    server.start()
    yield server
    server.cleanup()


async def test_a_conversation_is_stored_exactly_as_rasa_stores_it(unpatched: None, redis_server: Any) -> None:
    """The same turns saved through Rasa's save and through the one without the replay leave the same JSON in
    Redis after every save: one session (written directly), and a conversation with an earlier session
    that the retrieved tracker lacks (Rasa's merge keeps it, then and now)."""
    from rasa.core.tracker_store import RedisTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SessionStarted, UserUttered

    domain = Domain.empty()
    rasas = RedisTrackerStore(domain, host="127.0.0.1", port=redis_server.port, key_prefix="rasas")
    ours = RedisTrackerStore(domain, host="127.0.0.1", port=redis_server.port, key_prefix="ours")
    rasa_save = RedisTrackerStore.save
    fast_save = serve.tracker_save_without_replay()

    def session_start(t: float) -> list[Any]:
        return [ActionExecuted("action_session_start", timestamp=t), SessionStarted(timestamp=t + 0.01),
                ActionExecuted("action_listen", timestamp=t + 0.02)]

    async def play(sender: str, turns: list[list[Any]]) -> None:
        for events in turns:
            for store, save in ((rasas, rasa_save), (ours, fast_save)):
                tracker = await store.retrieve(sender) or store.init_tracker(sender)
                for event in events:
                    tracker.update(event)
                await save(store, tracker)
            theirs = rasas.red.get(rasas.key_prefix + sender)
            assert theirs is not None and ours.red.get(ours.key_prefix + sender) == theirs

    t = 1_700_000_000.0
    await play("web:one", [session_start(t), [UserUttered("路灯坏了", timestamp=t + 1)],
                           [ActionExecuted("utter_ask_place", timestamp=t + 2),
                            ActionExecuted("action_listen", timestamp=t + 3)],
                           [UserUttered("南山区", timestamp=t + 4)]])
    assert fast_save.counts == {"written": 4, "merged": 0}
    await play("web:two", [session_start(t), [UserUttered("你好", timestamp=t + 1)],
                           session_start(t + 4000), [UserUttered("又是我", timestamp=t + 4001)]])
    assert fast_save.counts["merged"] >= 1  # the retrieved tracker held the last session only
    stored = json.loads(ours.red.get(ours.key_prefix + "web:two"))
    assert [e.get("text") for e in stored["events"] if e["event"] == "user"] == ["你好", "又是我"]


async def test_a_warm_worker_stores_what_rasa_stores_and_hands_back_what_a_replay_builds(
        unpatched: None, redis_server: Any) -> None:
    """Two workers with warm trackers, a conversation's turns alternating between them and one of them failing
    mid-turn, against Rasa's own store on the same turns: the same bytes in Redis after every save, and every
    tracker handed out is in the state a replay of the stored text builds."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SessionStarted, UserUttered
    from rasa.shared.core.trackers import EventVerbosity

    class Warm(RedisTrackerStore):
        pass

    Warm._retrieve, Warm.save = serve.warm_tracker_store()  # type: ignore[method-assign]
    counts = Warm.save.counts  # type: ignore[attr-defined]
    domain = Domain.from_yaml("slots:\n  place:\n    type: text\n    mappings: [{type: custom}]\n")
    rasas = RedisTrackerStore(domain, host="127.0.0.1", port=redis_server.port, key_prefix="rasas")
    one, two = (Warm(domain, host="127.0.0.1", port=redis_server.port, key_prefix="ours") for _ in range(2))

    def session_start(t: float) -> list[Any]:
        return [ActionExecuted("action_session_start", timestamp=t), SessionStarted(timestamp=t + 0.01),
                ActionExecuted("action_listen", timestamp=t + 0.02)]

    async def turn(store: Any, sender: str, events: list[Any], *, fails: bool = False) -> None:
        tracker = await store.retrieve(sender) or await store.create_tracker(sender, append_action_listen=False)
        replayed = await RedisTrackerStore._retrieve(store, sender, False)  # Rasa's own
        assert tracker.current_state(EventVerbosity.ALL) == replayed.current_state(EventVerbosity.ALL)
        for event in events:
            tracker.update(event)
        if not fails:
            await store.save(tracker)

    async def both(sender: str, store: Any, events: list[Any], **kw: Any) -> None:
        await turn(rasas, sender, [] if kw.get("fails") else events)
        await turn(store, sender, events, **kw)
        assert one.red.get(one.key_prefix + sender) == rasas.red.get(rasas.key_prefix + sender)

    t = 1_700_000_000.0
    await both("web:one", one, session_start(t))
    await both("web:one", one, [UserUttered("路灯坏了", timestamp=t + 1), SlotSet("place", "南山区", timestamp=t + 2)])
    assert counts == {"warm": 1, "cold": 0, "appended": 2, "full": 1}  # full: the new, empty conversation
    await both("web:one", two, [ActionExecuted("utter_ask_place", timestamp=t + 3)])  # the other worker
    await both("web:one", one, [UserUttered("科技园", timestamp=t + 4)])  # stale keep: read again
    assert counts["cold"] == 2 and counts["warm"] == 1
    await both("web:one", one, [UserUttered("不会被保存", timestamp=t + 5)], fails=True)
    await both("web:one", one, [UserUttered("不用了", timestamp=t + 6)])  # nothing of the failed turn
    stored = json.loads(one.red.get(one.key_prefix + "web:one"))
    assert [e.get("text") for e in stored["events"] if e["event"] == "user"] == ["路灯坏了", "科技园", "不用了"]
    # a second session: written whole once Rasa's retrieve leaves the first out, then read as Rasa does
    await both("web:two", one, session_start(t) + [UserUttered("你好", timestamp=t + 1)])
    await both("web:two", one, session_start(t + 4000))
    appended = counts["appended"]
    await both("web:two", one, [UserUttered("又是我", timestamp=t + 4001)])
    assert counts["appended"] == appended  # not kept warm: merged as Rasa merges
    stored = json.loads(one.red.get(one.key_prefix + "web:two"))
    assert [e.get("text") for e in stored["events"] if e["event"] == "user"] == ["你好", "又是我"]
    assert counts["warm"] >= 3 and counts["appended"] >= 4 and counts["full"] >= 3, counts
    # a conversation begun with a listen before its first session start (Rasa's create_tracker default):
    # Rasa's retrieve gives back from the session start on, and so does the warm store
    for store in (rasas, one):
        created = store.init_tracker("web:listened")
        for event in [ActionExecuted("action_listen", timestamp=t - 1), *session_start(t)]:
            created.update(event)
        await store.save(created)
    await both("web:listened", one, [UserUttered("你好", timestamp=t + 1)])
    await both("web:listened", one, [UserUttered("还在吗", timestamp=t + 2)])
    # a model loaded since (Rasa gives the store the new domain): read again, with the new domain's slots
    await both("web:three", one, session_start(t))
    cold = counts["cold"]
    one.domain = Domain.from_yaml("slots:\n  district:\n    type: text\n    mappings: [{type: custom}]\n")
    tracker = await one.retrieve("web:three")
    assert counts["cold"] == cold + 1 and "district" in tracker.slots


def test_new_events_are_appended_as_json_dumps_writes_the_whole() -> None:
    events = [{"event": "user", "text": "路灯坏了 \"三天\"", "timestamp": 1.5}, {"event": "action", "name": "x"}]
    name = "web:居民\n1"
    whole = json.dumps({"events": events, "name": name})

    def applied(stored: str, new: list[Any]) -> str | None:
        change = serve.spliced(stored, name, new)
        return None if change is None else stored[:change[0]] + change[1]

    assert applied(json.dumps({"events": [], "name": name}), events) == whole
    assert applied(json.dumps({"events": events[:1], "name": name}), events[1:]) == whole
    assert applied(whole, []) == whole
    assert serve.spliced(whole, "another", events) is None  # not this conversation's text: written whole
    assert serve.spliced('{"name": "x", "events": []}', "x", events) is None


async def test_a_conversations_lock_lets_one_message_in_at_a_time_in_the_order_they_came(
        unpatched: None, redis_server: Any) -> None:
    """Two workers, 30 messages of one conversation at once: one inside at a time, in the order their tickets
    were taken, none lost; other conversations do not wait; nothing is left in Redis afterwards."""
    from rasa.core.lock_store import RedisLockStore

    class Atomic(RedisLockStore):
        pass

    Atomic.lock = serve.atomic_ticket_lock()  # type: ignore[method-assign]
    workers = [Atomic(host="127.0.0.1", port=redis_server.port, key_prefix="rsalock") for _ in range(2)]
    inside: list[str] = []
    entered: list[int] = []
    overlaps = 0

    async def message(i: int) -> None:
        nonlocal overlaps
        async with workers[i % 2].lock("web:one"):
            entered.append(i)
            inside.append("web:one")
            overlaps += inside.count("web:one") > 1
            await asyncio.sleep(0.002)
            inside.remove("web:one")

    tasks = []
    for i in range(30):  # each takes its ticket in this order (the first step runs before the next task starts)
        tasks.append(asyncio.create_task(message(i)))
        await asyncio.sleep(0)
    started = time.monotonic()
    async with workers[0].lock("web:another"):  # a different conversation goes in at once
        other_waited = time.monotonic() - started
    await asyncio.gather(*tasks)
    assert overlaps == 0 and entered == list(range(30))
    assert other_waited < 0.5
    assert workers[0].red.keys("rsalock*") == []
    assert Atomic.lock.counts["waited"] >= 25  # type: ignore[attr-defined]


async def test_a_dead_workers_ticket_runs_out_and_the_next_message_goes_on(unpatched: None, redis_server: Any) -> None:
    from rasa.core.lock_store import LockError, RedisLockStore

    class Atomic(RedisLockStore):
        pass

    Atomic.lock = serve.atomic_ticket_lock()  # type: ignore[method-assign]
    store = Atomic(host="127.0.0.1", port=redis_server.port, key_prefix="rsalock")
    dead = store.lock("web:one", lock_lifetime=0.3)
    await dead.__aenter__()  # the worker holding it dies: it never gives the ticket back
    started = time.monotonic()
    async with store.lock("web:one", wait_time_in_seconds=0.05):
        waited = time.monotonic() - started
    assert 0.2 < waited < 2.0
    # a message that waits longer than its own ticket lives fails as Rasa's lock fails
    holder = store.lock("web:two", lock_lifetime=5)
    await holder.__aenter__()
    with pytest.raises(LockError):
        async with store.lock("web:two", lock_lifetime=0.2, wait_time_in_seconds=0.05):
            pass
    await holder.__aexit__(None, None, None)
    assert store.red.keys("rsalock*{web:two}*") == []
