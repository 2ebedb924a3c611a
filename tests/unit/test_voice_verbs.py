"""The jambonz verbs we answer with, and the validator that stands in for the gateway's own checks."""

from __future__ import annotations

import dataclasses
import os

import pytest

from router.voice import verbs as V
from router.voice.verbs import validate_verbs


def test_built_verbs_are_valid():
    doc = [V.say("您好"), V.gather("/channels/voice/gather?turn=1", "请讲", language="zh-CN"),
           V.dial(V.operator_target("sip:ops@pbx"), "/h"), V.enqueue("hotline", "/h"), V.hangup()]
    assert validate_verbs(doc) == []


def test_recognizer_needs_vendor_and_language():
    g = V.gather("/h", "请讲", language="zh-CN")
    del g["recognizer"]["vendor"]
    assert any("recognizer.vendor" in e for e in validate_verbs([g]))
    g = V.gather("/h", None, language="")
    assert any("recognizer.language" in e for e in validate_verbs([g]))


def test_gather_needs_action_hook_and_input():
    g = V.gather("", "请讲", language="zh-CN")
    g["input"] = ["voice"]
    errors = validate_verbs([g])
    assert any("actionHook" in e for e in errors) and any(".input" in e for e in errors)


def test_speech_gather_without_recognizer_is_refused():
    g = V.gather("/h", "请讲", language="zh-CN")
    del g["recognizer"]
    assert any("recognizer" in e for e in validate_verbs([g]))


def test_say_needs_text_and_unknown_verbs_or_properties_are_refused():
    assert validate_verbs([{"verb": "say", "text": ""}])
    assert validate_verbs([{"verb": "say"}])
    assert validate_verbs([{"verb": "speak", "text": "hi"}])
    assert validate_verbs([{"verb": "say", "text": "hi", "txet": "typo"}])
    assert validate_verbs({"verb": "say", "text": "hi"}) == ["the answer must be a JSON array of verbs"]


def test_dial_targets():
    assert V.operator_target("sip:ops@pbx.example") == {"type": "sip", "sipUri": "sip:ops@pbx.example"}
    assert V.operator_target("+8675512345") == {"type": "phone", "number": "+8675512345"}
    assert V.operator_target("user:desk1") == {"type": "user", "name": "desk1"}
    with pytest.raises(ValueError):
        V.operator_target("not a target")
    assert validate_verbs([{"verb": "dial", "target": []}])
    assert validate_verbs([{"verb": "dial", "target": [{"type": "sip"}]}])
    assert validate_verbs([{"verb": "enqueue"}])


def _voice_options(monkeypatch, **env: str):
    """VoiceOptions as the app builds them: the environment → Settings.from_env → VoiceOptions."""
    from router.channels.voice import VoiceOptions
    from router.settings import Settings

    for name in [n for n in os.environ if n.startswith("VOICE_")]:
        monkeypatch.delenv(name)
    for name, value in {"VOICE_WEBHOOK_USER": "u", "VOICE_WEBHOOK_PASSWORD": "p", **env}.items():
        monkeypatch.setenv(name, value)
    return VoiceOptions.from_settings(Settings.from_env())


def test_operator_queue_setting_chooses_dial_or_enqueue(monkeypatch):
    opts = _voice_options(monkeypatch)
    assert (opts.user, opts.password, opts.asr_vendor, opts.language) == ("u", "p", "default", "zh-CN")
    assert opts.transfer_verb("/h")["target"] == [{"type": "user", "name": "operators"}]
    opts = _voice_options(monkeypatch, VOICE_OPERATOR_QUEUE="queue:hotline", VOICE_DIALOGUE_SECONDS="5",
                          VOICE_SPEECH_RATE="")
    assert opts.transfer_verb("/h") == {"verb": "enqueue", "name": "hotline", "actionHook": "/h"}
    assert opts.dialogue_seconds == 5 and opts.speech_rate == ""
    opts = _voice_options(monkeypatch, VOICE_OPERATOR_QUEUE="+8675588881234")
    assert opts.transfer_verb("/h")["target"] == [{"type": "phone", "number": "+8675588881234"}]


def test_voice_settings_keep_their_variables_and_defaults(monkeypatch):
    from router.channels.voice import VoiceOptions
    from router.settings import Settings

    defaults = _voice_options(monkeypatch)
    assert defaults == dataclasses.replace(VoiceOptions.from_settings(Settings()), user="u", password="p")
    assert (defaults.operator_queue, defaults.caller_id, defaults.speech_rate, defaults.dialogue_seconds,
            defaults.gather_timeout, defaults.min_confidence, defaults.readback) == (
        "operators", "", "slow", 7.0, 10, 0.6, True)
    # Blank means the default, except for the speech rate, where empty switches SSML off.
    blank = _voice_options(monkeypatch, VOICE_OPERATOR_QUEUE="  ", VOICE_LANGUAGE="", VOICE_GATHER_TIMEOUT=" ")
    assert (blank.operator_queue, blank.language, blank.gather_timeout) == ("operators", "zh-CN", 10)
    opts = _voice_options(monkeypatch, VOICE_CALLER_ID=" 075512345 ", VOICE_ASR_VENDOR="tencent",
                          VOICE_LANGUAGE="zh-HK", VOICE_SPEECH_RATE=" medium ", VOICE_GATHER_TIMEOUT="8",
                          VOICE_MIN_CONFIDENCE="0.5", VOICE_READBACK="off")
    assert (opts.caller_id, opts.asr_vendor, opts.language, opts.speech_rate, opts.gather_timeout,
            opts.min_confidence, opts.readback) == ("075512345", "tencent", "zh-HK", "medium", 8, 0.5, False)
    for off in ("0", "false", "no"):
        assert _voice_options(monkeypatch, VOICE_READBACK=off).readback is False
    assert _voice_options(monkeypatch, VOICE_READBACK="yes").readback is True
