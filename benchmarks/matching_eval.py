"""Offline evaluation of peer matching on the demo catalogue.

Reads the judged requests in benchmarks/matching_judged.jsonl (graded relevance 1-3 per
peer city), ranks them with the engine and with a plain BM25 baseline (practice text
only: no taxonomy, no lexicon, no cross-language reading, no context), and prints
nDCG@5 for both. Exits non-zero if the engine does not beat the baseline.

    python benchmarks/matching_eval.py [--verbose]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchange.domain.matching import (  # noqa: E402
    ChallengeTerm,
    MatchIndex,
    MatchQuery,
    PeerCity,
    PracticeDoc,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print each request's ranking")
    args = parser.parse_args(argv)

    cities = load_cities()
    index = MatchIndex.build(cities, load_taxonomy())
    baseline = PlainBM25(cities)
    judged = load_judged()
    engine_scores, baseline_scores = [], []
    print(f"{'request':32s} {'engine':>7s} {'bm25':>7s}")
    for item in judged:
        engine_ranked = [c.city_key for c in index.rank(item.query)]
        baseline_ranked = baseline.rank(item.query)
        engine_scores.append(ndcg(engine_ranked, item.relevant))
        baseline_scores.append(ndcg(baseline_ranked, item.relevant))
        print(f"{item.id:32s} {engine_scores[-1]:7.3f} {baseline_scores[-1]:7.3f}")
        if args.verbose:
            print("    engine:  ", ", ".join(engine_ranked))
            print("    baseline:", ", ".join(baseline_ranked))
    engine_mean = sum(engine_scores) / len(engine_scores)
    baseline_mean = sum(baseline_scores) / len(baseline_scores)
    print(
        f"\nnDCG@{CUTOFF} over {len(judged)} requests: engine {engine_mean:.3f}, "
        f"plain BM25 {baseline_mean:.3f}"
    )
    if engine_mean <= baseline_mean:
        print("FAIL: the engine does not beat the text-only baseline")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
