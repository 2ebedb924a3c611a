"""The hotline call's transition table (router.domain.call): every legal move, and the illegal ones refused."""

from __future__ import annotations

import itertools

import pytest

from router.domain.call import (
    LIVE_STATES,
    TRANSITIONS,
    CallEvent,
    CallState,
    IllegalCallMove,
    asks_address,
    is_confirming,
    next_state,
)

S, E = CallState, CallEvent

# The table, written out again as the specification: state → {event: next state}.
EXPECTED: dict[CallState, dict[CallEvent, CallState]] = {
    S.RINGING: {E.GREETED: S.LISTENING, E.END: S.ENDED},
    S.LISTENING: {
        E.ADDRESS_ASKED: S.ASKING_ADDRESS, E.READ_BACK: S.CONFIRMING, E.ASKED: S.LISTENING, E.HOLD: S.HOLDING,
        E.LATE_ANSWER: S.LISTENING, E.TRANSFER: S.TRANSFERRING, E.HANG_UP: S.HANGING_UP, E.END: S.ENDED},
    S.ASKING_ADDRESS: {
        E.ADDRESS_ASKED: S.ASKING_ADDRESS, E.READ_BACK: S.CONFIRMING_ADDRESS, E.ASKED: S.LISTENING,
        E.LATE_ANSWER: S.ASKING_ADDRESS, E.TRANSFER: S.TRANSFERRING, E.HANG_UP: S.HANGING_UP, E.END: S.ENDED},
    S.CONFIRMING: {
        E.CONFIRMED: S.LISTENING, E.REJECTED: S.LISTENING, E.ADDRESS_ASKED: S.CONFIRMING_ADDRESS,
        E.ASKED: S.LISTENING, E.LATE_ANSWER: S.CONFIRMING, E.TRANSFER: S.TRANSFERRING, E.HANG_UP: S.HANGING_UP,
        E.END: S.ENDED},
    S.CONFIRMING_ADDRESS: {
        E.CONFIRMED: S.ASKING_ADDRESS, E.REJECTED: S.ASKING_ADDRESS, E.ADDRESS_ASKED: S.CONFIRMING_ADDRESS,
        E.ASKED: S.LISTENING, E.LATE_ANSWER: S.CONFIRMING_ADDRESS, E.TRANSFER: S.TRANSFERRING,
        E.HANG_UP: S.HANGING_UP, E.END: S.ENDED},
    S.HOLDING: {
        E.ADDRESS_ASKED: S.ASKING_ADDRESS, E.READ_BACK: S.CONFIRMING, E.ASKED: S.LISTENING,
        E.LATE_ANSWER: S.LISTENING, E.TRANSFER: S.TRANSFERRING, E.HANG_UP: S.HANGING_UP, E.END: S.ENDED},
    S.TRANSFERRING: {
        E.TRANSFER_FAILED: S.LISTENING, E.HANG_UP: S.HANGING_UP, E.END: S.ENDED, E.ADDRESS_ASKED: S.TRANSFERRING,
        E.LATE_ANSWER: S.TRANSFERRING, E.READ_BACK: S.CONFIRMING, E.ASKED: S.LISTENING,
        E.TRANSFER: S.TRANSFERRING},
    S.HANGING_UP: {E.END: S.ENDED},
    S.ENDED: {},
}  # fmt: skip

LEGAL = [(s, e, t) for s, moves in EXPECTED.items() for e, t in moves.items()]
ILLEGAL = [(s, e) for s, e in itertools.product(CallState, CallEvent) if e not in EXPECTED[s]]


def test_the_table_is_the_specification():
    assert set(TRANSITIONS) == set(CallState)
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("state", "event", "target"), LEGAL, ids=[f"{s.value}-{e.value}" for s, e, _ in LEGAL])
def test_every_legal_move(state, event, target):
    assert next_state(state, event) is target
    assert next_state(state.value, event.value) is target  # as stored in Redis: plain strings


@pytest.mark.parametrize(("state", "event"), ILLEGAL, ids=[f"{s.value}-{e.value}" for s, e in ILLEGAL])
def test_every_illegal_move_is_refused(state, event):
    with pytest.raises(IllegalCallMove) as info:
        next_state(state, event)
    assert info.value.state is state and info.value.event is event
    assert repr(state.value) in str(info.value) and repr(event.value) in str(info.value)


def test_the_refusal_says_what_the_state_takes():
    with pytest.raises(IllegalCallMove, match="'confirming' cannot take 'read_back'.*confirmed"):
        next_state(S.CONFIRMING, E.READ_BACK)
    with pytest.raises(IllegalCallMove, match="none: the call is over"):
        next_state(S.ENDED, E.ASKED)


def test_unknown_names_are_refused():
    with pytest.raises(IllegalCallMove, match="'dance'"):
        next_state(S.LISTENING, "dance")
    with pytest.raises(ValueError, match="unknown call state 'sleeping'"):
        next_state("sleeping", E.END)


def test_the_gateway_can_end_a_call_in_any_state_but_once():
    for state in CallState:
        if state is S.ENDED:
            with pytest.raises(IllegalCallMove):
                next_state(state, E.END)
        else:
            assert next_state(state, E.END) is S.ENDED
    assert [s for s in CallState if not TRANSITIONS[s]] == [S.ENDED]  # the only terminal state


def test_every_state_is_reachable_from_ringing():
    seen, frontier = {S.RINGING}, [S.RINGING]
    while frontier:
        for target in TRANSITIONS[frontier.pop()].values():
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(CallState)


def test_a_read_back_is_answered_before_another():
    for state in (S.CONFIRMING, S.CONFIRMING_ADDRESS):
        with pytest.raises(IllegalCallMove):
            next_state(state, E.READ_BACK)
    # … but words going to the dialogue (an option key pressed instead) drop it.
    assert next_state(S.CONFIRMING, E.ASKED) is S.LISTENING


def test_no_to_an_address_read_back_asks_for_the_address_again():
    state = S.LISTENING
    for event in (E.ADDRESS_ASKED, E.READ_BACK, E.REJECTED):
        state = next_state(state, event)
    assert state is S.ASKING_ADDRESS
    assert next_state(S.CONFIRMING, E.REJECTED) is S.LISTENING  # a number or an unsure word: just listen


def test_only_a_transfer_has_an_outcome_and_only_a_slow_dialogue_holds():
    assert [s for s in CallState if E.TRANSFER_FAILED in TRANSITIONS[s]] == [S.TRANSFERRING]
    assert [s for s in CallState if E.HOLD in TRANSITIONS[s]] == [S.LISTENING]  # words are asked first
    assert [s for s in CallState if E.GREETED in TRANSITIONS[s]] == [S.RINGING]


def test_a_whole_call():
    moves = [
        (E.GREETED, S.LISTENING),  # greeting
        (E.ASKED, S.LISTENING), (E.ADDRESS_ASKED, S.ASKING_ADDRESS),  # "路灯坏了" → "地址在哪里？"
        (E.READ_BACK, S.CONFIRMING_ADDRESS), (E.CONFIRMED, S.ASKING_ADDRESS),  # address read back, key 1
        (E.ASKED, S.LISTENING), (E.HOLD, S.HOLDING),  # the dialogue is slow
        (E.LATE_ANSWER, S.LISTENING),  # "让您久等了…"
        (E.READ_BACK, S.CONFIRMING), (E.CONFIRMED, S.LISTENING), (E.ASKED, S.LISTENING),  # phone number
        (E.TRANSFER, S.TRANSFERRING), (E.TRANSFER_FAILED, S.LISTENING),  # key 0, nobody answers
        (E.TRANSFER, S.TRANSFERRING), (E.HANG_UP, S.HANGING_UP),  # again; the operator talked, goodbye
        (E.END, S.ENDED),  # the status webhook
    ]
    state = S.RINGING
    for event, expected in moves:
        state = next_state(state, event)
        assert state is expected, event


def test_state_predicates():
    assert {s for s in CallState if is_confirming(s)} == {S.CONFIRMING, S.CONFIRMING_ADDRESS}
    assert {s for s in CallState if asks_address(s)} == {S.ASKING_ADDRESS, S.CONFIRMING_ADDRESS}
    assert set(CallState) - LIVE_STATES == {S.RINGING, S.HANGING_UP, S.ENDED}
