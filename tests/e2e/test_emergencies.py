"""Emergencies written by an outside author (tests/data/emergencies_dev.jsonl, emergencies_disguised_dev.jsonl)
through POST /api/v1/triage of the running stack: each one happening now is told the right number, also when
it is written like a complaint or a service question; near-misses (the past, a hazard, hearsay, an idiom, a
complaint about an ambulance) are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = (DATA / "emergencies_dev.jsonl", DATA / "emergencies_disguised_dev.jsonl")


def test_emergencies_get_the_right_number_and_near_misses_no_alarm(stack: Stack) -> None:
    rows = [json.loads(line) for path in CASES for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    missed, wrong_number, alarms = [], [], []
    for row in rows:
        status, body = stack.request("POST", "/api/v1/triage", {"text": row["text"], "channel": row["channel"]})
        assert status == 200, body
        if row["expected"] == "emergency":
            if body["outcome"] != "emergency":
                missed.append(row["text"])
            elif body["emergency_number"] != row["number"]:
                wrong_number.append((row["text"], row["number"], body["emergency_number"]))
        elif body["outcome"] == "emergency":
            alarms.append(row["text"])
    emergencies = sum(r["expected"] == "emergency" for r in rows)
    # Measured 180/180 told to call, 179 with the right number, 0/50 alarms (2026-12-03); no miss is allowed.
    assert not missed, f"emergencies not told to call: {missed}"
    assert len(wrong_number) <= emergencies * 0.05, f"wrong number: {wrong_number}"
    assert len(alarms) <= 2, f"alarms on what is not an emergency now: {alarms}"
