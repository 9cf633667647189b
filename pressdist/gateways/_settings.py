"""Reading a ``[gateways.NAME]`` table: the shared rules every gateway follows.

Owns the checks common to all gateways: unknown keys refused, types checked,
secrets read from the environment variable a ``*_env`` key names (and never
from the file itself; ``pressdist.secrets`` reads them). Each gateway module
says which keys it has and turns them into its own frozen settings value
(``SmtpSettings``, ...); what the keys mean is the module's business.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from pressdist.errors import ConfigError
from pressdist.secrets import SecretError, from_environment, is_variable_name
from pressdist.workspace import GatewayConfig


class Table:
    """The table of one gateway, read key by key; errors name ``gateways.NAME.key``."""

    def __init__(self, config: GatewayConfig, *, known: set[str]) -> None:
        self.config = config
        self.name = config.name
        self.table = config.table
        for key in self.table:
            if key not in known:
                raise self.error(
                    f"unknown key 'gateways.{self.name}.{key}'",
                    key=key,
                    hint="known keys here: " + ", ".join(sorted(known)),
                )

    def error(
        self, message: str, *, key: str | None = None, hint: str | None = None
    ) -> ConfigError:
        """An error at ``key``'s line in pressdist.toml, or at the table's header."""
        return ConfigError(message, path=self.config.path, line=self.config.line(key), hint=hint)

    def where(self, key: str) -> str:
        return f"gateways.{self.name}.{key}"

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.table.get(key, default)
        if value is None:
            if required:
                raise self.error(f"'{self.where(key)}' is missing", key=key)
            return None
        if not isinstance(value, str):
            raise self.error(
                f"'{self.where(key)}' must be a string, not {type(value).__name__}", key=key
            )
        if required and not value.strip():
            raise self.error(f"'{self.where(key)}' must not be empty", key=key)
        return value

    def number(
        self, key: str, default: float | None, *, minimum: float = 0, integer: bool = False
    ) -> float | None:
        value = self.table.get(key, default)
        if value is None:
            return None
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            kind = "a whole number" if integer else "a number"
            raise self.error(f"'{self.where(key)}' must be {kind}, not {value!r}", key=key)
        if value < minimum:
            raise self.error(
                f"'{self.where(key)}' must be at least {minimum:g}, not {value!r}", key=key
            )
        return value

    def choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.error(
                f"'{self.where(key)}' must be one of {', '.join(choices)}, not {value!r}", key=key
            )
        return value

    def secret(self, key: str, *, required: bool = False) -> str | None:
        """The value of the environment variable that ``key`` names.

        A missing variable is a ConfigError raised while the gateway is built,
        so nothing is sent with half a configuration. The value is never put
        into an error message, and is redacted from every one from now on
        (``pressdist.secrets``).
        """
        var = self.text(key, required=required)
        if var is None:
            return None
        if not is_variable_name(var):
            raise self.error(
                f"'{self.where(key)}' must name an environment variable, not hold a secret",
                key=key,
                hint=f'e.g. {key} = "PRESSDIST_{self.name.upper()}_SECRET"',
            )
        try:
            return from_environment(var, self.where(key), export_hint=" before sending")
        except SecretError as exc:
            raise self.error(exc.message, key=key, hint=exc.hint) from None

    def file(self, key: str, root: Path) -> Path | None:
        value = self.text(key)
        if value is None:
            return None
        path = Path(value).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise self.error(f"'{self.where(key)}': file {path} not found", key=key)
        return path

    def ca_file(self, key: str, root: Path) -> Path | None:
        """A CA certificate file, loaded now: a broken one would fail every connection."""
        path = self.file(key, root)
        if path is not None:
            try:
                ssl.create_default_context(cafile=str(path))
            except ssl.SSLError:
                raise self.error(
                    f"'{self.where(key)}': {path} holds no certificate",
                    key=key,
                    hint="give the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----)",
                ) from None
        return path
