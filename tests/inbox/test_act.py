"""What a finding leads to, against a real journal filled by a real send.

The example release goes to the example list through the in-memory gateway
with a bounce address configured, so every delivery has its own signed
envelope sender; the findings below are what the inbox would read back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pressdist
from pressdist.audience import suppression
from pressdist.gateways.memory import MemoryGateway
from pressdist.inbox import act
from pressdist.inbox.act import Verdict
from pressdist.inbox.findings import Finding, Kind
from pressdist.mail import unsubscribe, verp
from pressdist.mail.verp import BounceAddress
from pressdist.sending import journal as jr
from pressdist.sending.plan import journal_path
from pressdist.workspace import Workspace

RELEASE = "2019-11-04-isa-foshan"
SECRET = "ein-langer-zufaelliger-schluessel-fuer-tests"
SEND_KEYS = (
    'unsubscribe_url = "https://example.org/presse/abmelden?t={token}"\n'
    'unsubscribe_mailto = "abmelden@example.org"\n'
    'unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET"\n'
    'bounce_address = "presse-bounces@example.org"\n'
)


def configure(root: Path, extra: str = "") -> Workspace:
    config = root / "pressdist.toml"
    text = config.read_text("utf-8")
    text = text.replace(
        'unsubscribe_url = "https://example.org/presse/abmelden?adresse={email}"\n', SEND_KEYS
    )
    config.write_text(text + extra, "utf-8")
    return Workspace.open(root)


@pytest.fixture
def office(example_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("PRESSDIST_UNSUBSCRIBE_SECRET", SECRET)
    return configure(example_workspace)


def send(workspace: Workspace, release_id: str = RELEASE) -> MemoryGateway:
    gateway = MemoryGateway(name="memory")
    plan = pressdist.plan_send(workspace, release_id, ["presse"], gateway=gateway)
    report = pressdist.send(plan)
    assert report.sent == len(gateway.delivered) > 0
    return gateway


def bounce_token(workspace: Workspace, envelope_sender: str) -> str:
    token = BounceAddress.from_workspace(workspace).token_of(envelope_sender)
    assert token
    return token


def apply(workspace: Workspace, finding: Finding, *, dry_run: bool = False) -> act.Action:
    with jr.Journal(journal_path(workspace)) as journal:
        return act.apply(workspace, journal, finding, source="test", dry_run=dry_run)


def delivery(workspace: Workspace, address: str) -> jr.Delivery:
    with jr.Journal(journal_path(workspace)) as journal:
        (found,) = [d for d in journal.deliveries(RELEASE) if d.address == address]
    return found


def test_every_delivery_has_its_own_verified_envelope_sender(office: Workspace) -> None:
    gateway = send(office)
    senders = [e.sender for e in gateway.delivered]
    assert len(set(senders)) == len(senders)
    for envelope in gateway.delivered:
        local, _, domain = envelope.sender.rpartition("@")
        assert domain == "example.org" and local.startswith("presse-bounces+")
        assert len(local) <= 64
        # The token names exactly this delivery's Message-ID.
        with jr.Journal(journal_path(office)) as journal:
            ref = verp.verify(SECRET.encode(), bounce_token(office, envelope.sender))
            found = journal.by_digest(ref.revision, ref.digest_prefix)
        assert found is not None and found.message_id == envelope.message_id
        assert found.address == envelope.recipient


def test_a_hard_bounce_marks_the_delivery_and_suppresses_everywhere(office: Workspace) -> None:
    envelope = send(office).delivered[0]
    finding = Finding(
        Kind.HARD_BOUNCE,
        bounce_token=bounce_token(office, envelope.sender),
        recipient=envelope.recipient,
        status="5.1.1",
        diagnostic="550 5.1.1 <x>: Recipient address rejected: User unknown",
    )
    action = apply(office, finding)

    assert action.verdict is Verdict.BOUNCED and action.done and action.changed
    found = delivery(office, envelope.recipient)
    assert found.state == jr.BOUNCED and found.status_code == "5.1.1"
    assert "User unknown" in found.diagnostic and found.returned_at
    held = suppression.load(office).lookup(envelope.recipient, None)
    assert held is not None and held.reason == suppression.BOUNCED
    assert held.scope == suppression.ALL_LISTS
    # Read again: nothing changes.
    again = apply(office, finding)
    assert not again.changed and "already recorded" in again.text
    assert len(suppression.load(office).rows) == 1


def test_the_next_send_skips_the_bounced(office: Workspace) -> None:
    envelope = send(office).delivered[0]
    token = bounce_token(office, envelope.sender)
    apply(office, Finding(Kind.HARD_BOUNCE, bounce_token=token, status="5.1.1"))
    gateway = MemoryGateway(name="memory")
    plan = pressdist.plan_send(office, RELEASE, ["presse"], gateway=gateway, resend=True)
    assert plan.suppressed[suppression.BOUNCED] == 1
    pressdist.send(plan)
    sent_to = {e.recipient for e in gateway.delivered}
    assert envelope.recipient not in sent_to and len(sent_to) == plan.total


def test_a_forged_bounce_token_is_left_for_a_person(office: Workspace) -> None:
    envelope = send(office).delivered[0]
    token = bounce_token(office, envelope.sender)
    forged = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    action = apply(office, Finding(Kind.HARD_BOUNCE, bounce_token=forged, status="5.1.1"))

    assert action.verdict is Verdict.PROBLEM and not action.done
    assert "not valid" in action.text
    assert delivery(office, envelope.recipient).state == jr.SENT
    assert not suppression.load(office)


def test_a_token_of_another_key_is_refused(office: Workspace) -> None:
    envelope = send(office).delivered[0]
    other = BounceAddress("presse-bounces@example.org", b"another key of sixteen bytes+")
    token = bounce_token(office, other.sender(envelope.message_id))
    action = apply(office, Finding(Kind.HARD_BOUNCE, bounce_token=token))
    assert action.verdict is Verdict.PROBLEM
    assert delivery(office, envelope.recipient).state == jr.SENT


def test_a_token_that_names_no_delivery_is_left_for_a_person(office: Workspace) -> None:
    send(office)
    ghost = BounceAddress("presse-bounces@example.org", SECRET.encode()).sender(
        "0123456789ab.en.0123456789abcdef01234567@example.org"
    )
    action = apply(office, Finding(Kind.HARD_BOUNCE, bounce_token=bounce_token(office, ghost)))
    assert action.verdict is Verdict.PROBLEM
    assert "does not hold" in action.text
    assert not suppression.load(office)


def test_a_message_id_alone_needs_the_address_it_went_to(office: Workspace) -> None:
    envelope = send(office).delivered[0]
    other = send_address_other_than(office, envelope.recipient)
    refused = apply(
        office, Finding(Kind.COMPLAINT, message_id=envelope.message_id, recipient=other)
    )
    assert refused.verdict is Verdict.PROBLEM
    accepted = apply(
        office,
        Finding(Kind.COMPLAINT, message_id=envelope.message_id, recipient=envelope.recipient),
    )
    assert accepted.verdict is Verdict.COMPLAINT
    assert delivery(office, envelope.recipient).state == jr.COMPLAINED
    held = suppression.load(office).lookup(envelope.recipient, "partnerstaedte")
    assert held is not None and held.reason == suppression.COMPLAINED


def send_address_other_than(workspace: Workspace, address: str) -> str:
    with jr.Journal(journal_path(workspace)) as journal:
        return next(d.address for d in journal.deliveries(RELEASE) if d.address != address)


def test_a_verified_provider_event_needs_no_address(office: Workspace) -> None:
    envelope = send(office).delivered[0]
    action = apply(office, Finding(Kind.UNSUBSCRIBE, message_id=envelope.message_id, verified=True))
    assert action.verdict is Verdict.UNSUBSCRIBED
    held = suppression.load(office)
    assert held.lookup(envelope.recipient, "presse") is not None
    assert held.lookup(envelope.recipient, "partnerstaedte") is None


def soft(workspace: Workspace, envelope) -> act.Action:  # type: ignore[no-untyped-def]
    return apply(
        workspace,
        Finding(
            Kind.SOFT_BOUNCE,
            bounce_token=bounce_token(workspace, envelope.sender),
            status="4.2.2",
            diagnostic="mailbox full",
        ),
    )


def test_soft_bounces_suppress_only_in_a_row_over_distinct_releases(
    example_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESSDIST_UNSUBSCRIBE_SECRET", SECRET)
    office = configure(example_workspace, '\n[inbox]\npath = "bounces"\nsoft_bounce_limit = 2\n')
    first = send(office).delivered[0]

    below = soft(office, first)
    assert below.verdict is Verdict.SOFT_BOUNCE and "1 of 2" in below.text
    assert delivery(office, first.recipient).state == jr.SOFT_BOUNCED
    assert not suppression.load(office)
    # The same release bouncing again is still one release.
    assert "1 of 2" in soft(office, first).text
    assert not suppression.load(office)

    # A corrected revision of the release counts as the same release.
    release = office.release_path(RELEASE)
    release.write_text(release.read_text("utf-8") + "\n", "utf-8")
    _extract_all(office)
    resent = send_to(office, first.recipient)
    assert "1 of 2" in soft(office, resent).text
    assert not suppression.load(office)


def _extract_all(workspace: Workspace) -> None:
    pressdist.extract(workspace, RELEASE)


def send_to(workspace: Workspace, address: str):  # type: ignore[no-untyped-def]
    gateway = MemoryGateway(name="memory")
    plan = pressdist.plan_send(
        workspace, RELEASE, ["presse"], gateway=gateway, resend=True, allow_fallback=True
    )
    pressdist.send(plan)
    return next(e for e in gateway.delivered if e.recipient == address)


def earlier(journal: jr.Journal, n: int, *, soft_bounced: bool) -> None:
    """An earlier release sent to Anna Becker, as the journal holds it."""
    release_id, revision = f"2019-0{n + 1}-01-frueher", f"{n:012x}"
    address = "anna.becker@example.org"
    attempt = jr.Attempt(
        revision=revision,
        recipient=address,
        release_id=release_id,
        address=address,
        name="Anna Becker",
        language="de",
        requested_language="de",
        list="presse",
        gateway="memory",
        message_id=f"{revision}.de.{n:024x}@example.org",
    )
    journal.mark_sending(
        journal.start_run(release_id, revision, ["presse"], "memory", False), [attempt]
    )
    journal.record([(revision, address, jr.SENT, "ok")])
    if soft_bounced:
        found = journal.by_message_id(attempt.message_id)
        assert found is not None
        assert journal.mark_returned(found, jr.SOFT_BOUNCED, "4.2.2", "mailbox full")


def anna(workspace: Workspace):  # type: ignore[no-untyped-def]
    return next(e for e in send(workspace).delivered if e.recipient == "anna.becker@example.org")


def test_soft_bounces_over_the_limit_suppress(office: Workspace) -> None:
    """Three releases in a row bounced soft (the default limit): suppressed everywhere."""
    with jr.Journal(journal_path(office)) as journal:
        earlier(journal, 0, soft_bounced=True)
        earlier(journal, 1, soft_bounced=True)
    action = soft(office, anna(office))
    assert "3 of 3" in action.text and "suppressed on every list" in action.text
    held = suppression.load(office).lookup("anna.becker@example.org", None)
    assert held is not None and held.reason == suppression.BOUNCED


def test_a_release_that_arrived_breaks_the_streak(office: Workspace) -> None:
    with jr.Journal(journal_path(office)) as journal:
        earlier(journal, 0, soft_bounced=True)
        earlier(journal, 1, soft_bounced=False)
    assert "1 of 3" in soft(office, anna(office)).text
    assert not suppression.load(office)


def test_a_soft_bounce_never_undoes_a_hard_one(office: Workspace) -> None:
    envelope = send(office).delivered[0]
    token = bounce_token(office, envelope.sender)
    apply(office, Finding(Kind.HARD_BOUNCE, bounce_token=token, status="5.1.1"))
    late = apply(office, Finding(Kind.SOFT_BOUNCE, bounce_token=token, status="4.4.7"))
    assert not late.changed
    assert delivery(office, envelope.recipient).state == jr.BOUNCED


def test_a_mailed_unsubscribe_suppresses_for_its_list(office: Workspace) -> None:
    token = unsubscribe.sign(SECRET.encode(), "anna.becker@example.org", "presse")
    action = apply(office, Finding(Kind.UNSUBSCRIBE, unsubscribe_token=token))
    assert action.verdict is Verdict.UNSUBSCRIBED and action.done
    held = suppression.load(office)
    assert held.lookup("anna.becker@example.org", "presse") is not None
    assert held.lookup("anna.becker@example.org", "partnerstaedte") is None


def test_a_mailed_unsubscribe_with_a_forged_token_changes_nothing(office: Workspace) -> None:
    token = unsubscribe.sign(b"not the office's key at all!!", "anna.becker@example.org", "presse")
    action = apply(office, Finding(Kind.UNSUBSCRIBE, unsubscribe_token=token))
    assert action.verdict is Verdict.PROBLEM and not action.done
    assert not suppression.load(office)


def test_an_old_mailed_unsubscribe_is_still_honoured(office: Workspace) -> None:
    import datetime as dt

    issued = dt.date.today() - dt.timedelta(days=2000)
    token = unsubscribe.sign(SECRET.encode(), "anna.becker@example.org", "presse", issued=issued)
    assert apply(office, Finding(Kind.UNSUBSCRIBE, unsubscribe_token=token)).changed


def test_an_unsubscribe_mail_without_a_token_is_for_a_person(office: Workspace) -> None:
    send(office)
    action = apply(office, Finding(Kind.UNSUBSCRIBE, sender="anna.becker@example.org"))
    assert action.verdict is Verdict.PROBLEM and not action.done
    assert not suppression.load(office)


@pytest.mark.parametrize("kind", [Kind.AUTO_REPLY, Kind.DELAYED])
def test_auto_replies_and_delay_notices_change_nothing(office: Workspace, kind: Kind) -> None:
    envelope = send(office).delivered[0]
    action = apply(office, Finding(kind, bounce_token=bounce_token(office, envelope.sender)))
    assert action.verdict is Verdict.NOTHING and action.done and not action.changed
    assert delivery(office, envelope.recipient).state == jr.SENT


def test_other_mail_is_left_for_a_person(office: Workspace) -> None:
    action = apply(office, Finding(Kind.OTHER, subject="Rückfrage zur Pressemitteilung"))
    assert action.verdict is Verdict.FOR_A_PERSON and not action.done


def test_a_dry_run_says_what_it_would_do_and_writes_nothing(office: Workspace) -> None:
    envelope = send(office).delivered[0]
    finding = Finding(
        Kind.HARD_BOUNCE, bounce_token=bounce_token(office, envelope.sender), status="5.1.1"
    )
    before = journal_path(office).read_bytes()
    action = apply(office, finding, dry_run=True)
    assert action.verdict is Verdict.BOUNCED and action.changed
    assert "would mark bounced, would suppress on every list" in action.text
    assert delivery(office, envelope.recipient).state == jr.SENT
    assert not suppression.load(office)
    assert journal_path(office).read_bytes() == before


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.text(alphabet="abcdefghijklmnopqrstuvwxyz234567", min_size=1, max_size=60))
def test_no_made_up_token_moves_anything(office: Workspace, token: str) -> None:
    if not journal_path(office).exists():
        send(office)
    action = apply(office, Finding(Kind.HARD_BOUNCE, bounce_token=token, status="5.1.1"))
    assert action.verdict is Verdict.PROBLEM
    assert not suppression.load(office)
