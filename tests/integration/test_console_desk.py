"""The operators' desk against a real Redis: canned replies supervisors manage, auto-assignment to online
operators (round-robin, capacity, two router processes at once), a supervisor's reassignment, the
first-response and resolution timers, and the CSAT question after a human conversation."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from router import keys
from router.adapters.conversations import ConversationStore
from router.console.canned import CannedReplies
from router.console.context import make_assigner
from router.console.users import UserStore
from router.services.assignment import Presence
from router.services.desk import csat_payload
from router.services.dialogue import Dialogue
from tests.integration.test_console import (
    PASSWORD,
    audit_actions,
    build_app,
    csrf_of,
    login,
    queued_conversation,
    read_event,
)

FETCH = {"X-Requested-With": "fetch"}


@pytest.fixture
async def desk(redis, tmp_path, aiohttp_server, monkeypatch):
    monkeypatch.delenv("VAR_DIR", raising=False)
    app, sender = build_app(redis, tmp_path)
    server = await aiohttp_server(app)
    users = UserStore(redis)
    for name, role in (("op1", "operator"), ("op2", "operator"), ("op3", "operator"), ("sup", "supervisor")):
        await users.add(name, role, PASSWORD)
    return {"app": app, "server": server, "sender": sender, "redis": redis}


async def wait_for(check: Any, timeout: float = 6.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def go_online(client) -> Any:
    """Open the operator's live stream (what the queue page does): they are online while it is open."""
    resp = await client.get("/console/events")
    assert resp.status == 200
    await resp.content.readline()  # "retry:" — the stream runs
    return resp


async def switch_assignment(sup, on: bool) -> None:
    resp = await sup.post("/console/assignment", data={"csrf": await csrf_of(sup, "/console/assignment"),
                                                       "op": "on" if on else "off"}, headers=FETCH)
    assert resp.status == 200, await resp.text()


async def states(redis, ids) -> dict[str, tuple[str, str]]:
    store = ConversationStore(redis)
    return {i: ((c := await store.require(i)).state.value, c.operator) for i in ids}


# ------------------------------------------------------------------------------------- canned replies


async def test_supervisor_manages_canned_replies_and_operators_use_them(desk, aiohttp_client):
    redis = desk["redis"]
    sup = await login(aiohttp_client, desk["server"], "sup")
    page = await (await sup.get("/console/canned")).text()
    assert "请稍候" in page and "结束语" in page  # the seed file, until the first change
    csrf = await csrf_of(sup, "/console/canned")
    resp = await sup.post("/console/canned", data={"csrf": csrf, "title": "核实地址", "text": "请再说一遍小区名称和楼栋号。"})
    assert "已新增快捷回复“核实地址”" in await resp.text()
    replies = await CannedReplies(redis, []).list()
    added = next(c for c in replies if c["title"] == "核实地址")
    wait = next(c for c in replies if c["title"] == "请稍候")
    resp = await sup.post(f"/console/canned/{wait['id']}", data={"csrf": csrf, "op": "save", "title": "稍等",
                                                                  "text": "请稍等，我马上为您查询。"})
    assert "已保存快捷回复“稍等”" in await resp.text()
    goodbye = next(c for c in replies if c["title"] == "结束语")
    resp = await sup.post(f"/console/canned/{goodbye['id']}", data={"csrf": csrf, "op": "delete"})
    assert "已删除快捷回复“结束语”" in await resp.text()

    # bad input: clear refusals, nothing changed
    long_title = await sup.post("/console/canned", data={"csrf": csrf, "title": "标" * 13, "text": "x"}, headers=FETCH)
    assert long_title.status == 422 and "标题最多 12 个字" in (await long_title.json())["message"]
    long_text = await sup.post("/console/canned", data={"csrf": csrf, "title": "长", "text": "字" * 501}, headers=FETCH)
    assert long_text.status == 422 and "内容最多 500 个字" in (await long_text.json())["message"]
    empty = await sup.post(f"/console/canned/{added['id']}", data={"csrf": csrf, "op": "save", "title": " ", "text": ""},
                           headers=FETCH)
    assert empty.status == 422
    gone = await sup.post("/console/canned/rnope", data={"csrf": csrf, "op": "delete"}, headers=FETCH)
    assert gone.status == 404 and "找不到这条快捷回复" in (await gone.json())["message"]
    bad_op = await sup.post(f"/console/canned/{added['id']}", data={"csrf": csrf, "op": "drop"}, headers=FETCH)
    assert bad_op.status == 400
    no_csrf = await sup.post("/console/canned", data={"title": "x", "text": "y"}, headers=FETCH)
    assert no_csrf.status == 403
    titles = [c["title"] for c in await CannedReplies(redis, []).list()]
    assert "核实地址" in titles and "稍等" in titles and "结束语" not in titles and "长" not in titles

    # operators may not manage them
    op1 = await login(aiohttp_client, desk["server"], "op1")
    assert (await op1.get("/console/canned")).status == 403
    refused = await op1.post("/console/canned", data={"csrf": await csrf_of(op1), "title": "x", "text": "y"},
                             headers=FETCH)
    assert refused.status == 403

    # ...but pick them on the conversation page: the new and edited ones, not the deleted one
    conv = await queued_conversation(redis)
    csrf1 = await csrf_of(op1)
    await op1.post(f"/console/conversations/{conv.id}/claim", data={"csrf": csrf1})
    page = await (await op1.get(f"/console/conversations/{conv.id}")).text()
    assert 'data-canned-text="请再说一遍小区名称和楼栋号。"' in page and ">稍等</button>" in page
    assert "感谢您的来电来信" not in page
    await op1.post(f"/console/conversations/{conv.id}/reply", data={"csrf": csrf1, "canned": added["id"]})
    assert desk["sender"].sent[-1][1].text == "请再说一遍小区名称和楼栋号。"
    acts = await audit_actions(redis)
    assert ("sup", "canned_add", added["id"]) in acts and ("sup", "canned_edit", wait["id"]) in acts
    assert ("sup", "canned_delete", goodbye["id"]) in acts


async def test_two_supervisors_adding_at_once_keep_both(redis):
    store = CannedReplies(redis, [{"id": "a", "title": "甲", "text": "甲"}])
    other = CannedReplies(aioredis.Redis(connection_pool=redis.connection_pool), store.seed)
    await asyncio.gather(*(s.add(f"回复{i}", f"内容{i}") for i, s in enumerate([store, other] * 5)))
    titles = sorted(c["title"] for c in await store.list())
    assert titles == sorted(["甲"] + [f"回复{i}" for i in range(10)])


# ---------------------------------------------------------------------------------- auto-assignment


async def test_auto_assignment_goes_round_robin_to_online_operators_only(desk, aiohttp_client):
    redis = desk["redis"]
    sup = await login(aiohttp_client, desk["server"], "sup")
    op1 = await login(aiohttp_client, desk["server"], "op1")
    op2 = await login(aiohttp_client, desk["server"], "op2")
    await login(aiohttp_client, desk["server"], "op3")  # logged in, but no console page open: not online
    s1, s2 = await go_online(op1), await go_online(op2)
    await wait_for(lambda: Presence(redis).online())
    # switched off (the default): nobody gets anything
    first = await queued_conversation(redis, user_id="r0")
    await asyncio.sleep(2.5)
    assert (await states(redis, [first.id]))[first.id] == ("queued", "")

    await switch_assignment(sup, True)
    convs = [first] + [await queued_conversation(redis, user_id=f"r{i}") for i in range(1, 4)]
    ids = [c.id for c in convs]

    async def all_taken():
        got = await states(redis, ids)
        return got if all(s == "human" for s, _ in got.values()) else None

    got = await wait_for(all_taken)
    owners = [op for _, op in got.values()]
    assert sorted(owners) == ["op1", "op1", "op2", "op2"]  # turn by turn, nobody offline (op3, sup)
    # op1's own list shows them with the notice badge; op2's queue no longer offers them
    mine = [i for i, (_, op) in got.items() if op == "op1"]
    page = await (await op1.get("/console/queue")).text()
    for conv_id in mine:
        assert f'href="/console/conversations/{conv_id}" class="mine-link"' in page
    assert "系统分配" in page
    other = await (await op2.get("/console/queue")).text()
    assert not any(f'data-conversation="{i}"' in other for i in ids)
    conv_page = await (await op2.get(f"/console/conversations/{mine[0]}")).text()
    assert "坐席 op1" in conv_page and "系统分配" in conv_page
    # the resident was told a person took over, on their channel too
    transcript = await ConversationStore(redis).transcript(mine[0])
    assert [e for e in transcript if e.get("meta", {}).get("event") == "claimed"][0]["text"].startswith("人工客服已接入")
    assert sum(1 for cid, r in desk["sender"].sent if cid in ids and r.text.startswith("人工客服已接入")) == 4
    s1.close()
    s2.close()


async def test_assigned_operator_gets_a_live_notice_event(desk, aiohttp_client):
    redis = desk["redis"]
    sup = await login(aiohttp_client, desk["server"], "sup")
    op1 = await login(aiohttp_client, desk["server"], "op1")
    stream = await go_online(op1)
    await wait_for(lambda: Presence(redis).online())
    await switch_assignment(sup, True)
    conv = await queued_conversation(redis)

    async def assigned_event():
        while True:
            event = await read_event(stream, "queue", timeout=6)
            if event["type"] == "assigned":
                return event
    event = await asyncio.wait_for(assigned_event(), 8)
    assert event == {"type": "assigned", "conversation": conv.id, "state": "human", "operator": "op1"}
    stream.close()


async def test_capacity_is_never_exceeded_and_offline_operators_get_nothing(desk, aiohttp_client):
    redis = desk["redis"]
    sup = await login(aiohttp_client, desk["server"], "sup")
    csrf = await csrf_of(sup, "/console/assignment")
    resp = await sup.post("/console/assignment/op1", data={"csrf": csrf, "capacity": "1"})
    assert "已将 op1 的接待上限设为 1" in await resp.text()
    for bad in ("-1", "21", "abc", ""):
        refused = await sup.post("/console/assignment/op1", data={"csrf": csrf, "capacity": bad}, headers=FETCH)
        assert refused.status == 422
    unknown = await sup.post("/console/assignment/nobody", data={"csrf": csrf, "capacity": "2"}, headers=FETCH)
    assert unknown.status == 404
    op = await login(aiohttp_client, desk["server"], "op1")
    assert (await op.post("/console/assignment/op1", data={"csrf": await csrf_of(op), "capacity": "9"},
                          headers=FETCH)).status == 403
    page = await (await sup.get("/console/assignment")).text()
    assert re.search(r'data-user="op1">.*?value="1"', page, re.S) and re.search(r'data-user="op2">.*?value="3"', page, re.S)

    stream = await go_online(op)
    await wait_for(lambda: Presence(redis).online())
    await switch_assignment(sup, True)
    ids = [(await queued_conversation(redis, user_id=f"c{i}")).id for i in range(3)]
    await wait_for(lambda: _count_human(redis, ids, 1))
    await asyncio.sleep(2.5)  # more runs of the assigner: still one
    got = await states(redis, ids)
    assert sorted(got.values()) == [("human", "op1"), ("queued", ""), ("queued", "")]

    # op1 closes their console: offline at once; what is queued stays queued even with room again
    stream.close()
    await wait_for(lambda: _offline(redis, "op1"))
    taken = next(i for i, (s, _) in got.items() if s == "human")
    csrf1 = await csrf_of(op)
    await op.post(f"/console/conversations/{taken}/close", data={"csrf": csrf1})
    await asyncio.sleep(2.5)
    assert sorted((await states(redis, ids)).values()) == [("closed", ""), ("queued", ""), ("queued", "")]


async def _count_human(redis, ids, n) -> bool:
    return sum(s == "human" for s, _ in (await states(redis, ids)).values()) == n


async def _offline(redis, user) -> bool:
    return user not in await Presence(redis).online()


async def test_a_lease_that_ran_out_is_offline(redis):
    """A router that died leaves a lease behind; once it has run out the operator gets nothing."""
    users = UserStore(redis)
    await users.add("op1", "operator", PASSWORD)
    store = ConversationStore(redis)
    assigner = make_assigner(store, redis, users)
    await assigner.set_enabled(True)
    await Presence(redis).renew("op1", "dead-stream", now=time.time() - 120)
    conv = await queued_conversation(redis)
    assert await assigner.run_once() == []
    assert (await store.require(conv.id)).state.value == "queued"
    await Presence(redis).renew("op1", "live-stream")
    assert [a.operator for a in await assigner.run_once()] == ["op1"]


async def test_two_router_processes_never_assign_twice_or_above_capacity(desk, redis, redis_url, tmp_path,
                                                                        aiohttp_server):
    """A second router on the same Redis runs its own assigner; both race for every conversation."""
    second_redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        second_app, _ = build_app(second_redis, tmp_path / "second")
        await aiohttp_server(second_app)  # its startup starts its assigner loop
        users = UserStore(redis)
        await users.add("op4", "operator", PASSWORD)
        store_a, store_b = ConversationStore(redis), ConversationStore(second_redis)
        a = make_assigner(store_a, redis, users)
        b = make_assigner(store_b, second_redis, UserStore(second_redis))
        await a.set_capacity("op1", 2)
        await a.set_capacity("op2", 2)
        for user in ("op1", "op2"):
            await Presence(redis).renew(user, f"{user}-stream")
        ids = [(await queued_conversation(redis, user_id=f"race{i}")).id for i in range(12)]
        await a.set_enabled(True)
        # both processes' loops run, and both assigners are called at once, many times over
        await asyncio.gather(*(x.run_once() for x in [a, b] * 10))
        got = await states(redis, ids)
        owners = [op for s, op in got.values() if s == "human"]
        assert sorted(owners) == ["op1", "op1", "op2", "op2"]
        for user in ("op1", "op2"):
            assert len(await redis.smembers(keys.console_operator_conversations(user))) == 2
        assert await redis.zcard(keys.queue()) == 8

        # the bare Lua step under contention (the loops switched off, so only these tries race):
        # one conversation, two operators, twenty tries → one owner
        await a.set_enabled(False)
        one = (await queued_conversation(redis, user_id="contested")).id
        await a.set_capacity("op1", 5)
        await a.set_capacity("op2", 5)
        results = await asyncio.gather(*(
            (store_a if i % 2 else store_b).assign(one, "op1" if i % 3 else "op2", mode="auto", assigned_by="auto")
            for i in range(20)))
        assert [s for s, _ in results].count("ok") == 1
        # capacity under contention: op4 (capacity 3) offered ten conversations at once → three
        await a.set_capacity("op4", 3)
        await Presence(redis).renew("op4", "op4-stream")
        more = [(await queued_conversation(redis, user_id=f"cap{i}")).id for i in range(10)]
        results = await asyncio.gather(*(
            (store_a if i % 2 else store_b).assign(c, "op4", mode="auto", assigned_by="auto")
            for i, c in enumerate(more)))
        assert [s for s, _ in results].count("ok") == 3 and [s for s, _ in results].count("full") == 7
        assert len(await redis.smembers(keys.console_operator_conversations("op4"))) == 3
    finally:
        await second_redis.aclose()


async def test_supervisor_reassigns_or_takes_over(desk, aiohttp_client):
    redis = desk["redis"]
    conv = await queued_conversation(redis)
    op1 = await login(aiohttp_client, desk["server"], "op1")
    csrf1 = await csrf_of(op1)
    await op1.post(f"/console/conversations/{conv.id}/claim", data={"csrf": csrf1})
    sup = await login(aiohttp_client, desk["server"], "sup")
    page = await (await sup.get(f"/console/conversations/{conv.id}")).text()
    assert 'id="reassign-form"' in page and '<option value="op2"' in page
    csrf = await csrf_of(sup)
    resp = await sup.post(f"/console/conversations/{conv.id}/assign", data={"csrf": csrf, "operator": "op2"})
    assert "已将会话转派给 op2" in await resp.text()
    assert (await states(redis, [conv.id]))[conv.id] == ("human", "op2")
    assert not await redis.sismember(keys.console_operator_conversations("op1"), conv.id)
    assert await redis.sismember(keys.console_operator_conversations("op2"), conv.id)
    refused = await op1.post(f"/console/conversations/{conv.id}/reply", data={"csrf": csrf1, "text": "还在吗"},
                             headers=FETCH)
    assert refused.status == 409 and "op2" in (await refused.json())["message"]
    # the supervisor takes it over (no operator named: themselves)
    resp = await sup.post(f"/console/conversations/{conv.id}/assign", data={"csrf": csrf}, headers=FETCH)
    assert resp.status == 200 and (await states(redis, [conv.id]))[conv.id] == ("human", "sup")
    # refusals: an unknown user, a closed conversation, an operator trying it, a missing conversation
    assert (await sup.post(f"/console/conversations/{conv.id}/assign", data={"csrf": csrf, "operator": "ghost"},
                           headers=FETCH)).status == 422
    assert (await op1.post(f"/console/conversations/{conv.id}/assign", data={"csrf": csrf1, "operator": "op1"},
                           headers=FETCH)).status == 403
    assert (await sup.post("/console/conversations/C0000000000000000/assign", data={"csrf": csrf, "operator": "op1"},
                           headers=FETCH)).status == 404
    await sup.post(f"/console/conversations/{conv.id}/close", data={"csrf": csrf})
    closed = await sup.post(f"/console/conversations/{conv.id}/assign", data={"csrf": csrf, "operator": "op1"},
                            headers=FETCH)
    assert closed.status == 409 and "已结束" in (await closed.json())["message"]
    acts = await audit_actions(redis)
    assert ("sup", "reassign", conv.id) in acts and ("sup", "reassign_refused", conv.id) in acts


# ----------------------------------------------------------------------------------------------- timers


async def test_first_response_and_resolution_times_on_the_pages(desk, aiohttp_client):
    redis = desk["redis"]
    store = ConversationStore(redis)
    conv = await store.current("wechat", "timed")
    await store.append(conv.id, "resident", "路灯坏了")
    await store.move(conv.id, "handoff", reason="request_human", now=time.time() - 95)
    op1 = await login(aiohttp_client, desk["server"], "op1")
    csrf = await csrf_of(op1)
    await op1.post(f"/console/conversations/{conv.id}/claim", data={"csrf": csrf})
    page = await (await op1.get(f"/console/conversations/{conv.id}")).text()
    assert "尚未回复" in page
    await op1.post(f"/console/conversations/{conv.id}/reply", data={"csrf": csrf, "text": "您好"})
    first = (await store.require(conv.id)).first_reply_at
    await asyncio.sleep(1.1)
    await op1.post(f"/console/conversations/{conv.id}/reply", data={"csrf": csrf, "text": "请问在哪里？"})
    after = await store.require(conv.id)
    assert after.first_reply_at == first and 94 <= after.first_response_seconds <= 99  # the first reply counts
    page = await (await op1.get(f"/console/conversations/{conv.id}")).text()
    shown = re.search(r'id="timer-first-response">([^<]+)<', page).group(1)
    assert shown in ("1分35秒", "1分36秒", "1分37秒", "1分38秒")
    await op1.post(f"/console/conversations/{conv.id}/close", data={"csrf": csrf})
    done = await store.require(conv.id)
    assert done.resolution_seconds is not None and done.resolution_seconds >= 96
    page = await (await op1.get(f"/console/conversations/{conv.id}")).text()
    assert re.search(r'id="timer-resolution">1分\d+秒<', page)
    sup = await login(aiohttp_client, desk["server"], "sup")
    page = await (await sup.get("/console/supervisor")).text()
    assert re.search(r'id="avg-first-response">1分3\d秒<', page)
    assert re.search(r'id="avg-resolution">1分\d+秒<', page)


async def test_a_new_handoff_starts_the_timers_again(redis):
    store = ConversationStore(redis)
    conv = await queued_conversation(redis)
    await store.move(conv.id, "claim", operator="op1")
    await store.set_once(conv.id, "first_reply_at", str(time.time()), state="human")
    await store.move(conv.id, "handback")
    moved = await store.require(conv.id)
    assert moved.first_response_seconds is not None and moved.resolution_seconds is not None
    again = await store.move(conv.id, "handoff", reason="request_human")
    assert again.first_response_seconds is None and again.resolution_seconds is None and again.csat == ""


# ------------------------------------------------------------------------------------------------- CSAT


async def test_csat_asked_once_after_close_and_recorded_from_the_button(desk, aiohttp_client):
    redis = desk["redis"]
    store = ConversationStore(redis)
    conv = await queued_conversation(redis, channel="web", user_id="web-resident")
    op1 = await login(aiohttp_client, desk["server"], "op1")
    csrf = await csrf_of(op1)
    await op1.post(f"/console/conversations/{conv.id}/claim", data={"csrf": csrf})
    await op1.post(f"/console/conversations/{conv.id}/close", data={"csrf": csrf})
    question = desk["sender"].sent[-1][1]
    assert question.text == "请您为本次人工服务打个分：" and [b.title for b in question.buttons] == ["满意", "一般", "不满意"]
    assert all(b.payload.startswith("/csat{") for b in question.buttons)
    asked = [e for e in await store.transcript(conv.id) if e.get("meta", {}).get("event") == "csat"]
    assert len(asked) == 1

    dialogue = Dialogue(redis, store, rasa=None)  # the CSAT answer never reaches Rasa
    # another resident cannot answer it, and a made-up payload is refused
    stranger = await dialogue.handle("web", "someone-else", csat_payload(conv.id, "不满意"))
    assert "按钮已经失效" in stranger.replies[0].text
    forged = await dialogue.handle("web", "web-resident", "/csat" + json.dumps({"conversation_id": conv.id, "score": "很好"}))
    assert "按钮已经失效" in forged.replies[0].text
    turn = await dialogue.handle("web", "web-resident", csat_payload(conv.id, "满意"))
    assert turn.replies[0].text == "谢谢您的评价，我们会继续改进服务。" and turn.conversation.id == conv.id
    again = await dialogue.handle("web", "web-resident", csat_payload(conv.id, "不满意"))
    assert "已经评价过" in again.replies[0].text
    assert (await store.require(conv.id)).csat == "满意"  # the first answer stays

    sup = await login(aiohttp_client, desk["server"], "sup")
    page = await (await sup.get("/console/supervisor")).text()
    assert 'id="csat-share">100.0%<' in page and "已评 1/邀评 1" in page
    page = await (await sup.get(f"/console/conversations/{conv.id}")).text()
    assert re.search(r'id="conv-csat">满意<', page)


async def test_csat_after_hand_back_and_not_on_a_phone_call(desk, aiohttp_client):
    redis = desk["redis"]
    store = ConversationStore(redis)
    web = await queued_conversation(redis, channel="wechat", user_id="wx")
    call = await queued_conversation(redis, channel="voice", user_id="13800138000/CA1")
    waiting = await queued_conversation(redis, channel="wechat", user_id="wx2")
    op1 = await login(aiohttp_client, desk["server"], "op1")
    sup = await login(aiohttp_client, desk["server"], "sup")
    csrf, sup_csrf = await csrf_of(op1), await csrf_of(sup)
    for conv in (web, call):
        await op1.post(f"/console/conversations/{conv.id}/claim", data={"csrf": csrf})
        await op1.post(f"/console/conversations/{conv.id}/handback", data={"csrf": csrf})
    # a supervisor ending one still in the queue: nobody served them, nobody asks
    await sup.post(f"/console/conversations/{waiting.id}/close", data={"csrf": sup_csrf})
    asked = {c.id: [e for e in await store.transcript(c.id) if e.get("meta", {}).get("event") == "csat"]
             for c in (web, call, waiting)}
    assert len(asked[web.id]) == 1 and asked[call.id] == [] and asked[waiting.id] == []
    dialogue = Dialogue(redis, store, rasa=None)
    turn = await dialogue.handle("wechat", "wx", csat_payload(web.id, "不满意"))
    assert "谢谢您的评价" in turn.replies[0].text
    day = json.dumps(await redis.hgetall(next(iter(await redis.keys("rsa:console:desk-day:*")))))
    assert '"csat_bad": "1"' in day and '"csat_asked": "1"' in day


async def test_a_conversation_taken_by_hand_counts_against_capacity(redis):
    users = UserStore(redis)
    await users.add("op1", "operator", PASSWORD)
    store = ConversationStore(redis)
    assigner = make_assigner(store, redis, users)
    await assigner.set_enabled(True)
    await assigner.set_capacity("op1", 1)
    await Presence(redis).renew("op1", "stream")
    mine = await queued_conversation(redis, user_id="by-hand")
    waiting = await queued_conversation(redis, user_id="waiting")
    await store.move(mine.id, "claim", operator="op1")  # on op1's list in the same step
    assert await assigner.run_once() == []
    assert (await store.require(waiting.id)).state.value == "queued"
    await store.move(mine.id, "close")
    assert [(a.conversation, a.operator) for a in await assigner.run_once()] == [(waiting.id, "op1")]
