"""Part of `make run`: wait for /healthz, print where everything is, then report any component that
stops answering (and when it is back), so a dead Rasa or router never goes unnoticed."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def health(url: str) -> tuple[int, dict]:
    """/healthz with the internal token when there is one (then it tells which Rasa workers answer)."""
    token = os.environ.get("ROUTER_API_TOKEN", "")
    req = urllib.request.Request(url + "/healthz", headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read())
        except ValueError:
            return e.code, {}
    except (OSError, ValueError):
        return 0, {}


def parent_gone() -> bool:
    """Tests start the stack with STACK_PARENT_PID: if that process dies, take the stack down with it."""
    pid = int(os.environ.get("STACK_PARENT_PID") or 0)
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def main() -> None:
    base = f"http://{os.environ.get('ROUTER_HOST', '127.0.0.1')}:{os.environ.get('ROUTER_PORT', '8080')}"
    shown = os.environ.get("PUBLIC_URL") or base
    deadline = time.monotonic() + float(os.environ.get("STARTUP_TIMEOUT", "300"))
    status, body = 0, {}
    while time.monotonic() < deadline:
        if parent_gone():
            sys.exit("parent process gone: stopping the stack")
        status, body = health(base)
        rasa = body.get("components", {}).get("rasa", {})
        if status == 200 and rasa.get("workers_up", 1) >= rasa.get("workers", 1):  # every worker loaded
            break
        time.sleep(1)
    if status != 200:
        print(f"STACK NOT HEALTHY after startup timeout: {json.dumps(body, ensure_ascii=False)}", flush=True)
        sys.exit(1)
    admin = Path(os.environ.get("VAR_DIR", "var")) / "console-admin.txt"
    lines = [
        "",
        "社区民生服务助手 is up.",
        f"  resident web chat : {shown}/",
        f"  operator console  : {shown}/console/",
        f"  API docs          : {shown}/api/v1/docs  (OpenAPI: {shown}/api/v1/openapi.json)",
        f"  health            : {shown}/healthz",
        f"  API token         : {os.environ.get('VAR_DIR', 'var')}/api-token (Authorization: Bearer ...)",
        f"  Rasa workers      : {os.environ.get('RASA_WORKERS', '1')} ({os.environ.get('RASA_WORKERS_WHY', 'set')})",
    ]
    if admin.exists():
        lines.append(f"  console login     : {admin.read_text().strip()}")
    lines.append("Press Ctrl-C to stop everything.")
    print("\n".join(lines), flush=True)
    down: set[str] = set()
    down_workers: set[str] = set()
    while True:
        time.sleep(3)
        if parent_gone():
            sys.exit("parent process gone: stopping the stack")
        status, body = health(base)
        comps = body.get("components", {}) if status else {"router": {"ok": False, "error": "no answer"}}
        for name, c in comps.items():
            if not c.get("ok") and name not in down:
                down.add(name)
                print(f"ALERT: {name} is not answering: {c.get('error', '')}", flush=True)
            elif c.get("ok") and name in down:
                down.discard(name)
                print(f"RECOVERED: {name} answers again", flush=True)
        workers_down = set(comps.get("rasa", {}).get("workers_down", []))
        for url in sorted(workers_down - down_workers):
            print(f"ALERT: Rasa worker {url} is not answering (its conversations go to the others)", flush=True)
        for url in sorted(down_workers - workers_down):
            print(f"RECOVERED: Rasa worker {url} answers again", flush=True)
        down_workers = workers_down


if __name__ == "__main__":
    main()
