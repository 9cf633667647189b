"""The workspace: where a press office keeps its releases, translations and lists.

Owns finding the workspace (``pressdist.toml``, searched upward like git),
reading and validating its configuration into typed values (``Config``,
``SendSettings``, one ``GatewayConfig`` per gateway table), the folder layout
and release ids. It does not know what is inside the files, nor what a
gateway's keys mean; the other modules do.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from pressdist.errors import ConfigError, InputError
from pressdist.files import atomic_write, read_text
from pressdist.languages import Language, is_known, spelling

CONFIG_NAME = "pressdist.toml"
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class SendSettings:
    """``[send]``: how ``send`` delivers. Each default is stated here and nowhere else."""

    gateway: str = "outbox"  # a [gateways.NAME]; "outbox" works without one (a Maildir)
    max_attempts: int = 5  # per delivery and run, the first included
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 300.0
    # https://... with {token} (signed, see mail.unsubscribe) or {email}; "": none
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""  # one address; the token goes into its subject
    unsubscribe_secret_env: str = ""  # the environment variable holding the signing key
    unsubscribe_max_age_days: int = 730  # how long a signed link keeps working
    message_id_domain: str | None = None  # None: the sender's domain
    # The envelope sender; each delivery gets its own signed address, local+TOKEN@domain
    # (mail.verp), signed with the key unsubscribe_secret_env names. "": the sender.
    bounce_address: str = ""


@dataclass(frozen=True)
class InboxSettings:
    """``[inbox]``: the office mailbox `pressdist inbox` reads. Defaults stated once, here.

    Either ``path`` (a local Maildir or mbox file) or ``host`` (IMAP); neither:
    no mailbox configured.
    """

    path: str = ""  # a Maildir folder or an mbox file, relative to the workspace
    host: str = ""  # an IMAP server
    port: int = 0  # 0: 993 for security = "tls", 143 for "starttls"
    security: str = "tls"  # "tls" (IMAPS) or "starttls"; certificates are always verified
    username: str = ""
    password_env: str = ""  # the environment variable holding the password
    folder: str = "INBOX"
    ca_file: str = ""  # a private CA's certificate, relative to the workspace
    timeout: float = 30.0  # seconds, per IMAP command
    processed: str = "move"  # "move" to processed_folder, or "flag" where it lies
    processed_folder: str = "pressdist/processed"
    soft_bounce_limit: int = 3  # soft bounces in a row, over distinct releases, that suppress

    @property
    def configured(self) -> bool:
        return bool(self.path or self.host)


# The TOML type each [send] key must have, from its field's annotation.
_TYPES: dict[str, Any] = {"str": str, "str | None": str, "int": int, "float": (int, float)}

# Every key pressdist.toml may hold; a value of dict means a table with those
# keys, None means "any keys" (validated by its owner, e.g. each gateway).
_SCHEMA: dict[str, Any] = {
    "organisation": str,
    "sender": str,
    "reply_to": str,
    "source_language": str,
    "languages": list,
    "contact": str,
    "memory": {"threshold": int},
    "readiness": {"min_translated": int, "allow_fuzzy": bool, "allow_warnings": bool},
    "fallback": None,
    "send": {f.name: _TYPES[f.type] for f in fields(SendSettings)},
    "inbox": {f.name: _TYPES[f.type] for f in fields(InboxSettings)},
    "gateways": None,
}


@dataclass
class Config:
    """The validated content of pressdist.toml."""

    path: Path
    organisation: str = ""
    sender: str = ""
    reply_to: str = ""
    source_language: Language = field(default_factory=lambda: Language.parse("de"))
    languages: list[Language] = field(
        default_factory=lambda: [Language.parse("en"), Language.parse("zh_CN")]
    )
    contact: str = ""
    memory_threshold: int = 75
    min_translated: int = 100
    allow_fuzzy: bool = False
    allow_warnings: bool = True
    # requested language -> languages to try, in order, when it cannot be sent.
    fallback: dict[str, list[Language]] = field(default_factory=dict)
    send: SendSettings = field(default_factory=SendSettings)
    inbox: InboxSettings = field(default_factory=InboxSettings)
    gateways: dict[str, GatewayConfig] = field(default_factory=dict)

    @property
    def all_languages(self) -> list[Language]:
        """Source first, then the targets: every language a release exists in."""
        return [self.source_language, *self.languages]

    def fallback_chain(self, language: str) -> list[Language]:
        """Where a reader of ``language`` goes when it is unavailable."""
        chain = self.fallback.get(language) or self.fallback.get("default")
        if chain is None:
            english = self.languages[self.languages.index("en")] if "en" in self.languages else None
            chain = [english, self.source_language] if english else []
            chain = chain or [self.source_language]
        return [c for c in chain if c != language]


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*(?:\"{re.escape(key)}\"|{re.escape(key)})\s*=", re.M)
    m = pattern.search(text)
    if m:
        return text.count("\n", 0, m.start()) + 1
    m = re.search(rf"^\s*\[[^\]]*\b{re.escape(key)}\b[^\]]*\]", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None


# A table header, ``[a.b]`` or ``[[a.b]]``: where one table ends and the next begins.
_HEADER = re.compile(r"^[ \t]*\[{1,2}([^\[\]\n]*)\]{1,2}[ \t]*(?:#.*)?$", re.M)


def _assignment(key: str) -> re.Pattern[str]:
    k = re.escape(key)
    # ``key =`` or, for a dotted key, ``key.sub =``; bare or quoted.
    return re.compile(rf"^[ \t]*(?:\"{k}\"|'{k}'|{k})[ \t]*[=.]", re.M)


def line_in_table(text: str, table: tuple[str, ...], key: str | None = None) -> int | None:
    """The line of ``key`` inside the TOML table ``table`` (e.g. ("gateways", "outbox")).

    ``_line_of`` looks for a key anywhere, which is wrong for keys that many
    tables share (``type``, ``path``): this one looks only between the table's
    header and the next one. Without ``key``, or when the key is not there, the
    header's line; for a table written inline or with dotted keys, the line
    that names it in its parent. None when the table is not in ``text``.
    """
    headers = list(_HEADER.finditer(text))
    start, end, found = 0, headers[0].start() if headers else len(text), not table
    for i, m in enumerate(headers):
        if tuple(p.strip().strip("\"'") for p in m.group(1).split(".")) == table:
            start, found = m.start(), True
            end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
            break
    if not found:
        return line_in_table(text, table[:-1], table[-1]) if table else None
    if key is not None:
        m = _assignment(key).search(text, start, end)
        if m:
            start = m.start()
        elif not table:
            return None
    return text.count("\n", 0, start) + 1


def config_line(path: Path, table: tuple[str, ...], key: str | None = None) -> int | None:
    """``line_in_table`` for the file at ``path``; None when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return line_in_table(text, table, key)


def _check(table: dict[str, Any], schema: dict[str, Any], prefix: str, path: Path, text: str):
    for key, value in table.items():
        name = f"{prefix}{key}"
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise ConfigError(
                f"unknown key '{name}'",
                path=path,
                line=_line_of(text, key),
                hint=f"known keys here: {known}",
            )
        expected = schema[key]
        if expected is None:
            if not isinstance(value, dict):
                raise ConfigError(f"'{name}' must be a table", path=path, line=_line_of(text, key))
            continue
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"'{name}' must be a table", path=path, line=_line_of(text, key))
            _check(value, expected, f"{name}.", path, text)
            continue
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            want = expected.__name__ if isinstance(expected, type) else "number"
            want = {"int": "whole number", "str": "string", "bool": "true or false"}.get(want, want)
            raise ConfigError(
                f"'{name}' must be {'' if want.startswith('true') else 'a '}{want}, "
                f"not {type(value).__name__}",
                path=path,
                line=_line_of(text, key),
            )


def _language(code: Any, where: str, path: Path, text: str) -> Language:
    if not isinstance(code, str) or not is_known(code):
        raise ConfigError(
            f"unknown language {code!r} in '{where}'",
            path=path,
            line=_line_of(text, where.split(".")[-1]),
            hint="use codes like de, en, zh_CN",
        )
    return Language.parse(code)


def load_config(path: Path) -> Config:
    text = read_text(path, what="configuration")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            f"not valid TOML: {exc}", path=path, line=int(m.group(1)) if m else None
        ) from None
    _check(data, _SCHEMA, "", path, text)
    cfg = Config(path=path)
    cfg.organisation = data.get("organisation", cfg.organisation)
    cfg.sender = data.get("sender", cfg.sender)
    cfg.reply_to = data.get("reply_to", cfg.reply_to)
    source = data.get("source_language", cfg.source_language)
    cfg.source_language = _language(source, "source_language", path, text)
    langs = data.get("languages", cfg.languages)
    cfg.languages = [_language(c, "languages", path, text) for c in langs]
    if cfg.source_language in cfg.languages:
        raise ConfigError(
            f"'languages' lists the source language {cfg.source_language}",
            path=path,
            line=_line_of(text, "languages"),
            hint="list only the languages you translate into",
        )
    cfg.contact = data.get("contact", cfg.contact).strip("\n")
    memory = data.get("memory", {})
    cfg.memory_threshold = memory.get("threshold", cfg.memory_threshold)
    if not 1 <= cfg.memory_threshold <= 100:
        raise ConfigError(
            "'memory.threshold' must be between 1 and 100",
            path=path,
            line=_line_of(text, "threshold"),
        )
    readiness = data.get("readiness", {})
    cfg.min_translated = readiness.get("min_translated", cfg.min_translated)
    cfg.allow_fuzzy = readiness.get("allow_fuzzy", cfg.allow_fuzzy)
    cfg.allow_warnings = readiness.get("allow_warnings", cfg.allow_warnings)
    fallback = {}
    for key, chain in data.get("fallback", {}).items():
        if not isinstance(chain, list):
            raise ConfigError(
                f"'fallback.{key}' must be a list of languages", path=path, line=_line_of(text, key)
            )
        lang = key if key == "default" else _language(key, f"fallback.{key}", path, text)
        fallback[lang] = [_language(c, f"fallback.{key}", path, text) for c in chain]
    cfg.fallback = fallback
    cfg.send = _send_settings(data.get("send", {}), path, text)
    cfg.inbox = _inbox_settings(data.get("inbox", {}), path, text)
    cfg.gateways = {
        name: GatewayConfig.from_table(name, table, path)
        for name, table in data.get("gateways", {}).items()
    }
    return cfg


def _send_settings(table: dict[str, Any], path: Path, text: str) -> SendSettings:
    """``[send]``, its types already checked; an empty string means the default."""
    for key, least in (("max_attempts", 1), ("retry_base_seconds", 0), ("retry_max_seconds", 0)):
        value = table.get(key)
        if value is not None and not (math.isfinite(value) and value >= least):
            raise ConfigError(
                f"'send.{key}' must be "
                + ("at least 1 (the first attempt counts)" if least else "0 or more seconds")
                + f", not {value}",
                path=path,
                line=line_in_table(text, ("send",), key),
            )
    values = {key: value for key, value in table.items() if value != ""}
    for key in ("retry_base_seconds", "retry_max_seconds"):
        if key in values:
            values[key] = float(values[key])
    settings = SendSettings(**values)
    _check_unsubscribe(settings, path, text)
    _check_bounce_address(settings, path, text)
    return settings


# A bounce address's local part, its delimiter and the token fit RFC 5321's 64 octets.
MAX_LOCAL_PART = 64
VERP_DELIMITER = "+"
VERP_TOKEN_LENGTH = 37  # characters; mail.verp says why


def check_bounce_address(value: str) -> str:
    """The bounce address, or ValueError: one plain ASCII address with room for a token."""
    local, at, domain = value.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or not value.isascii()
        or _NOT_IN_MAILTO.search(value)
        or "@" in local
    ):
        raise ValueError(
            f"bounce_address {value!r} must be one plain ASCII address such as "
            "presse-bounces@example.org"
        )
    if VERP_DELIMITER in local:
        raise ValueError(
            f"bounce_address {value!r} already holds {VERP_DELIMITER!r}; "
            f"pressdist adds {VERP_DELIMITER}TOKEN to it"
        )
    room = MAX_LOCAL_PART - len(VERP_DELIMITER) - VERP_TOKEN_LENGTH
    if len(local) > room:
        raise ValueError(
            f"bounce_address {value!r}: its mailbox name is {len(local)} characters; with "
            f"{VERP_DELIMITER}TOKEN it may have at most {room} (RFC 5321's 64 octets)"
        )
    return value


def _check_bounce_address(settings: SendSettings, path: Path, text: str) -> None:
    if not settings.bounce_address:
        return
    line = line_in_table(text, ("send",), "bounce_address")
    try:
        check_bounce_address(settings.bounce_address)
    except ValueError as exc:
        raise ConfigError(str(exc), path=path, line=line) from None
    if not settings.unsubscribe_secret_env:
        raise ConfigError(
            "'send.bounce_address' needs a signing key: 'send.unsubscribe_secret_env' is not set",
            path=path,
            line=line,
            hint='add unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET" to [send]: the '
            "one key signs the unsubscribe links and the bounce addresses",
        )


def _inbox_settings(table: dict[str, Any], path: Path, text: str) -> InboxSettings:
    """``[inbox]``, its types already checked; each error at its line."""

    def error(key: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, path=path, line=line_in_table(text, ("inbox",), key), hint=hint)

    values = {key: value for key, value in table.items() if value != ""}
    if "timeout" in values:
        values["timeout"] = float(values["timeout"])
    inbox = InboxSettings(**values)
    if inbox.path and inbox.host:
        raise error(
            "host", "'inbox' has both 'path' and 'host'", "keep one: a local mailbox or IMAP"
        )
    for key, choices in (("security", ("tls", "starttls")), ("processed", ("move", "flag"))):
        if getattr(inbox, key) not in choices:
            raise error(key, f"'inbox.{key}' must be one of {', '.join(choices)}")
    if not 0 <= inbox.port <= 65535:
        raise error("port", f"'inbox.port' must be a port number, not {inbox.port}")
    if inbox.soft_bounce_limit < 1:
        raise error("soft_bounce_limit", "'inbox.soft_bounce_limit' must be 1 or more")
    if not (math.isfinite(inbox.timeout) and inbox.timeout > 0):
        raise error("timeout", "'inbox.timeout' must be more than 0 seconds")
    if inbox.password_env and not _ENV_NAME.match(inbox.password_env):
        raise error(
            "password_env",
            "'inbox.password_env' must name an environment variable, not hold a secret",
            hint='e.g. password_env = "PRESSDIST_INBOX_PASSWORD"',
        )
    if "@" in inbox.host or "/" in inbox.host:
        # Said without the value: "user:password@host" would print the password.
        raise error(
            "host",
            "'inbox.host' must be a host name or an address, nothing else",
            "the user goes into 'username', the password into the environment variable "
            "'password_env' names",
        )
    if inbox.host and not inbox.username:
        raise error("host", "'inbox' has a host but no 'username'")
    if not inbox.processed_folder.strip() or inbox.processed_folder.strip("/") == "":
        raise error("processed_folder", "'inbox.processed_folder' must name a folder")
    return inbox


# Placeholders an unsubscribe URL may hold, filled per recipient by mail.unsubscribe.
UNSUBSCRIBE_PLACEHOLDERS = ("token", "email")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# RFC 3986 characters without the quote and the comma (a List-Unsubscribe
# parser may split there), plus the braces of a placeholder.
_URL_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&()*+;=%{}]*$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# Anything that would end the address or add a second one, in a header or a mailto: URI.
_NOT_IN_MAILTO = re.compile(r"[\s<>(),;:\"'\[\]\\?&%/=]")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_unsubscribe_url(url: str) -> None:
    """Refuse (ValueError saying why) a URL that may not become a link in every mail.

    It goes into a header between ``<>`` and into an ``href``: only https (http
    only for this machine, for tests), a host, the characters of a URL, and no
    placeholder but ``{token}`` and ``{email}``, outside the host.
    """
    if not url.isascii() or not _URL_CHARS.match(url):
        bad = next(c for c in url if not c.isascii() or not _URL_CHARS.match(c))
        raise ValueError(
            f"unsubscribe URL {url!r} contains {bad!r}; a URL here has no spaces, quotes, "
            "commas, angle brackets or non-ASCII characters (write a host in its xn-- form)"
        )
    if re.search(r"%(?![0-9A-Fa-f]{2})", url):
        raise ValueError(f"unsubscribe URL {url!r} has a '%' that starts no %XX escape")
    names = _PLACEHOLDER.findall(url)
    unknown = [n for n in names if n not in UNSUBSCRIBE_PLACEHOLDERS]
    if unknown or "{" in _PLACEHOLDER.sub("", url) or "}" in _PLACEHOLDER.sub("", url):
        shown = f"{{{unknown[0]}}}" if unknown else "a stray brace"
        raise ValueError(
            f"unsubscribe URL {url!r} has {shown}; the placeholders are {{token}} and {{email}}"
        )
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("https", "http") or not host:
        raise ValueError(f"unsubscribe URL {url!r} must be https://HOST/...")
    if parts.scheme.lower() == "http" and host not in _LOCAL_HOSTS:
        raise ValueError(
            f"unsubscribe URL {url!r} must be https (http only for localhost, in tests)"
        )
    if "@" in parts.netloc or "{" in parts.netloc:
        raise ValueError(f"unsubscribe URL {url!r}: the host may hold no user name or placeholder")
    try:
        _ = parts.port  # raises for a port that is not a number in range
    except ValueError:
        raise ValueError(f"unsubscribe URL {url!r} has an invalid port") from None


def check_unsubscribe_mailto(value: str) -> str:
    """The one address of ``unsubscribe_mailto`` (``mailto:`` dropped), or ValueError.

    Only its shape is checked here: one address and nothing that could end it
    or add a header entry. Its syntax is ``mail.addresses``' business.
    """
    addr = value[len("mailto:") :] if value.lower().startswith("mailto:") else value
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or "@" in local or _NOT_IN_MAILTO.search(addr):
        raise ValueError(
            f"unsubscribe_mailto {value!r} must be one address such as abmelden@example.org"
        )
    return addr


def _check_unsubscribe(settings: SendSettings, path: Path, text: str) -> None:
    """The unsubscribe keys of ``[send]``, each error at its line."""

    def error(key: str, message: str, hint: str | None = None) -> ConfigError:
        line = line_in_table(text, ("send",), key)
        return ConfigError(message, path=path, line=line, hint=hint)

    try:
        if settings.unsubscribe_url:
            check_unsubscribe_url(settings.unsubscribe_url)
    except ValueError as exc:
        raise error("unsubscribe_url", str(exc)) from None
    try:
        if settings.unsubscribe_mailto:
            check_unsubscribe_mailto(settings.unsubscribe_mailto)
    except ValueError as exc:
        raise error(
            "unsubscribe_mailto", str(exc), "write the address alone: no name, no <>, no ?subject"
        ) from None
    env = settings.unsubscribe_secret_env
    if env and not _ENV_NAME.match(env):
        raise error(
            "unsubscribe_secret_env",
            "'send.unsubscribe_secret_env' must name an environment variable, not hold a secret",
            hint='e.g. unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET"',
        )
    if "{token}" in settings.unsubscribe_url and not env:
        raise error(
            "unsubscribe_url",
            "'send.unsubscribe_url' uses {token} but 'send.unsubscribe_secret_env' is not set",
            hint='add unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET" to [send] '
            "and export that variable with a long random value",
        )
    if settings.unsubscribe_max_age_days < 1:
        raise error(
            "unsubscribe_max_age_days",
            f"'send.unsubscribe_max_age_days' must be 1 or more, "
            f"not {settings.unsubscribe_max_age_days}",
        )


@dataclass(frozen=True)
class GatewayConfig:
    """One ``[gateways.NAME]`` table, for the gateway its ``type`` names to read.

    What the other keys mean is the gateway module's business
    (``sending.gateway.build``); this value only knows where the table is, so
    that every error about one of its keys can name that key's line.
    """

    name: str
    type: str  # as written; the registry refuses one it does not know
    table: Mapping[str, Any]  # every key as written, ``type`` included
    path: Path  # the pressdist.toml the table is in

    @classmethod
    def from_table(cls, name: str, table: Any, path: Path) -> GatewayConfig:
        if not isinstance(table, dict):
            raise ConfigError(
                f"'gateways.{name}' must be a table",
                path=path,
                line=config_line(path, ("gateways",), name),
            )
        if "type" not in table:
            raise ConfigError(
                f"gateway '{name}' needs a 'type' (maildir, smtp or http)",
                path=path,
                line=config_line(path, ("gateways", name)),
            )
        return cls(name, table["type"], MappingProxyType(dict(table)), path)

    def line(self, key: str | None = None) -> int | None:
        """The line of ``key`` in this table (without a key or when absent: its header)."""
        return config_line(self.path, ("gateways", self.name), key)


def validate_release_id(release_id: str) -> str:
    """Release ids are file stems: lowercase letters, digits and single dashes."""
    return _file_stem(release_id, "release id", "e.g. 2019-11-04-isa-foshan")


def _file_stem(name: str, what: str, example: str) -> str:
    if not _ID.match(name or ""):
        raise InputError(
            f"invalid {what} {name!r}", hint=f"use lowercase letters, digits and '-', {example}"
        )
    return name


def _configured(code: str, configured: list[Language]) -> Language | None:
    """The configured Language ``code`` names, in any spelling (``zh-cn``); None if none."""
    try:
        language = Language.parse(code)
    except ValueError:
        return None
    return language if language in configured else None


class Workspace:
    """A press office's folder: pressdist.toml plus releases/, translations/, recipients/."""

    def __init__(self, root: Path, config: Config) -> None:
        self.root = root
        self.config = config

    @classmethod
    def open(cls, root: Path | str) -> Workspace:
        root = Path(root).resolve()
        path = root / CONFIG_NAME
        if not path.is_file():
            raise ConfigError(
                f"no {CONFIG_NAME} here", path=root, hint="run `pressdist init` to create one"
            )
        return cls(root, load_config(path))

    @classmethod
    def find(cls, start: Path | str | None = None) -> Workspace:
        """The workspace containing ``start`` (default: the current directory)."""
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_NAME).is_file():
                return cls.open(folder)
        raise ConfigError(
            f"not inside a pressdist workspace (no {CONFIG_NAME} in {here} or above)",
            hint="run `pressdist init`, or pass --workspace DIR",
        )

    # Layout -----------------------------------------------------------------
    @property
    def releases_dir(self) -> Path:
        return self.root / "releases"

    @property
    def translations_dir(self) -> Path:
        return self.root / "translations"

    @property
    def recipients_dir(self) -> Path:
        return self.root / "recipients"

    @property
    def state_dir(self) -> Path:
        """Derived, rebuildable state (journal, memory index); never edited by hand."""
        return self.root / ".pressdist"

    def language_dir(self, language: str) -> Path:
        return self.translations_dir / Language.parse(language)

    def language(self, code: str) -> Language:
        """``code`` as a Language of the workspace; refused unless releases exist in it."""
        language = _configured(code, self.config.all_languages)
        if language is None:
            language = spelling(code)
            raise ConfigError(
                f"language {language} is not configured",
                path=self.config.path,
                hint="configured: "
                + ", ".join(self.config.all_languages)
                + "; add a language to 'languages' in pressdist.toml",
            )
        return language

    def target_language(self, code: str) -> Language:
        """``code`` as a Language of the workspace; refused unless releases go into it."""
        language = _configured(code, self.config.languages)
        if language is None:
            raise InputError(
                f"{code!r} is not a target language of this workspace",
                path=self.config.path,
                hint="languages: " + ", ".join(self.config.languages),
            )
        return language

    def release_path(self, release_id: str) -> Path:
        return self.releases_dir / f"{validate_release_id(release_id)}.md"

    def po_path(self, release_id: str, language: str) -> Path:
        return self.language_dir(language) / f"{validate_release_id(release_id)}.po"

    def list_path(self, name: str) -> Path:
        """recipients/<name>.csv; ``name`` may also be a path to a CSV file."""
        p = Path(name)
        if p.suffix.lower() == ".csv" or len(p.parts) > 1:
            return p if p.is_absolute() else (Path.cwd() / p)
        stem = _file_stem(name, "list name", "e.g. presse, or give the file: recipients/NAME.csv")
        return self.recipients_dir / f"{stem}.csv"

    def release_ids(self) -> list[str]:
        if not self.releases_dir.is_dir():
            return []
        return sorted(p.stem for p in self.releases_dir.glob("*.md") if _ID.match(p.stem))


_CONFIG_TEMPLATE = '''\
# pressdist workspace configuration. Every key is optional except where noted;
# unknown keys are refused, so a typo never goes unnoticed.

# Who sends: shown in From and in the mails' footer.
organisation = {organisation}
sender = {sender}
# reply_to = "redaktion@example.org"

# The language releases are written in, and the languages they are translated into
# (gettext codes: translations/<code>/ holds the .po files).
source_language = "de"
languages = ["en", "zh_CN"]

# Default contact block, used by releases that have none of their own.
contact = """
"""

[memory]
# Similarity (percent) from which a memory match pre-fills a translation as fuzzy.
threshold = 75

[readiness]
# A language is sent only when this share of entries (percent) is translated...
min_translated = 100
# ...fuzzy entries count as untranslated unless this is true...
allow_fuzzy = false
# ...and warning-level check findings do not block sending unless this is false.
allow_warnings = true

[fallback]
# Where a reader goes when their language is not available or not ready.
# default = ["en", "de"]
# zh_CN = ["en", "de"]

[send]
gateway = "outbox"
max_attempts = 5
# Signed per recipient: {{token}} says who and which list, and cannot be forged.
# unsubscribe_url = "https://example.org/press/unsubscribe?t={{token}}"
# unsubscribe_mailto = "unsubscribe@example.org"
# unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET"

[gateways.outbox]
# The default gateway writes every mail into a Maildir; no server needed.
type = "maildir"
path = "outbox"

# [gateways.office]
# type = "smtp"
# host = "mail.example.org"
# port = 587
# security = "starttls"
# username = "press"
# password_env = "PRESSDIST_SMTP_PASSWORD"
'''


def init_workspace(directory: Path, *, organisation: str = "", sender: str = "") -> Path:
    """Create an empty workspace in ``directory``; refuse to overwrite an existing one."""
    directory = Path(directory)
    cfg = directory / CONFIG_NAME
    if cfg.exists():
        raise ConfigError("a workspace already exists here", path=cfg)
    if directory.exists() and not directory.is_dir():
        raise InputError("not a directory", path=directory)
    for sub in ("releases", "translations", "recipients"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    atomic_write(
        cfg,
        _CONFIG_TEMPLATE.format(
            # JSON strings are valid TOML strings: quotes and backslashes escaped.
            organisation=json.dumps(
                organisation or "Example City Press Office", ensure_ascii=False
            ),
            sender=json.dumps(sender or "press@example.org", ensure_ascii=False),
        ),
    )
    return cfg
