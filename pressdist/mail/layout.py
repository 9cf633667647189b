"""The two bodies of a mail: its content laid out as plain text and as HTML.

Owns the layout: text/plain wrapped at 72 columns (by display width for CJK,
``mail.wrap``), a correction's box first, an underlined title and the "-- "
signature separator before the footer; text/html self-contained (every text escaped, URLs and
addresses as links, inline styles, light and dark mode, ``lang`` attributes).
Both leave slots where a recipient's own text goes: ``SLOT`` (the HTML
salutation; the text one goes before the body) and, with the unsubscribe line,
``TEXT_URL_SLOT`` and ``HTML_URL_SLOT`` for their link.

It chooses no words (``mail.content`` did, in the mail's language) and encodes
nothing (``mail.render``).
"""

from __future__ import annotations

import html
import re

from pressdist.mail.content import Content
from pressdist.mail.wrap import wrap
from pressdist.text import EMAIL, URL, text_width

SLOT = "<!--salutation-->"
TEXT_URL_SLOT = "\x00unsubscribe\x00"  # a line of its own: the recipient's link
HTML_URL_SLOT = "<!--unsubscribe-->"


# Plain text --------------------------------------------------------------------


def _text_footer(c: Content, cjk: bool, unsubscribe: bool) -> list[str]:
    out = ["-- "]
    if c.others:
        before, after = c.also_available
        names = " · ".join(name for _code, name in c.others)
        out.extend(wrap(before + names + after, cjk=cjk))
    if c.translated_note:
        out.extend(wrap(c.translated_note, cjk=cjk))
    if c.organisation:
        out.extend(wrap(c.organisation, cjk=cjk))
    if unsubscribe:
        before, after = c.unsubscribe
        if before.strip():
            out.extend(wrap(before.strip(), cjk=cjk))
        out.append(TEXT_URL_SLOT)
        if after.strip():
            out.extend(wrap(after.strip(), cjk=cjk))
    return out


def layout_text(c: Content, *, unsubscribe: bool = False) -> str:
    """The text/plain body (without the salutation, which is spliced in per recipient).

    With ``unsubscribe`` the footer ends in the unsubscribe line, its link on a
    line of its own (``TEXT_URL_SLOT``): a URL is never wrapped, and a line
    holding only a link is one every mail client makes clickable.
    """
    cjk = c.language.is_cjk
    out: list[str] = []

    def block(text: str) -> None:
        if text:
            out.extend(wrap(text, cjk=cjk))
            out.append("")

    if c.correction:
        out.append(c.correction.upper())
        block(c.correction_text)
        block(c.correction_note)
    block(f"{c.kicker} · {c.dateline}")
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
        out.append(c.contact_heading)
        for line in c.contact:
            out.extend(wrap(line, cjk=cjk))
        out.append("")
    out.extend(_text_footer(c, cjk, unsubscribe))
    # No text of a release or a translation may hold the slot's NULs: the
    # recipient's link goes where the footer puts it, and nowhere else.
    out = [line if line == TEXT_URL_SLOT else line.replace("\0", "") for line in out]
    # Trailing spaces go, except the one the signature separator "-- " is made of.
    return "\n".join(line.rstrip() if line != "-- " else line for line in out).rstrip() + "\n"


# HTML --------------------------------------------------------------------------


_LINK = re.compile(f"(?P<url>{URL.pattern})|(?P<email>{EMAIL.pattern})", URL.flags)

_FONT = (
    'system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",'
    '"PingFang SC","Microsoft YaHei",sans-serif'
)
_MUTED = "opacity:.75"


def linked(text: str) -> str:
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


def _html_head(c: Content) -> list[str]:
    """From the doctype to the salutation's slot."""
    e = html.escape
    return [
        "<!DOCTYPE html>",
        f'<html lang="{c.language.bcp47}" dir="ltr">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        '<meta name="supported-color-schemes" content="light dark">',
        f"<title>{e(c.subject)}</title>",
        "<style>:root{color-scheme:light dark}</style>",
        "</head>",
        '<body style="margin:0;padding:0">',
        f'<div style="max-width:42em;margin:0 auto;padding:16px 20px;font-family:{e(_FONT)};'
        'font-size:16px;line-height:1.6">',
        SLOT,
    ]


def _html_correction(c: Content) -> list[str]:
    """The box that says the mail is a correction, with the office's note."""
    if not c.correction:
        return []
    e = html.escape
    note = f'<br><span style="font-weight:normal">{linked(c.correction_note)}</span>'
    return [
        '<p style="margin:0 0 16px;padding:8px 12px;border:2px solid currentColor">'
        f"<strong>{e(c.correction)}</strong><br>{e(c.correction_text)}"
        f"{note if c.correction_note else ''}</p>"
    ]


def _html_release(c: Content) -> list[str]:
    """Kicker, dateline, embargo, title, lead, paragraphs and contact."""
    e = html.escape
    parts = [
        *_html_correction(c),
        f'<p style="margin:0 0 4px;font-size:14px;{_MUTED};text-transform:uppercase;'
        f'letter-spacing:.04em">{e(c.kicker)}</p>',
        f'<p style="margin:0 0 16px;font-size:14px;{_MUTED}">{e(c.dateline)}</p>',
    ]
    if c.embargo:
        note = (
            f'<br><span style="font-weight:normal">{e(c.embargo_note)}</span>'
            if c.embargo_note
            else ""
        )
        parts.append(
            '<p style="margin:0 0 16px;padding:8px 12px;border:2px solid currentColor;'
            f'font-weight:bold">{e(c.embargo)}{note}</p>'
        )
    parts.append(f'<h1 style="font-size:24px;line-height:1.3;margin:0 0 12px">{e(c.title)}</h1>')
    if c.lead:
        parts.append(f'<p style="margin:0 0 16px;font-weight:bold">{linked(c.lead)}</p>')
    for para in c.paragraphs:
        parts.append(f'<p style="margin:0 0 16px">{linked(para)}</p>')
    if c.contact:
        parts.append(f'<h2 style="font-size:16px;margin:24px 0 4px">{e(c.contact_heading)}</h2>')
        parts.append('<p style="margin:0 0 16px">' + "<br>".join(map(linked, c.contact)) + "</p>")
    return parts


def _html_footer(c: Content, unsubscribe: bool) -> list[str]:
    e = html.escape
    lines = []
    if c.others:
        before, after = c.also_available
        names = " · ".join(f'<span lang="{code.bcp47}">{e(name)}</span>' for code, name in c.others)
        lines.append(e(before) + names + e(after))
    if c.translated_note:
        lines.append(e(c.translated_note))
    if c.organisation:
        lines.append(e(c.organisation))
    parts = [
        '<hr style="border:0;border-top:1px solid currentColor;opacity:.3;margin:24px 0 8px">',
        f'<p style="margin:0;font-size:13px;{_MUTED}">' + "<br>".join(lines) + "</p>",
    ]
    if unsubscribe:
        before, after = c.unsubscribe
        parts.append(
            f'<p style="margin:8px 0 0;font-size:13px;{_MUTED}">'
            f"{e(before)}{HTML_URL_SLOT}{e(after)}</p>"
        )
    return parts


def layout_html(c: Content, *, unsubscribe: bool = False) -> str:
    """The text/html body, with ``SLOT`` where a recipient's salutation goes.

    With ``unsubscribe`` a last footer paragraph holds the unsubscribe line,
    ``HTML_URL_SLOT`` where the recipient's link goes.
    """
    parts = [*_html_head(c), *_html_release(c), *_html_footer(c, unsubscribe)]
    return "\n".join([*parts, "</div>", "</body>", "</html>", ""])
