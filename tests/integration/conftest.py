"""Fixtures shared by the integration tests (the real Redis fixtures are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.fakes.rasa_server import FakeRasa


@pytest.fixture
async def rasa():
    """A stand-in Rasa server on a free port: records calls, answers as configured."""
    fake = FakeRasa()
    await fake.start()
    yield fake
    await fake.stop()
