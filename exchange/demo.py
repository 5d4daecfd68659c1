"""Demo data for development: the demo catalogue and one user per role."""

from __future__ import annotations

from exchange.models.accounts import Role, User
from exchange.models.cities import City, CityLanguage, Region
from exchange.services.secrets import hash_password
from exchange.settings import Settings

# Development only: `exchange demo` refuses to run in production.
DEMO_PASSWORD = "exchange-demo-password"  # noqa: S105
DEMO_USERS = (
    ("admin@example.org", "Ada Admin", Role.ADMIN),
    ("staff@example.org", "Sam Staff", Role.STAFF),
    ("official@example.org", "Olivia Official", Role.OFFICIAL),
)
DEMO_OFFICIAL_CITY = "manchester-gb"


async def load_demo(settings: Settings) -> list[str]:
    """Load the demo data (idempotent) and return the lines to print."""
    city = await City.get_or_none(key=DEMO_OFFICIAL_CITY)
    if city is None:
        city = await City.create(
            key=DEMO_OFFICIAL_CITY, name="Manchester", country="GB", region=Region.EUROPE,
            population=568000, timezone="Europe/London", mentoring_capacity=3,
        )
        await CityLanguage.create(city=city, code="en")
    lines = ["Demo sign-in details (development only):"]
    for email, name, role in DEMO_USERS:
        user = await User.get_or_none(email=email)
        if user is None:
            await User.create(
                email=email, name=name, role=role,
                city=city if role == Role.OFFICIAL else None,
                timezone="Europe/London", password_hash=hash_password(DEMO_PASSWORD),
            )
        lines.append(f"  {role.value:<9} {email}  password: {DEMO_PASSWORD}")
    lines.append(f"Open {settings.base_url}/login")
    return lines
