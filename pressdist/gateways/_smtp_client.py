"""One SMTP client connection: the wire protocol, nothing about policy.

Owns speaking RFC 5321 over asyncio streams: the greeting, EHLO and its
capabilities, STARTTLS (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954), one mail
transaction for one recipient with PIPELINING (RFC 2920), SMTPUTF8 (RFC 6531),
8BITMIME (RFC 6152), SIZE (RFC 1870), dot-stuffing, RSET and QUIT. It does not
decide what a reply means for a delivery (``smtp`` does) and keeps no pool.

Why not smtplib: it is blocking, sends one command per round trip and costs
more per message than building the message itself; asyncio lets a few
connections share one thread while the rest of ``send`` keeps rendering.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from dataclasses import dataclass, field


class SmtpDropped(Exception):
    """The connection is gone or unusable (closed, reset, garbled, timed out)."""


class SmtpRefused(Exception):
    """The server answered a session command (greeting, EHLO, AUTH) with an error."""

    def __init__(self, stage: str, code: int, text: str) -> None:
        super().__init__(f"{stage}: {code} {text}")
        self.stage = stage
        self.code = code
        self.text = text


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


@dataclass(frozen=True)
class TransactionReply:
    """The reply that decided a transaction, and the command it answered."""

    stage: str  # "MAIL FROM", "RCPT TO", "DATA" or "end of data"
    reply: Reply


@dataclass
class Capabilities:
    keywords: dict[str, str] = field(default_factory=dict)  # EHLO keyword -> parameters

    def has(self, keyword: str) -> bool:
        return keyword in self.keywords

    @property
    def auth_mechanisms(self) -> set[str]:
        return set(self.keywords.get("AUTH", "").upper().split())

    @property
    def size_limit(self) -> int | None:
        value = self.keywords.get("SIZE", "").strip()
        return int(value) if value.isdigit() and int(value) > 0 else None


def dot_stuff(data: bytes) -> bytes:
    """The message as DATA content, terminated by CRLF.CRLF (RFC 5321 4.5.2).

    Bytes operations only: this runs for every message and must stay cheap.
    Bare LF is turned into CRLF first, since servers disagree on what a bare LF
    ends (and a bare "\\n.\\r\\n" could otherwise end the data early).
    """
    if data.count(b"\n") != data.count(b"\r\n"):
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


class SmtpConnection:
    """A client session with one server; one transaction at a time."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None,
        starttls: bool,
        helo: str | None,
        timeout: float,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.starttls = starttls
        self.helo = helo
        self.timeout = timeout
        self.capabilities = Capabilities()
        self.greeting = ""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._needs_reset = False

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    # Session ------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the session up to an (optionally TLS-protected) EHLO.

        Raises OSError / ssl.SSLError for the network, SmtpRefused for an
        unwilling server and SmtpDropped for one that hangs up.
        """
        async with asyncio.timeout(self.timeout):
            direct_tls = self.tls if (self.tls is not None and not self.starttls) else None
            self._reader, self._writer = await asyncio.open_connection(
                self.host,
                self.port,
                ssl=direct_tls,
                server_hostname=self.host if direct_tls else None,
            )
            greeting = await self._reply()
            if greeting.code != 220:
                raise SmtpRefused("greeting", greeting.code, greeting.text)
            self.greeting = greeting.text
            await self._ehlo()
            if self.starttls:
                if not self.capabilities.has("STARTTLS"):
                    # Never fall back to plain text: that is the downgrade attack.
                    raise SmtpRefused("STARTTLS", 0, "the server does not offer STARTTLS")
                reply = await self.command(b"STARTTLS")
                if reply.code != 220:
                    raise SmtpRefused("STARTTLS", reply.code, reply.text)
                assert self.tls is not None
                await self._writer.start_tls(self.tls, server_hostname=self.host)
                # RFC 3207 4.2: forget everything learnt before the handshake.
                await self._ehlo()

    def _helo_name(self) -> str:
        if self.helo:
            return self.helo
        assert self._writer is not None
        # An address literal is the RFC 5321 answer for a client without a
        # name it can vouch for; guessing an FQDN could mean a DNS lookup.
        local = self._writer.get_extra_info("sockname")
        address = local[0] if local else "127.0.0.1"
        return f"[IPv6:{address}]" if ":" in address else f"[{address}]"

    async def _ehlo(self) -> None:
        name = self._helo_name().encode("ascii")
        reply = await self.command(b"EHLO " + name)
        if reply.code == 250:
            keywords: dict[str, str] = {}
            for line in reply.text.split("\n")[1:]:
                word, _, params = line.strip().partition(" ")
                word = word.upper()
                if word.startswith("AUTH="):  # pre-RFC 4954 servers
                    word, params = "AUTH", word[5:] + " " + params
                if word == "AUTH":  # both spellings may be listed: keep every mechanism
                    params = keywords.get("AUTH", "") + " " + params
                keywords[word] = params.strip()
            self.capabilities = Capabilities(keywords)
            return
        if 500 <= reply.code < 600:
            # A server from before ESMTP: HELO, and no extensions at all.
            reply = await self.command(b"HELO " + name)
            if reply.code == 250:
                self.capabilities = Capabilities()
                return
        raise SmtpRefused("EHLO", reply.code, reply.text)

    async def login(self, username: str, password: str) -> None:
        """AUTH PLAIN, else LOGIN; raise SmtpRefused when the server says no."""
        mechanisms = self.capabilities.auth_mechanisms
        user, secret = username.encode("utf-8"), password.encode("utf-8")
        async with asyncio.timeout(self.timeout):
            if "PLAIN" in mechanisms:
                token = base64.b64encode(b"\0" + user + b"\0" + secret)
                reply = await self.command(b"AUTH PLAIN " + token)
            elif "LOGIN" in mechanisms:
                reply = await self.command(b"AUTH LOGIN")
                if reply.code == 334:
                    reply = await self.command(base64.b64encode(user))
                if reply.code == 334:
                    reply = await self.command(base64.b64encode(secret))
            else:
                offered = " ".join(sorted(mechanisms)) or "none"
                raise SmtpRefused("AUTH", 0, f"no supported mechanism (server offers: {offered})")
            if reply.code != 235:
                raise SmtpRefused("AUTH", reply.code, reply.text)

    async def quit(self) -> None:
        """Say goodbye if the server still listens; never raise."""
        writer, reader = self._writer, self._reader
        self._writer = self._reader = None
        if writer is None:
            return
        try:
            if not writer.is_closing():
                async with asyncio.timeout(min(self.timeout, 5)):
                    writer.write(b"QUIT\r\n")
                    await writer.drain()
                    await self._read_reply_from(reader)
        except (OSError, SmtpDropped, TimeoutError, ssl.SSLError):
            pass
        finally:
            writer.close()
            try:
                async with asyncio.timeout(min(self.timeout, 5)):
                    await writer.wait_closed()
            except (OSError, TimeoutError, ssl.SSLError):
                pass

    def abort(self) -> None:
        """Drop the connection without ceremony (after an error or a timeout)."""
        writer = self._writer
        self._writer = self._reader = None
        self._needs_reset = False
        if writer is not None:
            writer.close()

    # Commands -----------------------------------------------------------------
    async def command(self, line: bytes) -> Reply:
        assert self._writer is not None
        self._writer.write(line + b"\r\n")
        await self._writer.drain()
        return await self._reply()

    async def _reply(self) -> Reply:
        return await self._read_reply_from(self._reader)

    @staticmethod
    async def _read_reply_from(reader: asyncio.StreamReader | None) -> Reply:
        if reader is None:
            raise SmtpDropped("not connected")
        texts: list[str] = []
        while True:
            try:
                line = await reader.readline()
            except (ValueError, asyncio.LimitOverrunError) as exc:
                raise SmtpDropped(f"reply line too long: {exc}") from None
            if not line.endswith(b"\n"):
                raise SmtpDropped("the server closed the connection")
            code = line[:3]
            if not code.isdigit() or line[3:4] not in (b" ", b"-", b"\r", b"\n"):
                raise SmtpDropped(f"not an SMTP reply: {line[:80]!r}")
            texts.append(line[4:].rstrip(b"\r\n").decode("utf-8", "replace"))
            if line[3:4] != b"-":
                return Reply(int(code), "\n".join(texts))

    # Pipelined transactions (RFC 2920) -----------------------------------------
    @property
    def pipelining(self) -> bool:
        return self.capabilities.has("PIPELINING")

    def envelope_commands(self, sender: str, recipient: str, params: bytes) -> tuple[bytes, bool]:
        """MAIL FROM, RCPT TO and DATA as one group, with the RSET a failed
        transaction left owing in front (RFC 2920 allows it anywhere in a
        group); returns the bytes and whether they start with RSET."""
        reset = self._needs_reset
        self._needs_reset = False
        return (
            (b"RSET\r\n" if reset else b"")
            + b"MAIL FROM:<"
            + sender.encode("utf-8")
            + b">"
            + params
            + b"\r\nRCPT TO:<"
            + recipient.encode("utf-8")
            + b">\r\nDATA\r\n",
            reset,
        )

    def write(self, data: bytes) -> None:
        if self._writer is None:
            raise SmtpDropped("not connected")
        self._writer.write(data)

    async def drain(self) -> None:
        if self._writer is None:
            raise SmtpDropped("not connected")
        await self._writer.drain()

    async def envelope_replies(self, reset: bool) -> TransactionReply | None:
        """The replies to one group: None when the server waits for the
        content (354), else the reply that failed the transaction."""
        if reset:
            await self._expect_reset()
        mail, rcpt, data = await self._reply(), await self._reply(), await self._reply()
        failed = _envelope_failure(mail, rcpt)
        if failed is not None:
            self._needs_reset = True
            if data.code == 354:
                # RFC 2920 3.1: a server that accepts DATA after the envelope
                # failed gets an empty body, never the message.
                self.write(b".\r\n")
                await self._reply()
            return failed
        if data.code != 354:
            self._needs_reset = True
            return TransactionReply("DATA", data)
        return None

    async def content_reply(self) -> TransactionReply:
        """The reply to the end of the content; the transaction is over either way."""
        return TransactionReply("end of data", await self._reply())

    # One transaction at a time --------------------------------------------------
    async def transaction(
        self, sender: str, recipient: str, content: bytes, *, params: bytes
    ) -> TransactionReply:
        """Send one message to one recipient, command by command, for servers
        without PIPELINING; return the reply that decided it.

        ``content`` is already dot-stuffed and terminated (see dot_stuff).
        """
        async with asyncio.timeout(self.timeout):
            if self._needs_reset:
                self.write(b"RSET\r\n")
                await self._expect_reset()
                self._needs_reset = False
            mail = b"MAIL FROM:<" + sender.encode("utf-8") + b">" + params + b"\r\n"
            rcpt = b"RCPT TO:<" + recipient.encode("utf-8") + b">\r\n"
            for stage, line in (("MAIL FROM", mail), ("RCPT TO", rcpt), ("DATA", b"DATA\r\n")):
                self.write(line)
                reply = await self._reply()
                ok = 354 if stage == "DATA" else 250
                if reply.code != ok and not (stage == "RCPT TO" and reply.code == 251):
                    self._needs_reset = True
                    return TransactionReply(stage, reply)
            self.write(content)
            await self.drain()
            return await self.content_reply()

    async def _expect_reset(self) -> None:
        reply = await self._reply()
        if reply.code != 250:
            raise SmtpDropped(f"RSET refused: {reply}")


def _envelope_failure(mail: Reply, rcpt: Reply) -> TransactionReply | None:
    if mail.code != 250:
        return TransactionReply("MAIL FROM", mail)
    if rcpt.code not in (250, 251):
        return TransactionReply("RCPT TO", rcpt)
    return None
