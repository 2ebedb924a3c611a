"""A small linear text model: character n-grams → TF-IDF → one softmax per head.

The intake uses it for two questions the dialogue model answers poorly on text unlike its training
data (long letters, operators' summaries, spoken and garbled speech):
- ``city``: is this a matter for a city service at all (``city`` / ``other``)?
- ``danger``: is someone in danger now (``none`` / ``emergency`` / ``crisis``)?

Characters, not words: residents' text is full of typos, homophones, Cantonese and ASR errors that a
word vocabulary never saw, and character n-grams carry them. Inference is numpy only, so the model
travels as arrays and JSON (scripts/train_intake.py writes it; router.adapters.artefacts reads it) and
nothing on the serving path needs scikit-learn.

Pure: standard library, numpy and router.domain.normalise.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from router.domain.normalise import normalise

__all__ = ["LinearTextModel", "Head", "prepare_text", "char_ngrams", "MAX_MODEL_CHARS"]

# Long letters say what they are about in their first paragraphs; beyond this the cost grows and the
# answer does not change (measured on the real letters: bench/results/intake.md).
MAX_MODEL_CHARS = 1200
_NON_TEXT = re.compile(r"[\s\u200b]+")
_DIGITS = re.compile(r"\d+")


def prepare_text(text: str) -> str:
    """The canonical form the model sees: normalised, lower case, no whitespace, digit runs as 0."""
    text = normalise(text[: MAX_MODEL_CHARS * 2])[:MAX_MODEL_CHARS].lower()
    text = _NON_TEXT.sub("", text)
    return _DIGITS.sub("0", text)


def char_ngrams(text: str, lo: int = 1, hi: int = 3) -> list[str]:
    out: list[str] = []
    n = len(text)
    for size in range(lo, hi + 1):
        out.extend(text[i : i + size] for i in range(n - size + 1))
    return out


@dataclass
class Head:
    name: str
    labels: list[str]
    weights: np.ndarray  # n_features × n_labels (binary heads: n_features × 1, logistic)
    bias: np.ndarray  # n_labels (or 1)
    # The head's own IDF over the shared vocabulary (0 for a term its training text never had): each head
    # reads a text as a vectoriser fitted on its own data would, so one head's data cannot move the other.
    # None: the model's shared IDF.
    idf: np.ndarray | None = None

    def proba(self, idx: np.ndarray, vals: np.ndarray) -> dict[str, float]:
        z = vals @ self.weights[idx] + self.bias if len(idx) else self.bias.copy()
        if len(self.labels) == 2 and z.shape[0] == 1:
            p = 1.0 / (1.0 + math.exp(-float(z[0])))
            return {self.labels[0]: 1.0 - p, self.labels[1]: p}
        z = z - z.max()
        e = np.exp(z)
        e /= e.sum()
        return {label: float(v) for label, v in zip(self.labels, e, strict=True)}


class LinearTextModel:
    """TF-IDF over character n-grams (sublinear tf, L2 norm) read by several linear heads, each with the
    shared IDF or its own."""

    def __init__(self, vocab: dict[str, int], idf: np.ndarray | None, heads: list[Head], *,
                 ngram: tuple[int, int] = (1, 3), metadata: dict[str, Any] | None = None) -> None:
        if idf is not None and len(idf) != len(vocab):
            raise ValueError("idf and vocabulary sizes differ")
        if idf is None and any(h.idf is None for h in heads):
            raise ValueError("a head without its own idf needs the shared one")
        for head in heads:
            if head.weights.shape[0] != len(vocab) or (head.idf is not None and len(head.idf) != len(vocab)):
                raise ValueError(f"head {head.name}: weights or idf do not match the vocabulary")
        self.vocab = vocab
        self.idf = idf
        self.heads = {h.name: h for h in heads}
        self.ngram = ngram
        self.metadata = metadata or {}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> LinearTextModel:
        """``meta``: JSON (vocabulary as a list of terms, head names and labels); ``arrays``: the shared
        ``idf`` and each head's weights and bias under ``<head>.w`` / ``<head>.b``, and its own IDF under
        ``<head>.idf`` where it has one."""
        vocab = {term: i for i, term in enumerate(meta["vocab"])}
        heads = [Head(h["name"], list(h["labels"]), np.asarray(arrays[f"{h['name']}.w"], dtype=np.float64),
                      np.asarray(arrays[f"{h['name']}.b"], dtype=np.float64),
                      np.asarray(arrays[f"{h['name']}.idf"], dtype=np.float64) if f"{h['name']}.idf" in arrays
                      else None) for h in meta["heads"]]
        lo, hi = meta.get("ngram", [1, 3])
        shared = np.asarray(arrays["idf"], dtype=np.float64) if "idf" in arrays else None
        return cls(vocab, shared, heads, ngram=(int(lo), int(hi)),
                   metadata=meta.get("metadata") or {})

    def _terms(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(vocabulary indices, sublinear tf) of the text's n-grams."""
        prepared = prepare_text(text)
        counts = Counter(char_ngrams(prepared, *self.ngram))
        hits = [(self.vocab[t], n) for t, n in counts.items() if t in self.vocab]
        if not hits:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.fromiter((i for i, _ in hits), dtype=np.int64, count=len(hits))
        tf = np.fromiter((1.0 + math.log(n) for _, n in hits), dtype=np.float64, count=len(hits))
        return idx, tf

    @staticmethod
    def _weighted(idx: np.ndarray, tf: np.ndarray, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vals = tf * idf[idx]
        keep = vals != 0.0  # a term the head's own text never had is not one of its features
        idx, vals = idx[keep], vals[keep]
        norm = float(np.linalg.norm(vals))
        return idx, (vals / norm if norm else vals)

    def predict(self, text: str) -> dict[str, dict[str, float]]:
        """Every head's probabilities for ``text``."""
        idx, tf = self._terms(text)
        out = {}
        for name, head in self.heads.items():
            idf = head.idf if head.idf is not None else self.idf
            assert idf is not None  # the constructor saw to it
            out[name] = head.proba(*self._weighted(idx, tf, idf))
        return out
