"""Why a peer is proposed, in the reader's words: the one place reasons become text.

The ranking returns each reason as a code with raw facts (`domain.matching.Reason`):
numbers, language and region codes, practice titles, challenge names, matched words.
Here they become a sentence in the current locale, with its numbers grouped, its lists
joined and its languages and regions named the reader's way (`services/labels.py`). The
pages, the API, the mail and `exchange match` (English, the default locale) all read
reasons through `reason_text`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from exchange.domain.matching import Reason, ReasonCode, ReasonValue
from exchange.i18n import current_locale, ngettext
from exchange.i18n import gettext as _
from exchange.services.labels import (
    decimal_label,
    language_label,
    list_label,
    number_label,
    region_label,
)
from exchange.services.taxonomy import Taxonomy

Params = Mapping[str, ReasonValue]
# Languages whose nouns keep their capital letter inside a sentence.
KEEP_CAPITALS = ("de",)


def reason_text(reason: Reason, terms: Taxonomy | None = None) -> str:
    """One reason as a sentence in the current locale, naming challenges from `terms` (the
    taxonomy in the reader's language) when given, else as the reason carries them."""
    params = _localised(reason.params, terms) if terms is not None else reason.params
    return _WRITERS[reason.code](params)


def reason_texts(reasons: Sequence[Reason], terms: Taxonomy | None = None) -> list[str]:
    """Each reason as a sentence in the current locale, in order."""
    return [reason_text(reason, terms) for reason in reasons]


def _localised(params: Params, terms: Taxonomy) -> Params:
    """The challenge names of `params` in the current locale, by the slugs beside them (a
    slug no longer in the taxonomy keeps the name the reason was given)."""
    changed = dict(params)
    slugs, names = params.get("challenge_slugs"), params.get("challenges")
    if isinstance(slugs, tuple) and isinstance(names, tuple) and len(slugs) == len(names):
        changed["challenges"] = tuple(
            terms.name(slug) if slug in terms.terms else name
            for slug, name in zip(slugs, names, strict=True)
        )
    for key in ("challenge", "requested"):
        slug = params.get(f"{key}_slug")
        if isinstance(slug, str) and slug in terms.terms:
            changed[key] = terms.name(slug)
    return changed


def stored_reasons(reasons: Sequence[Reason]) -> list[dict[str, Any]]:
    """Reasons as JSON to keep (on a peer invitation): codes and facts, never sentences,
    so they are written in each reader's words when shown."""
    return [
        {
            "code": reason.code.value,
            "params": {
                name: list(value) if isinstance(value, tuple) else value
                for name, value in reason.params.items()
            },
        }
        for reason in reasons
    ]


def loaded_reasons(data: Any) -> tuple[Reason, ...]:
    """Reasons kept by `stored_reasons`; anything unreadable (a code since retired, a
    hand-edited row) is left out rather than shown wrong."""
    if not isinstance(data, list):
        return ()
    reasons: list[Reason] = []
    for item in data:
        try:
            code = ReasonCode(item["code"])
            params: dict[str, ReasonValue] = {
                str(name): tuple(str(v) for v in value) if isinstance(value, list) else value
                for name, value in dict(item["params"]).items()
            }
        except (KeyError, TypeError, ValueError):
            continue
        reasons.append(Reason(code, params))
    return tuple(reasons)


def stored_reason_texts(data: Any, terms: Taxonomy | None = None) -> list[str]:
    """Kept reasons as sentences in the current locale; a reason whose facts no longer
    fit its sentence is left out."""
    texts: list[str] = []
    for reason in loaded_reasons(data):
        try:
            texts.append(reason_text(reason, terms))
        except (KeyError, TypeError):
            continue
    return texts


# ------------------------------------------------------------------ parameters


def _text(params: Params, name: str) -> str:
    value = params[name]
    if not isinstance(value, str):
        raise TypeError(f"reason parameter {name!r} must be text, not {value!r}")
    return value


def _whole(params: Params, name: str) -> int:
    value = params[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"reason parameter {name!r} must be a whole number, not {value!r}")
    return value


def _number(params: Params, name: str) -> float:
    value = params[name]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"reason parameter {name!r} must be a number, not {value!r}")
    return float(value)


def _texts(params: Params, name: str) -> tuple[str, ...]:
    value = params[name]
    if not isinstance(value, tuple):
        raise TypeError(f"reason parameter {name!r} must be a tuple of text, not {value!r}")
    return value


def _in_sentence(name: str) -> str:
    """A taxonomy name inside a sentence: first letter lowered, acronyms left alone (and
    German nouns, which keep their capital)."""
    if (len(name) > 1 and name[1].isupper()) or current_locale() in KEEP_CAPITALS:
        return name
    return name[:1].lower() + name[1:]


def _challenges(params: Params, name: str = "challenges") -> str:
    return list_label([_in_sentence(n) for n in _texts(params, name)])


def _practice(params: Params) -> dict[str, str]:
    """Title and, when the catalogue knows it, the year the practice started."""
    values = {"title": _text(params, "title")}
    if "year" in params:
        values["year"] = str(_whole(params, "year"))  # a year is never grouped: 2017
    return values


# ------------------------------------------------------------------ one writer per code


def _practice_challenge(params: Params) -> str:
    values = _practice(params) | {"challenges": _challenges(params)}
    if "year" in values:
        return _("Practice '%(title)s' (%(year)s) addresses %(challenges)s") % values
    return _("Practice '%(title)s' addresses %(challenges)s") % values


def _practice_text_challenge(params: Params) -> str:
    values = _practice(params) | {"challenges": _challenges(params)}
    if "year" in values:
        return _("Practice '%(title)s' (%(year)s) describes work on %(challenges)s") % values
    return _("Practice '%(title)s' describes work on %(challenges)s") % values


def _practice_related(params: Params) -> str:
    values = _practice(params) | {
        "challenge": _in_sentence(_text(params, "challenge")),
        "requested": _in_sentence(_text(params, "requested")),
    }
    if "year" in values:
        return (
            _(
                "Practice '%(title)s' (%(year)s) addresses %(challenge)s, "
                "which is related to %(requested)s"
            )
            % values
        )
    return (
        _("Practice '%(title)s' addresses %(challenge)s, which is related to %(requested)s")
        % values
    )


def _practice_text(params: Params) -> str:
    # The request's own words, quoted as found: a list of terms, not a sentence.
    words = ", ".join(_texts(params, "words"))
    values = {"title": _text(params, "title"), "words": words}
    if params.get("sentence"):
        return _("Practice '%(title)s' matches your description: %(words)s, in “%(sentence)s”") % (
            values | {"sentence": _text(params, "sentence")}
        )
    return _("Practice '%(title)s' matches your description: %(words)s") % values


def _practice_text_theme(params: Params) -> str:
    values = {"title": _text(params, "title"), "challenges": _challenges(params)}
    if params.get("sentence"):
        return _(
            "Practice '%(title)s' deals with %(challenges)s as described in your request, "
            "in “%(sentence)s”"
        ) % (values | {"sentence": _text(params, "sentence")})
    return _("Practice '%(title)s' deals with %(challenges)s as described in your request") % values


def _shared_language(params: Params) -> str:
    names = [language_label(code) for code in _texts(params, "languages")]
    if params.get("preferred") is True:
        if len(names) == 1:
            return _("Works in your preferred language: %(language)s") % {"language": names[0]}
        return _("Works in your preferred languages: %(languages)s") % {
            "languages": list_label(names)
        }
    if len(names) == 1:
        return _("Shares a working language: %(language)s") % {"language": names[0]}
    return _("Shares working languages: %(languages)s") % {"languages": list_label(names)}


def _preferred_region(params: Params) -> str:
    return _("In a preferred region: %(region)s") % {
        "region": region_label(_text(params, "region"))
    }


def _similar_size(params: Params) -> str:
    return _("Similar in size (population %(population)s)") % {
        "population": number_label(_whole(params, "population"))
    }


def _capacity(params: Params) -> str:
    count = _whole(params, "count")
    return ngettext(
        "Has capacity for %(count)s more exchange",
        "Has capacity for %(count)s more exchanges",
        count,
    ) % {"count": number_label(count)}


def _response_history(params: Params) -> str:
    accepted, total = _whole(params, "accepted"), _whole(params, "total")
    return ngettext(
        "Accepted %(accepted)s of %(total)s past request",
        "Accepted %(accepted)s of %(total)s past requests",
        total,
    ) % {"accepted": number_label(accepted), "total": number_label(total)}


def _feedback(params: Params) -> str:
    count = _whole(params, "count")
    return ngettext(
        "Past exchanges rated %(average)s out of 5 (%(count)s rating)",
        "Past exchanges rated %(average)s out of 5 (%(count)s ratings)",
        count,
    ) % {"average": decimal_label(_number(params, "average")), "count": number_label(count)}


_WRITERS: dict[ReasonCode, Callable[[Params], str]] = {
    ReasonCode.PRACTICE_CHALLENGE: _practice_challenge,
    ReasonCode.PRACTICE_TEXT_CHALLENGE: _practice_text_challenge,
    ReasonCode.PRACTICE_RELATED: _practice_related,
    ReasonCode.PRACTICE_TEXT: _practice_text,
    ReasonCode.PRACTICE_TEXT_THEME: _practice_text_theme,
    ReasonCode.SHARED_LANGUAGE: _shared_language,
    ReasonCode.PREFERRED_REGION: _preferred_region,
    ReasonCode.SIMILAR_SIZE: _similar_size,
    ReasonCode.CAPACITY: _capacity,
    ReasonCode.RESPONSE_HISTORY: _response_history,
    ReasonCode.FEEDBACK: _feedback,
}
