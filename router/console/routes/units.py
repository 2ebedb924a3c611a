"""The figures per handling unit (/console/units): 签收及时率, 退单率, 办结及时率, 满意率, average handling
time and counts per unit and per district for a period, for supervisors and admins (SUPERVISE). The
figures are computed on each request from the tickets' histories (router.services.reports), so they
follow every move of a ticket."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from router.console.access import guarded
from router.console.auth import Permission
from router.console.context import UNAVAILABLE, state_of, ticket_store
from router.console.render import refuse, render
from router.domain.tickets import CST
from router.services.reports import UnitReport, build_unit_report, store_now

__all__ = ["units_page", "DEFAULT_DAYS", "MAX_DAYS"]

DEFAULT_DAYS = 30  # the period shown when none is chosen: the last 30 days up to today
MAX_DAYS = 366
MAX_DISTRICT_CHARS = 50


def _text(request: web.Request, key: str, **params: Any) -> str:
    return str(state_of(request).texts["units_page"][key]).format(**params)


def _day(request: web.Request, name: str) -> date | None:
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(_text(request, "bad_date", value=raw[:20])) from None


def _period(request: web.Request, today: date) -> tuple[date, date]:
    """[first, last] days, both included; the last 30 days by default."""
    first, last = _day(request, "since"), _day(request, "until")
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValueError(_text(request, "bad_order"))
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(_text(request, "too_long", days=MAX_DAYS))
    return first, last


@guarded(Permission.SUPERVISE)
async def units_page(request: web.Request) -> web.Response:
    store = ticket_store(request)
    now = store_now(store)
    try:
        first, last = _period(request, now.astimezone(CST).date())
    except ValueError as exc:
        return await refuse(request, 400, str(exc))
    district = request.query.get("district", "").strip() or None
    if district and len(district) > MAX_DISTRICT_CHARS:
        return await refuse(request, 400, _text(request, "bad_district", limit=MAX_DISTRICT_CHARS))
    since = datetime.combine(first, time(), CST)
    until = datetime.combine(last + timedelta(days=1), time(), CST)
    report: UnitReport | None = None
    districts: list[str] = []
    try:
        everywhere = await build_unit_report(store, now=now, since=since, until=until)
        districts = [r.group for r in everywhere.rows["district"]]
        report = everywhere if district is None else await build_unit_report(
            store, now=now, since=since, until=until, district=district)
    except UNAVAILABLE:
        pass  # the page says the figures are unavailable
    if district and district not in districts:
        districts.append(district)
    return render(request, "units.html", report=report, since=first.isoformat(), until=last.isoformat(),
                  district=district or "", districts=districts, t=state_of(request).texts["units_page"])
