"""POST /api/v1/triage on hand-written resident messages the bot was never trained on.

tests/data/triage_blind.jsonl holds ≥ 30 messages per outcome, written as residents of Shenzhen
write and speak on web, WeChat and the phone, without looking at nlu_data/. Every message goes to the
running stack; the confusion table, per-outcome precision/recall and the misclassified messages are
printed, and the test fails when accuracy drops under the measured floor, when an emergency is not
diverted to the right number, or when an emergency is answered as chit-chat.
"""

from __future__ import annotations

from collections import Counter

import pytest

from bench.triage_eval import (
    DANGEROUS_FOR_EMERGENCY,
    DEFAULT_CASES,
    OUTCOMES,
    Case,
    Report,
    evaluate,
    load_cases,
    text_report,
)
from tests.e2e.stack import Stack

# Measured 0.937 (223/238) on the full stack with model 86fb15d9d92fea70 (bench/results/triage.md), minus
# a few points of headroom for retraining noise; raise it as the NLU improves, never lower it to pass.
ACCURACY_FLOOR = 0.90
# Not a measurement but the safety requirement: measured 0.667 with the right number (see triage.md).
EMERGENCY_RECALL_FLOOR = 0.95


def test_the_blind_set_covers_every_outcome_and_channel() -> None:
    cases = load_cases(DEFAULT_CASES)
    per_outcome = Counter(c.outcome for c in cases)
    assert len(cases) >= 210
    assert all(per_outcome[o] >= 30 for o in OUTCOMES), per_outcome
    assert {c.channel for c in cases} == {"web", "wechat", "voice"}
    assert len({c.text for c in cases}) == len(cases), "duplicate messages"
    # The boundaries the outcome vocabulary is about must stay in the set.
    by_text = {c.text: c for c in cases}
    assert by_text["120上周来得太慢了"].outcome == "ticket"
    assert by_text["怎么办理消防安全检查"].outcome == "service_item"
    assert by_text["电梯坏了好几天了"].outcome == "ticket"
    assert by_text["电梯卡住了我被困在里面好害怕"].emergency_number == "119"


def test_the_report_counts_what_the_service_answered() -> None:
    """The scoring itself, against a fake triage that gets exactly one emergency wrong."""
    cases = [Case("着火了", "web", "emergency", "119"), Case("我不想活了", "web", "emergency", "110"),
             Case("你好", "web", "greeting"), Case("转人工", "web", "handoff")]
    answers = {"着火了": ("emergency", "119"), "我不想活了": ("greeting", None), "你好": ("greeting", None),
               "转人工": ("ticket", None)}

    def fake(text: str, channel: str) -> dict:
        outcome, number = answers[text]
        return {"outcome": outcome, "intent": {"name": "x", "confidence": 0.5}, "emergency_number": number}

    report = evaluate(cases, fake)
    assert report.accuracy == 0.5
    assert report.recall("emergency") == 0.5
    assert report.precision("greeting") == 0.5
    assert [v.case.text for v in report.dangerous_misses] == ["我不想活了"]
    assert report.confusion["handoff"]["ticket"] == 1


@pytest.mark.e2e
def test_triage_outcomes_on_blind_messages(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    def triage(text: str, channel: str) -> dict:
        status, body = stack.request("POST", "/api/v1/triage", {"text": text, "channel": channel}, timeout=60)
        assert status == 200, (text, body)
        return body

    report: Report = evaluate(load_cases(DEFAULT_CASES), triage)
    with capsys.disabled():
        print("\n" + text_report(report))

    problems = []
    foreign = sorted({v.outcome for v in report.verdicts} - set(OUTCOMES))
    if foreign:
        problems.append(f"outcomes outside the contract's vocabulary: {foreign}")
    if report.dangerous_misses:
        problems.append(f"emergencies answered as {'/'.join(DANGEROUS_FOR_EMERGENCY)}: " + "; ".join(
            f"{v.case.text!r} → {v.outcome}" for v in report.dangerous_misses))
    if report.emergency_recall_with_number < EMERGENCY_RECALL_FLOOR:
        problems.append(
            f"emergency recall with the right number {report.emergency_recall_with_number:.3f} < "
            f"{EMERGENCY_RECALL_FLOOR}: " + "; ".join(
                f"{v.case.text!r} wants {v.case.emergency_number}, got {v.outcome} {v.emergency_number}"
                for v in report.emergencies if not (v.ok and v.number_ok)))
    if report.accuracy < ACCURACY_FLOOR:
        problems.append(f"overall accuracy {report.accuracy:.3f} < {ACCURACY_FLOOR}")
    assert not problems, "\n".join(problems)
