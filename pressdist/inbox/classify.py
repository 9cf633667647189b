"""Recognising one mail that came back to the press office: what it is and whom it names.

Owns the reading of a returned mail into a ``Finding``: delivery status
reports (RFC 3464), complaint reports (ARF, RFC 5965), mails to the
unsubscribe address, the bounces of MTAs and providers that follow no
standard (through ``flufl.bounce``), and automatic replies (RFC 3834); and
what the office must be known by for that (``Office``). It reads only: it
does not verify tokens or decide what follows (``inbox.act``), fetch mail
(``inbox.mailboxes``) or touch the journal, and it leaves the reading of the
mail's bytes, parts, headers and charsets to ``inbox.mailtext``. Whatever the
bytes, ``classify`` answers with a Finding and never raises: a mail it cannot
make sense of goes to a person.

The order matters. A report is read first, because Postfix marks its DSNs
``Auto-Submitted: auto-replied`` just like an out-of-office reply; a mailed
unsubscribe comes before auto-replies, because the mail programs that send
one may mark it auto-generated; a bounce of no standard shape is looked for
only in mails that look like a bounce, because an out-of-office reply that
quotes our mail must never be taken for one.
"""

from __future__ import annotations

import copy
import email.message
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flufl.bounce import all_failures

from pressdist.inbox import mailtext
from pressdist.inbox.findings import Finding, Kind
from pressdist.mail.unsubscribe import MAILTO_SUBJECT
from pressdist.mail.verp import BounceAddress

if TYPE_CHECKING:
    from pressdist.workspace import Workspace

# flufl.bounce logs a detector's exception before re-raising it; without a
# handler of its own, logging would print that traceback on the terminal.
logging.getLogger("flufl.bounce").addHandler(logging.NullHandler())

SUBJECT_LENGTH = 200  # characters of a subject kept for the table and the log
_SCAN_CHARS = 64_000  # of a notice's text: the words that matter are at its start
_FLUFL_TEXT = 256_000  # characters of a text part handed to flufl.bounce

# Where a returned mail comes in: the first names the mailbox it was delivered to.
_ENVELOPE = ("delivered-to", "x-original-to", "to", "envelope-to")
_DSN_PARTS = ("message/delivery-status", "message/global-delivery-status")  # RFC 6533: UTF-8
_ARF_PARTS = ("message/feedback-report",)
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "action", "status")
_PASSING = ("delayed", "delivered", "relayed", "expanded")  # RFC 3464 §2.3.3: nothing failed
_COMPLAINTS = ("abuse", "fraud", "virus", "other")  # RFC 5965 §7.3; not-spam is none

# RFC 3463: class.subject.detail; the subjects in use are 0-7, which keeps a
# German date such as 4.12.26 from passing for a code.
_ENHANCED = re.compile(r"(?<![\w.])([245])\.([0-7])\.(\d{1,3})(?![\w]|\.\d)")
# In a bounce's own words only failures count: a transcript shows "250 2.1.0 Sender ok" too.
_FAILURE = re.compile(r"(?<![\w.])([45])\.([0-7])\.(\d{1,3})(?![\w]|\.\d)")
_REPLY_FAILURE = re.compile(r"(?<![\w.])[45]\d\d[ -]([45]\.[0-7]\.\d{1,3})(?![\w]|\.\d)")
_REPLY_AT_START = re.compile(r"([45]\d\d)[ -](?=\S)")
_REPLY_SAID = re.compile(
    r"\b(?:said|replied|reply|response|error)[ \t]{0,3}:?[ \t]{0,3}([45]\d\d)[ -](?=\S)",
    re.IGNORECASE,
)
_MAILBOX_FULL = re.compile(
    r"mailbox (?:is )?full|over ?quota|quota (?:exceeded|full)|postfach (?:ist )?voll"
    r"|exceed(?:s|ed)? (?:the |their |its |his |her )?(?:storage|quota)",
    re.IGNORECASE,
)
_WARNING = re.compile(
    r"warning|delayed|still being retried|will (?:continue to )?(?:be )?retr|not yet been"
    r"|verzögert|noch nicht zugestellt",
    re.IGNORECASE,
)
# The line after which a plain-text bounce quotes the mail it returns.
_QUOTE_MARK = re.compile(  # possessive and bounded: a line of dashes must not take hours
    r"^[ \t]*+-{2,}+[^\n]{0,120}?(?:copy of (?:the|your) message|original message|returned message"
    r"|message follows|headers follow|below this line|ursprüngliche nachricht)",
    re.IGNORECASE | re.MULTILINE,
)
_MESSAGE_ID_LINE = re.compile(r"^message-id:[ \t]*<?([^<>\s]+@[^<>\s]+)>?", re.I | re.M)
_RETURN_PATH_LINE = re.compile(r"^return-path:[ \t]*<([^<>\s]*)>", re.IGNORECASE | re.MULTILINE)

_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mailer_daemon")
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|unzustellbar|nicht zustellbar|delivery (?:status notification|fail"
    r"|has failed|problem|notification)|mail delivery failed|failure notice|returned mail"
    r"|returning message|mail system error|non remis|non recapitabile|onbestelbaar"
    r"|non-?deliver|could not send message|could not be delivered"
    r"|系统退信|退信|投递失败|未送达",
    re.IGNORECASE,
)
# Out-of-office subjects (de, en, zh) that no journalist's subject holds...
_AWAY_SUBJECT = re.compile(
    r"abwesenheitsnotiz|abwesenheitsmeldung|automatische antwort|automatische r(?:ü|ue)ckantwort"
    r"|au(?:ß|ss)er haus|nicht im b(?:ü|ue)ro|out of (?:the )?office|out-of-office"
    r"|automatic reply|auto[- ]?reply|auto[- ]?response|away from (?:the|my) office"
    r"|on vacation|自动回复|自动答复|不在办公室|自動回覆",
    re.IGNORECASE,
)
# ...and words that a release's subject may hold too ("Urlaub in Beispielstadt"):
# they count only where an auto-reply puts them, or in a mail to the bounce address,
# where no person writes.
_AWAY_WORD_AT_START = re.compile(
    r"^(?:abwesend|urlaub|vacation)(?:\s*[:：\-–]|\s+(?:bis|vom|ab|until|till)\b|\s*$)|^(?:外出|休假)",
    re.IGNORECASE,
)
_AWAY_WORD = re.compile(r"\b(?:abwesend|urlaub|vacation)\b|外出|休假", re.IGNORECASE)
_REPLY_PREFIX = re.compile(
    r"^(?:(?:re|aw|wg|fwd?|antw|sv|vs|tr|rv|回复|答复|转发|回覆|轉寄)"
    r"(?:\[\d+\]|\(\d+\))? ?[:：] ?)+",
    re.IGNORECASE,
)
_UNSUBSCRIBE = re.compile(
    rf"{re.escape(MAILTO_SUBJECT.strip())}(?:\s+|%20|[:：]\s*)(\S+)", re.IGNORECASE
)
_BARE_TOKEN = re.compile(r"[A-Za-z0-9_-]{24,}")  # a signed token is at least 31 characters


@dataclass(frozen=True)
class Office:
    """What classify needs to know of the office: where things come back to."""

    bounce: BounceAddress | None  # [send] bounce_address, for the tokens in VERP addresses
    unsubscribe_mailto: str = ""  # the bare address of [send] unsubscribe_mailto, "" if none

    @classmethod
    def from_workspace(cls, workspace: Workspace) -> Office:
        """The office as pressdist.toml describes it; no bounce address is no error."""
        mailto = workspace.config.send.unsubscribe_mailto.strip()
        if mailto.lower().startswith("mailto:"):
            mailto = mailto[len("mailto:") :]
        return cls(BounceAddress.from_workspace(workspace), mailto)


def classify(data: bytes | email.message.Message, office: Office) -> Finding:
    """What the mail ``data`` is and whom it names; never raises, whatever the bytes."""
    try:
        return _classify(mailtext.parse(data), office)
    except Exception as exc:  # a mail that breaks the reader (or the parser) goes to a person
        return Finding(
            Kind.OTHER, problem=f"a mail pressdist could not read ({type(exc).__name__})"
        )


# The order of recognition ------------------------------------------------------


@dataclass(frozen=True)
class _Mail:
    """One mail as it was parsed, with what every finding about it carries."""

    message: email.message.Message
    office: Office
    subject: str
    sender: str
    bounce_token: str
    envelope: tuple[str, ...]  # the values of the headers that say where it was delivered

    def finding(self, kind: Kind, **fields: str) -> Finding:
        fields.setdefault("bounce_token", self.bounce_token)
        return Finding(kind, subject=self.subject[:SUBJECT_LENGTH], sender=self.sender, **fields)

    def token_from(self, candidates: Iterable[str]) -> str:
        """The envelope's token, else the first a report's own fields or its original carry."""
        return self.bounce_token or mailtext.token_in(self.office.bounce, candidates)


def _classify(message: email.message.Message, office: Office) -> Finding:
    envelope = [value for name in _ENVELOPE for value in mailtext.header_values(message, name)]
    mail = _Mail(
        message,
        office,
        mailtext.subject_of(message),
        next(iter(mailtext.addresses(mailtext.header_values(message, "from"))), ""),
        mailtext.token_in(office.bounce, envelope),
        tuple(envelope),
    )
    found, part = mailtext.report_part(message, "delivery-status", _DSN_PARTS)
    if found:
        return _delivery_status(mail, part)
    found, part = mailtext.report_part(message, "feedback-report", _ARF_PARTS)
    if found:
        return _complaint(mail, part)
    if _to_unsubscribe(envelope, office):
        return mail.finding(Kind.UNSUBSCRIBE, unsubscribe_token=_unsubscribe_token(mail.subject))
    auto = _auto_replied(message, mail.subject, bool(mail.bounce_token))
    strong, weak = _bounce_signs(message, mail)
    if strong or (weak and not auto):
        bounce = _provider_bounce(mail, strong)
        if bounce is not None:
            return bounce
    if auto:
        return mail.finding(Kind.AUTO_REPLY)
    if strong:
        return mail.finding(Kind.OTHER, problem="a bounce that names no address pressdist can read")
    return mail.finding(Kind.OTHER)


# Delivery status reports (RFC 3464) --------------------------------------------


def _delivery_status(mail: _Mail, part: email.message.Message | None) -> Finding:
    original = mailtext.original(mail.message)
    message_id = mailtext.message_id_of(original)
    if part is None:
        return mail.finding(
            Kind.OTHER,
            message_id=message_id,
            problem="a delivery status report without its message/delivery-status part",
        )
    blocks = mailtext.field_blocks(mailtext.part_text(part))
    recipients = [b for b in blocks if any(f in b for f in _RECIPIENT_FIELDS)]
    per_message = next((b for b in blocks if not any(f in b for f in _RECIPIENT_FIELDS)), {})
    token = mail.token_from(
        [per_message.get("x-postfix-sender", ""), *mailtext.header_values(original, "return-path")]
    )
    if not recipients:
        return mail.finding(
            Kind.OTHER,
            bounce_token=token,
            message_id=message_id,
            problem="a delivery status report without a recipient's status",
        )
    block = next((b for b in recipients if _action(b) == "failed"), recipients[0])
    kind, status, problem = _judge(_action(block), block.get("status", ""), block)
    # Original-Recipient is the address as our mail gave it (RFC 3464 2.3.1); a
    # forward changes only Final-Recipient, so the report still names our reader.
    named = block.get("original-recipient") or block.get("final-recipient")
    return mail.finding(
        kind,
        bounce_token=token,
        message_id=message_id,
        recipient=_typed_address(named),
        status=status,
        diagnostic=_diagnostic(block.get("diagnostic-code", "")),
        problem=problem,
    )


def _judge(action: str, status_field: str, block: dict[str, str]) -> tuple[Kind, str, str]:
    """Kind, enhanced status code and problem of one recipient's block of a DSN."""
    if not status_field.strip():
        return Kind.OTHER, "", "a delivery status report whose recipient has no Status"
    code = _ENHANCED.search(status_field)
    if code is None:
        return (
            Kind.OTHER,
            "",
            f"a delivery status report with an unreadable Status {status_field[:40]!r}",
        )
    status, klass = code.group(0), code[1]
    if action in _PASSING or (not action and klass == "2"):
        return Kind.DELAYED, status, ""
    if action not in ("failed", ""):
        return (
            Kind.OTHER,
            status,
            f"a delivery status report with an unknown Action {action[:40]!r}",
        )
    if klass == "5":
        soft = _mailbox_full(code, block.get("diagnostic-code", ""))
        return (Kind.SOFT_BOUNCE if soft else Kind.HARD_BOUNCE), status, ""
    if klass == "4" and action:
        return Kind.SOFT_BOUNCE, status, ""
    if klass == "4":
        return Kind.OTHER, status, f"a delivery status report with Status {status} but no Action"
    return Kind.OTHER, status, f"a delivery status report that says failed with Status {status}"


def _mailbox_full(code: re.Match[str], diagnostic: str) -> bool:
    """A full mailbox is soft whatever the class: many servers answer it with 552 5.2.2."""
    if code[2] == "2" and code[3] == "2":
        return True
    return code[2] != "1" and bool(_MAILBOX_FULL.search(diagnostic))


def _action(block: dict[str, str]) -> str:
    words = block.get("action", "").split()
    return words[0].lower() if words else ""


def _typed_address(value: str | None) -> str:
    """The address of a field such as ``rfc822; someone@example.net`` (RFC 3464 §2.3.2)."""
    if not value:
        return ""
    _kind, sep, address = value.partition(";")
    return (address if sep else value).strip().strip("<>").strip()


def _diagnostic(value: str) -> str:
    """The server's words without the type (``smtp;``), on one line."""
    kind, sep, words = value.partition(";")
    if sep and re.fullmatch(r"[A-Za-z][\w.-]*", kind.strip()):
        value = words
    return mailtext.one_line(value)


# Complaint reports (ARF, RFC 5965) ---------------------------------------------


def _complaint(mail: _Mail, part: email.message.Message | None) -> Finding:
    original = mailtext.original(mail.message)
    fields: dict[str, str] = {}
    for block in mailtext.field_blocks(mailtext.part_text(part)) if part is not None else []:
        for name, value in block.items():
            fields.setdefault(name, value)
    recipients = mailtext.addresses([fields.get("original-rcpt-to", "")]) or mailtext.addresses(
        mailtext.header_values(original, "to")
    )
    known = {
        "bounce_token": mail.token_from(
            [fields.get("original-mail-from", ""), *mailtext.header_values(original, "return-path")]
        ),
        "message_id": mailtext.message_id_of(original),
        "recipient": recipients[0] if recipients else "",
    }
    if part is None:
        return mail.finding(
            Kind.OTHER,
            problem="a complaint report without its message/feedback-report part",
            **known,
        )
    words = fields.get("feedback-type", "").split()
    feedback = words[0].lower() if words else ""
    if feedback in _COMPLAINTS:
        return mail.finding(Kind.COMPLAINT, status=feedback, **known)
    if feedback == "not-spam":
        return mail.finding(Kind.OTHER, status=feedback, **known)
    if not feedback:
        return mail.finding(
            Kind.OTHER, problem="a complaint report without a Feedback-Type", **known
        )
    return mail.finding(
        Kind.OTHER,
        status=feedback[:40],
        problem=f"a feedback report of type {feedback[:40]!r}, not a complaint",
        **known,
    )


# Mailed unsubscribes and automatic replies --------------------------------------


def _to_unsubscribe(envelope: list[str], office: Office) -> bool:
    target = office.unsubscribe_mailto.strip().casefold()
    return bool(target) and any(a.casefold() == target for a in mailtext.addresses(envelope))


def _unsubscribe_token(subject: str) -> str:
    """The token in the subject of a mailed unsubscribe (``unsubscribe TOKEN``); "" if none.

    The mail program may have put ``Re:`` or ``AW:`` in front, or left only the token.
    """
    rest = _REPLY_PREFIX.sub("", " ".join(subject.split())[:2000]).strip()
    found = _UNSUBSCRIBE.match(rest)
    if found:
        return found[1].strip("<>\"'.,;")
    return rest if _BARE_TOKEN.fullmatch(rest) else ""


def _auto_replied(message: email.message.Message, subject: str, to_bounce: bool) -> bool:
    """An automatic reply by its headers (RFC 3834 §5) or by an out-of-office subject.

    X-Auto-Response-Suppress asks others not to answer; it says nothing of its own mail.
    """
    for value in mailtext.header_values(message, "auto-submitted"):
        words = value.split(";")[0].split("(")[0].split()
        if words and words[0].lower() != "no":
            return True
    for name in ("x-autoreply", "x-autorespond"):
        values = mailtext.header_values(message, name)
        if any(v.strip().lower() not in ("no", "false", "0") for v in values):
            return True
    precedence = mailtext.header_values(message, "precedence")
    if any(v.strip().lower() == "auto_reply" for v in precedence):
        return True
    text = " ".join(subject.split())[:2000]
    if _AWAY_SUBJECT.search(text):
        return True
    unprefixed = _REPLY_PREFIX.match(text) is None
    return bool(
        (unprefixed and _AWAY_WORD_AT_START.search(text)) or (to_bounce and _AWAY_WORD.search(text))
    )


# Bounces of no standard shape ----------------------------------------------------


def _bounce_signs(message: email.message.Message, mail: _Mail) -> tuple[bool, bool]:
    """(strong, weak): sent by a mailer daemon or titled as a bounce; sent with no sender.

    RFC 3834 §3.3 asks auto-replies to be sent from the null sender too, so that
    sign alone never makes an auto-reply a bounce.
    """
    daemon = mail.sender.rpartition("@")[0].lower() in _DAEMONS
    strong = daemon or bool(_BOUNCE_SUBJECT.search(mail.subject[:2000]))
    paths = mailtext.header_values(message, "return-path")
    weak = not mail.sender or any(not p.strip().strip("<>").strip() for p in paths)
    return strong, weak


def _provider_bounce(mail: _Mail, strong: bool) -> Finding | None:
    """A bounce in a provider's or an old MTA's own words, as flufl.bounce reads them."""
    try:
        temporary, permanent = all_failures(_for_flufl(mail.message))
    except Exception:  # a detector that fails finds nothing
        return None
    failed = [a for a in (_ascii(a) for a in sorted(permanent or temporary)) if a]
    notice, quoted = _notice(mail.message)
    quoted = quoted[:_SCAN_CHARS]  # the returned mail's headers come first
    given_up = bool(permanent)
    if not failed and strong:
        failed, given_up = _lone_recipient(notice, mail), not _WARNING.search(notice)
    if not failed:
        return None
    original = mailtext.original(mail.message) or mailtext.parse_headers(quoted)
    named = {a.casefold() for a in mailtext.addresses(mailtext.header_values(original, "to"))}
    status, diagnostic = _status_in_text(notice)
    code = _FAILURE.search(status)
    if not given_up:
        # flufl.bounce counts a warning that the mail is still being tried as temporary
        kind = Kind.DELAYED if _WARNING.search(notice) else Kind.SOFT_BOUNCE
    elif status.startswith("4") or (code is not None and _mailbox_full(code, diagnostic)):
        kind = Kind.SOFT_BOUNCE
    else:
        kind = Kind.HARD_BOUNCE
    found_id = _MESSAGE_ID_LINE.search(quoted)
    return mail.finding(
        kind,
        bounce_token=mail.token_from(
            mailtext.header_values(original, "return-path") or _RETURN_PATH_LINE.findall(quoted)
        ),
        message_id=mailtext.message_id_of(original) or (found_id[1] if found_id else ""),
        recipient=next((a for a in failed if a.casefold() in named), failed[0]),
        status=status,
        diagnostic=diagnostic,
    )


def _for_flufl(message: email.message.Message) -> email.message.Message:
    """A copy that flufl.bounce reads in good time: its detectors parse whole headers and
    search every line of every part, so no attachment, no huge header, no endless text.
    """
    light = copy.deepcopy(message)
    for part in mailtext.parts(light, inside_mails=True):
        items = list(part.raw_items())
        if any(len(str(value)) > mailtext.ADDRESS_CHARS for _name, value in items):
            for name in {name for name, _value in items}:
                del part[name]
            for name, value in items:
                part.set_raw(name, str(value)[: mailtext.ADDRESS_CHARS])
        payload = part.get_payload()
        if isinstance(payload, str):
            keep = part.get_content_maintype() == "text"
            part.set_payload(payload[:_FLUFL_TEXT] if keep else "")
    return light


def _lone_recipient(notice: str, mail: _Mail) -> list[str]:
    """The one address a bounce's own words name next to a failure code, if only one.

    For what flufl.bounce does not know, such as the German notices of older
    Exchange servers ("Unzustellbar", "<host #5.1.1>"): a mail already taken
    for a bounce, naming one address besides the office's own.
    """
    if not _FAILURE.search(notice):
        return []
    ours = {mail.sender.casefold(), *(a.casefold() for a in mailtext.addresses(mail.envelope))}
    domains = {d.casefold() for d in _office_domains(mail.office)}
    found = {
        address.casefold(): address
        for address in mailtext.plain_addresses(notice)
        if address.casefold() not in ours and address.rpartition("@")[2].casefold() not in domains
    }
    return list(found.values()) if len(found) == 1 else []


def _office_domains(office: Office) -> list[str]:
    return [
        a.rpartition("@")[2]
        for a in (office.bounce.address if office.bounce else "", office.unsubscribe_mailto)
        if "@" in a
    ]


def _status_in_text(text: str) -> tuple[str, str]:
    """The enhanced status code (else the SMTP reply code) a notice shows, with its words."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        found = _REPLY_FAILURE.search(line)
        if found:
            return found[1], _diagnostic_lines(lines, number, number, found.start())
    for number, line in enumerate(lines):
        found = _FAILURE.search(line)
        if found:
            # "<mx.example.net #5.1.1>" says little alone: the lines before it say why
            return found.group(0), _diagnostic_lines(lines, _paragraph(lines, number), number, 0)
    for number, line in enumerate(lines):
        found = _REPLY_AT_START.match(line.strip()) or _REPLY_SAID.search(line)
        if found:
            start = line.find(found[1], found.start())
            return found[1], _diagnostic_lines(lines, number, number, start)
    return "", ""


def _paragraph(lines: list[str], number: int) -> int:
    """The first of up to two lines before ``number`` that share its indentation."""
    first = number
    while first > max(0, number - 2) and lines[first - 1].strip():
        if _indent(lines[first - 1]) != _indent(lines[number]):
            break
        first -= 1
    return first


def _diagnostic_lines(lines: list[str], first: int, last: int, start: int) -> str:
    """Lines ``first`` to ``last`` (the first from ``start``) and those that continue them."""
    words = [lines[first][start:], *lines[first + 1 : last + 1]]
    for line in lines[last + 1 : last + 6]:
        if not line.strip() or _indent(line) <= _indent(lines[last]):
            break
        words.append(line)
    text = " ".join(" ".join(words).split())[:1000]
    # Exchange closes "<host #5.1.1 smtp;550 5.1.1 User unknown>" after the reply
    return text[:-1].rstrip() if text.count(">") > text.count("<") else text


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _notice(message: email.message.Message) -> tuple[str, str]:
    """A bounce's own words (its first text part, cut) and the mail it quotes below them."""
    text = ""
    for part in mailtext.parts(message):
        if part.get_content_maintype() == "text" and part.get_content_subtype() != "rfc822-headers":
            text = mailtext.part_text(part)
            break
    mark = _QUOTE_MARK.search(text, 0, _SCAN_CHARS)
    if mark is None:
        return text[:_SCAN_CHARS], ""
    return text[: mark.start()], text[mark.end() :].partition("\n")[2].lstrip("\r\n")


def _ascii(address: bytes) -> str:
    return address.decode("ascii", "replace").strip().strip("<>")
