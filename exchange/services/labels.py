"""Names for the brokering workflow's stored codes, in the current locale.

Shared by the pages and by the mail the services write (built inside the recipient's
locale), so neither has to reach into the other's layer.
"""

from __future__ import annotations

from exchange.i18n import gettext as _
from exchange.models.matching import ExchangeFormat, InvitationStatus, RequestStatus


def format_label(value: str) -> str:
    labels = {
        ExchangeFormat.ONLINE.value: _("Online"),
        ExchangeFormat.IN_PERSON_VISIT.value: _("In-person visit"),
        ExchangeFormat.STUDY_VISIT.value: _("Study visit"),
    }
    return labels.get(value, value)


def request_status_label(value: str) -> str:
    labels = {
        RequestStatus.OPEN.value: _("Open"),
        RequestStatus.INVITING.value: _("Inviting"),
        RequestStatus.MATCHED.value: _("Matched"),
        RequestStatus.CLOSED.value: _("Closed"),
        RequestStatus.WITHDRAWN.value: _("Withdrawn"),
    }
    return labels.get(value, value)


def invitation_status_label(value: str) -> str:
    labels = {
        InvitationStatus.PENDING.value: _("Waiting for an answer"),
        InvitationStatus.ACCEPTED.value: _("Accepted"),
        InvitationStatus.DECLINED.value: _("Declined"),
        InvitationStatus.EXPIRED.value: _("Expired"),
        InvitationStatus.WITHDRAWN.value: _("Withdrawn"),
    }
    return labels.get(value, value)
