from __future__ import annotations

from exchange.domain.attribution import names_found, unconfirmed
from exchange.domain.diff import Piece, changed, word_diff


def test_city_names_are_found_whatever_the_case_and_diacritics() -> None:
    text = "The team in MALMO and the council of kyiv spoke of the vigil."
    assert names_found(text, ["Malmö", "Kyiv", "Lviv"]) == ["MALMO", "kyiv"]


def test_a_name_of_several_words_is_found_whole() -> None:
    text = "Officials from new york and from York itself"
    assert names_found(text, ["New York"]) == ["new york"]


def test_people_are_found_by_their_longer_name_parts() -> None:
    text = "As Olena put it, and as Li agreed, recovery takes years."
    assert names_found(text, [], ["Olena Kovalenko", "Li Wei"]) == ["Olena"]
    assert names_found("Mrs KOVALENKO said", [], ["Olena Kovalenko"]) == ["KOVALENKO"]


def test_words_inside_other_words_are_not_names() -> None:
    assert names_found("Nicely done in Nicetown", ["Nice"]) == []


def test_confirmed_words_no_longer_count() -> None:
    found = names_found("Nice work by the NICE team and by Kyiv", ["Nice", "Kyiv"])
    assert found == ["Nice", "NICE", "Kyiv"]
    assert unconfirmed(found, ["nice"]) == ["Kyiv"]


def test_a_word_diff_shows_what_changed_inside_a_sentence() -> None:
    pieces = word_diff("Cities met in June to talk.", "Cities met in July to talk openly.")
    assert Piece("removed", "June ") in pieces
    assert Piece("added", "July ") in pieces
    assert "".join(p.text for p in pieces if p.op != "removed") == (
        "Cities met in July to talk openly."
    )
    assert "".join(p.text for p in pieces if p.op != "added") == "Cities met in June to talk."
    assert changed(pieces)
    assert not changed(word_diff("Same text.", "Same text."))
