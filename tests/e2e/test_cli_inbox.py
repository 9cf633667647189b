"""`pressdist inbox` end to end: real bounces from a real Postfix, read from a Maildir or IMAP.

The session's Postfix (tests/mailservers.py) takes the release for two known
users and bounces everyone else at its domain with a real DSN to the
delivery's own VERP address, which lands in the Maildir that the session's
Dovecot serves as its INBOX. `pressdist inbox` reads that Maildir directly, or
through Dovecot over verified TLS, and exactly the unknown users end up
bounced in the journal and suppressed, so the next send skips them.
"""

from __future__ import annotations

import csv
import email
import email.policy
import json
from pathlib import Path

import pytest
from mailservers import wait_for_mails

pytestmark = pytest.mark.e2e

RELEASE = "2019-11-04-isa-foshan"
SECRET = "ein-langer-zufaelliger-schluessel-fuer-den-test"
UNKNOWN = ("ehemals", "weggezogen", "tippfehler")
ENV = {"PRESSDIST_UNSUBSCRIBE_SECRET": SECRET}


def configure(root: Path, postfix, inbox: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The example workspace sending to the test's Postfix with a VERP bounce address."""
    known = [postfix.address(u) for u in postfix.known_users]
    unknown = [postfix.address(u) for u in UNKNOWN]
    rows = ["email,name,language", *(f"{a},Leser {i},de" for i, a in enumerate(known + unknown))]
    (root / "recipients" / "postfix.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = root / "pressdist.toml"
    text = config.read_text(encoding="utf-8").replace(
        'unsubscribe_url = "https://example.org/presse/abmelden?adresse={email}"\n',
        'unsubscribe_url = "https://example.org/presse/abmelden?t={token}"\n'
        'unsubscribe_mailto = "abmelden@example.org"\n'
        'unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET"\n'
        f'bounce_address = "{postfix.bounce_user}@{postfix.domain}"\n',
    )
    text += (
        f'\n[gateways.postfix]\ntype = "smtp"\nhost = "127.0.0.1"\nport = {postfix.port}\n'
        f'security = "none"\n\n[inbox]\n{inbox}\n'
    )
    config.write_text(text, encoding="utf-8")
    return unknown


def send(cli, root: Path):  # type: ignore[no-untyped-def]
    return cli(
        "send", RELEASE, "--list", "postfix", "--gateway", "postfix", "--yes", "--resend",
        cwd=root, env=ENV,
    )  # fmt: skip


def bounced_and_suppressed(cli, root: Path) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    log = cli("log", RELEASE, "--bounced", "--json", cwd=root, env=ENV)
    assert log.code == 0, log.output
    bounced = {row["address"] for row in json.loads(log.stdout) if row["state"] == "bounced"}
    with (root / "suppressed.csv").open(encoding="utf-8") as fh:
        suppressed = {row["address"] for row in csv.DictReader(fh) if row["reason"] == "bounced"}
    return bounced, suppressed


def run_inbox_and_check(cli, root: Path, unknown: list[str], bounces: Path) -> None:  # type: ignore[no-untyped-def]
    dry = cli("inbox", "--dry-run", cwd=root, env=ENV)
    assert dry.code == 0, dry.output
    assert "Dry run" in dry.stdout and not (root / "suppressed.csv").exists()
    assert "would mark bounced, would suppress on every list" in dry.stdout

    result = cli("inbox", cwd=root, env=ENV)
    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    for address in unknown:
        assert address in result.stdout
    bounced, suppressed = bounced_and_suppressed(cli, root)
    assert bounced == suppressed == set(unknown)
    # The DSNs are moved out of the inbox, none deleted.
    assert not list((bounces / "new").iterdir()) and not list((bounces / "cur").iterdir())
    processed = bounces / ".pressdist.processed"
    moved = [p for sub in ("new", "cur") for p in (processed / sub).iterdir()]
    assert len(moved) == len(unknown), sorted(str(p) for p in bounces.rglob("*"))

    before = (root / "suppressed.csv").read_bytes()
    again = cli("inbox", cwd=root, env=ENV)
    assert again.code == 0, again.output
    assert "Nothing new" in again.stdout
    assert (root / "suppressed.csv").read_bytes() == before
    assert bounced_and_suppressed(cli, root) == (bounced, suppressed)

    report = cli("report", RELEASE, "--json", cwd=root, env=ENV)
    assert sum(line["bounced"] for line in json.loads(report.stdout)["lines"]) == len(unknown)
    check = cli("recipients", "check", "postfix", cwd=root, env=ENV)
    for address in unknown:
        assert f"bounced: {address}" in check.stdout

    # The next send skips exactly them.
    next_send = send(cli, root)
    assert next_send.code == 0, next_send.output
    assert "3 suppressed" in next_send.stdout and "3 bounced" in next_send.stdout


def unknown_users_bounce(cli, root: Path, postfix, unknown: list[str]) -> Path:  # type: ignore[no-untyped-def]
    bounces = postfix.store.empty(postfix.bounce_user)
    result = send(cli, root)
    assert result.code == 0, result.output
    dsns = wait_for_mails(bounces, len(unknown), deadline=60)
    assert len(dsns) == len(unknown)
    for path in dsns:
        dsn = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert dsn.get_content_type() == "multipart/report"
        assert dsn["Delivered-To"].startswith(f"{postfix.bounce_user}+")
    return bounces


def test_postfix_bounces_read_from_the_maildir_mark_and_suppress_exactly_the_unknown(
    cli, example_workspace, postfix
):
    bounces = postfix.maildir(postfix.bounce_user)
    unknown = configure(example_workspace, postfix, f'path = "{bounces}"')
    unknown_users_bounce(cli, example_workspace, postfix, unknown)
    run_inbox_and_check(cli, example_workspace, unknown, bounces)


def test_postfix_bounces_read_over_imap_from_dovecot(
    cli, example_workspace, postfix, dovecot_inbox
):
    dovecot = dovecot_inbox
    assert dovecot.maildir == postfix.maildir(postfix.bounce_user)
    unknown = configure(
        example_workspace,
        postfix,
        f'host = "127.0.0.1"\nport = {dovecot.port}\nsecurity = "tls"\n'
        f'username = "{dovecot.user}"\npassword_env = "PRESSDIST_INBOX_PASSWORD"\n'
        f'ca_file = "{dovecot.ca_file}"',
    )
    ENV["PRESSDIST_INBOX_PASSWORD"] = dovecot.password
    try:
        bounces = unknown_users_bounce(cli, example_workspace, postfix, unknown)
        run_inbox_and_check(cli, example_workspace, unknown, bounces)
        wrong = cli(
            "inbox", cwd=example_workspace, env={**ENV, "PRESSDIST_INBOX_PASSWORD": "falsch"}
        )
        assert wrong.code == 3, wrong.output
        assert "refused" in wrong.output and "falsch" not in wrong.output
        assert "Traceback" not in wrong.output
    finally:
        del ENV["PRESSDIST_INBOX_PASSWORD"]


def test_a_mailbox_that_cannot_be_reached_is_one_line_and_exit_3(cli, example_workspace, postfix):
    from mailservers import free_port

    configure(
        example_workspace,
        postfix,
        f'host = "127.0.0.1"\nport = {free_port()}\nusername = "presse"\n'
        'password_env = "PRESSDIST_INBOX_PASSWORD"',
    )
    result = cli("inbox", cwd=example_workspace, env={**ENV, "PRESSDIST_INBOX_PASSWORD": "x"})
    assert result.code == 3, result.output
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) <= 2  # the line and its hint


# A mailbox of everything that comes back, read from a local Maildir ---------------------

DATA = Path(__file__).resolve().parent.parent / "data" / "inbox"
QUOTED_ID = b"7c41d2e09a3b.de.4f0e9d2c7b6a5e3f1d8c0b2a@example.org"  # what the samples quote


def sent_mails(root: Path) -> dict[str, tuple[str, str]]:
    """Recipient -> (bounce token, Message-ID) of each mail the outbox holds."""
    from pressdist.mail.verp import BounceAddress

    bounce = BounceAddress("presse-bounces@example.org", SECRET.encode())
    out = {}
    for path in (root / "outbox" / "new").iterdir():
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        token = bounce.token_of(mail["Return-Path"])
        assert token, mail["Return-Path"]
        out[mail["To"].addresses[0].addr_spec] = (token, mail["Message-ID"].strip("<>"))
    return out


def returned_mail(name: str, token: str = "", message_id: str = "", unsubscribe: str = "") -> bytes:
    data = (DATA / name).read_bytes().replace(b"{{token}}", token.encode())
    data = data.replace(b"{{unsubscribe_token}}", unsubscribe.encode())
    return data.replace(QUOTED_ID, message_id.encode()) if message_id else data


def test_one_mailbox_of_everything_that_comes_back(cli, example_workspace):
    from pressdist.mail import unsubscribe, verp

    root = example_workspace
    config = root / "pressdist.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            'unsubscribe_url = "https://example.org/presse/abmelden?adresse={email}"\n',
            'unsubscribe_url = "https://example.org/presse/abmelden?t={token}"\n'
            'unsubscribe_mailto = "abmelden@example.org"\n'
            'unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET"\n'
            'bounce_address = "presse-bounces@example.org"\n',
        )
        + '\n[inbox]\npath = "bounces"\nsoft_bounce_limit = 2\n',
        encoding="utf-8",
    )
    sent = cli("send", RELEASE, "--list", "presse", "--yes", "--allow-fallback", cwd=root, env=ENV)
    assert sent.code == 0, sent.output
    mails = sent_mails(root)
    hard, soft, complainer, leaver = sorted(mails)[:4]
    ghost = verp.BounceAddress("presse-bounces@example.org", SECRET.encode()).sender(
        "0123456789ab.de.0123456789abcdef01234567@example.org"
    )
    box = root / "bounces"
    for sub in ("tmp", "new", "cur"):
        (box / sub).mkdir(parents=True)
    inbox = {
        "hard": returned_mail("dsn-postfix-5.1.1.eml", *mails[hard]),
        "soft": returned_mail("dsn-postfix-4.2.2.eml", *mails[soft]),
        "complaint": returned_mail("arf-abuse.eml", *mails[complainer]),
        "unsubscribe": returned_mail(
            "unsubscribe-token.eml", unsubscribe=unsubscribe.sign(SECRET.encode(), leaver, "presse")
        ),
        "forged": returned_mail(
            "unsubscribe-token.eml",
            unsubscribe=unsubscribe.sign(b"someone else's key, long enough", leaver, "presse"),
        ),
        "ooo-de": returned_mail("ooo-de.eml", mails[hard][0]),
        "ooo-zh": returned_mail("ooo-zh.eml"),
        "journalist": returned_mail("journalist-reply.eml"),
        "broken": returned_mail("dsn-broken.eml", *mails[hard]),
        "ghost": returned_mail("dsn-postfix-5.1.1.eml", ghost.split("+")[1].split("@")[0]),
    }
    for name, data in inbox.items():
        (box / "new" / f"1764600000.{name}.host").write_bytes(data)

    result = cli("inbox", cwd=root, env=ENV)
    assert result.code == 1, result.output  # forged, broken and ghost need a person
    assert "Traceback" not in result.output
    log = json.loads(cli("log", RELEASE, "--json", cwd=root, env=ENV).stdout)
    states = {row["address"]: row["state"] for row in log}
    assert (states[hard], states[soft], states[complainer]) == (
        "bounced",
        "soft-bounced",
        "complained",
    )
    assert sum(s != "sent" for s in states.values()) == 3
    with (root / "suppressed.csv").open(encoding="utf-8") as fh:
        rows = {(r["address"], r["scope"], r["reason"]) for r in csv.DictReader(fh)}
    assert rows == {
        (hard, "*", "bounced"),
        (complainer, "*", "complained"),
        (leaver, "presse", "unsubscribed"),
    }
    left = sorted(p.name.split(".")[1] for p in (box / "new").iterdir())
    assert left == ["broken", "forged", "ghost", "journalist"]
    processed = box / ".pressdist.processed"
    moved = sorted(
        p.name.split(".")[1] for sub in ("new", "cur") for p in (processed / sub).iterdir()
    )
    assert moved == ["complaint", "hard", "ooo-de", "ooo-zh", "soft", "unsubscribe"]
    for words in ("not valid", "does not hold", "without a recipient's status"):
        assert words in result.stdout

    before = (root / "suppressed.csv").read_bytes(), log
    again = cli("inbox", cwd=root, env=ENV)
    assert again.code == 0, again.output
    assert "4 mails read before" in again.stdout and "4 of them still waiting" in again.stdout
    after = json.loads(cli("log", RELEASE, "--json", cwd=root, env=ENV).stdout)
    assert ((root / "suppressed.csv").read_bytes(), after) == before
