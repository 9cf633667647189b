"""Secrets: how one enters pressdist, and keeping it out of everything stored or printed.

Owns the one way a secret is read (``from_environment``: the value of the
variable a setting names; a single final newline, as a secret file ends, is
dropped, any other control character refused by a message that names the
variable and never the value) and the secrets this process has read, so that
``redact`` can take them out of text that came from outside (a server's
reply, an API's error, an exception's words) before it is stored or printed:
each secret as it is, percent-encoded, and base64-encoded wherever it stands
in the encoded text, which covers HTTP Basic (``user:secret``) and SMTP AUTH
(``\\0user\\0secret``) whatever the user. A password written into a URL
(``https://user:password@host``) is masked too, known or not.

It does not know which setting holds which secret (the gateways, the inbox
and ``mail.unsubscribe`` do) and prints nothing.
"""

from __future__ import annotations

import base64
import os
import re
from urllib.parse import quote

# Upper case: "[secret]" would be a style tag to Rich, and vanish from what is printed.
MASK = "[REDACTED]"
# Masks for a secret that MASK itself would complete: none of them can
# be in a base64 form, and one of them is in no secret.
_FALLBACK_MASKS = "*•#~"
# base64 forms shorter than this match too much unrelated text to be worth it.
_MIN_FORM = 4

_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The shape of a variable name as people write them (PRESSDIST_SMTP_PASSWORD):
# a name of another shape may be the secret itself, pasted in by mistake.
_SHOWN_VARIABLE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@\[\]]*):[^/\s@]+@")


class SecretError(ValueError):
    """A secret that cannot be used; the message names the variable, never the value."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def is_variable_name(name: str) -> bool:
    """Whether ``name`` can name an environment variable at all."""
    return bool(_VARIABLE.match(name))


def _shown(name: str) -> bool:
    return bool(_SHOWN_VARIABLE.match(name)) and ("_" in name or not any(c.isdigit() for c in name))


def from_environment(var: str, setting: str, *, export_hint: str = "") -> str:
    """The secret in the environment variable ``var``, which ``setting`` names.

    SecretError when it is not set or empty, or holds a control character
    other than one final newline (a line break inside would end an HTTP
    header or an SMTP command early). The value is remembered for ``redact``.
    ``export_hint`` goes after ``export VAR=...`` in the hint.
    """
    value = os.environ.get(var, "")
    if value.endswith("\n"):
        value = value[:-2] if value.endswith("\r\n") else value[:-1]
    if not value:
        if not _shown(var):
            raise SecretError(
                f"'{setting}' names no environment variable that is set (what it holds is "
                "not shown: it may be a secret written there by mistake)",
                hint=f"put the secret into an environment variable and write that variable's "
                f"name into '{setting}'; secrets never go into pressdist.toml",
            )
        raise SecretError(
            f"environment variable {var} (named by '{setting}') is not set",
            hint=f"export {var}=...{export_hint}; secrets never go into pressdist.toml",
        )
    if _CONTROL.search(value):
        raise SecretError(
            f"environment variable {var} (named by '{setting}') holds a line break or another "
            "control character",
            hint=f"set {var} to the secret alone, on one line (one final newline is fine)",
        )
    remember(value)
    return value


class Secrets:
    """A set of secrets and the one pattern that finds any form of any of them."""

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._fallback = _FALLBACK_MASKS[0]

    def clear(self) -> None:
        self._known, self._forms, self._pattern = set(), set(), None

    def __bool__(self) -> bool:
        return bool(self._known)

    def add(self, secret: str | bytes) -> None:
        text = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
        if not text or text in self._known:
            return
        self._known.add(text)
        self._forms |= forms(text)
        self._pattern = re.compile(
            "|".join(re.escape(f) for f in sorted(self._forms, key=len, reverse=True))
        )
        used = "".join(self._known)
        self._fallback = next((c for c in _FALLBACK_MASKS if c not in used), "\ufffd")

    def redact(self, text: str) -> str:
        """``text`` with every form of every secret replaced by ``MASK``."""
        if "://" in text:
            text = _URL_PASSWORD.sub(rf"\1:{MASK}@", text)
        pattern = self._pattern
        if pattern is None or not text:
            return text
        out, found = pattern.subn(MASK, text)
        if found and pattern.search(out):
            # The mask itself completed a secret ("D]" and "[REDACTED]"): a mask of
            # one character that no secret and no base64 holds cannot.
            out = pattern.sub(self._fallback, text)
        return out


def forms(secret: str) -> set[str]:
    """The texts a secret can appear as: itself, percent-encoded, and its base64.

    In base64 the secret's characters depend on where it starts in the encoded
    bytes (``api:`` before it in HTTP Basic, ``\\0user\\0`` in AUTH PLAIN), but
    only modulo three: for each of the three offsets, the characters made of
    the secret's bits alone are the same whatever stands around it.
    """
    raw = secret.encode("utf-8")
    found = {secret, quote(secret, safe="")}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        start = -(-8 * offset // 6)
        core = encoded[start : 8 * (offset + len(raw)) // 6]
        if len(core) >= _MIN_FORM:
            found |= {core, core.replace("+", "-").replace("/", "_")}
    return found


_READ = Secrets()


def remember(secret: str | bytes) -> None:
    """Take ``secret`` out of everything ``redact`` sees from now on in this process."""
    _READ.add(secret)


def redact(text: str) -> str:
    """``text`` without any secret this process has read (and without URL passwords)."""
    return _READ.redact(text)


def forget_all() -> None:
    """Forget every remembered secret: for tests, which read many in one process."""
    _READ.clear()
