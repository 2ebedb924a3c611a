"""The console's OWASP ASVS level-1 findings, one group each: the session cookie behind a TLS proxy, an
atomic login limit per account and per client address, sessions and live streams revoked when an admin
changes a user, personal data masked in every form a resident writes it, the audit actor, and the first
admin's password (shown once, changed at first login)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections import Counter
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from router import keys
from router.adapters.conversations import ConversationStore
from router.adapters.ticket_store import RedisTicketStore
from router.console.audit import AuditLog
from router.console.users import UserStore
from router.settings import ROOT
from tests.integration.test_console import (
    COOKIE_NAME,
    PASSWORD,
    build_app,
    csrf_of,
    login,
    queued_conversation,
    read_event,
)

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def console(redis, tmp_path, aiohttp_server, monkeypatch):
    """As in test_console.py: started (so the first admin exists), then op1, op2, sup and root."""
    monkeypatch.delenv("VAR_DIR", raising=False)
    app, _ = build_app(redis, tmp_path)
    server = await aiohttp_server(app)
    users = UserStore(redis)
    for name, role in (("op1", "operator"), ("op2", "operator"), ("sup", "supervisor"), ("root", "admin")):
        await users.add(name, role, PASSWORD)
    return {"app": app, "server": server, "redis": redis, "var_dir": tmp_path}


async def login_token(client: TestClient) -> str:
    page = await (await client.get("/console/login")).text()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def try_login(client: TestClient, token: str, user: str, password: str, *, via: str | None = None,
                    **headers: str) -> Any:
    if via:
        headers["X-Forwarded-For"] = via
    return await client.post("/console/login", data={"username": user, "password": password, "csrf": token},
                             headers=headers, allow_redirects=False)


def set_cookie(resp: Any, name: str) -> str:
    """The Set-Cookie header for one cookie, as sent (attributes included)."""
    found = [h for h in resp.headers.getall("Set-Cookie", []) if h.startswith(f"{name}=")]
    assert found, resp.headers
    return found[0]


async def started_console(redis: Any, tmp_path: Any, aiohttp_server: Any, **settings: Any) -> Any:
    app, _ = build_app(redis, tmp_path, **settings)
    server = await aiohttp_server(app)
    await UserStore(redis).add("op1", "operator", PASSWORD)
    return server


# ------------------------------------------------------------------------ 1. the session cookie and TLS


@pytest.mark.parametrize(("settings", "headers", "secure"), [
    ({}, {}, False),  # plain http on the loopback (make run): a Secure cookie would never come back
    ({}, {"X-Forwarded-Proto": "https"}, True),  # a TLS proxy on this host
    ({}, {"Forwarded": "for=203.0.113.9;proto=https"}, True),
    ({"console_trusted_proxies": ("10.0.0.5",)}, {"X-Forwarded-Proto": "https"}, False),  # not our proxy
    ({"public_url": "https://12345.example.cn"}, {}, True),  # served as https, whatever this hop says
])
async def test_session_cookie_is_secure_when_the_browser_used_https(redis, tmp_path, aiohttp_server, aiohttp_client,
                                                                    monkeypatch, settings, headers, secure):
    monkeypatch.delenv("VAR_DIR", raising=False)
    server = await started_console(redis, tmp_path, aiohttp_server, **settings)
    # the browser is on https (the proxy's side): it sends Secure cookies back, plain http would not
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
    client = await aiohttp_client(server, cookie_jar=jar)
    page = await client.get("/console/login", headers=headers)
    login_cookie = set_cookie(page, "rsa_console_login")
    assert "HttpOnly" in login_cookie and "SameSite=Strict" in login_cookie
    assert ("Secure" in login_cookie) is secure
    token = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)
    resp = await try_login(client, token, "op1", PASSWORD, **headers)
    assert resp.status == 303
    cookie = set_cookie(resp, COOKIE_NAME)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert ("Secure" in cookie) is secure, cookie


# ------------------------------------------------------------------------------- 2. the login limit


async def test_concurrent_wrong_passwords_do_not_exceed_the_limit(console, aiohttp_client):
    client = await aiohttp_client(console["server"])
    token = await login_token(client)
    results = await asyncio.gather(*(try_login(client, token, "op1", f"wrong-guess-{i}") for i in range(20)))
    assert Counter(r.status for r in results) == {401: 5, 429: 15}
    # the limit holds for the right password too, until the window ends
    assert (await try_login(client, token, "op1", PASSWORD)).status == 429
    failed = [e for e in await AuditLog(console["redis"]).recent() if e.action == "login_failed"]
    assert len(failed) == 5


async def test_client_address_is_taken_from_a_trusted_proxy_only(console, aiohttp_client):
    client = await aiohttp_client(console["server"])
    token = await login_token(client)
    for _ in range(5):
        assert (await try_login(client, token, "op1", "wrong-guess", via="203.0.113.7")).status == 401
    assert (await try_login(client, token, "op1", PASSWORD, via="203.0.113.7")).status == 429
    # behind the same proxy, another desk is another client: op1 there is not locked out
    ok = await try_login(client, token, "op1", PASSWORD, via="203.0.113.8, 127.0.0.1")
    assert ok.status == 303
    entries = await AuditLog(console["redis"]).recent()
    assert {e.ip for e in entries if e.action == "login_failed"} == {"203.0.113.7"}
    assert next(e.ip for e in entries if e.action == "login") == "203.0.113.8"


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(redis, tmp_path, aiohttp_server, aiohttp_client,
                                                               monkeypatch):
    monkeypatch.delenv("VAR_DIR", raising=False)
    server = await started_console(redis, tmp_path, aiohttp_server, console_trusted_proxies=("10.0.0.5",))
    client = await aiohttp_client(server)
    token = await login_token(client)
    for i in range(5):  # a guesser making up a new address for every try
        assert (await try_login(client, token, "op1", "wrong-guess", via=f"198.51.100.{i}")).status == 401
    assert (await try_login(client, token, "op1", PASSWORD, via="198.51.100.99")).status == 429
    assert {e.ip for e in await AuditLog(redis).recent()} == {"127.0.0.1"}


async def test_one_address_cannot_guess_across_many_accounts(console, aiohttp_client):
    client = await aiohttp_client(console["server"])
    token = await login_token(client)
    names = [f"guess{i:02d}" for i in range(30)]
    results = await asyncio.gather(*(try_login(client, token, n, "wrong-guess", via="203.0.113.50") for n in names))
    assert {r.status for r in results} == {401}
    assert (await try_login(client, token, "op1", PASSWORD, via="203.0.113.50")).status == 429
    assert (await try_login(client, token, "op1", PASSWORD, via="203.0.113.51")).status == 303


async def test_many_addresses_cannot_guess_one_account_without_end(console, aiohttp_client):
    client = await aiohttp_client(console["server"])
    token = await login_token(client)
    for i in range(20):  # four guesses from each of five addresses: under the per-address-and-account limit
        assert (await try_login(client, token, "op2", "wrong-guess", via=f"198.51.100.{i // 4}")).status == 401
    assert (await try_login(client, token, "op2", PASSWORD, via="198.51.100.200")).status == 429
    # a successful login does not count against its desk's address
    for _ in range(40):
        assert (await try_login(client, await login_token(client), "op1", PASSWORD, via="203.0.113.60")).status == 303


# ------------------------------------------------------------------------------- 3. revoking sessions


async def admin_change(root: TestClient, name: str, **form: str) -> None:
    resp = await root.post(f"/console/users/{name}", data={"csrf": await csrf_of(root, "/console/users"), **form},
                           headers={"X-Requested-With": "fetch"})
    assert resp.status == 200, await resp.text()


async def test_disable_role_change_and_password_reset_end_every_session_of_the_user(console, aiohttp_client):
    server = console["server"]
    sessions = {name: [await login(aiohttp_client, server, name) for _ in range(2)] for name in ("op1", "op2", "sup")}
    root = await login(aiohttp_client, server, "root")
    await admin_change(root, "op1", op="disable")
    await admin_change(root, "op1", op="enable")  # enabled again before op1's next click: still logged out
    await admin_change(root, "op2", op="role", role="supervisor")
    await admin_change(root, "sup", op="password")
    for name, clients in sessions.items():
        for client in clients:
            resp = await client.get("/console/queue", allow_redirects=False)
            assert resp.status == 303 and resp.headers["Location"].startswith("/console/login"), name
            fetched = await client.get("/console/queue/partial", headers={"X-Requested-With": "fetch"})
            assert fetched.status == 401, name
    # the admin's own session is untouched, and op1 can log in again
    assert (await root.get("/console/users")).status == 200
    await login(aiohttp_client, server, "op1")


async def test_a_new_user_of_a_removed_name_does_not_inherit_its_sessions(console, aiohttp_client):
    old = await login(aiohttp_client, console["server"], "op1")
    users = UserStore(console["redis"])
    await users.remove("op1")
    await users.add("op1", "admin", "someone else's password")  # before the old session's next click
    assert (await old.get("/console/users", allow_redirects=False)).status == 303


async def test_revocation_ends_open_event_streams_promptly(console, aiohttp_client):
    server = console["server"]
    op1 = await login(aiohttp_client, server, "op1")
    op2 = await login(aiohttp_client, server, "op2")
    streams = {}
    for name, client in (("op1", op1), ("op2", op2)):
        streams[name] = await client.get("/console/events")
        assert streams[name].status == 200
        await streams[name].content.readline()  # "retry:" — subscribed from here on
    await asyncio.sleep(0.1)
    root = await login(aiohttp_client, server, "root")
    await admin_change(root, "op1", op="password")  # from the console
    await UserStore(console["redis"]).set_disabled("op2", True)  # from the shell (another process)
    for name, stream in streams.items():
        assert await read_event(stream, "logout", timeout=3.0) == {}, name
        assert (await asyncio.wait_for(stream.content.read(), 3.0)).strip() == b"", name  # and the stream ends


# ------------------------------------------------------------------------------------------ 4. masking

# (as a resident says or types it, what must not be shown, what the operator sees instead)
PERSONAL_FORMS = [
    ("13812345678", "13812345678", "138****5678"),
    ("+8613812345678", "8613812345678", "+86 138****5678"),
    ("+86 138-1234-5678", "138-1234", "+86 138****5678"),
    ("0086 138 1234 5678", "138 1234", "0086 138****5678"),
    ("8613812345678", "13812345678", "86 138****5678"),
    ("138-1234-5678", "138-1234", "138****5678"),
    ("１３８１２３４５６７８", "１２３４", "138****5678"),
    ("幺三八幺二三四五六七八", "幺二三四", "138****5678"),
    ("一三八，一二三四，五六七八", "一二三四", "138****5678"),
    ("0755-86001234", "8600", "0755-****1234"),
    ("(0755) 8600 1234", "8600", "0755-****1234"),
    ("010-62345678", "6234", "010-****5678"),
    ("+86 755 8600 1234", "8600", "+86 755-****1234"),
    ("零七五五八六零零一二三四", "八六零零", "0755-****1234"),
    ("440305199001011234", "19900101", "440***********1234"),
    ("44030519900101123X", "19900101", "440***********123X"),
    ("4403 0519 9001 0112 3x", "9001", "440***********123x"),
]


@pytest.mark.parametrize(("said", "hidden", "shown"), PERSONAL_FORMS)
def test_mask_pii_forms(said, hidden, shown):
    from router.domain.masking import mask_pii

    masked = mask_pii(f"我的号码是{said}，麻烦尽快处理")
    assert masked == f"我的号码是{shown}，麻烦尽快处理"
    assert hidden not in masked


@pytest.mark.parametrize("text", [
    "工单 SZ20261125-000123 已办结", "会话 C0123456789abcdef", "2026-01-15 08:30 开始停水", "3 号楼 1201 室",
    "一二三四五六七八九十", "共 12345 元", "两个人一起来的",
])
def test_mask_pii_leaves_other_numbers_alone(text):
    from router.domain.masking import mask_pii

    assert mask_pii(text) == text


def test_mask_pii_whole_values_mask_any_number():
    from router.domain.masking import mask_pii

    assert mask_pii("+1 415 555 0134", whole=True) == "+* *** *** 0134"
    assert mask_pii("anonymous", whole=True) == "anonymous"
    assert mask_pii("", whole=True) == ""


async def test_a_voice_callers_number_is_masked_everywhere_an_operator_looks(console, aiohttp_client):
    redis = console["redis"]
    said = [s for s, _, _ in PERSONAL_FORMS]
    conv = await queued_conversation(redis, channel="voice", user_id="13812345678/CA0a1b2c3d", text="楼道漏水", summary={
        "intent": "report_problem", "topic": "来电 0086 138 1234 5678 反映漏水", "place": "幺三八幺二三四五六七八号",
        "ticket_draft": {"problem_text": "身份证440305199001011234", "contact_phone": "+8613812345678"},
        "last_messages": ["电话 +86 138-1234-5678", "尾号5678"]})
    for text in said:
        await ConversationStore(redis).append(conv.id, "resident", f"我的号码是{text}")
    op = await login(aiohttp_client, console["server"], "op1")
    pages = {"queue": await (await op.get("/console/queue")).text(),
             "conversation": await (await op.get(f"/console/conversations/{conv.id}")).text()}
    for where, page in pages.items():
        assert "138****5678" in page, where
        assert "13812345" not in page and "8613812" not in page, where  # the caller id is not cut after 8 digits
    page = pages["conversation"]
    for text, hidden, shown in PERSONAL_FORMS:
        assert hidden not in page, text
        assert f"我的号码是{shown}" in page, text
    # the live transcript line and a supervisor's full view
    stream = await op.get("/console/events", params={"conversation": conv.id})
    await stream.content.readline()
    await asyncio.sleep(0.1)
    await ConversationStore(redis).append(conv.id, "resident", "身份证 44030519900101123X 电话幺三八幺二三四五六七八")
    assert (await read_event(stream, "message"))["text"] == "身份证 440***********123X 电话138****5678"
    stream.close()
    sup = await login(aiohttp_client, console["server"], "sup")
    page = await (await sup.get(f"/console/conversations/{conv.id}")).text()
    assert "13812345678" in page and "440305199001011234" in page


async def test_ticket_text_and_contact_are_masked(console, aiohttp_client):
    ticket = await RedisTicketStore(console["redis"]).create({
        "text": "我是王小明，身份证440305199001011234，电话零七五五八六零零一二三四", "channel": "voice",
        "address": "科技园南区 幺三八幺二三四五六七八 收", "location": {"district": "南山区"},
        "topic": {"l1": "城市管理", "department": "区城管局"}, "contact_name": "王小明",
        "contact_phone": "+86 139-1234-5678"})
    op = await login(aiohttp_client, console["server"], "op1")
    for path in ("/console/tickets", f"/console/tickets/{ticket.id}"):
        page = await (await op.get(path)).text()
        for hidden in ("19900101", "八六零零", "幺二三四", "1234-5678", "12345678"):
            assert hidden not in page, (path, hidden)
    assert "+86 139****5678" in page and "440***********1234" in page and "0755-****1234" in page


# ----------------------------------------------------------------------------------------- 5. audit


async def test_audit_actor_is_the_authenticated_user_never_the_form(console, aiohttp_client):
    client = await aiohttp_client(console["server"])
    token = await login_token(client)
    assert (await try_login(client, token, "root", "wrong-guess")).status == 401
    conv = await queued_conversation(console["redis"])
    op = await login(aiohttp_client, console["server"], "op1")
    await op.post(f"/console/conversations/{conv.id}/claim",
                  data={"csrf": await csrf_of(op), "user": "root", "actor": "root"})
    entries = await AuditLog(console["redis"]).recent()
    assert "root" not in {e.actor for e in entries}
    failed = next(e for e in entries if e.action == "login_failed")
    assert failed.actor == "" and failed.target == "root" and "user" not in failed.detail
    assert next(e for e in entries if e.action == "claim").actor == "op1"


# ------------------------------------------------------------------------------ 6. the first admin


async def change_password(client: TestClient, current: str, new: str, confirm: str | None = None) -> Any:
    page = await (await client.get("/console/password")).text()
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    return await client.post("/console/password", data={
        "csrf": csrf, "current": current, "password": new, "confirm": new if confirm is None else confirm,
        "next": "/console/users"})


async def test_first_admin_must_change_the_password_before_anything_else(console, aiohttp_client):
    redis = console["redis"]
    name, password = (console["var_dir"] / "console-admin.txt").read_text(encoding="utf-8").strip().split(" / ")
    client = await aiohttp_client(console["server"])
    resp = await try_login(client, await login_token(client), name, password)
    assert resp.status == 303 and resp.headers["Location"].startswith("/console/password")
    for path in ("/console/queue", "/console/users", "/console/tickets", "/console/audit"):
        blocked = await client.get(path, allow_redirects=False)
        assert blocked.status == 303 and blocked.headers["Location"].startswith("/console/password"), path
    assert (await client.get("/console/events")).status == 403
    page = await (await client.get("/console/password")).text()
    assert "首次登录" in page and 'id="new-password"' in page
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    add = await client.post("/console/users", data={"csrf": csrf, "name": "sneaky", "role": "admin"},
                            headers={"X-Requested-With": "fetch"})
    assert add.status == 403 and await UserStore(redis).get("sneaky") is None
    # refused: wrong current password, two different new ones, too short, the same as before
    assert "当前密码不正确" in await (await change_password(client, "wrong-guess", NEW_PASSWORD)).text()
    assert "不一致" in await (await change_password(client, password, NEW_PASSWORD, "something else!")).text()
    assert "at least" in await (await change_password(client, password, "short")).text()
    assert "不能与当前密码相同" in await (await change_password(client, password, password)).text()
    done = await change_password(client, password, NEW_PASSWORD)
    assert str(done.url).endswith("/console/users") and "密码已修改" in await done.text()
    assert (await client.get("/console/queue")).status == 200
    assert await UserStore(redis).authenticate("admin", password) is None
    assert ("admin", "password_change", "admin") in [(e.actor, e.action, e.target)
                                                    for e in await AuditLog(redis).recent()]


async def test_first_admin_password_is_shown_on_the_first_start_only(console, aiohttp_client, aiohttp_server):
    var_dir = console["var_dir"]
    shown = var_dir / "console-admin.txt"  # what `make run` prints under "console login"
    first = shown.read_text(encoding="utf-8").strip()
    password = first.split(" / ")[1]
    app, _ = build_app(console["redis"], var_dir)  # the next start
    await aiohttp_server(app)
    notice = shown.read_text(encoding="utf-8")
    assert password not in notice
    kept = var_dir / "console-admin-password.txt"
    assert str(kept) in notice and "users passwd admin" in notice
    assert kept.read_text(encoding="utf-8").strip() == first
    assert oct(kept.stat().st_mode & 0o777) == "0o600" and oct(shown.stat().st_mode & 0o777) == "0o600"
    # once changed, the first password is gone from the disk; make run says how to reset
    client = await aiohttp_client(console["server"])
    await try_login(client, await login_token(client), "admin", password)
    await change_password(client, password, NEW_PASSWORD)
    assert not kept.exists()
    notice = shown.read_text(encoding="utf-8")
    assert password not in notice and "users passwd admin" in notice


async def test_passwords_an_admin_hands_out_must_be_changed_at_first_login(console, aiohttp_client):
    server = console["server"]
    root = await login(aiohttp_client, server, "root")
    page = await (await root.post("/console/users", data={"csrf": await csrf_of(root, "/console/users"),
                                                          "name": "newbie", "role": "operator"})).text()
    first = re.search(r"初始密码：(\S+)", page).group(1)
    page = await (await root.post("/console/users/op1", data={"csrf": await csrf_of(root, "/console/users"),
                                                              "op": "password"})).text()
    reset = re.search(r"重置密码：(\S+)", page).group(1)
    for name, password in (("newbie", first), ("op1", reset)):
        client = await aiohttp_client(server)
        resp = await try_login(client, await login_token(client), name, password)
        assert resp.status == 303 and resp.headers["Location"].startswith("/console/password"), name
    own = await root.post("/console/users/root", data={"csrf": await csrf_of(root, "/console/users"),
                                                       "op": "password"}, headers={"X-Requested-With": "fetch"})
    assert own.status == 422  # your own: on the password page, with the current one


def test_cli_password_from_stdin_needs_no_change_a_generated_one_does(redis_url):
    import redis as sync_redis

    sync_redis.Redis.from_url(redis_url).flushdb()
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "router.console", "users", *args], input=stdin,
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)

    def must_change(name: str) -> bool:
        return sync_redis.Redis.from_url(redis_url).hget(keys.console_user(name), "must_change") == b"1"

    assert cli("add", "clerk", stdin="a-long-enough-secret\n").returncode == 0
    assert not must_change("clerk")  # the harness's (or an admin's) own choice
    generated = cli("passwd", "clerk")
    assert generated.returncode == 0 and "must be changed" in generated.stdout and must_change("clerk")
    assert cli("passwd", "clerk", stdin="another-long-secret\n").returncode == 0 and not must_change("clerk")
    assert cli("passwd", "clerk", "--temporary", stdin="a-temporary-secret\n").returncode == 0
    assert must_change("clerk")


async def test_cli_password_retires_the_first_admin_password_file(console, redis_url, monkeypatch):
    shown = console["var_dir"] / "console-admin.txt"
    password = shown.read_text(encoding="utf-8").strip().split(" / ")[1]
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT), "VAR_DIR": str(console["var_dir"])}
    run = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "router.console", "users", "passwd", "admin"],
                                  input="the-harness-password\n", capture_output=True, text=True, env=env, cwd=ROOT,
                                  timeout=60)
    assert run.returncode == 0, run.stderr
    notice = shown.read_text(encoding="utf-8")
    assert password not in notice and "users passwd admin" in notice
    assert not (console["var_dir"] / "console-admin-password.txt").exists()
