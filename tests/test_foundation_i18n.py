"""Every user-facing string is in the catalogues, and every translation is complete."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from exchange.i18n import SUPPORTED_LOCALES

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "exchange" / "locale"


def extracted_ids(tmp_path: Path) -> set[str]:
    """Run the same extraction as `make messages` on the current source."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "gettext",
            "-k",
            "ngettext:1,2",
            "-k",
            "gettext_noop",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as source:
        return {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in read_po(source)
            if message.id
        }


def catalogue(locale: str) -> dict[str, object]:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        po = read_po(source, locale=locale)
    return {
        (message.id if isinstance(message.id, str) else message.id[0]): message.string
        for message in po
        if message.id
    }


def test_catalogues_hold_every_string_in_the_source(tmp_path: Path) -> None:
    source = extracted_ids(tmp_path)
    assert len(source) > 300
    for locale in SUPPORTED_LOCALES:
        missing = source - set(catalogue(locale))
        assert not missing, f"run `make messages`; {locale} lacks {sorted(missing)[:5]}"


@pytest.mark.parametrize("locale", [code for code in SUPPORTED_LOCALES if code != "en"])
def test_each_translation_is_complete_and_keeps_placeholders(locale: str) -> None:
    placeholder = re.compile(r"%\([a-z_]+\)[sd]")
    for msgid, translated in catalogue(locale).items():
        forms = translated if isinstance(translated, tuple) else (translated,)
        assert all(forms), f"{locale} leaves {msgid!r} untranslated"
        for form in forms:
            assert set(placeholder.findall(str(form))) <= set(placeholder.findall(msgid)), msgid


def test_plural_entries_fill_every_form_their_catalogue_declares() -> None:
    for locale in [code for code in SUPPORTED_LOCALES if code != "en"]:
        with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
            po = read_po(source, locale=locale)
        for message in po:
            if message.id and message.pluralizable:
                assert len(message.string) == po.num_plurals, (locale, message.id)
                assert all(message.string), (locale, message.id)


@pytest.mark.parametrize(
    ("accept", "lang", "sign_in"),
    [
        ("es-ES,es;q=0.9", "es", "Iniciar sesión"),
        ("de-DE", "de", "Anmelden"),
        ("uk", "uk", "Увійти"),
    ],
)
async def test_pages_answer_in_each_language_the_browser_asks_for(
    client: httpx.AsyncClient, accept: str, lang: str, sign_in: str
) -> None:
    page = await client.get("/", headers={"Accept-Language": accept})
    assert page.status_code == 200
    assert f'<html lang="{lang}"' in page.text
    assert sign_in in page.text
