"""矛盾纠纷调处: a community 综治中心 records its mediation of a dispute ticket, without HTTP.

The record (router/adapters/mediation.py) holds the parties (2-6), the sessions (one at a time: when,
where, who attended, what was agreed or not) and the outcome. Who writes: the unit the ticket is dispatched
to and working on it (处置) — a 综治中心, or the unit it was escalated to (its street office). Who
reads: whoever sees the ticket (router.services.work.WorkService.sees); every unit but the 综治中心 reads it
with phone and ID numbers masked, and so do the console's operators.

调解成功 → 办结 with the agreement as the result (WorkService.resolve → TicketService.move).
调解不成功 → 上报街道: the portal's one 上报 path (router/services/escalation.py ``Escalation.escalate``):
ESCALATE (处置 → 督办, escalation_level 社区 → 街道; the reason on record) and then DISPATCH (督办 → 派单) to
the street office the 属地 resolver names, which gets it in its dispatch stream and 签收s it as any other
ticket; the record then says where it went. A 上报 left half-way (督办, still with the 综治中心) is
finished by sending it again. The unit it was escalated to goes on with the record.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from router.adapters.mediation import MediationStore
from router.adapters.units import Unit, UnitKind
from router.domain.masking import mask_pii
from router.domain.tickets import (
    CST,
    IllegalTransition,
    Status,
    Ticket,
    TransitionDataError,
    iso,
)
from router.services.escalation import Escalation
from router.services.work import NotYours, WorkService, required_text

__all__ = ["MediationService", "MAX_PARTIES", "MIN_PARTIES", "MAX_SESSIONS"]

MIN_PARTIES, MAX_PARTIES = 2, 6
MAX_PARTY_CHARS = 40
MAX_SESSIONS = 30
CITY_TIME = CST  # the city's time, a fixed +08:00 (no tzdata needed)
_SPLIT = re.compile(r"[\n\r、，,；;]+")


def _when(value: str | None, now: datetime) -> datetime:
    raw = (value or "").strip()
    if not raw:
        raise TransitionDataError("请填写调解时间")
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise TransitionDataError("调解时间格式不对，请用 2026-05-01 09:30 这样的写法") from None
    if when.tzinfo is None:  # what a datetime-local field sends: the city's own time
        when = when.replace(tzinfo=CITY_TIME)
    if when > now:
        raise TransitionDataError("调解时间不能晚于现在（先调解，再记录）")
    return when


class MediationService:
    def __init__(self, work: WorkService, store: MediationStore, escalation: Escalation) -> None:
        self.work = work
        self.store = store
        self.escalation = escalation

    # -- reading ----------------------------------------------------------------------------------

    async def record_for(self, unit: Unit, ticket: Ticket) -> dict[str, Any] | None:
        """The record as ``unit`` reads it (it already sees ``ticket``): masked for any unit but the 综治中心."""
        record = await self.store.get(ticket.id)
        return self.view(unit, record) if record is not None else None

    @classmethod
    def view(cls, unit: Unit, record: dict[str, Any]) -> dict[str, Any]:
        return record if unit.kind is UnitKind.COMMUNITY else cls.masked(record)

    @staticmethod
    def masked(record: dict[str, Any]) -> dict[str, Any]:
        """The record with phone and ID numbers masked (a street office's view, the console's)."""
        out = copy.deepcopy(record)
        out["parties"] = [mask_pii(p) for p in out["parties"]]
        for s in out["sessions"]:
            for field in ("place", "attendees", "result"):
                s[field] = mask_pii(s.get(field) or "")
        if out.get("outcome"):
            out["outcome"]["text"] = mask_pii(out["outcome"].get("text") or "")
        if out.get("escalated"):
            out["escalated"]["reason"] = mask_pii(out["escalated"].get("reason") or "")
        return out

    @staticmethod
    def writes(unit: Unit, record: dict[str, Any] | None) -> bool:
        """A 综治中心 writes the record of a dispute it handles; after a 上报, the unit it went to."""
        escalated = (record or {}).get("escalated") or {}
        return unit.kind is UnitKind.COMMUNITY or (bool(escalated) and escalated.get("to") == unit.unit)

    async def escalated(self, ticket_ids: list[str]) -> set[str]:
        """Which of these tickets are mediations escalated to a street office (marked in its list)."""
        return {t for t, r in (await self.store.get_many(ticket_ids)).items() if r.get("escalated")}

    # -- writing ----------------------------------------------------------------------------------

    async def _writable(self, unit: Unit, ticket_id: str) -> tuple[Ticket, dict[str, Any] | None]:
        ticket = await self.work.ticket_for(unit, ticket_id)  # NotYours (404) if it cannot even see it
        record = await self.store.get(ticket_id)
        if not WorkService.handles(unit, ticket):
            raise NotYours(ticket_id)  # a street office reads its communities' records, it does not write them
        if not self.writes(unit, record):
            raise PermissionError("调解记录由社区综治中心填写（上报后由街道继续）")
        if ticket.status is not Status.IN_PROGRESS:
            raise IllegalTransition(ticket.id, ticket.status, "mediate", "sign for the ticket (签收) first")
        return ticket, record

    async def set_parties(self, unit: Unit, ticket_id: str, text: str | None) -> dict[str, Any]:
        parties = [p.strip() for p in _SPLIT.split(text or "") if p.strip()]
        if not MIN_PARTIES <= len(parties) <= MAX_PARTIES:
            raise TransitionDataError(f"当事人要写 {MIN_PARTIES} 到 {MAX_PARTIES} 个，每行一个（现在 {len(parties)} 个）")
        for p in parties:
            if len(p) > MAX_PARTY_CHARS:
                raise TransitionDataError(f"当事人“{p[:10]}…”太长了（每个最多 {MAX_PARTY_CHARS} 字）")
        if len(set(parties)) != len(parties):
            raise TransitionDataError("当事人有重复")
        await self._writable(unit, ticket_id)

        def change(record: dict[str, Any]) -> None:
            record["parties"] = parties

        return await self.store.update(ticket_id, change)

    async def add_session(self, unit: Unit, ticket_id: str, *, when: str | None, place: str | None,
                          attendees: str | None, result: str | None) -> dict[str, Any]:
        now = self.work.tickets.clock()
        session = {"at": iso(_when(when, now)), "place": required_text(place, "调解地点", 100),
                   "attendees": required_text(attendees, "参加人员", 200), "result": required_text(result, "调解情况", 1000),
                   "by": unit.unit, "recorded_at": iso(now)}
        await self._writable(unit, ticket_id)

        def change(record: dict[str, Any]) -> None:
            if not record["parties"]:
                raise TransitionDataError("请先填写当事人")
            if len(record["sessions"]) >= MAX_SESSIONS:
                raise TransitionDataError(f"调解记录最多 {MAX_SESSIONS} 次")
            record["sessions"].append(session)
            record["sessions"].sort(key=lambda s: s["at"])

        return await self.store.update(ticket_id, change)

    @staticmethod
    def _ready(record: dict[str, Any] | None) -> None:
        if not record or not record["parties"]:
            raise TransitionDataError("请先填写当事人")
        if not record["sessions"]:
            raise TransitionDataError("请先记录至少一次调解")

    async def succeed(self, unit: Unit, ticket_id: str, agreement: str | None) -> Ticket:
        """调解成功: the ticket is 办结 with the agreement as the result the resident reads."""
        text = required_text(agreement, "调解协议内容", 900)
        _, record = await self._writable(unit, ticket_id)
        self._ready(record)
        ticket = await self.work.resolve(unit, ticket_id, f"调解成功。协议：{text}")
        now = self.work.tickets.clock()

        def change(r: dict[str, Any]) -> None:
            r["outcome"] = {"result": "success", "text": text, "by": unit.unit, "at": iso(now)}

        await self.store.update(ticket_id, change)
        return ticket

    async def fail(self, unit: Unit, ticket_id: str, reason: str | None) -> Ticket:
        """调解不成功 → 上报街道: the portal's general 上报 (router/services/escalation.py) with the mediation's
        wording, then the outcome and where it went on the record."""
        why = required_text(reason, "调解不成功的原因", 500)
        ticket = await self.work.ticket_for(unit, ticket_id)
        if unit.kind is not UnitKind.COMMUNITY:
            raise PermissionError("只有社区综治中心上报街道；街道调解不成，请写进展或按规定办结")
        if not WorkService.handles(unit, ticket):
            raise NotYours(ticket_id)
        self._ready(await self.store.get(ticket_id))
        ticket = await self.escalation.escalate(unit, ticket_id, why, cause="调解不成功，", what="调解不成功的原因")
        office = ticket.assignee.department if ticket.assignee else ""
        now = self.work.tickets.clock()

        def change(r: dict[str, Any]) -> None:
            r["outcome"] = {"result": "failed", "text": why, "by": unit.unit, "at": iso(now)}
            r["escalated"] = {"to": office, "from": unit.unit, "reason": why, "at": iso(now)}

        await self.store.update(ticket_id, change)
        return ticket
