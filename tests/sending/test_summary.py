"""The per-release report: sent, failed and not settled per revision and language."""

from __future__ import annotations

from pathlib import Path

import pytest

import pressdist
from pressdist.errors import PressdistError
from pressdist.gateways.memory import MemoryGateway
from pressdist.sending.gateway import Outcome

RELEASE = "2019-11-04-isa-foshan"


@pytest.fixture
def ws(example_workspace: Path):
    return pressdist.open_workspace(example_workspace)


def test_report_counts_sent_and_failed_per_language(ws):
    refuse = {"li.wei@example.com", "anna.becker@example.org"}

    def answer(envelope):  # type: ignore[no-untyped-def]
        return Outcome.PERMANENT if envelope.recipient in refuse else Outcome.ACCEPTED

    pressdist.send(pressdist.plan_send(ws, RELEASE, ["presse"], gateway=MemoryGateway(answer)))
    summary = pressdist.report(ws, RELEASE)
    got = {line.language: (line.sent, line.failed, line.unsettled) for line in summary.lines}
    assert got == {"de": (4, 1, 0), "en": (4, 0, 0), "zh_CN": (2, 1, 0)}
    assert (summary.sent, summary.failed) == (10, 2)
    assert {(line.suppressed, line.unsubscribed) for line in summary.lines} == {(0, 0)}
    assert summary.to_dict()["lines"][0]["total"] == 5


def test_report_of_a_release_never_sent_is_empty(ws):
    assert pressdist.report(ws, RELEASE).lines == ()


def test_report_refuses_an_unknown_release(ws):
    with pytest.raises(PressdistError):
        pressdist.report(ws, "2019-11-04-typo")


def test_report_counts_who_said_no_since_their_mail_in_their_language(ws):
    pressdist.send(pressdist.plan_send(ws, RELEASE, ["presse"], gateway=MemoryGateway()))
    pressdist.suppress(ws, "li.wei@example.com", reason="unsubscribed", source="link")
    pressdist.suppress(
        ws, "Anna.Becker@example.org", list_name="presse", reason="bounced", source="x"
    )
    pressdist.suppress(ws, "jonas.wolf@example.com", list_name="other", reason="manual", source="x")
    said = {
        line.language: (line.suppressed, line.unsubscribed)
        for line in pressdist.report(ws, RELEASE).lines
    }
    assert said == {"de": (1, 0), "en": (0, 0), "zh_CN": (1, 1)}
    pressdist.forget(ws, "li.wei@example.com")  # known by its hash only: still counted
    assert pressdist.report(ws, RELEASE).lines[-1].suppressed == 1
