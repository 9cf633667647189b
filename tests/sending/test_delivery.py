"""The delivery engine against the in-memory gateway: every path of a run in milliseconds.

The gateway answers from a script (``gateways.memory``); the workspace, the
plan, the rendered mails and the SQLite journal are the real ones. Retry times
are a few milliseconds, so a retry is real but never waited for.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressdist.errors import GatewayError
from pressdist.gateways.memory import MemoryGateway
from pressdist.sending import delivery
from pressdist.sending import journal as jr
from pressdist.sending import plan as planning
from pressdist.sending.delivery import DeliveryRun, retry_delay
from pressdist.sending.gateway import Envelope, Outcome, Result
from pressdist.workspace import SendSettings, Workspace

RELEASE = "2019-11-04-isa-foshan"
READERS = {
    "anna@example.org": "de",
    "james@example.com": "en",
    "li@example.com": "zh_CN",
    "claire@example.org": "fr",
}
FAST = SendSettings(max_attempts=3, retry_base_seconds=0.001, retry_max_seconds=0.004)


@pytest.fixture
def ws(example_workspace: Path) -> Workspace:
    rows = "".join(f"{a},Reader,{lang}\n" for a, lang in READERS.items())
    (example_workspace / "recipients" / "test.csv").write_text(
        "email,name,language\n" + rows, encoding="utf-8"
    )
    config = example_workspace / "pressdist.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^max_attempts = .*$", "max_attempts = 3", text)
    text = text.replace(
        "[send]\n", "[send]\nretry_base_seconds = 0.001\nretry_max_seconds = 0.004\n", 1
    )
    config.write_text(text, encoding="utf-8")
    return Workspace.open(example_workspace)


def by_recipient(script: dict[str, list[Outcome | Result]]):
    """An answer function: each recipient's answers in turn, then ACCEPTED."""
    left = {address: list(answers) for address, answers in script.items()}

    def answer(envelope: Envelope) -> Outcome | Result:
        queue = left.get(envelope.recipient)
        return queue.pop(0) if queue else Outcome.ACCEPTED

    return answer


def journal_rows(ws: Workspace) -> dict[str, jr.Delivery]:
    with jr.Journal(planning.journal_path(ws)) as journal:
        return {d.recipient: d for d in journal.deliveries()}


def runs(ws: Workspace) -> list[str]:
    with jr.Journal(planning.journal_path(ws)) as journal:
        return [r.status for r in journal.runs()]


def send(ws: Workspace, gateway: MemoryGateway, **options) -> delivery.Report:
    return delivery.run(planning.plan(ws, RELEASE, ["test"], gateway=gateway), **options)


def test_every_reader_gets_one_mail_in_their_language_and_the_journal_says_sent(ws):
    gateway = MemoryGateway(concurrency=3)
    report = send(ws, gateway)
    assert report.ok and report.sent == 4
    assert Counter(e.recipient for e in gateway.envelopes) == Counter(list(READERS))
    languages = {
        e.recipient: email.message_from_bytes(e.data, policy=email.policy.default)[
            "Content-Language"
        ]
        for e in gateway.envelopes
    }
    assert languages == {
        "anna@example.org": "de",
        "james@example.com": "en",
        "li@example.com": "zh-CN",
        "claire@example.org": "en",
    }
    assert {k: d.state for k, d in journal_rows(ws).items()} == dict.fromkeys(READERS, jr.SENT)
    assert (gateway.opened, gateway.closed) == (1, 1)
    assert runs(ws) == ["finished"]


def test_a_transient_failure_is_retried_until_accepted_and_counted_as_attempts(ws):
    gateway = MemoryGateway(
        by_recipient({"james@example.com": [Outcome.TRANSIENT, Outcome.TRANSIENT]})
    )
    report = send(ws, gateway)
    assert report.ok and report.sent == 4 and report.retries == 2
    assert [e.recipient for e in gateway.envelopes].count("james@example.com") == 3
    row = journal_rows(ws)["james@example.com"]
    assert (row.state, row.attempts) == (jr.SENT, 3)


def test_a_transient_failure_past_max_attempts_fails_and_the_next_run_tries_again(ws):
    report = send(ws, MemoryGateway(by_recipient({"li@example.com": [Outcome.TRANSIENT] * 3})))
    assert [(f.address, f.state, f.attempts) for f in report.failures] == [
        ("li@example.com", jr.FAILED_TRANSIENT, 3)
    ]
    assert journal_rows(ws)["li@example.com"].state == jr.FAILED_TRANSIENT
    again = MemoryGateway()
    assert send(ws, again).sent == 1
    assert [e.recipient for e in again.envelopes] == ["li@example.com"]


def test_retry_after_is_a_floor_for_the_next_attempt(ws):
    arrivals: list[float] = []
    first = True

    def answer(envelope: Envelope) -> Outcome | Result:
        nonlocal first
        arrivals.append(asyncio.get_running_loop().time())
        if envelope.recipient == "anna@example.org" and first:
            first = False
            return Result(envelope, Outcome.TRANSIENT, "429 slow down", retry_after=0.05)
        return Outcome.ACCEPTED

    gateway = MemoryGateway(answer)
    report = send(ws, gateway)
    assert report.ok and report.retries == 1
    tries = [t for t, e in zip(arrivals, gateway.envelopes, strict=True) if "anna" in e.recipient]
    assert tries[1] - tries[0] >= 0.05


@given(
    attempts=st.integers(min_value=1, max_value=60),
    base=st.floats(min_value=0, max_value=100),
    cap=st.floats(min_value=0, max_value=1000),
    retry_after=st.none() | st.floats(min_value=0, max_value=10_000),
)
def test_retry_delay_is_jittered_backoff_capped_and_never_below_retry_after(
    attempts, base, cap, retry_after
):
    settings = SendSettings(retry_base_seconds=base, retry_max_seconds=cap)
    delay = retry_delay(settings, attempts, retry_after)
    ceiling = min(cap, base * 2 ** (attempts - 1))
    if retry_after is not None:
        assert delay >= retry_after
    if retry_after is None or retry_after <= ceiling / 2:
        assert ceiling / 2 <= delay <= ceiling


def test_a_permanent_failure_is_not_retried_and_the_next_run_skips_it_unless_resend(ws):
    gateway = MemoryGateway(by_recipient({"claire@example.org": [Outcome.PERMANENT]}))
    report = send(ws, gateway)
    assert not report.ok and report.retries == 0 and report.sent == 3
    assert [(f.address, f.state, f.attempts) for f in report.failures] == [
        ("claire@example.org", jr.FAILED_PERMANENT, 1)
    ]
    assert journal_rows(ws)["claire@example.org"].state == jr.FAILED_PERMANENT
    plan = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway())
    assert plan.to_send == 0 and plan.lines["en"].failed_before == 1
    resent = MemoryGateway()
    assert send(ws, resent, dry_run=False).sent == 0
    assert delivery.run(planning.plan(ws, RELEASE, ["test"], gateway=resent, resend=True)).ok
    assert len(resent.envelopes) == 4


def test_many_deliveries_failing_every_retry_stop_the_run_and_a_later_run_sends_all(ws):
    many = [f"r{i:02d}@example.org" for i in range(30)]
    (ws.recipients_dir / "many.csv").write_text(
        "email,name,language\n" + "".join(f"{a},R,de\n" for a in many), "utf-8"
    )
    down = MemoryGateway(lambda envelope: Outcome.TRANSIENT, concurrency=2)
    plan = planning.plan(ws, RELEASE, ["many"], gateway=down)
    report = delivery.run(plan)
    assert "failed" in report.stopped and "after every retry" in report.stopped
    assert down.delivered == []
    assert delivery.STOP_AFTER_EXHAUSTED <= len(report.failures) < 30
    with jr.Journal(planning.journal_path(ws)) as journal:
        states = {d.state for d in journal.deliveries()}
    assert states <= {jr.FAILED_TRANSIENT, jr.PENDING, jr.SENDING}
    assert runs(ws) == ["stopped"]
    back = MemoryGateway()
    again = delivery.run(planning.plan(ws, RELEASE, ["many"], gateway=back))
    assert again.ok and again.sent == 30
    assert sorted(e.recipient for e in back.envelopes) == many


def test_a_gateway_that_breaks_mid_run_leaves_its_delivery_sending_and_the_next_run_flags_it(
    ws,
):
    def answer(envelope: Envelope) -> Outcome:
        if envelope.recipient == "james@example.com":
            raise ConnectionResetError("the gateway fell over")
        return Outcome.ACCEPTED

    report = send(ws, MemoryGateway(answer))
    assert "gateway 'memory' failed" in report.stopped
    rows = journal_rows(ws)
    assert rows["james@example.com"].state == jr.SENDING
    assert {r.state for k, r in rows.items() if k != "james@example.com"} <= {
        jr.SENT,
        jr.PENDING,
    }
    plan = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway())
    assert plan.in_flight == 1
    first_id = rows["james@example.com"].message_id
    report = delivery.run(plan)
    assert report.ok and report.possibly_duplicate == ["james@example.com"]
    (james,) = [e for e in plan.gateway.envelopes if e.recipient == "james@example.com"]
    assert james.message_id == first_id
    rows = journal_rows(ws)
    assert {k for k, r in rows.items() if r.possibly_duplicate} == {"james@example.com"}
    assert {r.state for r in rows.values()} == {jr.SENT}
    assert runs(ws) == ["stopped", "finished"]


def test_each_delivery_is_committed_sending_before_the_gateway_sees_it(ws):
    seen: list[str | None] = []

    def answer(envelope: Envelope) -> Outcome:
        reader = jr.Journal.read_only(planning.journal_path(ws))
        assert reader is not None
        try:
            key = envelope.recipient
            seen.append(reader.states(plan.revision, [key]).get(key))
        finally:
            reader.close()
        return Outcome.ACCEPTED

    plan = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway(answer))
    assert delivery.run(plan).ok
    assert seen == [jr.SENDING] * 4


def test_a_gateway_that_cannot_be_opened_stops_before_anything_is_recorded(ws):
    closed = MemoryGateway(open_error=GatewayError("gateway 'memory': cannot connect"))
    with pytest.raises(GatewayError, match="cannot connect"):
        send(ws, closed)
    assert closed.envelopes == []
    assert journal_rows(ws) == {}


def test_a_dry_run_hands_nothing_to_the_gateway_and_skips_whom_the_real_run_would(ws):
    gateway = MemoryGateway()
    report = send(ws, gateway, dry_run=True)
    assert report.dry_run and report.sent == 4
    assert (gateway.opened, gateway.envelopes) == (0, [])
    assert not planning.journal_path(ws).exists()
    send(ws, MemoryGateway(by_recipient({"li@example.com": [Outcome.PERMANENT]})))
    before = journal_rows(ws)
    report = send(ws, gateway, dry_run=True)
    assert report.sent == 0 and gateway.envelopes == []
    assert journal_rows(ws) == before


def test_the_run_takes_its_settings_as_an_argument(ws):
    plan = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway())
    gateway = MemoryGateway(by_recipient({"anna@example.org": [Outcome.TRANSIENT] * 5}))
    with jr.Journal(planning.journal_path(ws)) as journal:
        run = DeliveryRun(plan, gateway, journal, SendSettings(max_attempts=1))
        report = asyncio.run(run.run())
    assert report.retries == 0
    assert [(f.address, f.attempts) for f in report.failures] == [("anna@example.org", 1)]
    with jr.Journal(planning.journal_path(ws)) as journal:
        (only,) = journal.runs()
    assert only.gateway == "memory"


def test_test_copies_go_once_per_sendable_language_to_one_address_without_a_journal(ws):
    gateway = MemoryGateway(lambda envelope: Outcome.TRANSIENT)
    plan = planning.plan(ws, RELEASE, [], gateway=gateway)
    report = delivery.send_test(plan, "me@example.org")
    assert report.test_address == "me@example.org"
    assert {e.recipient for e in gateway.envelopes} == {"me@example.org"}
    assert len(gateway.envelopes) == len(plan.sendable) == 3
    assert all(e.message_id.startswith("test.") for e in gateway.envelopes)
    assert {(f.language, f.state, f.attempts) for f in report.failures} == {
        (language, "transient", 1) for language in plan.sendable
    }
    assert not planning.journal_path(ws).exists()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    script=st.fixed_dictionaries(
        {a: st.lists(st.sampled_from(list(Outcome)), max_size=4) for a in READERS}
    )
)
def test_whatever_the_gateway_answers_report_journal_and_gateway_agree(ws, script):
    # A fresh start for each example: the journal and the marker that it has sent.
    for leftover in [*ws.state_dir.glob(jr.FILE_NAME + "*"), ws.state_dir / jr.EXPECTED_NAME]:
        leftover.unlink(missing_ok=True)
    gateway = MemoryGateway(by_recipient(script))
    with jr.Journal(planning.journal_path(ws)) as journal:
        plan = planning.plan(ws, RELEASE, ["test"], gateway=gateway)
        report = asyncio.run(DeliveryRun(plan, gateway, journal, FAST).run())
    rows = journal_rows(ws)
    failed = {f.address: f for f in report.failures}
    for address, answers in script.items():
        tries = [*answers, Outcome.ACCEPTED][: FAST.max_attempts]
        decisive = next((i for i, o in enumerate(tries) if o is not Outcome.TRANSIENT), None)
        final = Outcome.TRANSIENT if decisive is None else tries[decisive]
        attempts = FAST.max_attempts if decisive is None else decisive + 1
        handed = [e for e in gateway.envelopes if e.recipient == address]
        assert len(handed) == rows[address].attempts == attempts
        if final is Outcome.ACCEPTED:
            assert rows[address].state == jr.SENT and address not in failed
        else:
            state = jr.FAILED_PERMANENT if final is Outcome.PERMANENT else jr.FAILED_TRANSIENT
            assert rows[address].state == failed[address].state == state
            assert failed[address].attempts == attempts
    assert report.sent == sum(r.state == jr.SENT for r in rows.values())
    assert sum(t.total for t in report.by_language.values()) == len(READERS)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    secret=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=8, max_size=30),
    around=st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
)
def test_no_secret_a_gateway_echoes_reaches_the_journal_or_the_report(ws, secret, around):
    import base64

    from pressdist import secrets

    secrets.remember(secret)
    basic = base64.b64encode(f"api:{secret}".encode()).decode()
    answers = {
        "james@example.com": Outcome.PERMANENT,
        "li@example.com": Outcome.ACCEPTED,
    }

    def answer(envelope: Envelope) -> Result:
        outcome = answers.get(envelope.recipient, Outcome.PERMANENT)
        return Result(envelope, outcome, f"{around}{secret} Basic {basic}{around}")

    plan = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway(answer), resend=True)
    report = delivery.run(plan)
    with jr.Journal(planning.journal_path(ws)) as journal:
        stored = [d.last_error for d in journal.deliveries()]
    said = [f.detail for f in report.failures] + stored
    assert len(stored) == len(READERS) and all(secrets.MASK in s for s in stored)
    assert not any(secret in s or basic in s for s in said)
    secrets.forget_all()
