"""The time-zone list: current canonical IANA zones only, grouped by region, the person's
own zone first; validation accepts exactly those and the zone a person already has."""

from __future__ import annotations

import re
import zoneinfo

import httpx

from exchange.services import time_zones

from support import make_user, post_form, sign_in


def test_the_list_is_tzdatas_canonical_zones_without_links() -> None:
    zones = time_zones.canonical_zones()
    for link in ("US/Eastern", "Etc/GMT+5", "Europe/Kiev", "GB", "Asia/Calcutta", "EST5EDT"):
        assert link in zoneinfo.available_timezones(), link
        assert link not in zones, link
    for zone in ("Europe/Kyiv", "Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC"):
        assert zone in zones, zone
    # Derived from tzdata, not a hand list: hundreds of zones, all loadable.
    assert len(zones) > 300
    assert zones <= zoneinfo.available_timezones()


def test_zone_tab_is_read_by_its_third_column() -> None:
    text = "# comment\nFR\t+4852+00220\tEurope/Paris\nUA\t+5026+03031\tEurope/Kyiv\tmost\n\n"
    assert time_zones.parse_zone_tab(text) == {"Europe/Paris", "Europe/Kyiv"}


def test_groups_follow_the_regions_with_other_last() -> None:
    groups = time_zones.zone_groups()
    labels = [label for label, _options in groups]
    assert labels[:2] == ["Africa", "Americas"] and "Europe" in labels
    assert labels[-1] == "Other"
    europe = dict(groups)["Europe"]
    assert ("Europe/Paris", "Europe/Paris") in europe
    assert all(value.startswith("Europe/") for value, _text in europe)
    assert dict(groups)["Other"] == [("UTC", "UTC")]


def test_only_offered_zones_are_accepted_and_ones_own() -> None:
    assert time_zones.is_offered("Europe/Kyiv")
    assert not time_zones.is_offered("US/Eastern")
    assert time_zones.is_offered("US/Eastern", existing="US/Eastern")
    assert not time_zones.is_offered("Mars/Base", existing="US/Eastern")


async def test_settings_offer_grouped_zones_with_ones_own_first(client: httpx.AsyncClient) -> None:
    user = await make_user("o@example.org", timezone="Asia/Tokyo")
    await sign_in(client, "o@example.org")
    page = (await client.get("/settings")).text
    select = page[page.index('id="field-timezone"') :]
    select = select[: select.index("</select>")]
    groups = re.findall(r'<optgroup label="([^"]+)">', select)
    assert groups[0] == "Current time zone" and groups[1:3] == ["Africa", "Americas"]
    options = re.findall(r'<option value="([^"]+)"', select)
    assert options[0] == "Asia/Tokyo" and options.count("Asia/Tokyo") == 1
    assert '<option value="Asia/Tokyo" selected>' in select
    assert "US/Eastern" not in options and "Etc/GMT+5" not in options
    assert "Europe/Kyiv" in options and "Europe/Kiev" not in options
    user.locale = "fr"
    await user.save()
    french = (await client.get("/settings")).text
    assert 'label="Fuseau horaire actuel"' in french and 'label="Amériques"' in french


async def test_settings_refuse_links_but_keep_ones_own(client: httpx.AsyncClient) -> None:
    user = await make_user("o@example.org", timezone="US/Eastern")
    await sign_in(client, "o@example.org")
    page = (await client.get("/settings")).text
    assert '<option value="US/Eastern" selected>' in page
    form = {"name": "Olivia", "locale": "en"}
    kept = await post_form(client, "/settings", {**form, "timezone": "US/Eastern"})
    assert kept.status_code == 303
    refused = await post_form(client, "/settings", {**form, "timezone": "US/Pacific"})
    assert refused.status_code == 400
    assert "Choose a time zone from the list." in refused.text
    moved = await post_form(client, "/settings", {**form, "timezone": "America/New_York"})
    assert moved.status_code == 303
    await user.refresh_from_db()
    assert user.timezone == "America/New_York"
    # Once left, the old link is no longer on offer.
    again = await post_form(client, "/settings", {**form, "timezone": "US/Eastern"})
    assert again.status_code == 400
