"""Token values: generation, hashing and the weak-secret check. Only hashes are ever stored."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import re
import secrets

TOKEN_PREFIX = "arv_"  # noqa: S105 - a prefix that makes leaked tokens greppable

# Values that people paste into ARV_ADMIN_TOKEN when they mean "later".
_COMMON_WORDS = (
    "changeme",
    "change-me",
    "change_me",
    "password",
    "passw0rd",
    "secret",
    "admin",
    "default",
    "example",
    "letmein",
    "qwerty",
    "123456",
    "token",
    "test",
)
_COMMON_PATTERN = re.compile("|".join(re.escape(w) for w in _COMMON_WORDS), re.IGNORECASE)
_MIN_DISTINCT = 8
_MIN_BITS = 100


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


def _pool_size(value: str) -> int:
    pool = 0
    if any(c.islower() for c in value):
        pool += 26
    if any(c.isupper() for c in value):
        pool += 26
    if any(c.isdigit() for c in value):
        pool += 10
    if any(not c.isalnum() for c in value):
        pool += 32
    return pool


def _mostly_sequential(value: str) -> bool:
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(value)]
    return sum(1 for s in steps if abs(s) <= 1) >= 0.75 * len(steps)


def weakness(value: str) -> str | None:
    """Why ``value`` is a guessable secret, or None when it looks random enough.

    A heuristic, not a proof: it catches the values people actually type (common words,
    repeated or sequential characters, short strings from a small alphabet). A token from
    ``generate_token`` or ``openssl rand -hex 32`` always passes.
    """
    # Common words add nothing an attacker has to guess, so only what is left counts; a
    # random token that happens to contain "TeSt" keeps almost all of its strength.
    rest = _COMMON_PATTERN.sub("", value)
    if len(set(rest)) < _MIN_DISTINCT:
        if rest != value:
            return "mostly common words such as 'changeme', 'admin' or 'secret'"
        return f"fewer than {_MIN_DISTINCT} distinct characters"
    if _mostly_sequential(rest):
        return "mostly repeated or consecutive characters"
    if len(rest) * math.log2(_pool_size(rest)) < _MIN_BITS:
        return f"less than {_MIN_BITS} bits of entropy for its length and alphabet"
    return None
