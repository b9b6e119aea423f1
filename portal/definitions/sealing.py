"""My Numbers sealed at rest: encrypted wherever an answer is stored, readable only here.

Values of fields that handle a My Number (`requires_purpose`) are sealed when answers
are stored (drafts, applications, submissions, register provenance) and unsealed when
they are loaded again, so the database, its backups and anything that copies stored
answers (exports, webhooks) hold only ciphertext. A sealed value is text that says so:
``sealed:v1:<Fernet token>``. Fernet (AES-128-CBC with HMAC-SHA256) comes from the
`cryptography` package; `MultiFernet` lets keys rotate: the first key seals, all unseal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app, has_app_context

PREFIX = "sealed:v1:"
EXTENSION_KEY = "madoguchi.sealer"


class SealingError(Exception):
    """A sealed value that cannot be opened with the configured keys, or no keys at all."""


class Sealer:
    """Seals and unseals JSON values with the portal's keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SealingError("no keys to seal My Numbers with (MY_NUMBER_KEYS)")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, data: object) -> str:
        """Encrypt a JSON value; the result is text that marks itself as sealed."""
        plain = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return PREFIX + self._fernet.encrypt(plain).decode("ascii")

    def unseal(self, sealed: str) -> Any:
        """The JSON value a sealed text holds."""
        try:
            plain = self._fernet.decrypt(sealed.removeprefix(PREFIX).encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise SealingError("a sealed value cannot be opened with MY_NUMBER_KEYS") from None
        return json.loads(plain)

    def reseal(self, sealed: str) -> str:
        """The same value sealed with the newest key (for key rotation)."""
        try:
            token = self._fernet.rotate(sealed.removeprefix(PREFIX).encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            raise SealingError("a sealed value cannot be opened with MY_NUMBER_KEYS") from None
        return PREFIX + token.decode("ascii")


def init_app(app: Flask) -> None:
    """Keep the app's sealer, built from MY_NUMBER_KEYS (validated by the settings)."""
    app.extensions[EXTENSION_KEY] = Sealer(app.config["MY_NUMBER_KEYS"])


def sealer() -> Sealer:
    """The current app's sealer; sealing outside an app would store a My Number in clear."""
    if not has_app_context() or EXTENSION_KEY not in current_app.extensions:
        raise SealingError("My Numbers can only be stored or read inside the portal app")
    return current_app.extensions[EXTENSION_KEY]


def is_sealed(data: object) -> bool:
    """Whether stored data is a sealed value."""
    return isinstance(data, str) and data.startswith(PREFIX)


def unsealed(data: Any) -> Any:
    """Stored data with every sealed value in it opened (lists and objects walked)."""
    if is_sealed(data):
        return sealer().unseal(data)
    if isinstance(data, list):
        return [unsealed(item) for item in data]
    if isinstance(data, dict):
        return {key: unsealed(value) for key, value in data.items()}
    return data
