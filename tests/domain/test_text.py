"""Text analysis used by matching: tokens, stop words, stems, language guess, phrases."""

from __future__ import annotations

from exchange.domain.text import (
    PhraseMatcher,
    analyse,
    fold,
    guess_language,
    has_stemmer,
    stem_words,
    stop_words,
    tokenize,
)


def test_tokenize_lowercases_and_keeps_letters_only() -> None:
    assert tokenize("L'attentat du 14-Juillet, 2016 !") == ["attentat", "du", "juillet"]


def test_tokenize_keeps_accented_and_non_latin_letters() -> None:
    assert tokenize("Réfugiés, Львів") == ["réfugiés", "львів"]


def test_fold_strips_accents_and_case() -> None:
    assert fold("Réfugiés ÉCOLE Medellín") == "refugies ecole medellin"


def test_stop_words_come_from_the_language_list() -> None:
    assert {"les", "des", "une"} <= stop_words("fr")
    assert {"los", "una"} <= stop_words("es")
    assert "the" in stop_words("en")
    assert "the" not in stop_words("fr")


def test_stop_words_of_unknown_language_are_empty() -> None:
    assert stop_words("xx") == frozenset()


def test_domain_words_survive_generic_stop_lists() -> None:
    english = stop_words("en")
    assert "young" not in english
    assert "welcome" not in english
    assert "women" not in english


def test_stemming_merges_inflections_per_language() -> None:
    singular, plural = stem_words(["réfugié", "réfugiés"], "fr")
    assert singular == plural
    one, many = stem_words(["víctima", "víctimas"], "es")
    assert one == many
    anschlag, anschlaege = stem_words(["Anschlag", "Anschläge"], "de")
    assert anschlag != "" and anschlaege != ""


def test_stems_are_accent_free_so_spellings_meet() -> None:
    accented, plain = stem_words(["intégration", "integration"], "fr")
    assert accented == plain
    assert all(s.isascii() for s in stem_words(["déplacés", "sécurité"], "fr"))


def test_unknown_language_falls_back_to_english_stemmer() -> None:
    assert stem_words(["communities"], "xx") == stem_words(["communities"], "en")


def test_guess_language_from_stop_words() -> None:
    assert guess_language(tokenize("Nous cherchons une ville qui a vécu un attentat")) == "fr"
    assert guess_language(tokenize("Buscamos una ciudad que haya sufrido un atentado")) == "es"
    assert guess_language(tokenize("Wir suchen eine Stadt, die einen Anschlag erlebt hat")) == "de"
    assert guess_language(tokenize("We look for a city that lived through an attack")) == "en"


def test_guess_language_without_evidence_uses_hint_then_default() -> None:
    assert guess_language(["attentat"], hints=("fr",)) == "fr"
    assert guess_language(["attentat"]) == "en"
    assert guess_language([], default="de") == "de"


def test_guess_language_reports_norwegian_as_declared_code() -> None:
    assert guess_language(tokenize("Vi har ikke mange av dem, men det er noen")) == "no"


def test_analyse_drops_stop_words_and_keeps_words_aligned_with_stems() -> None:
    result = analyse("Les victimes des attentats", "fr")
    assert result.language == "fr"
    assert result.words == ("victimes", "attentats")
    assert len(result.stems) == len(result.words)
    assert result.stems == tuple(stem_words(["victimes", "attentats"], "fr"))


def test_analyse_guesses_language_when_not_given() -> None:
    assert analyse("Los vecinos del barrio y las asociaciones").language == "es"


def _matcher() -> PhraseMatcher:
    return PhraseMatcher(
        [
            (0, "en", "vehicle ramming"),
            (0, "fr", "voiture bélier"),
            (1, "en", "ramming"),
            (2, "fr", "attentat"),
            (3, "en", "welcome centre"),
        ]
    )


def _find(text: str, language: str | None = None) -> list[int]:
    analysis = analyse(text, language)
    return [hit.concept for hit in _matcher().find(analysis.stems, analysis.language)]


def test_phrase_matcher_prefers_the_longest_phrase() -> None:
    assert _find("Barriers against vehicle ramming", "en") == [0]
    assert _find("The ramming of crowds", "en") == [1]


def test_phrase_matcher_finds_phrases_across_inflection() -> None:
    assert _find("Des voitures béliers sur le marché", "fr") == [0]


def test_phrase_matcher_finds_foreign_phrase_in_misguessed_text() -> None:
    assert _find("attentat", "en") == [2]


def test_phrase_matcher_does_not_reduce_phrases_to_generic_words() -> None:
    assert _find("The community centre opens", "en") == []
    assert _find("A new welcome centre for refugees", "en") == [3]


def test_phrase_hits_point_at_their_words() -> None:
    analysis = analyse("Protect markets from vehicle ramming", "en")
    [hit] = _matcher().find(analysis.stems, analysis.language)
    assert analysis.words[hit.start : hit.end] == ("vehicle", "ramming")


def test_ukrainian_forms_of_one_word_meet() -> None:
    assert has_stemmer("uk")
    forms = ["біженці", "біженців", "біженцями"]
    assert len(set(stem_words(forms, "uk"))) == 1
    assert stem_words(["молодь"], "uk") == stem_words(["молоді"], "uk")
    # short words keep at least three letters
    assert stem_words(["місто"], "uk") == ["міст"]
