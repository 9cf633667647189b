"""Bounce-address tokens: they name one delivery and cannot be made without the key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdist.mail import verp
from pressdist.mail.identity import message_id

KEY = b"sechzehn-bytes-und-mehr"
revisions = st.text(alphabet="0123456789abcdef", min_size=12, max_size=12)
keys = st.emails().map(str.lower)
languages = st.sampled_from(["de", "en", "zh_CN"])


@given(revision=revisions, language=languages, key=keys)
def test_a_token_names_exactly_its_delivery(revision: str, language: str, key: str) -> None:
    mid = message_id(revision, language, key, "example.org")
    ref = verp.verify(KEY, verp.token(KEY, mid))
    assert ref.revision == revision and ref.matches(mid)
    other = message_id(revision, language, key + "x", "example.org")
    assert not ref.matches(other)


@given(revision=revisions, key=keys, data=st.data())
def test_any_changed_character_is_refused(revision: str, key: str, data: st.DataObject) -> None:
    token = verp.token(KEY, message_id(revision, "de", key, "example.org"))
    i = data.draw(st.integers(0, len(token) - 1))
    new = data.draw(
        st.sampled_from("abcdefghijklmnopqrstuvwxyz234567").filter(lambda c: c != token[i])
    )
    with pytest.raises(verp.InvalidBounceToken):
        verp.verify(KEY, token[:i] + new + token[i + 1 :])


@given(revision=revisions, key=keys)
def test_a_token_of_another_key_is_refused(revision: str, key: str) -> None:
    token = verp.token(b"ein ganz anderer schluessel", message_id(revision, "de", key, "x.org"))
    with pytest.raises(verp.InvalidBounceToken):
        verp.verify(KEY, token)


def test_a_mail_server_that_changes_case_does_not_break_the_token() -> None:
    mid = message_id("0123456789ab", "en", "anna@example.org", "example.org")
    token = verp.token(KEY, mid)
    assert verp.verify(KEY, token.upper()).matches(mid)


@given(local=st.from_regex(r"[a-z][a-z0-9.\-]{0,25}", fullmatch=True), key=keys)
def test_every_bounce_address_stays_within_64_octets(local: str, key: str) -> None:
    bounce = verp.BounceAddress(f"{local}@example.org", KEY)
    mid = message_id("0123456789ab", "de", key, "example.org")
    sender = bounce.sender(mid)
    assert len(sender.rpartition("@")[0]) <= 64
    assert bounce.token_of(sender) == verp.token(KEY, mid)
    assert bounce.token_of(sender.upper()) is not None


def test_a_test_copy_goes_out_with_the_bare_bounce_address() -> None:
    bounce = verp.BounceAddress("presse-bounces@example.org", KEY)
    mid = "test.18f3." + message_id("0123456789ab", "de", "a@example.org", "example.org")
    assert bounce.sender(mid) == "presse-bounces@example.org"
    assert bounce.token_of("presse-bounces@example.org") is None


@pytest.mark.parametrize(
    ("address", "token"),
    [
        ("presse@example.org", None),
        ("presse-bounces+x@example.com", None),
        ("presse-bouncesx@example.org", None),
        ("nobody", None),
        ("<Presse-Bounces+abc@EXAMPLE.org>", "abc"),
    ],
)
def test_only_our_bounce_address_yields_a_token(address: str, token: str | None) -> None:
    assert verp.BounceAddress("presse-bounces@example.org", KEY).token_of(address) == token
