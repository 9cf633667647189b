"""The in-memory gateway: what it records, how its script answers, the shared guard."""

from __future__ import annotations

import asyncio

import pytest
from conftest import send_all

from pressdist.errors import GatewayError
from pressdist.gateways.memory import MemoryGateway
from pressdist.sending.gateway import Envelope, Outcome, Result


def _envelope(n: int) -> Envelope:
    return Envelope(f"m{n}@example.org", "presse@example.org", f"r{n}@example.org", b"x")


def test_a_list_of_answers_is_taken_in_order_and_then_every_envelope_is_accepted() -> None:
    gateway = MemoryGateway([Outcome.TRANSIENT, Outcome.PERMANENT])
    results = asyncio.run(send_all(gateway, [_envelope(n) for n in range(4)]))
    assert [r.outcome for r in results] == [
        Outcome.TRANSIENT,
        Outcome.PERMANENT,
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
    ]
    assert [r.detail for r in results] == ["transient", "permanent", "accepted", "accepted"]
    assert gateway.envelopes == [_envelope(n) for n in range(4)]
    assert gateway.delivered == [_envelope(2), _envelope(3)]
    assert (gateway.opened, gateway.closed) == (1, 1)


def test_an_answer_function_may_return_a_whole_result_and_may_be_awaited() -> None:
    async def answer(envelope: Envelope) -> Result:
        await asyncio.sleep(0)
        return Result(envelope, Outcome.TRANSIENT, "429", retry_after=3)

    (result,) = asyncio.run(send_all(MemoryGateway(answer), [_envelope(1)]))
    assert (result.outcome, result.detail, result.retry_after) == (Outcome.TRANSIENT, "429", 3)


def test_send_before_open_is_refused_and_close_is_safe_without_open() -> None:
    gateway = MemoryGateway()
    with pytest.raises(RuntimeError, match=r"MemoryGateway.send\(\) before open\(\)"):
        asyncio.run(gateway.send(_envelope(1)))
    asyncio.run(gateway.close())
    assert gateway.envelopes == []


def test_open_error_is_raised_by_open_and_nothing_is_sent() -> None:
    gateway = MemoryGateway(open_error=GatewayError("cannot connect"))
    with pytest.raises(GatewayError, match="cannot connect"):
        asyncio.run(gateway.open())
    assert not gateway.is_open
