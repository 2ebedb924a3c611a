"""Rasa's conversations and locks behind Redis Sentinel (bot/runtime/stores.py, deploy/): a conversation
saved before the primary is killed is read back from the new primary, and saving goes on after it."""

from __future__ import annotations

import pytest
from rasa.core.lock_store import LockStore
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.runtime.stores import SentinelLockStore, SentinelTrackerStore, parse_sentinels
from tests.sentinel import SentinelSet


@pytest.fixture
def sentinel_set():
    s = SentinelSet().start()
    yield s
    s.stop()


def _endpoint(kind: str, s: SentinelSet) -> EndpointConfig:
    return EndpointConfig(type=f"bot.runtime.stores.Sentinel{kind}Store", sentinels=" ".join(s.sentinels),
                          service="rsa", password=s.password, db=0, key_prefix="rsatest")


async def test_a_conversation_survives_the_primary_s_death(sentinel_set: SentinelSet) -> None:
    domain = Domain.empty()
    # Built the way Rasa builds them from endpoints.yml.
    store = TrackerStore.create(_endpoint("Tracker", sentinel_set), domain)
    locks = LockStore.create(_endpoint("Lock", sentinel_set))
    assert isinstance(store, SentinelTrackerStore) and isinstance(locks, SentinelLockStore)
    tracker = DialogueStateTracker("web:resident-1", domain.slots)
    tracker.update(UserUttered("楼道灯坏了"))
    await store.save(tracker)
    async with locks.lock("web:resident-1"):
        pass
    store.red.execute_command("WAIT", 1, 2000)

    old = sentinel_set.kill_primary()
    tracker.update(UserUttered("在3栋"))
    await store.save(tracker)  # waits for the failover instead of failing the turn
    assert sentinel_set.wait_failover(old) != old
    again = await store.retrieve("web:resident-1")
    assert again is not None
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["楼道灯坏了", "在3栋"]
    async with locks.lock("web:resident-1"):  # the lock store follows the new primary too
        pass


def test_sentinels_are_host_port_pairs() -> None:
    assert parse_sentinels("10.0.0.1:26379, 10.0.0.2:26380") == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]
    with pytest.raises(ValueError):
        parse_sentinels("10.0.0.1")
    with pytest.raises(ValueError):
        parse_sentinels("")
