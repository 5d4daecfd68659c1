"""The label functions that the matching pages' templates call, in one context."""

from __future__ import annotations

from exchange.services import match_requests, notices
from exchange.services.labels import (
    decline_reason_label,
    decline_reason_options,
    format_label,
    invitation_status_label,
    region_label,
    request_progress_label,
    request_status_label,
)


def matching_labels() -> dict[str, object]:
    return {
        "format_label": format_label,
        "request_status_label": request_status_label,
        "request_progress_label": request_progress_label,
        "invitation_status_label": invitation_status_label,
        "event_text": match_requests.event_text,
        "notice_text": notices.notice_text,
        "region_label": region_label,
        "decline_reason_label": decline_reason_label,
        "decline_reasons": decline_reason_options(),
    }
