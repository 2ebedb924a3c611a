"""上报 and 交办 between the tiers 社区 → 街道 → 区 → 市 in the work portal, without HTTP.

上报 (escalate): the unit handling a ticket (after 签收, in 处置) cannot settle it and hands it to the tier
above, with a required reason. Two moves through TicketService.move, because the lifecycle table has no
single one that changes the unit: ESCALATE (处置 → 督办, ``escalation_level`` one up, the masked reason on
record) and DISPATCH (督办 → 派单) to the unit of the tier above for the ticket's place, which gets a
dispatch-stream entry and 签收s it like any ticket. A 上报 left half-way (督办, still with the unit that
escalated it) is finished by sending it again. The 综治中心's 调解不成功 → 上报街道
(router/services/mediation.py) is this same path with its own wording.

Which unit is above: the tier above the escalating unit's own — 网格员 / 综治中心 (社区) → the street office of
the ticket's street (the 属地 resolver's ``street_office``, as the intake names it); street office (街道) →
the district's 12345 分中心 (``district_office``: 南山区 → 南山区12345分中心); district (区) → the city's
12345 热线中心 (市). If overdue 督办s (the SLA scheduler) have already taken the ticket's level higher, it
goes to the unit of that level instead, so the level on record is always the tier of the unit holding it
after a 上报 (a street office that 上报s again after the district sent it back reaches the city).
A department (职能部门) has no tier of its own: it escalates to the coordinating body of the government it
belongs to — the 12345 分中心 of the ticket's district for a district body, the city's 热线中心 when the
routing table names a city-level body for the ticket's topic or the ticket has no district — because a
department that cannot settle a matter alone needs the cross-department coordination that sits there,
not a street office. The city has nothing above it: it handles or resolves what reaches it.

交办 (assign down): a unit that got a ticket by 上报 may, instead of 签收ing it, send it back down to the unit
that escalated it with an instruction (督办意见): one DISPATCH (派单/督办 → 派单) back to that unit's
assignee. The lower unit sees it again, marked 督办 with the instruction. After 签收 the ticket is the
higher unit's to handle (进展, 办结, or 上报 further); the lifecycle has no move from 处置 back to 派单 that
is not a 退单 or a 督办, and neither is what a 交办 is.

The trail (``trail``): who escalated, sent back or supervised a ticket, when, why and at which level, read
from the history alone (nothing else is stored), for the portal's and the console's ticket pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from router.adapters.units import CITY_CENTRE, Unit, UnitKind, district_office
from router.domain.masking import mask_pii
from router.domain.tickets import (
    ESCALATION_LEVELS,
    Action,
    IllegalTransition,
    PreconditionFailed,
    Status,
    Ticket,
    TransitionDataError,
)
from router.services.work import NotYours, WorkService, required_text

__all__ = ["Escalation", "CannotEscalate", "Step", "trail", "arrival", "can_report_up", "can_assign_down", "REPORT_UP", "ASSIGN_DOWN", "OVERDUE",
           "MAX_REASON_CHARS"]

REPORT_UP, ASSIGN_DOWN, OVERDUE = "report_up", "assign_down", "overdue"
MAX_REASON_CHARS = 500
_ABOVE = {UnitKind.GRID: "街道", UnitKind.COMMUNITY: "街道", UnitKind.STREET: "区", UnitKind.DISTRICT: "市",
          UnitKind.DEPARTMENT: "区"}
TIER_LABELS = {"街道": "街道", "区": "区级", "市": "市级"}


class CannotEscalate(IllegalTransition):
    """A 上报 or 交办 the ticket's state or path does not allow; ``message`` says why, in the units' words."""

    def __init__(self, ticket: Ticket, action: str, message: str) -> None:
        super().__init__(ticket.id, ticket.status, action, message)
        self.message = message


@dataclass(frozen=True)
class Step:
    """One step of a ticket's way between the tiers."""

    kind: str  # REPORT_UP (上报) | ASSIGN_DOWN (交办) | OVERDUE (超时督办 by the SLA scheduler, a resident's 催办...)
    at: datetime
    actor: str  # as the history names it (unit:LOGIN, system:sla...)
    from_unit: str  # the unit holding the ticket before the step ("" if none)
    to_unit: str  # the unit it went to ("" for OVERDUE, or a 上报 left half-way)
    reason: str
    level: str  # the ticket's escalation level after the step
    from_place: str = ""  # the 属地 unit the lower unit's dispatch carried (a 交办 restores it)


def _level_up(level: str) -> str:
    i = ESCALATION_LEVELS.index(level) if level in ESCALATION_LEVELS else 0
    return ESCALATION_LEVELS[min(i + 1, len(ESCALATION_LEVELS) - 1)]


def _is_unit(actor: str) -> bool:
    return actor.startswith("unit:")


def _walk(ticket: Ticket) -> tuple[list[Step], Step | None]:
    """The steps, and the one that brought the ticket to the unit holding it now (None if the last dispatch
    was an ordinary one)."""
    steps: list[Step] = []
    holder, place, level = "", "", ESCALATION_LEVELS[0]
    pending: int | None = None  # index in steps of a 上报 waiting for its dispatch
    arrived: Step | None = None
    for h in ticket.history:
        if h.action == Action.ESCALATE.value:
            level = str(h.data.get("level") or _level_up(level))
            kind = REPORT_UP if _is_unit(h.actor) else OVERDUE
            steps.append(Step(kind, h.at, h.actor, holder, "", h.reason or "", level, place))
            pending = len(steps) - 1 if kind == REPORT_UP else pending
        elif h.action == Action.DISPATCH.value or (h.action == Action.REOPEN.value and h.to is Status.DISPATCHED):
            department, unit = str(h.data.get("department") or ""), str(h.data.get("unit") or "")
            arrived = None
            if pending is not None and h.action == Action.DISPATCH.value and _is_unit(h.actor):
                steps[pending] = arrived = replace(steps[pending], to_unit=department)
            elif h.action == Action.DISPATCH.value and _is_unit(h.actor):
                arrived = Step(ASSIGN_DOWN, h.at, h.actor, holder, department, h.reason or "", level, place)
                steps.append(arrived)
            pending = None
            holder, place = department, unit
        elif h.action == Action.RETURN.value:
            holder, place, pending, arrived = "", "", None, None
    return steps, arrived


def _halfway(ticket: Ticket) -> bool:
    """A 上报 left half-way: 督办 by a unit, not yet dispatched up (still with that unit)."""
    last = ticket.history[-1] if ticket.history else None
    return (ticket.status is Status.ESCALATED and last is not None and last.action == Action.ESCALATE.value
            and _is_unit(last.actor))


def can_report_up(unit: Unit, ticket: Ticket) -> bool:
    """The 上报 form: the unit handling it, after 签收 (or to finish a 上报 left half-way); not the city."""
    return (WorkService.handles(unit, ticket) and unit.kind is not UnitKind.CITY
            and (ticket.status is Status.IN_PROGRESS or _halfway(ticket)))


def can_assign_down(unit: Unit, ticket: Ticket) -> bool:
    """The 交办 form: the unit a 上报 brought it to, before it signs for it."""
    came = arrival(ticket)
    if not WorkService.handles(unit, ticket) or came is None or came.kind != REPORT_UP or not came.from_unit:
        return False
    since = max(i for i, h in enumerate(ticket.history) if h.action == Action.DISPATCH.value)
    return ticket.status in (Status.DISPATCHED, Status.ESCALATED) and not any(
        h.action == Action.ACCEPT.value for h in ticket.history[since:])


def trail(ticket: Ticket) -> list[Step]:
    """Every 上报, 交办 and 督办 of the ticket, oldest first."""
    return _walk(ticket)[0]


def arrival(ticket: Ticket) -> Step | None:
    """How the ticket reached the unit holding it, when that was a 上报 or a 交办."""
    return _walk(ticket)[1]


class Escalation:
    def __init__(self, work: WorkService, street_office: Callable[[str], str], *,
                 city_body: Callable[[Ticket], bool] | None = None) -> None:
        self.work = work
        self.street_office = street_office  # the 属地 resolver's 街道 → 街道办事处
        self.city_body = city_body or (lambda t: False)  # the routing table names a city-level body for it

    # -- where to ---------------------------------------------------------------------------------

    def above(self, unit: Unit, ticket: Ticket, new_level: str) -> tuple[str, str, str]:
        """(unit, 属地 unit, tier) a 上报 of ``ticket`` by ``unit`` goes to; TransitionDataError if the place
        does not say; CannotEscalate at the top."""
        if unit.kind is UnitKind.CITY:
            raise CannotEscalate(ticket, "escalate", "已经是市级，没有可以再上报的单位，请办理后办结")
        loc = ticket.location
        tier = _ABOVE[unit.kind]
        if unit.kind is UnitKind.DEPARTMENT and (self.city_body(ticket) or not loc.district):
            tier = "市"
        if ESCALATION_LEVELS.index(new_level) > ESCALATION_LEVELS.index(tier):
            tier = new_level  # overdue 督办s already took it higher
        if tier == "街道":
            if not loc.street:
                raise TransitionDataError("工单没有街道信息，无法上报街道，请联系12345热线改派")
            try:
                return self.street_office(loc.street), loc.community or loc.street, tier
            except ValueError:
                raise TransitionDataError("找不到这个街道的办事处，请联系12345热线改派") from None
        if tier == "区":
            if not loc.district:
                raise TransitionDataError("工单没有区信息，无法上报区级，请联系12345热线改派")
            return district_office(loc.district), loc.street or "", tier
        return CITY_CENTRE, loc.district or "", tier

    def destination(self, unit: Unit, ticket: Ticket) -> str:
        """The unit a 上报 of ``ticket`` by ``unit`` would reach now ("" if it cannot go up: the 上报 says why)."""
        try:
            return self.above(unit, ticket, ticket.escalation_level if _halfway(ticket)
                              else _level_up(ticket.escalation_level))[0]
        except (TransitionDataError, CannotEscalate):
            return ""

    # -- moves ------------------------------------------------------------------------------------

    async def escalate(self, unit: Unit, ticket_id: str, reason: str | None, *, cause: str = "",
                       what: str = "上报理由") -> Ticket:
        """上报 to the tier above (see the module's docstring). ``cause`` starts the history's reasons
        (the mediation's "调解不成功，")."""
        ticket = await self.work.ticket_for(unit, ticket_id)  # 404 for a ticket it does not even see
        if not WorkService.handles(unit, ticket):
            raise NotYours(ticket_id)
        why = required_text(reason, what, MAX_REASON_CHARS)
        resuming = _halfway(ticket)
        if ticket.status in (Status.DISPATCHED, Status.ESCALATED) and not resuming:
            raise CannotEscalate(ticket, "escalate", f"工单现在是“{ticket.status.value}”，请先签收再上报")
        if ticket.status is not Status.IN_PROGRESS and not resuming:
            raise CannotEscalate(ticket, "escalate", f"工单现在是“{ticket.status.value}”，不能上报")
        new_level = ticket.escalation_level if resuming else _level_up(ticket.escalation_level)
        department, place, tier = self.above(unit, ticket, new_level)

        def mine(t: Ticket) -> bool:  # the same commit-time check as every unit move
            return WorkService.handles(unit, t)

        if not resuming:
            ticket = await self.work.tickets.move(ticket_id, Action.ESCALATE, unit.actor,
                                                  f"{cause}上报{TIER_LABELS[tier]}：{mask_pii(why)}",
                                                  precondition=mine)
        if not mine(ticket):
            raise PreconditionFailed(f"ticket {ticket_id} moved on meanwhile")
        return await self.work.tickets.move(ticket_id, Action.DISPATCH, unit.actor,
                                            f"{cause or '上报，'}转{department}", precondition=mine,
                                            department=department, unit=place)

    async def assign_down(self, unit: Unit, ticket_id: str, instruction: str | None) -> Ticket:
        """交办: back to the unit that escalated it, with the 督办意见 it reads (see the module's docstring)."""
        ticket = await self.work.ticket_for(unit, ticket_id)
        if not WorkService.handles(unit, ticket):
            raise NotYours(ticket_id)
        text = required_text(instruction, "督办意见", MAX_REASON_CHARS)
        came = arrival(ticket)
        if came is None or came.kind != REPORT_UP or not came.from_unit:
            raise CannotEscalate(ticket, "assign_down", "这张工单不是下级上报来的，不能交办（不归本单位办理请退单）")
        if not can_assign_down(unit, ticket):
            raise CannotEscalate(ticket, "assign_down",
                                 f"工单现在是“{ticket.status.value}”，已签收的工单由本单位办理（写进展、办结或继续上报）；"
                                 "交办请在签收前进行")

        def mine(t: Ticket) -> bool:
            return WorkService.handles(unit, t) and t.status in (Status.DISPATCHED, Status.ESCALATED)

        return await self.work.tickets.move(ticket_id, Action.DISPATCH, unit.actor, f"督办意见：{mask_pii(text)}",
                                            precondition=mine, department=came.from_unit, unit=came.from_place)
