"""jambonz verbs the hotline answers with, and a validator written from jambonz's verb schemas.

jambonz rejects a whole application document when one verb is malformed (a ``recognizer`` without
``vendor``, a ``gather`` without ``actionHook``), and the caller then hears silence or a hangup. So every
answer is built here and every test checks it with ``validate_verbs`` — the same rules the gateway applies,
restricted to the verbs and properties we use.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "say",
    "gather",
    "dial",
    "enqueue",
    "hangup",
    "operator_target",
    "validate_verbs",
    "InvalidVerbs",
]

Verb = dict[str, Any]


class InvalidVerbs(ValueError):
    """An answer that jambonz would refuse; the message lists every problem."""


def say(text: str) -> Verb:
    return {"verb": "say", "text": text}


def gather(action_hook: str, prompt: str | None, *, language: str, vendor: str = "default",
           timeout: int = 10, hints: list[str] | None = None) -> Verb:
    """Listen for speech and keys; ``prompt`` is spoken while listening (the caller may barge in)."""
    recognizer: dict[str, Any] = {"vendor": vendor, "language": language}
    if hints:
        recognizer["hints"] = hints
    verb: Verb = {
        "verb": "gather",
        "actionHook": action_hook,
        "input": ["speech", "digits"],
        "timeout": timeout,
        "bargein": True,
        "dtmfBargein": True,
        "finishOnKey": "#",
        "minDigits": 1,
        "maxDigits": 20,
        "interDigitTimeout": 3,
        "recognizer": recognizer,
    }
    if prompt:
        verb["say"] = {"text": prompt}
    return verb


def operator_target(spec: str) -> dict[str, str]:
    """A dial target from VOICE_OPERATOR_QUEUE: ``sip:``/``sips:`` URI, a phone number, or ``user:NAME``."""
    spec = spec.strip()
    if spec.startswith(("sip:", "sips:")):
        return {"type": "sip", "sipUri": spec}
    if spec.startswith("user:"):
        return {"type": "user", "name": spec[5:]}
    digits = spec[1:] if spec.startswith("+") else spec
    if digits.isdigit():
        return {"type": "phone", "number": spec}
    raise ValueError(f"not a dial target: {spec!r}")


def dial(target: dict[str, str], action_hook: str, *, timeout: int = 60, caller_id: str = "") -> Verb:
    verb: Verb = {"verb": "dial", "target": [target], "actionHook": action_hook, "timeout": timeout,
                  "answerOnBridge": True}
    if caller_id:
        verb["callerId"] = caller_id
    return verb


def enqueue(name: str, action_hook: str) -> Verb:
    """Park the caller in a jambonz queue; an operator's phone takes them with ``dequeue``."""
    return {"verb": "enqueue", "name": name, "actionHook": action_hook}


def hangup() -> Verb:
    return {"verb": "hangup"}


# --- validation ---------------------------------------------------------------------------------------

_COMMON = {"verb", "id"}
_ALLOWED: dict[str, set[str]] = {
    "say": _COMMON | {"text", "synthesizer", "loop", "earlyMedia", "disableTtsCache", "instructions", "stream",
                      "closeStreamOnEmpty"},
    "gather": _COMMON | {"actionHook", "input", "finishOnKey", "numDigits", "minDigits", "maxDigits",
                         "interDigitTimeout", "speechTimeout", "timeout", "partialResultHook",
                         "listenDuringPrompt", "dtmfBargein", "bargein", "minBargeinWordCount", "recognizer",
                         "say", "play", "fillerNoise", "actionHookDelayAction"},
    "dial": _COMMON | {"target", "actionHook", "onHoldHook", "answerOnBridge", "callerId", "callerName",
                       "confirmHook", "referHook", "dialMusic", "dtmfCapture", "dtmfHook", "headers",
                       "anchorMedia", "exitMediaPath", "boostAudioSignal", "listen", "transcribe", "timeLimit",
                       "timeout", "proxy", "amd", "dub", "tag", "forwardPAI"},
    "enqueue": _COMMON | {"name", "actionHook", "waitHook", "priority"},
    "hangup": _COMMON | {"headers"},
    "pause": _COMMON | {"length"},
}
_TARGET_FIELD = {"phone": "number", "sip": "sipUri", "user": "name", "teams": "number"}
_NUMERIC = ("timeout", "numDigits", "minDigits", "maxDigits", "interDigitTimeout", "speechTimeout")


def _hook_ok(hook: Any) -> bool:
    if isinstance(hook, str):
        return bool(hook.strip())
    return isinstance(hook, dict) and isinstance(hook.get("url"), str) and bool(hook["url"].strip())


def _check_say(where: str, say_obj: Any, errors: list[str]) -> None:
    if not isinstance(say_obj, dict):
        errors.append(f"{where}: must be an object")
        return
    text = say_obj.get("text")
    if isinstance(text, list):
        if not text or not all(isinstance(t, str) and t.strip() for t in text):
            errors.append(f"{where}.text: a list of non-empty strings")
    elif not isinstance(text, str) or not text.strip():
        errors.append(f"{where}.text: required non-empty string")
    synth = say_obj.get("synthesizer")
    if synth is not None and (not isinstance(synth, dict) or not synth.get("vendor")):
        errors.append(f"{where}.synthesizer: needs a vendor")


def _check_recognizer(where: str, rec: Any, errors: list[str]) -> None:
    if not isinstance(rec, dict):
        errors.append(f"{where}: must be an object")
        return
    if not isinstance(rec.get("vendor"), str) or not rec["vendor"].strip():
        errors.append(f"{where}.vendor: required (\"default\" uses the gateway's own engine)")
    if not isinstance(rec.get("language"), str) or not rec["language"].strip():
        errors.append(f"{where}.language: required, e.g. zh-CN")
    hints = rec.get("hints")
    if hints is not None and (not isinstance(hints, list) or not all(isinstance(h, str) for h in hints)):
        errors.append(f"{where}.hints: a list of strings")


def _check_verb(i: int, v: Any, errors: list[str]) -> None:
    where = f"[{i}]"
    if not isinstance(v, dict):
        errors.append(f"{where}: each verb must be an object")
        return
    name = v.get("verb")
    if name not in _ALLOWED:
        errors.append(f"{where}.verb: unknown or missing verb {name!r}")
        return
    where = f"[{i}] {name}"
    for key in sorted(set(v) - _ALLOWED[name]):
        errors.append(f"{where}: unknown property {key!r}")
    for key in _NUMERIC:
        if key in v and (isinstance(v[key], bool) or not isinstance(v[key], (int, float)) or v[key] < 0):
            errors.append(f"{where}.{key}: must be a non-negative number")
    if name == "say":
        _check_say(where, v, errors)
    elif name == "gather":
        if not _hook_ok(v.get("actionHook")):
            errors.append(f"{where}.actionHook: required")
        inputs = v.get("input")
        if not isinstance(inputs, list) or not inputs or any(x not in ("speech", "digits") for x in inputs):
            errors.append(f"{where}.input: a non-empty list of 'speech' / 'digits'")
        elif "speech" in inputs:
            if "recognizer" not in v:
                errors.append(f"{where}.recognizer: required for speech input (vendor + language)")
        if "recognizer" in v:
            _check_recognizer(f"{where}.recognizer", v["recognizer"], errors)
        if "say" in v:
            _check_say(f"{where}.say", v["say"], errors)
        for key in ("finishOnKey",):
            if key in v and (not isinstance(v[key], str) or len(v[key]) != 1 or v[key] not in "0123456789*#"):
                errors.append(f"{where}.{key}: one DTMF key")
    elif name == "dial":
        targets = v.get("target")
        if not isinstance(targets, list) or not targets:
            errors.append(f"{where}.target: a non-empty list")
        else:
            for j, t in enumerate(targets):
                field = _TARGET_FIELD.get(str(t.get("type"))) if isinstance(t, dict) else None
                if field is None:
                    errors.append(f"{where}.target[{j}].type: one of phone, sip, user, teams")
                elif not isinstance(t.get(field), str) or not t[field].strip():
                    errors.append(f"{where}.target[{j}].{field}: required for type {t['type']}")
        if "actionHook" in v and not _hook_ok(v["actionHook"]):
            errors.append(f"{where}.actionHook: must be a URL")
    elif name == "enqueue":
        if not isinstance(v.get("name"), str) or not v["name"].strip():
            errors.append(f"{where}.name: required queue name")


def validate_verbs(payload: Any) -> list[str]:
    """Every problem jambonz would find in an application document; empty when it is valid."""
    if not isinstance(payload, list):
        return ["the answer must be a JSON array of verbs"]
    errors: list[str] = []
    for i, v in enumerate(payload):
        _check_verb(i, v, errors)
    return errors
