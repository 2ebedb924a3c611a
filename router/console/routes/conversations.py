"""One conversation: its page (summary, transcript, canned replies) and the operator's actions on it —
claim, reply, hand back to the bot, close, and 转介社区心理服务室 (with the resident's consent). The actions
themselves are the operator desk's (router.services.desk) and the referrals' (router.services.referral);
these handlers read the form, call them, audit, and answer."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.adapters.conversations import Conversation, ConversationNotFound, ConversationState
from router.appkeys import CONVERSATIONS, DIALOGUE, OUTBOUND, RESOLVER
from router.console.access import guarded
from router.console.auth import Permission
from router.console.context import canned_of, desk_of, session_of, ticket_service
from router.console.presenters import conv_view, entry_view, label, msg
from router.console.render import answer, audit, render
from router.services.desk import InvalidReply, Operator, Refused, Undelivered
from router.services.referral import Referrals, room_of

__all__ = ["conversation_page", "conversation_partial", "claim", "reply", "handback", "close", "referral"]

_OTHER_OPERATOR = "其他坐席"  # a claimed conversation whose operator the store does not name


def _operator(request: web.Request) -> Operator:
    session = session_of(request)
    return Operator(session.user, supervisor=session.can(Permission.SUPERVISE))


def _refusal(request: web.Request, exc: Refused) -> str:
    """The desk's refusal in the operator's words: states and commands by their labels."""
    params = dict(exc.params)
    if "state" in params:
        params["state"] = label(request, "conversation_states", params["state"])
    if "command" in params:
        params["command"] = label(request, "commands", params["command"])
    if exc.reason == "claimed_by_other":
        params["operator"] = params.get("operator") or _OTHER_OPERATOR
    return msg(request, exc.reason, **params)


def _referrals(request: web.Request) -> Referrals:
    dialogue = request.config_dict.get(DIALOGUE)
    return Referrals(request.config_dict[CONVERSATIONS], ticket_service(request), request.config_dict[OUTBOUND],
                     request.config_dict[RESOLVER], rasa=getattr(dialogue, "rasa", None))


async def _referral_view(request: web.Request, conv: Conversation, may_refer: bool) -> dict[str, Any]:
    """The referral panel: a referral already made, the resident's own answer to the bot's offer, and the
    form's defaults (the number masked: the service uses the full one when the field is left empty)."""
    referrals = _referrals(request)
    status = await referrals.status(conv.id)
    view: dict[str, Any] = {**status, "may_refer": may_refer and not status["referral"], "phone_masked": "",
                            "community": "", "room": ""}
    if view["may_refer"]:
        known = await referrals.known(conv)
        view.update(phone_masked=known.phone_masked, community=known.community,
                    room=room_of(known.community) if known.community else "")
    return view


def _not_found(request: web.Request) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=msg(request, "not_found"))


async def _load_conv(request: web.Request) -> Conversation:
    try:
        return await desk_of(request).get(request.match_info["id"])
    except ConversationNotFound:
        raise _not_found(request) from None


async def _conversation_context(request: web.Request, conv: Conversation) -> dict[str, Any]:
    session = session_of(request)
    see = session.can(Permission.SEE_PHONES)
    transcript = await request.config_dict[CONVERSATIONS].transcript(conv.id, limit=500)
    may_supervise = session.can(Permission.SUPERVISE)
    desk_users: list[dict[str, Any]] = []
    if may_supervise and conv.state in (ConversationState.QUEUED, ConversationState.HUMAN):
        from router.console.routes.assignment import desk_users as list_desk_users

        desk_users = await list_desk_users(request)
    mine = conv.state is ConversationState.HUMAN and conv.operator == session.user
    return {
        "referral": await _referral_view(request, conv, mine or (
            may_supervise and conv.state is ConversationState.HUMAN)),
        "conv": conv_view(request, conv, see),
        "entries": [entry_view(request, e, see) for e in transcript],
        "mine": mine,
        "may_supervise": may_supervise,
        "desk_users": desk_users,
        "canned": await canned_of(request).list(),
    }


@guarded(Permission.HANDLE_CONVERSATIONS)
async def conversation_page(request: web.Request) -> web.Response:
    conv = await _load_conv(request)
    return render(request, "conversation.html", **await _conversation_context(request, conv))


@guarded(Permission.HANDLE_CONVERSATIONS)
async def conversation_partial(request: web.Request) -> web.Response:
    conv = await _load_conv(request)
    return render(request, "_conversation_head.html", **await _conversation_context(request, conv))


@guarded(Permission.HANDLE_CONVERSATIONS)
async def claim(request: web.Request) -> web.StreamResponse:
    conv_id = request.match_info["id"]
    try:
        conv = await desk_of(request).claim(conv_id, _operator(request))
    except ConversationNotFound:
        raise _not_found(request) from None
    except Refused as exc:
        await audit(request, "claim_refused", conv_id, state=exc.params["state"])
        return await answer(request, False, _refusal(request, exc), "/console/queue", status=409)
    await audit(request, "claim", conv_id, channel=conv.channel)
    return await answer(request, True, msg(request, "claimed"), f"/console/conversations/{conv_id}")


@guarded(Permission.HANDLE_CONVERSATIONS)
async def reply(request: web.Request) -> web.StreamResponse:
    conv_id = request.match_info["id"]
    where = f"/console/conversations/{conv_id}"
    form = await request.post()
    text = str(form.get("text") or "").strip()
    if not text and form.get("canned"):
        chosen = await canned_of(request).get(str(form.get("canned")))
        text = chosen["text"] if chosen else ""
    try:
        conv, sent = await desk_of(request).reply(conv_id, _operator(request), text)
    except ConversationNotFound:
        raise _not_found(request) from None
    except InvalidReply as exc:
        return await answer(request, False, _refusal(request, exc), where, status=422)
    except Refused as exc:
        return await answer(request, False, _refusal(request, exc), where, status=409)
    except Undelivered as exc:
        error = str(exc.error)[:200]
        await audit(request, "reply_undelivered", conv_id, chars=len(exc.text), error=error)
        return await answer(request, False, msg(request, "reply_undelivered",
                                                channel=label(request, "channels", exc.conversation.channel),
                                                error=error or type(exc.error).__name__), where, status=502)
    await audit(request, "reply", conv_id, chars=len(sent), channel=conv.channel)
    return await answer(request, True, msg(request, "reply_sent"), where)


async def _end(request: web.Request, command: str) -> web.StreamResponse:
    conv_id = request.match_info["id"]
    try:
        before, _ = await desk_of(request).end(conv_id, _operator(request), command)
    except ConversationNotFound:
        raise _not_found(request) from None
    except Refused as exc:
        return await answer(request, False, _refusal(request, exc), f"/console/conversations/{conv_id}",
                            status=409)
    await audit(request, command, conv_id, previous_operator=before.operator)
    return await answer(request, True, msg(request, "handed_back" if command == "handback" else "closed"),
                        "/console/queue")


@guarded(Permission.HANDLE_CONVERSATIONS)
async def handback(request: web.Request) -> web.StreamResponse:
    return await _end(request, "handback")


@guarded(Permission.HANDLE_CONVERSATIONS)
async def close(request: web.Request) -> web.StreamResponse:
    return await _end(request, "close")


@guarded(Permission.HANDLE_CONVERSATIONS)
async def referral(request: web.Request) -> web.StreamResponse:
    """转介社区心理服务室: only with the box "居民已同意转介" ticked (422 and nothing created otherwise)."""
    return await _referral(request)


async def _referral(request: web.Request) -> web.StreamResponse:
    conv_id = request.match_info["id"]
    where = f"/console/conversations/{conv_id}"
    form = await request.post()
    try:
        ticket = await _referrals(request).create(
            conv_id, _operator(request), consent=form.get("consent") in ("1", "on", "yes", "true"),
            phone=str(form.get("contact_phone") or ""), community=str(form.get("community") or ""),
            note=str(form.get("note") or ""))
    except ConversationNotFound:
        raise _not_found(request) from None
    except InvalidReply as exc:
        await audit(request, "referral_refused", conv_id, reason=exc.reason)
        return await answer(request, False, _refusal(request, exc), where, status=422)
    except Refused as exc:
        await audit(request, "referral_refused", conv_id, reason=exc.reason)
        return await answer(request, False, _refusal(request, exc), where, status=409)
    room = ticket.assignee.department if ticket.assignee else ""
    await audit(request, "referral", conv_id, ticket=ticket.id, unit=room, consent=True)
    return await answer(request, True, msg(request, "referral_created", room=room, id=ticket.id), where)
