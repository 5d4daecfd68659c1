"""The built wheel works without the checkout.

Build the wheel from a copy of the source without build output (no compiled catalogues,
like a clean clone), install it with its dependencies into a fresh virtual environment,
and run `exchange` from a directory outside the checkout: migrate, load the demo, serve
pages, CSS and translations. Slow (about a minute with a warm pip cache): one module-scoped
installation serves every test here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from exchange.i18n import SUPPORTED_LOCALES

from support import free_port

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("EXCHANGE_TEST_DATABASE_URL", "").startswith("postgres"),
        reason="packaging does not depend on the database; the SQLite run covers it",
    ),
]

# Build output and local state a clean clone does not have.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "var",
    "build",
    "dist",
    "test-results",
    "*.egg-info",
    "*.mo",
    "__pycache__",
    "*.pyc",
    ".*_cache",
)


@dataclass
class Installed:
    venv: Path
    workdir: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args,
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def exchange(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.venv / "bin" / "exchange"), *args)


def checked(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


def clean_environment() -> dict[str, str]:
    """The caller's environment without anything that would point back at the checkout."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH")
    return {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith("EXCHANGE_")
    }


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("packaging")
    assert not base.is_relative_to(ROOT)
    env = clean_environment()

    def step(*args: str | Path, timeout: float) -> None:
        checked(
            subprocess.run(
                [str(arg) for arg in args],
                cwd=base,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        )

    source = base / "src"
    shutil.copytree(ROOT, source, ignore=NOT_IN_A_CLONE)
    step(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", base / "dist", source, timeout=300
    )
    (wheel,) = (base / "dist").glob("exchange-*.whl")

    venv = base / "venv"
    step(sys.executable, "-m", "venv", venv, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", str(wheel)],
        cwd=base,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    checked(install)
    assert "does not provide the extra" not in install.stdout + install.stderr

    workdir = base / "elsewhere"
    workdir.mkdir()
    env = {
        **env,
        "EXCHANGE_DATABASE_URL": f"sqlite://{base}/x.sqlite3",
        "EXCHANGE_VAR_DIR": str(base / "var"),
    }
    return Installed(venv=venv, workdir=workdir, env=env)


def test_resources_come_from_the_installed_package(installed: Installed) -> None:
    script = (
        "from exchange import app, i18n, templating\n"
        "from exchange.services import catalogue, cities\n"
        "import exchange.migrations\n"
        "for path in (templating.TEMPLATE_DIR, app.STATIC_DIR, i18n.LOCALE_DIR,\n"
        "             catalogue.FORMAT_GUIDE, cities.TAXONOMY_FILE,\n"
        "             *exchange.migrations.__path__):\n"
        "    print(path)\n"
    )
    printed = checked(installed.run(str(installed.venv / "bin" / "python"), "-c", script))
    paths = [Path(line) for line in printed.stdout.splitlines()]
    assert len(paths) == 6
    for path in paths:
        assert path.exists()
        assert path.resolve().is_relative_to(installed.venv.resolve()), path
    catalogues = sorted(p.parent.parent.name for p in paths[2].glob("*/LC_MESSAGES/messages.mo"))
    assert catalogues == sorted(SUPPORTED_LOCALES)


@pytest.fixture(scope="module")
def server(installed: Installed) -> Iterator[str]:
    migrated = checked(installed.exchange("migrate"))
    assert "0001_initial" in migrated.stdout
    demo = checked(installed.exchange("demo", "--no-serve"))
    assert "admin@example.org" in demo.stdout

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(installed.venv / "bin" / "exchange"), "serve", "--port", str(port)],
        cwd=installed.workdir,
        env=installed.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "the server stopped"
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not answer within 60 s"
            time.sleep(0.2)
        yield base_url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    output = process.stdout.read() if process.stdout else ""
    assert "Traceback" not in output, output


def test_pages_css_and_translations_are_served(server: str) -> None:
    home = httpx.get(f"{server}/", timeout=10)
    assert home.status_code == 200
    assert "Cities learning from cities" in home.text
    assert '<link rel="stylesheet" href="/static/css/main.css">' in home.text

    css = httpx.get(f"{server}/static/css/main.css", timeout=10)
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "var(--" in css.text  # the page styles, built on the design tokens

    french = httpx.get(f"{server}/", headers={"Accept-Language": "fr"}, timeout=10)
    assert french.status_code == 200
    assert '<html lang="fr">' in french.text
    assert "Des villes qui apprennent des villes" in french.text
