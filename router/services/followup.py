"""回访: when a ticket is resolved, the resident is asked on their own channel how it went.

The question goes into the conversation the ticket came from (the operator sees it in the transcript)
and out through that channel's sender; the three answers are buttons whose payloads carry the ticket id,
so the bot records the rating (``follow_up``) even in a later session. A resident who called the
hotline has hung up long ago: phone follow-up stays with people, as in 12345 practice.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from router.domain.tickets import Rating, Ticket
from router.services.messages import Button, Reply
from router.texts import text as t

__all__ = ["ask_for_rating", "rating_buttons"]

log = logging.getLogger(__name__)


def rating_buttons(ticket_id: str) -> tuple[Button, ...]:
    return tuple(
        Button(r.value, "/rate" + json.dumps({"rating": r.value, "ticket_id": ticket_id}, ensure_ascii=False))
        for r in Rating
    )


async def ask_for_rating(conversations: Any, outbound: Any, ticket: Ticket, *, lead: str = "") -> bool:
    """Ask; False when there is nobody to ask (no conversation, or a phone call), True once the question is in
    the conversation (a channel that is down does not undo that: the operator sees it in the transcript).
    ``lead``: what the question follows in the same message (the 办结 notice with the unit's result,
    router/services/notices.py)."""
    if not ticket.conversation_id:
        return False
    conv = await conversations.get(ticket.conversation_id)
    if conv is None or conv.channel == "voice":
        return False
    buttons = rating_buttons(ticket.id)
    question = f"{lead}\n{t('followup_question')}" if lead else t("followup_rating", ticket_id=ticket.id)
    reply = Reply(question, buttons=buttons, author="system")
    await conversations.append(conv.id, "system", reply.text, buttons=[b.to_dict() for b in buttons],
                               meta={"ticket": ticket.id, "event": "follow_up"})
    try:
        await outbound.send(conv, reply)
    except Exception as exc:  # the question is in the transcript; an operator can follow up by phone
        log.warning("follow-up question for %s not delivered on %s: %s", ticket.id, conv.channel, exc)
    return True
