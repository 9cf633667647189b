"""A changed release: a new revision goes only to those who never got the release.

Whoever got an earlier revision gets the new one only as a correction
(``correction``), in the language they got, or with ``resend``. The workspace,
the rendered mails and the SQLite journal are real; the gateway is the
in-memory one the library ships, so every run takes milliseconds.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
from collections import Counter
from pathlib import Path

import polib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pressdist
from pressdist.errors import NotReady
from pressdist.gateways.memory import MemoryGateway
from pressdist.mail.content import Correction
from pressdist.mail.identity import message_id
from pressdist.mail.verp import BounceAddress, verify
from pressdist.sending import delivery
from pressdist.sending import journal as jr
from pressdist.sending import plan as planning
from pressdist.sending.gateway import Outcome
from pressdist.workspace import Workspace

RELEASE = "2019-11-04-isa-foshan"
READERS = {
    "anna@example.org": "de",
    "james@example.com": "en-GB",
    "li@example.com": "zh_CN",
    "claire@example.org": "fr",  # gets English by fallback
}
GOT = {"anna@example.org": "de", "james@example.com": "en", "li@example.com": "zh_CN"}
GOT["claire@example.org"] = "en"
NOTE = "Die Exportquote beträgt 45,1 Prozent, nicht 44,3."


def write_list(root: Path, readers: dict[str, str]) -> None:
    rows = "".join(f"{a},Reader,{lang}\n" for a, lang in readers.items())
    (root / "recipients" / "test.csv").write_text("email,name,language\n" + rows, "utf-8")


@pytest.fixture
def ws(example_workspace: Path) -> Workspace:
    write_list(example_workspace, READERS)
    return Workspace.open(example_workspace)


def change_a_number(ws: Workspace) -> Workspace:
    """What the office does: one number changed in the German source, then extract."""
    path = ws.root / "releases" / f"{RELEASE}.md"
    path.write_text(path.read_text("utf-8").replace("44,3%", "45,1%"), "utf-8")
    ws = Workspace.open(ws.root)
    pressdist.extract(ws, RELEASE)
    return ws


def translate_the_change(ws: Workspace) -> None:
    """What the translators do: the changed sentence made right and approved."""
    for lang in ("en", "zh_CN"):
        po = polib.pofile(str(ws.po_path(RELEASE, lang)))
        for entry in po:
            if "fuzzy" in entry.flags:
                entry.msgstr = entry.msgstr.replace("44.3", "45.1")
                entry.flags.remove("fuzzy")
                entry.previous_msgid = None
        po.save()


def send(ws: Workspace, **options) -> tuple[MemoryGateway, delivery.Report]:
    gateway = MemoryGateway()
    report = delivery.run(planning.plan(ws, RELEASE, ["test"], gateway=gateway, **options))
    return gateway, report


def parse(envelope) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.data, policy=email.policy.default)


def test_a_changed_release_goes_only_to_those_who_never_got_it(ws):
    send(ws)
    write_list(ws.root, {**READERS, "new@example.org": "en"})
    ws = change_a_number(ws)
    translate_the_change(ws)
    plan = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway())
    assert (plan.to_send, plan.earlier, plan.already_sent, plan.again) == (1, 4, 0, 0)
    gateway, report = send(ws)
    assert report.ok and [e.recipient for e in gateway.envelopes] == ["new@example.org"]
    assert not parse(gateway.envelopes[0])["Subject"].startswith("Correction")


def test_a_changed_release_that_is_not_translated_again_sends_nobody_anything(ws):
    # The run: extract, then --allow-fallback. It used to send everyone
    # the whole release again, the English and Chinese readers in German.
    send(ws)
    ws = change_a_number(ws)
    gateway, report = send(ws, allow_fallback=True)
    assert gateway.envelopes == [] and report.sent == 0
    # Not even a NotReady without it: nobody would get the unready languages.
    assert planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway()).to_send == 0


def test_a_correction_goes_to_each_in_the_language_they_got_with_its_own_message_id(ws):
    first, _ = send(ws)
    original = {e.recipient: e.message_id for e in first.envelopes}
    # James reads German now; his correction still corrects the English mail he has.
    write_list(ws.root, {**READERS, "james@example.com": "de", "new@example.org": "de"})
    ws = change_a_number(ws)
    translate_the_change(ws)
    plan = planning.plan(
        ws, RELEASE, ["test"], gateway=MemoryGateway(), correction=Correction(NOTE)
    )
    assert (plan.to_send, plan.corrected, plan.again) == (5, 4, 0)
    gateway, report = send(ws, correction=Correction(NOTE))
    assert report.ok
    mails = {e.recipient: parse(e) for e in gateway.envelopes}
    assert not mails.pop("new@example.org")["Subject"].startswith("Korrektur")
    languages = {a: m["Content-Language"] for a, m in mails.items()}
    assert languages == {a: lang.replace("_", "-") for a, lang in GOT.items()}
    assert mails["anna@example.org"]["Subject"].startswith("Korrektur: Pressemitteilung: ")
    assert mails["james@example.com"]["Subject"].startswith("Correction: Press release: ")
    assert mails["li@example.com"]["Subject"].startswith("更正：新闻稿：")
    revision = plan.revision
    for address, mail in mails.items():
        mid = mail["Message-ID"].strip("<>")
        assert mid.startswith(f"{revision}.{GOT[address]}.")
        assert mid != message_id(revision, GOT[address], address, plan.domain)
        assert mail["References"] == f"<{original[address]}>"
        text = mail.get_body(("plain",)).get_content()
        assert NOTE in text and NOTE in mail.get_body(("html",)).get_content()
        assert "45.1" in text or "45,1" in text
    assert (
        "replaces the press release"
        in mails["james@example.com"].get_body(("plain",)).get_content()
    )
    with jr.Journal(planning.journal_path(ws)) as journal:
        rows = {d.recipient: d for d in journal.deliveries(RELEASE) if d.revision == revision}
    assert {k for k, d in rows.items() if d.correction} == set(GOT)
    assert not rows["new@example.org"].correction
    # Done is done: neither the same command nor a plain send mails anyone again.
    assert send(ws, correction=Correction(NOTE))[0].envelopes == []
    assert send(ws)[0].envelopes == []


def test_the_bounce_address_of_a_correction_leads_back_to_the_correction(ws):
    send(ws)
    ws = change_a_number(ws)
    translate_the_change(ws)
    gateway, _ = send(ws, correction=Correction())
    bounce = BounceAddress("presse-bounces@example.org", b"sechzehn-bytes-und-mehr")
    with jr.Journal(planning.journal_path(ws)) as journal:
        for envelope in gateway.envelopes:
            token = bounce.token_of(bounce.sender(envelope.message_id))
            ref = verify(bounce.secret, token)
            found = journal.by_digest(ref.revision, ref.digest_prefix)
            assert found.message_id == envelope.message_id and found.correction


def test_a_test_copy_of_a_correction_shows_the_office_every_language_of_it(ws):
    gateway = MemoryGateway()
    plan = planning.plan(ws, RELEASE, [], gateway=gateway, correction=Correction(NOTE))
    report = delivery.send_test(plan, "presse@example.org")
    assert report.ok and not (ws.state_dir / jr.FILE_NAME).exists()
    subjects = sorted(parse(e)["Subject"].split(":")[0].split("：")[0] for e in gateway.envelopes)
    assert subjects == ["Correction", "Korrektur", "更正"]
    assert all(e.message_id.startswith("test.") for e in gateway.envelopes)


def test_a_correction_in_a_language_that_is_not_ready_is_refused_even_with_fallback(ws):
    send(ws)
    ws = change_a_number(ws)  # the translations are fuzzy now
    with pytest.raises(NotReady) as refused:
        planning.plan(
            ws,
            RELEASE,
            ["test"],
            gateway=MemoryGateway(),
            correction=Correction(),
            allow_fallback=True,
        )
    assert "correction" in refused.value.message and "--allow-fallback" in refused.value.hint


def test_resend_of_a_changed_release_says_who_gets_it_a_second_time(ws):
    send(ws)
    again = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway(), resend=True)
    assert (again.to_send, again.already_sent, again.again) == (4, 4, 4)
    ws = change_a_number(ws)
    translate_the_change(ws)
    plan = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway(), resend=True)
    assert (plan.to_send, plan.already_sent, plan.earlier, plan.again) == (4, 0, 4, 4)
    gateway, _ = send(ws, resend=True)
    assert Counter(e.recipient for e in gateway.envelopes) == Counter(list(READERS))


def test_an_earlier_revision_that_never_arrived_does_not_count_as_got(ws):
    refused = MemoryGateway(
        lambda e: Outcome.PERMANENT if e.recipient == "li@example.com" else Outcome.ACCEPTED
    )
    delivery.run(planning.plan(ws, RELEASE, ["test"], gateway=refused))
    ws = change_a_number(ws)
    translate_the_change(ws)
    gateway, _ = send(ws)
    assert [e.recipient for e in gateway.envelopes] == ["li@example.com"]


# For any journal history ----------------------------------------------------------

OTHER = ("0000000000aa", "0000000000bb")
_row = st.tuples(
    st.sampled_from(["current", *OTHER]),
    st.sampled_from(jr.STATES),
    st.sampled_from(["de", "en", "zh_CN"]),
    st.integers(0, 9),  # when, for which earlier revision is the latest
)
histories = st.dictionaries(
    st.sampled_from(sorted(READERS)),
    st.lists(_row, max_size=3, unique_by=(lambda r: r[0], lambda r: r[3])),
    max_size=len(READERS),
)


def _write(ws: Workspace, revision: str, history: dict[str, list]) -> jr.Journal:
    journal = jr.Journal(planning.journal_path(ws))
    journal.db.execute("DELETE FROM deliveries")  # the history of this example only
    run = journal.start_run(RELEASE, revision, ["test"], "memory", False)
    for key, rows in history.items():
        for rev, state, language, when in rows:
            rev = revision if rev == "current" else rev
            mid = message_id(rev, language, key, "example.org")
            journal.mark_sending(
                run,
                [jr.Attempt(rev, key, RELEASE, key, "", language, "", "test", "memory", mid)],
            )
            journal.record([(rev, key, state, "")])
            journal.db.execute(
                "UPDATE deliveries SET sent_at=?, updated_at=? WHERE revision=? AND recipient=?",
                (f"2026-01-{when + 1:02d}", f"2026-01-{when + 1:02d}", rev, key),
            )
    return journal


@pytest.fixture
def first_plan(ws: Workspace) -> planning.Plan:
    """A plan made before anything was sent: every language served, for any reach.

    Planning renders each language, so every example reuses it for the stream
    of mails (``addressees`` reads the journal again, as the run does).
    """
    return planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories)
def test_for_any_history_a_new_revision_reaches_an_earlier_reader_only_when_asked(
    ws, history, first_plan
):
    revision = first_plan.revision
    journal = _write(ws, revision, history)
    try:
        got_other = {}
        for key, rows in history.items():
            others = [r for r in rows if r[0] != "current" and r[1] in jr.DELIVERED]
            if others:
                got_other[key] = max(others, key=lambda r: r[3])[2]
        current = {k: r[1] for k, rows in history.items() for r in rows if r[0] == "current"}
        # The plan's counts, and the stream of mails the run sends, read the journal apart.
        plan = planning.plan(ws, RELEASE, ["test"], gateway=MemoryGateway())
        assert plan.to_send == len([a for batch in plan.addressees(journal, 3) for a in batch])
        for options in ({}, {"correction": Correction()}, {"resend": True}):
            asked = dataclasses.replace(first_plan, reach=planning.Reach(**options))
            mails = [a for batch in asked.addressees(journal, 3) for a in batch]
            for mail in mails:
                key = mail.recipient.key
                assert mail.correction == (key in got_other and "correction" in options)
                if mail.correction:
                    assert mail.language == got_other[key]
                if not options:
                    assert key not in got_other
                    assert current.get(key) not in (*jr.DELIVERED, jr.FAILED_PERMANENT)
            if "resend" in options:
                assert {m.recipient.key for m in mails} == set(READERS)
            due_plainly = {
                k
                for k in READERS
                if k not in got_other and current.get(k) not in (*jr.DELIVERED, jr.FAILED_PERMANENT)
            }
            if not options:
                assert {m.recipient.key for m in mails} == due_plainly
            else:
                assert due_plainly <= {m.recipient.key for m in mails}
    finally:
        journal.close()
