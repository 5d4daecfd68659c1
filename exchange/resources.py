"""Where the files the app reads at run time live, in a checkout and in an installed wheel.

Names are paths as they are inside the installed package: `templates`, `static`, `locale`,
`data/taxonomy.json`, `docs/catalogue-format.md`. A wheel carries all of them under
`exchange/` (the build copies the top-level `templates/`, `static/` and
`docs/catalogue-format.md` into the package and compiles the catalogues, see setup.py).
From a checkout (an editable install) whatever is not inside `exchange/` is read from the
top of the checkout.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent


def resource_path(name: str) -> Path:
    """The shipped file or folder `name`; raises FileNotFoundError if it is nowhere."""
    packaged = PACKAGE_DIR / name
    if packaged.exists():
        return packaged
    # Only a source checkout, never the site-packages folder an installed package sits in.
    in_checkout = CHECKOUT_DIR / name
    if (CHECKOUT_DIR / "pyproject.toml").is_file() and in_checkout.exists():
        return in_checkout
    raise FileNotFoundError(f"{name} should ship with exchange but is not in {PACKAGE_DIR}")
