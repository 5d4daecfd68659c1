"""`exchange match` as scripts run it: a real process on the test database."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from exchange.models.matching import InvitationStatus, PeerInvitation
from exchange.services import (
    match_requests,
    peer_invitations,
)
from exchange.settings import Settings

from matching_data import load_catalogue

ROOT = Path(__file__).resolve().parent.parent


async def run_match(
    database_url: str, tmp_path: Path, *args: str, stdin: str = "", command: str = "match"
) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": database_url,
        "EXCHANGE_VAR_DIR": str(tmp_path / "var"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exchange",
        command,
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


SINGLE = (
    "--city",
    "lviv-ua",
    "--challenge",
    "post-attack-recovery",
    "--text",
    "Support for victims and bereaved families after an attack",
)


async def test_single_request_prints_a_table(clean_db: str, tmp_path: Path) -> None:
    await load_catalogue()
    status, out, err = await run_match(clean_db, tmp_path, *SINGLE, "--limit", "3")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["#", "city", "name", "score"]
    assert lines[1].split()[:3] == ["1", "manchester-gb", "Manchester"]
    assert (
        "- Practice 'Recovery after the Arena bombing' (2017) addresses post-attack recovery" in out
    )
    assert "berlin-de" not in out and "lviv-ua" not in out


async def test_single_request_as_json(clean_db: str, tmp_path: Path) -> None:
    await load_catalogue()
    status, out, err = await run_match(
        clean_db, tmp_path, *SINGLE, "--language", "fr", "--region", "europe", "--json"
    )
    assert status == 0, err
    results = json.loads(out)["results"]
    assert [r["city"] for r in results] == ["manchester-gb", "nice-fr"]
    assert all(set(r) == {"city", "score", "score_parts", "reasons"} for r in results)
    assert 0 < results[1]["score"] <= results[0]["score"] <= 1
    for result in results:
        parts = {p["part"]: p for p in result["score_parts"]}
        assert set(parts) >= {"taxonomy", "text", "language", "region", "size", "availability"}
        assert abs(sum(p["share"] for p in parts.values()) - 1) < 0.01
        assert parts["taxonomy"]["label"] == "Taxonomy fit"
    assert "Works in your preferred language: French" in results[1]["reasons"]


async def test_unknown_city_or_challenge_is_one_error_line(clean_db: str, tmp_path: Path) -> None:
    await load_catalogue()
    status, out, err = await run_match(
        clean_db,
        tmp_path,
        "--city",
        "atlantis-xx",
        "--challenge",
        "post-attack-recovery",
        "--text",
        "x",
    )
    assert status == 1 and out == ""
    assert err.strip() == "exchange: error: unknown city: atlantis-xx"
    status, _, err = await run_match(
        clean_db, tmp_path, "--city", "lviv-ua", "--challenge", "volcanoes", "--text", "x"
    )
    assert status == 1
    assert err.strip() == "exchange: error: unknown challenge: volcanoes"
    status, _, err = await run_match(clean_db, tmp_path, "--city", "lviv-ua")
    assert status == 1 and "missing --challenge, --text" in err


async def test_batch_reports_bad_lines_and_goes_on(clean_db: str, tmp_path: Path) -> None:
    await load_catalogue()
    lines = [
        {
            "id": "q1",
            "city": "lviv-ua",
            "challenges": ["post-attack-recovery"],
            "text": "Support for victims after an attack",
            "languages": ["uk"],
            "regions": [],
            "limit": 2,
        },
        "{not json",
        {"id": "q3", "city": "atlantis-xx", "challenges": ["post-attack-recovery"], "text": ""},
        "",
        {"id": "q5", "city": "toronto-ca", "challenges": ["volcanoes"], "text": "lava"},
        {
            "id": "q6",
            "city": "manchester-gb",
            "challenges": ["migration-integration"],
            "text": "Welcoming refugees",
        },
    ]
    batch = tmp_path / "requests.jsonl"
    batch.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    status, out, err = await run_match(clean_db, tmp_path, "--batch", str(batch))
    assert status == 1  # some lines failed
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["q1", None, "q3", "q5", "q6"]
    assert [c["city"] for c in records[0]["results"]] == ["manchester-gb", "nice-fr"]
    assert records[0]["results"][0]["reasons"]
    assert records[1]["error"].startswith("line 2: malformed JSON")
    assert records[2] == {"id": "q3", "line": 3, "error": "line 3: unknown city: atlantis-xx"}
    assert records[3]["error"] == "line 5: unknown challenge: volcanoes"
    assert records[4]["results"][0]["city"] == "toronto-ca"
    assert err.count("exchange: line ") == 3
    assert "line 3: unknown city: atlantis-xx" in err


async def test_batch_from_standard_input_succeeds(clean_db: str, tmp_path: Path) -> None:
    await load_catalogue()
    line = json.dumps({"id": "only", "city": "lviv-ua", "challenges": ["post-attack-recovery"]})
    status, out, err = await run_match(clean_db, tmp_path, "--batch", "-", stdin=line + "\n")
    assert status == 0, err
    assert json.loads(out)["id"] == "only"


async def test_worker_once_expires_overdue_invitations(
    clean_db: str, tmp_path: Path, settings: Settings
) -> None:
    catalogue = await load_catalogue()
    mr = await match_requests.check_file_request(
        catalogue.lviv,
        match_requests.RequestInput(
            city_key="lviv-ua", challenges=["post-attack-recovery"], description="After an attack"
        ),
    )
    invitation = await peer_invitations.check_invite_peer(
        settings, catalogue.lviv, mr.id, "nice-fr"
    )
    await PeerInvitation.filter(id=invitation.id).update(
        expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    status, out, err = await run_match(clean_db, tmp_path, "--once", command="worker")
    assert status == 0, err
    assert "Expired 1 peer invitation(s)." in out
    assert (await PeerInvitation.get(id=invitation.id)).status == InvitationStatus.EXPIRED
    # Without SMTP in development, mail lands in var/mail: the invitation and the expiry.
    assert len(list((tmp_path / "var" / "mail").glob("*.eml"))) == 2
