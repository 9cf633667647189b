"""Real SMTP servers for the tests: aiosmtpd on 127.0.0.1, port 0, in a thread.

One server wrapper for the library, gateway and CLI tests; what a server answers
is up to its handler. `Sink` is the handler the sending tests share.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections import Counter

from aiosmtpd.smtp import SMTP


class Sink:
    """Keeps what arrives; answers RCPT from a per-address script; can stall DATA.

    It can also misbehave the way a whole server does: refuse every MAIL FROM
    (``mail_reply``), every final dot (``dot_reply``), or every RCPT once it
    has taken ``quota`` messages (``over_quota``).
    """

    def __init__(self) -> None:
        self.script: dict[str, list[str]] = {}
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()
        self.stall_after: int | None = None  # from this many messages on, DATA waits
        self.stalled = threading.Event()  # set when the first DATA is held
        self.gate: asyncio.Event | None = None
        self.mail_reply: str | None = None
        self.dot_reply: str | None = None
        self.quota: int | None = None
        self.over_quota = "550 5.4.5 Daily sending quota exceeded"
        self.taken = 0  # recipients accepted, toward the quota
        self.refused = 0  # MAIL, RCPT or final dot answered with one of the above

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.mail_reply is not None:
            self.refused += 1
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        replies = self.script.get(address)
        if replies:
            reply = replies.pop(0) if len(replies) > 1 else replies[0]
            if not reply.startswith("250"):
                return reply
        with self.lock:
            # Counted as the quota of a provider counts: recipients taken.
            over = self.quota is not None and self.taken >= self.quota
            self.taken += not over
        if over:
            self.refused += 1
            return self.over_quota
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.dot_reply is not None:
            self.refused += 1
            return self.dot_reply
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
            count = len(self.messages)
        if self.stall_after is not None and count >= self.stall_after:
            # The message has arrived, but the sender never hears so: exactly the
            # delivery a crash leaves in doubt.
            self.stalled.set()
            await self.gate.wait()
        return "250 2.0.0 queued"

    def received(self) -> Counter[str]:
        with self.lock:
            return Counter(r for rcpts, _ in self.messages for r in rcpts)


class SmtpServer:
    """aiosmtpd on 127.0.0.1, port 0, in its own thread and event loop."""

    def __init__(self, handler: object, *, ssl_context: ssl.SSLContext | None = None, **kw):
        self.handler = handler
        self.kwargs = kw
        self.ssl_context = ssl_context
        self.sessions = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def _protocol(self) -> SMTP:
        self.sessions += 1
        return SMTP(self.handler, loop=self.loop, **self.kwargs)

    async def _serve(self) -> int:
        if isinstance(self.handler, Sink):
            # Made here so that the gate belongs to this server's loop.
            self.handler.gate = asyncio.Event()
        self.server = await self.loop.create_server(
            self._protocol, "127.0.0.1", 0, ssl=self.ssl_context
        )
        return self.server.sockets[0].getsockname()[1]

    def open_gate(self) -> None:
        """Let a stalled `Sink` answer the DATA it holds (called from the test's thread)."""
        if isinstance(self.handler, Sink):
            self.loop.call_soon_threadsafe(self.handler.gate.set)

    def __enter__(self) -> SmtpServer:
        self.thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.open_gate()

        async def stop() -> None:
            self.server.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
