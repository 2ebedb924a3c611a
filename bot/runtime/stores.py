"""Rasa's Redis tracker and lock stores behind Redis Sentinel, for the production topology (deploy/).

Rasa 3.6's own Redis stores connect to one host:port. With a primary, a replica and Sentinel, the
primary's address changes on failover; these stores ask the sentinels for the current primary instead
and reconnect to the new one when the old one goes away (redis-py's Sentinel client), retrying a
command for a few seconds meanwhile so a turn in flight during a failover is not lost.

deploy/rasa/endpoints.yml uses them:

    tracker_store:
      type: bot.runtime.stores.SentinelTrackerStore
      sentinels: "10.0.0.11:26379 10.0.0.12:26379 10.0.0.13:26379"
      service: rsa
      password: ...
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.lock_store import DEFAULT_SOCKET_TIMEOUT_IN_SECONDS, RedisLockStore
from rasa.core.tracker_store import RedisTrackerStore
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel

logger = logging.getLogger(__name__)

__all__ = ["SentinelLockStore", "SentinelTrackerStore", "parse_sentinels", "primary_client"]


def parse_sentinels(value: Any) -> list[tuple[str, int]]:
    """"h1:26379 h2:26379" or "h1:26379,h2:26379" or a YAML list → [(host, port)]."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").replace(",", " ").split()
    out = []
    for item in items:
        host, _, port = str(item).strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"a sentinel is host:port, not {item!r}")
        out.append((host, int(port)))
    if not out:
        raise ValueError("no sentinels given (sentinels: \"host:port host:port ...\")")
    return out


def primary_client(sentinels: Any, service: str, *, db: int, password: str | None,
                   sentinel_password: str | None, socket_timeout: float, decode_responses: bool) -> Any:
    """A redis-py client that always talks to the current primary of ``service``."""
    manager = Sentinel(parse_sentinels(sentinels),
                       sentinel_kwargs={"password": sentinel_password or None, "socket_timeout": 2},
                       socket_timeout=socket_timeout, socket_connect_timeout=2)
    # A failover takes a few seconds (down-after-milliseconds + election): commands wait it out.
    return manager.master_for(service, db=int(db), password=password or None, decode_responses=decode_responses,
                              retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), retries=15),
                              retry_on_error=[RedisConnectionError, RedisTimeoutError])


class SentinelTrackerStore(RedisTrackerStore):
    """RedisTrackerStore whose connection follows the primary that Sentinel names."""

    def __init__(self, domain: Any, host: str | None = None, sentinels: Any = "", service: str = "rsa",
                 db: int = 0, password: str | None = None, sentinel_password: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.pop("port", None)
        super().__init__(domain, host="127.0.0.1", db=int(db), password=password, **kwargs)
        self.red = primary_client(sentinels or host, service, db=int(db), password=password,
                                  sentinel_password=sentinel_password or password, socket_timeout=10,
                                  decode_responses=True)


class SentinelLockStore(RedisLockStore):
    """RedisLockStore whose connection follows the primary that Sentinel names (Rasa builds custom lock
    stores from their endpoint configuration alone)."""

    def __init__(self, endpoint_config: Any) -> None:
        kw = dict(endpoint_config.kwargs or {})
        db = int(kw.get("db", 0))
        password = kw.get("password") or None
        super().__init__(host="127.0.0.1", db=db, password=password, key_prefix=kw.get("key_prefix"))
        self.red = primary_client(kw.get("sentinels") or endpoint_config.url, kw.get("service", "rsa"), db=db,
                                  password=password, sentinel_password=kw.get("sentinel_password") or password,
                                  socket_timeout=float(kw.get("socket_timeout", DEFAULT_SOCKET_TIMEOUT_IN_SECONDS)),
                                  decode_responses=False)
