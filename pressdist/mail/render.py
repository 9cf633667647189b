"""One localised mail per release and language: subject, plain text and HTML.

Owns what a recipient reads: the subject (a localised label plus the
translated title), the release date and embargo formatted for the language
(babel), lead, paragraphs, contact block and a footer naming the other
languages the release is available in, as text/plain (wrapped at 72 columns,
by display width for CJK) and as self-contained HTML (escaped, inline styles,
light and dark mode, ``lang`` attributes) and, when an unsubscribe address is
configured, a footer line with each recipient's own link. Labels come from pressdist's own
gettext catalogs in ``pressdist/locale/<lang>/LC_MESSAGES/pressdist.po``.

``RenderedMessage.personalise`` turns the message into the bytes for one
recipient; the MIME machinery of that fast path lives in ``pressdist.mime``.
It does not decide who gets which language (send) or whether a language may be
sent (checks.readiness).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pressdist import languages
from pressdist.mail import mime
from pressdist.mail.mime import HeaderError
from pressdist.mail.wrap import wrap
from pressdist.text import EMAIL, URL, is_wide, text_width

if TYPE_CHECKING:
    from pressdist.source.release import Release
    from pressdist.workspace import Workspace

__all__ = ["HeaderError", "RenderedMessage", "render", "labels"]

LOCALE_DIR = Path(__file__).parent.parent / "locale"  # pressdist/locale


# Labels ----------------------------------------------------------------------


@lru_cache(maxsize=16)
def labels(language: str) -> dict[str, str]:
    """msgid -> msgstr of pressdist's own catalog for ``language`` (English if none)."""
    import polib

    code = languages.normalize(language)
    candidates = [code, code.split("_")[0]]
    for cand in candidates:
        path = LOCALE_DIR / cand / "LC_MESSAGES" / "pressdist.po"
        if path.is_file():
            catalog = polib.pofile(str(path))
            return {
                e.msgid: e.msgstr
                for e in catalog
                if e.msgstr and not e.obsolete and "fuzzy" not in e.flags
            }
    return {}


def _(language: str, msgid: str, /, **values: str) -> str:
    text = labels(language).get(msgid, msgid)
    return text.format(**values) if values else text


# Localised pieces ------------------------------------------------------------


def format_release_date(date: dt.date, language: str) -> str:
    from babel.dates import format_date

    return format_date(date, "long", locale=languages.normalize(language))


def format_embargo(when: dt.datetime, language: str) -> str:
    """Date and time in the language, with the release's own UTC offset."""
    from babel.dates import format_date, format_time

    loc = languages.babel_locale(language)
    date = format_date(when.date(), "long", locale=loc)
    time = format_time(when, "short", tzinfo=when.tzinfo, locale=loc)
    zone = format_time(when, "ZZZZ", tzinfo=when.tzinfo, locale=loc)
    pattern = loc.datetime_formats.get("long", "{1} {0}")
    pattern = str(getattr(pattern, "pattern", pattern))
    # CLDR patterns quote literal words ('um'); pressdist only wants date + time.
    combined = pattern.replace("{1}", date).replace("{0}", f"{time} {zone}")
    return re.sub(r"'([^']*)'", r"\1", combined)


def join_sentences(sentences: list[str], cjk: bool) -> str:
    """A paragraph from its sentences: a space between them, none between CJK ones."""
    out = ""
    for s in sentences:
        s = s.strip()
        if not s:
            continue
        if out and not (cjk and (is_wide(out[-1]) or is_wide(s[0]))):
            out += " "
        out += s
    return out


@dataclass
class Content:
    """The release's text in one language, ready to lay out."""

    language: str
    title: str
    lead: str
    dateline: str
    embargo: str  # the localised "Embargo: …" line, or ""
    embargo_note: str
    paragraphs: list[str]
    contact: list[str]
    others: list[tuple[str, str]]  # (code, own name) of the other languages
    organisation: str
    translated: bool
    source_language: str = "de"

    @property
    def translated_note(self) -> str:
        """ "Translated from the German original.", the source named in the mail's language."""
        loc = languages.babel_locale(self.language)
        name = loc.languages.get(languages.normalize(self.source_language).split("_")[0])
        return _(
            self.language,
            "Translated from the {language} original.",
            language=name or self.source_language,
        )


def content(
    workspace: Workspace, release: Release, language: str, available: list[str] | None = None
) -> Content:
    """The release in ``language``: translations where usable, the source elsewhere."""
    from pressdist.translation.units import keyed_segments, release_units

    cfg = workspace.config
    language = workspace.language(language)
    translate = {}
    lookup = {}
    if language != cfg.source_language:
        for unit in release_units(workspace, release, language):
            if unit.usable(cfg.allow_fuzzy):
                translate[(unit.context, unit.segment.text)] = unit.text.strip()
                lookup.setdefault(unit.segment.text, unit.text.strip())
    parts: dict[tuple[str, int], list[str]] = {}
    for seg, ctxt in keyed_segments(release):
        text = translate.get((ctxt, seg.text), seg.text)
        parts.setdefault((seg.part, seg.number), []).append(text)
    cjk = languages.is_cjk(language)

    def one(part: str) -> str:
        return join_sentences(parts.get((part, 0), []), cjk)

    date = format_release_date(release.date, language)
    place = _place(workspace, release.place, language, lookup)
    dateline = _(language, "{place}, {date}", place=place, date=date) if place else date
    embargo = ""
    if release.embargo is not None:
        embargo = _(
            language, "Embargo: {datetime}", datetime=format_embargo(release.embargo, language)
        )
    if available is None:
        from pressdist.quality.readiness import readiness

        available = [lang for lang, r in readiness(workspace, release).items() if r.sendable]
    others = [
        (code, languages.own_name(code))
        for code in cfg.all_languages
        if code != language and code in available
    ]
    return Content(
        language=language,
        title=one("title"),
        lead=one("lead"),
        dateline=dateline,
        embargo=embargo,
        embargo_note=one("embargo"),
        paragraphs=[
            join_sentences(parts.get(("paragraph", n), []), cjk)
            for n in range(1, len(release.paragraphs) + 1)
        ],
        contact=[
            join_sentences(parts.get(("contact", n), []), cjk)
            for n in range(1, len(release.contact_lines) + 1)
        ],
        others=others,
        organisation=cfg.organisation,
        translated=language != cfg.source_language,
        source_language=cfg.source_language,
    )


def _place(workspace: Workspace, place: str, language: str, lookup: dict[str, str]) -> str:
    """The dateline's place in the language: from the catalog or glossary, else as is."""
    if not place or language == workspace.config.source_language:
        return place
    if place in lookup:
        return lookup[place]
    from pressdist.translation.glossary import load_glossary

    for term in load_glossary(workspace.language_dir(language) / "glossary.csv"):
        if term.source == place and term.renderings:
            return term.renderings[0]
    return place


# Layout ----------------------------------------------------------------------


UNSUBSCRIBE = (
    "You receive this press release as a member of our distribution list. Unsubscribe: {url}"
)
TEXT_URL_SLOT = "\x00unsubscribe\x00"  # a line of its own: the recipient's link
HTML_URL_SLOT = "<!--unsubscribe-->"


def unsubscribe_label(language: str) -> tuple[str, str]:
    """The localised unsubscribe line as the text before and after its link."""
    before, _sep, after = _(language, UNSUBSCRIBE).partition("{url}")
    return before, after


def layout_text(c: Content, *, unsubscribe: bool = False) -> str:
    """The text/plain body (without the salutation, which is spliced in per recipient).

    With ``unsubscribe`` the footer ends in the unsubscribe line, its link on a
    line of its own (``TEXT_URL_SLOT``): a URL is never wrapped, and a line
    holding only a link is one every mail client makes clickable.
    """
    cjk = languages.is_cjk(c.language)
    out: list[str] = []

    def block(text: str) -> None:
        if text:
            out.extend(wrap(text, cjk=cjk))
            out.append("")

    block(f"{_(c.language, 'Press release')} · {c.dateline}")
    if c.embargo:
        block(c.embargo)
        block(c.embargo_note)
    title = wrap(c.title, cjk=cjk)
    out.extend(title)
    out.append("=" * min(72, max(text_width(t, cjk=cjk) for t in title)))
    out.append("")
    block(c.lead)
    for para in c.paragraphs:
        block(para)
    if c.contact:
        out.append(_(c.language, "Contact"))
        for line in c.contact:
            out.extend(wrap(line, cjk=cjk))
        out.append("")
    out.append("-- ")
    if c.others:
        names = " · ".join(name for _code, name in c.others)
        out.extend(wrap(_(c.language, "Also available in: {languages}", languages=names), cjk=cjk))
    if c.translated:
        out.extend(wrap(c.translated_note, cjk=cjk))
    if c.organisation:
        out.extend(wrap(c.organisation, cjk=cjk))
    if unsubscribe:
        before, after = unsubscribe_label(c.language)
        if before.strip():
            out.extend(wrap(before.strip(), cjk=cjk))
        out.append(TEXT_URL_SLOT)
        if after.strip():
            out.extend(wrap(after.strip(), cjk=cjk))
    return "\n".join(line.rstrip() if line != "-- " else line for line in out).rstrip() + "\n"


_LINK = re.compile(f"(?P<url>{URL.pattern})|(?P<email>{EMAIL.pattern})", URL.flags)

_FONT = (
    'system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",'
    '"PingFang SC","Microsoft YaHei",sans-serif'
)


def _linked(text: str) -> str:
    """Escaped ``text`` with its URLs and e-mail addresses as links."""
    out = []
    pos = 0
    for m in _LINK.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        shown = m.group(0)
        if m.group("email"):
            href = f"mailto:{shown}"
        else:
            href = shown if shown.lower().startswith("http") else f"https://{shown}"
        out.append(f'<a href="{html.escape(href)}" style="color:inherit">{html.escape(shown)}</a>')
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


SLOT = "<!--salutation-->"


def layout_html(c: Content, subject: str, *, unsubscribe: bool = False) -> str:
    """The text/html body, with ``SLOT`` where a recipient's salutation goes.

    With ``unsubscribe`` a last footer paragraph holds the unsubscribe line,
    ``HTML_URL_SLOT`` where the recipient's link goes.
    """
    lang = languages.bcp47(c.language)
    e = html.escape
    muted = "opacity:.75"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}" dir="ltr">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        '<meta name="supported-color-schemes" content="light dark">',
        f"<title>{e(subject)}</title>",
        "<style>:root{color-scheme:light dark}</style>",
        "</head>",
        '<body style="margin:0;padding:0">',
        f'<div style="max-width:42em;margin:0 auto;padding:16px 20px;font-family:{e(_FONT)};'
        'font-size:16px;line-height:1.6">',
        SLOT,
        f'<p style="margin:0 0 4px;font-size:14px;{muted};text-transform:uppercase;'
        f'letter-spacing:.04em">{e(_(c.language, "Press release"))}</p>',
        f'<p style="margin:0 0 16px;font-size:14px;{muted}">{e(c.dateline)}</p>',
    ]
    if c.embargo:
        parts.append(
            '<p style="margin:0 0 16px;padding:8px 12px;border:2px solid currentColor;'
            f'font-weight:bold">{e(c.embargo)}'
            + (
                f'<br><span style="font-weight:normal">{e(c.embargo_note)}</span>'
                if c.embargo_note
                else ""
            )
            + "</p>"
        )
    parts.append(f'<h1 style="font-size:24px;line-height:1.3;margin:0 0 12px">{e(c.title)}</h1>')
    if c.lead:
        parts.append(f'<p style="margin:0 0 16px;font-weight:bold">{_linked(c.lead)}</p>')
    for para in c.paragraphs:
        parts.append(f'<p style="margin:0 0 16px">{_linked(para)}</p>')
    if c.contact:
        parts.append(
            f'<h2 style="font-size:16px;margin:24px 0 4px">{e(_(c.language, "Contact"))}</h2>'
        )
        parts.append(
            '<p style="margin:0 0 16px">' + "<br>".join(_linked(x) for x in c.contact) + "</p>"
        )
    parts.append(
        '<hr style="border:0;border-top:1px solid currentColor;opacity:.3;margin:24px 0 8px">'
    )
    footer = []
    if c.others:
        names = " · ".join(
            f'<span lang="{languages.bcp47(code)}">{e(name)}</span>' for code, name in c.others
        )
        label = e(_(c.language, "Also available in: {languages}", languages="\x00"))
        footer.append(label.replace("\x00", names))
    if c.translated:
        footer.append(e(c.translated_note))
    if c.organisation:
        footer.append(e(c.organisation))
    parts.append(f'<p style="margin:0;font-size:13px;{muted}">' + "<br>".join(footer) + "</p>")
    if unsubscribe:
        before, after = unsubscribe_label(c.language)
        parts.append(
            f'<p style="margin:8px 0 0;font-size:13px;{muted}">'
            f"{e(before)}{HTML_URL_SLOT}{e(after)}</p>"
        )
    parts += ["</div>", "</body>", "</html>", ""]
    return "\n".join(parts)


# The message -----------------------------------------------------------------


@dataclass(frozen=True)
class RenderedMessage:
    """A release in one language, as a mail body ready to be addressed."""

    release_id: str
    revision: str
    language: str
    subject: str
    text: str
    html: str
    # The encoded MIME body around the recipient's slots, built once: as it is,
    # and with the unsubscribe line for when an unsubscribe address is given.
    _subject_header: str = field(default="", repr=False, compare=False)
    _body: mime.Spliced | None = field(default=None, repr=False, compare=False)
    _body_unsubscribe: mime.Spliced | None = field(default=None, repr=False, compare=False)

    @property
    def content_language(self) -> str:
        return languages.bcp47(self.language)

    def personalise(
        self,
        *,
        sender: str,
        to: str,
        to_name: str = "",
        message_id: str,
        date: dt.datetime | None = None,
        salutation: str = "",
        unsubscribe_url: str = "",
        unsubscribe_mailto: str = "",
        reply_to: str = "",
    ) -> bytes:
        """The complete RFC 5322 message for one recipient (CRLF line endings)."""
        to_addr = mime.address(to, "recipient address")
        headers = (
            f"From: {mime.mailbox_from_string(sender, 'sender')}\r\n"
            f"To: {mime.mailbox(to_name, to_addr, 'recipient')}\r\n"
            f"Subject: {self._subject_header}\r\n"
            f"Date: {mime.date_header(date)}\r\n"
            f"Message-ID: {mime.message_id(message_id)}\r\n"
        )
        if reply_to:
            headers += f"Reply-To: {mime.mailbox_from_string(reply_to, 'Reply-To')}\r\n"
        links = (
            mime.unsubscribe_links(unsubscribe_url, unsubscribe_mailto, to_addr)
            if unsubscribe_url or unsubscribe_mailto
            else ()
        )
        headers += mime.unsubscribe_headers(links, bool(unsubscribe_url))
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
    boundary = f"=_pd_{revision or 'x'}_{languages.bcp47(language)}"
    head_html, _slot, tail_html = html_body.partition(SLOT)
    head = (
        "MIME-Version: 1.0\r\n"
        f"Content-Language: {languages.bcp47(language)}\r\n"
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
    body_unsubscribe = None
    if text_unsubscribe and html_unsubscribe:
        text_before, line, text_after = _crlf(text_unsubscribe).partition(
            TEXT_URL_SLOT.encode("ascii") + b"\r\n"
        )
        html_tail = html_unsubscribe.partition(SLOT)[2].lstrip("\n")
        html_before, link, html_after = html_tail.encode("utf-8").partition(
            HTML_URL_SLOT.encode("ascii")
        )
        if not line or not link:
            raise ValueError("an unsubscribe body needs its link slot")
        body_unsubscribe = mime.Spliced(
            (
                head,
                b64(_align_before_last_line_end(text_before)),
                b64(text_after) + html_head,
                b64(_align_before_last_tag_end(html_before)),
                b64(html_after) + closing,
            ),
            (TEXT_SALUTATION, TEXT_URL, HTML_SALUTATION, HTML_URL),
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
    workspace: Workspace, release: Release, language: str, *, available: list[str] | None = None
) -> RenderedMessage:
    """The mail of ``release`` in ``language`` (the source language: the original).

    ``available`` names the languages the footer may point to; by default those
    that ``checks.readiness`` finds sendable.
    """
    c = content(workspace, release, language, available)
    subject = _(c.language, "Press release: {title}", title=c.title)
    subject = " ".join(subject.split())
    return build(
        release.id,
        release.revision,
        c.language,
        subject,
        layout_text(c),
        layout_html(c, subject),
        text_unsubscribe=layout_text(c, unsubscribe=True),
        html_unsubscribe=layout_html(c, subject, unsubscribe=True),
    )
