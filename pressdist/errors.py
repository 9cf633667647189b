"""The one error type people see.

Every failure a press officer or translator can cause (a bad file, a wrong
config key, a gateway that is down) is a ``PressdistError`` carrying a short
message, where it happened (file and line) and a hint on what to do next. The
CLI prints it on one line and exits non-zero; nothing else reaches the user.
"""

from __future__ import annotations

from pathlib import Path

from pressdist.diagnostics import located, location


class PressdistError(Exception):
    """A problem a person can fix; ``str()`` is the line the CLI prints."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.hint = hint

    @property
    def location(self) -> str:
        return location(self.path, self.line)

    def __str__(self) -> str:
        return located(self.message, self.path, self.line)


class ConfigError(PressdistError):
    """pressdist.toml is missing, malformed or has an unknown key."""


class InputError(PressdistError):
    """A release, catalog, memory or list file cannot be read as it is."""


class NotReady(PressdistError):
    """Something is incomplete (a translation, a check) for the asked action."""

    exit_code = 1


class GatewayError(PressdistError):
    """The gateway cannot be used at all (unreachable, refused credentials)."""

    exit_code = 3


class MailboxError(PressdistError):
    """The mailbox cannot be read at all (unreachable, login refused)."""

    exit_code = 3
