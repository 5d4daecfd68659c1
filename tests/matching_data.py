"""A small catalogue for the matching tests: challenges, cities, practices and officials."""

from __future__ import annotations

from dataclasses import dataclass

from exchange import db
from exchange.models.accounts import Role, User
from exchange.models.cities import (
    Challenge,
    City,
    CityLanguage,
    Practice,
    PracticeChallenge,
    PracticeStatus,
    Region,
)
from exchange.services import catalogue_version, matching

from support import make_user

# A request for help after an attack, as Lviv's official files it on the form.
REQUEST_FORM = {
    "city": "lviv-ua",
    "challenges": ["post-attack-recovery"],
    "description": "How do we support victims and bereaved families after an attack?",
    "languages": "en",
    "format": "online",
    "time_frame": "within three months",
    "peers_wanted": "1",
}

CHALLENGES = (
    ("post-attack-recovery", "Post-attack recovery", ["mental-health-trauma"]),
    ("mental-health-trauma", "Mental health and trauma support", ["post-attack-recovery"]),
    ("migration-integration", "Migration and integration of newcomers", []),
)

# key, name, country, region, population, languages, capacity
CITIES = (
    ("lviv-ua", "Lviv", "UA", Region.EUROPE, 717000, ["uk", "en"], 0),
    ("manchester-gb", "Manchester", "GB", Region.EUROPE, 568000, ["en"], 1),
    ("nice-fr", "Nice", "FR", Region.EUROPE, 342000, ["fr"], 2),
    ("berlin-de", "Berlin", "DE", Region.EUROPE, 3600000, ["de"], 0),
    ("toronto-ca", "Toronto", "CA", Region.NORTH_AMERICA, 2800000, ["en", "fr"], 1),
    ("oslo-no", "Oslo", "NO", Region.EUROPE, 700000, ["no", "en"], 2),
)

PRACTICES = (
    (
        "manchester-gb",
        "Recovery after the Arena bombing",
        2017,
        "Long-term support for victims and bereaved families after the attack, with a "
        "memorial and a trauma counselling service.",
        ["post-attack-recovery"],
    ),
    (
        "nice-fr",
        "Accompagner les victimes après l'attentat",
        2016,
        "Soutien psychologique et accompagnement des victimes et des familles après "
        "l'attentat du 14 juillet.",
        ["post-attack-recovery", "mental-health-trauma"],
    ),
    (
        "berlin-de",
        "Breitscheidplatz victims support",
        2016,
        "Support for the victims of the Christmas market attack.",
        ["post-attack-recovery"],
    ),
    (
        "toronto-ca",
        "Newcomer welcome centres",
        2015,
        "Settlement services for refugees and new arrivals.",
        ["migration-integration"],
    ),
)
# A draft practice: never counted by matching.
DRAFT = (
    "oslo-no",
    "Recovery after the July attacks",
    2011,
    "Support for survivors and bereaved families after the attacks.",
    ["post-attack-recovery"],
)


@dataclass
class Catalogue:
    cities: dict[str, City]
    lviv: User
    manchester: User
    nice: User
    toronto: User
    staff: User


async def repair_search_index() -> None:
    """Emptying every table also empties the SQLite FTS5 shadow tables, which leaves the
    search index unusable until it is rebuilt (a no-op when there is none)."""
    if db.dialect() != "sqlite":
        return
    rows = await db.connection().execute_query_dict(
        "SELECT name FROM sqlite_master WHERE name = 'practice_search'"
    )
    if rows:
        await db.connection().execute_script(
            "INSERT INTO practice_search(practice_search) VALUES('rebuild')"
        )


async def add_practice(
    city: City,
    title: str,
    since: int,
    summary: str,
    slugs: list[str],
    status: PracticeStatus = PracticeStatus.PUBLISHED,
) -> Practice:
    practice = await Practice.create(
        city=city, title=title, summary=summary, since=since, status=status
    )
    for slug in slugs:
        await PracticeChallenge.create(practice=practice, challenge=await Challenge.get(slug=slug))
    return practice


async def load_catalogue() -> Catalogue:
    """Create the catalogue, bump its version and forget any cached index."""
    await repair_search_index()
    for position, (slug, name, related) in enumerate(CHALLENGES):
        await Challenge.update_or_create(
            slug=slug, defaults={"name": name, "related": related, "position": position}
        )
    cities: dict[str, City] = {}
    for key, name, country, region, population, languages, capacity in CITIES:
        city = await City.create(
            key=key,
            name=name,
            country=country,
            region=region,
            population=population,
            mentoring_capacity=capacity,
        )
        for position, code in enumerate(languages):
            await CityLanguage.create(city=city, code=code, position=position)
        cities[key] = city
    for key, title, since, summary, slugs in PRACTICES:
        await add_practice(cities[key], title, since, summary, slugs)
    key, title, since, summary, slugs = DRAFT
    await add_practice(cities[key], title, since, summary, slugs, PracticeStatus.DRAFT)
    await catalogue_version.bump()
    matching.index_cache().clear()
    return Catalogue(
        cities=cities,
        lviv=await make_user("olena@lviv.example", city=cities["lviv-ua"], name="Olena"),
        manchester=await make_user(
            "mary@manchester.example", city=cities["manchester-gb"], name="Mary"
        ),
        nice=await make_user("nadia@nice.example", city=cities["nice-fr"], name="Nadia"),
        toronto=await make_user("tom@toronto.example", city=cities["toronto-ca"], name="Tom"),
        staff=await make_user("sam@network.example", Role.STAFF, name="Sam"),
    )
