"""Signed unsubscribe links: tokens that only this office can make, in every recipient's mail."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import html
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdist.errors import ConfigError, PressdistError
from pressdist.gateways.memory import MemoryGateway
from pressdist.mail import unsubscribe as unsub
from pressdist.mail.mime import HeaderError
from pressdist.mail.unsubscribe import (
    ExpiredToken,
    InvalidToken,
    Unsubscribe,
    UnsubscribeRequest,
    sign,
    verify,
)
from pressdist.sending import delivery
from pressdist.sending import plan as planning
from pressdist.workspace import Workspace, line_in_table

SECRET = b"0123456789abcdef-test-key"
DAY = dt.date(2026, 3, 1)
RELEASE = "2019-11-04-isa-foshan"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

_local = st.text(
    st.sampled_from("abcxyzABZ0189!#$%&'*+/=?^_`{|}~-.äöüß中文Ωé"), min_size=1, max_size=40
)
_domain = st.sampled_from(
    ["example.org", "bücher.example", "xn--bcher-kva.example", "例え.テスト", "straße.de"]
)
addresses = st.builds(lambda local, domain: f"{local}@{domain}", _local, _domain)
list_names = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
days = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2199, 6, 1))


# The token --------------------------------------------------------------------


@given(address=addresses, list_name=list_names, issued=days)
def test_a_signed_token_gives_back_its_address_list_and_day(address, list_name, issued):
    token = sign(SECRET, address, list_name, issued=issued)
    assert verify(SECRET, token, now=issued) == UnsubscribeRequest(address, list_name, issued)


@given(address=addresses, list_name=list_names)
def test_a_token_is_url_safe_as_it_is(address, list_name):
    token = sign(SECRET, address, list_name, issued=DAY)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)


@given(address=addresses, list_name=list_names, data=st.data())
def test_one_changed_character_anywhere_is_refused(address, list_name, data):
    token = sign(SECRET, address, list_name, issued=DAY)
    at = data.draw(st.integers(0, len(token) - 1))
    other = data.draw(st.sampled_from(ALPHABET.replace(token[at], "")))
    with pytest.raises(InvalidToken):
        verify(SECRET, token[:at] + other + token[at + 1 :], now=DAY)


@pytest.mark.parametrize("address", ["a@example.org", "ab@example.org", "abc@example.org"])
def test_every_other_character_at_every_place_is_refused(address):
    # All three lengths modulo 3: the last character of two of them has unused
    # bits, which would let two spellings decode to the same bytes.
    token = sign(SECRET, address, "presse", issued=DAY)
    for at, original in enumerate(token):
        for other in ALPHABET.replace(original, ""):
            with pytest.raises(InvalidToken):
                verify(SECRET, token[:at] + other + token[at + 1 :], now=DAY)


@given(address=addresses, data=st.data())
def test_a_token_cut_short_or_lengthened_is_refused(address, data):
    token = sign(SECRET, address, "presse", issued=DAY)
    cut = data.draw(st.integers(0, len(token) - 1))
    extra = data.draw(st.text(st.sampled_from(ALPHABET), min_size=1, max_size=4))
    for altered in (token[:cut], token + extra):
        with pytest.raises(InvalidToken):
            verify(SECRET, altered, now=DAY)


def test_a_token_of_another_secret_is_refused():
    token = sign(b"another key of the same length!", "anna@example.org", "presse", issued=DAY)
    with pytest.raises(InvalidToken, match="not issued by this press office"):
        verify(SECRET, token, now=DAY)


def _raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def test_another_address_under_a_genuine_signature_is_refused():
    token = sign(SECRET, "anna@example.org", "presse", issued=DAY)
    forged = _encode(_raw(token).replace(b"anna@", b"jens@"))
    assert forged != token
    with pytest.raises(InvalidToken):
        verify(SECRET, forged, now=DAY)


def test_the_signature_of_one_token_does_not_fit_another():
    anna = _raw(sign(SECRET, "anna@example.org", "presse", issued=DAY))
    jens = _raw(sign(SECRET, "jens@example.org", "presse", issued=DAY))
    with pytest.raises(InvalidToken):
        verify(SECRET, _encode(jens[:-16] + anna[-16:]), now=DAY)


def test_a_token_of_an_unknown_version_is_refused_even_when_signed():
    raw = _raw(sign(SECRET, "anna@example.org", "presse", issued=DAY))
    payload = bytes([2]) + raw[1:-16]
    with pytest.raises(InvalidToken):
        verify(SECRET, _encode(payload + unsub._mac(SECRET, payload)), now=DAY)


@pytest.mark.parametrize("token", ["", "=", "abc", "!" * 40, "A" * 2000, "ä" * 40, "AAAA=="])
def test_what_is_no_token_at_all_is_refused_as_invalid(token):
    with pytest.raises(InvalidToken):
        verify(SECRET, token, now=DAY)


def test_a_token_expires_after_max_age_days_and_still_says_whom_it_meant():
    token = sign(SECRET, "anna@example.org", "presse", issued=DAY)
    last = DAY + dt.timedelta(days=unsub.DEFAULT_MAX_AGE_DAYS)
    assert verify(SECRET, token, now=last).address == "anna@example.org"
    with pytest.raises(ExpiredToken) as exc:
        verify(SECRET, token, now=last + dt.timedelta(days=1))
    assert isinstance(exc.value, PressdistError) and exc.value.hint
    assert exc.value.request == UnsubscribeRequest("anna@example.org", "presse", DAY)
    with pytest.raises(ExpiredToken):
        verify(SECRET, token, now=DAY + dt.timedelta(days=8), max_age_days=7)
    far = DAY + dt.timedelta(days=20_000)
    assert verify(SECRET, token, now=far, max_age_days=None).list_name == "presse"


def test_the_default_age_is_two_years():
    assert unsub.DEFAULT_MAX_AGE_DAYS == 730


def test_a_typical_token_is_short_and_the_longest_fits_a_header_line():
    typical = sign(SECRET, "erika.mustermann@example.com", "presse", issued=DAY)
    assert len(typical) <= 80
    longest = sign(SECRET, "a" * 64 + "@" + "b" * 185 + ".org", "l" * 255, issued=DAY)
    links = Unsubscribe(
        "https://example.org/abmelden?t={token}", "abmelden@example.org", SECRET, DAY
    )
    header = unsub_header(links, "a" * 64 + "@" + "b" * 185 + ".org", "l" * 255)
    assert longest in header
    assert max(len(line) for line in header.split("\r\n")) <= 998  # RFC 5322 2.1.1


def unsub_header(links: Unsubscribe, address: str, list_name: str) -> str:
    from pressdist.mail import mime

    return mime.unsubscribe_headers(links.links(address, list_name), links.one_click)


@pytest.mark.parametrize(
    ("address", "list_name"), [("", "presse"), ("a@b.org", "x" * 256), ("a" * 255, "")]
)
def test_sign_refuses_what_a_token_cannot_hold(address, list_name):
    with pytest.raises(ValueError):
        sign(SECRET, address, list_name, issued=DAY)


def test_sign_and_verify_refuse_an_empty_secret():
    with pytest.raises(ValueError):
        sign(b"", "anna@example.org", "presse")
    with pytest.raises(ValueError):
        verify(b"", sign(SECRET, "anna@example.org", "presse"))


# The links of a run -------------------------------------------------------------


def test_the_url_and_the_mailto_carry_the_same_token_for_the_recipient_and_list():
    links = Unsubscribe(
        "https://example.org/abmelden?t={token}", "mailto:abmelden@example.org", SECRET, DAY
    )
    url, mailto = links.links("zoë@bücher.example", "presse")
    token = parse_qs(urlsplit(url).query)["t"][0]
    assert url == f"https://example.org/abmelden?t={token}"
    assert mailto == f"mailto:abmelden@example.org?subject=unsubscribe%20{token}"
    expected = UnsubscribeRequest("zoë@bücher.example", "presse", DAY)
    assert verify(SECRET, token, now=DAY) == expected
    subject = unquote(parse_qs(urlsplit(mailto).query, keep_blank_values=True)["subject"][0])
    assert verify(SECRET, subject.removeprefix(unsub.MAILTO_SUBJECT), now=DAY) == expected


def test_without_a_secret_the_email_url_and_the_plain_mailto_are_as_before():
    links = Unsubscribe("https://example.org/u?e={email}", "abmelden@example.org")
    assert links.links("a+b@example.com") == (
        "https://example.org/u?e=a%2Bb%40example.com",
        "mailto:abmelden@example.org",
    )


def test_a_token_url_without_a_secret_is_refused():
    with pytest.raises(HeaderError, match="secret"):
        Unsubscribe("https://example.org/u?t={token}")


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "https://example.org/u?t={tokn}", "https://example.org/a>,<b"],
)
def test_an_unusable_url_is_refused_by_the_value_too(url):
    with pytest.raises(HeaderError):
        Unsubscribe(url, secret=SECRET)


def test_one_click_is_offered_only_for_an_https_url():
    assert Unsubscribe("https://example.org/u", secret=SECRET).one_click
    assert not Unsubscribe("http://127.0.0.1:8025/u?t={token}", secret=SECRET).one_click
    assert not Unsubscribe(mailto="abmelden@example.org", secret=SECRET).one_click


def test_the_secret_is_not_in_the_values_repr():
    assert "0123456789abcdef" not in repr(Unsubscribe("https://example.org/u", secret=SECRET))


# In the mail: the whole run -------------------------------------------------------

LIST = """email,name,language
anna@example.org,Anna Becker,de
james@example.com,James Holloway,en
li@example.com,Li Wei,zh_CN
zoë@bücher.example,Zoë Brandt,de
"""


def _configure(root: Path, send: str) -> None:
    cfg = root / "pressdist.toml"
    text = re.sub(r"(?m)^unsubscribe_url = .*\n", "", cfg.read_text("utf-8"))
    cfg.write_text(text.replace("[send]\n", "[send]\n" + send, 1), encoding="utf-8")
    (root / "recipients" / "test.csv").write_text(LIST, encoding="utf-8")


TOKEN_SETTINGS = (
    'unsubscribe_url = "https://presse.example.org/abmelden?t={token}"\n'
    'unsubscribe_mailto = "abmelden@example.org"\n'
    'unsubscribe_secret_env = "PRESSDIST_TEST_UNSUBSCRIBE_SECRET"\n'
)


@pytest.fixture
def token_ws(example_workspace: Path, monkeypatch) -> Workspace:
    _configure(example_workspace, TOKEN_SETTINGS)
    monkeypatch.setenv("PRESSDIST_TEST_UNSUBSCRIBE_SECRET", SECRET.decode())
    return Workspace.open(example_workspace)


def _sent(ws: Workspace) -> list[email.message.EmailMessage]:
    gateway = MemoryGateway()
    report = delivery.run(planning.plan(ws, RELEASE, ["test"], gateway=gateway))
    assert not report.failures
    return [
        email.message_from_string(e.data.decode("utf-8"), policy=email.policy.default)
        for e in gateway.delivered
    ]


def _token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["t"][0]


def test_every_mail_carries_its_recipients_own_token_in_headers_text_and_html(token_ws):
    found = _sent(token_ws)
    assert len(found) == 4
    tokens = set()
    for msg in found:
        assert not msg.defects
        to = msg["To"].addresses[0].addr_spec
        header = str(msg["List-Unsubscribe"])
        url, mailto = re.fullmatch(r"<([^>]+)>, <([^>]+)>", header).groups()
        token = _token_of(url)
        assert verify(SECRET, token).address == to
        assert verify(SECRET, token).list_name == "test"
        assert mailto == f"mailto:abmelden@example.org?subject=unsubscribe%20{token}"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = msg.get_body(("plain",)).get_content()
        page = msg.get_body(("html",)).get_content()
        assert url in text.split("-- ")[-1]
        hrefs = re.findall(r'<a href="([^"]*)"', page)
        assert html.escape(url) in hrefs
        tokens.add(token)
    assert len(tokens) == 4  # nobody's link works for another


def test_a_missing_secret_variable_stops_the_plan_at_its_line_naming_it(token_ws, monkeypatch):
    monkeypatch.delenv("PRESSDIST_TEST_UNSUBSCRIBE_SECRET")
    with pytest.raises(ConfigError) as exc:
        planning.plan(token_ws, RELEASE, ["test"], gateway=MemoryGateway())
    text = token_ws.config.path.read_text("utf-8")
    assert exc.value.line == line_in_table(text, ("send",), "unsubscribe_secret_env")
    assert exc.value.path == token_ws.config.path
    assert "PRESSDIST_TEST_UNSUBSCRIBE_SECRET" in exc.value.message


@pytest.mark.parametrize("value", ["", "kurz-aber-geheim"[:15]])
def test_an_empty_or_short_secret_stops_the_plan_and_is_never_shown(token_ws, monkeypatch, value):
    monkeypatch.setenv("PRESSDIST_TEST_UNSUBSCRIBE_SECRET", value)
    with pytest.raises(ConfigError) as exc:
        planning.plan(token_ws, RELEASE, ["test"], gateway=MemoryGateway())
    said = f"{exc.value} {exc.value.hint}"
    assert "PRESSDIST_TEST_UNSUBSCRIBE_SECRET" in said
    assert not value or value not in said


def test_a_preview_needs_no_secret(token_ws, monkeypatch, tmp_path):
    from pressdist.mail.preview import PLACEHOLDER_ADDRESS, write_preview
    from pressdist.source.release import load_release

    monkeypatch.delenv("PRESSDIST_TEST_UNSUBSCRIBE_SECRET")
    write_preview(token_ws, load_release(token_ws, RELEASE), tmp_path)
    data = (tmp_path / f"{RELEASE}.de.eml").read_bytes()
    msg = email.message_from_bytes(data, policy=email.policy.default)
    url = re.match(r"<([^>]+)>", str(msg["List-Unsubscribe"])).group(1)
    assert verify(b"preview-only-key", _token_of(url)).address == PLACEHOLDER_ADDRESS


def test_email_links_still_work_and_are_reported_as_forgeable(example_workspace):
    ws = Workspace.open(example_workspace)
    (example_workspace / "recipients" / "test.csv").write_text(LIST, encoding="utf-8")
    found = unsub.forgeable_link(ws)
    assert found is not None and found.level == "warning"
    text = ws.config.path.read_text("utf-8")
    assert found.line == line_in_table(text, ("send",), "unsubscribe_url")
    assert "{token}" in found.hint and "unsubscribe_secret_env" in found.hint
    for msg in _sent(ws):
        to = msg["To"].addresses[0].addr_spec
        url = re.match(r"<([^>]+)>", str(msg["List-Unsubscribe"])).group(1)
        assert unquote(parse_qs(urlsplit(url).query)["adresse"][0]) == to


def test_token_links_are_not_reported_as_forgeable(token_ws):
    assert unsub.forgeable_link(token_ws) is None
