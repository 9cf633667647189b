"""Mailgun's webhooks in `pressdist serve`, through Starlette's ASGI test client.

The journal is filled by a real send of the example release through the
in-memory gateway; the webhook bodies are what Mailgun posts (a signature
over timestamp and token, and the event), signed here with the gateway's key.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import pressdist
from pressdist.errors import ConfigError
from pressdist.gateways.memory import MemoryGateway
from pressdist.inbox import mailgun
from pressdist.sending import journal as jr
from pressdist.sending.gateway import Envelope
from pressdist.sending.plan import journal_path
from pressdist.serve import webhooks
from pressdist.serve.app import create_app
from pressdist.workspace import Workspace

RELEASE = "2019-11-04-isa-foshan"
KEY = "whsec-Mainz-0123456789abcdef"
URL = "/webhooks/mailgun/mg"
MAILGUN = (
    '\n[gateways.mg]\ntype = "http"\napi = "mailgun"\ndomain = "mg.example.org"\n'
    'token_env = "PD_MG_KEY"\nwebhook_signing_key_env = "PD_MG_WEBHOOK_KEY"\n'
)


@pytest.fixture
def office(example_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("PD_MG_KEY", "key-api-not-needed-to-serve")
    monkeypatch.setenv("PD_MG_WEBHOOK_KEY", KEY)
    config = example_workspace / "pressdist.toml"
    config.write_text(config.read_text("utf-8") + MAILGUN, "utf-8")
    return Workspace.open(example_workspace)


@pytest.fixture
def sent(office: Workspace) -> list[Envelope]:
    """What the example list was sent: the deliveries the webhooks speak of."""
    gateway = MemoryGateway(name="memory")
    report = pressdist.send(pressdist.plan_send(office, RELEASE, ["presse"], gateway=gateway))
    assert report.sent == len(gateway.delivered) > 1
    return gateway.delivered


@pytest.fixture
def client(office: Workspace) -> TestClient:
    return TestClient(create_app(office, webhooks=webhooks.signing_keys(office)))


def body(
    data: dict, *, key: str = KEY, token: str | None = None, timestamp: int | None = None
) -> bytes:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = token or secrets.token_hex(25)
    signature = mailgun.signature(key.encode(), stamp, token)
    return json.dumps(
        {
            "signature": {"timestamp": stamp, "token": token, "signature": signature},
            "event-data": data,
        }
    ).encode()


def failed(envelope: Envelope, severity: str = "permanent", **extra: object) -> dict:
    return {
        "id": "ev-" + secrets.token_hex(6),
        "timestamp": time.time(),
        "event": "failed",
        "severity": severity,
        "reason": "bounce",
        "recipient": envelope.recipient,
        "message": {"headers": {"message-id": envelope.message_id, "subject": "Mainz und Foshan"}},
        "delivery-status": {"code": 550, "enhanced-code": "5.1.1", "message": "No such user"},
        **extra,
    }


def state(ws: Workspace, envelope: Envelope) -> str:
    with jr.Journal(journal_path(ws)) as journal:
        found = journal.by_message_id(envelope.message_id)
    assert found is not None
    return found.state


def seen(ws: Workspace, key: str) -> str | None:
    with jr.Journal(journal_path(ws)) as journal:
        return journal.seen(key)


def held(ws: Workspace) -> list[tuple[str, str, str]]:
    return [(r.address, r.scope, r.reason) for r in pressdist.suppressions(ws).rows]


def test_a_signed_hard_bounce_marks_the_delivery_and_suppresses_everywhere(
    office: Workspace, sent: list[Envelope], client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pressdist.serve")
    envelope = sent[0]
    event = failed(envelope)
    answer = client.post(URL, content=body(event, token="tok-1"))

    assert answer.status_code == 200
    assert state(office, envelope) == jr.BOUNCED
    assert held(office) == [(envelope.recipient, "*", "bounced")]
    source = pressdist.suppressions(office).lookup(envelope.recipient, "presse").source
    assert source.startswith("mailgun webhook mg: hard bounce 5.1.1")
    assert seen(office, "mailgun-webhook:tok-1") == "hard bounce"
    # The poll (`pressdist inbox --gateway mg`) will know this event and skip it.
    assert seen(office, "mailgun:" + event["id"]) == "hard bounce"
    logged = [r.getMessage() for r in caplog.records]
    assert any(line.startswith(f"POST {URL} 200 hard bounce recipient ") for line in logged)
    assert not any(envelope.recipient in line for line in logged)


def test_signed_complaints_soft_bounces_and_unsubscribes_are_taken(
    office: Workspace, sent: list[Envelope], client: TestClient
) -> None:
    complaint, soft, leaving = sent[0], sent[1], sent[2]
    for event in (
        {**failed(complaint), "event": "complained"},
        failed(soft, "temporary"),
        {**failed(leaving), "event": "unsubscribed"},
    ):
        assert client.post(URL, content=body(event)).status_code == 200
    assert state(office, complaint) == jr.COMPLAINED
    assert state(office, soft) == jr.SOFT_BOUNCED
    assert sorted(held(office)) == sorted(
        [(complaint.recipient, "*", "complained"), (leaving.recipient, "presse", "unsubscribed")]
    )


def test_a_wrong_signature_is_refused_and_writes_nothing(
    office: Workspace, sent: list[Envelope], client: TestClient
) -> None:
    envelope = sent[0]
    forged = body(failed(envelope), key="a-key-that-is-not-mailguns", token="tok-forged")
    answer = client.post(URL, content=forged)

    # 406: Mailgun's "rejected, do not retry".
    assert answer.status_code == 406 and "does not match" in answer.text
    assert state(office, envelope) == jr.SENT and held(office) == []
    assert seen(office, "mailgun-webhook:tok-forged") is None


def test_a_replayed_token_is_refused_even_with_another_event(
    office: Workspace, sent: list[Envelope], client: TestClient
) -> None:
    first, second = sent[0], sent[1]
    assert client.post(URL, content=body(failed(first), token="tok-once")).status_code == 200
    for event in (failed(first), failed(second)):
        again = client.post(URL, content=body(event, token="tok-once"))
        assert again.status_code == 406 and "used before" in again.text
    assert state(office, second) == jr.SENT
    assert [address for address, _, _ in held(office)] == [first.recipient]


def test_a_stale_or_future_signature_is_refused(
    office: Workspace, sent: list[Envelope], client: TestClient
) -> None:
    envelope = sent[0]
    for stamp in (int(time.time()) - 3600, int(time.time()) + 3600):
        answer = client.post(URL, content=body(failed(envelope), timestamp=stamp))
        assert answer.status_code == 406
    assert state(office, envelope) == jr.SENT and held(office) == []


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"event=failed&recipient=x",
        json.dumps({"event-data": {"event": "failed"}}).encode(),
        json.dumps({"signature": {"token": "t", "timestamp": "1"}, "event-data": {}}).encode(),
        b"{" + b" " * (webhooks.MAX_BODY + 1) + b"}",
    ],
    ids=["empty", "a form", "unsigned", "signature without value", "too large"],
)
def test_an_unsigned_malformed_or_oversized_body_is_refused(
    office: Workspace, sent: list[Envelope], client: TestClient, content: bytes
) -> None:
    answer = client.post(URL, content=content)
    assert answer.status_code == 406
    assert held(office) == [] and all(state(office, e) == jr.SENT for e in sent)


def test_only_configured_gateways_have_a_webhook(client: TestClient) -> None:
    assert client.post("/webhooks/mailgun/outbox", content=b"{}").status_code == 404
    assert client.get(URL).status_code == 405


def test_an_event_it_does_not_act_on_is_taken_and_its_token_kept(
    office: Workspace, sent: list[Envelope], client: TestClient
) -> None:
    delivered = {**failed(sent[0]), "event": "delivered"}
    assert client.post(URL, content=body(delivered, token="tok-delivered")).status_code == 200
    assert seen(office, "mailgun-webhook:tok-delivered") == "ignored"
    assert state(office, sent[0]) == jr.SENT


def test_an_event_about_no_delivery_of_ours_is_left_for_the_poll(
    office: Workspace, sent: list[Envelope], client: TestClient
) -> None:
    stranger = Envelope("other.system.1@example.org", "x@example.org", "y@example.org", b"")
    event = failed(stranger)
    assert client.post(URL, content=body(event, token="tok-stranger")).status_code == 200
    assert seen(office, "mailgun-webhook:tok-stranger") == "problem"
    # Not remembered as read: `pressdist inbox --gateway` reports it where cron mails it.
    assert seen(office, "mailgun:" + event["id"]) is None


def test_an_event_the_poll_already_read_is_not_acted_on_again(
    office: Workspace, sent: list[Envelope], client: TestClient
) -> None:
    event = failed(sent[0])
    with jr.Journal(journal_path(office)) as journal:
        journal.remember("mailgun:" + event["id"], "mailgun:mg", "hard bounce")
    assert client.post(URL, content=body(event)).status_code == 200
    assert state(office, sent[0]) == jr.SENT and held(office) == []


def test_a_journal_that_cannot_be_opened_asks_mailgun_to_try_again(
    office: Workspace, sent: list[Envelope], client: TestClient, tmp_path: Path
) -> None:
    path = journal_path(office)
    path.rename(tmp_path / "journal.sqlite3")
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    path.mkdir()  # a folder where the journal should be: SQLite cannot open it
    answer = client.post(URL, content=body(failed(sent[0]), token="tok-later"))
    assert answer.status_code == 503  # Mailgun retries anything but 200 and 406
    path.rmdir()
    (tmp_path / "journal.sqlite3").rename(path)
    assert seen(office, "mailgun-webhook:tok-later") is None and held(office) == []


# What `pressdist serve` answers ---------------------------------------------------


def test_an_app_with_only_webhooks_has_no_unsubscribe_page(office: Workspace) -> None:
    only = TestClient(create_app(office, webhooks={"mg": KEY.encode()}))
    assert only.get("/presse/abmelden?adresse=x@example.org").status_code == 404
    assert only.get("/health").json() == {"status": "ok"}


def test_an_app_with_nothing_to_answer_is_refused(office: Workspace) -> None:
    with pytest.raises(ConfigError, match="nothing to answer"):
        create_app(office)


def test_signing_keys_come_from_the_variable_the_gateway_names(
    office: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert webhooks.signing_keys(office) == {"mg": KEY.encode()}
    monkeypatch.delenv("PD_MG_WEBHOOK_KEY")
    with pytest.raises(ConfigError, match="PD_MG_WEBHOOK_KEY") as err:
        webhooks.signing_keys(Workspace.open(office.root))
    lines = (office.root / "pressdist.toml").read_text("utf-8").splitlines()
    assert err.value.line is not None and "webhook_signing_key_env" in lines[err.value.line - 1]


@pytest.mark.parametrize(
    "table",
    [
        '[gateways.relay]\ntype = "http"\nurl = "https://relay.example.org/send"\n',
        '[gateways.office]\ntype = "smtp"\nhost = "mail.example.org"\n',
    ],
)
def test_a_webhook_key_on_a_gateway_that_is_not_mailgun_is_refused(
    office: Workspace, table: str
) -> None:
    config = office.root / "pressdist.toml"
    config.write_text(
        config.read_text("utf-8")
        + "\n"
        + table
        + 'webhook_signing_key_env = "PD_MG_WEBHOOK_KEY"\n',
        "utf-8",
    )
    with pytest.raises(ConfigError, match="webhook_signing_key_env' is only for") as err:
        webhooks.signing_keys(Workspace.open(office.root))
    lines = config.read_text("utf-8").splitlines()
    assert err.value.line is not None and "webhook_signing_key_env" in lines[err.value.line - 1]
