"""The ``memory`` gateway: keeps every envelope and answers as it is told, no I/O.

For tests and scripts of the engine, as httpx ships ``MockTransport``: a
delivery run against it takes milliseconds and its answers are scripted, so
retries, Retry-After, permanent failures and a gateway that gives out can be
produced at will. It owns nothing else; it is not in the registry, because a
script is not something pressdist.toml can hold. Pass it to ``sending.plan.plan``
as the gateway.

An answer is an ``Outcome`` (the detail is its name), a whole ``Result``, or
either of those awaited. Answers come from ``answer``: a function of the
envelope, or a sequence taken one per envelope in the order they arrive (past
its end, every envelope is accepted). A function may also raise, as a broken
gateway would.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeAlias

from pressdist.errors import PressdistError
from pressdist.sending.gateway import Envelope, GatewayBase, Outcome, Result

Answer: TypeAlias = Outcome | Result
Answers: TypeAlias = Callable[[Envelope], Answer | Awaitable[Answer]] | Iterable[Answer]


class MemoryGateway(GatewayBase):
    """Records what it is handed (``envelopes``, ``results``) and answers from a script."""

    def __init__(
        self,
        answer: Answers = (),
        *,
        name: str = "memory",
        concurrency: int = 1,
        open_error: PressdistError | None = None,
    ) -> None:
        super().__init__(name, concurrency)
        self._answer = answer if callable(answer) else _in_order(answer)
        self._open_error = open_error  # raised by open(), as a gateway that cannot be used
        self.envelopes: list[Envelope] = []
        self.results: list[Result] = []
        self.opened = 0
        self.closed = 0

    def __repr__(self) -> str:
        return f"MemoryGateway({self.name!r}, {len(self.envelopes)} envelopes)"

    @property
    def delivered(self) -> list[Envelope]:
        """The envelopes it answered with ACCEPTED, in order."""
        return [r.envelope for r in self.results if r.outcome is Outcome.ACCEPTED]

    async def _open(self) -> None:
        if self._open_error is not None:
            raise self._open_error
        self.opened += 1

    async def _send(self, envelope: Envelope) -> Result:
        self.envelopes.append(envelope)
        answer = self._answer(envelope)
        if inspect.isawaitable(answer):
            answer = await answer
        result = answer if isinstance(answer, Result) else Result(envelope, answer, answer.value)
        self.results.append(result)
        return result

    async def _close(self) -> None:
        self.closed += 1


def _in_order(answers: Iterable[Answer]) -> Callable[[Envelope], Answer]:
    remaining = iter(answers)
    return lambda _envelope: next(remaining, Outcome.ACCEPTED)
