"""Sending through the library: plan, run, journal, retries, resume — with real gateways.

The maildir gateway writes a real Maildir; the SMTP tests talk to a real aiosmtpd
server on 127.0.0.1 whose answers (4xx, 5xx) the test sets per recipient.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import re
from collections import Counter
from pathlib import Path

import polib
import pytest
from smtp_servers import Sink, SmtpServer

from pressdist.errors import ConfigError, GatewayError, NotReady
from pressdist.mail import identity
from pressdist.sending import delivery
from pressdist.sending import journal as jr
from pressdist.sending import plan as planning
from pressdist.workspace import Workspace

RELEASE = "2019-11-04-isa-foshan"
LIST = """email,name,language,organisation,salutation
anna@example.org,Anna Becker,de,Allgemeine Zeitung,Sehr geehrte Frau Becker
jonas@example.com,Jonas Wolf,de_AT,,
james@example.com,James Holloway,en-GB,,Dear Mr Holloway
peter@example.org,"Okafor, Peter",en-US,,
li@example.com,Li Wei,zh_CN,新华社,尊敬的李伟先生
chen@example.org,Chen Jing,zh-Hans,,
claire@example.org,Claire Dubois,fr,,
wang@example.tw,Wang Fang,zh_TW,,
"""
EXPECTED = {
    "anna@example.org": "de",
    "jonas@example.com": "de",
    "james@example.com": "en",
    "peter@example.org": "en",
    "li@example.com": "zh-CN",
    "chen@example.org": "zh-CN",
    "claire@example.org": "en",
    "wang@example.tw": "en",
}


def configure(root: Path, extra: str = "") -> None:
    cfg = root / "pressdist.toml"
    text = cfg.read_text(encoding="utf-8")
    if "retry_base_seconds" not in text:
        text = re.sub(
            r"(?m)^\[send\]\n",
            "[send]\nretry_base_seconds = 0.01\nretry_max_seconds = 0.05\n",
            text,
            count=1,
        )
    cfg.write_text(text + extra, encoding="utf-8")


@pytest.fixture
def ws(example_workspace: Path) -> Workspace:
    (example_workspace / "recipients" / "test.csv").write_text(LIST, encoding="utf-8")
    configure(example_workspace)
    return Workspace.open(example_workspace)


def outbox(root: Path) -> list[email.message.EmailMessage]:
    box = mailbox.Maildir(root / "outbox", factory=None, create=False)
    # Decoded as UTF-8, as a reader of RFC 6532 mail does: a UTF-8 mailbox name
    # is written raw in To (the bytes parser would leave surrogate escapes).
    return [
        email.message_from_string(box.get_bytes(k).decode("utf-8"), policy=email.policy.default)
        for k in box.iterkeys()
    ]


def address_of(msg) -> str:
    return msg["To"].addresses[0].addr_spec


def body_text(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def test_every_recipient_gets_exactly_one_mail_in_their_language(ws):
    plan = planning.plan(ws, RELEASE, ["test"])
    assert plan.to_send == 8
    report = delivery.run(plan)
    assert report.ok and report.sent == 8
    mails = outbox(ws.root)
    assert Counter(address_of(m) for m in mails) == Counter(list(EXPECTED))
    for m in mails:
        assert m["Content-Language"] == EXPECTED[address_of(m)]
        assert m["Message-ID"].strip("<>").split("@")[0].startswith(plan.revision)
        assert m["Date"] and m["Subject"] and m["From"]
        assert "List-Unsubscribe" in m and m["List-Unsubscribe-Post"] == (
            "List-Unsubscribe=One-Click"
        )


def test_no_mail_carries_another_recipients_address(ws):
    delivery.run(planning.plan(ws, RELEASE, ["test"]))
    for m in outbox(ws.root):
        raw = m.as_bytes().decode("utf-8", "replace") + body_text(m)
        mine = address_of(m)
        others = [a for a in EXPECTED if a != mine]
        assert not [a for a in others if a in raw], mine
        assert len(m.get_all("To")) == 1 and "Cc" not in m and "Bcc" not in m


def test_salutation_and_name_are_personal(ws):
    delivery.run(planning.plan(ws, RELEASE, ["test"]))
    by = {address_of(m): m for m in outbox(ws.root)}
    assert body_text(by["anna@example.org"]).lstrip().startswith("Sehr geehrte Frau Becker")
    assert by["peter@example.org"]["To"].addresses[0].display_name == "Okafor, Peter"
    assert "Sehr geehrte" not in body_text(by["jonas@example.com"])


def test_second_send_of_the_same_release_sends_nothing_new(ws):
    delivery.run(planning.plan(ws, RELEASE, ["test"]))
    again = planning.plan(ws, RELEASE, ["test"])
    assert (again.to_send, again.already_sent) == (0, 8)
    report = delivery.run(again)
    assert report.sent == 0
    assert len(outbox(ws.root)) == 8


def test_a_list_grown_since_the_last_send_gets_only_the_new_recipients(ws):
    delivery.run(planning.plan(ws, RELEASE, ["test"]))
    path = ws.recipients_dir / "test.csv"
    path.write_text(LIST + "new@example.org,Neu,de,,\n", encoding="utf-8")
    report = delivery.run(planning.plan(ws, RELEASE, ["test"]))
    assert report.sent == 1
    assert sorted(address_of(m) for m in outbox(ws.root)).count("new@example.org") == 1


def test_resend_sends_everyone_again_with_the_same_message_ids(ws):
    delivery.run(planning.plan(ws, RELEASE, ["test"]))
    first = {m["Message-ID"] for m in outbox(ws.root)}
    report = delivery.run(planning.plan(ws, RELEASE, ["test"], resend=True))
    assert report.sent == 8
    ids = Counter(m["Message-ID"] for m in outbox(ws.root))
    assert set(ids) == first and set(ids.values()) == {2}


def test_dry_run_hands_nothing_to_the_gateway_and_writes_no_journal(ws):
    report = delivery.run(planning.plan(ws, RELEASE, ["test"]), dry_run=True)
    assert report.dry_run and report.sent == 8
    assert not (ws.root / "outbox").exists()
    assert not (ws.state_dir / jr.FILE_NAME).exists()


def test_test_copy_goes_to_one_address_in_every_sendable_language_without_the_journal(ws):
    report = delivery.send_test(planning.plan(ws, RELEASE, []), "me@example.org")
    assert report.ok
    mails = outbox(ws.root)
    assert sorted(m["Content-Language"] for m in mails) == ["de", "en", "zh-CN"]
    assert {address_of(m) for m in mails} == {"me@example.org"}
    assert not (ws.state_dir / jr.FILE_NAME).exists()


def test_message_id_is_stable_per_revision_language_and_address_and_hides_it():
    one = identity.message_id("abc", "en", "Anna@Example.org", "example.org")
    assert one == identity.message_id("abc", "en", "anna@example.org", "example.org")
    assert one != identity.message_id("abd", "en", "anna@example.org", "example.org")
    assert one != identity.message_id("abc", "de", "anna@example.org", "example.org")
    assert "anna" not in one.lower()


def test_journal_records_who_got_what(ws):
    plan = planning.plan(ws, RELEASE, ["test"])
    report = delivery.run(plan)
    with jr.Journal(ws.state_dir / jr.FILE_NAME) as j:
        rows = {d.recipient: d for d in j.deliveries(RELEASE)}
        (run,) = j.runs()
    assert {k: d.state for k, d in rows.items()} == dict.fromkeys(EXPECTED, jr.SENT)
    assert rows["wang@example.tw"].language == "en"
    assert rows["wang@example.tw"].requested_language == "zh_TW"
    assert rows["li@example.com"].list == "test"
    assert (run.id, run.status) == (report.run_id, "finished")


def test_list_errors_stop_before_anything_is_sent(ws):
    (ws.recipients_dir / "test.csv").write_text(LIST + "broken@,X,en,,\n", encoding="utf-8")
    with pytest.raises(planning.ListProblems) as exc:
        planning.plan(ws, RELEASE, ["test"])
    assert exc.value.line == 10
    assert not (ws.root / "outbox").exists()


def _untranslate_one_entry(ws: Workspace, language: str) -> None:
    path = ws.po_path(RELEASE, language)
    po = polib.pofile(str(path))
    entry = next(e for e in po if e.msgstr and not e.obsolete)
    entry.msgstr = ""
    po.save(str(path))


def test_a_language_that_is_not_ready_is_refused_naming_what_to_fix(ws):
    _untranslate_one_entry(ws, "zh_CN")
    with pytest.raises(NotReady) as exc:
        planning.plan(ws, RELEASE, ["test"])
    assert "zh_CN" in exc.value.message
    assert "--allow-fallback" in (exc.value.hint or "")
    assert not (ws.root / "outbox").exists()


def test_allow_fallback_sends_readers_of_an_unready_language_their_fallback(ws):
    _untranslate_one_entry(ws, "zh_CN")
    plan = planning.plan(ws, RELEASE, ["test"], allow_fallback=True)
    assert plan.served["zh_CN"] == "en"
    delivery.run(plan)
    langs = {address_of(m): m["Content-Language"] for m in outbox(ws.root)}
    assert langs["li@example.com"] == "en"


def test_unknown_gateway_and_missing_secret_are_config_errors_before_sending(ws):
    with pytest.raises(ConfigError):
        planning.plan(ws, RELEASE, ["test"], gateway="nowhere")
    configure(
        ws.root,
        '\n[gateways.office]\ntype = "smtp"\nhost = "127.0.0.1"\nport = 2525\n'
        'security = "none"\nusername = "u"\npassword_env = "PRESSDIST_TEST_UNSET_SECRET"\n',
    )
    ws2 = Workspace.open(ws.root)
    with pytest.raises(ConfigError) as exc:
        planning.plan(ws2, RELEASE, ["test"], gateway="office")
    assert "PRESSDIST_TEST_UNSET_SECRET" in str(exc.value) + (exc.value.hint or "")


def test_the_envelope_sender_is_the_ascii_address_the_from_header_shows(ws):
    ws.config.sender = "Presse <presse@straße.example>"
    assert identity.sender_address(ws) == "presse@xn--strae-oqa.example"
    ws.config.sender = "Presse <prässe@example.org>"
    with pytest.raises(ConfigError):
        identity.sender_address(ws)


@pytest.mark.parametrize(
    "setting",
    [
        'sender = "Presse <prässe@example.org>"',
        'reply_to = "redaktion"',
        '[send]\nunsubscribe_url = "https://example.org/ab melden"',
    ],
)
def test_a_bad_header_setting_is_one_config_error_not_a_failure_per_recipient(ws, setting):
    text = (ws.root / "pressdist.toml").read_text("utf-8")
    key = setting.split(" =")[0].split("\n")[-1]
    text = re.sub(rf"(?m)^{key} = .*\n", "", text)
    if setting.startswith("[send]"):
        text = text.replace("[send]\n", setting + "\n", 1)
    else:
        text = setting + "\n" + text
    (ws.root / "pressdist.toml").write_text(text, "utf-8")
    with pytest.raises(ConfigError) as exc:
        planning.plan(Workspace.open(ws.root), RELEASE, ["test"])
    assert exc.value.path == ws.root / "pressdist.toml"
    assert not (ws.state_dir / jr.FILE_NAME).exists()


@pytest.mark.parametrize(
    "setting",
    ['reply_to = "Redaktion <redäktion@example.org>"', 'unsubscribe_mailto = "äb@example.org"'],
)
def test_a_utf8_mailbox_name_in_a_header_setting_is_one_config_error(ws, setting):
    text = (ws.root / "pressdist.toml").read_text("utf-8")
    key = setting.split(" =")[0]
    text = re.sub(rf"(?m)^{key} = .*\n", "", text)
    if key == "reply_to":
        text = setting + "\n" + text
    else:
        text = text.replace("[send]\n", "[send]\n" + setting + "\n", 1)
    (ws.root / "pressdist.toml").write_text(text, "utf-8")
    with pytest.raises(ConfigError) as exc:
        planning.plan(Workspace.open(ws.root), RELEASE, ["test"])
    assert exc.value.path == ws.root / "pressdist.toml"
    assert "not ASCII" in exc.value.message
    assert not (ws.state_dir / jr.FILE_NAME).exists()


def test_rows_left_sending_by_a_crash_are_resent_with_the_same_message_id_and_reported(ws):
    plan = planning.plan(ws, RELEASE, ["test"])
    domain = identity.message_id_domain(ws)
    # What a crash leaves: two deliveries committed as `sending`, nothing after.
    with jr.Journal(ws.state_dir / jr.FILE_NAME) as j:
        run = j.start_run(RELEASE, plan.revision, ["test"], "outbox", False)
        j.mark_sending(
            run,
            [
                jr.Attempt(
                    plan.revision,
                    key,
                    RELEASE,
                    key,
                    "",
                    lang,
                    "",
                    "test",
                    "outbox",
                    identity.message_id(plan.revision, lang, key, domain),
                )
                for key, lang in (("anna@example.org", "de"), ("li@example.com", "zh_CN"))
            ],
        )
    plan = planning.plan(ws, RELEASE, ["test"])
    assert plan.in_flight == 2
    report = delivery.run(plan)
    assert sorted(report.possibly_duplicate) == ["anna@example.org", "li@example.com"]
    by = {address_of(m): m["Message-ID"] for m in outbox(ws.root)}
    assert (
        by["li@example.com"]
        == "<" + identity.message_id(plan.revision, "zh_CN", "li@example.com", domain) + ">"
    )
    with jr.Journal(ws.state_dir / jr.FILE_NAME) as j:
        flagged = {d.recipient for d in j.deliveries() if d.possibly_duplicate}
        assert [r.status for r in j.runs()] == ["interrupted", "finished"]
    assert flagged == {"anna@example.org", "li@example.com"}


# SMTP ---------------------------------------------------------------------------


@pytest.fixture
def smtp():
    sink = Sink()
    with SmtpServer(sink) as server:
        server.sink = sink
        yield server


def smtp_workspace(ws: Workspace, port: int) -> Workspace:
    configure(
        ws.root,
        f'\n[gateways.office]\ntype = "smtp"\nhost = "127.0.0.1"\nport = {port}\n'
        'security = "none"\n',
    )
    return Workspace.open(ws.root)


def test_smtp_transient_failures_are_retried_and_delivered_permanent_ones_listed(ws, smtp):
    smtp.sink.script = {
        "james@example.com": ["451 4.3.0 try again", "451 4.3.0 try again", "250 OK"],
        "claire@example.org": ["550 5.1.1 no such mailbox"],
    }
    ws = smtp_workspace(ws, smtp.port)
    report = delivery.run(planning.plan(ws, RELEASE, ["test"], gateway="office"))
    assert not report.ok and not report.stopped
    assert [(f.address, f.state) for f in report.failures] == [
        ("claire@example.org", jr.FAILED_PERMANENT)
    ]
    assert "550" in report.failures[0].detail
    received = Counter(r for rcpts, _ in smtp.sink.messages for r in rcpts)
    assert received == Counter({a: 1 for a in EXPECTED if a != "claire@example.org"})
    assert report.retries == 2
    with jr.Journal(ws.state_dir / jr.FILE_NAME) as j:
        rows = {d.recipient: d for d in j.deliveries()}
    assert (rows["james@example.com"].state, rows["james@example.com"].attempts) == (jr.SENT, 3)
    assert rows["claire@example.org"].state == jr.FAILED_PERMANENT
    # A second send neither retries the permanent failure nor sends anything twice.
    again = delivery.run(planning.plan(ws, RELEASE, ["test"], gateway="office"))
    assert again.sent == 0 and len(smtp.sink.messages) == 7


def test_smtp_transient_failure_past_max_attempts_is_reported_and_retried_next_run(ws, smtp):
    smtp.sink.script = {"li@example.com": ["452 4.2.2 mailbox full"]}
    ws = smtp_workspace(ws, smtp.port)
    configure(ws.root, "")
    text = (ws.root / "pressdist.toml").read_text().replace("max_attempts = 5", "max_attempts = 2")
    (ws.root / "pressdist.toml").write_text(text)
    ws = Workspace.open(ws.root)
    report = delivery.run(planning.plan(ws, RELEASE, ["test"], gateway="office"))
    assert [(f.address, f.state, f.attempts) for f in report.failures] == [
        ("li@example.com", jr.FAILED_TRANSIENT, 2)
    ]
    smtp.sink.script = {}
    plan = planning.plan(ws, RELEASE, ["test"], gateway="office")
    assert plan.to_send == 1
    assert delivery.run(plan).sent == 1


def test_unreachable_gateway_stops_cleanly_with_the_journal_intact(ws):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ws = smtp_workspace(ws, port)
    plan = planning.plan(ws, RELEASE, ["test"], gateway="office")
    with pytest.raises(GatewayError):
        delivery.run(plan)
    with jr.Journal(ws.state_dir / jr.FILE_NAME) as j:
        assert list(j.deliveries()) == []
    # Once the server is back, everything goes out.
    assert delivery.run(planning.plan(ws, RELEASE, ["test"])).sent == 8


def test_a_gateway_failing_every_retry_stops_the_run_and_a_later_run_sends_all(ws, smtp):
    many = [f"r{i:02d}@example.org" for i in range(30)]
    (ws.recipients_dir / "many.csv").write_text(
        "email,name,language\n" + "".join(f"{a},R,de\n" for a in many), "utf-8"
    )
    ws = smtp_workspace(ws, smtp.port)
    text = (ws.root / "pressdist.toml").read_text().replace("max_attempts = 5", "max_attempts = 2")
    (ws.root / "pressdist.toml").write_text(text)
    ws = Workspace.open(ws.root)
    smtp.sink.script = {a: ["421 4.3.2 system not accepting messages"] for a in many}
    report = delivery.run(planning.plan(ws, RELEASE, ["many"], gateway="office"))
    assert "after every retry" in report.stopped
    assert smtp.sink.messages == []
    assert 10 <= len(report.failures) < 30  # stopped early, not after trying everyone
    with jr.Journal(ws.state_dir / jr.FILE_NAME) as j:
        assert {d.state for d in j.deliveries()} <= {jr.FAILED_TRANSIENT, jr.PENDING, jr.SENDING}
        assert [r.status for r in j.runs()] == ["stopped"]
    smtp.sink.script = {}
    again = delivery.run(planning.plan(ws, RELEASE, ["many"], gateway="office"))
    assert again.ok and again.sent == 30


def test_memory_grows_with_the_address_set_only_not_with_the_messages(ws):
    import tracemalloc

    def peak(count: int) -> int:
        path = ws.recipients_dir / f"big{count}.csv"
        langs = ["de", "en-GB", "zh-Hans", "fr"]
        path.write_text(
            "email,name,language\n"
            + "".join(f"r{i}@example.org,Reader {i},{langs[i % 4]}\n" for i in range(count)),
            encoding="utf-8",
        )
        plan = planning.plan(ws, RELEASE, [f"big{count}"])
        tracemalloc.start()
        try:
            report = delivery.run(plan, dry_run=True)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert report.sent == count

    small, large = peak(1000), peak(5000)
    # Holding the messages would cost several KB each; the address set ~0.2 KB.
    assert large - small < 4000 * 1024


def test_a_recipient_the_renderer_cannot_address_is_recorded_failed_and_others_go_out(ws):
    # A non-ASCII mailbox name needs SMTPUTF8 all the way through; whether the
    # message is built or refused, report, journal and outbox must agree.
    (ws.recipients_dir / "test.csv").write_text(LIST + "jörg@example.org,Jörg,de,,\n", "utf-8")
    report = delivery.run(planning.plan(ws, RELEASE, ["test"]))
    delivered = {address_of(m) for m in outbox(ws.root)}
    assert set(EXPECTED) <= delivered
    with jr.Journal(ws.state_dir / jr.FILE_NAME) as j:
        state = {d.recipient: d.state for d in j.deliveries()}["jörg@example.org"]
    if report.failures:
        assert [f.address for f in report.failures] == ["jörg@example.org"]
        assert state == jr.FAILED_PERMANENT and "jörg@example.org" not in delivered
        assert "test.csv:10" in report.failures[0].detail
    else:
        assert state == jr.SENT and "jörg@example.org" in delivered
