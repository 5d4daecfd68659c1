"""Offline evaluation of peer matching on the demo catalogue.

Reads the judged requests in benchmarks/matching_judged.jsonl (graded relevance 1-3 per
peer city), ranks them with the engine and with a plain BM25 baseline (practice text
only: no taxonomy, no lexicon, no cross-language reading, no context), and prints
nDCG@5 for both, overall and per language of the request (the id's prefix).

``--cv K`` also tunes a few weights by K-fold cross-validation (folds stratified by
language): for each fold the grid point best on the other folds is chosen and scored on
the held-out fold only; the held-out mean is the figure to report, not the tuned one.
Exits non-zero if the engine does not beat the baseline.

    python benchmarks/matching_eval.py [--verbose] [--cv 5]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchange.domain.matching import (  # noqa: E402
    WEIGHTS,
    ChallengeTerm,
    MatchIndex,
    MatchQuery,
    PeerCity,
    PracticeDoc,
    Weights,
)
from exchange.domain.text import analyse  # noqa: E402

DATA = ROOT / "exchange" / "data"
JUDGED = Path(__file__).resolve().parent / "matching_judged.jsonl"
CUTOFF = 5


@dataclass(frozen=True)
class Judged:
    """One judged request."""

    id: str
    query: MatchQuery
    relevant: dict[str, int]

    @property
    def language(self) -> str:
        """The request's language: its id starts with the ISO 639-1 code."""
        return self.id.split("-", 1)[0]


def load_taxonomy(path: Path = DATA / "taxonomy.json") -> list[ChallengeTerm]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [ChallengeTerm(t["slug"], t["name"], tuple(t.get("related", ()))) for t in raw]


def load_cities(path: Path = DATA / "demo_catalogue.json") -> list[PeerCity]:
    """Cities of the catalogue export format, with their practices, without history."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    practices: dict[str, list[PracticeDoc]] = {}
    for number, p in enumerate(raw["practices"], start=1):
        practices.setdefault(p["city"], []).append(
            PracticeDoc(
                id=number,
                title=p["title"],
                summary=p["summary"],
                challenges=tuple(p["challenges"]),
                since=p.get("since"),
                outcomes=p.get("outcomes", ""),
            )
        )
    return [
        PeerCity(
            key=c["key"],
            name=c["name"],
            country=c["country"],
            region=c["region"],
            population=c.get("population"),
            languages=tuple(c["languages"]),
            free_capacity=c["mentoring_capacity"],
            practices=tuple(practices.get(c["key"], ())),
        )
        for c in raw["cities"]
    ]


def load_judged(path: Path = JUDGED) -> list[Judged]:
    judged = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        query = MatchQuery(
            city_key=row["city"],
            challenges=tuple(row["challenges"]),
            text=row.get("text", ""),
            languages=tuple(row.get("languages", ())),
            regions=tuple(row.get("regions", ())),
            limit=row.get("limit", CUTOFF),
        )
        judged.append(Judged(row["id"], query, {k: int(v) for k, v in row["relevant"].items()}))
    return judged


def dcg(gains: Sequence[int]) -> float:
    return sum(float(2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(gains))


def ndcg(ranked: Sequence[str], relevant: Mapping[str, int], cutoff: int = CUTOFF) -> float:
    ideal = dcg(sorted(relevant.values(), reverse=True)[:cutoff])
    if ideal == 0:
        return 0.0
    return dcg([relevant.get(key, 0) for key in ranked[:cutoff]]) / ideal


class PlainBM25:
    """Text-only baseline: BM25 over each practice's own-language stems, best per city.

    It still skips the requesting city and cities without capacity, so the comparison is
    about relevance, not about eligibility rules.
    """

    def __init__(self, cities: Sequence[PeerCity], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.cities = {c.key: c for c in cities}
        self.docs: list[tuple[str, Counter[str], int]] = []
        for city in cities:
            for p in city.practices:
                stems = analyse(f"{p.title} {p.summary} {p.outcomes}", hints=city.languages).stems
                self.docs.append((city.key, Counter(stems), len(stems)))
        self.average = sum(n for _, _, n in self.docs) / max(len(self.docs), 1)
        self.df: Counter[str] = Counter()
        for _, counts, _ in self.docs:
            self.df.update(counts.keys())

    def _idf(self, term: str) -> float:
        n = len(self.docs)
        return math.log(1 + (n - self.df[term] + 0.5) / (self.df[term] + 0.5))

    def rank(self, query: MatchQuery) -> list[str]:
        terms = set(analyse(query.text, hints=query.languages).stems)
        best: dict[str, float] = {}
        for key, counts, length in self.docs:
            city = self.cities[key]
            if key == query.city_key or city.free_capacity <= 0:
                continue
            norm = self.k1 * (1 - self.b + self.b * length / self.average)
            score = sum(
                self._idf(t) * counts[t] * (self.k1 + 1) / (counts[t] + norm)
                for t in terms
                if t in counts
            )
            if score > 0:
                best[key] = max(best.get(key, 0.0), score)
        ordered = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return [key for key, _ in ordered[: query.limit]]


#: Weights tuned by cross-validation, and the values tried for each.
GRID: dict[str, tuple[float, ...]] = {
    "taxonomy": (0.5, 0.6, 0.7),
    "inferred_query_challenge": (0.3, 0.5, 0.7),
    "text_saturation": (0.25, 0.35, 0.5),
    "floor": (0.6, 0.75),
}


def engine_scores(
    cities: Sequence[PeerCity], judged: Sequence[Judged], weights: Weights = WEIGHTS
) -> list[float]:
    index = MatchIndex.build(cities, load_taxonomy(), weights=weights)
    return [ndcg([c.city_key for c in index.rank(j.query)], j.relevant) for j in judged]


def folds(judged: Sequence[Judged], k: int) -> list[int]:
    """A fold number per request, dealt round-robin within each language."""
    seen: Counter[str] = Counter()
    result = []
    for item in judged:
        result.append(seen[item.language] % k)
        seen[item.language] += 1
    return result


def cross_validate(cities: Sequence[PeerCity], judged: Sequence[Judged], k: int) -> list[float]:
    """Held-out nDCG@5 per request: each fold scored with the grid point best elsewhere."""
    names = list(GRID)
    table: dict[tuple[float, ...], list[float]] = {}
    for point in itertools.product(*GRID.values()):
        values: dict[str, Any] = dict(zip(names, point, strict=True))
        values["text"] = 1.0 - values["taxonomy"]
        table[point] = engine_scores(cities, judged, replace(WEIGHTS, **values))
    fold_of = folds(judged, k)
    held_out = [0.0] * len(judged)
    for fold in range(k):
        train = [i for i, f in enumerate(fold_of) if f != fold]
        best = max(table, key=lambda p: sum(table[p][i] for i in train))
        print(
            f"  fold {fold}: chose "
            + ", ".join(f"{n}={v}" for n, v in zip(names, best, strict=True))
        )
        for i, f in enumerate(fold_of):
            if f == fold:
                held_out[i] = table[best][i]
    return held_out


def by_language(judged: Sequence[Judged], *columns: Sequence[float]) -> None:
    languages = sorted({j.language for j in judged})
    for language in languages:
        rows = [i for i, j in enumerate(judged) if j.language == language]
        means = " ".join(f"{sum(c[i] for i in rows) / len(rows):7.3f}" for c in columns)
        print(f"  {language:4s} {len(rows):3d} {means}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print each request's ranking")
    parser.add_argument("--cv", type=int, default=0, metavar="K", help="K-fold cross-validation")
    args = parser.parse_args(argv)

    cities = load_cities()
    index = MatchIndex.build(cities, load_taxonomy())
    baseline = PlainBM25(cities)
    judged = load_judged()
    engine, plain = [], []
    print(f"{'request':32s} {'engine':>7s} {'bm25':>7s}")
    for item in judged:
        engine_ranked = [c.city_key for c in index.rank(item.query)]
        baseline_ranked = baseline.rank(item.query)
        engine.append(ndcg(engine_ranked, item.relevant))
        plain.append(ndcg(baseline_ranked, item.relevant))
        print(f"{item.id:32s} {engine[-1]:7.3f} {plain[-1]:7.3f}")
        if args.verbose:
            print("    engine:  ", ", ".join(engine_ranked))
            print("    baseline:", ", ".join(baseline_ranked))
    engine_mean = sum(engine) / len(engine)
    baseline_mean = sum(plain) / len(plain)
    columns: list[Sequence[float]] = [engine, plain]
    header = f"  {'lang':4s} {'n':>3s} {'engine':>7s} {'bm25':>7s}"
    if args.cv:
        print(f"\n{args.cv}-fold cross-validation over {len(GRID)} weights:")
        held_out = cross_validate(cities, judged, args.cv)
        columns.append(held_out)
        header += f" {'held-out':>8s}"
    print(f"\nnDCG@{CUTOFF} per language (default weights; held-out = cross-validated):")
    print(header)
    by_language(judged, *columns)
    print(
        f"\nnDCG@{CUTOFF} over {len(judged)} requests: engine {engine_mean:.3f}, "
        f"plain BM25 {baseline_mean:.3f}"
    )
    if args.cv:
        print(f"held-out nDCG@{CUTOFF} ({args.cv}-fold): {sum(held_out) / len(held_out):.3f}")
    if engine_mean <= baseline_mean:
        print("FAIL: the engine does not beat the text-only baseline")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
