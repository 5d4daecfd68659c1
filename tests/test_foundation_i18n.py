"""Every user-facing string is in the catalogues, and the French one is complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

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
    for locale in ("en", "fr"):
        missing = source - set(catalogue(locale))
        assert not missing, f"run `make messages`; {locale} lacks {sorted(missing)[:5]}"


def test_french_translates_everything_and_keeps_placeholders() -> None:
    import re

    placeholder = re.compile(r"%\([a-z_]+\)[sd]")
    for msgid, translated in catalogue("fr").items():
        forms = translated if isinstance(translated, tuple) else (translated,)
        assert all(forms), f"untranslated: {msgid!r}"
        for form in forms:
            assert set(placeholder.findall(str(form))) <= set(placeholder.findall(msgid)), msgid
