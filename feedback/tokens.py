"""Single-use link tokens: 256 random bits, emailed once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets


def make_token() -> tuple[str, str]:
    """Return a new (token, token_hash) pair; only the hash is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def edit_key_hash(token: str) -> str:
    """Hash that lets a token's holder find their anonymous response again.

    It is a different hash of the same token, so the database alone cannot join a prompt
    (token_hash) to its response (edit_key_hash).
    """
    return hashlib.sha256(b"response-edit:" + token.encode()).hexdigest()
