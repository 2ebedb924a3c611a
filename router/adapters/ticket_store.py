"""Tickets in Redis: the system of record for every incident a resident reports.

Layout (names in router.keys):
- ``rsa:ticket:{ID}``          hash: ``data`` (ticket JSON without history), ``version``, ``status``
- ``rsa:ticket:{ID}:history``  list of history entries (JSON), append-only audit trail
- ``rsa:ticket-seq:YYYYMMDD``  daily INCR counter behind SZ20261125-000123
- ``rsa:idem:KEY``             Idempotency-Key → ticket id (24 h)
- ``rsa:ticket-index:F:V``     ZSETs of ticket ids scored by creation time: all, status, department,
                               district, and ``dup`` (place + topic) for duplicate detection
- ``rsa:sla``                  ZSET of open ticket ids scored by their SLA deadline
- ``rsa:dispatch:DEPT``        stream a department's workers read (router.adapters.dispatch)

Every change is optimistic: WATCH the ticket, decide with the pure domain (router.domain.tickets),
then write ticket + history + indexes + SLA entry + dispatch entry in one MULTI/EXEC. If anyone else
changed the ticket in between, EXEC fails and we decide again from the fresh state; an illegal move
raises before MULTI, so nothing is written.

Redis Cluster: the ticket hash and its history share the hash tag ``{ID}`` and so one slot. The
secondary indexes, the SLA ZSET and the dispatch streams are global keys in other slots, so on Cluster
one MULTI cannot span them (CROSSSLOT). The plan for Cluster is: commit ticket + history in the
ticket's slot (the record of truth), then update indexes/SLA/stream in a second step. That is why
readers already treat indexes as *hints*: ``list`` re-checks every ticket it loads against the filter
and the SLA scheduler re-checks the deadline on the ticket itself, so a stale index entry can hide a
ticket from a list at worst until it is repaired, and never shows a wrong one. On a single Redis or
Sentinel (what we deploy today) everything is one MULTI/EXEC.

Duplicates: a new report with the same place (community, else street), the same topic l1/l2 and
similar text (char-bigram Jaccard ≥ ``duplicate_threshold``) as an *open* ticket created within
``duplicate_window`` is still stored as its own ticket — so the resident has an id to quote — but
immediately moves to 合并 with ``merged_into`` the earlier ticket, whose ``duplicates`` (and so
``reporters``) grow by one in the same transaction. The bucket (``dup`` index of place + topic) is
read, then WATCHed and checked unchanged before the write, so two identical reports arriving together
still end as one ticket with two reporters, never as two tickets.

Ticket ids come from INCR before the transaction; a retried or lost race can leave a gap in the daily
sequence, never a duplicate id.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import WatchError

from router import keys
from router.adapters import StrRedis
from router.domain.tickets import (
    CST,
    DUPLICATE_THRESHOLD,
    DUPLICATE_WINDOW,
    SLA_CLOCKED,
    Action,
    HistoryEntry,
    IllegalTransition,
    InvalidDraft,
    PreconditionFailed,
    Status,
    Ticket,
    TicketNotFound,
    TransitionDataError,
    add_duplicate,
    apply,
    duplicate_scope,
    format_ticket_id,
    new_ticket,
    parse_draft,
    reports_the_same,
    ticket_day,
)

__all__ = [
    "RedisTicketStore",
    "TicketNotFound",
    "PreconditionFailed",
    "InvalidDraft",
]

_MAX_RETRIES = 50
_DUP_CANDIDATES = 50  # earlier reports compared per create




def _now() -> datetime:
    return datetime.now(CST)


def _encode(ticket: Ticket) -> str:
    d = ticket.to_dict(mask_contact=False)
    del d["history"]
    return json.dumps(d, ensure_ascii=False, separators=(",", ":"))


def _decode(data: str, history: Sequence[str]) -> Ticket:
    d = json.loads(data)
    d["history"] = [json.loads(h) for h in history]
    return Ticket.from_dict(d)


def _history_json(entry: HistoryEntry) -> str:
    return json.dumps(entry.to_dict(), ensure_ascii=False, separators=(",", ":"))


def _department(ticket: Ticket) -> str:
    return ticket.assignee.department if ticket.assignee else ticket.topic.department


def _dup_key(ticket: Ticket) -> str | None:
    scope = duplicate_scope(ticket)
    return keys.ticket_index("dup", scope) if scope else None


def _index_keys(ticket: Ticket) -> set[str]:
    out = {keys.ticket_index("all", "all"), keys.ticket_index("status", ticket.status.value)}
    if _department(ticket):
        out.add(keys.ticket_index("department", _department(ticket)))
    if ticket.location.district:
        out.add(keys.ticket_index("district", ticket.location.district))
    dup = _dup_key(ticket)
    if dup and ticket.is_open:
        out.add(dup)
    return out


class RedisTicketStore:
    """Ticket records in Redis (a ``decode_responses=True`` client)."""

    def __init__(
        self,
        redis: StrRedis,
        *,
        clock: Callable[[], datetime] = _now,
        duplicate_window: timedelta = DUPLICATE_WINDOW,
        duplicate_threshold: float = DUPLICATE_THRESHOLD,
        idempotency_ttl: timedelta = timedelta(days=1),
        id_key: bytes | None = None,
    ) -> None:
        self.redis = redis
        # Keyed ids are not sequential (router.domain.tickets.format_ticket_id); None: plain sequence.
        self.id_key = id_key
        self.clock = clock
        self.duplicate_window = duplicate_window
        self.duplicate_threshold = duplicate_threshold
        self.idempotency_ttl = idempotency_ttl

    # ------------------------------------------------------------------------------------ reading

    async def get(self, ticket_id: str) -> Ticket | None:
        found = await self.get_many([ticket_id])
        return found[0] if found else None

    async def require(self, ticket_id: str) -> Ticket:
        ticket = await self.get(ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        return ticket

    async def get_many(self, ids: Sequence[str]) -> list[Ticket]:
        """The tickets that exist among ``ids``, in that order (one round trip)."""
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for tid in ids:
                pipe.hget(keys.ticket(tid), "data")
                pipe.lrange(keys.ticket_history(tid), 0, -1)
            raw = await pipe.execute()
        out = []
        for i in range(0, len(raw), 2):
            if raw[i]:
                out.append(_decode(raw[i], raw[i + 1]))
        return out

    async def search(
        self,
        status: str | Status | None = None,
        department: str | None = None,
        district: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Ticket]:
        """Newest first. Index hits are re-checked on the loaded ticket, so stale entries never leak."""
        if limit <= 0 or offset < 0:
            return []
        status = Status(status) if status else None
        filters = []
        if status:
            filters.append(keys.ticket_index("status", status.value))
        if department:
            filters.append(keys.ticket_index("department", department))
        if district:
            filters.append(keys.ticket_index("district", district))
        if len(filters) <= 1:
            key = filters[0] if filters else keys.ticket_index("all", "all")
            ids = await self.redis.zrevrange(key, offset, offset + limit - 1)
        else:
            scored = await self.redis.zinter(filters, aggregate="MAX", withscores=True)
            scored.sort(key=lambda pair: (pair[1], pair[0]), reverse=True)
            ids = [tid for tid, _ in scored[offset : offset + limit]]

        def matches(t: Ticket) -> bool:
            return (
                (status is None or t.status is status)
                and (department is None or _department(t) == department)
                and (district is None or t.location.district == district)
            )

        return [t for t in await self.get_many(ids) if matches(t)]

    async def created_between(
        self, since: datetime | None, until: datetime | None, *, batch: int = 500
    ) -> AsyncIterator[list[Ticket]]:
        """Tickets created in [since, until), oldest first, ``batch`` per round trip.

        Pages by creation time (not by offset), so tickets created while a report runs neither shift
        nor repeat a page; ties on the same timestamp are all taken with the page that reaches them.
        """
        key = keys.ticket_index("all", "all")
        lo: float | str = since.timestamp() if since else "-inf"
        hi: str = f"({until.timestamp()}" if until else "+inf"
        seen_at_lo: set[str] = set()
        while True:
            page = await self.redis.zrangebyscore(key, lo, hi, start=0, num=batch + len(seen_at_lo),
                                                  withscores=True)
            page = [(tid, score) for tid, score in page if tid not in seen_at_lo]
            if not page:
                return
            page = page[:batch]
            yield await self.get_many([tid for tid, _ in page])
            last = page[-1][1]
            if lo != last:
                seen_at_lo = set()
            lo = last
            seen_at_lo |= {tid for tid, score in page if score == last}

    async def due(self, now: datetime, limit: int = 100) -> list[str]:
        """Open tickets whose SLA deadline has passed, most overdue first."""
        return list(
            await self.redis.zrangebyscore(keys.sla_schedule(), "-inf", now.timestamp(), start=0, num=limit)
        )

    # ------------------------------------------------------------------------------------ writing

    def _write(self, pipe: Any, old: Ticket | None, new: Ticket) -> None:
        """Queue (inside MULTI) everything that changes from ``old`` to ``new``."""
        tkey = keys.ticket(new.id)
        pipe.hset(tkey, mapping={"data": _encode(new), "version": new.version, "status": new.status.value})
        added = new.history[len(old.history) :] if old else new.history
        if added:
            pipe.rpush(keys.ticket_history(new.id), *[_history_json(h) for h in added])
        before = _index_keys(old) if old else set()
        after = _index_keys(new)
        score = new.created_at.timestamp()
        for key in before - after:
            pipe.zrem(key, new.id)
        for key in after - before:
            pipe.zadd(key, {new.id: score})
        if new.status in SLA_CLOCKED:
            pipe.zadd(keys.sla_schedule(), {new.id: new.sla_deadline.timestamp()})
        elif old is None or old.status in SLA_CLOCKED:
            pipe.zrem(keys.sla_schedule(), new.id)
        # A (re)dispatch hands the ticket to the department's stream in the same transaction, so a
        # ticket is never 派单 without a work item, nor a work item without the 派单.
        for pos, entry in enumerate(added, start=len(new.history) - len(added)):
            if entry.to is Status.DISPATCHED and new.assignee is not None:
                pipe.xadd(
                    keys.dispatch_stream(new.assignee.department),
                    {"ticket_id": new.id, "history_index": str(pos), "unit": new.assignee.unit},
                )

    async def create(
        self, draft: dict[str, Any], *, idempotency_key: str | None = None, actor: str = "system"
    ) -> Ticket:
        """Open a ticket (受理). The same idempotency key always answers with the same ticket."""
        fields = parse_draft(draft)
        if idempotency_key is not None:
            idempotency_key = idempotency_key.strip()
            if not idempotency_key or len(idempotency_key) > 200:
                raise InvalidDraft("Idempotency-Key must be 1..200 characters")
        idem = keys.idempotency(idempotency_key) if idempotency_key else None
        if idem and (existing := await self.redis.get(idem)):
            return await self.require(existing)

        now = self.clock()
        day = ticket_day(now)
        seq_key = keys.ticket_seq(day)
        seq = await self.redis.incr(seq_key)
        if seq == 1:
            await self.redis.expire(seq_key, int(timedelta(days=3).total_seconds()))
        try:
            ticket = new_ticket(format_ticket_id(day, seq, self.id_key), at=now, actor=actor, **fields)
        except TransitionDataError as exc:
            raise InvalidDraft(str(exc)) from None

        bucket = _dup_key(ticket)
        existing = None
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(_MAX_RETRIES):
                # Earlier reports are read before anything is WATCHed, so a create never holds two
                # connections at once (32 concurrent creates on a 36-connection pool must not starve).
                seen, candidates = await self._duplicate_candidates(ticket, now)
                try:
                    if idem:
                        await pipe.watch(idem)
                        if existing := await pipe.get(idem):
                            break
                    # Two residents reporting the same lamp at the same moment: both creates add to
                    # the same bucket. Watching it — and checking it still holds what we compared
                    # against — makes the slower EXEC fail and retry, and the retry finds the faster
                    # one's ticket as its candidate.
                    if bucket:
                        await pipe.watch(bucket)
                        if await self._bucket_ids(pipe, bucket, now) != seen:
                            await pipe.reset()
                            continue
                    earlier = None
                    for candidate_id in candidates:
                        await pipe.watch(keys.ticket(candidate_id))
                        fresh = await self._load_watched(pipe, candidate_id)
                        if fresh is not None and fresh.is_open:
                            earlier = fresh
                            break
                    final = ticket
                    if earlier is not None:
                        final = apply(ticket, Action.MERGE, "system:dedupe", now, reason="重复诉求",
                                      merged_into=earlier.id)
                    pipe.multi()
                    if idem:
                        pipe.set(idem, ticket.id, ex=int(self.idempotency_ttl.total_seconds()))
                    self._write(pipe, None, final)
                    if earlier is not None:
                        self._write(pipe, earlier, add_duplicate(earlier, ticket.id, now))
                    await pipe.execute()
                    return final
                except WatchError:
                    continue
            else:
                raise RuntimeError(f"ticket {ticket.id}: too much contention to create")
        # a concurrent request with the same key won: answer with its ticket (connection released)
        assert existing is not None
        return await self.require(existing)

    async def _bucket_ids(self, client: Any, bucket: str, now: datetime) -> list[str]:
        """Ids in the duplicate bucket within the window, oldest first (``client``: Redis or a pipeline
        in immediate mode after WATCH)."""
        since = (now - self.duplicate_window).timestamp()
        return list(await client.zrangebyscore(bucket, since, "+inf", start=0, num=_DUP_CANDIDATES))

    async def _duplicate_candidates(self, ticket: Ticket, now: datetime) -> tuple[list[str], list[str]]:
        """(the bucket's ids as read, the open tickets among them reporting the same problem at the
        same place, earliest first). The chosen one is re-read under WATCH before anything is written.
        """
        bucket = _dup_key(ticket)
        if bucket is None:
            return [], []
        ids = await self._bucket_ids(self.redis, bucket, now)
        return ids, [c.id for c in await self.get_many(ids) if reports_the_same(c, ticket, self.duplicate_threshold)]

    async def _load_watched(self, pipe: Any, ticket_id: str) -> Ticket | None:
        data = await pipe.hget(keys.ticket(ticket_id), "data")
        if not data:
            return None
        return _decode(data, await pipe.lrange(keys.ticket_history(ticket_id), 0, -1))

    async def transition(
        self,
        ticket_id: str,
        action: Action | str,
        actor: str,
        reason: str | None = None,
        *,
        precondition: Callable[[Ticket], bool] | None = None,
        expected_version: int | None = None,
        at: datetime | None = None,
        **data: Any,
    ) -> Ticket:
        """Apply one lifecycle move atomically and return the ticket after it.

        Raises TicketNotFound, IllegalTransition / TransitionDataError (nothing written), or
        PreconditionFailed when ``precondition`` / ``expected_version`` no longer hold.
        """
        tkey = keys.ticket(ticket_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(_MAX_RETRIES):
                try:
                    await pipe.watch(tkey)
                    ticket = await self._load_watched(pipe, ticket_id)
                    if ticket is None:
                        raise TicketNotFound(ticket_id)
                    if expected_version is not None and ticket.version != expected_version:
                        raise PreconditionFailed(
                            f"ticket {ticket_id} is at version {ticket.version}, not {expected_version}"
                        )
                    if precondition is not None and not precondition(ticket):
                        raise PreconditionFailed(f"ticket {ticket_id} no longer fits this move")
                    new = apply(ticket, action, actor, at or self.clock(), reason, **data)
                    target = target_new = None
                    if new.status is Status.MERGED and new.merged_into:
                        await pipe.watch(keys.ticket(new.merged_into))
                        target = await self._load_watched(pipe, new.merged_into)
                        if target is None:
                            raise TicketNotFound(new.merged_into)
                        if target.status in (Status.MERGED, Status.WITHDRAWN):
                            raise IllegalTransition(ticket_id, ticket.status, Action.MERGE,
                                                    f"{target.id} is {target.status.value}")
                        target_new = add_duplicate(target, ticket_id, new.updated_at)
                    pipe.multi()
                    self._write(pipe, ticket, new)
                    if target is not None and target_new is not None:
                        self._write(pipe, target, target_new)
                    await pipe.execute()
                    return new
                except WatchError:
                    continue
        raise RuntimeError(f"ticket {ticket_id}: too much contention to change")

    async def reschedule(self, ticket_id: str) -> None:
        """Repair the SLA entry of one ticket from the ticket itself (stale after a lost race)."""
        ticket = await self.get(ticket_id)
        if ticket is None or ticket.status not in SLA_CLOCKED:
            await self.redis.zrem(keys.sla_schedule(), ticket_id)
        else:
            await self.redis.zadd(keys.sla_schedule(), {ticket_id: ticket.sla_deadline.timestamp()})
