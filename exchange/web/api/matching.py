"""The API of peer matching: match requests, candidates, invitations, answers.

Permissions are the services' own, so the API can do exactly what the pages can.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.matching import (
    DeclineReason,
    ExchangeFormat,
    ExchangeStatus,
    InvitationStatus,
    MatchRequest,
    PeerExchange,
    PeerInvitation,
    RequestEvent,
    RequestStatus,
)
from exchange.services import candidates, match_requests, peer_invitations, visibility
from exchange.services.candidates import CandidateView
from exchange.services.match_requests import MAX_PEERS_WANTED, RequestInput
from exchange.services.pagination import page_number
from exchange.web.api.base import PREFIX, Endpoint, iso, page_json, read_body
from exchange.web.api.openapi import STRINGS, TIME, enum_of, page_of, ref
from exchange.web.forms import path_id
from exchange.web.traffic import expensive


def request_json(mr: MatchRequest, city_key: str) -> dict[str, Any]:
    return {
        "id": mr.id,
        "city": city_key,
        "status": mr.status.value,
        "challenges": list(mr.challenges),
        "description": mr.description,
        "languages": list(mr.languages),
        "regions": list(mr.regions),
        "format": mr.format.value,
        "time_frame": mr.time_frame,
        "peers_wanted": mr.peers_wanted,
        "auto_fallback": mr.auto_fallback,
        "created_at": iso(mr.created_at),
        "closed_at": iso(mr.closed_at),
    }


def invitation_json(invitation: PeerInvitation, city_key: str) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "request": invitation.request_id,
        "city": city_key,
        "status": invitation.status.value,
        "reason": invitation.reason,
        "decline_reason": invitation.decline_reason.value if invitation.decline_reason else None,
        "score": invitation.score,
        "rank": invitation.rank,
        "override_reason": invitation.override_reason,
        "automatic": invitation.automatic,
        "created_at": iso(invitation.created_at),
        "answered_at": iso(invitation.answered_at),
        "expires_at": iso(invitation.expires_at),
    }


def exchange_json(exchange: PeerExchange, mentor_key: str) -> dict[str, Any]:
    return {
        "id": exchange.id,
        "mentor": mentor_key,
        "status": exchange.status.value,
        "created_at": iso(exchange.created_at),
        "concluded_at": iso(exchange.concluded_at),
    }


def event_json(event: RequestEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "text": match_requests.event_text(event),
        "created_at": iso(event.created_at),
    }


def candidate_json(candidate: CandidateView) -> dict[str, Any]:
    return {
        "city": candidate.city.key,
        "name": candidate.city.name,
        "score": candidate.score,
        "score_parts": [
            {"part": p.part, "label": p.label, "share": p.share} for p in candidate.parts
        ],
        "reasons": candidate.reasons,
        "free_capacity": candidate.free_capacity,
    }


async def list_requests(request: Request, user: User) -> Response:
    page = await match_requests.list_requests(
        user, page_number(request.query_params.get("page")), request.query_params.get("status", "")
    )
    return JSONResponse(page_json(page, [request_json(r, r.city.key) for r in page.items]))


NEW_REQUEST_FIELDS = (
    "city",
    "challenges",
    "description",
    "languages",
    "regions",
    "format",
    "time_frame",
    "peers_wanted",
    "auto_fallback",
)
NEW_INVITATION_FIELDS = ("city", "override_reason")
ANSWER_FIELDS = ("answer", "reason", "decline_reason")


async def create_request(request: Request, user: User) -> Response:
    body = await read_body(request, NEW_REQUEST_FIELDS)
    data = RequestInput(
        city_key=body.string("city"),
        challenges=body.strings("challenges"),
        description=body.string("description"),
        languages=body.strings("languages"),
        regions=body.strings("regions"),
        format=body.string("format", "online"),
        time_frame=body.string("time_frame"),
        peers_wanted=body.integer("peers_wanted", 1),
        auto_fallback=body.boolean("auto_fallback"),
    )
    body.check()
    created = await match_requests.check_file_request(user, data)
    mr = await visibility.access_request(user, created.id)
    return JSONResponse(
        request_json(mr, mr.city.key),
        status_code=201,
        headers={"Location": f"{PREFIX}/requests/{mr.id}"},
    )


async def show_request(request: Request, user: User) -> Response:
    detail = await match_requests.request_detail(user, path_id(request, "request_id"))
    body = request_json(detail.request, detail.request.city.key)
    body["invitations"] = [invitation_json(i, i.city.key) for i in detail.invitations]
    body["exchanges"] = [exchange_json(e, e.mentor.key) for e in detail.exchanges]
    body["timeline"] = [event_json(e) for e in detail.events]
    body["invitations_left"] = detail.invitations_left
    return JSONResponse(body)


@expensive("matching")
async def request_candidates(request: Request, user: User) -> Response:
    ranked = await candidates.request_candidates(user, path_id(request, "request_id"))
    return JSONResponse({"candidates": [candidate_json(c) for c in ranked]})


async def invite(request: Request, user: User) -> Response:
    body = await read_body(request, NEW_INVITATION_FIELDS)
    city = body.string("city")
    override = body.string("override_reason")
    body.check()
    invitation = await peer_invitations.check_invite_peer(
        request.app.state.settings, user, path_id(request, "request_id"), city, override
    )
    await invitation.fetch_related("city")
    return JSONResponse(invitation_json(invitation, invitation.city.key), status_code=201)


async def list_invitations(request: Request, user: User) -> Response:
    page = await peer_invitations.list_invitations(
        user, page_number(request.query_params.get("page"))
    )
    return JSONResponse(page_json(page, [invitation_json(i, i.city.key) for i in page.items]))


async def show_invitation(request: Request, user: User) -> Response:
    invitation = await visibility.access_invitation(user, path_id(request, "invitation_id"))
    body = invitation_json(invitation, invitation.city.key)
    body["match_request"] = request_json(invitation.request, invitation.request.city.key)
    return JSONResponse(body)


async def answer(request: Request, user: User) -> Response:
    body = await read_body(request, ANSWER_FIELDS)
    choice = body.string("answer")
    reason = body.string("reason")
    decline_reason = body.string("decline_reason")
    if "answer" not in body.fields and choice not in ("accept", "decline"):
        body.fields["answer"] = _("Answer accept or decline.")
    body.check()
    invitation_id = path_id(request, "invitation_id")
    await peer_invitations.check_answer(
        request.app.state.settings, user, invitation_id, choice == "accept", reason, decline_reason
    )
    invitation = await visibility.access_invitation(user, invitation_id)
    return JSONResponse(invitation_json(invitation, invitation.city.key))


ENDPOINTS = (
    Endpoint(
        "GET",
        "/requests",
        list_requests,
        "List match requests (your city's; staff: all)",
        response="RequestPage",
        query=("page", "status"),
    ),
    Endpoint(
        "POST",
        "/requests",
        create_request,
        "File a match request",
        ok=201,
        response="MatchRequest",
        body="NewMatchRequest",
    ),
    Endpoint(
        "GET",
        "/requests/{request_id}",
        show_request,
        "A match request with its invitations, exchanges and timeline",
        response="MatchRequestDetail",
    ),
    Endpoint(
        "GET",
        "/requests/{request_id}/candidates",
        request_candidates,
        "Ranked peer candidates with reasons (cities already invited left out)",
        response="CandidateList",
    ),
    Endpoint(
        "POST",
        "/requests/{request_id}/invitations",
        invite,
        "Invite a peer city",
        ok=201,
        response="Invitation",
        body="NewInvitation",
    ),
    Endpoint(
        "GET",
        "/invitations",
        list_invitations,
        "Invitations addressed to your city (staff: all)",
        response="InvitationPage",
        query=("page",),
    ),
    Endpoint(
        "GET",
        "/invitations/{invitation_id}",
        show_invitation,
        "An invitation with the request it is about",
        response="InvitationDetail",
    ),
    Endpoint(
        "POST",
        "/invitations/{invitation_id}/answer",
        answer,
        "Accept or decline an invitation (officials of the invited city, or staff)",
        response="Invitation",
        body="Answer",
    ),
)


_REQUEST_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "city": {"type": "string"},
    "status": enum_of(RequestStatus),
    "challenges": STRINGS,
    "description": {"type": "string"},
    "languages": STRINGS,
    "regions": STRINGS,
    "format": enum_of(ExchangeFormat),
    "time_frame": {"type": "string"},
    "peers_wanted": {"type": "integer"},
    "auto_fallback": {"type": "boolean"},
    "created_at": TIME,
    "closed_at": TIME,
}


_INVITATION_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "request": {"type": "integer"},
    "city": {"type": "string"},
    "status": enum_of(InvitationStatus),
    "reason": {"type": "string"},
    "decline_reason": {"oneOf": [enum_of(DeclineReason), {"type": "null"}]},
    "score": {"type": ["number", "null"]},
    "rank": {
        "type": ["integer", "null"],
        "description": "place among the ranked candidates when invited; null outside them",
    },
    "override_reason": {"type": "string", "description": "why staff invited past the ranking"},
    "automatic": {"type": "boolean", "description": "sent by the automatic fallback"},
    "created_at": TIME,
    "answered_at": TIME,
    "expires_at": TIME,
}


SCHEMAS: dict[str, Any] = {
    "NewMatchRequest": {
        "type": "object",
        "required": ["city", "challenges", "description"],
        "additionalProperties": False,
        "properties": {
            "city": {"type": "string", "description": "city key, e.g. lviv-ua"},
            "challenges": STRINGS,
            "description": {"type": "string"},
            "languages": STRINGS,
            "regions": STRINGS,
            "format": enum_of(ExchangeFormat),
            "time_frame": {"type": "string"},
            "peers_wanted": {"type": "integer", "minimum": 1, "maximum": MAX_PEERS_WANTED},
            "auto_fallback": {"type": "boolean"},
        },
    },
    "MatchRequest": {"type": "object", "properties": _REQUEST_PROPERTIES},
    "MatchRequestDetail": {
        "type": "object",
        "properties": {
            **_REQUEST_PROPERTIES,
            "invitations": {"type": "array", "items": ref("Invitation")},
            "exchanges": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "mentor": {"type": "string"},
                        "status": enum_of(ExchangeStatus),
                        "created_at": TIME,
                        "concluded_at": TIME,
                    },
                },
            },
            "timeline": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string"},
                        "text": {"type": "string"},
                        "created_at": TIME,
                    },
                },
            },
            "invitations_left": {"type": "integer"},
        },
    },
    "RequestPage": page_of("MatchRequest"),
    "Candidate": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "name": {"type": "string"},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "score_parts": {
                "type": "array",
                "description": "The score split into labelled parts; shares add up to 1",
                "items": ref("ScorePart"),
            },
            "reasons": STRINGS,
            "free_capacity": {"type": "integer"},
        },
    },
    "ScorePart": {
        "type": "object",
        "properties": {
            "part": {
                "type": "string",
                "enum": ["taxonomy", "text", "language", "region", "size", "availability"],
            },
            "label": {"type": "string", "description": "The part's name in the reader's language"},
            "share": {"type": "number", "minimum": 0, "maximum": 1},
        },
    },
    "CandidateList": {
        "type": "object",
        "properties": {"candidates": {"type": "array", "items": ref("Candidate")}},
    },
    "NewInvitation": {
        "type": "object",
        "required": ["city"],
        "additionalProperties": False,
        "properties": {
            "city": {"type": "string"},
            "override_reason": {
                "type": "string",
                "description": "required from staff when the city is not the first-ranked",
            },
        },
    },
    "Invitation": {"type": "object", "properties": _INVITATION_PROPERTIES},
    "InvitationDetail": {
        "type": "object",
        "properties": {**_INVITATION_PROPERTIES, "match_request": ref("MatchRequest")},
    },
    "InvitationPage": page_of("Invitation"),
    "Answer": {
        "type": "object",
        "required": ["answer"],
        "additionalProperties": False,
        "properties": {
            "answer": {"enum": ["accept", "decline"]},
            "reason": {"type": "string"},
            "decline_reason": enum_of(DeclineReason),
        },
    },
}
