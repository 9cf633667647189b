"""One localised mail per release and language, and the bytes for each recipient.

Owns ``render``, the one entry point: the release's content in a language
(``mail.content``) laid out as text and HTML (``mail.layout``) and encoded
once into a MIME body with slots (``build``), and ``RenderedMessage.
personalise``, which turns that body into the bytes for one recipient: their
header lines, and their salutation and unsubscribe link spliced into both
parts. That is the hot path of every send; the MIME machinery it uses lives in
``mail.mime``.

It does not decide who gets which language (``sending``) or whether a
language may be sent (``quality.readiness``): the caller says which languages
the footer may name.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pressdist.languages import Language
from pressdist.mail import mime
from pressdist.mail.content import content
from pressdist.mail.layout import HTML_URL_SLOT, SLOT, TEXT_URL_SLOT, layout_html, layout_text
from pressdist.mail.mime import HeaderError

if TYPE_CHECKING:
    from pressdist.mail.content import Correction
    from pressdist.mail.unsubscribe import Unsubscribe
    from pressdist.source.release import Release
    from pressdist.workspace import Workspace


# The message -----------------------------------------------------------------


@dataclass(frozen=True)
class RenderedMessage:
    """A release in one language, as a mail body ready to be addressed."""

    release_id: str
    revision: str
    language: Language
    subject: str
    text: str
    html: str
    # The encoded MIME body around the recipient's slots, built once: as it is,
    # and with the unsubscribe line for when an unsubscribe address is given.
    _subject_header: str = field(default="", repr=False, compare=False)
    _body: mime.Spliced | None = field(default=None, repr=False, compare=False)
    _body_unsubscribe: mime.Spliced | None = field(default=None, repr=False, compare=False)

    def personalise(
        self,
        *,
        sender: str,
        to: str,
        to_name: str = "",
        message_id: str,
        date: dt.datetime | None = None,
        salutation: str = "",
        unsubscribe: Unsubscribe | None = None,
        list_name: str = "",
        reply_to: str = "",
        references: str = "",
    ) -> bytes:
        """The complete RFC 5322 message for one recipient (CRLF line endings).

        With ``unsubscribe`` the mail carries the recipient's own links, signed
        for ``list_name`` when a secret is configured: in List-Unsubscribe and
        in the body's unsubscribe line. ``references`` is the Message-ID of
        the mail this one follows up (a correction's original), so that mail
        clients show the two together (RFC 5322 3.6.4).
        """
        to_addr = mime.address(to, "recipient address")
        headers = (
            f"From: {mime.mailbox_from_string(sender, 'sender')}\r\n"
            f"To: {mime.mailbox(to_name, to_addr, 'recipient')}\r\n"
            f"Subject: {self._subject_header}\r\n"
            f"Date: {mime.date_header(date)}\r\n"
            f"Message-ID: {mime.message_id(message_id)}\r\n"
        )
        if references:
            headers += f"References: {mime.message_id(references)}\r\n"
        if reply_to:
            headers += f"Reply-To: {mime.mailbox_from_string(reply_to, 'Reply-To')}\r\n"
        links = unsubscribe.links(to_addr, list_name) if unsubscribe else ()
        headers += mime.unsubscribe_headers(
            links, unsubscribe is not None and unsubscribe.one_click
        )
        values: dict[str, bytes] = {}
        if salutation:
            if "\r" in salutation or "\n" in salutation:
                raise HeaderError(
                    "the salutation must be one line",
                    hint="remove the line break from the list's salutation column",
                )
            values[TEXT_SALUTATION] = mime.b64_lines(_pad_line(salutation))
            values[HTML_SALUTATION] = mime.b64_lines(
                mime.pad3(f'<p style="margin:0 0 16px">{html.escape(salutation)}</p>\n'.encode())
            )
        body = self._body
        if links and self._body_unsubscribe is not None:
            # The URL when there is one (it is what a click should open), else the mailto.
            body = self._body_unsubscribe
            values[TEXT_URL] = mime.b64_lines(_pad_link_line(links[0]))
            values[HTML_URL] = mime.b64_lines(_anchor(links[0]))
        if body is None:
            raise ValueError("a RenderedMessage to personalise comes from render() or build()")
        return headers.encode("utf-8") + body.fill(values)


# The slots of a body, in the order they occur in it.
TEXT_SALUTATION = "text salutation"
TEXT_URL = "text unsubscribe"
HTML_SALUTATION = "html salutation"
HTML_URL = "html unsubscribe"


def _pad_line(salutation: str) -> bytes:
    """The salutation line and a blank line, padded with spaces to 3n bytes."""
    raw = salutation.encode("utf-8")
    pad = -(len(raw) + 4) % 3
    return raw + b" " * pad + b"\r\n\r\n"


def _pad_link_line(link: str) -> bytes:
    """The unsubscribe link as a line, padded with trailing spaces to 3n bytes."""
    raw = link.encode("utf-8")
    return raw + b" " * (-(len(raw) + 2) % 3) + b"\r\n"


def _anchor(link: str) -> bytes:
    """The unsubscribe link as an escaped ``<a>``, padded to 3n bytes inside its tag."""
    shown = html.escape(link).encode("utf-8")
    start = b'<a href="' + shown + b'" style="color:inherit"'
    end = b">" + shown + b"</a>"
    # Spaces before the tag's ">" are part of no attribute and show nowhere.
    return start + b" " * (-(len(start) + len(end)) % 3) + end


def _align_before_last_line_end(raw: bytes) -> bytes:
    """Text ending in CRLF, padded to 3n bytes with spaces at the end of a line.

    The last line, unless it is the signature separator "-- ", whose one
    trailing space is all it may have; then the line before it.
    """
    pad = -len(raw) % 3
    if not pad:
        return raw
    cut = len(raw) - 2
    if raw[:cut].endswith(b"\r\n-- ") or raw[:cut] == b"-- ":
        cut = max(0, raw.rfind(b"\r\n", 0, cut - 3))
    return raw[:cut] + b" " * pad + raw[cut:]


def _align_before_last_tag_end(raw: bytes) -> bytes:
    """HTML padded to 3n bytes with spaces before the ``>`` of its last tag."""
    pad = -len(raw) % 3
    if not pad:
        return raw
    cut = raw.rfind(b">")
    if cut < 0:
        raise ValueError("the HTML before a slot has no tag to pad")
    return raw[:cut] + b" " * pad + raw[cut:]


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _with_unsubscribe(
    text: str, html_body: str, head: bytes, html_head: bytes, closing: bytes
) -> mime.Spliced:
    """The body again with the unsubscribe line, a slot where each part's link goes."""
    b64 = mime.b64_lines
    text_before, line, text_after = _crlf(text).partition(TEXT_URL_SLOT.encode("ascii") + b"\r\n")
    html_tail = html_body.partition(SLOT)[2].lstrip("\n")
    html_before, link, html_after = html_tail.encode("utf-8").partition(
        HTML_URL_SLOT.encode("ascii")
    )
    if not line or not link:
        raise ValueError("an unsubscribe body needs its link slot")
    return mime.Spliced(
        (
            head,
            b64(_align_before_last_line_end(text_before)),
            b64(text_after) + html_head,
            b64(_align_before_last_tag_end(html_before)),
            b64(html_after) + closing,
        ),
        (TEXT_SALUTATION, TEXT_URL, HTML_SALUTATION, HTML_URL),
    )


def build(
    release_id: str,
    revision: str,
    language: str,
    subject: str,
    text: str,
    html_body: str,
    *,
    text_unsubscribe: str = "",
    html_unsubscribe: str = "",
) -> RenderedMessage:
    """Encode the MIME body of a message once; ``personalise`` reuses it.

    ``text_unsubscribe`` and ``html_unsubscribe`` are the bodies again with the
    unsubscribe line (``TEXT_URL_SLOT``, ``HTML_URL_SLOT`` where the link
    goes); without them the message has no such line.
    """
    language = Language.parse(language)
    tag = language.bcp47
    boundary = f"=_pd_{revision or 'x'}_{tag}"
    head_html, _slot, tail_html = html_body.partition(SLOT)
    head = (
        "MIME-Version: 1.0\r\n"
        f"Content-Language: {tag}\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
    ).encode("ascii")
    html_part_head = (
        f"--{boundary}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
    ).encode("ascii")
    closing = f"--{boundary}--\r\n".encode("ascii")
    # Spaces at the end of a tag's line are invisible; they align the slot.
    head_raw = head_html.rstrip("\n").encode("utf-8")
    head_bytes = head_raw + b" " * (-(len(head_raw) + 1) % 3) + b"\n"
    html_head = html_part_head + mime.b64_lines(head_bytes)
    tail_html = tail_html.lstrip("\n")
    b64 = mime.b64_lines
    body = mime.Spliced(
        (head, b64(_crlf(text)) + html_head, b64(tail_html.encode("utf-8")) + closing),
        (TEXT_SALUTATION, HTML_SALUTATION),
    )
    body_unsubscribe = (
        _with_unsubscribe(text_unsubscribe, html_unsubscribe, head, html_head, closing)
        if text_unsubscribe and html_unsubscribe
        else None
    )
    return RenderedMessage(
        release_id=release_id,
        revision=revision,
        language=language,
        subject=subject,
        text=text,
        html=head_bytes.decode("utf-8") + tail_html,
        _subject_header=mime.header_text(mime.refuse_newlines(subject, "subject")),
        _body=body,
        _body_unsubscribe=body_unsubscribe,
    )


def render(
    workspace: Workspace,
    release: Release,
    language: str,
    *,
    available: Collection[str],
    correction: Correction | None = None,
) -> RenderedMessage:
    """The mail of ``release`` in ``language`` (the source language: the original).

    ``available`` names the languages the footer may point to: those the
    caller found sendable. With ``correction`` it is the mail of a correction
    (``mail.content``): its own subject and its box at the top.
    """
    c = content(workspace, release, language, available, correction)
    return build(
        release.id,
        release.revision,
        c.language,
        c.subject,
        layout_text(c),
        layout_html(c),
        text_unsubscribe=layout_text(c, unsubscribe=True),
        html_unsubscribe=layout_html(c, unsubscribe=True),
    )
