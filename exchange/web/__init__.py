"""The HTTP layer: routes parse input, call one service function, and render."""

from starlette.convertors import Convertor, register_url_convertor


class IdConvertor(Convertor[int]):
    """`{name:id}`: a database id. Nine digits at most, so a number too large for the
    database's integer is simply a URL that matches nothing (404), never an error."""

    regex = "[0-9]{1,9}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
