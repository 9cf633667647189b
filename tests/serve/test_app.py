"""The unsubscribe endpoint's rules, through Starlette's ASGI test client."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import pressdist
from pressdist.errors import ConfigError
from pressdist.mail.unsubscribe import sign
from pressdist.serve import app as serve_app
from pressdist.serve.app import Endpoint, create_app

SECRET = b"serve-test-secret-0123456789"
PERSON = "li.wei@example.com"
ONE_CLICK = {"content": b"List-Unsubscribe=One-Click"}


def _configure(root: Path, url: str) -> None:
    config = root / "pressdist.toml"
    text = re.sub(r"(?m)^unsubscribe_url = .*$", "", config.read_text("utf-8"))
    text = text.replace(
        "[send]\n",
        f'[send]\nunsubscribe_url = "{url}"\nunsubscribe_secret_env = "PD_SERVE_SECRET"\n',
    )
    config.write_text(text, "utf-8")


@pytest.fixture
def ws(example_workspace: Path, monkeypatch):
    _configure(example_workspace, "https://presse.example.org/abmelden?t={token}")
    monkeypatch.setenv("PD_SERVE_SECRET", SECRET.decode())
    return pressdist.open_workspace(example_workspace)


@pytest.fixture
def client(ws):
    return TestClient(create_app(ws, secret=SECRET))


def held(ws) -> list[tuple[str, str, str]]:
    return [(r.address, r.scope, r.reason) for r in pressdist.suppressions(ws).rows]


def test_one_click_suppresses_for_the_tokens_list_and_repeating_changes_nothing(ws, client):
    token = sign(SECRET, PERSON, "presse")
    for _ in range(2):
        answer = client.post(f"/abmelden?t={token}", **ONE_CLICK)
        assert answer.status_code == 200 and answer.text == "unsubscribed"
    assert held(ws) == [(PERSON, "presse", "unsubscribed")]
    assert pressdist.suppressions(ws).lookup(PERSON, "presse").source == "one-click (RFC 8058)"


@pytest.mark.parametrize(
    ("accept", "lang", "question"),
    [
        ("de-DE,de;q=0.9", "de", "Keine Pressemitteilungen"),
        ("en-GB,en;q=0.8", "en", "Stop sending press releases"),
        ("zh-CN,zh;q=0.9,en;q=0.5", "zh-CN", "不再向"),
        ("fr;q=1, en;q=0.2", "en", "Stop sending"),
        ("en;q=0.3, de;q=0.9", "de", "Keine Pressemitteilungen"),
        ("", "zh-CN", "不再向"),  # none asked for: the language of their row on the list
        ("fr", "zh-CN", "不再向"),
    ],
)
def test_the_page_asks_in_the_readers_language(client, accept, lang, question) -> None:
    token = sign(SECRET, PERSON, "presse")
    page = client.get(f"/abmelden?t={token}", headers={"Accept-Language": accept})
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text and question in page.text
    assert 'name="scope" value="list"' in page.text and 'name="scope" value="all"' in page.text
    assert "<script" not in page.text and page.headers["cache-control"] == "no-store"


def test_the_pages_all_lists_button_suppresses_everywhere(ws, client) -> None:
    token = sign(SECRET, PERSON, "presse")
    done = client.post(
        f"/abmelden?t={token}", data={"scope": "all"}, headers={"Accept-Language": "en"}
    )
    assert done.status_code == 200 and "no more press releases" in done.text
    assert held(ws) == [(PERSON, "*", "unsubscribed")]


def test_a_forged_token_gets_400_and_writes_nothing(ws, client) -> None:
    token = sign(SECRET, PERSON, "presse")
    changed = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    other = sign(b"another-secret-0123456789", PERSON, "presse")
    for bad in (changed, other, "", "not-a-token"):
        assert client.get(f"/abmelden?t={bad}").status_code == 400
        page = client.post(f"/abmelden?t={bad}", **ONE_CLICK)
        assert page.status_code == 400 and "nicht gültig" in page.text
    assert held(ws) == [] and not (ws.root / "suppressed.csv").exists()


def test_a_request_without_a_choice_is_refused(ws, client) -> None:
    token = sign(SECRET, PERSON, "presse")
    assert client.post(f"/abmelden?t={token}", data={"scope": "everything"}).status_code == 400
    assert held(ws) == []


def test_a_large_body_is_refused_unread(ws, client) -> None:
    token = sign(SECRET, PERSON, "presse")
    answer = client.post(f"/abmelden?t={token}", content=b"x" * (serve_app.MAX_BODY + 1))
    assert answer.status_code == 413 and held(ws) == []


def test_one_client_gets_a_limited_number_of_requests(ws, monkeypatch) -> None:
    monkeypatch.setattr(serve_app, "RATE_PER_MINUTE", 3)
    limited = TestClient(create_app(ws, secret=SECRET))
    token = sign(SECRET, PERSON, "presse")
    codes = [limited.get(f"/abmelden?t={token}").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_health_answers_for_monitoring(client) -> None:
    answer = client.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


def test_the_token_may_be_a_path_segment() -> None:
    assert Endpoint.of("https://x.example/abmelden/{token}") == Endpoint("/abmelden/{token}", None)
    assert Endpoint.of("https://x.example/a?x=1&t={token}") == Endpoint("/a", "t")
    with pytest.raises(ConfigError, match="no \\{token\\}"):
        Endpoint.of("https://x.example/a?adresse={email}")


def test_requests_are_logged_without_the_address(ws, client, caplog) -> None:
    token = sign(SECRET, PERSON, "presse")
    with caplog.at_level("INFO", logger="pressdist.serve"):
        client.get(f"/abmelden?t={token}")
        client.post(f"/abmelden?t={token}", **ONE_CLICK)
    assert len(caplog.records) == 2
    assert all(PERSON not in r.getMessage() and token not in r.getMessage() for r in caplog.records)


def test_a_reader_not_on_the_tokens_list_gets_the_source_language(client) -> None:
    token = sign(SECRET, "nobody@example.org", "presse")
    page = client.get(f"/abmelden?t={token}")
    assert page.status_code == 200 and '<html lang="de">' in page.text
