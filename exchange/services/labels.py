"""Names for stored codes (statuses, formats, regions, languages), in the current locale.

Shared by the pages and by the mail the services write (built inside the recipient's
locale), so neither has to reach into the other's layer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from babel.lists import format_list
from babel.numbers import format_decimal

from exchange import i18n
from exchange.domain.regions import Region, is_region
from exchange.i18n import gettext as _
from exchange.i18n import ngettext
from exchange.models.accounts import Role
from exchange.models.dialogues import DialogueFormat, DialogueStatus, Seat, Vote
from exchange.models.matching import (
    DeclineReason,
    ExchangeFormat,
    InvitationStatus,
    RequestStatus,
)


def role_label(role: Role | str) -> str:
    labels = {
        Role.OFFICIAL.value: _("City official"),
        Role.STAFF.value: _("Network staff"),
        Role.ADMIN.value: _("Administrator"),
    }
    value = role.value if isinstance(role, Role) else role
    return labels.get(value, value)


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


def request_progress_label(value: str, accepted: int, wanted: int) -> str:
    """The status, with how many of the wanted peers have accepted while it still looks.

    A request for two peers with one accepted and nothing pending is "open" again; said
    alone, that hides the peer it already has.
    """
    label = request_status_label(value)
    still_looking = value in (RequestStatus.OPEN.value, RequestStatus.INVITING.value)
    if not still_looking or accepted < 1:
        return label
    return ngettext(
        "%(status)s — %(accepted)d of %(num)d peer matched",
        "%(status)s — %(accepted)d of %(num)d peers matched",
        wanted,
    ) % {"status": label, "accepted": accepted, "num": wanted}


def rating_label(value: int) -> str:
    """A feedback rating's meaning: 5 is the best."""
    labels = {
        5: _("5 — very useful"),
        4: _("4 — useful"),
        3: _("3 — somewhat useful"),
        2: _("2 — of little use"),
        1: _("1 — not useful"),
    }
    return labels.get(value, str(value))


def invitation_status_label(value: str) -> str:
    labels = {
        InvitationStatus.PENDING.value: _("Waiting for an answer"),
        InvitationStatus.ACCEPTED.value: _("Accepted"),
        InvitationStatus.DECLINED.value: _("Declined"),
        InvitationStatus.EXPIRED.value: _("Expired"),
        InvitationStatus.WITHDRAWN.value: _("Withdrawn"),
    }
    return labels.get(value, value)


def decline_reason_label(value: str) -> str:
    labels = {
        DeclineReason.NO_CAPACITY.value: _("No capacity at the moment"),
        DeclineReason.NOT_OUR_EXPERIENCE.value: _("Not our experience"),
        DeclineReason.TIMING.value: _("The timing does not suit"),
        DeclineReason.OTHER.value: _("Other"),
    }
    value = str(getattr(value, "value", value))
    return labels.get(value, value)


def decline_reason_options() -> list[tuple[str, str]]:
    """(code, label) for every decline reason, in the order forms offer them."""
    return [(reason.value, decline_reason_label(reason.value)) for reason in DeclineReason]


def score_part_label(part: str) -> str:
    """The name of one part of a candidate's score (`domain.matching.SCORE_PARTS`)."""
    labels = {
        "taxonomy": _("Taxonomy fit"),
        "text": _("Text match"),
        "language": _("Language"),
        "region": _("Region"),
        "size": _("Size"),
        "availability": _("Availability"),
    }
    return labels.get(part, part)


def region_label(region: str) -> str:
    """A region code as the region's name in the reader's locale; unknown codes as given."""
    if not is_region(region):
        return region
    labels = {
        Region.EUROPE: _("Europe"),
        Region.NORTH_AMERICA: _("North America"),
        Region.LATIN_AMERICA: _("Latin America"),
        Region.AFRICA: _("Africa"),
        Region.MIDDLE_EAST: _("Middle East"),
        Region.ASIA: _("Asia"),
        Region.OCEANIA: _("Oceania"),
    }
    return labels[Region(region)]


def language_label(code: str) -> str:
    """An ISO 639-1 code as the language's name in the reader's locale ("fr" → "French")."""
    return str(i18n.babel_locale().languages.get(code, code))


def sort_key(name: str) -> str:
    """Order names as a reader expects: "États-Unis" among the E, not after Z."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def number_label(value: int) -> str:
    """A whole number grouped the reader's way: 568,000 in English, 568 000 in French."""
    return format_decimal(value, locale=i18n.babel_locale())


def decimal_label(value: float, places: int = 1) -> str:
    """A number with `places` decimals (at least one) the reader's way: 4.5, or 4,5 in French.

    Rounded as Python rounds (`round`), so 4.35 shows as 4.3 in every locale.
    """
    places = max(places, 1)
    return format_decimal(
        round(value, places), format="#,##0." + "0" * places, locale=i18n.babel_locale()
    )


def list_label(items: Sequence[str]) -> str:
    """Items joined the way the reader's language joins a list ("a, b and c")."""
    return format_list(list(items), locale=i18n.babel_locale()) if items else ""


def dialogue_format_label(value: str) -> str:
    labels = {
        DialogueFormat.ONLINE.value: _("Online"),
        DialogueFormat.IN_PERSON.value: _("In person"),
        DialogueFormat.HYBRID.value: _("Hybrid: in person and online"),
    }
    return labels.get(value, value)


def dialogue_status_label(value: str) -> str:
    labels = {
        DialogueStatus.DRAFT.value: _("Draft"),
        DialogueStatus.SCHEDULED.value: _("Scheduled"),
        DialogueStatus.HELD.value: _("Held"),
        DialogueStatus.CANCELLED.value: _("Cancelled"),
    }
    return labels.get(value, value)


def seat_label(value: str) -> str:
    labels = {
        Seat.INVITED.value: _("No answer yet"),
        Seat.CONFIRMED.value: _("Coming"),
        Seat.WAITING.value: _("On the waiting list"),
        Seat.DECLINED.value: _("Not coming"),
        Seat.MAYBE.value: _("Maybe"),
        Seat.REMOVED.value: _("Taken off the list"),
    }
    return labels.get(value, value)


def vote_label(value: str) -> str:
    labels = {
        Vote.YES.value: _("Yes"),
        Vote.IF_NEED_BE.value: _("If need be"),
        Vote.NO.value: _("No"),
    }
    return labels.get(value, value)
