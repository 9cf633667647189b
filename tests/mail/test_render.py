"""Rendering: localised mails that any mail parser reads back exactly, personalised fast."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import re
import shutil
import time
import unicodedata
from pathlib import Path

import pytest
from conftest import translate_catalogs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressdist.mail import mime
from pressdist.mail.content import content, format_embargo
from pressdist.mail.layout import HTML_URL_SLOT, SLOT, TEXT_URL_SLOT, layout_html, layout_text
from pressdist.mail.mime import HeaderError
from pressdist.mail.render import build, render
from pressdist.mail.unsubscribe import Unsubscribe
from pressdist.mail.wrap import NO_START
from pressdist.quality.readiness import readiness
from pressdist.source.release import load_release
from pressdist.text import BIDI_CONTROLS, text_width
from pressdist.workspace import Workspace

DATA = Path(__file__).parent.parent / "data" / "quality"
RELEASE = "2024-03-01-hafenfest"
LANGS = ["de", "en", "zh_CN"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    from pressdist.translation.catalog import extract

    root = tmp_path_factory.mktemp("render") / "ws"
    shutil.copytree(DATA, root)
    ws = Workspace.open(root)
    release = load_release(ws, RELEASE)
    for lang in ws.config.languages:
        extract(ws, release, lang)
    translate_catalogs(root)
    return ws


def sendable(ws, release) -> list[str]:
    """The languages the footer may name, as send and preview find them."""
    return [lang for lang, r in readiness(ws, release).items() if r.sendable]


@pytest.fixture(scope="module")
def messages(ws):
    release = load_release(ws, RELEASE)
    return {lang: render(ws, release, lang, available=sendable(ws, release)) for lang in LANGS}


def send_one(message, **kw) -> bytes:
    args = {
        "sender": "Stadt Beispiel <presse@example.org>",
        "to": "erika@example.com",
        "to_name": "Erika Mustermann",
        "message_id": "1.abc@example.org",
        "date": dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC),
    }
    args.update(kw)
    url, mailto = args.pop("unsubscribe_url", ""), args.pop("unsubscribe_mailto", "")
    if url or mailto:
        args["unsubscribe"] = Unsubscribe(url, mailto)
    return message.personalise(**args)


def display_name(data: bytes) -> str:
    """The To display name as an RFC 2047 decoder reads it.

    policy.default puts a space between adjacent encoded-words of a phrase,
    which RFC 2047 (6.2) says to ignore; email.header follows the RFC.
    """
    from email.header import decode_header, make_header
    from email.utils import parseaddr

    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii").replace("\r\n ", " ").replace("\r", "")
    value = re.search(r"^To: (.*)$", head, re.M).group(1)
    phrase = value.rpartition(" <")[0] if value.endswith(">") else ""
    if phrase.startswith("=?"):
        return str(make_header(decode_header(phrase)))
    return parseaddr(value)[0]


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


# The message as a whole ---------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_each_language_parses_back_with_the_right_headers_and_charset(messages, lang):
    data = send_one(messages[lang], reply_to="redaktion@example.org")
    msg = parse(data)
    assert msg["From"].addresses[0].addr_spec == "presse@example.org"
    assert msg["From"].addresses[0].display_name == "Stadt Beispiel"
    assert [a.addr_spec for a in msg["To"].addresses] == ["erika@example.com"]
    assert msg["To"].addresses[0].display_name == "Erika Mustermann"
    assert msg["Subject"] == messages[lang].subject
    assert msg["Message-ID"] == "<1.abc@example.org>"
    assert msg["Date"].datetime == dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert msg["Reply-To"].addresses[0].addr_spec == "redaktion@example.org"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Content-Language"] == {"de": "de", "en": "en", "zh_CN": "zh-CN"}[lang]
    assert msg.get_content_type() == "multipart/alternative"
    plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
    for part in (plain, html):
        assert part.get_content_charset() == "utf-8"
    assert plain.get_content().replace("\r\n", "\n") == messages[lang].text
    assert html.get_content().replace("\r\n", "\n") == messages[lang].html
    assert not msg.defects and not plain.defects and not html.defects


@pytest.mark.parametrize("lang", LANGS)
def test_message_is_ascii_with_crlf_lines_under_998_octets(messages, lang):
    data = send_one(messages[lang], salutation="Liebe Erika,")
    assert data.isascii()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in data.split(b"\r\n")) < 998


def test_subjects_carry_the_localised_label_and_translated_title(messages):
    assert (
        messages["de"].subject == "Pressemitteilung: Hafenfest & Industrie 4.0: Beispiel lädt ein"
    )
    assert messages["en"].subject == (
        "Press release: Harbour festival & Industry 4.0: Beispiel invites you"
    )
    assert messages["zh_CN"].subject == "新闻稿：港口节与工业4.0：贝斯匹尔市诚邀您参加"


def test_chinese_subject_round_trips_as_rfc2047_encoded_words(messages):
    data = send_one(messages["zh_CN"])
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    subject = re.search(r"^Subject: (.*?)\r\n(?!\s)", head, re.M | re.S).group(1)
    assert subject.startswith("=?utf-8?b?")
    assert all(len(word) <= 75 for word in subject.split())
    assert parse(data)["Subject"] == "新闻稿：港口节与工业4.0：贝斯匹尔市诚邀您参加"


def test_dateline_and_embargo_are_in_the_mails_language(messages):
    assert "Beispiel, 1. März 2024" in messages["de"].text
    assert "Beispiel, March 1, 2024" in messages["en"].text
    assert "2024年3月1日" in messages["zh_CN"].text
    assert "Sperrfrist: 1. März 2024, 10:00" in messages["de"].text
    assert "Embargo: March 1, 2024, 10:00" in messages["en"].text
    assert "禁发时间：2024年3月1日" in messages["zh_CN"].text
    when = dt.datetime(2019, 11, 4, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert format_embargo(when, "de") == "4. November 2019, 10:00 GMT+01:00"


def test_footer_lists_the_other_languages_by_their_own_names(messages):
    assert "Auch verfügbar auf: English · 中文" in messages["de"].text
    assert "Also available in: Deutsch · 中文" in messages["en"].text
    assert "其他语言版本：Deutsch · English" in messages["zh_CN"].text
    assert '<span lang="zh-CN">中文</span>' in messages["en"].html


def test_translations_say_what_they_were_translated_from(messages):
    assert "Translated from the German original." in messages["en"].text
    assert "本文译自德语原文。" in messages["zh_CN"].text
    assert "Translated from" not in messages["de"].text and "Übersetzt" not in messages["de"].text


def test_footer_leaves_out_languages_that_are_not_sendable(ws):
    release = load_release(ws, RELEASE)
    message = render(ws, release, "en", available=["de", "en"])
    assert "中文" not in message.text and "Deutsch" in message.text


def test_sentences_are_joined_with_a_space_except_in_chinese(messages):
    text = " ".join(messages["en"].text.split())
    assert "is 44.3%. Beispiel joined" in text
    zh = "".join(messages["zh_CN"].text.split())
    assert "本市的出口率为44.3%。贝斯匹尔市于2017年" in zh


# Plain text ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["de", "en"])
def test_latin_text_wraps_at_72_columns_and_never_inside_a_word(ws, messages, lang):
    text = messages[lang].text
    for line in text.splitlines():
        assert len(line) <= 72 or " " not in line.strip()
    if lang == "de":
        words = set(" ".join(load_release(ws, RELEASE).paragraphs).split())
        assert words <= set(text.split())


def test_chinese_text_wraps_by_display_width_without_leading_closing_punctuation(messages):
    lines = messages["zh_CN"].text.splitlines()
    assert all(text_width(line) <= 72 for line in lines)
    assert not any(line[:1] in NO_START for line in lines)


def test_long_chinese_paragraph_wraps_by_width():
    from pressdist.mail.wrap import wrap_cjk

    para = "中德工业城市联盟旨在推动企业、行业和科研机构之间高效、快速、直接的对接。" * 6
    lines = wrap_cjk(para)
    assert len(lines) > 3
    assert all(66 <= text_width(line) <= 72 for line in lines[:-1])
    assert not any(line[0] in NO_START for line in lines)
    assert "".join(lines) == para


# HTML ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_html_has_no_unescaped_source_text(messages, lang):
    page = messages[lang].html
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert re.search(r"&(?!(amp|lt|gt|quot|#x27|#\d+);)", page) is None


@pytest.mark.parametrize("lang", LANGS)
def test_html_is_self_contained_with_lang_and_both_colour_schemes(messages, lang):
    page = messages[lang].html
    assert f'<html lang="{ {"de": "de", "en": "en", "zh_CN": "zh-CN"}[lang] }"' in page
    assert '<meta name="color-scheme" content="light dark">' in page
    assert not re.search(r"<(link|img|script|iframe)\b|\bsrc=|url\(|@import", page)


def test_urls_and_addresses_become_links(messages):
    page = messages["en"].html
    assert '<a href="https://example.org/hafenfest" style="color:inherit">' in page
    assert '<a href="mailto:presse@example.org"' in page


# Personalising: the hot path ---------------------------------------------------------


def test_salutation_is_spliced_into_both_parts_escaped(messages):
    msg = parse(send_one(messages["zh_CN"], salutation="尊敬的 <Erika> & 团队："))
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    page = msg.get_body(("html",)).get_content()
    assert text.startswith("尊敬的 <Erika> & 团队：")
    assert text.split("\n", 2)[2] == messages["zh_CN"].text
    assert "尊敬的 &lt;Erika&gt; &amp; 团队：" in page
    assert "<Erika>" not in page


def test_unsubscribe_url_gets_the_encoded_address_and_one_click_post(messages):
    msg = parse(
        send_one(
            messages["en"],
            to="a+b@example.com",
            unsubscribe_url="https://example.org/u?e={email}",
            unsubscribe_mailto="unsubscribe@example.org",
        )
    )
    assert msg["List-Unsubscribe"] == (
        "<https://example.org/u?e=a%2Bb%40example.com>, <mailto:unsubscribe@example.org>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_unsubscribe_mailto_alone_has_no_one_click_header(messages):
    msg = parse(send_one(messages["en"], unsubscribe_mailto="unsubscribe@example.org"))
    assert msg["List-Unsubscribe"] == "<mailto:unsubscribe@example.org>"
    assert msg["List-Unsubscribe-Post"] is None


@pytest.mark.parametrize(
    "field",
    ["to_name", "to", "sender", "message_id", "reply_to", "salutation", "unsubscribe_url"],
)
def test_a_line_break_in_any_header_value_is_refused(messages, field):
    value = {
        "to_name": "Erika\r\nBcc: victim@example.net",
        "to": "erika@example.com\r\nBcc: victim@example.net",
        "sender": "presse@example.org\nBcc: victim@example.net",
        "message_id": "1@example.org\r\nBcc: x@example.net",
        "reply_to": "a@example.org\rBcc: x@example.net",
        "salutation": "Hallo\r\nBcc: x@example.net",
        "unsubscribe_url": "https://example.org/u\r\nBcc: x@example.net",
    }[field]
    with pytest.raises(HeaderError):
        send_one(messages["en"], **{field: value})


def test_a_subject_with_a_line_break_is_refused():
    with pytest.raises(HeaderError):
        build("x", "r", "en", "Press release: a\r\nBcc: x@example.net", "text\n", "<p>x</p>")


def test_an_internationalised_domain_is_sent_as_idna(messages):
    msg = parse(send_one(messages["de"], to="info@bücher.example"))
    assert msg["To"].addresses[0].domain == "xn--bcher-kva.example"


def test_a_sharp_s_domain_keeps_its_idna_2008_form_as_in_the_lists(messages):
    from pressdist.mail.addresses import check_address

    msg = parse(send_one(messages["de"], to="info@straße.example", sender="presse@straße.example"))
    listed = check_address("info@straße.example")[0]
    assert msg["To"].addresses[0].addr_spec == listed == "info@xn--strae-oqa.example"
    assert msg["From"].addresses[0].domain == "xn--strae-oqa.example"


@pytest.mark.parametrize("policy", [email.policy.SMTPUTF8, email.policy.default])
def test_a_utf8_mailbox_name_is_written_raw_in_to_and_parses_back_intact(messages, policy):
    data = send_one(messages["de"], to="müller@example.org", to_name="Jörg Müller")
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"To: =?utf-8?b?" in head or b'To: "' in head
    assert "<müller@example.org>".encode() in head  # RFC 6532: UTF-8, not encoded-words
    # Python's bytes parser reads headers as ASCII (surrogate escapes); a
    # reader of RFC 6532 mail decodes the header section as UTF-8.
    msg = email.message_from_string(data.decode("utf-8"), policy=policy)
    (to,) = msg["To"].addresses
    assert to.addr_spec == "müller@example.org"
    assert to.display_name == "Jörg Müller"
    assert not msg.defects
    # Everything but that one header stays ASCII: the body is built once for all.
    assert data.replace("müller".encode(), b"mueller").isascii()


@pytest.mark.parametrize(
    "address",
    [
        "mül ler@example.org",  # a space
        "mül\u00a0ler@example.org",  # no-break space (Zs)
        "mül\u3000ler@example.org",  # ideographic space (Zs)
        "mül\u200bler@example.org",  # zero-width space (Cf)
        "mül\u2028ler@example.org",  # line separator (Zl)
        "mül\x85ler@example.org",  # next line (Cc)
        "mül<ler@example.org",  # a special
        "mül,ler@example.org",
        "mül..ler@example.org",
    ],
)
def test_a_utf8_mailbox_name_with_a_control_separator_or_special_is_refused(messages, address):
    from pressdist.mail.addresses import check_address

    with pytest.raises(HeaderError):
        send_one(messages["de"], to=address)
    with pytest.raises(ValueError):  # the lists refuse it too, before any send
        check_address(address)


_names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=80
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_names, salutation=_names)
def test_any_name_and_salutation_parse_back_equal_with_no_injected_header(
    messages, name, salutation
):
    data = send_one(messages["zh_CN"], to_name=name, salutation=salutation)
    msg = parse(data)
    expected = [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Language",
        "Content-Type",
    ]
    assert list(msg.keys()) == expected
    [to] = msg["To"].addresses
    assert to.addr_spec == "erika@example.com"
    # Control and direction characters are dropped and whitespace collapsed; the rest is kept.
    kept = "".join(c for c in name if unicodedata.category(c) != "Cc" and c not in BIDI_CONTROLS)
    shown = " ".join(kept.split())
    assert display_name(data) == shown
    if len(shown.encode()) <= 42:  # one encoded-word: policy.default agrees
        assert to.display_name == shown
    if salutation:
        text = msg.get_body(("plain",)).get_content()
        assert text.split("\r\n", 1)[0].rstrip(" ") == salutation.rstrip(" ")


@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
        min_size=1,
        max_size=200,
    )
)
def test_any_subject_parses_back_equal(subject):
    message = build("x", "rev", "en", subject, "text\n", "<p>x</p>\n")
    msg = parse(send_one(message))
    assert msg["Subject"] == subject
    assert list(msg.keys())[:3] == ["From", "To", "Subject"]


def quoted(name: str, address: str = "presse@example.org") -> str:
    """``"name" <address>`` as an office writes a sender in pressdist.toml."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + f'" <{address}>'


@settings(max_examples=150, deadline=None)
@given(sender=_names, reply_to=_names)
def test_any_quoted_sender_and_reply_to_name_parse_back_with_no_injected_header(sender, reply_to):
    message = build("x", "rev", "en", "S", "text\n", "<p>x</p>\n")
    data = send_one(message, sender=quoted(sender), reply_to=quoted(reply_to, "r@example.org"))
    msg = parse(data)
    assert not msg.defects
    assert msg["From"].addresses[0].addr_spec == "presse@example.org"
    assert msg["Reply-To"].addresses[0].addr_spec == "r@example.org"
    assert list(msg.keys()) == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Reply-To",
        "MIME-Version",
        "Content-Language",
        "Content-Type",
    ]


def test_personalise_costs_a_small_fraction_of_a_millisecond(messages):
    message = messages["zh_CN"]
    kw = {
        "sender": "Stadt Beispiel <presse@example.org>",
        "to_name": "Erika Müller",
        "salutation": "Liebe Erika,",
        "unsubscribe": Unsubscribe("https://example.org/u?e={email}"),
    }
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for i in range(400):
            message.personalise(to=f"r{i}@example.com", message_id=f"{i}@example.org", **kw)
        runs.append((time.perf_counter() - start) / 400)
    # About 0.02-0.05 ms here; a tenfold margin for a busy machine.
    assert min(runs) < 0.0005


def test_preview_sender_is_the_from_that_send_writes(tmp_workspace):
    from pressdist.mail.identity import from_header
    from pressdist.mail.preview import sender_of

    ws = Workspace.open(tmp_workspace)
    ws.config.organisation = "Stadt Beispiel, Presseamt"
    assert sender_of(ws) == from_header(ws)
    assert mime.mailbox_from_string(sender_of(ws), "sender") == (
        '"Stadt Beispiel, Presseamt" <presse@example.org>'
    )
    ws.config.sender = ""
    assert sender_of(ws) == "press@example.invalid"


# The unsubscribe line in the body ------------------------------------------------------

UNSUBSCRIBE_URL = "https://example.org/abmelden?liste=presse&e={email}"
UNSUBSCRIBE_LABELS = {
    "de": "Sie erhalten diese Pressemitteilung als Empfänger der Verteilerliste. Abmelden:",
    "en": "You receive this press release as a member of our distribution list. Unsubscribe:",
    "zh_CN": "您收到此新闻稿是因为您在我们的分发名单中。退订：",
}


@pytest.fixture(scope="module")
def contents(ws):
    release = load_release(ws, RELEASE)
    return {lang: content(ws, release, lang, sendable(ws, release)) for lang in LANGS}


def own_link(address: str, template: str = UNSUBSCRIBE_URL) -> str:
    from urllib.parse import quote

    return template.replace("{email}", quote(address, safe=""))


def bodies(data: bytes) -> tuple[str, str]:
    msg = parse(data)
    assert not msg.defects
    plain, page = msg.get_body(("plain",)), msg.get_body(("html",))
    assert not plain.defects and not page.defects
    return plain.get_content().replace("\r\n", "\n"), page.get_content()


def flat(text: str, lang: str) -> str:
    """Text with its line breaks undone, as a reader takes a wrapped paragraph."""
    return ("" if lang == "zh_CN" else " ").join(text.split())


@pytest.mark.parametrize("lang", LANGS)
def test_unsubscribe_line_carries_each_recipients_own_link_in_both_parts(messages, lang):
    addresses = ["a+b@example.com", "zoë&co@example.net"]
    for addr, other in (addresses, addresses[::-1]):
        text, page = bodies(
            send_one(messages[lang], to=addr, salutation="Hallo,", unsubscribe_url=UNSUBSCRIBE_URL)
        )
        link, foreign = own_link(addr), own_link(other)
        label = UNSUBSCRIBE_LABELS[lang]
        assert flat(label, lang) + ("" if lang == "zh_CN" else " ") + link in flat(text, lang)
        assert html.escape(label) in page
        anchor = re.search(
            r'<a href="([^"]*)" style="color:inherit" *>([^<]*)</a>', page.split(label)[1]
        )
        assert anchor.groups() == (html.escape(link), html.escape(link))
        assert "&e=" not in page.replace("&amp;e=", "")  # the & of the URL is escaped
        assert foreign not in text and html.escape(foreign) not in page
        # Everything else is the body every recipient of the language gets.
        assert text.startswith("Hallo,")
        assert messages[lang].text.rstrip("\n") in text


def test_unsubscribe_mailto_alone_is_the_link_in_the_body(messages):
    text, page = bodies(send_one(messages["de"], unsubscribe_mailto="abmelden@example.org"))
    assert "Abmelden:\nmailto:abmelden@example.org" in text.replace(" \n", "\n")
    assert '<a href="mailto:abmelden@example.org"' in page


def test_the_url_is_the_link_when_both_url_and_mailto_are_configured(messages):
    text, page = bodies(
        send_one(
            messages["en"],
            unsubscribe_url=UNSUBSCRIBE_URL,
            unsubscribe_mailto="unsubscribe@example.org",
        )
    )
    assert own_link("erika@example.com") in text and "mailto:" not in text.split("-- ")[-1]
    assert html.escape(own_link("erika@example.com")) in page


@pytest.mark.parametrize("lang", LANGS)
def test_without_unsubscribe_configured_the_mail_has_no_unsubscribe_line(messages, contents, lang):
    message, c = messages[lang], contents[lang]
    bare = build(
        message.release_id,
        message.revision,
        message.language,
        message.subject,
        layout_text(c),
        layout_html(c),
    )
    for salutation in ("", "Liebe Erika,", "尊敬的 <Erika>："):
        data = send_one(message, salutation=salutation)
        text, page = bodies(data)
        assert (
            UNSUBSCRIBE_LABELS[lang] not in text and '<a href="https://example.org/abm' not in page
        )
        # Byte for byte the mail of a message that has no unsubscribe body at all.
        assert data == send_one(bare, salutation=salutation)


@pytest.mark.parametrize("pad", range(3))
def test_signature_separator_keeps_its_single_space_when_the_link_slot_is_aligned(pad):
    body = "x" * (10 + pad) + "\n-- \n"
    message = build(
        "x",
        "r",
        "en",
        "S",
        body,
        "<div>\n<!--salutation-->\n<p>x</p>\n",
        text_unsubscribe=body + "\x00unsubscribe\x00\n",
        html_unsubscribe="<div>\n<!--salutation-->\n<p>x</p>\n<p><!--unsubscribe--></p>\n",
    )
    text, page = bodies(send_one(message, unsubscribe_url="https://example.org/u"))
    assert "\n-- \nhttps://example.org/u" in text.replace("u \n", "u\n")
    assert '<p><a href="https://example.org/u"' in re.sub(r" +>", ">", page)


def slow_bodies(c, salutation: str, link: str) -> tuple[str, str]:
    """The recipient's text and HTML laid out whole, with no splicing and no padding."""
    text = layout_text(c, unsubscribe=True).replace(TEXT_URL_SLOT, link)
    if salutation:
        text = f"{salutation}\n\n{text}"
    greeting = f'<p style="margin:0 0 16px">{html.escape(salutation)}</p>\n' if salutation else ""
    anchor = f'<a href="{html.escape(link)}" style="color:inherit">{html.escape(link)}</a>'
    page = layout_html(c, unsubscribe=True)
    page = page.replace(SLOT + "\n", greeting).replace(HTML_URL_SLOT, anchor)
    return text, page


def unpadded(text: str, page: str) -> tuple[str, str]:
    """Without the alignment spaces splicing adds where no reader sees them.

    Text: at line ends. HTML: at line ends and starts (between tags) and
    before a tag's closing ``>``.
    """
    text = "\n".join(line.rstrip(" ") for line in text.split("\n"))
    page = re.sub(r" +>", ">", "\n".join(line.strip(" ") for line in page.split("\n")))
    return text, page


_local = st.text(st.sampled_from("abcxyzABZ0189!#$%&'*+/=?^_`{|}~-äö中文"), min_size=1, max_size=24)
_domains = st.sampled_from(["example.org", "example.com", "bücher.example", "a-b.example.net"])


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lang=st.sampled_from(LANGS),
    local=_local,
    domain=_domains,
    salutation=_names,
)
def test_spliced_bodies_decode_to_the_whole_layout_for_any_address_and_salutation(
    messages, contents, lang, local, domain, salutation
):
    from pressdist.mail.mime import address

    to = f"{local}@{domain}"
    data = send_one(messages[lang], to=to, salutation=salutation, unsubscribe_url=UNSUBSCRIBE_URL)
    link = own_link(address(to, "recipient"))
    expected = unpadded(*slow_bodies(contents[lang], salutation, link))
    text, page = bodies(data)
    assert unpadded(text, page) == expected


def test_preview_mail_shows_the_placeholder_recipients_unsubscribe_link(ws, tmp_path):
    from pressdist.mail.preview import PLACEHOLDER_ADDRESS, write_preview

    write_preview(ws, load_release(ws, RELEASE), tmp_path)
    configured = ws.config.send.unsubscribe_url
    for lang in LANGS:
        text, page = bodies((tmp_path / f"{RELEASE}.{lang}.eml").read_bytes())
        link = own_link(PLACEHOLDER_ADDRESS, configured)
        assert link in text and f'<a href="{html.escape(link)}"' in page


# Hostile values --------------------------------------------------------------------


def test_a_nul_in_a_translation_cannot_move_the_unsubscribe_line(messages, contents):
    from dataclasses import replace

    message, c = messages["en"], contents["en"]
    forged = "Click here:\n" + TEXT_URL_SLOT + "\nto read on."
    hostile = replace(c, paragraphs=(forged, *c.paragraphs), lead="A lead\x00 with a NUL")
    built = build(
        message.release_id,
        message.revision,
        message.language,
        message.subject,
        layout_text(hostile),
        layout_html(hostile),
        text_unsubscribe=layout_text(hostile, unsubscribe=True),
        html_unsubscribe=layout_html(hostile, unsubscribe=True),
    )
    text, _page = bodies(send_one(built, unsubscribe_url=UNSUBSCRIBE_URL))
    link = own_link("erika@example.com")
    assert "\x00" not in text and "A lead with a NUL" in text
    assert text.count(link) == 1
    before_link = text.split(link)[0]
    assert "to read on." in before_link and "Unsubscribe:" in before_link.split("-- ")[-1]


def test_a_name_with_direction_overrides_reaches_to_without_them(messages):
    name = "Erika \u202eMustermann\u202c \u2066Presse\u2069 \x1b[31m"
    data = send_one(messages["de"], to_name=name)
    shown = display_name(data)
    assert shown == "Erika Mustermann Presse [31m"
    assert not any(c in shown for c in BIDI_CONTROLS)


def test_a_name_of_100000_characters_is_cut_to_a_name_in_to(messages):
    data = send_one(messages["de"], to_name="Erika " * 20_000)
    msg = parse(data)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert len(head) < 2000
    assert max(len(line) for line in head.split(b"\r\n")) < 998
    assert msg["To"].addresses[0].addr_spec == "erika@example.com"
    assert len(display_name(data)) == mime.MAX_NAME
    assert display_name(data).endswith("…")


def test_a_subject_longer_than_a_mail_line_is_refused():
    build("x", "rev", "en", "S" * mime.MAX_SUBJECT, "text\n", "<p>x</p>\n")
    with pytest.raises(HeaderError, match="subject is 1,200,000 characters long"):
        build("x", "rev", "en", "Ü" * 1_200_000, "text\n", "<p>x</p>\n")


@pytest.mark.parametrize(
    "value",
    [
        "a@example.org, b@evil.example",
        "Presse <a@example.org>, Evil <b@evil.example>",
        "a@example.org;b@evil.example",
    ],
)
def test_a_sender_or_reply_to_of_several_addresses_is_refused_not_cut(value):
    with pytest.raises(HeaderError, match="holds 2 addresses; it must be one"):
        mime.split_mailbox(value, "sender")
    message = build("x", "rev", "en", "S", "text\n", "<p>x</p>\n")
    with pytest.raises(HeaderError, match="Reply-To"):
        send_one(message, reply_to=value)


def test_a_name_with_a_comma_still_gets_the_hint_to_quote_it():
    with pytest.raises(HeaderError, match="put the name in double quotes|quoted"):
        mime.split_mailbox("Presse, Stadt Mainz <presse@example.org>", "sender")
