"""Speed and memory of the matching engine on a large synthetic catalogue.

Generates cities and practices with a fixed seed, builds the index, warms up, then times
`MatchIndex.rank` on random requests. Run from the repository root:

    python benchmarks/matching_speed.py [--cities 10000] [--practices 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchange.domain.matching import (  # noqa: E402
    REGIONS,
    ChallengeTerm,
    MatchIndex,
    MatchQuery,
    PeerCity,
    PeerHistory,
    PracticeDoc,
    default_concepts,
)
from exchange.domain.text import tokenize  # noqa: E402

SEED = 20250226
TARGET_P95_MS = 100.0
TARGET_MEMORY_MB = 500.0

# Everyday words of the domain in the network's main languages; texts mix them with
# lexicon phrases and a long tail of synthetic words so the vocabulary is realistic.
COMMON_WORDS: dict[str, str] = {
    "en": (
        "city council residents community programme local government partners support "
        "youth schools police services neighbourhood response public safety training "
        "officials network volunteers families dialogue workshop campaign strategy plan "
        "project centre office team mayor district funding evaluation outreach trust "
        "leaders groups events meetings data report people women children elderly"
    ),
    "fr": (
        "ville conseil habitants quartier programme collectivité partenaires soutien "
        "jeunes écoles police services réponse sécurité publique formation élus réseau "
        "bénévoles familles dialogue atelier campagne stratégie plan projet centre "
        "équipe maire financement évaluation confiance associations rencontres"
    ),
    "es": (
        "ciudad ayuntamiento vecinos barrio programa gobierno local socios apoyo "
        "jóvenes escuelas policía servicios respuesta seguridad pública formación "
        "red voluntarios familias diálogo taller campaña estrategia plan proyecto "
        "centro equipo alcaldía financiación evaluación confianza asociaciones"
    ),
    "de": (
        "stadt rat bewohner quartier programm verwaltung partner unterstützung "
        "jugendliche schulen polizei dienste sicherheit ausbildung netzwerk "
        "ehrenamtliche familien dialog werkstatt kampagne strategie plan projekt "
        "zentrum team bürgermeister förderung bewertung vertrauen vereine"
    ),
}
LANGUAGE_MIX = (("en", 0.5), ("fr", 0.15), ("es", 0.15), ("de", 0.1), ("it", 0.05), ("pl", 0.05))


def load_taxonomy() -> list[ChallengeTerm]:
    raw = json.loads((ROOT / "exchange/data/taxonomy.json").read_text(encoding="utf-8"))
    return [ChallengeTerm(t["slug"], t["name"], tuple(t["related"])) for t in raw]


def synthetic_words(rng: random.Random, count: int) -> list[str]:
    """Pronounceable made-up words: the long tail of a real vocabulary."""
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        length = rng.randint(2, 5)
        words.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(length)))
    return sorted(words)


class TextMaker:
    """Draws practice texts and request descriptions in a given language."""

    def __init__(self, rng: random.Random, taxonomy: list[ChallengeTerm]) -> None:
        self.rng = rng
        self.tail = synthetic_words(rng, 30_000)
        self.phrases: dict[str, dict[str, list[str]]] = {}
        for concept in default_concepts():
            for language, phrase in concept.phrases:
                self.phrases.setdefault(concept.slug, {}).setdefault(language, []).append(phrase)
        self.common = {lang: words.split() for lang, words in COMMON_WORDS.items()}
        self.names = {t.slug: t.name for t in taxonomy}

    def _tail_word(self) -> str:
        # Zipf-like: a few tail words are frequent, most are rare.
        rank = int(self.rng.paretovariate(1.1)) - 1
        return self.tail[min(rank * 7 + self.rng.randrange(7), len(self.tail) - 1)]

    def text(self, language: str, challenges: list[str], words: int) -> str:
        lexicon_language = language if language in self.common else "en"
        common = self.common[lexicon_language]
        parts: list[str] = []
        for _ in range(words):
            roll = self.rng.random()
            if roll < 0.15 and challenges:
                slug = self.rng.choice(challenges)
                options = self.phrases[slug].get(lexicon_language) or self.phrases[slug]["en"]
                parts.append(self.rng.choice(options))
            elif roll < 0.55:
                parts.append(self.rng.choice(common))
            else:
                parts.append(self._tail_word())
        return " ".join(parts)

    def title(self, challenges: list[str]) -> str:
        return f"{self.names[challenges[0]]} {self._tail_word()} {self._tail_word()}"


def pick_language(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for language, share in LANGUAGE_MIX:
        total += share
        if roll < total:
            return language
    return "en"


def make_catalogue(
    n_cities: int, n_practices: int, taxonomy: list[ChallengeTerm], rng: random.Random
) -> list[PeerCity]:
    maker = TextMaker(rng, taxonomy)
    slugs = [t.slug for t in taxonomy]
    owners = sorted(rng.randrange(n_cities) for _ in range(n_practices))
    per_city = [0] * n_cities
    for owner in owners:
        per_city[owner] += 1
    cities: list[PeerCity] = []
    next_id = 1
    for i in range(n_cities):
        language = pick_language(rng)
        practices = []
        for _ in range(per_city[i]):
            challenges = rng.sample(slugs, rng.randint(1, 3))
            practices.append(
                PracticeDoc(
                    id=next_id,
                    title=maker.title(challenges),
                    summary=maker.text(language, challenges, rng.randint(35, 90)),
                    challenges=tuple(challenges),
                    since=rng.choice([None, *range(2000, 2026)]),
                )
            )
            next_id += 1
        languages = (language,) if rng.random() < 0.6 else (language, "en")
        cities.append(
            PeerCity(
                key=f"city-{i:05d}-xx",
                name=f"City {i}",
                country="XX",
                region=rng.choice(REGIONS),
                population=int(10 ** rng.uniform(4, 7)),
                languages=tuple(dict.fromkeys(languages)),
                free_capacity=rng.choice([0, 1, 1, 2, 3, 5]),
                practices=tuple(practices),
                history=PeerHistory(
                    accepted=rng.randint(0, 6),
                    declined=rng.randint(0, 3),
                    expired=rng.randint(0, 2),
                    feedback=tuple(rng.randint(1, 5) for _ in range(rng.randint(0, 4))),
                ),
            )
        )
    return cities


def make_queries(
    count: int, cities: list[PeerCity], taxonomy: list[ChallengeTerm], rng: random.Random
) -> list[MatchQuery]:
    maker = TextMaker(rng, taxonomy)
    slugs = [t.slug for t in taxonomy]
    queries = []
    for _ in range(count):
        city = rng.choice(cities)
        challenges = rng.sample(slugs, rng.randint(1, 2))
        language = city.languages[0]
        queries.append(
            MatchQuery(
                city_key=city.key,
                challenges=tuple(challenges),
                text=maker.text(language, challenges, rng.randint(10, 60)),
                languages=tuple(rng.sample(["en", "fr", "es", "de"], rng.randint(0, 2))),
                regions=tuple(rng.sample(REGIONS, rng.randint(0, 2))),
                limit=rng.choice([5, 5, 10]),
            )
        )
    return queries


def resident_mb() -> float:
    """Resident set size of this process (Linux /proc, else peak RSS from resource)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        pages = int(statm.read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def traced_build_mb(cities: list[PeerCity], taxonomy: list[ChallengeTerm]) -> tuple[float, float]:
    """Heap held by a freshly built index, and the peak while building it."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = MatchIndex.build(cities, taxonomy)
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del index
    return (held - before) / 2**20, (peak - before) / 2**20


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    position = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[position]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=10_000)
    parser.add_argument("--practices", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also build once under tracemalloc for an exact heap figure (about 5x slower)",
    )
    args = parser.parse_args(argv)

    rng = random.Random(SEED)
    taxonomy = load_taxonomy()
    started = time.perf_counter()
    cities = make_catalogue(args.cities, args.practices, taxonomy, rng)
    queries = make_queries(args.warmup + args.requests, cities, taxonomy, rng)
    tokenize("warm the tokenizer")
    print(
        f"catalogue: {len(cities)} cities, {sum(len(c.practices) for c in cities)} practices "
        f"generated in {time.perf_counter() - started:.1f} s"
    )

    gc.collect()
    rss_before = resident_mb()
    started = time.perf_counter()
    index = MatchIndex.build(cities, taxonomy)
    build_seconds = time.perf_counter() - started
    gc.collect()
    index_mb = resident_mb() - rss_before
    print(f"build: {build_seconds:.1f} s, index memory {index_mb:.0f} MB (resident set growth)")
    if args.tracemalloc:
        traced_mb, peak_mb = traced_build_mb(cities, taxonomy)
        print(f"traced build: index holds {traced_mb:.0f} MB, peak {peak_mb:.0f} MB")
        index_mb = max(index_mb, traced_mb)

    for query in queries[: args.warmup]:
        index.rank(query)
    timings: list[float] = []
    for query in queries[args.warmup :]:
        started = time.perf_counter()
        index.rank(query)
        timings.append((time.perf_counter() - started) * 1000.0)
    p50, p95, p99 = (percentile(timings, s) for s in (0.5, 0.95, 0.99))
    print(
        f"rank over {len(timings)} requests: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"p99 {p99:.1f} ms, mean {statistics.fmean(timings):.1f} ms"
    )
    ok = p95 < TARGET_P95_MS and index_mb < TARGET_MEMORY_MB
    print("targets (p95 < 100 ms, index < 500 MB):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
