"""Helpers shared by the tests: a real SMTP server, form posting with CSRF, users."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from exchange.models.accounts import Role, User
from exchange.services.secrets import hash_password
from exchange.web.csrf import cookie_name

PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MailBox:
    """What the SMTP server received; `reply` sets the answer to the next DATA."""

    messages: list[EmailMessage] = field(default_factory=list)
    reply: str = "250 OK"
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.reply.startswith("2"):
            return self.reply
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
        self.reply = "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class SMTPServer:
    """A real aiosmtpd server on a loopback port that tests can stop and start."""

    def __init__(self) -> None:
        self.port = free_port()
        self.box = MailBox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def first_link(text: str) -> str:
    match = re.search(r"https?://\S+", text)
    assert match, f"no link in {text!r}"
    return match.group(0)


def csrf_token(client: httpx.AsyncClient) -> str:
    token = client.cookies.get(cookie_name(False))
    assert token, "fetch a page first to get a CSRF cookie"
    return str(token)


async def post_form(
    client: httpx.AsyncClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> httpx.Response:
    """Post a form the way a browser would, with the page's CSRF token."""
    if not client.cookies.get(cookie_name(False)):
        await client.get("/")
    payload = {"csrf_token": csrf_token(client), **(data or {})}
    return await client.post(url, data=payload, **kwargs)


async def make_user(
    email: str, role: Role = Role.OFFICIAL, city: Any = None, name: str = "", **extra: Any
) -> User:
    return await User.create(
        email=email,
        name=name or email.split("@")[0].title(),
        role=role,
        city=city,
        password_hash=hash_password(PASSWORD),
        **extra,
    )


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> httpx.Response:
    response = await post_form(client, "/login", {"email": email, "password": password})
    assert response.status_code == 303, response.text
    return response


async def switch(client: httpx.AsyncClient, user: User) -> None:
    """Sign `client` in as `user`, leaving whoever was signed in before."""
    client.cookies.clear()
    await sign_in(client, user.email)


async def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.02)
