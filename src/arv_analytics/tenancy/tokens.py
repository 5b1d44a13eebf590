"""Token values: generation and hashing. Only hashes are ever stored."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "arv_"  # noqa: S105 - a prefix that makes leaked tokens greppable


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
