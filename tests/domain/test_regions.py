"""Regions are listed once, in the domain; the models store the same values."""

from __future__ import annotations

from exchange.domain.regions import REGIONS, Region, is_region


def test_region_codes_are_the_stored_values_in_form_order() -> None:
    assert REGIONS == (
        "europe",
        "north-america",
        "latin-america",
        "africa",
        "middle-east",
        "asia",
        "oceania",
    )
    assert all(type(code) is str for code in REGIONS)
    assert [region.value for region in Region] == list(REGIONS)


def test_the_models_use_the_domain_regions() -> None:
    from exchange.models.cities import Region as ModelRegion

    assert ModelRegion is Region


def test_is_region() -> None:
    assert is_region("latin-america")
    assert not is_region("atlantis")
    assert not is_region("Europe")
