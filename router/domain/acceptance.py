"""How long a handling unit has to sign for (签收) a dispatched ticket: the 签收 time limit behind the
签收及时率 of the per-unit figures (router.services.reports).

The limits are the project's choice, modelled on what city 12345 rules commonly ask (an ordinary
dispatch signed for within one working day, urgent ones at once or within hours); no city's regulation
is quoted. Change them here, as data, if a city sets others:

- 危及生命财产 (life_property): 30 minutes — its whole 办结 limit is 2 hours;
- 停水停电停气 (outage): 2 hours;
- 一般 / 复杂 (general, complex): 1 working day — the same clock time on the next working day.

Working days are Monday to Friday in Beijing time; public holidays and 调休 make-up days are not
modelled (a dispatch on the eve of a holiday is due the next weekday).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from router.domain.tickets import CST, Urgency

__all__ = ["ACCEPT_LIMITS", "WORKING_DAY", "acceptance_deadline", "next_working_day"]

# A timedelta is a fixed time limit; WORKING_DAY means "by the same time on the next working day".
WORKING_DAY = "1 working day"
ACCEPT_LIMITS: dict[Urgency, timedelta | str] = {
    Urgency.LIFE_PROPERTY: timedelta(minutes=30),
    Urgency.OUTAGE: timedelta(hours=2),
    Urgency.GENERAL: WORKING_DAY,
    Urgency.COMPLEX: WORKING_DAY,
}


def next_working_day(at: datetime) -> datetime:
    """The same Beijing clock time on the next Monday-to-Friday day after ``at``."""
    local = at.astimezone(CST) + timedelta(days=1)
    while local.weekday() >= 5:  # Saturday, Sunday
        local += timedelta(days=1)
    return local


def acceptance_deadline(dispatched_at: datetime, urgency: Urgency | str) -> datetime:
    """When a dispatch made at ``dispatched_at`` must have been signed for."""
    limit = ACCEPT_LIMITS[Urgency(urgency)]
    if isinstance(limit, timedelta):
        return dispatched_at.astimezone(CST) + limit
    return next_working_day(dispatched_at)
