"""A plain name for the browser and system behind a User-Agent header.

Good enough for a person to recognise their own devices in a list of sessions; never
used to decide anything.
"""

from __future__ import annotations

import re

# Checked in order: several browsers also claim to be Chrome or Safari.
BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
)
SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
PRODUCT = re.compile(r"^([A-Za-z][\w.-]{0,40})/")


def describe(user_agent: str) -> tuple[str, str]:
    """(browser, system), each "" when not recognised; a script gets its product name."""
    browser = next((name for marker, name in BROWSERS if marker in user_agent), "")
    if not browser and not user_agent.startswith("Mozilla/"):
        match = PRODUCT.match(user_agent)
        browser = match.group(1) if match else ""
    system = next((name for marker, name in SYSTEMS if marker in user_agent), "")
    return browser, system
