"""Reading a large JSON object of arrays one array item at a time, in bounded memory.

A catalogue can hold hundreds of thousands of entries. Parsing it whole would hold every
entry in memory at once; this reader keeps a window of the file and hands out each item
of each top-level array as soon as it is complete, using the standard library's C decoder
for the items themselves.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

CHUNK_BYTES = 1 << 20
MAX_ITEM_CHARS = 32 * 1024 * 1024
WHITESPACE = re.compile(r"[ \t\n\r]*")


class JSONStreamError(Exception):
    """The file is not JSON, or not a JSON object; `line` and `column` (both from 1) say
    where it went wrong."""

    def __init__(self, message: str, line: int, column: int = 1) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Section:
    """A top-level key. When its value is an array, its items follow as `Item`s."""

    key: str
    is_array: bool
    value: Any = None


@dataclass(frozen=True)
class Item:
    key: str
    index: int
    value: Any


class _Window:
    """The part of the file not yet parsed, refilled in chunks as parsing needs more."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.json = json.JSONDecoder()
        self.text = ""
        self.pos = 0
        self.eof = False
        self.line_base = 1
        # Characters between the last line break already dropped and the window's start.
        self.column_base = 0

    def fill(self, size: int = CHUNK_BYTES) -> bool:
        """Read more of the file; False at its end."""
        if self.eof:
            return False
        if self.pos:
            self.line_base += self.text.count("\n", 0, self.pos)
            self.column_base = self.column(self.pos) - 1
            self.text = self.text[self.pos :]
            self.pos = 0
        chunk = self.stream.read(size)
        try:
            self.text += self.decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise self.error("the file is not UTF-8 text") from None
        if not chunk:
            self.eof = True
        return True

    def line(self, pos: int | None = None) -> int:
        return self.line_base + self.text.count("\n", 0, self.pos if pos is None else pos)

    def column(self, pos: int | None = None) -> int:
        pos = self.pos if pos is None else pos
        line_start = self.text.rfind("\n", 0, pos) + 1
        return pos - line_start + 1 + (self.column_base if line_start == 0 else 0)

    def error(self, message: str, pos: int | None = None) -> JSONStreamError:
        return JSONStreamError(message, self.line(pos), self.column(pos))

    def peek(self) -> str:
        """The next character that is not white space ('' at the end of the file)."""
        while True:
            self.pos = WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text) or not self.fill():
                return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str, what: str) -> None:
        if self.peek() != char:
            raise self.error(f"expected {what}")
        self.pos += 1

    def value(self) -> Any:
        """Decode one JSON value, reading more of the file until it is complete."""
        self.peek()
        size = CHUNK_BYTES
        while True:
            try:
                value, end = self.json.raw_decode(self.text, self.pos)
            except RecursionError:
                raise self.error("the JSON is nested too deeply") from None
            except json.JSONDecodeError as exc:
                if self._grow(size):
                    size *= 2
                    continue
                raise self.error(exc.msg, exc.pos) from None
            # A number at the very end of the window may go on in the next chunk.
            if end == len(self.text) and self._grow(size):
                continue
            self.pos = end
            return value

    def _grow(self, size: int) -> bool:
        if len(self.text) - self.pos > MAX_ITEM_CHARS:
            raise self.error("an entry is too large, or the JSON is broken here")
        return self.fill(size)


def read_sections(stream: IO[bytes]) -> Iterator[Section | Item]:
    """The top-level keys of the JSON object in `stream`, and the items of array values."""
    window = _Window(stream)
    _expect_object(window)
    seen: set[str] = set()
    if window.peek() == "}":
        window.pos += 1
    else:
        while True:
            if window.peek() != '"':
                raise window.error("expected a key in double quotes")
            key = window.value()
            if key in seen:
                raise window.error(f"the key '{key}' appears twice")
            seen.add(key)
            window.expect(":", "':' after a key")
            if window.peek() == "[":
                window.pos += 1
                yield Section(key, True)
                yield from _items(window, key)
            else:
                yield Section(key, False, window.value())
            separator = window.peek()
            if separator not in (",", "}"):
                raise window.error("expected ',' or '}'")
            window.pos += 1
            if separator == "}":
                break
    if window.peek():
        raise window.error("unexpected text after the JSON object")


def _expect_object(window: _Window) -> None:
    """Step into the top-level object, or say why the file is not one, and where."""
    first = window.peek()
    if first == "{":
        window.pos += 1
        return
    if not first:
        raise window.error("the file is empty")
    if first == "[":
        raise window.error("expected the file to be a JSON object, not a list")
    start = window.error("expected the file to be a JSON object")
    window.value()  # raises with the place of the first syntax error, if there is one
    raise start


def _items(window: _Window, key: str) -> Iterator[Item]:
    if window.peek() == "]":
        window.pos += 1
        return
    index = 0
    while True:
        yield Item(key, index, window.value())
        index += 1
        separator = window.peek()
        if separator not in (",", "]"):
            raise window.error("expected ',' or ']'")
        window.pos += 1
        if separator == "]":
            return


def stream_size(stream: IO[bytes]) -> int:
    """The size in bytes of a seekable stream, for progress reporting."""
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        here = stream.tell()
        size = stream.seek(0, os.SEEK_END)
        stream.seek(here)
        return size
