"""The challenge taxonomy in other languages, and the reasons kept on peer invitations.

`challenge.translations` holds each term's name and description per locale; the shipped
translations come from `exchange/data/taxonomy.json`, written to every shipped term that
has none yet (a database made before, or a new one whose `0002` loaded the English only).
`peer_invitation.match_reasons` keeps why the city was proposed when it was invited; it is
null for invitations sent before.
"""

import functools
import json
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from exchange.resources import resource_path

TAXONOMY_FILE = resource_path("data/taxonomy.json")


async def load_translations(apps, schema_editor) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    update = (
        "UPDATE challenge SET translations = ? WHERE slug = ? AND translations IS NULL"
        if sqlite
        else "UPDATE challenge SET translations = $1 WHERE slug = $2 AND translations IS NULL"
    )
    terms = json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    for term in terms:
        translations = json.dumps(
            term.get("translations", {}), ensure_ascii=False, separators=(",", ":")
        )
        await client.execute_query(update, [translations, term["slug"]])


class Migration(migrations.Migration):
    dependencies = [("exchange", "0009_outbox_lease")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Challenge",
            name="translations",
            field=fields.JSONField(
                null=True,
                default=dict,
                encoder=functools.partial(dumps, separators=(",", ":")),
                decoder=loads,
            ),
        ),
        ops.AddField(
            model_name="PeerInvitation",
            name="match_reasons",
            field=fields.JSONField(
                null=True,
                encoder=functools.partial(dumps, separators=(",", ":")),
                decoder=loads,
            ),
        ),
        ops.RunPython(load_translations, ops.RunPython.noop),
    ]
