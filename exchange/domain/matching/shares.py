"""The score taken apart: how much each part of the model contributed to a candidate.

The score is ``fit * (floor + (1 - floor) * context)`` with ``fit`` a weighted mean of
taxonomy and text and ``context`` a weighted mean of its signals, so it splits exactly
into a sum of contributions:

- taxonomy and text share ``fit * floor`` in proportion to their weighted values;
- each context signal gets ``fit * (1 - floor) * weight * value / total weight``.

Capacity and reputation are shown together as availability. The shares are the
contributions divided by the score: they add up to 1, and a part that did not count
(region without preferred regions, text without a description) has share 0.
"""

from __future__ import annotations

from collections.abc import Mapping

from exchange.domain.matching.model import Weights

#: The parts a score is explained by, in the order pages and the API show them.
SCORE_PARTS = ("taxonomy", "text", "language", "region", "size", "availability")

#: Context signals and the part each one is shown as.
_CONTEXT_PART = {
    "language": "language",
    "region": "region",
    "size": "size",
    "capacity": "availability",
    "reputation": "availability",
}


def score_shares(
    signals: Mapping[str, float],
    weights: Weights,
    context_weights: Mapping[str, float],
    has_text: bool,
) -> dict[str, float]:
    """Each part's share of the score (0..1, adding up to 1; all 0 for a zero score).

    `signals` are a candidate's signal values, `context_weights` the weight each active
    context signal had in this ranking (`ContextArrays.active_weights`).
    """
    contributions = dict.fromkeys(SCORE_PARTS, 0.0)
    fit = signals.get("fit", 0.0)
    fit_weights = {"taxonomy": weights.taxonomy, "text": weights.text if has_text else 0.0}
    fit_total = sum(fit_weights.values())
    for name, weight in fit_weights.items():
        contributions[name] += weights.floor * weight * signals.get(name, 0.0) / fit_total
    context_total = sum(context_weights.values())
    if context_total > 0:
        for name, weight in context_weights.items():
            share = weight * signals.get(name, 0.0) / context_total
            contributions[_CONTEXT_PART[name]] += fit * (1.0 - weights.floor) * share
    total = sum(contributions.values())
    if total <= 0:
        return dict.fromkeys(SCORE_PARTS, 0.0)
    return {name: round(value / total, 4) for name, value in contributions.items()}
