"""Demo data for development: the demo catalogue and one user per role."""

from __future__ import annotations

from exchange.models.accounts import Role, User
from exchange.models.cities import City
from exchange.resources import resource_path
from exchange.services.catalogue import import_catalogue
from exchange.services.cities import load_shipped_taxonomy
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
DEMO_CATALOGUE = resource_path("data/demo_catalogue.json")


async def load_demo(settings: Settings) -> list[str]:
    """Load the demo data (idempotent) and return the lines to print."""
    await load_shipped_taxonomy()
    with DEMO_CATALOGUE.open("rb") as source:
        report = await import_catalogue(source)
    city = await City.get(key=DEMO_OFFICIAL_CITY)
    lines = [f"Demo catalogue: {report.summary()}", "Demo sign-in details (development only):"]
    for email, name, role in DEMO_USERS:
        user = await User.get_or_none(email=email)
        if user is None:
            await User.create(
                email=email,
                name=name,
                role=role,
                city=city if role == Role.OFFICIAL else None,
                timezone="Europe/London",
                password_hash=hash_password(DEMO_PASSWORD),
            )
        lines.append(f"  {role.value:<9} {email}  password: {DEMO_PASSWORD}")
    lines.append(f"Open {settings.base_url}/login")
    return lines
