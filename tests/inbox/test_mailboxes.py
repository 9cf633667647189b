"""Reading the office's mailbox: a local Maildir or mbox file, IMAP against a real Dovecot.

The IMAP tests talk TLS to the session's Dovecot (tests/mailservers.py), whose
INBOX is a Maildir on disk, so each test can also look at what the server
did to the files. The last test lets a real Postfix bounce a mail with a DSN
into that Maildir: the ground ``pressdist inbox`` stands on.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import mailbox
import smtplib
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imap_tools import MailBox
from mailservers import (
    NO_MOVE_USER,
    PASSWORD,
    drop_mail,
    free_port,
    wait_for_mail_with,
    wait_for_mails,
)

from pressdist.errors import ConfigError, MailboxError
from pressdist.inbox.imap import KEYWORD
from pressdist.inbox.mailboxes import Mail, mbox_key, open_mailbox
from pressdist.workspace import Workspace

PASSWORD_ENV = "PRESSDIST_TEST_INBOX_PASSWORD"


def _mail(n: int, subject: str = "") -> bytes:
    return (
        f"From: Mailer-Daemon <mailer-daemon@example.net>\n"
        f"To: presse-bounces+t{n}@example.org\n"
        f"Subject: {subject or f'Undeliverable {n}'}\n"
        f"Message-ID: <r{n}@example.net>\n\n"
        f"Report {n}.\nFrom here on a line that mbox must escape.\n"
    ).encode()


def _workspace(root: Path, **inbox: object) -> Workspace:
    def toml(value: object) -> str:
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return str(value)

    lines = "".join(f"{key} = {toml(value)}\n" for key, value in inbox.items())
    config = root / "pressdist.toml"
    config.write_text(config.read_text("utf-8") + f"\n[inbox]\n{lines}", "utf-8")
    return Workspace.open(root)


def _maildir(root: Path, name: str = "bounces") -> Path:
    path = root / name
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True)
    return path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# Configuration --------------------------------------------------------------------------
def test_no_mailbox_configured_is_a_config_error_with_an_example(tmp_workspace: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        open_mailbox(Workspace.open(tmp_workspace))
    assert "no mailbox configured" in str(caught.value)
    assert "[inbox]" in (caught.value.hint or "")
    assert "host =" in (caught.value.hint or "")


def test_missing_mailbox_path_names_the_line_of_path(tmp_workspace: Path) -> None:
    ws = _workspace(tmp_workspace, path="nowhere/")
    with pytest.raises(MailboxError) as caught:
        open_mailbox(ws)
    assert "does not exist" in str(caught.value)
    lines = (tmp_workspace / "pressdist.toml").read_text().splitlines()
    assert lines[caught.value.line - 1].startswith("path =")


def test_a_folder_that_is_no_maildir_is_refused(tmp_workspace: Path) -> None:
    (tmp_workspace / "bounces").mkdir()
    with pytest.raises(MailboxError, match="not a Maildir"):
        open_mailbox(_workspace(tmp_workspace, path="bounces"))


def test_a_missing_password_variable_names_it_and_its_line(
    tmp_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    ws = _workspace(
        tmp_workspace, host="127.0.0.1", username="presse-bounces", password_env=PASSWORD_ENV
    )
    with pytest.raises(ConfigError) as caught:
        open_mailbox(ws)
    assert PASSWORD_ENV in str(caught.value)
    lines = (tmp_workspace / "pressdist.toml").read_text().splitlines()
    assert lines[caught.value.line - 1].startswith("password_env =")


# Maildir ------------------------------------------------------------------------------
def test_maildir_lists_new_and_cur_by_unique_name(tmp_workspace: Path) -> None:
    box_path = _maildir(tmp_workspace)
    drop_mail(box_path, _mail(1), "100.a.host")
    drop_mail(box_path, _mail(2), "200.b.host", flags="FS")
    with open_mailbox(_workspace(tmp_workspace, path="bounces")) as box:
        assert box.where == "Maildir bounces"
        mails = list(box.mails())
    assert mails == [Mail("100.a.host", _mail(1)), Mail("200.b.host", _mail(2))]


def test_maildir_move_keeps_name_and_flags_and_the_next_listing_is_empty(
    tmp_workspace: Path,
) -> None:
    box_path = _maildir(tmp_workspace)
    drop_mail(box_path, _mail(1), "100.a.host")
    drop_mail(box_path, _mail(2), "200.b.host", flags="FS")
    with open_mailbox(_workspace(tmp_workspace, path="bounces")) as box:
        for mail in box.mails():
            box.done(mail)
        assert list(box.mails()) == []
    processed = box_path / ".pressdist.processed"
    assert _names(processed) == ["cur", "maildirfolder", "new", "tmp"]
    assert _names(processed / "cur") == ["100.a.host:2,", "200.b.host:2,FS"]
    assert (processed / "cur" / "200.b.host:2,FS").read_bytes() == _mail(2)
    assert _names(box_path / "new") == _names(box_path / "cur") == []


def test_maildir_processed_folder_follows_maildirplusplus_naming(tmp_workspace: Path) -> None:
    box_path = _maildir(tmp_workspace)
    drop_mail(box_path, _mail(1), "100.a.host")
    ws = _workspace(tmp_workspace, path="bounces", processed_folder="Archiv/Rückläufer")
    with open_mailbox(ws) as box:
        box.done(next(box.mails()))
    assert _names(box_path / ".Archiv.Rückläufer" / "cur") == ["100.a.host:2,"]


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    flags=st.sets(st.sampled_from("DFPRST")).map(lambda s: "".join(sorted(s))),
    in_new=st.booleans(),
    body=st.binary(min_size=1, max_size=200),
)
def test_maildir_flag_sets_seen_keeps_the_other_flags_and_the_mail(
    tmp_path_factory: pytest.TempPathFactory, flags: str, in_new: bool, body: bytes
) -> None:
    root = tmp_path_factory.mktemp("ws")
    (root / "pressdist.toml").write_text('organisation = "Stadt Beispiel"\n')
    box_path = _maildir(root)
    drop_mail(box_path, body, "300.c.host", flags=None if in_new else flags)
    with open_mailbox(_workspace(root, path="bounces", processed="flag")) as box:
        (mail,) = box.mails()
        box.done(mail)
        box.done(mail)  # twice is once
        assert list(box.mails()) == [mail]  # still listed: the journal knows it was read
    expected = "".join(sorted(set("" if in_new else flags) | {"S"}))
    assert _names(box_path / "cur") == [f"300.c.host:2,{expected}"]
    assert (box_path / "cur" / f"300.c.host:2,{expected}").read_bytes() == body
    assert not (box_path / ".pressdist.processed").exists()


def test_maildir_loses_nothing_when_the_processed_folder_cannot_be_made(
    tmp_workspace: Path,
) -> None:
    box_path = _maildir(tmp_workspace)
    original = drop_mail(box_path, _mail(1), "100.a.host")
    (box_path / ".pressdist.processed").write_text("a file in the way\n")
    with open_mailbox(_workspace(tmp_workspace, path="bounces")) as box:
        (mail,) = box.mails()
        with pytest.raises(MailboxError) as caught:
            box.done(mail)
    assert "cannot create the processed folder" in str(caught.value)
    assert "processed_folder" in (caught.value.hint or "")
    assert original.read_bytes() == _mail(1)


def test_maildir_mail_moved_by_a_mail_client_meanwhile_is_still_found(
    tmp_workspace: Path,
) -> None:
    box_path = _maildir(tmp_workspace)
    drop_mail(box_path, _mail(1), "100.a.host")
    with open_mailbox(_workspace(tmp_workspace, path="bounces")) as box:
        (mail,) = box.mails()
        # A mail client reads it in between: new/ to cur/, flag S.
        (box_path / "new" / "100.a.host").rename(box_path / "cur" / "100.a.host:2,S")
        box.done(mail)
    assert _names(box_path / ".pressdist.processed" / "cur") == ["100.a.host:2,S"]


def test_maildir_moved_into_is_a_folder_dovecot_shows(tmp_workspace: Path, dovecot_inbox) -> None:
    drop_mail(dovecot_inbox.maildir, _mail(1), "100.a.host")
    with open_mailbox(_workspace(tmp_workspace, path=str(dovecot_inbox.maildir))) as box:
        box.done(next(box.mails()))
    with _imap_client(dovecot_inbox) as client:
        assert "pressdist.processed" in [f.name for f in client.folder.list()]
        client.folder.set("pressdist.processed")
        (moved,) = client.fetch(mark_seen=False)
        assert moved.subject == "Undeliverable 1"


# mbox ---------------------------------------------------------------------------------
def _mbox(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.mbox(path)
    for n, data in enumerate(messages):
        box.add(b"From mailer-daemon@example.net Mon Dec  1 10:0%d:00 2026\n" % n + data)
    box.close()
    return path


# What a mail reader writes into a message it showed (and flagged: X-Status F).
_READ = b"Status: O\nX-Status: F\n"


def _stored(data: bytes) -> bytes:
    """A message as an mbox holds it: a line starting "From " escaped (mboxo)."""
    return data.replace(b"\nFrom ", b"\n>From ")


def _read_mbox(path: Path) -> list[bytes]:
    box = mailbox.mbox(path, create=False)
    try:
        return [box.get_bytes(k) for k in box.iterkeys()]
    finally:
        box.close()


def test_mbox_lists_each_message_keyed_by_its_hash(tmp_workspace: Path) -> None:
    _mbox(tmp_workspace / "bounces.mbox", [_mail(1), _mail(2), _mail(3)])
    with open_mailbox(_workspace(tmp_workspace, path="bounces.mbox")) as box:
        assert box.where == "mbox bounces.mbox"
        mails = list(box.mails())
    assert [m.data for m in mails] == [_stored(_mail(1)), _stored(_mail(2)), _stored(_mail(3))]
    assert mails[0].key == hashlib.sha256(_stored(_mail(1))).hexdigest()


def test_mbox_move_appends_to_the_processed_mbox_beside_it_then_removes(
    tmp_workspace: Path,
) -> None:
    read_by_a_person = _READ + _mail(2)
    source = _mbox(tmp_workspace / "bounces.mbox", [_mail(1), read_by_a_person, _mail(3)])
    with open_mailbox(_workspace(tmp_workspace, path="bounces.mbox")) as box:
        first, second, _ = box.mails()
        assert second.data == _stored(_mail(2))  # the flags are the mbox's, not the mail's
        box.done(first)
        box.done(second)
        # The copies are on disk before the originals go, when the box is closed.
        assert _read_mbox(tmp_workspace / "pressdist" / "processed") == [
            _stored(_mail(1)),
            _stored(read_by_a_person),
        ]
    assert _read_mbox(source) == [_stored(_mail(3))]
    target = (tmp_workspace / "pressdist" / "processed").read_bytes()
    assert target.startswith(b"From mailer-daemon@example.net Mon Dec  1 10:00:00 2026\n")
    assert not Path(f"{source}.lock").exists()


def test_mbox_flag_sets_status_and_keeps_every_mail_and_key(tmp_workspace: Path) -> None:
    source = _mbox(tmp_workspace / "bounces.mbox", [_mail(1), _READ + _mail(2), _mail(3)])
    ws = _workspace(tmp_workspace, path="bounces.mbox", processed="flag")
    with open_mailbox(ws) as box:
        before = list(box.mails())
        box.done(before[0])
        box.done(before[1])
    flagged = mailbox.mbox(source, create=False)
    assert [(m["Status"], m["X-Status"]) for m in flagged] == [
        ("RO", None),
        ("RO", "F"),
        (None, None),
    ]
    flagged.close()
    once = source.stat()
    with open_mailbox(ws) as box:
        again = list(box.mails())
        for mail in again:
            box.done(mail)
    assert again == before
    assert (source.stat().st_ino, source.stat().st_mtime_ns) != (once.st_ino, once.st_mtime_ns)
    twice = source.stat()
    with open_mailbox(ws) as box:
        box.done(next(box.mails()))  # marked already: the file is not rewritten
    assert (source.stat().st_ino, source.stat().st_mtime_ns) == (twice.st_ino, twice.st_mtime_ns)
    assert not (tmp_workspace / "pressdist").exists()


_HOLD_LOCK = """
import mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
box.lock()
print("locked", flush=True)
sys.stdin.read()
box.unlock()
"""


def test_mbox_locked_by_another_program_is_left_alone(tmp_workspace: Path) -> None:
    source = _mbox(tmp_workspace / "bounces.mbox", [_mail(1)])
    before = source.read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(source)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(MailboxError) as caught:
            open_mailbox(_workspace(tmp_workspace, path="bounces.mbox"))
    finally:
        holder.communicate("", timeout=30)
    assert "locked by another program" in str(caught.value)
    assert source.read_bytes() == before


def test_mbox_is_locked_while_open_as_an_mta_expects(tmp_workspace: Path) -> None:
    source = _mbox(tmp_workspace / "bounces.mbox", [_mail(1)])
    with open_mailbox(_workspace(tmp_workspace, path="bounces.mbox")):
        other = subprocess.run(
            [sys.executable, "-c", _HOLD_LOCK, str(source)],
            input="",
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert other.returncode != 0
    assert "ExternalClashError" in other.stderr


_KILLED_MID_RUN = """
import os, sys
from pressdist.inbox.mailboxes import open_mailbox
from pressdist.workspace import Workspace
box = open_mailbox(Workspace.open(sys.argv[1]))
for mail in box.mails():
    box.done(mail)
os._exit(9)  # killed before it could close: nothing removed yet
"""


def test_mbox_run_killed_after_the_copies_loses_nothing_and_copies_once(
    tmp_workspace: Path,
) -> None:
    source = _mbox(tmp_workspace / "bounces.mbox", [_mail(1), _mail(2)])
    target = tmp_workspace / "pressdist" / "processed"
    ws = _workspace(tmp_workspace, path="bounces.mbox")
    killed = subprocess.run([sys.executable, "-c", _KILLED_MID_RUN, str(tmp_workspace)])
    assert killed.returncode == 9
    assert _read_mbox(source) == [_stored(_mail(1)), _stored(_mail(2))]
    assert _read_mbox(target) == [_stored(_mail(1)), _stored(_mail(2))]
    # Its dot lock stays behind, as after any crash; the message says which file it is.
    with pytest.raises(MailboxError) as caught:
        open_mailbox(ws)
    assert f"{source}.lock" in (caught.value.hint or "")
    Path(f"{source}.lock").unlink()
    with open_mailbox(ws) as box:
        for mail in box.mails():
            box.done(mail)
    assert _read_mbox(source) == []
    assert _read_mbox(target) == [_stored(_mail(1)), _stored(_mail(2))]


def test_mbox_loses_nothing_when_the_processed_mbox_cannot_be_made(tmp_workspace: Path) -> None:
    source = _mbox(tmp_workspace / "bounces.mbox", [_mail(1)])
    (tmp_workspace / "pressdist" / "processed").mkdir(parents=True)
    with open_mailbox(_workspace(tmp_workspace, path="bounces.mbox")) as box:
        (mail,) = box.mails()
        with pytest.raises(MailboxError, match="cannot create the processed mbox"):
            box.done(mail)
    assert _read_mbox(source) == [_stored(_mail(1))]


_HEADER_VALUE = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"), max_size=8
)


@given(
    status=st.lists(st.tuples(st.sampled_from(["Status", "X-Status", "status"]), _HEADER_VALUE)),
    body=st.binary(max_size=100).filter(lambda b: b"\n\n" not in b),
)
def test_mbox_key_ignores_what_mail_readers_write(status: list[tuple[str, str]], body: bytes):
    plain = b"Subject: Undeliverable\nMessage-ID: <x@example.net>\n\n" + body
    head, _, rest = plain.partition(b"\n\n")
    marked = b"".join(f"{name}: {value}\n".encode() for name, value in status)
    assert mbox_key(head + b"\n" + marked + b"\n" + rest) == mbox_key(plain)
    assert mbox_key(plain) != mbox_key(plain.replace(b"Undeliverable", b"Delivered"))


# IMAP against Dovecot -------------------------------------------------------------------
def _imap_client(server, user: str = "") -> MailBox:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    return MailBox(server.host, server.port, timeout=30, ssl_context=context).login(
        user or server.user, server.password
    )


def _imap(root: Path, server, monkeypatch: pytest.MonkeyPatch, **overrides: object) -> Workspace:
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    inbox: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "username": server.user,
        "password_env": PASSWORD_ENV,
        "ca_file": str(server.ca_file),
        "timeout": 30,
    }
    inbox.update(overrides)
    return _workspace(root, **inbox)


def test_imap_lists_and_fetches_every_mail_byte_for_byte_without_marking_it_seen(
    tmp_workspace: Path, dovecot_inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop_mail(dovecot_inbox.maildir, _mail(1), "100.a.host")
    drop_mail(dovecot_inbox.maildir, _mail(2), "200.b.host")
    with open_mailbox(_imap(tmp_workspace, dovecot_inbox, monkeypatch)) as box:
        assert box.where == f"IMAP 127.0.0.1:{dovecot_inbox.port} INBOX"
        mails = list(box.mails())
    # Dovecot stores lines as the file has them and sends them with CRLF (RFC 3501).
    assert [m.data for m in mails] == [
        _mail(1).replace(b"\n", b"\r\n"),
        _mail(2).replace(b"\n", b"\r\n"),
    ]
    validity = {m.key.split(":")[0] for m in mails}
    assert len(validity) == 1 and validity.pop().isdigit()
    assert [m.key.split(":")[1] for m in mails] == ["1", "2"]
    with _imap_client(dovecot_inbox) as client:
        assert [m.flags for m in client.fetch(mark_seen=False)] == [(), ()]


def test_imap_move_creates_the_processed_folder_and_dovecot_shows_the_mail_there(
    tmp_workspace: Path, dovecot_inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop_mail(dovecot_inbox.maildir, _mail(1), "100.a.host")
    drop_mail(dovecot_inbox.maildir, _mail(2), "200.b.host")
    ws = _imap(tmp_workspace, dovecot_inbox, monkeypatch)
    with open_mailbox(ws) as box:
        first, _ = box.mails()
        box.done(first)
        assert [m.data for m in box.mails()] == [_mail(2).replace(b"\n", b"\r\n")]
    with open_mailbox(ws) as box:
        assert len(list(box.mails())) == 1
    with _imap_client(dovecot_inbox) as client:
        # Dovecot's Maildir++ separator is ".": pressdist/processed is pressdist.processed.
        assert "pressdist.processed" in [f.name for f in client.folder.list()]
        client.folder.set("pressdist.processed")
        assert [m.subject for m in client.fetch(mark_seen=False)] == ["Undeliverable 1"]
    assert len(list((dovecot_inbox.maildir / ".pressdist.processed" / "cur").iterdir())) == 1


def test_imap_flag_mode_marks_the_mail_where_it_lies_and_leaves_it_out_next_time(
    tmp_workspace: Path, dovecot_inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop_mail(dovecot_inbox.maildir, _mail(1), "100.a.host")
    drop_mail(dovecot_inbox.maildir, _mail(2), "200.b.host", flags="S")  # read by a person
    ws = _imap(tmp_workspace, dovecot_inbox, monkeypatch, processed="flag")
    with open_mailbox(ws) as box:
        first, second = box.mails()
        box.done(first)
    with open_mailbox(ws) as box:
        assert list(box.mails()) == [second]
    with _imap_client(dovecot_inbox) as client:
        flags = {m.subject: set(m.flags) for m in client.fetch(mark_seen=False)}
        assert flags == {"Undeliverable 1": {KEYWORD, "\\Seen"}, "Undeliverable 2": {"\\Seen"}}
        assert [f.name for f in client.folder.list()] == ["INBOX"]


def test_imap_over_starttls_reads_the_same_mails(
    tmp_workspace: Path, dovecot_inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop_mail(dovecot_inbox.maildir, _mail(1), "100.a.host")
    ws = _imap(
        tmp_workspace,
        dovecot_inbox,
        monkeypatch,
        security="starttls",
        port=dovecot_inbox.starttls_port,
    )
    with open_mailbox(ws) as box:
        assert [m.data for m in box.mails()] == [_mail(1).replace(b"\n", b"\r\n")]


def test_imap_move_on_a_server_without_move_copies_and_expunges_nothing_else(
    tmp_workspace: Path, dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    maildir = dovecot.store.empty(NO_MOVE_USER)
    drop_mail(maildir, _mail(1), "100.a.host")
    drop_mail(maildir, _mail(2), "200.b.host", flags="T")  # someone's deletion, not yet expunged
    ws = _imap(tmp_workspace, dovecot, monkeypatch, username=NO_MOVE_USER)
    with open_mailbox(ws) as box:
        (mail,) = box.mails()
        box.done(mail)
        assert list(box.mails()) == []
    with _imap_client(dovecot, NO_MOVE_USER) as client:
        left = {m.subject: set(m.flags) for m in client.fetch(mark_seen=False)}
        assert left == {"Undeliverable 1": {"\\Deleted"}, "Undeliverable 2": {"\\Deleted"}}
        client.folder.set("pressdist.processed")
        assert [m.subject for m in client.fetch(mark_seen=False)] == ["Undeliverable 1"]


def test_imap_wrong_password_is_a_refused_login_without_the_password(
    tmp_workspace: Path, dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _imap(tmp_workspace, dovecot, monkeypatch)
    monkeypatch.setenv(PASSWORD_ENV, "falsch-" + PASSWORD)
    with pytest.raises(MailboxError) as caught:
        open_mailbox(ws)
    text = f"{caught.value} {caught.value.hint}"
    assert f"IMAP 127.0.0.1:{dovecot.port}: login as 'presse-bounces' refused" in text
    assert PASSWORD_ENV in (caught.value.hint or "")
    assert PASSWORD not in text
    assert caught.value.exit_code == 3


def test_imap_certificate_from_an_unknown_ca_is_not_trusted(
    tmp_workspace: Path, dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_workspace / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with pytest.raises(MailboxError) as caught:
        open_mailbox(_imap(tmp_workspace, dovecot, monkeypatch, ca_file="other-ca.pem"))
    assert "TLS certificate not trusted" in str(caught.value)
    assert "ca_file" in (caught.value.hint or "")


def test_imap_without_ca_file_trusts_only_the_system_cas(
    tmp_workspace: Path, dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _imap(tmp_workspace, dovecot, monkeypatch, ca_file="")
    with pytest.raises(MailboxError, match="TLS certificate not trusted"):
        open_mailbox(ws)


@dataclass(frozen=True)
class _Nobody:
    """Where no IMAP server answers: enough settings to try."""

    ca_file: Path
    port: int
    host: str = "127.0.0.1"
    user: str = "presse-bounces"
    password: str = PASSWORD


@pytest.fixture
def nobody(tmp_path: Path) -> _Nobody:
    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    return _Nobody(ca_file, free_port())


def test_imap_nothing_listening_cannot_connect(
    tmp_workspace: Path, nobody: _Nobody, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = nobody.port
    with pytest.raises(MailboxError) as caught:
        open_mailbox(_imap(tmp_workspace, nobody, monkeypatch))
    assert str(caught.value).startswith(f"IMAP 127.0.0.1:{port}: cannot connect: ")
    assert "refused" in str(caught.value).lower()


def test_imap_server_that_never_greets_is_no_answer_within_the_timeout(
    tmp_workspace: Path, nobody: _Nobody, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        ws = _imap(tmp_workspace, nobody, monkeypatch, port=port, timeout=0.5)
        with pytest.raises(MailboxError, match=r"no answer within 0\.5 s"):
            open_mailbox(ws)


def test_imap_missing_folder_names_the_folders_there_are(
    tmp_workspace: Path, dovecot_inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _imap(tmp_workspace, dovecot_inbox, monkeypatch, folder="Rücklauf")
    with pytest.raises(MailboxError) as caught:
        open_mailbox(ws)
    assert "no folder 'Rücklauf'" in str(caught.value)
    assert "INBOX" in (caught.value.hint or "")


# Postfix bounces into the Maildir Dovecot serves ------------------------------------------
def test_postfix_bounces_an_unknown_user_with_a_real_dsn_that_dovecot_lists(
    tmp_workspace: Path, postfix, dovecot_inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    verp = postfix.bounce_address("sometoken")
    known, unknown = postfix.address("leser"), postfix.address("niemand")
    with smtplib.SMTP(postfix.host, postfix.port, timeout=30) as smtp:
        for n, to in enumerate((known, unknown)):
            data = f"From: presse@example.org\r\nTo: {to}\r\nSubject: Mitteilung\r\n"
            data += f"Message-ID: <pm{n}@example.org>\r\n\r\nText.\r\n"
            smtp.sendmail(verp, [to], data.encode())
    wait_for_mail_with(postfix.maildir("leser"), b"<pm0@example.org>")
    (bounce_file,) = wait_for_mails(dovecot_inbox.maildir, 1)

    dsn = email.message_from_bytes(bounce_file.read_bytes(), policy=email.policy.default)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert dsn["X-Original-To"] == dsn["Delivered-To"] == verp
    (status,) = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"]
    recipient_fields = status.get_payload()[1]
    assert recipient_fields["Status"] == "5.1.1"
    assert recipient_fields["Final-Recipient"] == f"rfc822; {unknown}"

    with open_mailbox(_imap(tmp_workspace, dovecot_inbox, monkeypatch)) as box:
        (listed,) = box.mails()
    assert dsn["Message-Id"].encode() in listed.data
