"""Tortoise models, one module per area. Schema changes only through `migrations/`."""

MODEL_MODULES = (
    "exchange.models.cities",
    "exchange.models.accounts",
    "exchange.models.audit",
    "exchange.models.mail",
    "exchange.models.matching",
    "exchange.models.dialogues",
    "exchange.models.briefs",
    "exchange.models.circles",
)

# A model's docstring becomes its table comment, and tortoise's SQLite migrations split
# statements on ";": keep semicolons out of model docstrings.
