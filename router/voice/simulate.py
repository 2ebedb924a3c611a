"""A terminal phone: drives the hotline's webhooks the way a jambonz gateway would.

    python -m router.voice.simulate --url http://127.0.0.1:8080 --user U --password P

It places a call (``/channels/voice/call``), prints what the caller would hear, and sends each line you
type to the ``gather``'s actionHook:

- a line of words → a speech result (confidence ``--confidence``, 0.9 by default);
  ``/low words`` sends it with confidence 0.4, as a noisy line would;
- ``#`` followed by keys → DTMF, e.g. ``#0`` (operator), ``#1``, ``#13800138000``;
- an empty line → the gather timed out (silence);
- ``/hangup`` (or end of input) → the caller hangs up (status webhook ``completed``).

A ``dial``/``enqueue`` to the operator is answered by the simulated operator side with
``--operator no-answer`` (default) or ``--operator completed``.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

__all__ = ["PhoneSimulator", "main"]

_TAG = re.compile(r"<[^>]+>")


def plain(text: Any) -> str:
    """What a listener hears of a say text (SSML tags dropped)."""
    if isinstance(text, list):
        text = text[0] if text else ""
    return html.unescape(_TAG.sub("", str(text)))


class CallOver(Exception):
    pass


class PhoneSimulator:
    def __init__(self, url: str, user: str, password: str, *, caller: str = "+8613800138000",
                 callee: str = "12345", confidence: float = 0.9, operator: str = "no-answer",
                 out: TextIO = sys.stdout, timeout: float = 15.0) -> None:
        self.base = url.rstrip("/") + "/"
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.call_sid = str(uuid.uuid4())
        self.caller, self.callee = caller, callee
        self.confidence, self.operator = confidence, operator
        self.out, self.timeout = out, timeout

    def _payload(self, **extra: Any) -> dict[str, Any]:
        return {"call_sid": self.call_sid, "call_id": self.call_sid, "direction": "inbound",
                "from": self.caller, "to": self.callee, "call_status": "in-progress",
                "account_sid": "simulator", "application_sid": "simulator", **extra}

    def post(self, hook: Any, body: dict[str, Any]) -> Any:
        path = hook["url"] if isinstance(hook, dict) else str(hook)
        req = urllib.request.Request(urllib.parse.urljoin(self.base, path.lstrip("/") if not
                                                          path.startswith("http") else path),
                                     data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": self.auth})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"gateway: {path} answered {exc.code}: {exc.read().decode()[:300]}") from None
        return json.loads(raw) if raw.strip() else None

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def run(self, lines: Iterable[str]) -> int:
        """Play one call; returns the number of webhooks sent."""
        inputs: Iterator[str] = iter(lines)
        sent = 1
        self._print(f"☎  呼入 {self.caller} → {self.callee}  (call_sid {self.call_sid})")
        verbs = self.post("/channels/voice/call", self._payload(call_status="ringing"))
        try:
            while True:
                hook, body = self._play(verbs, inputs)
                sent += 1
                verbs = self.post(hook, body)
        except CallOver as over:
            self._print(f"☎  通话结束：{over}")
            self.post("/channels/voice/status", self._payload(call_status="completed", duration=1,
                                                               call_termination_by=str(over)))
            return sent + 1

    def _play(self, verbs: Any, inputs: Iterator[str]) -> tuple[Any, dict[str, Any]]:
        if not isinstance(verbs, list):
            raise SystemExit(f"gateway: expected a JSON array of verbs, got {verbs!r:.200}")
        for v in verbs:
            name = v.get("verb")
            if name == "say":
                self._print(f"🔊 {plain(v.get('text'))}")
            elif name == "gather":
                if isinstance(v.get("say"), dict):
                    self._print(f"🔊 {plain(v['say'].get('text'))}")
                return v["actionHook"], self._listen(inputs)
            elif name in ("dial", "enqueue"):
                target = v.get("target") or v.get("name")
                self._print(f"☎  转接人工：{json.dumps(target, ensure_ascii=False)} → {self.operator}")
                if name == "dial":
                    result = {"dial_call_status": self.operator, "dial_sip_status": 200 if
                              self.operator == "completed" else 480}
                else:
                    result = {"queue_result": "bridged" if self.operator == "completed" else "leave"}
                if v.get("actionHook"):
                    return v["actionHook"], self._payload(**result)
                raise CallOver("jambonz")
            elif name == "hangup":
                raise CallOver("jambonz")
            else:
                self._print(f"(verb {name} ignored by the simulator)")
        raise CallOver("jambonz")  # the application ran out of verbs: jambonz hangs up

    def _listen(self, inputs: Iterator[str]) -> dict[str, Any]:
        try:
            line = next(inputs).rstrip("\r\n")
        except StopIteration:
            raise CallOver("caller") from None
        self._print(f"🗣  {line or '（沉默）'}")
        if line.strip() == "/hangup":
            raise CallOver("caller")
        if not line.strip():
            return self._payload(reason="timeout")
        if line.startswith("#") and re.fullmatch(r"#[0-9*#]+", line.strip()):
            return self._payload(reason="dtmfDetected", digits=line.strip()[1:])
        confidence = self.confidence
        if line.startswith("/low "):
            line, confidence = line[5:], 0.4
        return self._payload(reason="speechDetected", speech={
            "language_code": "zh-CN", "is_final": True,
            "alternatives": [{"confidence": confidence, "transcript": line.strip()}]})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m router.voice.simulate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the router's base URL")
    p.add_argument("--user", default="", help="VOICE_WEBHOOK_USER")
    p.add_argument("--password", default="", help="VOICE_WEBHOOK_PASSWORD")
    p.add_argument("--from", dest="caller", default="+8613800138000", help="caller number")
    p.add_argument("--to", dest="callee", default="12345")
    p.add_argument("--confidence", type=float, default=0.9)
    p.add_argument("--operator", choices=["no-answer", "completed", "busy", "failed"], default="no-answer",
                   help="how a transfer to the operator ends")
    a = p.parse_args(argv)
    sim = PhoneSimulator(a.url, a.user, a.password, caller=a.caller, callee=a.callee,
                         confidence=a.confidence, operator=a.operator)
    try:
        sim.run(sys.stdin)
    except urllib.error.URLError as exc:
        print(f"cannot reach {a.url}: {exc.reason}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
