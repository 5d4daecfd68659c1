"""`exchange match`: rank peers from the command line, one request or a JSON Lines batch.

Single mode prints a table (or JSON with --json); an unknown city or challenge is one
error line and exit status 1. Batch mode reads one JSON request per line, builds the
index once, and writes one JSON line per request to stdout, in input order. A bad line
(malformed JSON, unknown city or challenge, wrong field type) gets an
`{"id": ..., "line": N, "error": "..."}` line and a message on stderr; the rest go on.
The exit status is 1 when any line failed, 0 otherwise. Reasons are written in
English, the default locale.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from exchange.domain.matching import Candidate, MatchError, MatchIndex, MatchQuery
from exchange.services.candidates import score_parts
from exchange.services.reasons import reason_texts

DEFAULT_LIMIT = 5
BATCH_FIELDS = frozenset({"id", "city", "challenges", "text", "languages", "regions", "limit"})


class BadLine(ValueError):
    """A batch line that cannot be ranked; the message says why."""


def add_match_parser(commands: Any) -> argparse.ArgumentParser:
    match: argparse.ArgumentParser = commands.add_parser(
        "match", help="rank peer cities for a request (or a JSON Lines batch of them)"
    )
    match.add_argument("--city", help="key of the requesting city, such as lviv-ua")
    match.add_argument(
        "--challenge",
        action="append",
        default=[],
        metavar="SLUG",
        help="challenge slug (repeat for several)",
    )
    match.add_argument("--text", help="what the city faces, in any language")
    match.add_argument(
        "--language",
        action="append",
        default=[],
        metavar="xx",
        help="preferred working language, ISO 639-1 (repeatable)",
    )
    match.add_argument(
        "--region", action="append", default=[], metavar="R", help="preferred region (repeatable)"
    )
    match.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="how many peers (5)")
    match.add_argument("--json", action="store_true", help="print JSON instead of a table")
    match.add_argument(
        "--batch",
        metavar="FILE",
        help="JSON Lines file of requests ('-' for standard input); one JSON line out per line",
    )
    return match


def check_single_args(args: argparse.Namespace) -> MatchQuery:
    """The query of single mode; raise ValueError naming what is missing."""
    missing = [
        flag
        for flag, absent in (
            ("--city", not args.city),
            ("--challenge", not args.challenge),
            ("--text", args.text is None),
        )
        if absent
    ]
    if missing:
        raise ValueError(f"missing {', '.join(missing)} (or use --batch FILE)")
    return MatchQuery(
        city_key=args.city,
        challenges=tuple(args.challenge),
        text=args.text,
        languages=tuple(args.language),
        regions=tuple(args.region),
        limit=args.limit,
    )


def result_json(candidate: Candidate) -> dict[str, Any]:
    return {
        "city": candidate.city_key,
        "score": round(candidate.score, 4),
        # The same labelled shares as the candidates page and the API.
        "score_parts": [
            {"part": p.part, "label": p.label, "share": p.share} for p in score_parts(candidate)
        ],
        "reasons": reason_texts(candidate.reasons),
    }


def render_table(candidates: list[Candidate], names: dict[str, str]) -> str:
    """One line per peer (rank, key, name, score), its reasons indented below."""
    if not candidates:
        return "No candidate: no city with free capacity fits this request."
    key_width = max(len(c.city_key) for c in candidates)
    name_width = max(len(names.get(c.city_key, "")) for c in candidates)
    lines = [f"{'#':>2}  {'city':<{key_width}}  {'name':<{name_width}}  score"]
    for rank, candidate in enumerate(candidates, start=1):
        name = names.get(candidate.city_key, "")
        lines.append(
            f"{rank:>2}  {candidate.city_key:<{key_width}}  {name:<{name_width}}  "
            f"{candidate.score:.3f}"
        )
        lines.extend(f"      - {text}" for text in reason_texts(candidate.reasons))
    return "\n".join(lines)


def parse_line(raw: str) -> tuple[Any, MatchQuery]:
    """(id, query) from one JSON line; BadLine says what is wrong."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadLine(f"malformed JSON: {exc.msg}") from None
    except RecursionError:
        raise BadLine("malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise BadLine("a request must be a JSON object")
    request_id = data.get("id")
    unknown = sorted(set(data) - BATCH_FIELDS)
    if unknown:
        raise BadLine(f"unknown field: {', '.join(unknown)}")
    city = data.get("city")
    if not isinstance(city, str) or not city:
        raise BadLine("'city' must be a city key")
    text = data.get("text", "")
    if not isinstance(text, str):
        raise BadLine("'text' must be a string")
    limit = data.get("limit", DEFAULT_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise BadLine("'limit' must be a whole number")
    return request_id, MatchQuery(
        city_key=city,
        challenges=_strings(data, "challenges"),
        text=text,
        languages=_strings(data, "languages"),
        regions=_strings(data, "regions"),
        limit=limit,
    )


def _strings(data: dict[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadLine(f"'{name}' must be a list of strings")
    return tuple(value)


def _line_id(raw: str) -> Any:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        return None
    return data.get("id") if isinstance(data, dict) else None


def run_batch(index: MatchIndex, lines: Iterable[str], out: TextIO, err: TextIO) -> int:
    """Rank every line; return how many failed."""
    failed = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            request_id, query = parse_line(raw)
            candidates = index.rank(query)
        except (BadLine, MatchError) as exc:
            failed += 1
            message = f"line {number}: {exc}"
            print(f"exchange: {message}", file=err)
            record = {"id": _line_id(raw), "line": number, "error": message}
            print(json.dumps(record, ensure_ascii=False), file=out, flush=True)
            continue
        record = {"id": request_id, "results": [result_json(c) for c in candidates]}
        print(json.dumps(record, ensure_ascii=False), file=out, flush=True)
    return failed


def read_lines(path: str) -> Iterator[str]:
    if path == "-":
        yield from sys.stdin
        return
    with open(path, encoding="utf-8") as handle:
        yield from handle
