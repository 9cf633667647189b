"""The ``smtp`` gateway: hand each message to the office's mail server.

Owns the policy around the wire protocol in ``_smtp_client``: reading the
``[gateways.NAME]`` table, TLS (verified, optionally against a private CA),
login, a small pool of long-lived connections shared by concurrent sends, the
messages-per-minute limit, choosing SMTPUTF8 / 8BITMIME / SIZE per message,
and classifying every reply as RFC 5321 section 4.2.1 says: 2xx accepted, 4xx
try again, 5xx never. Whom a 5xx is about (``refusal``) follows from the
command it answered and its enhanced status code (RFC 3463): only one about the
address fails the recipient; one about the sender, the message or the server
is the run's problem. A lost connection or a timeout is a transient failure
and the connection is made again for the next message.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from pressdist.errors import GatewayError
from pressdist.gateways._settings import Table
from pressdist.gateways._smtp_client import (
    SmtpConnection,
    SmtpDropped,
    SmtpRefused,
    TransactionReply,
    dot_stuff,
)
from pressdist.mail.addresses import InvalidDomain, ascii_form
from pressdist.sending.gateway import Envelope, GatewayBase, Outcome, Result, Scope
from pressdist.workspace import GatewayConfig

_KEYS = {
    "type",
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "connections",
    "rate_per_minute",
    "timeout",
    "ca_file",
    "helo",
}
_DEFAULT_PORT = {"starttls": 587, "ssl": 465, "none": 25}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
# Anything that could end an SMTP command or the <...> around an address.
_UNSAFE_ADDRESS = re.compile(r"[\x00-\x20<>\x7f]")
_NETWORK_ERRORS = (OSError, TimeoutError, ssl.SSLError, SmtpDropped)


@dataclass(frozen=True)
class SmtpSettings:
    name: str
    host: str
    port: int
    security: str  # "starttls", "ssl" or "none" (this machine only)
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # from the environment only
    connections: int = 4
    rate_per_minute: float | None = None
    timeout: float = 30.0
    ca_file: Path | None = None
    helo: str | None = None


class SmtpGateway(GatewayBase):
    """Delivers through an SMTP server over a pool of reused connections."""

    def __init__(self, settings: SmtpSettings) -> None:
        # Two per connection: while one message's content is on the wire, the
        # next one's commands can ride in the same write (see _work).
        super().__init__(settings.name, 2 * settings.connections)
        self.settings = settings
        rate = settings.rate_per_minute
        self._interval = 60.0 / rate if rate else 0.0
        self._next_slot = 0.0
        self._jobs: asyncio.Queue[_Job | None] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._all: list[SmtpConnection] = []

    def __repr__(self) -> str:  # never shows the password
        s = self.settings
        return f"SmtpGateway({self.name!r}, {s.host}:{s.port}, {s.security})"

    @property
    def address(self) -> str:
        host, port = self.settings.host, self.settings.port
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    # Session ------------------------------------------------------------------
    def _tls_context(self) -> ssl.SSLContext | None:
        if self.settings.security == "none":
            return None
        # create_default_context verifies the chain and the host name; with a
        # ca_file it trusts that CA only, which is what a private CA means.
        ca_file = self.settings.ca_file
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def _new_connection(self, tls: ssl.SSLContext | None) -> SmtpConnection:
        s = self.settings
        return SmtpConnection(
            s.host,
            s.port,
            tls=tls,
            starttls=s.security == "starttls",
            helo=s.helo,
            timeout=s.timeout,
        )

    async def _connect(self, conn: SmtpConnection) -> None:
        username, password = self.settings.username, self.settings.password
        try:
            await conn.connect()
            if username is not None:
                if not conn.capabilities.auth_mechanisms:
                    raise SmtpRefused("AUTH", 0, "the server offers no login (no AUTH in EHLO)")
                assert password is not None
                await conn.login(username, password)
        except BaseException:
            conn.abort()
            raise

    async def _open(self) -> None:
        tls = self._tls_context()
        self._all = [self._new_connection(tls) for _ in range(self.settings.connections)]
        try:
            await self._connect(self._all[0])
        except (*_NETWORK_ERRORS, SmtpRefused) as exc:
            raise self._unusable(exc) from None
        # The rest in parallel; a server that allows fewer sessions than asked
        # for just gets fewer, as long as one works.
        outcomes = await asyncio.gather(
            *(self._connect(c) for c in self._all[1:]), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome
        self._all = [self._all[0]] + [
            c for c, o in zip(self._all[1:], outcomes, strict=True) if o is None
        ]
        self._jobs = asyncio.Queue()
        self._workers = [asyncio.create_task(self._work(conn)) for conn in self._all]

    def _unusable(self, exc: BaseException) -> GatewayError:
        where = f"gateway '{self.name}' ({self.address})"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return GatewayError(
                f"{where}: TLS certificate not trusted: {exc.verify_message}",
                hint="for a server with a private CA, set ca_file to that CA's certificate",
            )
        if isinstance(exc, ssl.SSLError):
            return GatewayError(f"{where}: TLS handshake failed: {exc.reason or exc}")
        if isinstance(exc, TimeoutError):
            return GatewayError(
                f"{where}: no answer within {self.settings.timeout:g} s",
                hint="check host and port, or raise 'timeout'",
            )
        if isinstance(exc, SmtpRefused) and exc.stage == "AUTH":
            who = self.settings.username
            return GatewayError(
                f"{where}: login as {who!r} refused: {exc.code or ''} {exc.text}".strip(),
                hint="check 'username' and the password in the variable 'password_env' names",
            )
        if isinstance(exc, SmtpRefused):
            return GatewayError(f"{where}: {exc.stage} refused: {exc.code or ''} {exc.text}")
        if isinstance(exc, SmtpDropped):
            return GatewayError(f"{where}: the server closed the connection ({exc})")
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return GatewayError(
            f"{where}: cannot connect: {reason}",
            hint="check 'host' and 'port' and that the mail server is running",
        )

    async def _close(self) -> None:
        jobs, workers, self._jobs, self._workers = self._jobs, self._workers, None, []
        if jobs is not None:
            for _ in workers:
                jobs.put_nowait(None)
            await asyncio.gather(*workers, return_exceptions=True)
        conns, self._all = self._all, []
        await asyncio.gather(*(c.quit() for c in conns), return_exceptions=True)

    # Delivery -----------------------------------------------------------------
    async def _pace(self) -> None:
        if not self._interval:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _send(self, envelope: Envelope) -> Result:
        assert self._jobs is not None
        for address, scope in ((envelope.sender, Scope.SENDER), (envelope.recipient, None)):
            if _UNSAFE_ADDRESS.search(address) or "@" not in address:
                return Result(
                    envelope,
                    Outcome.PERMANENT,
                    f"not a valid address: {address!r}",
                    scope=scope or Scope.RECIPIENT,
                )
        await self._pace()
        job = _Job(envelope, asyncio.get_running_loop().create_future())
        self._jobs.put_nowait(job)
        return await job.future

    async def _work(self, conn: SmtpConnection) -> None:
        """Deliver jobs from the shared queue over one connection until told to stop.

        With PIPELINING, the commands of the next waiting message go out in
        the same write as the content of the current one, so a message costs
        one write and about one round trip. Anything that breaks the session
        fails the messages on the wire as transient and reconnects for the
        next one; a message whose commands were sent but whose content was
        not is simply tried again on the new session.
        """
        assert self._jobs is not None
        jobs = self._jobs
        ahead: _Job | None = None  # next job, its commands already written if `ahead_sent`
        ahead_sent = False
        while True:
            if ahead is not None:
                job, sent, ahead, ahead_sent = ahead, ahead_sent, None, False
            else:
                job, sent = await jobs.get(), False
            if job is None:
                return
            if job.future.done():  # the caller gave up (cancelled)
                if sent:  # its commands are on the wire: the session is out of step
                    conn.abort()
                continue
            following: _Job | None = None
            try:
                if not sent:
                    if not await self._ready(conn, job):
                        continue
                    if not conn.pipelining:
                        job.settle(await self._one_at_a_time(conn, job))
                        continue
                    commands, job.reset = conn.envelope_commands(*job.command_args)
                    conn.write(commands)
                async with asyncio.timeout(self.settings.timeout):
                    failed = await conn.envelope_replies(job.reset)
                    if failed is not None:
                        job.settle(self._result(conn, job, failed))
                        continue
                    following = self._take_ready(conn, jobs)
                    if following is not None:
                        commands, following.reset = conn.envelope_commands(*following.command_args)
                        conn.write(job.content + commands)
                    else:
                        conn.write(job.content)
                    await conn.drain()
                    answer = await conn.content_reply()
                job.settle(self._result(conn, job, answer))
                if following is not None:
                    ahead, ahead_sent = following, conn.connected
            except TimeoutError:
                conn.abort()
                job.settle(Result(job.envelope, Outcome.TRANSIENT, self._silent()))
                ahead, ahead_sent = following, False
            except _NETWORK_ERRORS as exc:
                conn.abort()
                job.settle(Result(job.envelope, Outcome.TRANSIENT, _lost(exc)))
                ahead, ahead_sent = following, False
            except asyncio.CancelledError:
                conn.abort()
                job.cancel()
                if following is not None:
                    following.cancel()
                raise
            except Exception as exc:  # a bug must not leave a caller waiting forever
                conn.abort()
                job.settle(Result(job.envelope, Outcome.TRANSIENT, f"internal error: {exc!r}"))
                if following is not None:
                    following.settle(Result(following.envelope, Outcome.TRANSIENT, "not sent"))

    def _silent(self) -> str:
        return f"no reply within {self.settings.timeout:g} s"

    async def _ready(self, conn: SmtpConnection, job: _Job) -> bool:
        """Connect if needed and prepare the job; settle it and say False if it cannot go."""
        if not conn.connected:
            try:
                await self._connect(conn)
            except (*_NETWORK_ERRORS, SmtpRefused) as exc:
                job.settle(Result(job.envelope, Outcome.TRANSIENT, str(self._unusable(exc))))
                return False
        refusal = _prepare(conn, job)
        if refusal is not None:
            job.settle(refusal)
            return False
        return True

    def _take_ready(self, conn: SmtpConnection, jobs: asyncio.Queue[_Job | None]) -> _Job | None:
        """The next waiting job that can ride along, or None (never waits)."""
        while not jobs.empty():
            job = jobs.get_nowait()
            if job is None:
                jobs.put_nowait(None)  # the stop signal is for after the content
                return None
            if job.future.done():
                continue
            refusal = _prepare(conn, job)
            if refusal is None:
                return job
            job.settle(refusal)
        return None

    async def _one_at_a_time(self, conn: SmtpConnection, job: _Job) -> Result:
        try:
            answer = await conn.transaction(*job.command_args[:2], job.content, params=job.params)
        except TimeoutError:
            conn.abort()
            return Result(job.envelope, Outcome.TRANSIENT, self._silent())
        except _NETWORK_ERRORS as exc:
            conn.abort()
            return Result(job.envelope, Outcome.TRANSIENT, _lost(exc))
        return self._result(conn, job, answer)

    def _result(self, conn: SmtpConnection, job: _Job, answer: TransactionReply) -> Result:
        outcome, drop = classify(answer)
        if drop:
            conn.abort()
        if outcome is not Outcome.PERMANENT:
            return Result(job.envelope, outcome, _detail(answer))
        scope, code = refusal(answer)
        return Result(job.envelope, outcome, _detail(answer), scope=scope, code=code)


class _Job:
    """One envelope waiting for, or on, a connection."""

    __slots__ = ("envelope", "future", "sender", "recipient", "params", "content", "reset")

    def __init__(self, envelope: Envelope, future: asyncio.Future[Result]) -> None:
        self.envelope = envelope
        self.future = future
        self.sender = envelope.sender
        self.recipient = envelope.recipient
        self.params = b""
        self.content = b""
        self.reset = False

    @property
    def command_args(self) -> tuple[str, str, bytes]:
        return self.sender, self.recipient, self.params

    def settle(self, result: Result) -> None:
        if not self.future.done():
            self.future.set_result(result)

    def cancel(self) -> None:
        if not self.future.done():
            self.future.cancel()


def _prepare(conn: SmtpConnection, job: _Job) -> Result | None:
    """Fill in the job's MAIL FROM parameters and content for this server;
    a Result when the server cannot take the message at all."""
    caps = conn.capabilities
    envelope = job.envelope
    data = envelope.data
    params = b""
    if not (job.sender.isascii() and job.recipient.isascii()) or not _headers(data).isascii():
        if caps.has("SMTPUTF8"):
            params += b" SMTPUTF8"
        else:
            try:
                if not _headers(data).isascii():
                    raise UnicodeError("UTF-8 in the header section")
                job.sender = _ascii_address(envelope.sender)
                job.recipient = _ascii_address(envelope.recipient)
            except UnicodeError:
                return Result(
                    envelope,
                    Outcome.PERMANENT,
                    f"the server does not support SMTPUTF8 (RFC 6531), which "
                    f"{envelope.recipient} or this message's headers need",
                )
    if not data.isascii() and caps.has("8BITMIME"):
        params += b" BODY=8BITMIME"
    limit = caps.size_limit
    if limit is not None:
        if len(data) > limit:
            return Result(
                envelope,
                Outcome.PERMANENT,
                f"message of {len(data)} bytes exceeds the server's limit of {limit}",
                scope=Scope.MESSAGE,
                code="SIZE",
            )
        params += b" SIZE=%d" % len(data)
    job.params = params
    job.content = dot_stuff(data)
    return None


def _lost(exc: BaseException) -> str:
    return f"connection lost: {exc or type(exc).__name__}"


def classify(answer: TransactionReply) -> tuple[Outcome, bool]:
    """What a reply means for the delivery, and whether the session is finished."""
    code = answer.reply.code
    if 200 <= code < 300:
        return Outcome.ACCEPTED, False
    if code == 552 and answer.stage == "RCPT TO":
        # RFC 5321 4.5.3.1.10: 552 to RCPT is a full mailbox of old, meant as 452.
        return Outcome.TRANSIENT, False
    if 400 <= code < 500:
        return Outcome.TRANSIENT, code == 421  # 421: the server is closing the session
    if 500 <= code < 600:
        return Outcome.PERMANENT, False
    return Outcome.TRANSIENT, True  # a reply that makes no sense here


_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")


def refusal(answer: TransactionReply) -> tuple[Scope, str]:
    """Whom a permanent reply is about, and its code and enhanced status ("550 5.4.5").

    The command it answered says most: MAIL FROM comes before any recipient
    is named, DATA and the final dot answer for the message. Then the
    enhanced status (RFC 3463): X.1.x (address) and X.2.x (mailbox) are about
    the recipient, except X.1.7 and X.1.8, the sender's address, which
    Postfix checks at RCPT; X.3.x (mail system), X.4.x (network, routing,
    quotas such as "550 5.4.5 daily sending quota exceeded") and X.7.x
    (security, policy) are about the server or our account. 530 is RFC
    4954's "authentication required": our login, whatever the command.
    """
    code = answer.reply.code
    found = _ENHANCED.match(answer.reply.text.strip())
    status = found.group(0) if found else ""
    key = f"{code} {status}".strip()
    klass, detail = (int(found[2]), int(found[3])) if found else (0, 0)
    if answer.stage == "MAIL FROM" or code == 530 or (klass == 1 and detail in (7, 8)):
        return Scope.SENDER, key
    if answer.stage == "DATA":
        return Scope.MESSAGE, key
    if klass in (1, 2):
        return Scope.RECIPIENT, key
    if answer.stage == "end of data":
        return Scope.MESSAGE, key
    if klass in (3, 4, 7):
        return Scope.SERVER, key
    return Scope.UNCLEAR, key


def _detail(answer: TransactionReply) -> str:
    text = " ".join(answer.reply.text.split())
    if answer.stage == "end of data" and 200 <= answer.reply.code < 300:
        return f"{answer.reply.code} {text}".strip()
    return f"{answer.stage}: {answer.reply.code} {text}".strip()


def _headers(data: bytes) -> bytes:
    end = data.find(b"\r\n\r\n")
    return data if end < 0 else data[:end]


def _ascii_address(address: str) -> str:
    """The address with an A-label domain, for servers without SMTPUTF8.

    UnicodeError when it cannot be written in ASCII (a UTF-8 local part).
    """
    if address.isascii():
        return address
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise UnicodeError("non-ASCII local part")
    try:
        return f"{local}@{ascii_form(domain)}"
    except InvalidDomain as exc:
        raise UnicodeError(str(exc)) from None


def settings(config: GatewayConfig, *, root: Path) -> SmtpSettings:
    table = Table(config, known=_KEYS)
    name = config.name
    host = table.text("host", required=True)
    assert host is not None
    host = host.strip().strip("[]")
    if "@" in host or "/" in host:
        # Said without the value: "user:password@host" would print the password.
        raise table.error(
            f"'gateways.{name}.host' must be a host name or an address, nothing else",
            key="host",
            hint="the user goes into 'username', the password into the environment "
            "variable 'password_env' names",
        )
    security = table.choice("security", "starttls", ("starttls", "ssl", "none"))
    if security == "none" and host.lower() not in _LOCAL_HOSTS:
        raise table.error(
            f"'gateways.{name}.security = \"none\"' sends mail and passwords unencrypted; "
            f"it is allowed only for a server on this machine, not {host}",
            key="security",
            hint='use security = "starttls" (port 587) or "ssl" (port 465)',
        )
    port = int(table.number("port", _DEFAULT_PORT[security], minimum=1, integer=True) or 0)
    if port > 65535:
        raise table.error(f"'gateways.{name}.port' must be at most 65535, not {port}", key="port")
    username = table.text("username")
    if (username is None) != ("password_env" not in config.table):
        raise table.error(
            f"'gateways.{name}' needs both 'username' and 'password_env' for a login, or neither",
            key="username" if username is not None else "password_env",
        )
    password = table.secret("password_env") if username is not None else None
    helo = table.text("helo")
    if helo is not None and (not helo.isascii() or not helo or _UNSAFE_ADDRESS.search(helo)):
        raise table.error(f"'gateways.{name}.helo' must be a host name, not {helo!r}", key="helo")
    connections = table.number("connections", SmtpSettings.connections, minimum=1, integer=True)
    rate = table.number("rate_per_minute", None, minimum=1)
    timeout = table.number("timeout", SmtpSettings.timeout, minimum=1)
    ca_file = table.ca_file("ca_file", root)
    if ca_file is not None and security == "none":
        raise table.error(
            f'\'gateways.{name}.ca_file\' needs security = "starttls" or "ssl"', key="ca_file"
        )
    return SmtpSettings(
        name,
        host=host,
        port=port,
        security=security,
        username=username,
        password=password,
        connections=int(connections or SmtpSettings.connections),
        rate_per_minute=rate,
        timeout=float(timeout or SmtpSettings.timeout),
        ca_file=ca_file,
        helo=helo,
    )


def from_settings(config: GatewayConfig, *, root: Path) -> SmtpGateway:
    return SmtpGateway(settings(config, root=root))
