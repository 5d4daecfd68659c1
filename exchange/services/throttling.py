"""Sign-in throttling: a budget of password checks per account and per address.

A check is taken from the budget BEFORE the password is verified, by one conditional
UPDATE whose row count says whether the budget had room (as `capacity.take_capacity`
does), so parallel requests, workers and processes can never get more checks than the
budget holds, on SQLite or PostgreSQL. A wrong password keeps its check; a right one
clears the account's count and gives the address its check back.

The count starts again after 15 minutes without a check. So an account gets at most 5
wrong passwords in any 15 minutes (an address 20, over all accounts), and a spent
budget refuses sign-in until 15 minutes after its last check.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from exchange.models.accounts import SignInBudget

QUIET_PERIOD = timedelta(minutes=15)
MAX_CHECKS_PER_ACCOUNT = 5
MAX_CHECKS_PER_ADDRESS = 20


def account_key(email: str) -> str:
    return f"account:{email}"


def address_key(ip: str) -> str:
    return f"address:{ip}"


@dataclass(frozen=True)
class Reservation:
    """The checks taken for one password verification, to be given back on success."""

    account: str
    address: str


async def take(key: str, limit: int, now: datetime) -> bool:
    """Take one check from the budget under `key`; False when it is spent."""
    if not await SignInBudget.exists(key=key):
        # Another request may create it first: then the UPDATEs below decide.
        with contextlib.suppress(IntegrityError):
            await SignInBudget.create(key=key, checks=0, last_check_at=now)
    quiet_since = now - QUIET_PERIOD
    # A budget left alone for the quiet period starts again with this check...
    restarted = await SignInBudget.filter(key=key, last_check_at__lte=quiet_since).update(
        checks=1, last_check_at=now
    )
    if restarted:
        return True
    # ...otherwise the check is taken only while the budget has room. Both are single
    # statements: a row lock (PostgreSQL) or the write lock (SQLite) makes the second of
    # two racing requests re-read the row the first one changed.
    taken = await SignInBudget.filter(
        key=key, checks__lt=limit, last_check_at__gt=quiet_since
    ).update(checks=F("checks") + 1, last_check_at=now)
    return taken == 1


async def give_back(key: str) -> None:
    await SignInBudget.filter(key=key, checks__gt=0).update(checks=F("checks") - 1)


async def reserve_sign_in(email: str, ip: str, now: datetime) -> Reservation | None:
    """A check from the account's budget and the address's, or None when either is spent."""
    account = account_key(email)
    if not await take(account, MAX_CHECKS_PER_ACCOUNT, now):
        return None
    address = address_key(ip) if ip else ""
    if address and not await take(address, MAX_CHECKS_PER_ADDRESS, now):
        await give_back(account)
        return None
    return Reservation(account, address)


async def reserve_password_check(email: str, now: datetime) -> Reservation | None:
    """A check from the account's budget only: a signed-in person confirming their password."""
    account = account_key(email)
    if not await take(account, MAX_CHECKS_PER_ACCOUNT, now):
        return None
    return Reservation(account, "")


async def succeeded(reservation: Reservation) -> None:
    """The right password: earlier failures of the account are forgiven."""
    await clear_account_key(reservation.account)
    if reservation.address:
        await give_back(reservation.address)


async def clear_account(email: str) -> None:
    await clear_account_key(account_key(email))


async def clear_account_key(key: str) -> None:
    await SignInBudget.filter(key=key).update(checks=0)
