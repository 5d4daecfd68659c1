"""The API of findings and briefs: record, put together, publish, read versions.

A non-attributed finding carries no city here either: responses come from the same
published versions readers see, and an unpublished or unreadable brief is a 404.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.briefs import Attribution, BriefStatus, BriefVersion, BriefVisibility
from exchange.services import briefs, findings
from exchange.services.briefs import BriefInput, BriefView, PublishRefused
from exchange.services.findings import FindingInput
from exchange.web.api.base import PREFIX, Endpoint, iso, read_body
from exchange.web.api.openapi import STRINGS, TIME, enum_of, ref
from exchange.web.forms import path_id


def version_json(version: BriefVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "title": version.title,
        "summary": version.summary,
        "findings": [
            {
                "title": f["title"],
                "body": f["body"],
                "challenges": list(f.get("challenges", [])),
                "cities": list(f.get("cities", [])),
            }
            for f in version.findings
        ],
        "recommendations": version.recommendations,
        "disclaimer": version.disclaimer,
        "challenges": list(version.challenges),
        "visibility": version.visibility.value,
        "published_at": iso(version.published_at),
    }


def brief_json(view: BriefView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": view.brief.id,
        "title": view.version.title if view.version else view.brief.title,
        "latest_version": view.brief.latest_version,
        "versions": view.numbers,
        "version": version_json(view.version) if view.version else None,
    }
    if view.can_edit or view.can_review:
        body["status"] = view.brief.status.value
        body["visibility"] = view.brief.visibility.value
    return body


async def record_finding(request: Request, user: User) -> Response:
    body = await read_body(request, ("title", "body", "challenges", "attribution", "cities"))
    data = FindingInput(
        title=body.string("title"),
        body=body.string("body"),
        challenges=body.strings("challenges"),
        attribution=body.string("attribution"),
        cities=body.strings("cities"),
    )
    body.check()
    saved = await findings.check_record_finding(user, path_id(request, "dialogue_id"), data)
    return JSONResponse(
        {
            "id": saved.finding.id,
            "title": saved.finding.title,
            "attribution": saved.finding.attribution.value,
            "names": saved.names,
        },
        status_code=201,
    )


async def create_brief(request: Request, user: User) -> Response:
    known = (
        "title",
        "summary",
        "recommendations",
        "disclaimer",
        "findings",
        "visibility",
        "challenges",
        "reviewers",
    )
    body = await read_body(request, known)
    ids = body.data.get("findings", [])
    # Ids as the `id` path convertor takes them: a larger number is no finding, not an error.
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 < i < 10**9 for i in ids
    ):
        body.fields["findings"] = _("Give a list of finding ids.")
        ids = []
    data = BriefInput(
        title=body.string("title"),
        summary=body.string("summary"),
        recommendations=body.string("recommendations"),
        disclaimer=body.string("disclaimer"),
        visibility=body.string("visibility", BriefVisibility.MEMBERS.value),
        findings=ids,
        challenges=body.strings("challenges"),
        reviewers=body.strings("reviewers"),
    )
    body.check()
    brief = await briefs.check_create_brief(user, data)
    view = await briefs.brief_detail(user, brief.id)
    return JSONResponse(
        brief_json(view), status_code=201, headers={"Location": f"{PREFIX}/briefs/{brief.id}"}
    )


async def publish_brief(request: Request, user: User) -> Response:
    body = await read_body(request, ("confirm",)) if await request.body() else None
    confirm = body.strings("confirm") if body else []
    if body:
        body.check()
    try:
        version = await briefs.check_publish(
            request.app.state.settings, user, path_id(request, "brief_id"), confirm
        )
    except PublishRefused as exc:
        # The error, and what to do about it: the words to confirm or rewrite, the
        # reviewers still to approve, the findings whose cities withdrew consent.
        blocking = exc.blocking
        return JSONResponse(
            {
                "error": {"code": exc.code, "message": exc.message, "fields": {}},
                "names": sorted({w for words in blocking.names.values() for w in words}),
                "waiting_for": blocking.waiting_for,
                "no_consent": blocking.no_consent,
            },
            status_code=409,
        )
    return JSONResponse({"id": version.brief_id, "version": version.number})


async def show_brief(request: Request, user: User) -> Response:
    view = await briefs.brief_detail(user, path_id(request, "brief_id"))
    return JSONResponse(brief_json(view))


async def list_versions(request: Request, user: User) -> Response:
    versions = await briefs.versions_of(user, path_id(request, "brief_id"))
    return JSONResponse(
        {"versions": [{"number": v.number, "published_at": iso(v.published_at)} for v in versions]}
    )


async def show_version(request: Request, user: User) -> Response:
    version = await briefs.version_of(
        user, path_id(request, "brief_id"), path_id(request, "number")
    )
    return JSONResponse(version_json(version))


ENDPOINTS = (
    Endpoint(
        "POST",
        "/dialogues/{dialogue_id}/findings",
        record_finding,
        "Record a finding of a dialogue (staff or its rapporteurs); names found are listed",
        ok=201,
        response="Finding",
        body="NewFinding",
    ),
    Endpoint(
        "POST",
        "/briefs",
        create_brief,
        "Put findings together into a draft brief (staff)",
        ok=201,
        response="Brief",
        body="NewBrief",
    ),
    Endpoint(
        "POST",
        "/briefs/{brief_id}/publish",
        publish_brief,
        "Publish the brief's next version; 409 lists names to confirm and approvals missing",
        response="Published",
        body="Publish",
    ),
    Endpoint(
        "GET", "/briefs/{brief_id}", show_brief, "A brief and its latest version", response="Brief"
    ),
    Endpoint(
        "GET",
        "/briefs/{brief_id}/versions",
        list_versions,
        "The published versions of a brief",
        response="VersionList",
    ),
    Endpoint(
        "GET",
        "/briefs/{brief_id}/versions/{number}",
        show_version,
        "One published version, as it was published",
        response="BriefVersion",
    ),
)

_FINDING_IN_VERSION = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "body": {"type": "string"},
        "challenges": STRINGS,
        "cities": {**STRINGS, "description": "only for attributed findings"},
    },
}
_VERSION = {
    "type": "object",
    "required": ["number", "title", "findings", "published_at"],
    "properties": {
        "number": {"type": "integer"},
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "findings": {"type": "array", "items": _FINDING_IN_VERSION},
        "recommendations": {"type": "string"},
        "disclaimer": {"type": "string"},
        "challenges": STRINGS,
        "visibility": enum_of(BriefVisibility),
        "published_at": TIME,
    },
}

SCHEMAS: dict[str, Any] = {
    "NewFinding": {
        "type": "object",
        "required": ["title"],
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string"},
            "body": {"type": "string"},
            "challenges": STRINGS,
            "attribution": enum_of(Attribution),
            "cities": {**STRINGS, "description": "city keys; attributed findings only"},
        },
    },
    "Finding": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "attribution": enum_of(Attribution),
            "names": {**STRINGS, "description": "names in the text still to confirm"},
        },
    },
    "NewBrief": {
        "type": "object",
        "required": ["title"],
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "recommendations": {"type": "string"},
            "disclaimer": {"type": "string"},
            "findings": {"type": "array", "items": {"type": "integer"}},
            "visibility": enum_of(BriefVisibility),
            "challenges": STRINGS,
            "reviewers": {**STRINGS, "description": "reviewers' email addresses"},
        },
    },
    "Brief": {
        "type": "object",
        "required": ["id", "title", "latest_version"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "latest_version": {"type": "integer"},
            "versions": {"type": "array", "items": {"type": "integer"}},
            "version": {"oneOf": [ref("BriefVersion"), {"type": "null"}]},
            "status": enum_of(BriefStatus),
            "visibility": enum_of(BriefVisibility),
        },
    },
    "BriefVersion": _VERSION,
    "VersionList": {
        "type": "object",
        "properties": {
            "versions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"number": {"type": "integer"}, "published_at": TIME},
                },
            }
        },
    },
    "Publish": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"confirm": {**STRINGS, "description": "found words to keep"}},
    },
    "Published": {
        "type": "object",
        "required": ["id", "version"],
        "properties": {"id": {"type": "integer"}, "version": {"type": "integer"}},
    },
}
