"""Measure POST /api/v1/triage's outcome on the blind resident messages and write bench/results/triage.md.

    .venv/bin/python bench/triage_eval.py --url http://127.0.0.1:8080 --token $ROUTER_API_TOKEN \
        [--cases tests/data/triage_blind.jsonl] [--out bench/results/triage.md]

The cases (tests/data/triage_blind.jsonl) were written by hand without looking at the bot's training
data: short fragments, angry complaints, elderly spoken style, ASR-style errors, Cantonese-flavoured
Mandarin, traditional characters, emoji, mixed English. Each line is
`{"text", "channel", "outcome", "emergency_number"?}`; emergencies carry the number a resident should ring.

Reported: the confusion table (rows expected, columns got), per-outcome precision/recall/F1, overall
accuracy, emergency recall with and without the right number, emergencies that fell to
out_of_scope/greeting (the dangerous miss), and every misclassified message with the NLU intent and
confidence, so the NLU owners can fix them. The stack must be running; this script creates nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import header, percentile  # noqa: E402

__all__ = [
    "OUTCOMES", "CHANNELS", "EMERGENCY_NUMBERS", "DANGEROUS_FOR_EMERGENCY", "DEFAULT_CASES",
    "Case", "Verdict", "Report", "load_cases", "evaluate", "http_triage", "render_markdown", "main",
]

# The contract's outcome vocabulary (docs/DESIGN.md, item 1), in the order tables are printed.
OUTCOMES = ("service_item", "ticket", "emergency", "handoff", "ticket_status", "out_of_scope", "greeting")
CHANNELS = ("web", "wechat", "voice")
EMERGENCY_NUMBERS = ("110", "119", "120")
# An emergency answered with these tells the resident nothing about danger: the worst possible miss.
DANGEROUS_FOR_EMERGENCY = ("out_of_scope", "greeting")
DEFAULT_CASES = ROOT / "tests" / "data" / "triage_blind.jsonl"

SHORT = {"service_item": "service", "ticket": "ticket", "emergency": "emerg", "handoff": "handoff",
         "ticket_status": "status", "out_of_scope": "oos", "greeting": "greet"}

TriageFn = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Case:
    text: str
    channel: str
    outcome: str
    emergency_number: str | None = None
    alternatives: tuple[str, ...] = ()   # other things a speech recogniser heard (--asr)
    written: str = ""                     # what the resident said, when ``text`` is what ASR heard


@dataclass(frozen=True)
class Verdict:
    case: Case
    outcome: str
    intent: str
    confidence: float
    emergency_number: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.outcome == self.case.outcome

    @property
    def number_ok(self) -> bool:
        return self.case.emergency_number is None or self.emergency_number == self.case.emergency_number


@dataclass
class Report:
    verdicts: list[Verdict]
    confusion: dict[str, Counter[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.confusion = {o: Counter() for o in OUTCOMES}
        for v in self.verdicts:
            self.confusion[v.case.outcome][v.outcome] += 1

    @property
    def columns(self) -> list[str]:
        """The contract's outcomes, plus anything unexpected the service answered (shown, never hidden)."""
        extra = sorted({v.outcome for v in self.verdicts} - set(OUTCOMES))
        return [*OUTCOMES, *extra]

    @property
    def accuracy(self) -> float:
        return sum(v.ok for v in self.verdicts) / len(self.verdicts) if self.verdicts else 0.0

    def support(self, outcome: str) -> int:
        return sum(self.confusion[outcome].values())

    def recall(self, outcome: str) -> float:
        n = self.support(outcome)
        return self.confusion[outcome][outcome] / n if n else 0.0

    def precision(self, outcome: str) -> float:
        predicted = sum(row[outcome] for row in self.confusion.values())
        return self.confusion[outcome][outcome] / predicted if predicted else 0.0

    def f1(self, outcome: str) -> float:
        p, r = self.precision(outcome), self.recall(outcome)
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def emergencies(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.case.outcome == "emergency"]

    @property
    def emergency_recall_with_number(self) -> float:
        e = self.emergencies
        return sum(v.ok and v.number_ok for v in e) / len(e) if e else 0.0

    @property
    def dangerous_misses(self) -> list[Verdict]:
        return [v for v in self.emergencies if v.outcome in DANGEROUS_FOR_EMERGENCY]

    @property
    def misclassified(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.ok]

    @property
    def wrong_numbers(self) -> list[Verdict]:
        return [v for v in self.emergencies if v.ok and not v.number_ok]


# Labels an outside author may add beside the outcome; they are read but do not change the scoring here.
EXTRA_FIELDS = {"crisis", "urgency", "handling", "persona", "style", "asr", "asr_alternatives", "cer",
                "asr_truncated", "asr_tts_dropped", "need"}


def load_cases(path: Path = DEFAULT_CASES, *, asr: bool = False) -> list[Case]:
    """Read and validate the cases; a malformed line raises ValueError naming file and line. ``asr``: use
    what the phone line's recogniser heard (``asr``, ``asr_alternatives``, from bench/phone_line.py)."""
    cases: list[Case] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{where}: not JSON: {exc}") from None
        text, channel, outcome = raw.get("text"), raw.get("channel"), raw.get("outcome")
        number = raw.get("emergency_number")
        if not isinstance(text, str) or not 1 <= len(text) <= 2000:
            raise ValueError(f"{where}: text must be a string of 1..2000 characters")
        if channel not in CHANNELS:
            raise ValueError(f"{where}: channel must be one of {CHANNELS}, got {channel!r}")
        if outcome not in OUTCOMES:
            raise ValueError(f"{where}: outcome must be one of {OUTCOMES}, got {outcome!r}")
        if outcome == "emergency" and number not in EMERGENCY_NUMBERS:
            raise ValueError(f"{where}: an emergency needs emergency_number in {EMERGENCY_NUMBERS}")
        if outcome != "emergency" and number is not None:
            raise ValueError(f"{where}: only emergencies carry an emergency_number")
        unknown = set(raw) - {"text", "channel", "outcome", "emergency_number"} - EXTRA_FIELDS
        if unknown:
            raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
        if asr:
            heard = raw.get("asr")
            if not isinstance(heard, str) or not heard.strip():
                continue  # nothing could be spoken (Latin letters only): not a phone case
            alts = tuple(a["transcript"] for a in raw.get("asr_alternatives") or []
                         if isinstance(a, dict) and a.get("transcript") and a["transcript"] != heard)[:4]
            cases.append(Case(heard[:2000], "voice", outcome, number, alts, text))
            continue
        cases.append(Case(text, channel, outcome, number))
    if not cases:
        raise ValueError(f"{path}: no cases")
    return cases


def evaluate(cases: list[Case], triage: TriageFn) -> Report:
    """Ask `triage(text, channel)` (the response body of POST /api/v1/triage) about every case."""
    verdicts = []
    for case in cases:
        start = time.perf_counter()
        body = triage(case.text, case.channel, case.alternatives) if case.alternatives else triage(case.text, case.channel)
        seconds = time.perf_counter() - start
        intent = body.get("intent") or {}
        verdicts.append(Verdict(case, str(body.get("outcome")), str(intent.get("name")),
                                float(intent.get("confidence") or 0.0), body.get("emergency_number"), seconds))
    return Report(verdicts)


def http_triage(url: str, token: str, *, timeout: float = 60) -> TriageFn:
    """A TriageFn that posts to a running router; any non-200 answer raises with the body."""
    endpoint = url.rstrip("/") + "/api/v1/triage"

    def call(text: str, channel: str, alternatives: tuple[str, ...] = ()) -> dict[str, Any]:
        body: dict[str, Any] = {"text": text, "channel": channel}
        if alternatives:
            body["alternatives"] = list(alternatives)
        data = json.dumps(body, ensure_ascii=False).encode()
        req = urllib.request.Request(endpoint, data=data, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return dict(json.loads(r.read()))
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"triage answered {e.code} for {text!r}: {e.read()[:500]!r}") from None

    return call


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def confusion_table(report: Report) -> str:
    cols = report.columns
    lines = ["| expected \\ got | " + " | ".join(cols) + " | n | recall |",
             "| --- | " + " | ".join("---:" for _ in cols) + " | ---: | ---: |"]
    for o in OUTCOMES:
        row = report.confusion[o]
        cells = [f"**{row[c]}**" if c == o else (str(row[c]) if row[c] else "·") for c in cols]
        lines.append(f"| {o} | " + " | ".join(cells) + f" | {report.support(o)} | {report.recall(o):.3f} |")
    return "\n".join(lines)


def per_outcome_table(report: Report) -> str:
    lines = ["| outcome | n | precision | recall | F1 |", "| --- | ---: | ---: | ---: | ---: |"]
    for o in OUTCOMES:
        lines.append(f"| {o} | {report.support(o)} | {report.precision(o):.3f} | {report.recall(o):.3f} "
                     f"| {report.f1(o):.3f} |")
    return "\n".join(lines)


def summary_lines(report: Report) -> list[str]:
    e = report.emergencies
    return [
        f"- overall accuracy: {report.accuracy:.3f} ({sum(v.ok for v in report.verdicts)}/{len(report.verdicts)})",
        f"- macro-F1 over the 7 outcomes: {sum(report.f1(o) for o in OUTCOMES) / len(OUTCOMES):.3f}",
        f"- emergency recall: {report.recall('emergency'):.3f}; with the right number (110/119/120): "
        f"{report.emergency_recall_with_number:.3f} ({sum(v.ok and v.number_ok for v in e)}/{len(e)})",
        f"- emergencies answered out_of_scope/greeting: {len(report.dangerous_misses)}",
    ]


def misclassified_table(report: Report) -> str:
    rows = sorted(report.misclassified, key=lambda v: (OUTCOMES.index(v.case.outcome), v.outcome))
    wrong_number = report.wrong_numbers
    if not rows and not wrong_number:
        return "None."
    lines = ["| text | channel | expected | got | intent (confidence) |", "| --- | --- | --- | --- | --- |"]
    for v in rows:
        expected = v.case.outcome + (f" ({v.case.emergency_number})" if v.case.emergency_number else "")
        got = v.outcome + (f" ({v.emergency_number})" if v.emergency_number else "")
        lines.append(f"| {_cell(v.case.text)} | {v.case.channel} | {expected} | {got} | "
                     f"{v.intent} ({v.confidence:.2f}) |")
    for v in wrong_number:
        lines.append(f"| {_cell(v.case.text)} | {v.case.channel} | emergency ({v.case.emergency_number}) | "
                     f"emergency ({v.emergency_number or 'no number'}) — wrong number | {v.intent} ({v.confidence:.2f}) |")
    return "\n".join(lines)


def text_report(report: Report) -> str:
    """Plain-text version for a terminal (the e2e test prints it)."""
    cols = report.columns
    width = max(len(o) for o in OUTCOMES) + 1
    short = {c: SHORT.get(c, c[:8]) for c in cols}
    out = ["triage outcome — confusion (rows expected, columns got)",
           " " * width + " ".join(f"{short[c]:>8}" for c in cols) + "       n  recall  precision"]
    for o in OUTCOMES:
        row = report.confusion[o]
        out.append(f"{o:<{width}}" + " ".join(f"{row[c]:>8}" for c in cols)
                   + f"  {report.support(o):>6}  {report.recall(o):6.3f}  {report.precision(o):9.3f}")
    out += [line[2:] for line in summary_lines(report)]
    if report.misclassified or report.wrong_numbers:
        out.append("misclassified (expected → got, intent confidence):")
        for v in report.misclassified:
            out.append(f"  [{v.case.channel}] {v.case.text!r}: {v.case.outcome} → {v.outcome} "
                       f"({v.intent} {v.confidence:.2f})")
        for v in report.wrong_numbers:
            out.append(f"  [{v.case.channel}] {v.case.text!r}: number {v.case.emergency_number} → "
                       f"{v.emergency_number or 'no number'} ({v.intent} {v.confidence:.2f})")
    return "\n".join(out)


def _model_name() -> str:
    current = ROOT / "models" / "current.tar.gz"
    return current.resolve().name if current.exists() else "none"


def render_markdown(report: Report, *, cases_path: Path, url: str,
                    title: str = "Triage outcome — blind resident messages") -> str:
    secs = [v.seconds * 1000 for v in report.verdicts]
    channels = Counter(v.case.channel for v in report.verdicts)
    parts = [
        header(title),
        f"- stack: `{url}` (router → Rasa NLU → emergency rules, catalogue, classifier, 属地 resolver); "
        f"model file of this checkout: `{_model_name()}`",
        f"- cases: `{cases_path.relative_to(ROOT) if cases_path.is_relative_to(ROOT) else cases_path}` — "
        f"{len(report.verdicts)} hand-written messages ("
        + ", ".join(f"{c} {channels[c]}" for c in CHANNELS) + "), written without looking at the bot's "
        "training data; expectations are a resident's, not the model's",
        f"- latency per request (sequential, loaded 2-core machine): p50 {percentile(secs, 50):.0f} ms, "
        f"p99 {percentile(secs, 99):.0f} ms",
        "",
        "## Summary",
        "",
        *summary_lines(report),
        "",
        "## Confusion (rows expected, columns got)",
        "",
        confusion_table(report),
        "",
        "## Per outcome",
        "",
        per_outcome_table(report),
        "",
        "## Misclassified messages",
        "",
        misclassified_table(report),
        "",
    ]
    return "\n".join(parts)


def _mask_token(argv: list[str]) -> list[str]:
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--token" and i + 1 < len(out):
            out[i + 1] = "***"
        elif arg.startswith("--token="):
            out[i] = "--token=***"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="router base URL, e.g. http://127.0.0.1:8080")
    ap.add_argument("--token", default=os.environ.get("ROUTER_API_TOKEN"),
                    help="bearer token for the internal API (default: $ROUTER_API_TOKEN)")
    ap.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "triage.md")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per request")
    ap.add_argument("--asr", action="store_true", help="send what the phone line's recogniser heard "
                    "(cases written by bench/phone_line.py) with its alternatives")
    ap.add_argument("--title", default="Triage outcome — blind resident messages")
    args = ap.parse_args(argv)
    if not args.token:
        ap.error("--token or $ROUTER_API_TOKEN is required")
    sys.argv = _mask_token(sys.argv)  # the result file records the command; never the secret
    cases = load_cases(args.cases, asr=args.asr)
    report = evaluate(cases, http_triage(args.url, args.token, timeout=args.timeout))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_markdown(report, cases_path=args.cases.resolve(), url=args.url, title=args.title),
                        encoding="utf-8")
    print(text_report(report))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
