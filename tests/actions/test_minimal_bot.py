"""bench/minimal_bot/ (the stock-Rasa baseline of bench/capacity.py) is a valid Rasa 3.6 project: `rasa data
validate` accepts it, every intent has examples and every rule names only what the domain has. No training."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

BOT = Path(__file__).resolve().parents[2] / "bench" / "minimal_bot"
RASA = Path(sys.executable).parent / "rasa"


def test_rasa_data_validate_accepts_the_minimal_bot():
    done = subprocess.run([str(RASA), "data", "validate", "--fail-on-warnings", "--config", "config.yml",
                           "--domain", "domain.yml", "--data", "data"],
                          cwd=BOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_minimal_bot_is_chinese_in_memory_and_rest_only():
    config = yaml.safe_load((BOT / "config.yml").read_text(encoding="utf-8"))
    assert config["language"] == "zh"
    assert [c["name"] for c in config["pipeline"]][0] == "JiebaTokenizer"
    assert "." not in "".join(c["name"] for c in config["pipeline"] + config["policies"])  # stock components
    assert not yaml.safe_load((BOT / "endpoints.yml").read_text(encoding="utf-8"))  # no tracker store, no actions
    assert set(yaml.safe_load((BOT / "credentials.yml").read_text(encoding="utf-8"))) == {"rest"}
    domain = yaml.safe_load((BOT / "domain.yml").read_text(encoding="utf-8"))
    assert "actions" not in domain
    nlu = yaml.safe_load((BOT / "data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]
    counts = {b["intent"]: len([x for x in b["examples"].splitlines() if x.strip()]) for b in nlu}
    assert set(counts) == set(domain["intents"]) and min(counts.values()) >= 8
