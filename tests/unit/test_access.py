"""router.access: the action server's token reaches only what the bot needs."""

import pytest

from router.access import allowed, scope_of


def test_each_token_has_its_scope_and_a_wrong_or_empty_one_none() -> None:
    assert scope_of("api", api_token="api", bot_token="bot") == "internal"
    assert scope_of("bot", api_token="api", bot_token="bot") == "bot"
    assert scope_of("other", api_token="api", bot_token="bot") is None
    assert scope_of("", api_token="api", bot_token="") is None  # an unset token opens nothing


@pytest.mark.parametrize(("method", "route"), [
    ("POST", "/api/v1/triage"), ("POST", "/api/v1/tickets"), ("POST", "/api/v1/tickets/{id}/resident"),
    ("GET", "/api/v1/services/{id}"), ("POST", "/api/v1/conversations/{id}/handoff"),
])
def test_the_bot_reaches_what_a_conversation_needs(method: str, route: str) -> None:
    assert allowed("bot", method, route)


@pytest.mark.parametrize(("method", "route"), [
    ("GET", "/api/v1/tickets"), ("GET", "/api/v1/tickets/{id}"), ("POST", "/api/v1/tickets/{id}/transitions"),
    ("GET", "/api/v1/reports"), ("GET", "/api/v1/reports.csv"), ("GET", "/api/v1/conversations/{id}"),
])
def test_the_bot_cannot_list_read_or_move_tickets_as_an_agency(method: str, route: str) -> None:
    assert not allowed("bot", method, route)
    assert allowed("internal", method, route)
    assert not allowed(None, method, route)
