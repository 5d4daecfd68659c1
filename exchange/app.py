"""The application factory: `create_app(settings)` gives the ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from tortoise.exceptions import ValidationError

from exchange import db, metrics
from exchange.resources import resource_path
from exchange.services import housekeeping, matching, outbox
from exchange.services.errors import ServiceError
from exchange.services.peer_invitations import run_expiry
from exchange.services.rsvp import run_reminders
from exchange.settings import Settings, load_settings
from exchange.web import (
    account_deletion,
    accounts,
    admin,
    api,
    briefs,
    circle_content,
    circles,
    cities,
    dialogues,
    errors,
    exchanges,
    library,
    match_requests,
    monitoring,
    notices,
    pages,
    peer_invitations,
    tokens,
)
from exchange.web.auth import SessionMiddleware
from exchange.web.csrf import CSRFMiddleware
from exchange.web.guard import RequestGuardMiddleware
from exchange.web.headers import SecurityHeadersMiddleware
from exchange.web.limits import BodyLimitMiddleware
from exchange.web.notices import NoticeCountMiddleware
from exchange.web.routing import SegmentRouter
from exchange.web.traffic import TrafficMiddleware, make_limiters

STATIC_DIR = resource_path("static")


async def _unfit_value(request: Request, exc: Exception) -> Response:
    """A value the database field cannot hold reached a query: the input was bad.

    Services validate what they store; this is the net under lookups by a typed-in value.
    """
    errors.log.warning("Unfit value on %s %s: %s", request.method, errors.route_name(request), exc)
    return errors.error_response(request, 400)


def create_app(settings: Settings | None = None, *, manage_db: bool = True) -> Starlette:
    """Build the app. With `manage_db`, its lifespan connects and closes the database."""
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_db:
            # The web process's own statements (its background chores included) get
            # the request limit; longer reads ask for the background one.
            await db.init_db(
                settings.database_url,
                statement_limit_ms=settings.statement_timeout_ms,
                background_limit_ms=settings.background_statement_timeout_ms,
            )
        stop = asyncio.Event()
        sender = (
            asyncio.create_task(outbox.run_sender(settings, stop))
            if settings.run_mail_sender
            else None
        )
        # The same switch as the mail sender: tests and `exchange worker` setups turn both off.
        chores = (
            [
                asyncio.create_task(run_expiry(settings, stop)),
                asyncio.create_task(run_reminders(settings, stop)),
                asyncio.create_task(housekeeping.run_housekeeping(settings, stop)),
            ]
            if settings.run_mail_sender
            else []
        )
        # The same switch again: a serving process prepares its matching index (from a
        # snapshot when there is one) before the first ranking asks for it.
        warming = None
        if settings.run_mail_sender:
            matching.keep_snapshots(
                settings.var_dir / "match-index", build_from=settings.database_url
            )
            warming = asyncio.create_task(matching.warm_up())
        try:
            yield
        finally:
            if warming is not None:
                warming.cancel()
                # What this app set for the process: another app in it starts afresh.
                matching.keep_snapshots(None)
            stop.set()
            if sender is not None:
                await sender
            await asyncio.gather(*chores)
            if manage_db:
                await db.close_db()
            metrics.worker_stopped()

    routes = [
        *pages.routes,
        *accounts.routes,
        *admin.routes,
        *cities.routes,
        *library.routes,
        *match_requests.routes,
        *peer_invitations.routes,
        *exchanges.routes,
        *dialogues.routes,
        *briefs.routes,
        *circles.routes,
        *circle_content.routes,
        *account_deletion.routes,
        *notices.routes,
        *tokens.routes,
        *monitoring.routes,
        *api.routes,
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        middleware=[
            Middleware(SecurityHeadersMiddleware, production=settings.is_production),
            # Before anything reads a body (the traffic middleware listens for a client
            # going away, which reads it), so none is ever read past its limit.
            Middleware(BodyLimitMiddleware),
            # A request id, the statement limit, cancellation, metrics and the access log.
            Middleware(TrafficMiddleware, settings=settings),
            # Before anything builds a URL from the request: foreign Host headers are a 400.
            Middleware(RequestGuardMiddleware, settings=settings),
            # The session first, so even a refused form shows the person as signed in.
            Middleware(SessionMiddleware),
            Middleware(CSRFMiddleware, production=settings.is_production),
            Middleware(NoticeCountMiddleware),
        ],
        exception_handlers={
            HTTPException: errors.http_exception,
            ServiceError: errors.service_error,
            db.StatementTimeout: errors.statement_timeout,
            ValidationError: _unfit_value,
            500: errors.server_error,
        },
    )
    app.router = SegmentRouter(routes, lifespan=lifespan)
    app.state.settings = settings
    # Per worker: how many expensive requests of each kind may run at once.
    app.state.limiters = make_limiters(settings.expensive_concurrency)
    return app
