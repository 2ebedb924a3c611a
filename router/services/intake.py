"""Opening a ticket the way a 12345 centre does: understand it, place it, clock it, send it out.

Whatever the caller of ``POST /api/v1/tickets`` knew (the bot's form, an operator, another system) is
kept; what is missing is filled in by the router, which is the system of record: the topic and the
responsible department from the classifier and the routing table, the 属地 (district → street →
community → grid) from the resolver, the urgency that sets the SLA clock. A ticket whose topic is
confident is dispatched at once — to the agency, or for 属地 matters to the street office, the
community's 综治中心 for disputes, or the grid's 网格员 for an on-site check; one that is not waits in
受理 for a human dispatcher instead of being guessed at.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from router.domain.classifier import TopicClassifier
from router.domain.jurisdiction import JurisdictionResolver
from router.domain.normalise import normalise
from router.domain.routing import Handling, RoutingError
from router.domain.tickets import Status, Ticket
from router.services.ports import TicketRepository

__all__ = ["TicketIntake", "urgency_of"]

log = logging.getLogger(__name__)

_OUTAGE = re.compile(
    r"停水|停电|停气|断水|断电|断气|没水|没电|没气|没有水|没有电|没有气|燃气.{0,4}(中断|停)|水压.{0,3}(没|低)|跳闸|"
    r"停止供(应|气|水|电)|暂停供(应|气|水|电)|停供|供(气|水)不足|"
    r"(水|电|煤气|燃气|天然气|管道气).{0,10}(没有了|没了|停了|断了|不来)|(整条街|整栋楼|全楼|整个小区|全小区|一片).{0,4}(黑|没电)")
# A threat to cut the supply, or a supply cut elsewhere, is not an outage at the resident's.
_NOT_OUTAGE = re.compile(r"(威胁|扬言|要|会|将|说)(要)?(断水|断电|停水|停电|断气)")
# Danger to life or property now, though nobody needs 119 this minute (the 2-hour class): what can
# fall, open, collapse, shock or burn, said as it is today.
_DANGER = re.compile(
    r"(随时|快要|马上|就要|眼看|迟早).{0,6}(倒|塌|掉|砸|断|爆|烧)|"
    r"(井盖|盖板|护栏|栏杆)[^。！？!?]{0,20}(丢|没了|没有了|缺|不见|坏|破|碎|松|移位|塌|被偷|掀|翻)|(没有|没了|缺了?)(井盖|盖板|护栏)|"
    r"电线.{0,8}(掉|断|垂|裸露|拖地|打火|冒火|火花|漏电)|漏电|触电危险|燃气.{0,3}(泄漏|漏气)|"
    r"(墙体|墙|外墙|楼体|房子|楼|天花板|阳台|屋顶).{0,4}(裂|倾斜|下沉|脱落|要塌|快塌)|危房|塌陷|"
    r"砸到人|砸伤|高空(坠物|抛物)|(广告牌|招牌|玻璃|空调外机|树|树枝).{0,6}(要掉|快掉|松动|摇|倒|断|砸)|"
    r"(很|非常|太|特别|十分|好)危险|危险(得很|极了)|有人(掉|摔)下去|(小孩|老人|老人家|人).{0,6}(掉下去|摔下去)")


def urgency_of(text: str) -> str:
    """SLA class from the words of the report (DESIGN: 2 h danger, 24 h outage, 7 d general)."""
    if _DANGER.search(text):
        return "life_property"
    if _OUTAGE.search(text) and not _NOT_OUTAGE.search(text):
        return "outage"
    return "general"


AUTO_DISPATCHER = "system:auto-dispatch"


class TicketIntake:
    def __init__(self, store: TicketRepository, classifier: TopicClassifier, resolver: JurisdictionResolver) -> None:
        self.store = store
        self.classifier = classifier
        self.resolver = resolver

    async def open(self, draft: dict[str, Any], *, idempotency_key: str | None, actor: str) -> Ticket:
        draft = dict(draft)
        text = draft.get("text")
        if isinstance(text, str) and text.strip():
            clean = normalise(text)
            draft["location"] = self._place(draft, clean)
            draft["topic"] = self._topic(draft, clean)
            draft.setdefault("urgency", urgency_of(clean))
        ticket = await self.store.create(draft, idempotency_key=idempotency_key, actor=actor)
        if ticket.status is Status.RECEIVED:
            ticket = await self._dispatch(ticket, draft.get("topic") or {})
        return ticket

    def _place(self, draft: dict[str, Any], clean: str) -> dict[str, Any]:
        given = draft.get("location")
        loc = dict(given) if isinstance(given, dict) else {}
        if given is not None and not isinstance(given, dict):
            return given  # the store says what is wrong with it
        address = draft.get("address") if isinstance(draft.get("address"), str) else ""
        if loc.get("district") and loc.get("street") and (loc.get("community") or not address):
            return loc
        place = self.resolver.resolve(normalise(f"{address} {clean}".strip()))
        if place.ambiguous and not loc:
            return loc
        for level in ("district", "street", "community", "grid"):
            value = getattr(place, level)
            if value and not loc.get(level):
                # never mix units from different places: only fill below what was given and agrees
                if level != "district" and loc.get("district") and place.district != loc["district"]:
                    break
                loc[level] = value
        return loc

    def _topic(self, draft: dict[str, Any], clean: str) -> Any:
        given = draft.get("topic")
        if given is not None and not isinstance(given, dict):
            return given
        topic = dict(given or {})
        if topic.get("l1") and topic.get("department"):
            return topic
        predicted = self.classifier.predict(clean).to_dict()
        return {**predicted, **{k: v for k, v in topic.items() if v}}

    async def _dispatch(self, ticket: Ticket, topic: dict[str, Any]) -> Ticket:
        if topic.get("needs_human_dispatch") or not ticket.topic.department:
            return ticket  # a person decides where it goes
        try:
            department, unit = self._assignee(ticket)
        except RoutingError:  # a topic the routing table does not know (an API client's own l1): a person decides
            return ticket
        if not department:
            return ticket
        reason = f"自动派单（主题置信度 {ticket.topic.confidence:.2f}）"
        try:
            return await self.store.transition(ticket.id, "dispatch", AUTO_DISPATCHER, reason,
                                               department=department, unit=unit)
        except Exception:  # the ticket is safe in 受理; a dispatcher will pick it up
            log.exception("auto-dispatch of %s failed", ticket.id)
            return ticket

    def _assignee(self, ticket: Ticket) -> tuple[str, str]:
        t, loc = ticket.topic, ticket.location
        handling = self.classifier.routing.route(t.l1, t.l2, t.l3).handling
        if handling is Handling.STREET:
            if not loc.street:
                return "", ""  # 属地 work needs a place
            try:
                return self.resolver.street_office(loc.street), loc.community or ""
            except ValueError:
                return "", ""
        if handling is Handling.MEDIATION:
            where = loc.community or loc.street
            return (f"{where}综治中心", loc.street or "") if where else ("", "")
        if handling is Handling.GRID_CHECK:
            if loc.grid:
                return f"{loc.grid}网格员", loc.community or ""
            if loc.community:
                return f"{loc.community}网格员", loc.street or ""
            return t.department, loc.street or ""
        return t.department, loc.street or loc.community or ""
