"""Start Rasa's server with this project's serving-time fixes: `python -m bot.runtime.serve run ...` takes
the same arguments as `rasa run`.

The fixes, for Rasa 3.6.21 only (requirements/bot.lock pins it):

- **Action-server answers are validated with a validator compiled once.** Rasa's
  `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` for every custom
  action it runs; that function checks the (large) events schema against its meta-schema and builds a
  new validator on every call. Profiled under load, that was about a third of a Rasa worker's CPU
  (bench/results/capacity.md). The schema never changes while the server runs, so it is checked once
  and the validator reused. Answers are judged exactly as before: the same schema, the same
  `best_match` error, the same message appended to it.

- **Event types are looked up in a table.** `Event.resolve_by_type` walked every subclass of `Event` (and
  asked `inspect.isabstract` of each) for every event it deserialised — every event of a tracker, every
  turn (bench/results/profile_rasa.md: `all_subclasses` was the fourth busiest frame). The table maps a
  type name to the class the walk would have found first; a name it does not know rebuilds it once
  (an event class imported later), then answers as Rasa did.

- **TED is not run when a higher-priority policy has already decided.** Every action prediction runs the
  three policies of config.yml as nodes of the predict graph, and TEDPolicy's TensorFlow inference is
  the costliest of them (bench/results/profile_rasa.md: TF inference ~39% of a worker's samples; TED
  runs at least twice per message). When the model is loaded, TED's graph node is made to depend on the
  other policies' nodes (their outputs are extra inputs; the stored model and its metadata are left as
  they are), and TED returns all-zero probabilities — what Rasa's TED returns without a model — instead
  of running when Rasa's `DefaultPolicyPredictionEnsemble` provably picks another prediction whatever
  TED would say. That is when another policy's prediction (after the ensemble zeroes an action just
  rejected by `ActionExecutionRejected`, as `_best_policy_prediction` does) is
    * a "no user" prediction (a loop's happy path): no-user predictions overrule the others, and TED
      never makes one; or
    * an end-to-end prediction (RulePolicy's rules matched on the text): those overrule every
      non-end-to-end one, and this TED can make none (below); or
    * at confidence 1.0 from a policy of strictly higher priority than TED's (RulePolicy 6,
      MemoizationPolicy 3, TED 1): TED's softmax confidences are at most 1.0, and the ensemble breaks
      equal confidences by priority.
  TED is still run whenever it could make an end-to-end prediction (it was trained on story text:
  `only_e2e` or text among its `fake_features`), when its confidences are not softmax, and for any
  graph whose ensemble is not Rasa's default one or where something else reads TED's output. What the
  skipped TED would have added besides its probabilities is nothing: it returns no mandatory events,
  its optional events (entities) exist only for end-to-end predictions, and the ensemble keeps the
  optional events and diagnostic data of the winner only. TED's prediction reads the tracker and does
  not change it, so running it later in the graph (after the policies it now depends on) changes
  nothing either. RASA_SERVE_TED_SKIP=0 keeps TED running every time (tests/actions/
  test_runtime_patches.py plays whole conversations both ways and checks they are the same).

- **The model's graph runs without dask.** Each message runs Rasa's predict graph (NLU, then every action
  prediction) through `DaskGraphRunner.run`, which rebuilds the minimal schema for its targets (a recursive
  walk that revisits shared dependencies), builds a dask graph, and has dask's synchronous scheduler order and
  run it — about a tenth of a worker's samples under load (bench/results/profile_rasa.md) for some twenty
  nodes. The replacement plans each (targets, input names) pair once: it asks dask's own scheduler for the
  order, with every node replaced by a stand-in that only notes when it ran, and then calls the same graph
  nodes in that order with the same arguments (each input as the `(name, value)` pair dask gave; a need that
  names nothing in the graph is passed as the literal string, as dask does). Results, exceptions (a
  RuntimeError still becomes GraphRunError) and the clash check on input names are Rasa's.
  RASA_SERVE_DASK=1 keeps dask.

- **A conversation is saved without replaying it twice.** `RedisTrackerStore.save` reads the stored
  conversation back, rebuilds it as a tracker (every event replayed) and merges it with the one being saved
  (replayed again to travel back in time), so that sessions the saved tracker lacks are kept: ~2 ms a save
  for a 47-event conversation, against 0.2 ms for writing it. When the stored events are, as JSON, exactly
  the first events of the tracker being saved — the tracker holds everything stored, as it does whenever
  the conversation has one session — Rasa's merge returns the tracker as it is (its check compares the same
  events), so the stored JSON is written without the rebuild. Anything else (earlier sessions, events that
  do not read back as they were written) goes through Rasa's merge as before. RASA_SERVE_SAVE_REPLAY=1
  keeps Rasa's save.

- **A worker keeps the conversations it served warm, and writes only the new events.** Every message
  costs Rasa a full read of the conversation from Redis — the JSON parsed, every event rebuilt and replayed,
  and the events split by session and replayed once more to keep the last session — and a full write, every
  event turned back into JSON. Both grow with the conversation; profiled under load they were the largest
  part of a worker's CPU after TensorFlow (bench/results/profile_rasa.md). Now a worker keeps the tracker it
  last saved for a conversation (the last RASA_SERVE_WARM_TRACKERS conversations it served, 256 unless set;
  a 10-turn conversation is ~250 KB kept) with the exact text it wrote. When the next message of that
  conversation reaches the same worker (the router keeps a conversation on one worker) and Redis still holds
  that text — compared whole — the kept tracker is handed out as it is: it is the tracker a replay of that
  text builds (with the same domain: a model loaded since leaves every kept tracker cold). It is handed out once (taken from the keep), so no two callers share it; a turn that fails
  before saving leaves nothing behind. Saving appends the new events' JSON to the text last seen, in the form
  `json.dumps` gives the whole (tests compare the two byte for byte), and one Lua script writes only the
  changed end of the text (SETRANGE: Redis' append-only file grows by the new events, not by the whole
  conversation every turn) if the key still holds that text (its SHA-1 compared in Redis); otherwise — another worker wrote since,
  the conversation has an earlier session Rasa's retrieve leaves out, the tracker lost events from its
  front, an event broker is configured — the save above or Rasa's merge runs as before. Only a conversation
  of one session is kept (Rasa's retrieve gives back the whole of it). RASA_SERVE_WARM_TRACKERS=0 turns
  this off.

- **A conversation's lock is one script to take and one to give back.** Rasa's Redis lock store keeps each
  conversation's ticket lock as JSON under one key and, per message, reads and writes it seven times
  (issue a ticket: read, write; check: read; finish: read, write; anyone waiting: read; delete) — seven
  blocking round trips from the event loop, and two workers can interleave between a read and its write and
  lose a ticket. Here the same first-come-first-served ticket lock (tickets in order, each expiring after the
  lock lifetime, TICKET_LOCK_LIFETIME as in Rasa) lives in three keys changed only by Lua scripts: taking a
  ticket (and learning whether it may go at once) is one round trip, giving it back is one. A message behind
  another of the same conversation looks again after 5 ms, then twice as long each time up to 100 ms (or
  Rasa's wait if shorter), where Rasa slept its whole wait (1 s) between looks: a resident's second line
  sent right after the first no longer waits a second behind it. A ticket that ran out while waiting fails as Rasa's does
  (LockError). RASA_SERVE_ATOMIC_LOCK=0 keeps Rasa's lock.

- **The loaded model is taken out of the cyclic GC's walk.** A worker holds millions of objects once the
  model is loaded (TensorFlow's graphs, the featurisers' vocabularies); a full collection walked them all,
  ~400 ms measured with the model loaded alone, a stall of every conversation on that worker whenever it
  came. After the agent is loaded, everything alive is collected once and frozen (`gc.freeze`): it stays,
  freed by reference counting as before, but later collections no longer walk it. GC_FREEZE=0 leaves the
  heap as it is.

A Rasa other than the pinned version is served unpatched, with a warning: the patched method may have
changed. RASA_SERVE_PATCHES=0 serves unpatched too (to compare, or if a patch is ever suspected).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from typing import Any

logger = logging.getLogger(__name__)

PINNED_RASA = "3.6.21"


def compiled_action_result_validator() -> Any:
    """A replacement for RemoteAction._validate_action_result over a validator built once."""
    from jsonschema import exceptions, validators
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, here, instead of on every answer
    validator = cls(schema)
    quick = quick_action_result_check(schema, cls)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        if quick is not None and quick(result):
            return True  # valid: what the full validator would find too
        error = exceptions.best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    _validate_action_result.compiled_once = True  # type: ignore[attr-defined]
    return _validate_action_result


def quick_action_result_check(schema: dict[str, Any], cls: Any) -> Any:
    """A check that passes exactly the action-server answers ``schema`` passes, in a fraction of the time, or
    None if the schema is not of the form it relies on.

    Each event must match exactly one branch of the events schema's `oneOf`, and every branch fixes the event's
    name (`"event": {"const": ...}`), the names all different: an event can only ever match the branch of its
    own name, so the `oneOf` holds exactly when that one branch holds. The full validator tries all 23 branches
    for every event; this one validates the event against the schema with its own branch in place of the
    `oneOf`. What it does not pass (an unknown name, a branch that fails) goes to the full validator, which
    finds Rasa's error.
    """
    import copy

    try:
        events = schema["properties"]["events"]
        item = events["items"]
        branches = item["oneOf"]
        names = [b["properties"]["event"]["const"] for b in branches]
    except (KeyError, TypeError):
        return None
    if events.get("type") != "array" or len(set(names)) != len(names) or set(events) != {"type", "items"}:
        return None
    base = {k: v for k, v in item.items() if k != "oneOf"}
    per_name = {name: cls({**base, "allOf": [branch]}) for name, branch in zip(names, branches, strict=True)}
    rest_schema = copy.deepcopy(schema)
    rest_schema["properties"]["events"] = {"type": "array"}
    rest = cls(rest_schema)

    def quick(result: Any) -> bool:
        if not rest.is_valid(result):  # then it is an object, and its events (if any) a list
            return False
        for event in result.get("events", ()):
            name = event.get("event") if isinstance(event, dict) else None
            check = per_name.get(name) if isinstance(name, str) else None
            if check is None or not check.is_valid(event):
                return False
        return True

    return quick


def event_type_lookup() -> Any:
    """A replacement for Event.resolve_by_type over a table built from the same walk."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    table: dict[str, Any] = {}

    def rebuild() -> None:
        fresh: dict[str, Any] = {}
        for cls in all_subclasses(Event):
            fresh.setdefault(cls.type_name, cls)  # the first in the walk's order, as Rasa's loop returns
        table.clear()
        table.update(fresh)

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        cls = table.get(type_name)
        if cls is None:
            rebuild()
            cls = table.get(type_name)
        if cls is not None:
            return cls
        if type_name == "topic":
            return None  # backwards compatibility to support old TopicSet events (as Rasa)
        if default is not None:
            return default
        raise ValueError(f"Unknown event name '{type_name}'.")

    rebuild()
    resolve_by_type.table = table  # type: ignore[attr-defined]
    return staticmethod(resolve_by_type)


DECIDED_BY = "decided_by__"  # prefix of the inputs that TED's node gets from the other policies' nodes


def ted_waits_for_deciding_policies(schema: Any) -> Any:
    """The predict graph ``schema`` with each TEDPolicy node also fed the other policies' predictions.

    Only where that is safe to act on: the node runs ``TEDPolicy.predict_action_probabilities`` (not a
    subclass such as UnexpecTEDIntentPolicy), is eager (a lazy node would pass the extra inputs to its
    constructor), and its output goes to Rasa's default ensemble and nowhere else. Any other graph is
    returned as it is.
    """
    import dataclasses

    from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
    from rasa.core.policies.policy import Policy
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.engine.graph import GraphSchema

    nodes = dict(schema.nodes)
    policies = [name for name, node in nodes.items()
                if node.fn == "predict_action_probabilities" and isinstance(node.uses, type)
                and issubclass(node.uses, Policy)]
    changed = False
    for name in policies:
        node = nodes[name]
        if node.uses is not TEDPolicy or not node.eager:
            continue
        readers = [other for other in nodes.values() if name in other.needs.values()]
        if not readers or any(r.uses is not DefaultPolicyPredictionEnsemble
                              or r.fn != "combine_predictions_from_kwargs" for r in readers):
            continue
        deciders = {f"{DECIDED_BY}{other}": other for other in policies if nodes[other].uses is not TEDPolicy
                    and name not in nodes[other].needs.values()}
        if deciders:
            nodes[name] = dataclasses.replace(node, needs={**node.needs, **deciders})
            changed = True
    return GraphSchema(nodes) if changed else schema


def ted_is_outvoted(ted: Any, predictions: list[Any], tracker: Any, domain: Any) -> bool:
    """True when DefaultPolicyPredictionEnsemble cannot pick TED's prediction, whatever it is.

    Mirrors ensemble._best_policy_prediction and _pick_best_policy (Rasa 3.6.21): see the module's
    docstring for why each case is decided.
    """
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected
    from rasa.shared.nlu.constants import TEXT
    from rasa.utils.tensorflow.constants import MODEL_CONFIDENCE, SOFTMAX

    if ted.model is None or ted.only_e2e or TEXT in ted.fake_features:
        return False  # TED's own empty answer, or it could make an end-to-end prediction
    if ted.config.get(MODEL_CONFIDENCE) != SOFTMAX:
        return False  # confidences not bounded by 1.0
    last_action = next((e for e in reversed(tracker.events)
                        if isinstance(e, (ActionExecutionRejected, ActionExecuted))), None)
    rejected = None
    if isinstance(last_action, ActionExecutionRejected) and last_action.action_name:
        try:
            rejected = domain.index_for_action(last_action.action_name)
        except Exception:  # noqa: BLE001 — let TED run, and the ensemble answer as it does
            return False
    for p in predictions:
        if not isinstance(p, PolicyPrediction):
            continue
        if p.is_no_user_prediction or p.is_end_to_end_prediction:
            return True  # TED's prediction (neither) is filtered out by the ensemble
        if p.policy_priority <= ted.priority:
            continue
        probabilities = list(p.probabilities)
        if rejected is not None and rejected < len(probabilities):
            probabilities[rejected] = 0.0  # as the ensemble will, before comparing
        if probabilities and max(probabilities) >= 1.0:
            return True
    return False


def ted_skipping_prediction() -> Any:
    """A replacement for TEDPolicy.predict_action_probabilities that answers without running TED when the
    other policies' predictions (inputs named DECIDED_BY…, see ted_waits_for_deciding_policies) decide."""
    from rasa.core.policies.ted_policy import TEDPolicy

    current = TEDPolicy.predict_action_probabilities
    original = getattr(current, "original", current)  # installing twice wraps Rasa's method once
    counts = {"skipped": 0, "ran": 0}

    def predict_action_probabilities(self: Any, tracker: Any, domain: Any, rule_only_data: Any = None,
                                     precomputations: Any = None, **kwargs: Any) -> Any:
        others = [kwargs.pop(k) for k in [k for k in kwargs if k.startswith(DECIDED_BY)]]
        if others and ted_is_outvoted(self, others, tracker, domain):
            counts["skipped"] += 1
            return self._prediction(self._default_predictions(domain))
        counts["ran"] += 1
        return original(self, tracker, domain, rule_only_data=rule_only_data, precomputations=precomputations,
                        **kwargs)

    predict_action_probabilities.counts = counts  # type: ignore[attr-defined]
    predict_action_probabilities.original = original  # type: ignore[attr-defined]
    return predict_action_probabilities


def rewiring_predict_graph_loader() -> Any:
    """A replacement for rasa.engine.loader.load_predict_graph_runner that builds the runner over
    ted_waits_for_deciding_policies(predict schema); the model's metadata is returned as stored."""
    from rasa.engine import loader
    from rasa.engine.graph import ExecutionContext

    original = getattr(loader.load_predict_graph_runner, "original", loader.load_predict_graph_runner)

    def load_predict_graph_runner(storage_path: Any, model_archive_path: Any, model_storage_class: Any,
                                  graph_runner_class: Any) -> Any:
        model_storage, model_metadata = model_storage_class.from_model_archive(
            storage_path=storage_path, model_archive_path=model_archive_path)
        runner = graph_runner_class.create(
            graph_schema=ted_waits_for_deciding_policies(model_metadata.predict_schema),
            model_storage=model_storage,
            execution_context=ExecutionContext(graph_schema=model_metadata.predict_schema,
                                               model_id=model_metadata.model_id),
        )
        return model_metadata, runner

    load_predict_graph_runner.rewires_ted = True  # type: ignore[attr-defined]
    load_predict_graph_runner.original = original  # type: ignore[attr-defined]
    return load_predict_graph_runner


def planned_graph_run() -> Any:
    """A replacement for DaskGraphRunner.run that runs the graph's nodes in the order dask would, without dask
    (see the module's docstring)."""
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    current = DaskGraphRunner.run
    original = getattr(current, "original", current)
    counts = {"planned": 0, "ran": 0}

    def plan(self: Any, targets: tuple[str, ...], input_names: tuple[str, ...]) -> tuple[Any, frozenset[str]]:
        """([(node, its needs in argument order)] in the order dask's synchronous scheduler runs them, the
        names of the nodes in the graph dask would be given)."""
        import dask

        schema = self._graph_schema.minimal_graph_schema(list(targets))
        needs = {name: tuple(node.needs.values()) for name, node in schema.nodes.items()}
        order: list[str] = []

        def stand_in(name: str) -> Any:
            def noted(*_: Any) -> tuple[str, None]:
                order.append(name)
                return name, None
            return noted

        graph: dict[str, Any] = {name: (stand_in(name), *deps) for name, deps in needs.items()}
        for name in input_names:
            graph[name] = (name, None)  # as DaskGraphRunner._add_inputs_to_graph: it replaces a node so named
        dask.get(graph, list(targets))
        counts["planned"] += 1
        return [(name, needs[name]) for name in order], frozenset(needs)

    def run(self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None) -> dict[str, Any]:
        run_targets = targets if targets else self._graph_schema.target_names
        inputs = inputs or {}
        plans = self.__dict__.setdefault("_planned_runs", {})
        key = (tuple(run_targets), tuple(inputs))
        planned = plans.get(key)
        if planned is None:
            planned = plans[key] = plan(self, *key)
        steps, in_graph = planned
        added: set[str] = set()
        for name, value in inputs.items():
            if isinstance(value, str) and (value in in_graph or value in added):
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure "
                    f"that none of the input names passed to the `run` method are the "
                    f"same as node names in the graph schema.")
            added.add(name)
        results: dict[str, Any] = {name: (name, value) for name, value in inputs.items()}
        nodes = self._instantiated_nodes
        try:
            for name, deps in steps:
                results[name] = nodes[name](*[results.get(dep, dep) for dep in deps])
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        counts["ran"] += 1
        return dict(results[target] for target in run_targets)  # each is (node name, output), as dask's

    run.counts = counts  # type: ignore[attr-defined]
    run.original = original  # type: ignore[attr-defined]
    return run


def tracker_save_without_replay() -> Any:
    """A replacement for RedisTrackerStore.save that skips the rebuild-and-merge when the stored events
    are a prefix of the tracker's (see the module's docstring)."""
    import json

    from rasa.core.tracker_store import RedisTrackerStore

    current = RedisTrackerStore.save
    original = getattr(current, "original", current)
    counts = {"written": 0, "merged": 0}

    async def save(self: Any, tracker: Any, timeout: float | None = None) -> str | None:
        await self.stream_events(tracker)
        if not timeout and self.record_exp:
            timeout = self.record_exp
        key = self.key_prefix + tracker.sender_id
        stored = self.red.get(key)
        dialogue = tracker.as_dialogue().as_dict()
        if stored is not None:
            try:
                prior = json.loads(stored).get("events")
            except (ValueError, TypeError, AttributeError):
                prior = None
            if not isinstance(prior, list) or dialogue["events"][: len(prior)] != prior:
                counts["merged"] += 1  # Rasa's own path (RedisTrackerStore.save, 3.6.21)
                merged = self._merge_trackers(self.deserialise_tracker(tracker.sender_id, stored), tracker)
                self.red.set(key, self.serialise_tracker(merged), ex=timeout)
                return None
        counts["written"] += 1
        text = json.dumps(dialogue)  # = serialise_tracker(tracker)
        self.red.set(key, text, ex=timeout)
        return text  # what the key now holds: this tracker, whole (Rasa's save returns nothing)

    save.counts = counts  # type: ignore[attr-defined]
    save.original = original  # type: ignore[attr-defined]
    return save


SPLICE_HEAD = '{"events": ['


def spliced(stored: str, sender_id: str, new_events: list[dict[str, Any]]) -> tuple[int, str] | None:
    """Where and what to write over ``stored`` — the JSON Rasa's `serialise_tracker` wrote for a tracker's
    first events — so that it becomes the JSON of the tracker with ``new_events`` (as dicts) after them:
    (index in ``stored``, text from there to the end); None if ``stored`` is not in that form.

    `json.dumps({"events": [...], "name": ...})` writes each element of the list as `json.dumps` writes it
    alone, joined by ", ": the stored text with the new elements put in before its tail is what a full
    serialisation gives, as long as the old events still serialise as they did (they are the same objects).
    """
    import json

    tail = '], "name": ' + json.dumps(sender_id) + "}"
    if not (stored.startswith(SPLICE_HEAD) and stored.endswith(tail)):
        return None
    at = len(stored) - len(tail)
    if not new_events:
        return at, tail
    joined = ", ".join(json.dumps(e) for e in new_events)
    return at, (joined if at == len(SPLICE_HEAD) else ", " + joined) + tail


# KEYS[1] the conversation; ARGV: SHA-1 of the text the writer last saw there, the byte offset from which it
# changes, the new text from there on, seconds to live (0: none). Written only if the key still holds that
# text: one round trip instead of a read and a write, and only the new bytes go to the append-only file.
_WRITE_IF_UNCHANGED = """
local cur = redis.call('GET', KEYS[1])
if not cur or redis.sha1hex(cur) ~= ARGV[1] then return 0 end
redis.call('SETRANGE', KEYS[1], ARGV[2], ARGV[3])
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) else redis.call('PERSIST', KEYS[1]) end
return 1
"""


def warm_trackers_kept(value: str, default: int = 256) -> int:
    """RASA_SERVE_WARM_TRACKERS: how many conversations a worker keeps warm; empty: the default; 0: none."""
    value = value.strip()
    if not value:
        return default
    if not value.isdigit():
        raise SystemExit(f"RASA_SERVE_WARM_TRACKERS is a number of conversations (0: none), not {value!r}")
    return int(value)


def warm_tracker_store(size: int = 256) -> tuple[Any, Any]:
    """Replacements for RedisTrackerStore._retrieve and .save that keep each worker's last saved tracker of a
    conversation and write only the new events (see the module's docstring). Returns (retrieve, save)."""
    import hashlib
    import itertools
    import math
    from collections import OrderedDict

    from rasa.core.tracker_store import RedisTrackerStore
    from rasa.shared.core.constants import ACTION_SESSION_START_NAME
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import get_trackers_for_conversation_sessions

    original_retrieve = getattr(RedisTrackerStore._retrieve, "original", RedisTrackerStore._retrieve)
    fallback_save = tracker_save_without_replay()
    counts = {"warm": 0, "cold": 0, "appended": 0, "full": 0}

    def parts(events: Any, so_far: int = 0) -> int:
        """Into how many pieces get_trackers_for_conversation_sessions (3.6.21) splits a conversation of
        ``so_far`` pieces when ``events`` follow: every session start begins one, and events before the first
        session start make one of their own. Rasa's retrieve gives back the last piece only."""
        for event in events:
            if isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME:
                so_far += 1
            elif so_far == 0:
                so_far = 1
        return so_far

    def state(self: Any) -> tuple[OrderedDict[str, Any], Any]:
        kept = self.__dict__.get("_rsa_warm")
        if kept is None:
            kept = self.__dict__["_rsa_warm"] = (OrderedDict(), self.red.register_script(_WRITE_IF_UNCHANGED))
        return kept

    def based_on(tracker: Any, text: str, pieces: int) -> None:
        events = tracker.events
        tracker._rsa_base = (text, len(events), events[0] if events else None, events[-1] if events else None,
                             pieces)

    def still_holds(tracker: Any, n: int, first: Any, last: Any) -> bool:
        events = tracker.events
        return len(events) >= n and (n == 0 or (events[0] is first and events[n - 1] is last))

    async def _retrieve(self: Any, sender_id: str, fetch_all_sessions: bool) -> Any:
        stored = self.red.get(self.key_prefix + sender_id)
        kept, _ = state(self)
        warm = kept.pop(sender_id, None)
        if stored is None:
            return None
        if warm is not None:
            domain, tracker = warm
            base = getattr(tracker, "_rsa_base", None)
            if (base is not None and base[0] == stored and domain is self.domain  # not since a model was loaded
                    and len(tracker.events) == base[1] and still_holds(tracker, *base[1:4])):
                counts["warm"] += 1
                return tracker
        counts["cold"] += 1  # Rasa's own path (RedisTrackerStore._retrieve, 3.6.21)
        tracker = self.deserialise_tracker(sender_id, stored)
        pieces = parts(tracker.events)
        if not fetch_all_sessions and pieces > 1:
            return get_trackers_for_conversation_sessions(tracker)[-1]  # replayed only when it splits
        based_on(tracker, stored, pieces)  # it holds every stored event
        return tracker

    async def save(self: Any, tracker: Any, timeout: float | None = None) -> None:
        base = tracker.__dict__.pop("_rsa_base", None)
        if base is not None and self.event_broker is None:
            text, n, first, last, pieces = base
            if still_holds(tracker, n, first, last):
                new = list(itertools.islice(tracker.events, n, None))
                change = spliced(text, tracker.sender_id, [e.as_dict() for e in new])
                if change is not None:
                    at, rest = change
                    written = text[:at] + rest
                    if not timeout and self.record_exp:
                        timeout = self.record_exp
                    kept, write_if_unchanged = state(self)
                    ok = write_if_unchanged(
                        keys=[self.key_prefix + tracker.sender_id],
                        args=[hashlib.sha1(text.encode("utf-8")).hexdigest(),
                              at if text.isascii() else len(text[:at].encode("utf-8")), rest,
                              int(math.ceil(timeout)) if timeout else 0])
                    if ok:
                        counts["appended"] += 1
                        keep(self, tracker, written, parts(new, pieces))
                        return
        counts["full"] += 1
        written = await fallback_save(self, tracker, timeout)
        if written is not None:  # it wrote this tracker whole
            keep(self, tracker, written, parts(tracker.events))

    def keep(self: Any, tracker: Any, written: str, pieces: int) -> None:
        if pieces > 1:  # Rasa's retrieve would give back its last session only: read it back as Rasa does
            return
        based_on(tracker, written, pieces)
        kept, _ = state(self)
        kept[tracker.sender_id] = (self.domain, tracker)  # the text it was saved as is its _rsa_base
        kept.move_to_end(tracker.sender_id)
        while len(kept) > size:
            kept.popitem(last=False)

    _retrieve.counts = save.counts = counts  # type: ignore[attr-defined]
    _retrieve.original = original_retrieve  # type: ignore[attr-defined]
    save.original = fallback_save.original  # type: ignore[attr-defined]
    return _retrieve, save


# A conversation's ticket lock in three keys: a queue of tickets in order (ZSET, score = ticket), each
# ticket's expiry in ms of Redis' clock (HASH) and the last ticket issued (counter). Every step is one
# script, so two workers never interleave inside one (Rasa's lock reads, changes and writes back a JSON).
_TICKET_LOCK_PRELUDE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local expiries = redis.call('HGETALL', KEYS[2])
for i = 1, #expiries, 2 do
  if tonumber(expiries[i + 1]) <= now then
    redis.call('HDEL', KEYS[2], expiries[i]); redis.call('ZREM', KEYS[1], expiries[i])
  end
end
"""
# ARGV: the ticket's lifetime in ms → {ticket, 1 if it may go now}
_TAKE_TICKET = _TICKET_LOCK_PRELUDE + """
local ticket = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], ticket, ticket)
redis.call('HSET', KEYS[2], ticket, now + tonumber(ARGV[1]))
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], 2 * tonumber(ARGV[1])) end
local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
return {ticket, head == tostring(ticket) and 1 or 0}
"""
# ARGV: the ticket → 1 its turn, 0 not yet, -1 it ran out while waiting
_TICKETS_TURN = _TICKET_LOCK_PRELUDE + """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return -1 end
return redis.call('ZRANGE', KEYS[1], 0, 0)[1] == ARGV[1] and 1 or 0
"""
# ARGV: the ticket → the lock's keys deleted when no one else holds a ticket
_RETURN_TICKET = """
redis.call('ZREM', KEYS[1], ARGV[1]); redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) end
return 1
"""


def atomic_ticket_lock(first_wait: float = 0.005, longest_wait: float = 0.1) -> Any:
    """A replacement for RedisLockStore.lock: the same first-come-first-served ticket lock per conversation in
    two Redis round trips and atomic (see the module's docstring)."""
    import asyncio
    from contextlib import asynccontextmanager

    from rasa.core.lock import TicketLock
    from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

    original = getattr(RedisLockStore.lock, "original", RedisLockStore.lock)
    counts = {"at_once": 0, "waited": 0}

    def scripts(self: Any) -> tuple[Any, Any, Any]:
        kept = self.__dict__.get("_rsa_ticket_scripts")
        if kept is None:
            kept = self.__dict__["_rsa_ticket_scripts"] = tuple(
                self.red.register_script(s) for s in (_TAKE_TICKET, _TICKETS_TURN, _RETURN_TICKET))
        return kept

    @asynccontextmanager
    async def lock(self: Any, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> Any:
        take, turn, give_back = scripts(self)
        base = f"{self.key_prefix}{{{conversation_id}}}"
        keys = [base + ":queue", base + ":expiry", base + ":last"]
        try:
            ticket, now = take(keys=keys, args=[max(1, int(lock_lifetime * 1000))])
        except Exception as e:  # as Rasa's issue_ticket
            raise LockError(f"Error while acquiring lock. Error:\n{e}") from e
        try:
            counts["at_once" if now else "waited"] += 1
            wait = first_wait
            while not now:  # behind another ticket: look again soon, then less often
                await asyncio.sleep(min(wait, longest_wait, wait_time_in_seconds))
                wait *= 2
                state = turn(keys=keys[:2], args=[ticket])
                if state < 0:
                    raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
                now = state == 1
            yield TicketLock(conversation_id)
        finally:
            give_back(keys=keys, args=[ticket])

    lock.counts = counts  # type: ignore[attr-defined]
    lock.original = original  # type: ignore[attr-defined]
    return lock


def freezing_agent_loader() -> Any:
    """A replacement for rasa.core.run.load_agent_on_start that freezes the heap once the agent is loaded
    (see the module's docstring)."""
    import gc

    from rasa.core import run

    original = getattr(run.load_agent_on_start, "original", run.load_agent_on_start)

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await original(*args, **kwargs)
        gc.collect()
        gc.freeze()
        logger.info("heap frozen after loading the model: %d objects", gc.get_freeze_count())
        return agent

    load_agent_on_start.original = original  # type: ignore[attr-defined]
    return load_agent_on_start


def install() -> tuple[str, ...]:
    """Apply the fixes to the imported Rasa; what was applied (empty: Rasa is served as it is)."""
    import rasa
    from rasa.core.actions.action import RemoteAction

    if os.environ.get("RASA_SERVE_PATCHES", "1") == "0":
        logger.warning("RASA_SERVE_PATCHES=0: Rasa is served unpatched")
        return ()
    if rasa.__version__ != PINNED_RASA:
        logger.warning("Rasa %s is not the pinned %s: served unpatched (check bot/runtime/serve.py against it)",
                       rasa.__version__, PINNED_RASA)
        return ()
    from rasa.shared.core.events import Event

    RemoteAction._validate_action_result = compiled_action_result_validator()  # type: ignore[method-assign]
    Event.resolve_by_type = event_type_lookup()  # type: ignore[method-assign]
    applied = ["the compiled action-answer validator", "the event type table"]
    if os.environ.get("RASA_SERVE_SAVE_REPLAY", "0") != "1":
        from rasa.core.tracker_store import RedisTrackerStore

        kept = warm_trackers_kept(os.environ.get("RASA_SERVE_WARM_TRACKERS", ""))
        if kept:
            RedisTrackerStore._retrieve, RedisTrackerStore.save = warm_tracker_store(kept)  # type: ignore[method-assign]
            applied.append(f"up to {kept} conversations kept warm, new events appended")
        else:
            RedisTrackerStore._retrieve = getattr(RedisTrackerStore._retrieve, "original",  # type: ignore[method-assign]
                                                  RedisTrackerStore._retrieve)
            RedisTrackerStore.save = tracker_save_without_replay()  # type: ignore[method-assign]
            applied.append("saves without replay")
    if os.environ.get("RASA_SERVE_ATOMIC_LOCK", "1") != "0":
        from rasa.core.lock_store import RedisLockStore

        RedisLockStore.lock = atomic_ticket_lock()  # type: ignore[method-assign]
        applied.append("one-script ticket locks")
    if os.environ.get("RASA_SERVE_TED_SKIP", "1") != "0":
        from rasa.core.policies.ted_policy import TEDPolicy
        from rasa.engine import loader

        loader.load_predict_graph_runner = rewiring_predict_graph_loader()
        TEDPolicy.predict_action_probabilities = ted_skipping_prediction()  # type: ignore[method-assign]
        applied.append("TED skipped when outvoted")
    if os.environ.get("GC_FREEZE", "1") not in ("0", "false", "no", "off"):
        from rasa.core import run

        run.load_agent_on_start = freezing_agent_loader()
        applied.append("the heap frozen once loaded")
    if os.environ.get("RASA_SERVE_DASK", "0") != "1":
        from rasa.engine.runner.dask import DaskGraphRunner

        DaskGraphRunner.run = planned_graph_run()  # type: ignore[method-assign]
        applied.append("the graph run without dask")
    return tuple(applied)


def keep_deprecation_warnings_off() -> None:
    """Honour PYTHONWARNINGS' ``ignore::DeprecationWarning`` (scripts/run.sh sets it) in spite of Sanic.

    Importing ``sanic.app`` (as Rasa does) puts ``filterwarnings("once", category=DeprecationWarning)`` in
    front of every filter, so each third-party deprecation warning would still be printed once. Importing
    it here first and putting the ignore back on top keeps them off; other warnings are left as they are.
    """
    if "ignore::DeprecationWarning" not in os.environ.get("PYTHONWARNINGS", "").replace(" ", ""):
        return
    import sanic.app  # noqa: F401  (for its filter, which the one below overrides)

    warnings.filterwarnings("ignore", category=DeprecationWarning)


def main(argv: list[str]) -> None:
    keep_deprecation_warnings_off()
    applied = install()
    # In the format of Rasa's own log lines (INFO: the log, not the terminal, under `make run`).
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} INFO     bot.runtime.serve  - Rasa "
          f"{'with ' + ', '.join(applied) if applied else 'as shipped, without serving-time fixes'}", flush=True)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *argv]
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
