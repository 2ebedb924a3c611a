"""Gather the evidence about one message that router.domain.intake.decide weighs.

Used by the triage API and by every dialogue turn (the evidence travels to Rasa in the message
metadata), so both reach the same decision on the same text. Everything here is bounded: long letters
are read up to MAX_EVIDENCE_CHARS (the opening says what a letter is about), the phonetic repair reads
the first few hundred characters, and the resolver and the catalogue get bounded text.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from router.adapters import pinyin_input
from router.domain import answers, phonetic
from router.domain import emergency as emergency_rules
from router.domain.intake import (
    EMERGENCY_WITH_NLU,
    LETTER_CHARS,
    Alarm,
    Cues,
    Evidence,
    courtesy,
    cues_of,
    own_document,
    present_parts,
)
from router.domain.normalise import normalise

__all__ = ["Understanding", "Understood", "MAX_EVIDENCE_CHARS"]

_SPACES = re.compile(r"[，,\s]+")  # the pauses emergency.prepare wrote as commas, and spaces
# A spoken turn is read joined up (without its pauses) up to this length: an elderly caller's long turn
# can carry the emergency in passing.
JOINED_MAX_CHARS = 240

log = logging.getLogger(__name__)

# What the intake reads of a letter. The contract allows 2,000 characters; the decision rarely needs
# more than the first thousand, and every step below stays fast on it.
MAX_EVIDENCE_CHARS = 2000
# The place and the service a resident means are named early; a letter's later paragraphs mention
# other places (where the company is registered, where the boss lives).
PLACE_CHARS = 600
SERVICE_QUERY_CHARS = 200
# Speech: the recogniser's alternatives are few and short.
MAX_ALTERNATIVES = 5
# A spoken turn; longer text on the voice channel is an operator's summary, typed.
PHONETIC_MAX_CHARS = 80


def _bounded(text: str) -> str:
    """``text`` normalised and bounded as the evidence reads it."""
    return normalise(text[: MAX_EVIDENCE_CHARS * 2])[:MAX_EVIDENCE_CHARS]


def _raise_to(danger: dict[str, float], heads: dict[str, Any]) -> None:
    """Raise ``danger``'s emergency and crisis to another reading's (the intake model's heads), where higher."""
    read = heads.get("danger", {})
    for key in ("emergency", "crisis"):
        danger[key] = max(danger.get(key, 0.0), float(read.get(key, 0.0)))


@dataclass
class Understood:
    """The evidence, plus what was computed on the way and the triage answer reuses."""

    clean: str
    evidence: Evidence
    place: Any
    hits: list[Any]
    topic: Any | None


class Understanding:
    def __init__(self, *, classifier: Any, resolver: Any, catalogue: Any, model: Any | None = None) -> None:
        self.classifier = classifier
        self.resolver = resolver
        self.catalogue = catalogue
        self.model = model  # router.domain.textmodel.LinearTextModel, or None (city and danger unknown)
        # The pinyin reader's lexicon (router.adapters.pinyin_input), built off the serving path.
        threading.Thread(target=pinyin_input.warm, name="pinyin-lexicon", daemon=True).start()

    def __call__(self, text: str, channel: str = "web", alternatives: Sequence[str] = (), *,
                 with_topic: bool = False, offered: Sequence[tuple[str, str]] = ()) -> Understood:
        """The evidence on ``text``; ``with_topic`` also runs the topic classifier (the triage answer
        names the topic; the decision itself does not need it: the city model reads the same letters)."""
        clean = _bounded(text)
        heard_as = clean
        if channel == "voice" and len(clean) <= PHONETIC_MAX_CHARS:
            # A spoken turn: what the caller wants, heard wrong ("公单" → 工单, "专人工" → 转人工).
            heard_as = phonetic.repair(clean, phrases=phonetic.INTENT_PHRASES).text
        cues: Cues = cues_of(heard_as)
        if channel == "voice" and not cues.social and len(clean) <= PHONETIC_MAX_CHARS:
            # A courtesy the recogniser garbled in its best guess ("不用冷,就这样吧,再见") and got right in
            # another ("不用了,就这样吧,再见"): the end of a call, not a farewell for the danger model to read.
            social = next((s for s in (courtesy(_bounded(a)) for a in list(alternatives)[:MAX_ALTERNATIVES]
                                       if isinstance(a, str)) if s), "")
            if social:
                cues = replace(cues, social=social)
        spoken = emergency_rules.prepare(text)
        assessed = emergency_rules.assess(spoken)
        alarm = self._alarm(spoken, channel, alternatives, assessed)
        set_aside = () if alarm is not None else assessed[1]
        if alarm is None and not set_aside and channel == "voice" and len(clean) <= PHONETIC_MAX_CHARS:
            # A hazard heard wrong ("怕找火" for 怕着火) is still a hazard: what the rules set aside in the
            # repaired turn keeps the model alone from raising the alarm on it.
            repaired = phonetic.repair(spoken)
            if repaired.fixes:
                set_aside = emergency_rules.assess(repaired.text)[1]
        # Whom to call for a crisis only the model heard: only asked when the model hears one.
        crisis_number = "110"
        danger: dict[str, float] = {}
        city: float | None = None
        danger_now: dict[str, float] = {}
        if self.model is not None:
            heads = self.model.predict(emergency_rules.calm(clean))
            danger = dict(heads.get("danger", {}))
            city = heads.get("city", {}).get("city", 0.5)
            # Each other thing the recogniser heard is read too, and the most danger any of them holds
            # counts: a bad line garbles the best guess as often as the second. Not when the best guess
            # names a time gone by ("上礼拜…", "昨晚…"): a past event told, whatever the others read.
            others = [] if emergency_rules.tells_past(spoken) else list(alternatives)[:MAX_ALTERNATIVES]
            for other in others:
                if isinstance(other, str) and other.strip():
                    _raise_to(danger, self.model.predict(emergency_rules.calm(_bounded(other))))
            if len(clean) >= LETTER_CHARS:
                # A letter's present parts, read again (router.domain.intake.LETTER_NOW_DETECTOR); from the
                # text as the rules read it, where a typist's spaces still end a phrase.
                for part in present_parts(spoken):
                    _raise_to(danger_now, self.model.predict(part))
        if self.model is None or max(danger.get("crisis", 0.0), danger_now.get("crisis", 0.0)) >= 0.5:
            crisis_number = emergency_rules.crisis_number(spoken)
        # Whom to call for an emergency only the model hears (only asked when it may): from the words,
        # and on the phone also from the safety words heard as homophones ("着活了" → 着火了).
        danger_number = "110"
        if self.model is None or max(danger.get("emergency", 0.0), danger_now.get("emergency", 0.0)) >= EMERGENCY_WITH_NLU:
            danger_number = emergency_rules.danger_number(spoken)
            if danger_number == "110" and channel == "voice" and len(clean) <= PHONETIC_MAX_CHARS:
                danger_number = emergency_rules.danger_number(phonetic.repair(clean).text)
        place = self.resolver.resolve(clean[:PLACE_CHARS])
        has_place = bool(place.district or place.street or place.community)
        hits = self.catalogue.search(clean[:SERVICE_QUERY_CHARS], k=3, district=place.district)
        if cues.own_document:
            # A card of one's own broken or lost, told with all that it stops ("社保卡磁条坏了…看病拿药都用不了…
            # 要去哪里换"): the story's words drown the item in the whole text; the item is the card's replacement.
            asked = self.catalogue.search(own_document(heard_as), k=3, district=place.district)
            if asked and (not hits or asked[0].score > hits[0].score):
                hits = asked
        topic = None
        if with_topic:
            try:
                topic = self.classifier.predict(clean)
            except ValueError:  # nothing the classifier can read (emoji only, digits only)
                topic = None
        evidence = Evidence(
            chars=emergency_rules.reading_length(clean),
            cues=cues,
            alarm=alarm,
            danger={k: round(v, 4) for k, v in danger.items()},
            city=None if city is None else round(float(city), 4),
            service=round(float(hits[0].score), 4) if hits else 0.0,
            place=has_place,
            crisis_number=crisis_number,
            danger_number=danger_number,
            answer=answers.kind_of(clean, titles={intent: title for intent, title in offered}),
            offered=tuple(intent for intent, _ in offered),
            set_aside=set_aside,
            danger_now={k: round(v, 4) for k, v in danger_now.items()},
            spoken=channel == "voice",
        )
        return Understood(clean, evidence, place, hits, topic)

    def alarm(self, text: str, channel: str = "web", alternatives: Sequence[str] = ()) -> Alarm | None:
        """Only the safety question (the voice channel asks it before confirming what it heard)."""
        spoken = emergency_rules.prepare(text)
        return self._alarm(spoken, channel, alternatives, emergency_rules.assess(spoken))

    @staticmethod
    def _alarm(clean: str, channel: str, alternatives: Sequence[str],
               assessed: tuple[emergency_rules.Emergency | None, tuple[str, ...]]) -> Alarm | None:
        """``clean``: the text as router.domain.emergency.prepare leaves it (pauses kept as commas);
        ``assessed``: emergency.assess(clean), which the caller needs too.

        Speech is read four ways: the best transcript, every alternative the recogniser offered, each
        with safety words it wrote as homophones put back ("着活" for 着火), and the turn joined up. The first alarm wins,
        except that a crisis heard as harm already done (pills taken, bleeding) names the ambulance
        whichever reading said so."""
        heard = [emergency_rules.prepare(a) for a in list(alternatives)[:MAX_ALTERNATIVES] if isinstance(a, str)]
        readings: list[tuple[str, str]] = [(clean, "text"), *((a, "alternative") for a in heard)]
        if channel == "voice" or heard:
            # Only what was spoken in one turn: an operator's long summary of a call is written, not heard.
            for n, candidate in enumerate((clean, *heard)):
                if len(candidate) <= PHONETIC_MAX_CHARS:
                    repaired = phonetic.repair(candidate)
                    if repaired.fixes:
                        # A safety word put back into one of the recogniser's other guesses is the
                        # weakest reading: the decision asks the danger model to agree with it.
                        readings.append((repaired.text, "phonetic" if n == 0 else "alternative_phonetic"))
            # A recogniser that puts a space between every few words breaks the danger words apart ("叫他
            # 也 不应"): read the turn joined up too — unless the spaced reading set danger words aside as
            # past or a hazard, whose clause marks the joined text would lose.
            joined = _SPACES.sub("", clean)
            if joined != clean and len(clean) <= JOINED_MAX_CHARS and not assessed[1]:
                readings.append((joined, "joined"))
        found_all = [(found, source) for text, source in readings
                     if (found := assessed[0] if source == "text" else emergency_rules.detect(text)) is not None]
        if not found_all:
            return None
        found, source = found_all[0]
        number = found.number
        if found.is_crisis and any(f.is_crisis and f.number == "120" for f, _ in found_all):
            number = "120"
        return Alarm(number, found.kind, found.is_crisis, source, found.matched)
