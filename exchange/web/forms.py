"""Reading form posts into plain values."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request

from exchange.services.errors import NotFound


async def read_form(request: Request) -> FormData:
    return await request.form(max_files=1, max_fields=200)


def text(form: FormData, name: str, max_length: int = 10_000) -> str:
    value = form.get(name, "")
    return value[:max_length] if isinstance(value, str) else ""


def values(form: FormData, *names: str) -> dict[str, str]:
    """The submitted text of `names`, to put back into a form shown again with errors."""
    return {name: text(form, name) for name in names}


def checkbox(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "1", "true", "yes")


def path_id(request: Request, name: str) -> int:
    """An id from the path (the `id` convertor has checked its form); NotFound if absent."""
    value = request.path_params.get(name)
    if not isinstance(value, int):
        raise NotFound
    return value
