"""The jambonz verbs we answer with, and the validator that stands in for the gateway's own checks."""

from __future__ import annotations

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


def test_operator_queue_setting_chooses_dial_or_enqueue():
    from router.channels.voice import VoiceOptions
    from router.settings import Settings

    settings = Settings(voice_user="u", voice_password="p")
    opts = VoiceOptions.from_settings(settings, env={})
    assert (opts.user, opts.password, opts.asr_vendor, opts.language) == ("u", "p", "default", "zh-CN")
    assert opts.transfer_verb("/h")["target"] == [{"type": "user", "name": "operators"}]
    opts = VoiceOptions.from_settings(settings, env={"VOICE_OPERATOR_QUEUE": "queue:hotline",
                                                     "VOICE_DIALOGUE_SECONDS": "5", "VOICE_SPEECH_RATE": ""})
    assert opts.transfer_verb("/h") == {"verb": "enqueue", "name": "hotline", "actionHook": "/h"}
    assert opts.dialogue_seconds == 5 and opts.speech_rate == ""
    opts = VoiceOptions.from_settings(settings, env={"VOICE_OPERATOR_QUEUE": "+8675588881234"})
    assert opts.transfer_verb("/h")["target"] == [{"type": "phone", "number": "+8675588881234"}]
