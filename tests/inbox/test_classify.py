"""Recognising what comes back to presse@example.org: reports, bounces, unsubscribes, replies.

The sample mails in tests/data/inbox are shaped on what the servers write
(the Postfix ones as Postfix 3.7 writes its DSNs); their VERP addresses
and unsubscribe subjects get real tokens, made with a fixed test key, when
a test reads them.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import random
import re
from email.header import Header
from pathlib import Path

import pytest
from flufl.bounce import all_failures
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressdist.inbox.classify import SUBJECT_LENGTH, Office, classify
from pressdist.inbox.findings import Finding, Kind
from pressdist.mail import unsubscribe, verp
from pressdist.mail.verp import BounceAddress
from pressdist.workspace import Workspace

DATA = Path(__file__).resolve().parent.parent / "data" / "inbox"
KEY = b"a fixed key for the inbox tests only"
BOUNCE = BounceAddress("presse-bounces@example.org", KEY)
OFFICE = Office(BOUNCE, "abmelden@example.org")
MESSAGE_ID = "7c41d2e09a3b.de.4f0e9d2c7b6a5e3f1d8c0b2a@example.org"  # of the release all quote
TOKEN = BOUNCE.token_of(BOUNCE.sender(MESSAGE_ID)) or ""
OTHER_TOKEN = BOUNCE.token_of(BOUNCE.sender("0a1b2c3d4e5f.en.00112233445566778899aabb@example.org"))
ISSUED = dt.date(2026, 11, 19)
FROM_ADDRESS = re.compile(rb"^From:.*?<([^<>\s]+)>", re.MULTILINE)
CANNOT_READ = "a mail pressdist could not read"


def unsubscribe_token(address: str) -> str:
    return unsubscribe.sign(KEY, address, "presse", issued=ISSUED)


def sample(name: str) -> bytes:
    """A sample mail with real tokens: the VERP token of MESSAGE_ID, the sender's own."""
    data = (DATA / name).read_bytes()
    sender = FROM_ADDRESS.search(data)
    mailto = unsubscribe_token(sender[1].decode() if sender else "someone@example.net")
    return data.replace(b"{{token}}", TOKEN.encode()).replace(
        b"{{unsubscribe_token}}", mailto.encode()
    )


def changed(data: bytes, *, remove: tuple[str, ...] = (), add: tuple[bytes, ...] = ()) -> bytes:
    """``data`` without the top-level headers named in ``remove``, with the lines ``add`` first."""
    head, sep, body = data.partition(b"\n\n")
    kept: list[bytes] = []
    dropping = False
    for line in head.split(b"\n"):
        if line[:1] not in (b" ", b"\t"):
            dropping = line.split(b":", 1)[0].strip().lower().decode() in remove
        if not dropping:
            kept.append(line)
    return b"\n".join([*add, *kept]) + sep + body


def with_subject(data: bytes, subject: str) -> bytes:
    encoded = Header(subject, "utf-8").encode() if not subject.isascii() else subject
    return changed(data, remove=("subject",), add=(b"Subject: " + encoded.encode("ascii"),))


def journalist(**headers: str) -> bytes:
    """The journalist's reply with other headers: the start of many a test mail."""
    lines = tuple(f"{name.replace('_', '-')}: {value}".encode() for name, value in headers.items())
    names = tuple(name.replace("_", "-").lower() for name in headers)
    return changed(sample("journalist-reply.eml"), remove=names, add=lines)


# Every sample mail, and what it says ---------------------------------------------

EXPECTED: dict[str, dict[str, object]] = {
    "dsn-postfix-5.1.1.eml": {
        "kind": Kind.HARD_BOUNCE,
        "status": "5.1.1",
        "recipient": "j.hoffmann@kurier.example.net",
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,
        "diagnostic": "550 5.1.1 <j.hoffmann@kurier.example.net>: Recipient address rejected: "
        "User unknown in virtual mailbox table",
        "subject": "Undelivered Mail Returned to Sender",
        "sender": "MAILER-DAEMON@mail.example.org",
        "problem": "",
    },
    "dsn-postfix-4.2.2.eml": {
        "kind": Kind.SOFT_BOUNCE,
        "status": "4.2.2",
        "recipient": "redaktion@stadtanzeiger.example.com",
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,
        "diagnostic": "452 4.2.2 <redaktion@stadtanzeiger.example.com>: Mailbox full, quota "
        "exceeded",
    },
    "dsn-5.2.2.eml": {
        "kind": Kind.SOFT_BOUNCE,
        "status": "5.2.2",
        "recipient": "m.schneider@radio.example.com",
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,
    },
    "dsn-delayed.eml": {
        "kind": Kind.DELAYED,
        "status": "4.4.1",
        "recipient": "info@wochenblatt.example.com",
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,
        "diagnostic": "connect to mx.wochenblatt.example.com[198.51.100.99]:25: "
        "Connection timed out",
    },
    "dsn-broken.eml": {
        "kind": Kind.OTHER,
        "problem": "a delivery status report without a recipient's status",
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,
        "status": "",
        "recipient": "",
    },
    "exim-failed.eml": {
        "kind": Kind.HARD_BOUNCE,
        "status": "5.1.1",
        "recipient": "k.wagner@tageblatt.example.net",
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,
        "diagnostic": "550 5.1.1 User unknown",
        "sender": "Mailer-Daemon@mx.tageblatt.example.net",
    },
    "exchange-ndr.eml": {
        "kind": Kind.HARD_BOUNCE,
        "status": "5.1.1",
        "recipient": "b.fischer@landkreis.example.net",
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,
        "diagnostic": "The e-mail account does not exist at the organization this message was "
        "sent to. <exch01.landkreis.example.net #5.1.1>",
        "subject": "Undeliverable: Pressemitteilung: Weihnachtsmarkt auf dem Rathausplatz öffnet "
        "am 26. November",
    },
    "exchange-unzustellbar.eml": {
        "kind": Kind.HARD_BOUNCE,
        "status": "5.1.1",
        "recipient": "c.roth@gemeinde.example.net",
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,
        "diagnostic": "550 5.1.1 User unknown",
    },
    "qmail-failure.eml": {
        "kind": Kind.HARD_BOUNCE,
        "status": "5.1.1",
        "recipient": "s.becker@lokalzeitung.example.com",
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,
        "diagnostic": "<s.becker@lokalzeitung.example.com>: Sorry, no mailbox here by that name. "
        "(#5.1.1)",
    },
    "arf-abuse.eml": {
        "kind": Kind.COMPLAINT,
        "status": "abuse",
        "recipient": "t.schulz@mail.example.com",
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,  # from the original's Return-Path: the report came to presse@
        "problem": "",
    },
    "arf-headers-only.eml": {
        "kind": Kind.COMPLAINT,
        "status": "abuse",
        "recipient": "h.koch@webmail.example.net",  # no Original-Rcpt-To: the original's To
        "message_id": MESSAGE_ID,
        "bounce_token": TOKEN,
    },
    "arf-not-spam.eml": {
        "kind": Kind.OTHER,
        "status": "not-spam",
        "problem": "",
        "message_id": MESSAGE_ID,
    },
    "unsubscribe-token.eml": {
        "kind": Kind.UNSUBSCRIBE,  # though it says Auto-Submitted: auto-generated
        "unsubscribe_token": unsubscribe_token("k.weber@tagespost.example.com"),
        "sender": "k.weber@tagespost.example.com",
        "bounce_token": "",
    },
    "unsubscribe-re.eml": {
        "kind": Kind.UNSUBSCRIBE,
        "unsubscribe_token": unsubscribe_token("redaktion@heimatblatt.example.net"),
    },
    "unsubscribe-encoded.eml": {
        "kind": Kind.UNSUBSCRIBE,  # to "Abmelden@Example.ORG", subject partly RFC 2047
        "unsubscribe_token": unsubscribe_token("m.yilmaz@rundfunk.example.com"),
        "sender": "m.yilmaz@rundfunk.example.com",
    },
    "unsubscribe-no-token.eml": {
        "kind": Kind.UNSUBSCRIBE,
        "unsubscribe_token": "",
        "subject": "Bitte aus dem Verteiler nehmen",
    },
    "ooo-de.eml": {
        "kind": Kind.AUTO_REPLY,
        "bounce_token": TOKEN,  # RFC 3834: to the envelope sender, our VERP address
        "subject": "Automatische Antwort: Pressemitteilung: Weihnachtsmarkt auf dem Rathausplatz "
        "öffnet am 26. November",
        "sender": "a.braun@zeitung.example.net",
        "problem": "",
    },
    "ooo-zh.eml": {
        "kind": Kind.AUTO_REPLY,  # by its GB2312 subject alone
        "subject": "自动回复: Pressemitteilung: Weihnachtsmarkt auf dem Rathausplatz",
        "sender": "wang.fang@xinwen.example.com",
        "bounce_token": "",
    },
    "journalist-reply.eml": {
        "kind": Kind.OTHER,
        "problem": "",
        "subject": "AW: Pressemitteilung: Weihnachtsmarkt auf dem Rathausplatz öffnet am "
        "26. November",
        "sender": "l.vogel@kurier.example.net",
        "bounce_token": "",
        "message_id": "",
        "status": "",
    },
}


def fields(finding: Finding, names) -> dict[str, object]:
    return {name: getattr(finding, name) for name in names}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_mail_is_recognised(name: str) -> None:
    finding = classify(sample(name), OFFICE)
    assert fields(finding, EXPECTED[name]) == EXPECTED[name]


def test_every_sample_mail_has_its_expectation() -> None:
    assert sorted(p.name for p in DATA.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", [n for n, e in sorted(EXPECTED.items()) if e.get("bounce_token")])
def test_the_token_found_is_the_one_made_for_the_quoted_message_id(name: str) -> None:
    finding = classify(sample(name), OFFICE)
    ref = verp.verify(KEY, finding.bounce_token)
    assert ref.matches(finding.message_id or MESSAGE_ID)


def test_classify_reads_a_parsed_message_as_it_reads_bytes() -> None:
    for name in (
        "dsn-postfix-5.1.1.eml",
        "ooo-zh.eml",
        "arf-headers-only.eml",
        "qmail-failure.eml",
    ):
        data = sample(name)
        expected = classify(data, OFFICE)
        assert classify(email.message_from_bytes(data), OFFICE) == expected
        modern = email.message_from_bytes(data, policy=email.policy.default)
        assert classify(modern, OFFICE) == expected


# Delivery status reports ----------------------------------------------------------


def dsn_with_fields(recipient_blocks: str) -> bytes:
    """The Postfix 5.1.1 report with other per-recipient blocks."""
    data = sample("dsn-postfix-5.1.1.eml")
    start = data.index(b"Final-Recipient:")
    end = data.index(b"\n--3B81D20E2F4", start)
    return data[:start] + recipient_blocks.encode() + b"\n" + data[end:]


def test_a_report_of_several_recipients_gives_the_first_that_failed() -> None:
    data = dsn_with_fields(
        "Final-Recipient: rfc822; info@wochenblatt.example.com\n"
        "Action: delayed\nStatus: 4.4.1\n\n"
        "Final-Recipient: rfc822; j.hoffmann@kurier.example.net\n"
        "Action: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; redaktion@stadtanzeiger.example.com\n"
        "Action: failed\nStatus: 4.2.2\n"
    )
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.recipient, finding.status) == (
        Kind.HARD_BOUNCE,
        "j.hoffmann@kurier.example.net",
        "5.1.1",
    )


def test_a_forwarded_mail_that_bounced_names_the_address_it_was_sent_to() -> None:
    data = dsn_with_fields(
        "Final-Recipient: rfc822; j.hoffmann@privat.example.net\n"
        "Original-Recipient: rfc822; j.hoffmann@kurier.example.net\n"
        "Action: failed\nStatus: 5.1.1\n"
    )
    assert classify(data, OFFICE).recipient == "j.hoffmann@kurier.example.net"


REPORT = "a delivery status report "
FAILED = "Action: failed\nStatus: "
DIAGNOSTIC = "\nDiagnostic-Code: smtp; "
UNKNOWN = "with an unknown Action "


@pytest.mark.parametrize(
    ("block", "kind", "status", "problem"),
    [
        (FAILED + "5.7.1 (delivery not authorized)", Kind.HARD_BOUNCE, "5.7.1", ""),
        ("action: FAILED\nstatus: 4.4.7", Kind.SOFT_BOUNCE, "4.4.7", ""),
        (FAILED + "5.0.0" + DIAGNOSTIC + "552 Mailbox is full", Kind.SOFT_BOUNCE, "5.0.0", ""),
        # an address that does not exist is not full, whatever the words
        (FAILED + "5.1.1" + DIAGNOSTIC + "550 gone, mailbox full", Kind.HARD_BOUNCE, "5.1.1", ""),
        ("Action: relayed\nStatus: 2.0.0", Kind.DELAYED, "2.0.0", ""),
        ("Action: delivered\nStatus: 2.0.0", Kind.DELAYED, "2.0.0", ""),
        ("Action: expanded\nStatus: 2.0.0", Kind.DELAYED, "2.0.0", ""),
        ("Status: 5.1.1", Kind.HARD_BOUNCE, "5.1.1", ""),
        ("Status: 4.4.1", Kind.OTHER, "4.4.1", REPORT + "with Status 4.4.1 but no Action"),
        ("Action: failed", Kind.OTHER, "", REPORT + "whose recipient has no Status"),
        (FAILED + "kaputt", Kind.OTHER, "", REPORT + "with an unreadable Status 'kaputt'"),
        ("Action: bounced\nStatus: 5.1.1", Kind.OTHER, "5.1.1", REPORT + UNKNOWN + "'bounced'"),
        (FAILED + "2.0.0", Kind.OTHER, "2.0.0", REPORT + "that says failed with Status 2.0.0"),
    ],
)  # fmt: skip
def test_the_recipients_action_and_status_decide(block, kind, status, problem) -> None:
    recipient = "Final-Recipient: rfc822; j.hoffmann@kurier.example.net\n"
    finding = classify(dsn_with_fields(recipient + block + "\n"), OFFICE)
    assert (finding.kind, finding.status, finding.problem) == (kind, status, problem)
    assert finding.recipient == "j.hoffmann@kurier.example.net"


def test_a_delivery_status_part_that_came_base64_encoded_is_read_all_the_same() -> None:
    # Against RFC 2046, some servers base64-encode message/delivery-status;
    # the parser then finds no fields in it.
    data = sample("dsn-postfix-5.1.1.eml")
    start = data.index(b"Reporting-MTA:")
    end = data.index(b"\n--3B81D20E2F4", start)
    encoded = base64.encodebytes(data[start:end]).replace(b"\n", b"\n")
    data = data[:start] + encoded + data[end:]
    data = data.replace(
        b"Content-Type: message/delivery-status\n",
        b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n",
    )
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.status, finding.recipient) == (
        Kind.HARD_BOUNCE,
        "5.1.1",
        "j.hoffmann@kurier.example.net",
    )


def test_a_report_declared_as_delivery_status_without_its_part_goes_to_a_person() -> None:
    data = sample("dsn-postfix-5.1.1.eml").replace(
        b"Content-Type: message/delivery-status", b"Content-Type: text/plain"
    )
    finding = classify(data, OFFICE)
    assert finding.kind is Kind.OTHER
    assert finding.problem == "a delivery status report without its message/delivery-status part"
    assert finding.message_id == MESSAGE_ID


def test_the_token_of_a_report_comes_from_the_quoted_original_when_the_envelope_has_none() -> None:
    data = changed(sample("dsn-postfix-5.1.1.eml"), remove=("x-original-to", "delivered-to", "to"))
    data = data.replace(b"X-Postfix-Sender", b"X-Other-Sender")
    assert classify(data, OFFICE).bounce_token == TOKEN


def test_the_token_of_the_envelope_wins_over_the_quoted_original() -> None:
    data = sample("arf-abuse.eml").replace(
        b"Delivered-To: presse@example.org",
        f"Delivered-To: presse-bounces+{OTHER_TOKEN}@example.org".encode(),
    )
    assert classify(data, OFFICE).bounce_token == OTHER_TOKEN


def test_without_a_bounce_address_no_token_is_found() -> None:
    finding = classify(sample("dsn-postfix-5.1.1.eml"), Office(None, "abmelden@example.org"))
    assert (finding.kind, finding.bounce_token, finding.message_id) == (
        Kind.HARD_BOUNCE,
        "",
        MESSAGE_ID,
    )


# Complaint reports ----------------------------------------------------------------


@pytest.mark.parametrize("feedback", ["abuse", "fraud", "virus", "other", "Abuse"])
def test_every_complaint_feedback_type_is_a_complaint(feedback: str) -> None:
    data = sample("arf-abuse.eml").replace(
        b"Feedback-Type: abuse", f"Feedback-Type: {feedback}".encode()
    )
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.status) == (Kind.COMPLAINT, feedback.lower())


def test_a_feedback_report_of_another_kind_goes_to_a_person() -> None:
    data = sample("arf-abuse.eml").replace(b"Feedback-Type: abuse", b"Feedback-Type: auth-failure")
    finding = classify(data, OFFICE)
    assert finding.kind is Kind.OTHER
    assert finding.problem == "a feedback report of type 'auth-failure', not a complaint"


def test_a_feedback_report_without_a_type_goes_to_a_person() -> None:
    data = sample("arf-abuse.eml").replace(b"Feedback-Type: abuse\n", b"")
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.problem) == (
        Kind.OTHER,
        "a complaint report without a Feedback-Type",
    )


# Mailed unsubscribes --------------------------------------------------------------

WEBER = unsubscribe_token("k.weber@tagespost.example.com")


@pytest.mark.parametrize(
    "subject",
    [
        f"unsubscribe {WEBER}",
        f"Unsubscribe {WEBER}",
        f"Re: unsubscribe {WEBER}",
        f"AW: WG: unsubscribe {WEBER}",
        f"Fwd: unsubscribe {WEBER}",
        f"RE[2]: unsubscribe {WEBER}",
        f"回复：unsubscribe {WEBER}",
        f"   unsubscribe    {WEBER}   ",
        WEBER,
        f"unsubscribe%20{WEBER}",
    ],
)
def test_the_token_is_read_from_the_subject_however_the_mail_program_wrote_it(subject) -> None:
    data = with_subject(sample("unsubscribe-token.eml"), subject)
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.unsubscribe_token) == (Kind.UNSUBSCRIBE, WEBER)


def test_a_token_split_over_several_encoded_words_is_read_whole() -> None:
    encoded = Header(f"AW: unsubscribe {WEBER}", "utf-8", maxlinelen=40).encode()
    assert encoded.count("=?utf-8?") > 2
    data = changed(
        sample("unsubscribe-token.eml"), remove=("subject",), add=(b"Subject: " + encoded.encode(),)
    )
    assert classify(data, OFFICE).unsubscribe_token == WEBER


def test_a_gb2312_encoded_reply_to_an_unsubscribe_gives_its_token() -> None:
    encoded = Header(f"回复：unsubscribe {WEBER}", "gb2312").encode()
    data = changed(
        sample("unsubscribe-token.eml"), remove=("subject",), add=(b"Subject: " + encoded.encode(),)
    )
    assert classify(data, OFFICE).unsubscribe_token == WEBER


@pytest.mark.parametrize("subject", ["unsubscribe", "Abmelden", "", "Re: Bitte austragen"])
def test_an_unsubscribe_without_a_token_has_none(subject: str) -> None:
    finding = classify(with_subject(sample("unsubscribe-token.eml"), subject), OFFICE)
    assert (finding.kind, finding.unsubscribe_token) == (Kind.UNSUBSCRIBE, "")


@pytest.mark.parametrize("header", ["Delivered-To", "X-Original-To", "To", "Envelope-To"])
def test_a_mail_to_the_unsubscribe_address_is_known_by_any_recipient_header(header) -> None:
    data = changed(
        sample("unsubscribe-re.eml"),
        remove=("delivered-to", "x-original-to", "to"),
        add=(f"{header}: ABMELDEN@example.org".encode(),),
    )
    assert classify(data, OFFICE).kind is Kind.UNSUBSCRIBE


def test_without_an_unsubscribe_address_a_mail_to_it_is_left_for_a_person() -> None:
    finding = classify(sample("unsubscribe-re.eml"), Office(BOUNCE))
    assert (finding.kind, finding.unsubscribe_token) == (Kind.OTHER, "")


# Automatic replies ----------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated"},
        {"Auto_Submitted": 'auto-replied; owner-email="a.braun@zeitung.example.net"'},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "Abwesenheit"},
        {"Precedence": "auto_reply"},
    ],
)
def test_an_auto_reply_is_known_by_its_headers(header: dict[str, str]) -> None:
    assert classify(journalist(**header), OFFICE).kind is Kind.AUTO_REPLY


@pytest.mark.parametrize(
    "header",
    [
        {"Auto_Submitted": "no"},
        {"X_Auto_Response_Suppress": "All"},  # a request to others, not a sign of its own
        {"Precedence": "bulk"},
        {"X_Autoreply": "no"},
    ],
)
def test_these_headers_do_not_make_an_auto_reply(header: dict[str, str]) -> None:
    assert classify(journalist(**header), OFFICE).kind is Kind.OTHER


@pytest.mark.parametrize(
    "subject",
    [
        "Abwesenheitsnotiz: Pressemitteilung: Weihnachtsmarkt",
        "Automatische Antwort: Pressemitteilung: Weihnachtsmarkt",
        "Abwesend: Pressemitteilung: Weihnachtsmarkt",
        "Außer Haus bis 30. November",
        "Urlaub bis 4.12.",
        "Urlaub",
        "Nicht im Büro: Pressemitteilung",
        "Out of Office: Press release: Christmas market opens",
        "Out of the office until Monday",
        "Automatic reply: Press release",
        "Auto-Reply: Press release",
        "Autoreply: Press release",
        "Away from the office",
        "On vacation until 7 December",
        "自动回复: Pressemitteilung",
        "外出，12月7日回来",
        "不在办公室",
        "休假中",
        "自动答复: Pressemitteilung",
    ],
)
def test_an_out_of_office_subject_alone_makes_an_auto_reply(subject: str) -> None:
    data = with_subject(journalist(), subject)
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.subject) == (Kind.AUTO_REPLY, " ".join(subject.split()))


@pytest.mark.parametrize(
    "subject",
    [
        "AW: Pressemitteilung: Urlaub in Beispielstadt – neue Broschüre",
        "AW: Urlaub in Beispielstadt: neue Broschüre",
        "Urlaubssaison im Freibad: Fragen",
        "Urlaub in Beispielstadt – gibt es Fotos?",
        "Re: 外出旅游指南",
    ],
)
def test_a_journalists_subject_about_holidays_is_no_auto_reply(subject: str) -> None:
    assert classify(with_subject(journalist(), subject), OFFICE).kind is Kind.OTHER


def test_a_holiday_word_counts_in_a_mail_to_the_bounce_address() -> None:
    # Nobody writes to a VERP address but the machines that answer its mails.
    data = journalist(To=f"presse-bounces+{TOKEN}@example.org")
    data = with_subject(data, "Bin im Urlaub")
    assert classify(data, OFFICE).kind is Kind.AUTO_REPLY
    assert classify(with_subject(journalist(), "Bin im Urlaub"), OFFICE).kind is Kind.OTHER


def test_an_out_of_office_reply_from_the_null_sender_is_never_taken_for_a_bounce() -> None:
    # RFC 3834 §3.3 sends auto-replies from <>, and this one's words read as a bounce.
    text = (
        b"Ich bin nicht im B\xc3\xbcro.\n\n"
        b"Your message could not be delivered to me personally; it went to\n"
        b"lokales@zeitung.example.net\n"
    )
    head, _sep, _body = sample("ooo-de.eml").partition(b"\n\n")
    data = changed(head + b"\n\n" + text, remove=("content-transfer-encoding",))
    temporary, permanent = all_failures(email.message_from_bytes(data))
    assert permanent or temporary, "flufl.bounce would read it as a bounce"
    assert classify(data, OFFICE).kind is Kind.AUTO_REPLY
    without_header = changed(data, remove=("auto-submitted",))
    assert classify(without_header, OFFICE).kind is Kind.AUTO_REPLY


def test_the_envelope_to_of_an_auto_reply_gives_its_token() -> None:
    data = changed(
        sample("ooo-de.eml"),
        remove=("x-original-to", "delivered-to", "to"),
        add=(f"Envelope-to: presse-bounces+{TOKEN}@example.org".encode(),),
    )
    assert classify(data, OFFICE).bounce_token == TOKEN


# Bounces of no standard shape -----------------------------------------------------


def test_a_bounce_for_a_full_mailbox_is_soft_whatever_the_mta_calls_it() -> None:
    data = sample("exim-failed.eml").replace(b"550 5.1.1 User unknown", b"552 5.2.2 Mailbox full")
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.status) == (Kind.SOFT_BOUNCE, "5.2.2")


def test_a_transcript_gives_the_failure_not_the_servers_ok() -> None:
    data = sample("exim-failed.eml").replace(
        b"    550 5.1.1 User unknown", b"    250 2.1.0 Sender ok\n    550 5.1.1 User unknown"
    )
    finding = classify(data, OFFICE)
    assert (finding.status, finding.diagnostic) == ("5.1.1", "550 5.1.1 User unknown")


def test_a_notice_naming_two_addresses_beside_ours_names_no_one() -> None:
    # The German Exchange notice is read by its one address; with two, which failed?
    data = sample("exchange-unzustellbar.eml").replace(
        b"      c.roth@gemeinde.example.net am 19.11.2026 10:04",
        b"      c.roth@gemeinde.example.net am 19.11.2026 10:04\n"
        b"      d.berg@gemeinde.example.net am 19.11.2026 10:04",
    )
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.recipient, finding.problem) == (
        Kind.OTHER,
        "",
        "a bounce that names no address pressdist can read",
    )


def test_a_providers_warning_that_it_still_tries_is_a_delay_notice() -> None:
    data = (
        b"Return-Path: <>\n"
        b"Delivered-To: presse-bounces+" + TOKEN.encode() + b"@example.org\n"
        b"From: Mail Delivery Subsystem <mailer-daemon@mail.example.com>\n"
        b"To: presse-bounces+" + TOKEN.encode() + b"@example.org\n"
        b"Subject: Delivery Status Notification (Delay)\n"
        b"Content-Type: text/plain; charset=UTF-8\n\n"
        b"Delivery to the following recipient has been delayed:\n\n"
        b"     t.schulz@mail.example.com\n\n"
        b"Message will be retried for 2 more day(s)\n"
    )
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.recipient, finding.bounce_token) == (
        Kind.DELAYED,
        "t.schulz@mail.example.com",
        TOKEN,
    )


def test_a_bounce_that_names_no_address_goes_to_a_person() -> None:
    data = (
        b"Return-Path: <>\n"
        b"From: MAILER-DAEMON@mx.example.net\n"
        b"To: presse-bounces@example.org\n"
        b"Subject: Returned mail: see transcript for details\n\n"
        b"The original message was received at Thu, 19 Nov 2026 10:02:16 +0100\n"
        b"from mail.example.org and could not be delivered.\n"
    )
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.problem) == (
        Kind.OTHER,
        "a bounce that names no address pressdist can read",
    )


# Headers in any charset -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Abwesenheitsnotiz: Außer Haus".encode(), "Abwesenheitsnotiz: Außer Haus"),
        ("AW: Frage zur Öffnungszeit".encode("iso-8859-1"), "AW: Frage zur Öffnungszeit"),
        (b"=?GB2312?B?" + base64.b64encode("自动回复".encode("gb2312")) + b"?=", "自动回复"),
        (b"=?gbk?B?" + base64.b64encode("镕基".encode("gbk")) + b"?=", "镕基"),
        (b"=?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?iso-8859-1?q?M=FCnchen?=", "Grüße aus München"),
        (b"=?x-no-such-charset?q?Gr=C3=BC=C3=9Fe?=", "Grüße"),
        (b"=?utf-8?b?broken base64?=", "=?utf-8?b?broken base64?="),
        (b"Zeile eins\n\tZeile zwei", "Zeile eins Zeile zwei"),
        (b"=?utf-8?b?" + base64.b64encode(b"a\x00b\x1bc") + b"?=", "a b c"),
    ],
)
def test_a_subject_is_decoded_in_any_charset_onto_one_line(raw: bytes, expected: str) -> None:
    data = changed(journalist(), remove=("subject",), add=(b"Subject: " + raw,))
    assert classify(data, OFFICE).subject == expected


def test_a_long_subject_is_cut() -> None:
    finding = classify(with_subject(journalist(), "Frage " * 100), OFFICE)
    assert len(finding.subject) == SUBJECT_LENGTH
    assert finding.subject.startswith("Frage Frage")


def test_huge_headers_and_lines_are_read_without_harm() -> None:
    huge = b"x" * 2_000_000
    data = changed(
        sample("qmail-failure.eml"),
        add=(
            b"Subject: " + b"=?utf-8?q?" + huge[:500_000] + b" " + huge,
            b"To: " + b"a" * 1_000_000 + b"@" + b"b" * 1_000_000,
            *(b"Received: from relay%d.example.net" % n for n in range(5_000)),
        ),
    )
    data += b"\n" + b"-" * 1_000_000 + b"\n" + b" " * 1_000_000 + b"said:" + b" " * 100_000
    finding = classify(data, OFFICE)
    assert (finding.kind, finding.recipient) == (
        Kind.HARD_BOUNCE,
        "s.becker@lokalzeitung.example.com",
    )
    assert finding.subject == "=?utf-8?q?" + "x" * (SUBJECT_LENGTH - 10)


# It never raises ------------------------------------------------------------------

SAMPLES = sorted(EXPECTED)


def read_without_raising(data: bytes) -> Finding:
    finding = classify(data, OFFICE)
    assert isinstance(finding, Finding)
    assert isinstance(finding.kind, Kind)
    assert len(finding.subject) <= SUBJECT_LENGTH
    assert "\n" not in finding.subject and "\r" not in finding.subject
    assert not finding.problem.startswith(CANNOT_READ), finding.problem
    return finding


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_classify_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    read_without_raising(data)


@st.composite
def mutated_samples(draw) -> bytes:
    data = bytearray(sample(draw(st.sampled_from(SAMPLES))))
    for _ in range(draw(st.integers(1, 12))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(("replace", "insert", "delete", "duplicate")))
        chunk = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(INTERESTING))
        if how == "replace":
            data[at : at + len(chunk)] = chunk
        elif how == "insert":
            data[at:at] = chunk
        elif how == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 400))]
    return bytes(data)


INTERESTING = [
    b"\n",
    b"\r\n",
    b"\n\n",
    b":",
    b";",
    b"=?",
    b"?=",
    b"=?utf-8?b?",
    b"=?gb2312?q?",
    b"\xff\xfe",
    b"\xc3",
    b"\x00",
    b"--",
    b"<>",
    b"@",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n",
    b"Content-Type: message/delivery-status\n",
    b"Content-Type: message/rfc822\n",
    b"Content-Transfer-Encoding: base64\n",
    b'charset="x-unknown"',
    b"Status: 5.",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_samples())
def test_classify_never_raises_on_mutated_sample_mails(data: bytes) -> None:
    read_without_raising(data)


def random_case(data: bytes, rng: random.Random) -> bytes:
    """Every field name (of the mail, its parts and the report's blocks) in random case."""

    def recase(match: re.Match[bytes]) -> bytes:
        name = match[1].decode()
        return "".join(rng.choice((c.upper(), c.lower())) for c in name).encode() + b":"

    return re.sub(rb"(?m)^([A-Za-z][A-Za-z0-9-]*):", recase, data)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([n for n in SAMPLES if n.startswith("dsn-")]),
    st.randoms(use_true_random=False),
    st.booleans(),
)
def test_a_reports_reading_depends_on_neither_case_nor_line_endings(name, rng, crlf) -> None:
    data = sample(name)
    expected = classify(data, OFFICE)
    variant = random_case(data, rng)
    if crlf:
        variant = variant.replace(b"\n", b"\r\n")
    assert classify(variant, OFFICE) == expected


# The office, from pressdist.toml --------------------------------------------------


def configured(root: Path, lines: str) -> Workspace:
    config = root / "pressdist.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('gateway = "outbox"\n', f'gateway = "outbox"\n{lines}'), "utf-8")
    return Workspace.open(root)


def test_the_office_is_read_from_the_workspace(tmp_workspace: Path, monkeypatch) -> None:
    monkeypatch.setenv("PRESSDIST_TEST_INBOX_SECRET", KEY.decode())
    workspace = configured(
        tmp_workspace,
        'bounce_address = "presse-bounces@example.org"\n'
        'unsubscribe_mailto = "mailto:abmelden@example.org"\n'
        'unsubscribe_secret_env = "PRESSDIST_TEST_INBOX_SECRET"\n',
    )
    office = Office.from_workspace(workspace)
    assert office == Office(
        BounceAddress("presse-bounces@example.org", KEY), "abmelden@example.org"
    )
    assert classify(sample("unsubscribe-re.eml"), office).kind is Kind.UNSUBSCRIBE


def test_an_office_without_a_bounce_address_has_none(tmp_workspace: Path, monkeypatch) -> None:
    monkeypatch.delenv("PRESSDIST_TEST_INBOX_SECRET", raising=False)
    office = Office.from_workspace(configured(tmp_workspace, ""))
    assert office == Office(None, "")
    assert classify(sample("dsn-postfix-5.1.1.eml"), office).kind is Kind.HARD_BOUNCE
