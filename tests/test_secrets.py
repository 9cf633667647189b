"""Secrets: read from the environment the one way, and never seen again in any text."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pressdist import secrets
from pressdist.secrets import MASK, SecretError, Secrets, from_environment, redact

_secrets = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=8, max_size=40)
_around = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_users = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


def encodings(secret: str, user: str) -> list[str]:
    """Every form a secret travels in: itself, percent-encoded, base64 alone, as HTTP
    Basic's ``user:secret``, as AUTH PLAIN's ``\\0user\\0secret``, also URL-safe."""
    raw, who = secret.encode(), user.encode()
    packed = [raw, who + b":" + raw, b"\0" + who + b"\0" + raw]
    out = [secret, quote(secret, safe="")]
    for data in packed:
        out += [base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()]
    return out


@settings(max_examples=300, deadline=None)
@given(secret=_secrets, user=_users, before=_around, after=_around, pick=st.integers(0, 7))
def test_no_form_of_a_secret_survives_redaction_whatever_stands_around_it(
    secret, user, before, after, pick
):
    known = Secrets()
    known.add(secret)
    forms = encodings(secret, user)
    text = before + forms[pick] + after
    out = known.redact(text)
    for form in forms:
        assert form not in out


@settings(max_examples=200, deadline=None)
@given(first=_secrets, second=_secrets, text=_around)
def test_several_secrets_are_all_redacted(first, second, text):
    known = Secrets()
    known.add(first)
    known.add(second)
    out = known.redact(f"{text} {first} {text} {second}")
    assert first not in out and second not in out


def test_text_without_a_secret_is_left_as_it_is():
    known = Secrets()
    known.add("tok-0815-abcdefgh")
    text = "503 Service Unavailable: try again in 30 s (request id 4711)"
    assert known.redact(text) == text


def test_a_secret_the_mask_would_complete_is_still_hidden():
    known = Secrets()
    known.add("D]")
    assert "D]" not in known.redact("xD]y D]")


def test_the_mask_is_no_rich_markup_tag():
    # "[secret]" would be read as a style and vanish from the terminal.
    assert not MASK[1].islower()


def test_a_password_in_a_url_is_masked_even_if_unknown():
    out = redact("cannot connect to https://api:hunter2@mail.example.org/v3")
    assert "hunter2" not in out and "https://api:" in out and "@mail.example.org/v3" in out
    assert redact("https://example.org:8443/a@b") == "https://example.org:8443/a@b"


def test_a_final_newline_of_a_secret_file_is_dropped(monkeypatch):
    monkeypatch.setenv("PRESSDIST_TEST_TOKEN", "tok-from-a-file\n")
    assert from_environment("PRESSDIST_TEST_TOKEN", "gateways.api.token_env") == "tok-from-a-file"
    monkeypatch.setenv("PRESSDIST_TEST_TOKEN", "tok-from-windows\r\n")
    assert from_environment("PRESSDIST_TEST_TOKEN", "x") == "tok-from-windows"


@pytest.mark.parametrize(
    "value", ["qx7-with\nnewline", "qx7\r\nfolded", "qx7-twice\n\n", "qx7\x1b[2Jesc", "qx7\ttab"]
)
def test_other_control_characters_are_refused_naming_the_variable_only(monkeypatch, value):
    monkeypatch.setenv("PRESSDIST_TEST_TOKEN", value)
    with pytest.raises(SecretError) as err:
        from_environment("PRESSDIST_TEST_TOKEN", "gateways.api.token_env")
    said = err.value.message + err.value.hint
    assert "PRESSDIST_TEST_TOKEN" in said and "gateways.api.token_env" in said
    assert "qx7" not in said


def test_a_secret_read_is_redacted_from_then_on(monkeypatch):
    monkeypatch.setenv("PRESSDIST_TEST_TOKEN", "tok-remembered-0815")
    assert "tok-remembered-0815" in redact("echo: tok-remembered-0815")
    from_environment("PRESSDIST_TEST_TOKEN", "x")
    assert redact("echo: tok-remembered-0815") == f"echo: {MASK}"
    secrets.forget_all()
    assert redact("echo: tok-remembered-0815") == "echo: tok-remembered-0815"


def test_an_unset_variable_is_named_when_it_looks_like_one(monkeypatch):
    monkeypatch.delenv("PRESSDIST_TEST_UNSET", raising=False)
    with pytest.raises(SecretError) as err:
        from_environment("PRESSDIST_TEST_UNSET", "inbox.password_env", export_hint=" first")
    assert "PRESSDIST_TEST_UNSET" in err.value.message
    assert "export PRESSDIST_TEST_UNSET=... first" in err.value.hint


@pytest.mark.parametrize("pasted", ["Sommer2024", "hunter2", "geheimesPasswort", "Xk9QZ2M7"])
def test_a_password_pasted_in_place_of_the_variable_name_is_never_repeated(monkeypatch, pasted):
    monkeypatch.delenv(pasted, raising=False)
    with pytest.raises(SecretError) as err:
        from_environment(pasted, "gateways.office.password_env")
    assert pasted not in err.value.message + err.value.hint
    assert "gateways.office.password_env" in err.value.message
