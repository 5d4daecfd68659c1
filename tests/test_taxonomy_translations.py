"""The challenge taxonomy in French, Spanish, German and Ukrainian: shipped with the
taxonomy and by migration, edited by staff, carried by the catalogue, and read in the
reader's language everywhere a term is named (English when a translation is missing)."""

from __future__ import annotations

import importlib.util
import json
from types import SimpleNamespace

import httpx
import pytest

from exchange import db, i18n
from exchange.models.accounts import Role
from exchange.models.cities import Challenge, PracticeStatus
from exchange.resources import resource_path
from exchange.services import catalogue_version, taxonomy

from library_data import export_text, import_data, make_city, make_practice, problems_of
from library_data import taxonomy as load_taxonomy
from support import make_user, post_form, sign_in

SHIPPED = json.loads(resource_path("data/taxonomy.json").read_text(encoding="utf-8"))


@pytest.fixture
async def terms(clean_db: str) -> None:
    await load_taxonomy()


def test_every_shipped_term_has_every_translation() -> None:
    assert i18n.CONTENT_LOCALES == ("en", "fr", "es", "de", "uk")
    assert len(SHIPPED) == 15
    for term in SHIPPED:
        assert set(term["translations"]) == {"fr", "es", "de", "uk"}, term["slug"]
        for locale, texts in term["translations"].items():
            assert texts["name"].strip() and texts["description"].strip(), (term, locale)
            assert texts["name"] != term["name"], (term["slug"], locale)
            assert len(texts["name"]) <= taxonomy.MAX_NAME
    ukrainian = {t["slug"]: t["translations"]["uk"]["name"] for t in SHIPPED}
    assert ukrainian["crisis-communication"] == "Кризова комунікація"


async def test_the_migration_fills_terms_without_translations(terms: None) -> None:
    await Challenge.all().update(translations=None)
    path = resource_path("migrations") / "0012_taxonomy_translations_kept_reasons.py"
    spec = importlib.util.spec_from_file_location("migration_0012", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    edited = {"fr": {"name": "Nom choisi par l equipe"}}
    await Challenge.filter(slug="online-harms").update(translations=edited)
    await module.load_translations(None, SimpleNamespace(client=db.connection()))
    term = await Challenge.get(slug="post-attack-recovery")
    assert term.translations
    assert term.translations["de"]["name"] == "Bewältigung nach einem Anschlag"
    # A term that already has translations keeps them.
    assert (await Challenge.get(slug="online-harms")).translations == edited


async def test_pages_name_terms_in_the_readers_language_or_english(
    client: httpx.AsyncClient, terms: None
) -> None:
    reader = await make_user("reader@example.org", locale="fr")
    await sign_in(client, reader.email)
    listing = (await client.get("/challenges")).text
    assert "Rétablissement après un attentat" in listing
    assert "Post-attack recovery" not in listing
    page = (await client.get("/challenges/crisis-communication")).text
    assert "<title>Communication de crise" in page
    assert "Préparer, répéter et assurer la communication publique" in page
    directory = (await client.get("/cities")).text
    assert '<option value="hate-polarisation">Haine et polarisation</option>' in directory
    # No French for a term: its English shows.
    await Challenge.filter(slug="protest-management").update(translations={})
    await catalogue_version.bump()
    again = (await client.get("/challenges")).text
    assert "Protest management" in again and "Haine et polarisation" in again
    # An English reader reads English.
    client.cookies.clear()
    english = (await client.get("/challenges")).text
    assert "Post-attack recovery" in english and "Rétablissement" not in english


async def test_the_taxonomy_is_read_once_per_catalogue_version(terms: None) -> None:
    first = await taxonomy.current()
    assert await taxonomy.current() is first
    with i18n.use_locale("fr"):
        assert first.name("crisis-communication") == "Communication de crise"
    assert first.name("crisis-communication", "uk") == "Кризова комунікація"
    assert first.name("crisis-communication", "de") == "Krisenkommunikation"
    assert first.name("crisis-communication") == "Crisis communication"
    assert first.name("no-such-term", "fr") == "no-such-term"
    await catalogue_version.bump()
    assert await taxonomy.current() is not first


async def test_staff_edit_each_languages_name_and_description(
    client: httpx.AsyncClient, terms: None
) -> None:
    await make_user("staff@example.org", Role.STAFF)
    await sign_in(client, "staff@example.org")
    form_page = (await client.get("/challenges/crisis-communication/edit")).text
    for language in ("French", "Spanish", "German", "Ukrainian"):
        assert f"Name in {language}" in form_page and f"Description in {language}" in form_page
    assert '<fieldset class="field" lang="uk"' in form_page
    assert 'value="Кризова комунікація"' in form_page
    data = {
        "name": "Crisis communication",
        "description": "Talking to people in a crisis.",
        "name_fr": "Communiquer en crise",
        "description_fr": "Parler aux habitants pendant une crise.",
        "name_es": "",
        "description_es": "",
        "name_de": "Krisenkommunikation",
        "description_de": "",
        "name_uk": "x" * 121,
        "description_uk": "",
    }
    refused = await post_form(client, "/challenges/crisis-communication/edit", data)
    assert refused.status_code == 400
    assert 'id="error-name_uk"' in refused.text
    assert 'value="Communiquer en crise"' in refused.text  # what was typed stays
    saved = await post_form(
        client, "/challenges/crisis-communication/edit", {**data, "name_uk": "Кризи"}
    )
    assert saved.status_code == 303
    term = await Challenge.get(slug="crisis-communication")
    assert term.translations == {
        "fr": {
            "name": "Communiquer en crise",
            "description": "Parler aux habitants pendant une crise.",
        },
        "de": {"name": "Krisenkommunikation"},
        "uk": {"name": "Кризи"},
    }
    reader = await make_user("lecteur@example.org", locale="fr")
    client.cookies.clear()
    await sign_in(client, reader.email)
    assert "Communiquer en crise" in (await client.get("/challenges")).text


async def test_the_catalogue_carries_translations_both_ways(terms: None) -> None:
    exported = json.loads(await export_text())
    assert [entry["slug"] for entry in exported["challenges"]] == [t["slug"] for t in SHIPPED]
    first = exported["challenges"][0]
    assert list(first["translations"]) == ["fr", "es", "de", "uk"]
    report = await import_data(
        {
            "challenges": [
                {
                    "slug": "crisis-communication",
                    "translations": {"fr": {"name": "Communication en temps de crise"}},
                }
            ]
        }
    )
    assert (report.challenges_updated, report.challenges_unchanged) == (1, 0)
    assert "Challenge translations: 1 updated, 0 unchanged." in report.summary()
    term = await Challenge.get(slug="crisis-communication")
    assert term.translations == {"fr": {"name": "Communication en temps de crise"}}
    text = await export_text()
    again = await import_data(text)
    assert again.challenges_updated == 0 and await export_text() == text
    problems = await problems_of(
        {
            "challenges": [
                {"slug": "no-such-term"},
                {"slug": "online-harms", "translations": {"it": {"name": "Danni online"}}},
                {"slug": "online-harms", "translations": {"fr": {"title": "x"}}},
            ]
        }
    )
    assert "challenges[0].slug: unknown challenge 'no-such-term'" in problems
    assert any(p.startswith("challenges[1].translations.it: unknown language") for p in problems)
    assert "challenges[2].translations.fr.title: unknown field" in problems
    assert "challenges[2].slug: 'online-harms' appears twice in the file" in problems


async def test_pages_kept_per_catalogue_version_keep_each_language_apart(
    client: httpx.AsyncClient, terms: None
) -> None:
    """The front page and the directory's filters are kept until the catalogue changes;
    a French visitor first must not leave French term names for the next English one."""
    lyon = await make_city()
    await make_practice(lyon, challenges=("post-attack-recovery",), status=PracticeStatus.PUBLISHED)
    french = (await client.get("/", headers={"Accept-Language": "fr"})).text
    assert "Rétablissement après un attentat" in french
    french_directory = (await client.get("/cities", headers={"Accept-Language": "fr"})).text
    assert "Rétablissement après un attentat" in french_directory
    english = (await client.get("/", headers={"Accept-Language": "en"})).text
    assert "Post-attack recovery" in english and "Rétablissement" not in english
    english_directory = (await client.get("/cities", headers={"Accept-Language": "en"})).text
    assert "Post-attack recovery" in english_directory
    assert "Rétablissement" not in english_directory
