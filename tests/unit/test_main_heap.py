"""router/__main__.py: the served router freezes its heap after startup (models and gazetteers loaded), so
the cyclic GC's full collections stop walking them; GC_FREEZE=0 turns it off."""

from __future__ import annotations

import asyncio
import gc

from router import __main__ as main_module
from router.settings import Settings


def test_settling_the_heap_freezes_what_is_alive() -> None:
    gc.unfreeze()
    try:
        asyncio.run(main_module.settle_heap(None))  # type: ignore[arg-type]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_switch(monkeypatch) -> None:
    monkeypatch.delenv("GC_FREEZE", raising=False)
    assert Settings.from_env().gc_freeze
    monkeypatch.setenv("GC_FREEZE", "0")
    assert not Settings.from_env().gc_freeze
