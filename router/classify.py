"""`python -m router.classify`: classify resident messages offline (contract item 2).

JSON lines ``{"text": ...}`` on stdin → one JSON line ``{"l1","l2","l3","department","confidence",
"needs_human_dispatch"}`` per input line on stdout, in input order. A line that is not valid input
gets ``{"error": "...", "line": n}`` in its place, so outputs stay aligned with inputs. Throughput goes
to stderr. Needs neither Redis nor Rasa: only the classifier artefact (trained on first use).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from router.adapters.artefacts import load_topic_classifier
from router.domain.classifier import TopicClassifier

__all__ = ["classify_stream", "main"]

MAX_TEXT_CHARS = 2000


def _parse(line: str) -> str:
    try:
        obj: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(obj, dict) or "text" not in obj:
        raise ValueError('expected an object with a "text" field')
    text = obj["text"]
    if not isinstance(text, str):
        raise ValueError('"text" must be a string')
    if not text.strip():
        raise ValueError('"text" is empty')
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f'"text" is longer than {MAX_TEXT_CHARS} characters')
    return text


def classify_stream(classifier: TopicClassifier, lines: IO[str], out: IO[str]) -> tuple[int, int]:
    """Classify every line of ``lines`` into ``out``; returns (classified, errors)."""
    done = errors = 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # a trailing newline is not an input
        try:
            result: dict[str, Any] = classifier.predict(_parse(line)).to_dict()
            done += 1
        except ValueError as exc:
            result = {"error": str(exc), "line": lineno}
            errors += 1
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return done, errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m router.classify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="artefact path without .json/.npz (default: the one for the current code and data)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    classifier = load_topic_classifier(Path(args.model) if args.model else None)
    loaded = time.perf_counter()
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)
    stdout = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)
    done, errors = classify_stream(classifier, stdin, stdout)
    elapsed = time.perf_counter() - loaded
    rate = done / elapsed if elapsed > 0 else 0.0
    print(f"classified {done} texts ({errors} errors) in {elapsed:.2f}s: {rate:.0f} texts/s "
          f"(model load {loaded - t0:.2f}s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
