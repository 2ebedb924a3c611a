"""Topic classifier: a resident's message → taxonomy l1/l2/l3 → the responsible department.

l1 (7 classes with labelled data) comes from linear models over TF-IDF features — jieba words,
character 1-3-grams of the whole message, and character 1-3-grams of its first 25 characters (the
message title, or the whole of a short message, says what it is about) — plus one keyword feature per
class (log(1 + how many distinct taxonomy/keyword terms of that class the message contains)), whose
scores are turned into calibrated probabilities by a small multinomial logistic regression fitted on
out-of-fold scores.
l2/l3 are chosen within the predicted l1 by matching taxonomy terms and an authored keyword list
(router/data/taxonomy_keywords.csv); the 8 l1 classes without training data (民政, 政法, …) are
reached only through clear keyword rules from the same file.

Inference is plain numpy over exported weights (no scikit-learn at run time). This module is pure: it
builds the classifier from the artefact's JSON and arrays and from already-read rule and routing rows;
router/adapters/artefacts.py reads the files, and only `make classifier` (scripts/train_classifier.py)
trains.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from router.domain.normalise import normalise
from router.domain.routing import RoutingTable
from router.domain.topics import Topic

__all__ = [
    "TopicClassifier",
    "LinearTopicModel",
    "KeywordRule",
    "keyword_rules_from_rows",
    "prepare",
    "analyse",
    "ANALYSERS",
    "keyword_vocabulary",
    "keyword_features",
]


# --- text → terms -------------------------------------------------------------------------------

# The training messages mask place names as A市 / A3区 / C4市 …; the codes say nothing about the topic
# and real resident messages never contain them.
_MASKED_PLACE = re.compile(r"[A-Z]\d*(?:市|区|县|镇|乡|村|街道|社区|省)")
_WHITESPACE = re.compile(r"\s+")
HEAD_CHARS = 25


def prepare(text: str) -> str:
    """Canonical form for classification: normalise(), masked place codes and whitespace removed
    (the training data has no whitespace at all)."""
    text = normalise(text)
    text = _MASKED_PLACE.sub("", text)
    return _WHITESPACE.sub("", text)


def _char_ngrams(text: str, lo: int = 1, hi: int = 3) -> list[str]:
    out: list[str] = []
    n = len(text)
    for size in range(lo, hi + 1):
        out.extend(text[i : i + size] for i in range(n - size + 1))
    return out


def _words(text: str) -> list[str]:
    import jieba

    # HMM off: the Viterbi pass for unknown words costs a third of the time and the character
    # n-gram blocks already cover words the dictionary does not know.
    return [w for w in jieba.lcut(text, HMM=False) if w.strip()]


ANALYSERS: dict[str, Callable[[str], list[str]]] = {
    "word": _words,
    "char": _char_ngrams,
    "head": lambda text: _char_ngrams(text[:HEAD_CHARS]),
}


def analyse(block: str, prepared_text: str) -> list[str]:
    return ANALYSERS[block](prepared_text)


# --- keyword rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeywordRule:
    """Keywords pointing at a taxonomy node. ``assigns_l1``: the rule may set l1 itself (used for
    the l1 classes the statistical model was not trained on)."""

    l1: str
    l2: str
    l3: str | None
    keywords: tuple[str, ...]
    assigns_l1: bool


def keyword_rules_from_rows(
    keyword_rows: Iterable[Mapping[str, str]], taxonomy_rows: Iterable[Mapping[str, str]],
    source: str = "taxonomy_keywords.csv",
) -> list[KeywordRule]:
    """Authored keywords (rows of router/data/taxonomy_keywords.csv) plus every taxonomy l3 name (rows of
    data/taxonomy.csv; other than 其他) as a keyword of its own node."""
    rules: list[KeywordRule] = []
    for lineno, rec in enumerate(keyword_rows, start=2):
        words = tuple(w.strip() for w in (rec.get("keywords") or "").split("|") if w.strip())
        if not (rec.get("l1") and rec.get("l2") and words):
            raise ValueError(f"{source}:{lineno}: l1, l2 and keywords are required")
        rules.append(KeywordRule(rec["l1"], rec["l2"], rec.get("l3") or None, words, rec.get("rule") == "rule"))
    for rec in taxonomy_rows:
        l3 = rec.get("l3") or ""
        if l3 and l3 != "其他" and len(l3) >= 2:
            rules.append(KeywordRule(rec["l1"], rec["l2"], l3, (l3,), False))
    return rules


def _match_score(text: str, rule: KeywordRule) -> int:
    # Longer keywords are more specific: "拖欠工资" says more than "工资".
    return sum(len(w) for w in rule.keywords if w in text)


def keyword_vocabulary(rules: Iterable[KeywordRule], classes: Sequence[str]) -> list[list[str]]:
    """Per class (in ``classes`` order): the distinct terms of at least two characters — l2 and l3
    names and authored keywords — of that class's taxonomy nodes. Not learnt from data: it comes from
    data/taxonomy.csv and router/data/taxonomy_keywords.csv only."""
    words: dict[str, set[str]] = {c: set() for c in classes}
    for rule in rules:
        if rule.l1 in words and not rule.assigns_l1:
            words[rule.l1].update(w for w in (rule.l2, rule.l3 or "", *rule.keywords) if len(w) >= 2)
    return [sorted(words[c]) for c in classes]


def keyword_features(prepared_text: str, vocabulary: Sequence[Sequence[str]]) -> np.ndarray:
    """log(1 + number of distinct terms of each class found in the text); the same function serves
    training and prediction."""
    counts = [sum(1 for w in words if w in prepared_text) for words in vocabulary]
    return np.log1p(np.array(counts, dtype=np.float64))


# --- the model ----------------------------------------------------------------------------------


@dataclass
class _Block:
    name: str
    vocab: dict[str, int]
    idf: np.ndarray
    weight: float


@dataclass
class LinearTopicModel:
    """TF-IDF blocks (+ per-class keyword features) → per-base-model linear scores → stacked softmax
    over the l1 classes."""

    classes: list[str]
    blocks: list[_Block]
    base: list[tuple[np.ndarray, np.ndarray]]  # (W: n_features × K, b: K) per base model
    stack_w: np.ndarray  # K × (K · n_base)
    stack_b: np.ndarray  # K
    # Keyword feature columns after the TF-IDF blocks: one term list per column, and their weight.
    keyword_words: list[list[str]] = field(default_factory=list)
    keyword_weight: float = 0.0
    offsets: list[int] = field(default_factory=list)
    keyword_offset: int = 0

    def __post_init__(self) -> None:
        self.offsets = []
        start = 0
        for blk in self.blocks:
            self.offsets.append(start)
            start += len(blk.vocab)
        self.keyword_offset = start

    @classmethod
    def from_state(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> LinearTopicModel:
        """``meta``: the artefact's JSON (classes; per block its name, terms in column order and weight;
        the keyword columns); ``arrays``: ``idf.<block>``, ``base.<i>.w`` / ``base.<i>.b`` and
        ``stack.w`` / ``stack.b``."""
        def arr(name: str) -> np.ndarray:
            return np.asarray(arrays[name])

        blocks = [_Block(b["name"], {t: i for i, t in enumerate(b["terms"])}, arr(f"idf.{b['name']}"),
                         float(b["weight"])) for b in meta["blocks"]]
        base = [(arr(f"base.{i}.w"), arr(f"base.{i}.b")) for i in range(int(meta["n_base"]))]
        keywords = meta.get("keywords") or {"words": [], "weight": 0.0}
        return cls(list(meta["classes"]), blocks, base, arr("stack.w"), arr("stack.b"),
                   [list(ws) for ws in keywords["words"]], float(keywords["weight"]))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The inverse of :meth:`from_state`: what the artefact stores."""
        meta = {
            "classes": list(self.classes), "n_base": len(self.base),
            "blocks": [{"name": b.name, "terms": sorted(b.vocab, key=b.vocab.__getitem__), "weight": b.weight}
                       for b in self.blocks],
            "keywords": {"words": self.keyword_words, "weight": self.keyword_weight},
        }
        arrays = {f"idf.{b.name}": b.idf for b in self.blocks}
        for i, (w, b) in enumerate(self.base):
            arrays[f"base.{i}.w"], arrays[f"base.{i}.b"] = w, b
        arrays["stack.w"], arrays["stack.b"] = self.stack_w, self.stack_b
        return meta, arrays

    def features(self, prepared_text: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse feature row as (indices, values): each TF-IDF block L2-normalised then weighted, the
        way scikit-learn's TfidfVectorizer(norm='l2', smooth_idf, no sublinear tf) does it, then the
        non-zero keyword features."""
        idx_parts: list[np.ndarray] = []
        val_parts: list[np.ndarray] = []
        for blk, offset in zip(self.blocks, self.offsets, strict=True):
            # Count in C first, then look up only the distinct terms: most n-grams repeat.
            vocab = blk.vocab
            hits = [(vocab[t], n) for t, n in Counter(analyse(blk.name, prepared_text)).items() if t in vocab]
            if not hits:
                continue
            local = np.fromiter((i for i, _ in hits), dtype=np.int64, count=len(hits))
            vals = np.fromiter((n for _, n in hits), dtype=np.float64, count=len(hits)) * blk.idf[local]
            vals *= blk.weight / np.linalg.norm(vals)
            idx_parts.append(local + offset)
            val_parts.append(vals)
        if self.keyword_words:
            kw = keyword_features(prepared_text, self.keyword_words) * self.keyword_weight
            nz = np.flatnonzero(kw)
            if len(nz):
                idx_parts.append(nz + self.keyword_offset)
                val_parts.append(kw[nz])
        if not idx_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(idx_parts), np.concatenate(val_parts)

    def base_scores(self, prepared_text: str) -> np.ndarray:
        idx, vals = self.features(prepared_text)
        return np.concatenate([vals @ w[idx] + b for w, b in self.base])

    def proba(self, prepared_text: str) -> np.ndarray:
        z = self.stack_w @ self.base_scores(prepared_text) + self.stack_b
        z -= z.max()
        e = np.exp(z)
        return e / e.sum()


# A dispute between residents (neighbours, landlord and tenant, family) where the resident asks for a
# mediator. Labour and medical disputes have their own bodies (仲裁, 医调委) and keep their topic.
MEDIATION_TOPIC = ("政法", "仲裁与调解", None)
_MEDIATION_ASK = re.compile("调解|调和|说和|评评?理|从中协调|帮(?:忙|我们)?协调|协调一下|主持公道|矛盾纠纷|邻里纠纷|邻里矛盾|家庭纠纷")
_BETWEEN_PEOPLE = re.compile("邻居|邻里|隔壁|楼上|楼下|对门|对面|同楼|家人|亲戚|兄弟|姐妹|婆媳|夫妻|老公|老婆|房东|租客|租户|"
                             "业主之间|两家|双方|他家|她家|那家")
_OWN_BODY = re.compile("工资|劳动|仲裁|工伤|社保|医院|医疗|医生")


def asks_for_mediation(prepared_text: str) -> bool:
    """A dispute between people with a request for mediation ("跟楼上吵了好几次，想找社区调解一下")."""
    return (bool(_MEDIATION_ASK.search(prepared_text)) and bool(_BETWEEN_PEOPLE.search(prepared_text))
            and not _OWN_BODY.search(prepared_text))


@dataclass(frozen=True)
class _Decision:
    l1: str
    l2: str | None
    l3: str | None
    confidence: float
    by_rule: bool = False


class TopicClassifier:
    """text → Topic(l1, l2, l3, department, confidence, needs_human_dispatch)."""

    def __init__(
        self,
        model: LinearTopicModel,
        rules: Sequence[KeywordRule],
        routing: RoutingTable,
        threshold: float,
        rule_max_chars: int,
        rule_confidence: float,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.rules = list(rules)
        self.routing = routing
        self.threshold = threshold
        self.rule_max_chars = rule_max_chars
        self.rule_confidence = rule_confidence
        self.metadata = metadata or {}
        self._trained = set(model.classes)
        self._rules_by_l1: dict[str, list[KeywordRule]] = {}
        for rule in self.rules:
            self._rules_by_l1.setdefault(rule.l1, []).append(rule)
        self._l1_rules = [r for r in self.rules if r.assigns_l1 and r.l1 not in self._trained]

    # The artefact holds only the model state; rules and routing come from their reviewed files.
    @classmethod
    def from_state(cls, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                   rules: Sequence[KeywordRule], routing: RoutingTable) -> TopicClassifier:
        return cls(
            LinearTopicModel.from_state(meta["model"], arrays),
            rules,
            routing,
            threshold=float(meta["threshold"]),
            rule_max_chars=int(meta["rule_max_chars"]),
            rule_confidence=float(meta["rule_confidence"]),
            metadata=meta.get("metadata", {}),
        )

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The artefact's JSON and arrays (rules and routing are not part of it)."""
        model_meta, arrays = self.model.state()
        return {"model": model_meta, "threshold": self.threshold, "rule_max_chars": self.rule_max_chars,
                "rule_confidence": self.rule_confidence, "metadata": self.metadata}, arrays

    # -- prediction ----------------------------------------------------------------------------

    def predict(self, text: str) -> Topic:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        prepared = prepare(text)
        if not prepared:
            raise ValueError("text is empty")
        if asks_for_mediation(prepared):
            # 矛盾纠纷 between people, and they ask for mediation: the community's 综治中心 mediates first,
            # whatever the quarrel is about (noise, a leak, a wall, a parking space).
            return self._topic(_Decision(*MEDIATION_TOPIC, confidence=1.0))
        return self._topic(self.decide(prepared))

    def predict_many(self, texts: Iterable[str]) -> list[Topic]:
        return [self.predict(t) for t in texts]

    def decide(self, prepared: str) -> _Decision:
        """The decision on an already prepared text (also used by cross-validation)."""
        probs = self.model.proba(prepared)
        best = int(np.argmax(probs))
        l1, confidence = self.model.classes[best], float(probs[best])
        rule = self._l1_rule(prepared, l1)
        if rule is not None:
            return _Decision(rule.l1, rule.l2, rule.l3, self.rule_confidence, by_rule=True)
        l2, l3 = self._sub_topic(l1, prepared)
        return _Decision(l1, l2, l3, confidence)

    def _l1_rule(self, prepared: str, l1: str) -> KeywordRule | None:
        """A keyword rule for an untrained class takes over a short message whose rule keyword is more
        specific than anything matching the model's own l1 ("电动车被偷了"). Long messages keep the
        model's answer (CV: also letting rules take over uncertain long messages misrouted 25 tipdm ones):
        a long 教育 complaint may well mention 户口 or 派出所 in passing, and "物业乱收费不开发票"
        is about 物业 (its 物业 keywords outweigh 发票)."""
        best, best_score = None, 0
        for rule in self._l1_rules:
            score = _match_score(prepared, rule)
            if score > best_score:
                best, best_score = rule, score
        if best is None or len(prepared) > self.rule_max_chars:
            return None
        if best_score <= self._sub_topic_match(l1, prepared)[1]:
            return None
        return best

    def _sub_topic_match(self, l1: str, prepared: str) -> tuple[KeywordRule | None, int]:
        best, best_score = None, 0
        for rule in self._rules_by_l1.get(l1, ()):
            score = _match_score(prepared, rule)
            if score > best_score:
                best, best_score = rule, score
        return best, best_score

    def _sub_topic(self, l1: str, prepared: str) -> tuple[str | None, str | None]:
        best, _score = self._sub_topic_match(l1, prepared)
        if best is None:
            return None, None
        return best.l2, best.l3

    def _topic(self, d: _Decision) -> Topic:
        route = self.routing.route(d.l1, d.l2, d.l3)
        # Keyword-rule topics have no labelled data behind them: a dispatcher always confirms them.
        needs_human = d.by_rule or d.confidence < self.threshold
        return Topic(d.l1, d.l2, d.l3, route.department, d.confidence, needs_human)

