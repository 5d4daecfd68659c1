"""What pyproject.toml cannot declare: how the checkout's layout becomes the wheel's.

The repository keeps `templates/`, `static/`, `migrations/` and `docs/` at the top; an
installed package must carry what it reads at run time inside itself:

- `migrations/` is the package `exchange.migrations` (plain Python, mapped below);
- `templates/`, `static/` and `docs/catalogue-format.md` are copied into `exchange/`;
- the message catalogues are compiled to .mo files (they are build output, not in git).

Editable installs skip the copies: `exchange/resources.py` reads them from the checkout,
and `make translations` compiles the catalogues in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# Top-level files and folders the app reads at run time (see exchange/resources.py).
SHIPPED = ("templates", "static", "docs/catalogue-format.md")
LOCALE = "exchange/locale"


class BuildPy(build_py):
    def run(self) -> None:
        super().run()  # modules and package data, the .po catalogues among them
        if self.editable_mode:
            return
        package = Path(self.build_lib, "exchange")
        for name in SHIPPED:
            copy_resource(ROOT / name, package / name)
        compile_catalogues(Path(self.build_lib, LOCALE))


def copy_resource(source: Path, target: Path) -> None:
    if not source.exists():
        raise SystemExit(f"error: {source.relative_to(ROOT)} is missing; it ships in the wheel")
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*", "*~", "__pycache__"))
    else:
        shutil.copy2(source, target)


def compile_catalogues(locale_dir: Path) -> None:
    """Compile every .po beside itself with Babel's own compiler (what `make translations` runs)."""
    from babel.messages.frontend import CommandLineInterface

    if not list(locale_dir.glob("*/LC_MESSAGES/messages.po")):
        raise SystemExit(f"error: no message catalogues in {LOCALE}")
    argv = ["pybabel", "-q", "compile", "-d", str(locale_dir), "-D", "messages"]
    if CommandLineInterface().run(argv):
        raise SystemExit("error: the message catalogues do not compile")


setup(
    # Namespace discovery (as pyproject's `find` does) counts exchange/data and
    # exchange/locale as packages, whose data files are declared in pyproject.toml.
    packages=[*find_namespace_packages(include=["exchange", "exchange.*"]), "exchange.migrations"],
    package_dir={"exchange.migrations": "migrations"},
    cmdclass={"build_py": BuildPy},
)
