"""The one vocabulary in which a use case says no.

Every service raises one of these; `web/errors.py` turns them into a page or a JSON
error with one function (`describe`), so pages and the API can never disagree about
what a refusal means.
"""

from __future__ import annotations

from exchange.i18n import gettext as _


class ServiceError(Exception):
    """A use case refused; nothing was changed. `status` is its HTTP meaning."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str = "", *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __str__(self) -> str:
        return self.message or self.default_message()

    def default_message(self) -> str:
        return _("The request could not be understood.")


class NotFound(ServiceError):
    """The object does not exist, or its existence is private to this user (404)."""

    status = 404
    code = "not_found"

    def default_message(self) -> str:
        return _("There is no such object.")


class PermissionDenied(ServiceError):
    """The user may see the object but not do this to it (403)."""

    status = 403
    code = "forbidden"

    def default_message(self) -> str:
        return _("You may not do this.")


class ValidationError(ServiceError):
    """Bad input: `fields` maps a field name to its message (422 in the API)."""

    status = 422
    code = "invalid"

    def __init__(self, fields: dict[str, str] | None = None, message: str = "") -> None:
        super().__init__(message)
        self.fields = dict(fields or {})
        if not self.message:
            self.message = _("Please correct the errors below.")

    def default_message(self) -> str:
        return _("Please correct the errors below.")


class Conflict(ServiceError):
    """The action no longer fits the state of things (409); `code` names the case."""

    status = 409
    code = "conflict"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class Unavailable(ServiceError):
    """The work cannot be done right now (503); `code` says why. Try again later.

    `busy`: the worker already runs as many requests of this kind as it allows.
    `timeout`: a database statement ran past its time limit and was stopped.
    """

    status = 503
    code = "unavailable"

    def __init__(self, code: str, retry_after: int = 5) -> None:
        super().__init__(code=code)
        self.retry_after = retry_after

    def default_message(self) -> str:
        if self.code == "busy":
            return _(
                "Many people are asking for this right now. Please try again in a few seconds."
            )
        if self.code == "timeout":
            return _(
                "This took too long, so we stopped it to keep the site fast for everyone. "
                "Please try again in a moment."
            )
        return _("The service is unavailable right now. Please try again shortly.")


def describe(exc: ServiceError) -> tuple[int, str, str, dict[str, str]]:
    """(status, code, message, fields) of a refusal, for pages and the API alike."""
    fields = exc.fields if isinstance(exc, ValidationError) else {}
    return exc.status, exc.code, str(exc), fields
