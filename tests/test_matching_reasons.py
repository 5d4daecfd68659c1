"""Reasons become sentences in the reader's locale, in one place above the domain."""

from __future__ import annotations

import re

import pytest

from exchange.domain.matching import (
    ChallengeTerm,
    MatchIndex,
    MatchQuery,
    PeerCity,
    PeerHistory,
    PracticeDoc,
    Reason,
    ReasonCode,
    ReasonValue,
)
from exchange.i18n import use_locale
from exchange.services.labels import decimal_label
from exchange.services.matching import reason_text, reason_texts

NNBSP = "\u202f"  # French groups digits with a narrow no-break space

# One reason of every code, with data (titles, challenge names) that reads as French.
EVERY_CODE = {
    ReasonCode.PRACTICE_CHALLENGE: {
        "title": "Bornes du marché de Noël",
        "year": 2017,
        "challenges": ("Protection des espaces publics", "Rétablissement après un attentat"),
    },
    ReasonCode.PRACTICE_TEXT_CHALLENGE: {
        "title": "Cellule d'écoute",
        "challenges": ("Santé mentale", "Rétablissement après un attentat", "Migration"),
    },
    ReasonCode.PRACTICE_RELATED: {
        "title": "Cellule d'écoute",
        "year": 2019,
        "challenge": "Santé mentale",
        "requested": "Rétablissement après un attentat",
    },
    ReasonCode.PRACTICE_TEXT: {"title": "Bornes", "words": ("bornes", "marché")},
    ReasonCode.PRACTICE_TEXT_THEME: {
        "title": "Bornes",
        "challenges": ("Rétablissement après un attentat", "Santé mentale"),
    },
    ReasonCode.SHARED_LANGUAGE: {"languages": ("en", "fr", "es"), "preferred": False},
    ReasonCode.PREFERRED_REGION: {"region": "north-america"},
    ReasonCode.SIMILAR_SIZE: {"population": 568_000},
    ReasonCode.CAPACITY: {"count": 2},
    ReasonCode.RESPONSE_HISTORY: {"accepted": 1250, "total": 1300},
    ReasonCode.FEEDBACK: {"average": 4.5, "count": 2},
}

ENGLISH_WORDS = {
    "and",
    "of",
    "in",
    "practice",
    "addresses",
    "describes",
    "work",
    "which",
    "related",
    "matches",
    "your",
    "deals",
    "with",
    "described",
    "request",
    "shares",
    "working",
    "language",
    "languages",
    "works",
    "preferred",
    "region",
    "similar",
    "size",
    "has",
    "capacity",
    "for",
    "more",
    "exchange",
    "exchanges",
    "accepted",
    "past",
    "requests",
    "rated",
    "out",
    "rating",
    "ratings",
    "score",
    "english",
    "french",
    "spanish",
    "north",
    "america",
}


def test_every_reason_code_is_written() -> None:
    assert set(EVERY_CODE) == set(ReasonCode)
    for code, params in EVERY_CODE.items():
        for locale in ("en", "fr"):
            with use_locale(locale):
                text = reason_text(Reason(code, params))
            assert text and "%(" not in text, (code, locale)


def test_reasons_in_english() -> None:
    texts = reason_texts([Reason(code, params) for code, params in EVERY_CODE.items()])
    assert texts == [
        "Practice 'Bornes du marché de Noël' (2017) addresses protection des espaces publics "
        "and rétablissement après un attentat",
        "Practice 'Cellule d'écoute' describes work on santé mentale, "
        "rétablissement après un attentat, and migration",
        "Practice 'Cellule d'écoute' (2019) addresses santé mentale, "
        "which is related to rétablissement après un attentat",
        "Practice 'Bornes' matches your description: bornes, marché",
        "Practice 'Bornes' deals with rétablissement après un attentat and santé mentale "
        "as described in your request",
        "Shares working languages: English, French, and Spanish",
        "In a preferred region: North America",
        "Similar in size (population 568,000)",
        "Has capacity for 2 more exchanges",
        "Accepted 1,250 of 1,300 past requests",
        "Past exchanges rated 4.5 out of 5 (2 ratings)",
    ]


def test_reasons_in_french_use_french_numbers_lists_and_names() -> None:
    with use_locale("fr"):
        texts = reason_texts([Reason(code, params) for code, params in EVERY_CODE.items()])
    assert f"Taille comparable (population : 568{NNBSP}000)" in texts
    assert f"Demandes passées acceptées : 1{NNBSP}250 sur 1{NNBSP}300" in texts
    assert "Note moyenne des échanges passés : 4,5 sur 5 (2 évaluations)" in texts
    assert "Partage des langues de travail : anglais, français et espagnol" in texts
    assert "Dans une région souhaitée : Amérique du Nord" in texts
    for text in texts:
        words = set(re.findall(r"[a-zà-ÿ]+", text.casefold()))
        assert not words & ENGLISH_WORDS, (text, words & ENGLISH_WORDS)
        assert not re.search(r"\d,\d{3}", text), text  # no English digit grouping


@pytest.mark.parametrize(
    ("code", "params", "english", "french"),
    [
        (
            ReasonCode.CAPACITY,
            {"count": 1},
            "Has capacity for 1 more exchange",
            "Peut accueillir encore 1 échange",
        ),
        (
            ReasonCode.RESPONSE_HISTORY,
            {"accepted": 0, "total": 1},
            "Accepted 0 of 1 past request",
            "Demande passée acceptée : 0 sur 1",
        ),
        (
            ReasonCode.FEEDBACK,
            {"average": 4.0, "count": 1},
            "Past exchanges rated 4.0 out of 5 (1 rating)",
            "Note moyenne des échanges passés : 4,0 sur 5 (1 évaluation)",
        ),
        (
            ReasonCode.SHARED_LANGUAGE,
            {"languages": ("fr",), "preferred": True},
            "Works in your preferred language: French",
            "Travaille dans votre langue souhaitée : français",
        ),
        (
            ReasonCode.PRACTICE_CHALLENGE,
            {"title": "Barriers", "challenges": ("Post-attack recovery",)},
            "Practice 'Barriers' addresses post-attack recovery",
            "La pratique « Barriers » porte sur post-attack recovery",
        ),
    ],
)
def test_counts_and_single_items(
    code: ReasonCode, params: dict[str, ReasonValue], english: str, french: str
) -> None:
    reason = Reason(code, params)
    assert reason_text(reason) == english
    with use_locale("fr"):
        assert reason_text(reason) == french


def test_acronyms_keep_their_capitals_inside_a_sentence() -> None:
    reason = Reason(
        ReasonCode.PRACTICE_TEXT_THEME, {"title": "Helpline", "challenges": ("PTSD care",)}
    )
    assert reason_text(reason) == (
        "Practice 'Helpline' deals with PTSD care as described in your request"
    )


def test_decimals_are_rounded_as_python_rounds_in_every_locale() -> None:
    assert decimal_label(4.35) == "4.3"
    assert decimal_label(87 / 20) == "4.3"
    with use_locale("fr"):
        assert decimal_label(4.25) == "4,2"
        assert decimal_label(1234.56) == f"1{NNBSP}234,6"


def test_a_ranking_reads_in_the_readers_locale() -> None:
    taxonomy = [ChallengeTerm("urban-design-cohesion", "Urban design for social cohesion")]

    def town(key: str, population: int, *practices: PracticeDoc) -> PeerCity:
        return PeerCity(
            key, key.title(), "FR", "europe", population, ("fr",), 1, practices, PeerHistory()
        )

    parks = PracticeDoc(1, "Parcs de quartier", "Des parcs.", ("urban-design-cohesion",), 2021)
    index = MatchIndex.build([town("home-fr", 540_000), town("peer-fr", 568_000, parks)], taxonomy)
    [candidate] = index.rank(MatchQuery("home-fr", ("urban-design-cohesion",)))
    english = reason_texts(candidate.reasons)
    with use_locale("fr"):
        french = reason_texts(candidate.reasons)
    assert "Similar in size (population 568,000)" in english
    assert "Shares a working language: French" in english
    assert f"Taille comparable (population : 568{NNBSP}000)" in french
    assert "Partage une langue de travail : français" in french
    assert "Peut accueillir encore 1 échange" in french


def test_reasons_name_languages_and_regions_in_the_readers_locale() -> None:
    shared = Reason(ReasonCode.SHARED_LANGUAGE, {"languages": ("en", "fr"), "preferred": False})
    region = Reason(ReasonCode.PREFERRED_REGION, {"region": "latin-america"})
    assert reason_text(shared) == "Shares working languages: English and French"
    assert reason_text(region) == "In a preferred region: Latin America"
    with use_locale("fr"):
        assert reason_text(shared) == "Partage des langues de travail : anglais et français"
        assert reason_text(region) == "Dans une région souhaitée : Amérique latine"


def test_text_reasons_quote_the_practice_sentence_that_matched() -> None:
    sentence = "Bollards protect the Christmas market."
    words = Reason(
        ReasonCode.PRACTICE_TEXT,
        {"title": "Bornes", "words": ("bollards",), "sentence": sentence},
    )
    theme = Reason(
        ReasonCode.PRACTICE_TEXT_THEME,
        {"title": "Bornes", "challenges": ("Soft targets",), "sentence": sentence},
    )
    assert reason_texts([words, theme]) == [
        "Practice 'Bornes' matches your description: bollards, in \u201c" + sentence + "\u201d",
        "Practice 'Bornes' deals with soft targets as described in your request, "
        "in \u201c" + sentence + "\u201d",
    ]
    with use_locale("fr"):
        assert sentence in reason_text(words) and "%(" not in reason_text(theme)
