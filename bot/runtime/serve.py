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

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
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


def install() -> bool:
    """Apply the fixes to the imported Rasa; True when applied."""
    import rasa
    from rasa.core.actions.action import RemoteAction

    if os.environ.get("RASA_SERVE_PATCHES", "1") == "0":
        logger.warning("RASA_SERVE_PATCHES=0: Rasa is served unpatched")
        return False
    if rasa.__version__ != PINNED_RASA:
        logger.warning("Rasa %s is not the pinned %s: served unpatched (check bot/runtime/serve.py against it)",
                       rasa.__version__, PINNED_RASA)
        return False
    from rasa.shared.core.events import Event

    RemoteAction._validate_action_result = compiled_action_result_validator()  # type: ignore[method-assign]
    Event.resolve_by_type = event_type_lookup()  # type: ignore[method-assign]
    return True


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
          f"{'with' if applied else 'without'} the compiled action-answer validator and the event type table",
          flush=True)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *argv]
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
