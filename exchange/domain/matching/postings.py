"""The inverted index in compressed form, and BM25 over it.

Postings of term t are ``docs[offsets[t]:offsets[t + 1]]`` with their precomputed BM25
impacts, so scoring a query term is one vector operation over its postings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from exchange.domain.matching.model import FloatArray, IntArray, Weights


@dataclass(frozen=True)
class Postings:
    """Compressed inverted index: postings of term t are docs[offsets[t]:offsets[t+1]]."""

    vocabulary: dict[str, int]
    offsets: IntArray
    docs: npt.NDArray[np.int32]
    impacts: npt.NDArray[np.float32]  # precomputed BM25 weight of the term in that doc
    idf: npt.NDArray[np.float32]


class PostingsBuilder:
    """Collects (term, doc, tf) triples compactly, then sorts them into postings."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self._terms: list[npt.NDArray[np.int32]] = []
        self._tfs: list[npt.NDArray[np.int32]] = []
        self._lengths: list[int] = []

    def add(self, terms: Sequence[str]) -> None:
        counts = Counter(terms)
        vocabulary = self.vocabulary
        ids = [vocabulary.setdefault(term, len(vocabulary)) for term in counts]
        self._terms.append(np.array(ids, dtype=np.int32))
        self._tfs.append(np.array(list(counts.values()), dtype=np.int32))
        self._lengths.append(len(terms))

    def finish(self, weights: Weights) -> Postings:
        n_docs = len(self._lengths)
        lengths = np.array(self._lengths, dtype=np.float64)
        per_doc = np.array([len(t) for t in self._terms], dtype=np.int64)
        term_ids = np.concatenate(self._terms) if n_docs else np.zeros(0, dtype=np.int32)
        tfs = np.concatenate(self._tfs).astype(np.float64) if n_docs else np.zeros(0)
        docs = np.repeat(np.arange(n_docs, dtype=np.int32), per_doc)
        order = np.argsort(term_ids, kind="stable")
        term_ids, tfs, docs = term_ids[order], tfs[order], docs[order]
        n_terms = len(self.vocabulary)
        df = np.bincount(term_ids, minlength=n_terms).astype(np.float64)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        average = float(lengths.mean()) if n_docs else 1.0
        norm = weights.bm25_k1 * (1.0 - weights.bm25_b + weights.bm25_b * lengths[docs] / average)
        impacts = idf[term_ids] * tfs * (weights.bm25_k1 + 1.0) / (tfs + norm)
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=offsets[1:])
        self._terms, self._tfs, self._lengths = [], [], []
        return Postings(
            vocabulary=self.vocabulary,
            offsets=offsets,
            docs=docs.astype(np.int32),
            impacts=impacts.astype(np.float32),
            idf=idf.astype(np.float32),
        )


def accumulate_best_variant(scores: FloatArray, postings: Postings, term_ids: list[int]) -> None:
    """Add one query term's BM25 contribution, taking the best of its variants per doc."""
    if len(term_ids) == 1:
        t = term_ids[0]
        lo, hi = postings.offsets[t], postings.offsets[t + 1]
        scores[postings.docs[lo:hi]] += postings.impacts[lo:hi]
        return
    best = np.zeros_like(scores)
    for t in term_ids:
        lo, hi = postings.offsets[t], postings.offsets[t + 1]
        docs = postings.docs[lo:hi]
        best[docs] = np.maximum(best[docs], postings.impacts[lo:hi])
    scores += best
