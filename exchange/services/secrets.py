"""Random tokens, password hashes and password strength. Only hashes of tokens ever reach
the database."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

# argon2-cffi's defaults are argon2id with the RFC 9106 "low memory" profile.
_hasher = PasswordHasher()
# Verified against when an account does not exist, so a miss costs as much as a hit.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# Counted after runs of spaces are taken as one (ASVS 2.1.1); 64 characters are always
# allowed and more than 128 refused (ASVS 2.1.2). Nothing is ever truncated.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
# zxcvbn's score: 3 means it expects an attacker to need at least 10^8 guesses, past common
# passwords, dictionary words, names, dates, keyboard runs, repeats and the person's own
# name and address. Lower scores are refused.
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input; a longer password is judged by its first 72 characters.
STRENGTH_CHECKED_LENGTH = 72
# Words an attacker of this site tries first, beside the person's own.
SITE_WORDS = ("exchange", "city", "cities", "mentor", "peer")


def new_token() -> tuple[str, str]:
    """A fresh token and the hash to store for it."""
    raw = secrets.token_urlsafe(32)
    return raw, hash_token(raw)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; an empty or broken hash never matches."""
    if not password_hash:
        _burn(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_verification_time(password: str) -> None:
    """Spend the time a real verification takes, for accounts that do not exist."""
    _burn(password)


def _burn(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY_HASH, password)


def is_guessable(password: str, personal: Iterable[str] = ()) -> bool:
    """Whether zxcvbn scores `password` under MIN_PASSWORD_SCORE; `personal` holds what
    an attacker would know of the person (their email and name)."""
    words: list[str] = [*SITE_WORDS]
    for item in personal:
        item = item.lower()
        words.append(item)
        words.extend(part for part in re.split(r"[^\w]+", item) if len(part) >= 3)
    result = zxcvbn(password[:STRENGTH_CHECKED_LENGTH], user_inputs=words)
    return int(result["score"]) < MIN_PASSWORD_SCORE


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
