from tortoise import migrations


class Migration(migrations.Migration):
    """Full-text search over practices (filled in with the library search)."""

    dependencies = [("exchange", "0001_initial")]

    operations: list[object] = []
