"""Peer ranking on small hand-made catalogues: each signal, the rules, the reasons."""

from __future__ import annotations

import json
import pickle
import random
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from exchange.domain.matching import (
    NO_CHALLENGE,
    REGIONS,
    WEIGHTS,
    Candidate,
    ChallengeTerm,
    MatchError,
    MatchIndex,
    MatchQuery,
    PeerCity,
    PeerHistory,
    PracticeDoc,
    Reason,
    ReasonCode,
    UnknownChallenge,
    UnknownCity,
    Weights,
    city_key,
    default_concepts,
    reputation,
)

DATA = Path(__file__).resolve().parents[2] / "exchange" / "data"

TAXONOMY = (
    ChallengeTerm("post-attack-recovery", "Post-attack recovery", ("mental-health-trauma",)),
    ChallengeTerm(
        "mental-health-trauma", "Mental health and trauma support", ("post-attack-recovery",)
    ),
    ChallengeTerm("soft-target-protection", "Protecting public spaces and soft targets", ()),
    ChallengeTerm("migration-integration", "Migration and integration of newcomers", ()),
    ChallengeTerm("urban-design-cohesion", "Urban design for social cohesion", ()),
)

_ids = iter(range(1, 1_000_000))


def practice(
    title: str, challenges: tuple[str, ...], summary: str = "", since: int | None = 2020
) -> PracticeDoc:
    return PracticeDoc(
        id=next(_ids), title=title, summary=summary or title, challenges=challenges, since=since
    )


def city(
    key: str,
    *practices: PracticeDoc,
    languages: tuple[str, ...] = ("en",),
    region: str = "europe",
    population: int | None = 500_000,
    capacity: int = 2,
    history: PeerHistory | None = None,
) -> PeerCity:
    return PeerCity(
        key=key,
        name=key.rsplit("-", 1)[0].title(),
        country=key.rsplit("-", 1)[1].upper(),
        region=region,
        population=population,
        languages=languages,
        free_capacity=capacity,
        practices=practices,
        history=history or PeerHistory(),
    )


def recovery(title: str = "Victim support after the bombing") -> PracticeDoc:
    return practice(title, ("post-attack-recovery",))


def requester(**kwargs: Any) -> PeerCity:
    return city("home-gb", **kwargs)


def rank(cities: list[PeerCity], **query: Any) -> list[Candidate]:
    index = MatchIndex.build(cities, TAXONOMY)
    params: dict[str, Any] = {"city_key": "home-gb", "challenges": ("post-attack-recovery",)}
    params.update(query)
    return index.rank(MatchQuery(**params))


def keys(candidates: list[Candidate]) -> list[str]:
    return [c.city_key for c in candidates]


def reason_codes(candidate: Candidate) -> list[str]:
    return [r.code for r in candidate.reasons]


def by_key(candidates: list[Candidate], key: str) -> Candidate:
    return next(c for c in candidates if c.city_key == key)


def reasons_of(candidate: Candidate, code: ReasonCode) -> list[dict[str, Any]]:
    """The parameters of each of the candidate's reasons with this code."""
    return [dict(r.params) for r in candidate.reasons if r.code == code]


# --------------------------------------------------------------------- eligibility


def test_requesting_city_is_never_a_candidate() -> None:
    result = rank([city("home-gb", recovery()), city("peer-fr", recovery())])
    assert keys(result) == ["peer-fr"]


def test_city_without_free_capacity_is_never_proposed() -> None:
    cities = [
        requester(),
        city("full-de", recovery(), capacity=0),
        city("free-fr", recovery(), capacity=1),
    ]
    assert keys(rank(cities, limit=10)) == ["free-fr"]


def test_city_without_any_fitting_practice_is_not_proposed() -> None:
    cities = [
        requester(),
        city("unrelated-es", practice("Refugee welcome desk", ("migration-integration",))),
        city("fits-fr", recovery()),
    ]
    assert keys(rank(cities, limit=10)) == ["fits-fr"]


def test_limit_caps_the_list() -> None:
    cities = [requester()] + [city(f"peer{i}-fr", recovery()) for i in range(8)]
    assert len(rank(cities, limit=3)) == 3
    assert len(rank(cities, limit=20)) == 8


# ------------------------------------------------------------------------- errors


def test_unknown_city_is_an_error() -> None:
    with pytest.raises(UnknownCity):
        rank([city("peer-fr", recovery())], city_key="nowhere-xx")


def test_unknown_challenge_is_an_error() -> None:
    with pytest.raises(UnknownChallenge):
        rank([requester(), city("peer-fr", recovery())], challenges=("alien-invasion",))


def test_errors_are_value_errors_of_one_family() -> None:
    assert issubclass(UnknownCity, MatchError)
    assert issubclass(UnknownChallenge, MatchError)
    assert issubclass(MatchError, ValueError)


@pytest.mark.parametrize(
    "query",
    [
        {"challenges": (), "text": "   "},
        {"limit": 0},
        {"regions": ("atlantis",)},
    ],
)
def test_invalid_requests_are_errors(query: dict[str, Any]) -> None:
    with pytest.raises(MatchError):
        rank([requester(), city("peer-fr", recovery())], **query)


def test_duplicate_city_keys_are_rejected() -> None:
    with pytest.raises(MatchError):
        MatchIndex.build([city("twin-fr", recovery()), city("twin-fr", recovery())], TAXONOMY)


# ------------------------------------------------------------------------- scores


def test_scores_stay_in_unit_interval_and_are_sorted() -> None:
    rng = random.Random(7)
    slugs = [t.slug for t in TAXONOMY]
    words = ["bombing", "victims", "refugees", "housing", "barriers", "market", "trauma"]
    cities = [requester()]
    for i in range(40):
        practices = tuple(
            practice(
                " ".join(rng.sample(words, 3)),
                tuple(rng.sample(slugs, rng.randint(1, 2))),
                summary=" ".join(rng.choices(words, k=rng.randint(1, 30))),
            )
            for _ in range(rng.randint(0, 3))
        )
        cities.append(
            city(
                f"c{i:02d}-fr",
                *practices,
                languages=tuple(rng.sample(["en", "fr", "es", "de"], rng.randint(1, 2))),
                region=rng.choice(REGIONS),
                population=rng.choice([None, 5_000, 80_000, 2_000_000]),
                capacity=rng.randint(0, 4),
                history=PeerHistory(
                    rng.randint(0, 5),
                    rng.randint(0, 5),
                    rng.randint(0, 5),
                    tuple(rng.choices([1, 5], k=rng.randint(0, 5))),
                ),
            )
        )
    index = MatchIndex.build(cities, TAXONOMY)
    for _ in range(30):
        query = MatchQuery(
            city_key="home-gb",
            challenges=tuple(rng.sample(slugs, rng.randint(1, 3))),
            text=" ".join(rng.choices(words, k=rng.randint(0, 6))),
            languages=tuple(rng.sample(["en", "fr", "es"], rng.randint(0, 2))),
            regions=tuple(rng.sample(REGIONS, rng.randint(0, 2))),
            limit=10,
        )
        result = index.rank(query)
        assert all(0.0 <= c.score <= 1.0 for c in result)
        assert all(0.0 <= v <= 1.0 for c in result for v in c.signals.values())
        assert [c.score for c in result] == sorted((c.score for c in result), reverse=True)


def test_equal_scores_are_ordered_by_city_key_whatever_the_input_order() -> None:
    peers = [city(k, recovery()) for k in ("delta-fr", "alpha-fr", "charlie-fr", "bravo-fr")]
    first = rank([requester(), *peers], limit=4)
    again = rank([*reversed(peers), requester()], limit=4)
    assert len({c.score for c in first}) == 1
    assert keys(first) == ["alpha-fr", "bravo-fr", "charlie-fr", "delta-fr"]
    assert keys(again) == keys(first)


def test_ties_at_the_cut_keep_the_smallest_keys() -> None:
    peers = [city(f"p{i}-fr", recovery()) for i in (5, 3, 9, 1, 7)]
    assert keys(rank([requester(), *peers], limit=2)) == ["p1-fr", "p3-fr"]


# ---------------------------------------------------------------- taxonomy signal


def test_declared_challenge_beats_related_challenge() -> None:
    cities = [
        requester(),
        city("related-fr", practice("Counselling service", ("mental-health-trauma",))),
        city("direct-de", practice("Support programme", ("post-attack-recovery",))),
    ]
    result = rank(cities)
    assert keys(result) == ["direct-de", "related-fr"]
    related = by_key(result, "related-fr")
    assert related.signals["taxonomy"] == pytest.approx(WEIGHTS.related_credit)
    assert "practice_related" in reason_codes(related)


def test_covering_every_requested_challenge_beats_covering_one() -> None:
    cities = [
        requester(),
        city("one-fr", practice("Barriers", ("soft-target-protection",))),
        city(
            "both-de",
            practice("Barriers", ("soft-target-protection",)),
            practice("Welcome desk", ("migration-integration",)),
        ),
    ]
    result = rank(cities, challenges=("soft-target-protection", "migration-integration"))
    assert keys(result) == ["both-de", "one-fr"]
    assert (
        by_key(result, "both-de").signals["taxonomy"] > by_key(result, "one-fr").signals["taxonomy"]
    )


def test_practice_reason_names_practice_year_and_challenge() -> None:
    cities = [
        requester(),
        city(
            "peer-fr",
            practice("Recovery after the Arena bombing", ("post-attack-recovery",), since=2017),
        ),
    ]
    [candidate] = rank(cities)
    assert candidate.reasons[0] == Reason(
        ReasonCode.PRACTICE_CHALLENGE,
        {
            "title": "Recovery after the Arena bombing",
            "challenges": ("Post-attack recovery",),
            "challenge_slugs": ("post-attack-recovery",),
            "year": 2017,
        },
    )


def test_practice_without_year_gets_a_reason_without_year() -> None:
    cities = [
        requester(),
        city("peer-fr", practice("Barriers", ("post-attack-recovery",), since=None)),
    ]
    [candidate] = rank(cities)
    assert reasons_of(candidate, ReasonCode.PRACTICE_CHALLENGE) == [
        {
            "title": "Barriers",
            "challenges": ("Post-attack recovery",),
            "challenge_slugs": ("post-attack-recovery",),
        }
    ]


# -------------------------------------------------------------------- text signal


def _two_market_cities() -> list[PeerCity]:
    return [
        requester(),
        city(
            "stations-de",
            practice(
                "Camera network at railway stations",
                ("soft-target-protection",),
                summary="Cameras and guards watch railway stations and airports around the clock.",
            ),
        ),
        city(
            "markets-fr",
            practice(
                "Bollards for the Christmas market",
                ("soft-target-protection",),
                summary="Bollards and concrete barriers stop vehicle ramming attacks at the "
                "Christmas market and on pedestrian streets.",
            ),
        ),
    ]


def test_description_decides_between_equal_taxonomy_matches() -> None:
    result = rank(
        _two_market_cities(),
        challenges=("soft-target-protection",),
        text="How to stop vehicle ramming at our Christmas market?",
    )
    assert keys(result)[0] == "markets-fr"
    top = result[0]
    assert top.signals["text"] > result[1].signals["text"]
    [text_reason] = reasons_of(top, ReasonCode.PRACTICE_TEXT)
    assert "ramming" in text_reason["words"]
    assert text_reason["title"] == "Bollards for the Christmas market"


def test_text_reasons_quote_only_words_the_practice_uses() -> None:
    # The lexicon links "bombing" to "terror attack": a match, but not the practice's word.
    festival = practice(
        "Street festival security",
        ("soft-target-protection",),
        summary="Families were helped after the terror attack at the street festival.",
    )
    memorial = practice("Memorial fund", ("post-attack-recovery",), summary="A memorial.")
    result = rank(
        [requester(), city("peer-fr", memorial, festival)],
        text="How do we help families after a bombing?",
    )
    reasons = result[0].reasons
    assert (
        Reason(
            ReasonCode.PRACTICE_TEXT,
            {
                "title": "Street festival security",
                "words": ("help", "families"),
                # the practice's own sentence that matched, quoted
                "sentence": "Families were helped after the terror attack at the street festival.",
            },
        )
        in reasons
    )
    assert not any("bombing" in str(r.params) for r in reasons), reasons
    assert (
        Reason(
            ReasonCode.PRACTICE_TEXT_THEME,
            {
                "title": "Street festival security",
                "challenges": ("Post-attack recovery",),
                "challenge_slugs": ("post-attack-recovery",),
            },
        )
        in reasons
    )


def test_text_reasons_quote_no_stop_word_of_any_language() -> None:
    # "die" is an English word, and a German stop word: quoting it would read oddly.
    support = practice(
        "Victim support desk",
        ("post-attack-recovery",),
        summary="Fewer victims die when victim support arrives quickly.",
    )
    result = rank(
        [requester(), city("peer-fr", support)], text="Victim support so fewer victims die?"
    )
    [text_reason] = reasons_of(result[0], ReasonCode.PRACTICE_TEXT)
    assert text_reason["words"] == ("victim", "support")


def test_the_index_keeps_practice_text_compressed_and_still_quotes_it() -> None:
    text = "Fewer victims die when victim support arrives quickly."
    support = replace(
        practice("Rapid support", ("post-attack-recovery",), summary=text), outcomes="Calm."
    )
    index = MatchIndex.build([requester(), city("peer-fr", support)], TAXONOMY)
    # A snapshot is the index pickled: it must quote the same after a round trip.
    index = pickle.loads(pickle.dumps(index))  # noqa: S301 - made just above
    peer = [c.key for c in index.cities].index("peer-fr")
    [stored] = index.practices_of(peer)
    assert (stored.title, stored.summary, stored.outcomes) == ("Rapid support", "", "")
    [doc] = index.doc_range(peer)
    assert index.doc_text(doc) == f"{text} Calm."
    result = index.rank(
        MatchQuery(
            city_key="home-gb",
            challenges=("post-attack-recovery",),
            text="Victim support so fewer victims die?",
        )
    )
    [text_reason] = reasons_of(result[0], ReasonCode.PRACTICE_TEXT)
    assert text_reason["sentence"] == text


def test_text_reasons_leave_out_words_most_practices_use() -> None:
    peers = [
        city(
            f"peer{n}-fr",
            practice(
                f"Municipal programme {n}",
                ("post-attack-recovery",),
                summary="A municipal programme for residents."
                + (" Sports volunteers." if n == 1 else ""),
            ),
        )
        for n in range(6)
    ]
    result = rank([requester(), *peers], text="Municipal sports volunteers")
    [text_reason] = reasons_of(result[0], ReasonCode.PRACTICE_TEXT)
    assert "sports" in text_reason["words"] and "volunteers" in text_reason["words"]
    assert "municipal" not in text_reason["words"]


def test_a_theme_already_named_for_the_practice_is_not_repeated() -> None:
    attack = practice(
        "Helping families after the terror attack",
        ("post-attack-recovery",),
        summary="Counsellors supported families after the terror attack.",
    )
    result = rank(
        [requester(), city("peer-fr", attack)], text="Support for families after a bombing"
    )
    codes = reason_codes(result[0])
    assert codes[:2] == ["practice_challenge", "practice_text"]
    assert "practice_text_theme" not in codes
    [text_reason] = reasons_of(result[0], ReasonCode.PRACTICE_TEXT)
    assert text_reason["words"] == ("support", "families")


def test_french_request_finds_the_right_english_practice() -> None:
    result = rank(
        _two_market_cities(),
        challenges=("soft-target-protection",),
        text="Protéger notre marché de Noël contre les attaques à la voiture bélier",
        languages=("fr",),
    )
    assert keys(result)[0] == "markets-fr"
    assert result[0].signals["text"] > result[1].signals["text"]


def test_spanish_request_finds_the_right_english_practice() -> None:
    result = rank(
        _two_market_cities(),
        challenges=("soft-target-protection",),
        text="Queremos instalar bolardos contra atropellos en el mercado navideño",
        languages=("es",),
    )
    assert keys(result)[0] == "markets-fr"


def test_german_request_finds_the_right_english_practice() -> None:
    result = rank(
        _two_market_cities(),
        challenges=("soft-target-protection",),
        text="Poller gegen Amokfahrten auf dem Weihnachtsmarkt",
        languages=("de",),
    )
    assert keys(result)[0] == "markets-fr"


def test_english_request_finds_a_french_practice() -> None:
    cities = [
        requester(),
        city(
            "nice-fr",
            practice(
                "Soutien aux victimes",
                ("post-attack-recovery",),
                summary="Un soutien psychologique durable pour les victimes "
                "et les familles endeuillées après l'attentat.",
            ),
            languages=("fr",),
        ),
        city(
            "other-de",
            practice(
                "Gedenkstätte", ("post-attack-recovery",), summary="Eine Gedenkstätte wurde gebaut."
            ),
            languages=("de",),
        ),
    ]
    result = rank(cities, text="Long-term psychological support for victims and bereaved families")
    assert keys(result)[0] == "nice-fr"


def test_description_alone_points_to_the_challenge() -> None:
    cities = [
        requester(),
        city("migration-de", practice("Welcome desk", ("migration-integration",))),
        city("attack-fr", recovery()),
    ]
    result = rank(cities, challenges=(), text="Notre ville vient de subir un attentat")
    assert keys(result) == ["attack-fr"]


def test_cognates_reach_english_practices_beyond_the_lexicon() -> None:
    result = rank(
        _two_market_cities(),
        challenges=("soft-target-protection",),
        text="Installer des caméras vidéo dans les gares",
        languages=("fr",),
    )
    assert keys(result)[0] == "stations-de"
    assert result[0].signals["text"] > result[1].signals["text"]


def test_challenges_named_in_the_description_count_without_matching_words() -> None:
    cities = [
        requester(),
        city("other-de", practice("Programme Alpha", ("migration-integration",))),
        city("attack-fr", practice("Programme Beta", ("post-attack-recovery",))),
    ]
    result = rank(cities, challenges=(), text="Notre ville vient de subir un attentat")
    assert keys(result) == ["attack-fr"]
    assert result[0].signals["taxonomy"] == 1.0
    assert result[0].signals["text"] == 0.0


def test_request_without_text_has_no_text_signal() -> None:
    [candidate] = rank([requester(), city("peer-fr", recovery())])
    assert candidate.signals["text"] == 0.0
    assert candidate.signals["fit"] == candidate.signals["taxonomy"]


# ---------------------------------------------------------------- context signals


def _twins(**differences: dict[str, Any]) -> list[PeerCity]:
    """Peers with the same practice that differ only as told, plus the requester."""
    shared = recovery()
    return [requester(), *(city(key, shared, **diff) for key, diff in differences.items())]


def test_shared_language_raises_a_peer_but_does_not_filter() -> None:
    cities = _twins(**{"a-de": {"languages": ("de",)}, "b-fr": {"languages": ("fr",)}})
    result = rank(cities, languages=("fr",))
    assert keys(result) == ["b-fr", "a-de"]
    assert reasons_of(result[0], ReasonCode.SHARED_LANGUAGE) == [
        {"languages": ("fr",), "preferred": True}
    ]


def test_a_language_reason_says_whether_it_is_preferred_or_the_requesters_own() -> None:
    peers = {
        "a-fr": {"languages": ("fr",)},
        "b-gb": {"languages": ("en",)},
        "c-fres": {"languages": ("fr", "es")},
    }
    cities = _twins(**peers)

    def language_reasons(result: list[Candidate], key: str) -> list[dict[str, Any]]:
        return reasons_of(by_key(result, key), ReasonCode.SHARED_LANGUAGE)

    preferring = rank(cities, languages=("fr", "es"))
    assert language_reasons(preferring, "a-fr") == [{"languages": ("fr",), "preferred": True}]
    assert language_reasons(preferring, "c-fres") == [
        {"languages": ("fr", "es"), "preferred": True}
    ]
    # English is the requesting city's own language, not one the request prefers.
    assert language_reasons(preferring, "b-gb") == [{"languages": ("en",), "preferred": False}]
    plain = rank(cities)
    assert language_reasons(plain, "b-gb") == [{"languages": ("en",), "preferred": False}]
    assert language_reasons(plain, "a-fr") == []


def test_without_preferred_languages_the_requesters_languages_count() -> None:
    cities = _twins(**{"a-de": {"languages": ("de",)}, "b-gb": {"languages": ("en",)}})
    assert keys(rank(cities)) == ["b-gb", "a-de"]


def test_preferred_region_raises_a_peer_but_does_not_filter() -> None:
    cities = _twins(**{"a-fr": {"region": "europe"}, "b-us": {"region": "north-america"}})
    result = rank(cities, regions=("north-america",))
    assert keys(result) == ["b-us", "a-fr"]
    assert reasons_of(result[0], ReasonCode.PREFERRED_REGION) == [{"region": "north-america"}]
    assert keys(rank(cities, regions=("europe",))) == ["a-fr", "b-us"]


def test_similar_size_raises_a_peer_where_size_matters() -> None:
    cities = [
        requester(population=100_000),
        city("big-de", practice("Parks", ("urban-design-cohesion",)), population=5_000_000),
        city("small-fr", practice("Parks", ("urban-design-cohesion",)), population=120_000),
    ]
    result = rank(cities, challenges=("urban-design-cohesion",))
    assert keys(result) == ["small-fr", "big-de"]
    assert result[0].signals["size"] > result[1].signals["size"]


def test_size_weighs_more_for_size_sensitive_challenges() -> None:
    def gap(challenge: str) -> float:
        practices = (practice("Parks and support", (challenge,)),)
        cities = [
            requester(population=100_000),
            city("big-de", *practices, population=5_000_000),
            city("small-fr", *practices, population=120_000),
        ]
        result = rank(cities, challenges=(challenge,))
        return by_key(result, "small-fr").score - by_key(result, "big-de").score

    assert gap("urban-design-cohesion") > gap("post-attack-recovery") > 0


def test_free_capacity_is_reported_and_counts() -> None:
    cities = _twins(**{"a-fr": {"capacity": 1}, "b-fr": {"capacity": 3}})
    result = rank(cities)
    assert keys(result) == ["b-fr", "a-fr"]
    assert reasons_of(result[0], ReasonCode.CAPACITY) == [{"count": 3}]
    assert reasons_of(result[1], ReasonCode.CAPACITY) == [{"count": 1}]


# ---------------------------------------------------------------- history signals


def test_good_history_raises_and_bad_history_lowers_a_peer() -> None:
    good = PeerHistory(accepted=6, feedback=(5, 5, 4))
    bad = PeerHistory(declined=1, expired=5, feedback=(1, 2))
    cities = _twins(
        **{
            "bad-fr": {"history": bad},
            "good-fr": {"history": good},
            "new-fr": {"history": PeerHistory()},
        }
    )
    result = rank(cities)
    assert keys(result) == ["good-fr", "new-fr", "bad-fr"]
    assert reputation(good) > reputation(PeerHistory()) > reputation(bad)


def test_history_reasons_give_acceptance_and_feedback_average() -> None:
    history = PeerHistory(accepted=3, declined=1, feedback=(5, 4))
    [candidate] = rank(_twins(**{"peer-fr": {"history": history}}))
    assert reasons_of(candidate, ReasonCode.RESPONSE_HISTORY) == [{"accepted": 3, "total": 4}]
    assert reasons_of(candidate, ReasonCode.FEEDBACK) == [{"average": 4.5, "count": 2}]


def test_no_history_means_no_history_reasons() -> None:
    [candidate] = rank(_twins(**{"peer-fr": {}}))
    assert not {"response_history", "feedback"} & set(reason_codes(candidate))


def test_expired_invitations_weigh_more_than_declined_ones() -> None:
    assert reputation(PeerHistory(declined=4)) > reputation(PeerHistory(expired=4))


def test_context_never_lets_a_poor_fit_overtake_a_strong_one() -> None:
    cities = [
        requester(languages=("fr",)),
        city(
            "related-fr",
            practice("Counselling", ("mental-health-trauma",)),
            languages=("fr",),
            capacity=5,
            history=PeerHistory(accepted=9, feedback=(5,) * 9),
        ),
        city(
            "direct-de", recovery(), languages=("de",), capacity=1, history=PeerHistory(expired=2)
        ),
    ]
    assert keys(rank(cities, languages=("fr",))) == ["direct-de", "related-fr"]


# ------------------------------------------------------------------- weights, API


def test_weights_are_tunable_at_build_time() -> None:
    cities = _twins(
        **{
            "a-de": {"languages": ("de",), "capacity": 3},
            "b-fr": {"languages": ("fr",), "capacity": 1},
        }
    )
    query = MatchQuery("home-gb", ("post-attack-recovery",), languages=("fr",))
    default = MatchIndex.build(cities, TAXONOMY).rank(query)
    no_language = MatchIndex.build(cities, TAXONOMY, replace(WEIGHTS, language=0.0)).rank(query)
    assert keys(default) == ["b-fr", "a-de"]
    assert keys(no_language) == ["a-de", "b-fr"]
    assert isinstance(WEIGHTS, Weights)


def test_reasons_are_codes_with_raw_facts_never_text() -> None:
    history = PeerHistory(accepted=1, feedback=(4,))
    cities = [
        requester(),
        city(
            "peer-fr",
            practice(
                "Bollards",
                ("soft-target-protection",),
                summary="Bollards stop vehicle ramming at markets.",
            ),
            practice("Counselling", ("mental-health-trauma",)),
            languages=("en", "fr"),
            region="europe",
            population=480_000,
            history=history,
        ),
    ]
    [candidate] = rank(
        cities,
        challenges=("post-attack-recovery", "soft-target-protection"),
        text="vehicle ramming at markets",
        regions=("europe",),
    )
    assert len(candidate.reasons) >= 6
    assert all(isinstance(r.code, ReasonCode) for r in candidate.reasons)
    facts = {r.code: dict(r.params) for r in candidate.reasons}
    # Numbers stay numbers, languages and regions stay codes: the reader's locale names them.
    assert facts[ReasonCode.SIMILAR_SIZE] == {"population": 480_000}
    assert facts[ReasonCode.SHARED_LANGUAGE] == {"languages": ("en",), "preferred": False}
    assert facts[ReasonCode.PREFERRED_REGION] == {"region": "europe"}
    assert facts[ReasonCode.FEEDBACK] == {"average": 4.0, "count": 1}
    assert facts[ReasonCode.PRACTICE_CHALLENGE]["challenges"] == (
        "Protecting public spaces and soft targets",
    )
    for reason in candidate.reasons:
        for value in reason.params.values():
            assert isinstance(value, str | int | float | tuple), reason


def test_city_key_is_folded_name_and_country() -> None:
    assert city_key("Medellín", "CO") == "medellin-co"
    assert city_key("Washington, D.C.", "US") == "washington-d-c-us"
    assert city_key("Los Angeles", "us") == "los-angeles-us"


def test_requesting_city_may_have_no_practices() -> None:
    result = rank([requester(), city("peer-fr", recovery())])
    assert keys(result) == ["peer-fr"]


# ------------------------------------------------------------------- shipped data


def _load_json(name: str) -> object:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_taxonomy_file_has_the_fifteen_challenges_in_order() -> None:
    taxonomy = _load_json("taxonomy.json")
    assert isinstance(taxonomy, list)
    slugs = [t["slug"] for t in taxonomy]
    assert slugs == [
        "post-attack-recovery",
        "conflict-recovery",
        "migration-integration",
        "hate-polarisation",
        "protest-management",
        "online-harms",
        "community-engagement",
        "multi-stakeholder-partnerships",
        "mental-health-trauma",
        "urban-design-cohesion",
        "soft-target-protection",
        "crisis-communication",
        "national-local-cooperation",
        "official-wellbeing-safety",
        "violent-extremism-prevention",
    ]
    for term in taxonomy:
        assert term["name"] and term["description"]
        assert term["related"] and set(term["related"]) <= set(slugs) - {term["slug"]}


def test_lexicon_only_names_taxonomy_challenges() -> None:
    taxonomy = _load_json("taxonomy.json")
    assert isinstance(taxonomy, list)
    slugs = {t["slug"] for t in taxonomy}
    concepts = default_concepts()
    assert {c.slug for c in concepts} == slugs | {NO_CHALLENGE}
    languages = {"en", "fr", "es", "de", "uk"}
    assert all(languages <= {lang for lang, _ in c.phrases} for c in concepts)


def test_need_concepts_search_across_languages_without_suggesting_a_challenge() -> None:
    """A Ukrainian request about mentoring young people and their families finds the
    English practice that says so, and reads no challenge from those everyday words."""
    taxonomy = [ChallengeTerm("violent-extremism-prevention", "Preventing violent extremism")]
    mentor = PracticeDoc(
        1, "Exit programme", "Mentors for young people and their families.", (), None
    )
    other = PracticeDoc(2, "Street festival", "A summer festival in the old town.", (), None)
    cities = [
        PeerCity("a-xx", "A", "XX", "europe", 100_000, ("en",), 1, (mentor,)),
        PeerCity("b-xx", "B", "XX", "europe", 100_000, ("en",), 1, (other,)),
        PeerCity("c-ua", "C", "UA", "europe", 100_000, ("uk",), 0, ()),
    ]
    index = MatchIndex.build(cities, taxonomy)
    query = MatchQuery("c-ua", (), "Наставники для молоді та їхніх родин")
    ranked = index.rank(query)
    assert [c.city_key for c in ranked] == ["a-xx"]
    assert ranked[0].signals["taxonomy"] == 0.0


def test_demo_catalogue_is_consistent() -> None:
    catalogue = _load_json("demo_catalogue.json")
    taxonomy = _load_json("taxonomy.json")
    assert isinstance(catalogue, dict) and isinstance(taxonomy, list)
    slugs = {t["slug"] for t in taxonomy}
    cities = catalogue["cities"]
    keys_ = [c["key"] for c in cities]
    assert len(cities) >= 25 and len(catalogue["practices"]) >= 35
    assert len(set(keys_)) == len(keys_)
    for c in cities:
        assert c["key"] == city_key(c["name"], c["country"])
        assert c["region"] in REGIONS
        assert all(re.fullmatch(r"[a-z]{2}", lang) for lang in c["languages"])
        assert c["population"] > 0 and c["mentoring_capacity"] >= 0
    assert any(c["mentoring_capacity"] == 0 for c in cities)
    for p in catalogue["practices"]:
        assert p["city"] in keys_
        assert p["challenges"] and set(p["challenges"]) <= slugs
        assert 2 <= len(re.findall(r"[.!?](\s|$)", p["summary"])) <= 5, p["title"]
