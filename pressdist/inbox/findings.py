"""Findings: what a returned mail or a provider event says, whatever it came from.

Owns the one value (``Finding``) that a DSN, an ARF report, a mailed
unsubscribe, an out-of-office reply, a Mailgun event or webhook each become,
so that ``inbox.act`` decides once what follows from it. Reading mail is
``inbox.classify``'s business, reading events ``inbox.mailgun``'s; this module
neither reads nor acts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    """What a returned mail or event is, as a press officer would name it."""

    HARD_BOUNCE = "hard bounce"  # the address takes no mail: 5.x.x
    SOFT_BOUNCE = "soft bounce"  # delivery given up for now: 4.x.x, "mailbox full"
    DELAYED = "delay notice"  # still being tried (DSN Action: delayed): nothing to do
    COMPLAINT = "complaint"  # reported as spam (ARF, RFC 5965; a provider's event)
    UNSUBSCRIBE = "unsubscribe"  # a mail to the unsubscribe address, or a provider's event
    AUTO_REPLY = "auto-reply"  # out of office and the like (RFC 3834): ignored
    OTHER = "other"  # none of these: left for a person


@dataclass(frozen=True)
class Finding:
    """One returned mail or event, taken apart; every field may be unknown ("").

    ``bounce_token`` is the token of the VERP address the mail came back to
    (``mail.verp``); ``message_id`` the Message-ID of our mail the report
    quotes (without <>); ``recipient`` the address it says failed or
    complained; ``status`` the enhanced status code (``5.1.1``) and
    ``diagnostic`` the receiving server's words; ``unsubscribe_token`` the
    token of a mailed unsubscribe (``mail.unsubscribe``). ``problem`` says why
    a mail that looks like a report cannot be used (a DSN without a
    recipient's status): it then goes to a person. ``subject`` and ``sender``
    say which mail it was, for the table and the log.
    """

    kind: Kind
    bounce_token: str = ""
    message_id: str = ""
    recipient: str = ""
    status: str = ""
    diagnostic: str = ""
    unsubscribe_token: str = ""
    list_name: str = ""  # a provider's unsubscribe may name the list
    problem: str = ""
    subject: str = ""
    sender: str = ""
    # The source vouches for it: an event fetched with our API key, or a webhook
    # whose signature was checked. A mail vouches for nothing; its tokens must.
    verified: bool = False

    @property
    def is_bounce(self) -> bool:
        return self.kind in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE)
