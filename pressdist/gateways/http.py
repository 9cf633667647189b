"""The ``http`` gateway: hand each message to a mail service over its HTTP API.

Owns two dialects of "here is a finished message for one recipient":

- ``generic`` — pressdist's own JSON contract (docs/gateways.md), for an
  office's relay or a small adapter in front of any provider;
- ``mailgun`` — Mailgun's ``POST /v3/<domain>/messages.mime``, exactly as its
  API reference describes it.

Both send the complete MIME message pressdist rendered, so what the recipient
gets does not depend on the provider's templating. Owns keep-alive connections
and a concurrency limit (httpx), TLS verification, and reading status codes as
delivery outcomes; it does not retry (the journal schedules retries, honouring
``Retry-After``). For `pressdist serve` it reads the key a mailgun gateway's
webhooks are signed with; what comes back from Mailgun is ``inbox.mailgun``'s.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

# httpx costs ~140 ms to import (python -X importtime); the registry imports
# this module only when an http gateway is built, so no other command pays it.
import httpx

from pressdist.errors import GatewayError
from pressdist.gateways._settings import Table
from pressdist.sending.gateway import Envelope, GatewayBase, Outcome, Result, Scope
from pressdist.version import __version__
from pressdist.workspace import GatewayConfig

_KEYS = {
    "type",
    "api",
    "url",
    "domain",
    "token_env",
    "concurrency",
    "timeout",
    "ca_file",
    "webhook_signing_key_env",  # mailgun: the key its webhooks are signed with (`pressdist serve`)
}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
MAILGUN_US = "https://api.mailgun.net"
# 408 Request Timeout, 425 Too Early, 429 Too Many Requests: the request was
# fine, the moment was not. 401/403 mean our key is refused: not the
# recipient's fault, so the delivery waits for a fixed key rather than failing.
_TRANSIENT_4XX = {401, 403, 408, 425, 429}


@dataclass(frozen=True)
class HttpSettings:
    name: str
    api: str  # "generic" or "mailgun": the shape of the request
    url: str
    domain: str | None = None  # mailgun only
    token: str | None = field(default=None, repr=False)  # from the environment, never the file
    concurrency: int = 8
    timeout: float = 30.0
    ca_file: Path | None = None


class HttpGateway(GatewayBase):
    """Posts one request per message; ``settings.api`` decides the request's shape."""

    def __init__(self, settings: HttpSettings) -> None:
        super().__init__(settings.name, settings.concurrency)
        self.settings = settings
        self.url = settings.url.rstrip("/") if settings.api == "mailgun" else settings.url
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:  # never shows the token
        return f"HttpGateway({self.name!r}, {self.settings.api}, {self.endpoint!r})"

    @property
    def endpoint(self) -> str:
        if self.settings.api == "mailgun":
            return f"{self.url}/v3/{quote(self.settings.domain or '', safe='')}/messages.mime"
        return self.url

    # Session ------------------------------------------------------------------
    async def _open(self) -> None:
        settings = self.settings
        headers = {"User-Agent": f"pressdist/{__version__}"}
        auth: httpx.Auth | None = None
        if settings.api == "mailgun":
            auth = httpx.BasicAuth("api", settings.token or "")
        elif settings.token:
            headers["Authorization"] = f"Bearer {settings.token}"
        ca_file = settings.ca_file
        verify = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self._client = httpx.AsyncClient(
            headers=headers,
            auth=auth,
            verify=verify,
            timeout=httpx.Timeout(settings.timeout),
            limits=httpx.Limits(
                max_connections=self.settings.concurrency,
                max_keepalive_connections=self.settings.concurrency,
            ),
            follow_redirects=False,
        )
        try:
            await self._check()
        except BaseException:
            await self._close()
            raise

    async def _check(self) -> None:
        """One cheap authenticated request, so a wrong key or URL stops the run
        before the first message instead of failing every delivery."""
        assert self._client is not None
        where = f"gateway '{self.name}' ({self.endpoint})"
        try:
            if self.settings.api == "mailgun":
                url = f"{self.url}/v4/domains/{quote(self.settings.domain or '', safe='')}"
                response = await self._client.get(url)
            else:
                response = await self._client.request("OPTIONS", self.url)
        except httpx.ConnectError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY" in str(exc):
                raise GatewayError(
                    f"{where}: TLS certificate not trusted: {exc}",
                    hint="for a server with a private CA, set ca_file to that CA's certificate",
                ) from None
            raise GatewayError(
                f"{where}: cannot connect: {exc or type(exc).__name__}",
                hint="check 'url' and that the service is reachable",
            ) from None
        except httpx.TimeoutException:
            raise GatewayError(
                f"{where}: no answer within {self.settings.timeout:g} s",
                hint="check 'url', or raise 'timeout'",
            ) from None
        except httpx.HTTPError as exc:
            raise GatewayError(f"{where}: {exc or type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise GatewayError(
                f"{where}: the service refused the key ({response.status_code})",
                hint="check the variable that 'token_env' names",
            )
        if 300 <= response.status_code < 400:
            raise GatewayError(
                f"{where}: the service redirects to {response.headers.get('Location', '?')}",
                hint="set 'url' to the address the service really answers at (redirects "
                "are not followed, so the key never travels somewhere unchecked)",
            )
        if self.settings.api == "mailgun" and response.status_code == 404:
            raise GatewayError(
                f"{where}: Mailgun does not know the domain {self.settings.domain!r}",
                hint=f"check 'domain'; domains in the EU region need url = "
                f'"https://api.eu.mailgun.net" (default {MAILGUN_US})',
            )

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # Delivery -----------------------------------------------------------------
    async def _send(self, envelope: Envelope) -> Result:
        assert self._client is not None
        try:
            if self.settings.api == "mailgun":
                response = await self._client.post(
                    self.endpoint,
                    data={"to": envelope.recipient},
                    files={"message": ("message.mime", envelope.data, "message/rfc822")},
                )
            else:
                response = await self._client.post(
                    self.url,
                    content=generic_body(envelope),
                    headers={
                        "Content-Type": "application/json",
                        "Idempotency-Key": envelope.message_id,
                    },
                )
        except httpx.TimeoutException:
            return Result(
                envelope, Outcome.TRANSIENT, f"no answer within {self.settings.timeout:g} s"
            )
        except httpx.HTTPError as exc:  # reset, refused, protocol error
            reason = str(exc) or type(exc).__name__
            return Result(envelope, Outcome.TRANSIENT, f"connection failed: {reason}")
        return classify(envelope, response.status_code, response.headers, response.content)


def generic_body(envelope: Envelope) -> bytes:
    """The JSON document of the generic contract (docs/gateways.md)."""
    return json.dumps(
        {
            "message_id": envelope.message_id,
            "from": envelope.sender,
            "to": envelope.recipient,
            "mime": base64.b64encode(envelope.data).decode("ascii"),
        },
        ensure_ascii=False,
    ).encode("utf-8")


def classify(envelope: Envelope, status: int, headers: Any, body: bytes) -> Result:
    """A response as an outcome: 2xx accepted, 408/425/429/5xx later, other 4xx never.

    A status code never says whom a refusal is about: a 400 may name a bad
    address or a request the service takes from nobody (a 413 too large, a
    422 sender domain not verified). So each is unclear, and the same one for
    several recipients in a row stops the run (``sending.refusals``).
    """
    detail = f"{status} {summary(body)}".strip()
    if 200 <= status < 300:
        return Result(envelope, Outcome.ACCEPTED, detail)
    if status in _TRANSIENT_4XX or status >= 500:
        return Result(envelope, Outcome.TRANSIENT, detail, retry_after(headers.get("Retry-After")))
    return Result(envelope, Outcome.PERMANENT, detail, scope=Scope.UNCLEAR, code=f"HTTP {status}")


def retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date
    (RFC 9110 10.2.3); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def summary(body: bytes) -> str:
    """The service's own words, short: a JSON message/id, else the text."""
    text = body[:2000].decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        parts = [str(data[k]) for k in ("message", "error", "id") if data.get(k)]
        if parts:
            text = " ".join(parts)
    return " ".join(text.split())[:200]


def settings(config: GatewayConfig, *, root: Path) -> HttpSettings:
    table = Table(config, known=_KEYS)
    name = config.name
    api = table.choice("api", "generic", ("generic", "mailgun"))
    if api == "mailgun":
        url = table.text("url", MAILGUN_US, required=True)
        domain = table.text("domain", required=True)
        token = table.secret("token_env", required=True)
        # Only its name is checked here: the key itself is read where the
        # webhooks are answered (webhook_signing_key), never by send or inbox.
        table.text("webhook_signing_key_env")
    else:
        url = table.text("url", required=True)
        if "domain" in config.table:
            raise table.error(
                f"'gateways.{name}.domain' is only for api = \"mailgun\"", key="domain"
            )
        domain = None
        token = table.secret("token_env")
        if "webhook_signing_key_env" in config.table:
            raise table.error(
                f"'gateways.{name}.webhook_signing_key_env' is only for api = \"mailgun\"",
                key="webhook_signing_key_env",
            )
    assert url is not None
    parts = urlsplit(url)
    if parts.password is not None:
        # Said without the URL: what follows the ':' is the password.
        raise table.error(
            f"'gateways.{name}.url' holds a password (user:password@)",
            key="url",
            hint="take it out of the URL and put the key into the environment variable "
            "that 'token_env' names; secrets never go into pressdist.toml",
        )
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise table.error(f"'gateways.{name}.url' must be an https:// URL, not {url!r}", key="url")
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        raise table.error(
            f"'gateways.{name}.url' would send mail and the key unencrypted to {parts.hostname}",
            key="url",
            hint="use https://; plain http is allowed only for a service on this machine",
        )
    ca_file = table.ca_file("ca_file", root)
    concurrency = table.number("concurrency", HttpSettings.concurrency, minimum=1, integer=True)
    timeout = table.number("timeout", HttpSettings.timeout, minimum=1)
    return HttpSettings(
        name,
        api=api,
        url=url,
        domain=domain,
        token=token,
        concurrency=int(concurrency or HttpSettings.concurrency),
        timeout=float(timeout or HttpSettings.timeout),
        ca_file=ca_file,
    )


def webhook_signing_key(config: GatewayConfig) -> bytes | None:
    """The key Mailgun signs this gateway's webhooks with; None when none is configured.

    Read from the environment variable ``webhook_signing_key_env`` names, at the
    moment it is asked for: only `pressdist serve` asks, so sending and reading
    events never need the variable set.
    """
    if "webhook_signing_key_env" not in config.table:
        return None
    table = Table(config, known=_KEYS)
    if table.choice("api", "generic", ("generic", "mailgun")) != "mailgun":
        raise table.error(
            f"'gateways.{config.name}.webhook_signing_key_env' is only for api = \"mailgun\"",
            key="webhook_signing_key_env",
        )
    secret = table.secret("webhook_signing_key_env", required=True)
    assert secret is not None
    return secret.encode("utf-8")


def from_settings(config: GatewayConfig, *, root: Path) -> HttpGateway:
    return HttpGateway(settings(config, root=root))
