"""A hotline call's progress as one state and one transition table (the voice channel's state machine).

The state says what the router waits for after its last answer: the caller's words (``listening``),
words it will read back because an address was asked (``asking_address``), a yes or no to a read-back
(``confirming``; ``confirming_address`` while an address is asked), a late dialogue answer
(``holding``), the outcome of a transfer to a person (``transferring``) — or nothing any more
(``hanging_up``, ``ended``). Events are what happens in a webhook; :func:`next_state` reads the table and
raises :class:`IllegalCallMove` for a move it does not hold.

Pure: no I/O. router/channels/voice.py keeps the state in the call's Redis hash, next to the data the
states talk about (what is read back, the buttons offered, the time a late answer was promised).
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "CallState",
    "CallEvent",
    "TRANSITIONS",
    "LIVE_STATES",
    "IllegalCallMove",
    "next_state",
    "is_confirming",
    "asks_address",
]


class CallState(str, Enum):
    RINGING = "ringing"  # the call hook came; not greeted yet
    LISTENING = "listening"  # a prompt was spoken inside a gather; the words go to the dialogue
    ASKING_ADDRESS = "asking_address"  # the last answer asked for an address: words are read back first
    CONFIRMING = "confirming"  # what was heard, or a phone number, was read back: yes or no?
    CONFIRMING_ADDRESS = "confirming_address"  # the same, while an address is asked ("no" asks again)
    HOLDING = "holding"  # the dialogue was slow: the caller was asked to hold for the late answer
    TRANSFERRING = "transferring"  # dial/enqueue to a person was sent; its actionHook tells the outcome
    HANGING_UP = "hanging_up"  # goodbye and hangup were sent
    ENDED = "ended"  # the gateway reported the call over (completed, failed, busy, no-answer)


class CallEvent(str, Enum):
    GREETED = "greeted"  # the call hook (or the first gather of a call never seen) was answered
    ADDRESS_ASKED = "address_asked"  # words spoken to the caller (bot, late answer, operator) ask an address
    READ_BACK = "read_back"  # what the caller said is read back for a yes or no
    CONFIRMED = "confirmed"  # yes (key 1, "对")
    REJECTED = "rejected"  # no (key 2, "不对"), or something new said instead
    ASKED = "asked"  # the caller's words (or a chosen option) went to the dialogue
    HOLD = "hold"  # the dialogue did not answer in time
    LATE_ANSWER = "late_answer"  # the late answer came and is spoken now
    TRANSFER = "transfer"  # key 0 / "转人工", or the dialogue queued the conversation for a person
    TRANSFER_FAILED = "transfer_failed"  # nobody answered the dial/enqueue: the caller stays, queued
    HANG_UP = "hang_up"  # goodbye: silences, the conversation closed, or the operator call finished
    END = "end"  # the gateway's status webhook: the line is gone


S, E = CallState, CallEvent
# The whole call. A read-back is answered (confirmed, rejected) or dropped (words went to the dialogue)
# before another is made. A webhook that is not the transfer's outcome means the transfer is over:
# ``transferring`` takes the caller's words like ``listening``.
TRANSITIONS: dict[CallState, dict[CallEvent, CallState]] = {
    S.RINGING:            {E.GREETED: S.LISTENING, E.END: S.ENDED},
    S.LISTENING:          {E.ADDRESS_ASKED: S.ASKING_ADDRESS, E.READ_BACK: S.CONFIRMING, E.ASKED: S.LISTENING,
                           E.HOLD: S.HOLDING, E.LATE_ANSWER: S.LISTENING, E.TRANSFER: S.TRANSFERRING,
                           E.HANG_UP: S.HANGING_UP, E.END: S.ENDED},
    S.ASKING_ADDRESS:     {E.ADDRESS_ASKED: S.ASKING_ADDRESS, E.READ_BACK: S.CONFIRMING_ADDRESS,
                           E.ASKED: S.LISTENING, E.LATE_ANSWER: S.ASKING_ADDRESS, E.TRANSFER: S.TRANSFERRING,
                           E.HANG_UP: S.HANGING_UP, E.END: S.ENDED},
    S.CONFIRMING:         {E.CONFIRMED: S.LISTENING, E.REJECTED: S.LISTENING,
                           E.ADDRESS_ASKED: S.CONFIRMING_ADDRESS, E.ASKED: S.LISTENING,
                           E.LATE_ANSWER: S.CONFIRMING, E.TRANSFER: S.TRANSFERRING, E.HANG_UP: S.HANGING_UP,
                           E.END: S.ENDED},
    S.CONFIRMING_ADDRESS: {E.CONFIRMED: S.ASKING_ADDRESS, E.REJECTED: S.ASKING_ADDRESS,
                           E.ADDRESS_ASKED: S.CONFIRMING_ADDRESS, E.ASKED: S.LISTENING,
                           E.LATE_ANSWER: S.CONFIRMING_ADDRESS, E.TRANSFER: S.TRANSFERRING,
                           E.HANG_UP: S.HANGING_UP, E.END: S.ENDED},
    S.HOLDING:            {E.ADDRESS_ASKED: S.ASKING_ADDRESS, E.READ_BACK: S.CONFIRMING, E.ASKED: S.LISTENING,
                           E.LATE_ANSWER: S.LISTENING, E.TRANSFER: S.TRANSFERRING, E.HANG_UP: S.HANGING_UP,
                           E.END: S.ENDED},
    S.TRANSFERRING:       {E.TRANSFER_FAILED: S.LISTENING, E.HANG_UP: S.HANGING_UP, E.END: S.ENDED,
                           E.ADDRESS_ASKED: S.TRANSFERRING, E.LATE_ANSWER: S.TRANSFERRING,
                           E.READ_BACK: S.CONFIRMING, E.ASKED: S.LISTENING, E.TRANSFER: S.TRANSFERRING},
    S.HANGING_UP:         {E.END: S.ENDED},
    S.ENDED:              {},
}  # fmt: skip
del S, E

# States in which the caller can still hear us.
LIVE_STATES: frozenset[CallState] = frozenset(
    {CallState.LISTENING, CallState.ASKING_ADDRESS, CallState.CONFIRMING, CallState.CONFIRMING_ADDRESS,
     CallState.HOLDING, CallState.TRANSFERRING}
)


class IllegalCallMove(ValueError):
    """An event the call's current state does not take."""

    def __init__(self, state: CallState, event: CallEvent | str) -> None:
        self.state, self.event = state, event
        name = event.value if isinstance(event, CallEvent) else str(event)
        allowed = ", ".join(e.value for e in TRANSITIONS.get(state, {})) or "none: the call is over"
        super().__init__(f"a call in state {state.value!r} cannot take {name!r} (it takes: {allowed})")


def next_state(state: CallState | str, event: CallEvent | str) -> CallState:
    """The state after ``event``; IllegalCallMove if the table has no such move (or either is unknown)."""
    try:
        current = CallState(state)
    except ValueError:
        raise ValueError(f"unknown call state {state!r}") from None
    try:
        ev = CallEvent(event)
    except ValueError:
        raise IllegalCallMove(current, str(event)) from None
    target = TRANSITIONS[current].get(ev)
    if target is None:
        raise IllegalCallMove(current, ev)
    return target


def is_confirming(state: CallState) -> bool:
    """A read-back waits for yes or no."""
    return state in (CallState.CONFIRMING, CallState.CONFIRMING_ADDRESS)


def asks_address(state: CallState) -> bool:
    """An address was asked: the caller's next words are read back before they go on."""
    return state in (CallState.ASKING_ADDRESS, CallState.CONFIRMING_ADDRESS)
