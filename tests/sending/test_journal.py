"""The delivery journal: schema, states, crash safety."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pressdist.errors import InputError
from pressdist.sending import journal as jr


def attempt(key: str, revision: str = "rev1", *, duplicate: bool = False) -> jr.Attempt:
    return jr.Attempt(
        revision,
        key,
        "2019-11-04-isa-foshan",
        key,
        "N",
        "en",
        "en-GB",
        "presse",
        "outbox",
        f"{revision}.en.{key}@example.org",
        duplicate,
    )


@pytest.fixture
def journal(tmp_path: Path):
    with jr.Journal(tmp_path / ".pressdist" / jr.FILE_NAME) as j:
        yield j


def test_new_journal_is_wal_with_a_schema_version(journal):
    assert journal.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal.db.execute("PRAGMA user_version").fetchone()[0] == jr.SCHEMA_VERSION


def test_reopening_keeps_the_deliveries(tmp_path):
    path = tmp_path / jr.FILE_NAME
    with jr.Journal(path) as j:
        run = j.start_run("r", "rev1", ["presse"], "outbox", False)
        j.mark_sending(run, [attempt("a@example.org")])
        j.record([("rev1", "a@example.org", jr.SENT, "250 ok")])
    with jr.Journal(path) as j:
        (d,) = list(j.deliveries())
    assert (d.state, d.attempts, d.last_error, d.list, d.requested_language) == (
        jr.SENT,
        1,
        "250 ok",
        "presse",
        "en-GB",
    )
    assert d.sent_at is not None


def test_journal_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / jr.FILE_NAME
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(InputError) as exc:
        jr.Journal(path)
    assert "newer pressdist" in exc.value.message


def test_a_file_that_is_not_a_database_is_refused_with_a_hint(tmp_path):
    path = tmp_path / jr.FILE_NAME
    path.write_text("this is not sqlite, just text that is long enough " * 20)
    with pytest.raises(InputError) as exc:
        jr.Journal(path)
    assert exc.value.path == path
    assert "never delete" in (exc.value.hint or "")


def test_resending_counts_attempts_and_keeps_the_duplicate_flag(journal):
    run = journal.start_run("r", "rev1", ["presse"], "outbox", False)
    journal.mark_sending(run, [attempt("a@example.org", duplicate=True)])
    journal.record([("rev1", "a@example.org", jr.FAILED_TRANSIENT, "451 busy")])
    journal.mark_sending(run, [attempt("a@example.org", duplicate=False)])
    (d,) = list(journal.deliveries())
    assert (d.state, d.attempts, d.possibly_duplicate) == (jr.SENDING, 2, True)


def test_mark_retry_sets_sending_again_before_the_gateway_sees_it(journal):
    run = journal.start_run("r", "rev1", ["presse"], "outbox", False)
    journal.mark_sending(run, [attempt("a@example.org")])
    journal.record([("rev1", "a@example.org", jr.FAILED_TRANSIENT, "451 busy")])
    journal.mark_retry(run, "rev1", "a@example.org")
    assert journal.states("rev1", ["a@example.org"]) == {"a@example.org": jr.SENDING}
    assert next(journal.deliveries()).attempts == 2


def test_release_unsent_returns_only_sending_rows_to_pending(journal):
    run = journal.start_run("r", "rev1", ["presse"], "outbox", False)
    journal.mark_sending(run, [attempt("a@example.org"), attempt("b@example.org")])
    journal.record([("rev1", "a@example.org", jr.SENT, "ok")])
    journal.release_unsent("rev1", ["a@example.org", "b@example.org"])
    states = journal.states("rev1", ["a@example.org", "b@example.org"])
    assert states == {"a@example.org": jr.SENT, "b@example.org": jr.PENDING}
    b = next(d for d in journal.deliveries() if d.recipient == "b@example.org")
    assert b.attempts == 0


def test_states_are_per_revision_and_answer_large_batches(journal):
    run = journal.start_run("r", "rev1", ["presse"], "outbox", False)
    keys = [f"r{i}@example.org" for i in range(1200)]
    journal.mark_sending(run, [attempt(k) for k in keys])
    assert len(journal.states("rev1", keys)) == 1200
    assert journal.states("rev2", keys) == {}


def test_a_run_left_running_by_a_crash_is_marked_interrupted(journal):
    first = journal.start_run("r", "rev1", ["presse"], "outbox", False)
    second = journal.start_run("r", "rev1", ["presse"], "outbox", False)
    journal.finish_run(second, "finished")
    statuses = {r.id: r.status for r in journal.runs()}
    assert statuses == {first: "interrupted", second: "finished"}


def test_failed_filter_and_earlier_revisions(journal):
    run = journal.start_run("r", "rev1", ["presse"], "outbox", False)
    journal.mark_sending(run, [attempt("a@example.org"), attempt("b@example.org")])
    journal.record(
        [
            ("rev1", "a@example.org", jr.SENT, "ok"),
            ("rev1", "b@example.org", jr.FAILED_PERMANENT, "550 no such user"),
        ]
    )
    assert [d.recipient for d in journal.deliveries(failed=True)] == ["b@example.org"]
    assert journal.counts("rev1") == {jr.SENT: 1, jr.FAILED_PERMANENT: 1}
    assert journal.other_revisions_sent("2019-11-04-isa-foshan", "rev2") == {"rev1": 1}


def test_unknown_state_is_refused_by_the_schema(journal):
    run = journal.start_run("r", "rev1", ["presse"], "outbox", False)
    journal.mark_sending(run, [attempt("a@example.org")])
    with pytest.raises(sqlite3.IntegrityError):
        journal.record([("rev1", "a@example.org", "delivered-maybe", "")])


def test_committed_sending_survives_sigkill_of_the_writer(tmp_path):
    path = tmp_path / jr.FILE_NAME
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pressdist.sending import journal as jr
        from pathlib import Path
        j = jr.Journal(Path({str(path)!r}))
        run = j.start_run("r", "rev1", ["presse"], "outbox", False)
        j.mark_sending(run, [jr.Attempt("rev1", "a@example.org", "r", "a@example.org", "", "en",
                                        "en", "presse", "outbox", "m@x")])
        j.db.execute("BEGIN")
        j.db.execute("UPDATE deliveries SET state='sent'")  # never committed
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    with jr.Journal(path) as j:
        assert j.states("rev1", ["a@example.org"]) == {"a@example.org": jr.SENDING}
        assert [r.status for r in j.runs()] == ["running"]
    assert os.path.exists(path)


def test_counts_per_run_say_what_each_send_achieved(journal):
    first = journal.start_run("r", "rev1", ["presse"], "outbox", False)
    journal.mark_sending(first, [attempt("a@example.org"), attempt("b@example.org")])
    journal.record([("rev1", "a@example.org", jr.SENT, "ok")])
    assert journal.counts_per_run() == {(first, jr.SENT): 1, (first, jr.SENDING): 1}


# Forgetting a person -----------------------------------------------------------

HASH = "0" * 63 + "1"


def sent_to(j: jr.Journal, key: str, address: str, name: str, revision: str = "rev1") -> None:
    run = j.start_run("2019-11-04-isa-foshan", revision, ["presse"], "outbox", False)
    j.mark_sending(run, [dataclasses.replace(attempt(key, revision), address=address, name=name)])
    j.record([(revision, key, jr.FAILED_PERMANENT, f"550 <{address}> unknown, {name}")])


def files_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def test_forget_leaves_no_trace_of_address_or_name_in_the_file_or_its_wal(tmp_path):
    path = tmp_path / jr.FILE_NAME
    with jr.Journal(path) as j:
        sent_to(j, "li.wei@example.com", "Li.Wei@Example.com", "Wei Lixiang")
        sent_to(j, "anna@example.org", "anna@example.org", "Anna Becker")
        assert b"Wei Lixiang" in files_bytes(path)
        assert j.forget("li.wei@example.com", HASH) == 1
        assert path.with_name(path.name + "-wal").stat().st_size == 0
        data = files_bytes(path).lower()
        for trace in (b"li.wei@example.com", b"wei lixiang", b"lixiang"):
            assert trace not in data
        assert b"anna becker" in data  # only that person is forgotten
        (mine,) = j.deliveries_of([HASH])
        assert (mine.recipient, mine.address, mine.name) == (HASH, HASH, "")
        assert mine.last_error == f"550 <{HASH}> unknown, "
        assert (mine.state, mine.language, mine.attempts) == (jr.FAILED_PERMANENT, "en", 1)
        assert j.counts("rev1") == {jr.FAILED_PERMANENT: 2}


def test_forget_twice_changes_nothing_the_second_time(journal):
    sent_to(journal, "li@example.com", "li@example.com", "Li")
    assert journal.forget("li@example.com", HASH) == 1
    assert journal.forget("li@example.com", HASH) == 0
    assert len(journal.deliveries_of([HASH])) == 1


def test_a_person_sent_again_after_an_erasure_keeps_one_row_per_revision(journal):
    sent_to(journal, "li@example.com", "li@example.com", "Li")
    journal.forget("li@example.com", HASH)
    sent_to(journal, "li@example.com", "li@example.com", "Li")
    sent_to(journal, "li@example.com", "li@example.com", "Li", revision="rev2")
    assert journal.forget("li@example.com", HASH) == 2
    assert sorted(d.revision for d in journal.deliveries_of([HASH])) == ["rev1", "rev2"]


def test_tallies_count_per_revision_language_and_state(journal):
    sent_to(journal, "a@example.org", "a@example.org", "A")
    sent_to(journal, "b@example.org", "b@example.org", "B")
    assert journal.tallies("2019-11-04-isa-foshan") == [("rev1", "en", jr.FAILED_PERMANENT, 2)]
    assert journal.tallies("another") == []


# Schema 1, as pressdist wrote it before deliveries could come back.
_SCHEMA_1 = """
CREATE TABLE runs (id INTEGER PRIMARY KEY, release_id TEXT NOT NULL, revision TEXT NOT NULL,
    lists TEXT NOT NULL, gateway TEXT NOT NULL, resend INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL DEFAULT 'running',
    note TEXT NOT NULL DEFAULT '');
CREATE TABLE deliveries (revision TEXT NOT NULL, recipient TEXT NOT NULL,
    release_id TEXT NOT NULL, address TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL, requested_language TEXT NOT NULL DEFAULT '', list TEXT NOT NULL,
    gateway TEXT NOT NULL, message_id TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN
    ('pending', 'sending', 'sent', 'failed-transient', 'failed-permanent')),
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
    possibly_duplicate INTEGER NOT NULL DEFAULT 0, run_id INTEGER REFERENCES runs(id),
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, sent_at TEXT,
    PRIMARY KEY (revision, recipient)) WITHOUT ROWID;
CREATE INDEX deliveries_by_release ON deliveries (release_id, state);
CREATE INDEX deliveries_by_run ON deliveries (run_id);
INSERT INTO runs (id, release_id, revision, lists, gateway, started_at, status)
    VALUES (1, 'r', 'rev1', 'presse', 'outbox', '2026-01-01T00:00:00.000Z', 'finished');
INSERT INTO deliveries VALUES ('rev1', 'a@example.org', 'r', 'a@example.org', 'A', 'en', 'en',
    'presse', 'outbox', 'rev1.en.x@example.org', 'sent', 1, '250 ok', 0, 1,
    '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:01.000Z');
PRAGMA user_version=1;
"""


def test_a_schema_1_journal_is_migrated_and_keeps_every_delivery(tmp_path):
    path = tmp_path / jr.FILE_NAME
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA_1)
    db.close()
    # A dry run reads it as it is, and writes nothing.
    reader = jr.Journal.read_only(path)
    assert reader is not None and reader.seen("mail:x") is None
    reader.close()
    with jr.Journal(path) as j:
        assert j.db.execute("PRAGMA user_version").fetchone()[0] == jr.SCHEMA_VERSION
        (d,) = list(j.deliveries())
        assert (d.state, d.last_error, d.sent_at) == (jr.SENT, "250 ok", "2026-01-01T00:00:01.000Z")
        assert j.mark_returned(d, jr.BOUNCED, "5.1.1", "User unknown")
        assert j.by_message_id("<rev1.en.x@example.org>").state == jr.BOUNCED
        assert [r.status for r in j.runs()] == ["finished"]


# Schema 2, as pressdist wrote it before a delivery could be a correction.
_SCHEMA_2 = """
CREATE TABLE runs (id INTEGER PRIMARY KEY, release_id TEXT NOT NULL, revision TEXT NOT NULL,
    lists TEXT NOT NULL, gateway TEXT NOT NULL, resend INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL DEFAULT 'running',
    note TEXT NOT NULL DEFAULT '');
CREATE TABLE deliveries (revision TEXT NOT NULL, recipient TEXT NOT NULL,
    release_id TEXT NOT NULL, address TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL, requested_language TEXT NOT NULL DEFAULT '', list TEXT NOT NULL,
    gateway TEXT NOT NULL, message_id TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN
    ('pending', 'sending', 'sent', 'failed-transient', 'failed-permanent', 'soft-bounced',
     'bounced', 'complained')),
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
    possibly_duplicate INTEGER NOT NULL DEFAULT 0, run_id INTEGER REFERENCES runs(id),
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, sent_at TEXT,
    status_code TEXT NOT NULL DEFAULT '', diagnostic TEXT NOT NULL DEFAULT '', returned_at TEXT,
    PRIMARY KEY (revision, recipient)) WITHOUT ROWID;
CREATE INDEX deliveries_by_release ON deliveries (release_id, state);
CREATE INDEX deliveries_by_run ON deliveries (run_id);
CREATE INDEX deliveries_by_message_id ON deliveries (message_id);
CREATE INDEX deliveries_by_recipient ON deliveries (recipient);
CREATE TABLE inbox_seen (key TEXT PRIMARY KEY, source TEXT NOT NULL, verdict TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '', seen_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE inbox_cursors (source TEXT PRIMARY KEY, cursor TEXT NOT NULL,
    updated_at TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO runs (id, release_id, revision, lists, gateway, started_at, status)
    VALUES (1, 'r', 'rev1', 'presse', 'outbox', '2026-01-01T00:00:00.000Z', 'finished');
INSERT INTO deliveries VALUES ('rev1', 'a@example.org', 'r', 'a@example.org', 'A', 'en', 'en',
    'presse', 'outbox', 'rev1.en.x@example.org', 'bounced', 1, '250 ok', 0, 1,
    '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', '2026-01-01T00:00:01.000Z',
    '5.1.1', 'User unknown', '2026-01-02T00:00:00.000Z');
INSERT INTO inbox_seen VALUES ('mail:x', 'inbox', 'hard bounce', '', '2026-01-02T00:00:00.000Z');
PRAGMA user_version=2;
"""


def test_a_schema_2_journal_is_migrated_and_its_deliveries_are_no_corrections(tmp_path):
    path = tmp_path / jr.FILE_NAME
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA_2)
    db.close()
    # A dry run reads it as it is (no correction column yet), and writes nothing.
    reader = jr.Journal.read_only(path)
    assert reader is not None
    (before,) = list(reader.deliveries())
    assert (before.state, before.correction) == (jr.BOUNCED, False)
    assert reader.earlier("r", "rev2", ["a@example.org"])["a@example.org"].language == "en"
    reader.close()
    with jr.Journal(path) as j:
        assert j.db.execute("PRAGMA user_version").fetchone()[0] == jr.SCHEMA_VERSION == 3
        (d,) = list(j.deliveries())
        assert d == before
        assert j.seen("mail:x") == "hard bounce"
        run = j.start_run("r", "rev2", ["presse"], "outbox", False)
        j.mark_sending(
            run, [dataclasses.replace(attempt("a@example.org", "rev2"), correction=True)]
        )
        corrected = {x.revision: x.correction for x in j.deliveries()}
    assert corrected == {"rev1": False, "rev2": True}


def sent(journal: jr.Journal, key: str, revision: str = "rev1") -> jr.Delivery:
    run = journal.start_run("2019-11-04-isa-foshan", revision, ["presse"], "outbox", False)
    journal.mark_sending(run, [attempt(key, revision)])
    journal.record([(revision, key, jr.SENT, "250 ok")])
    found = journal.by_message_id(f"{revision}.en.{key}@example.org")
    assert found is not None
    return found


def test_what_comes_back_only_moves_forward(journal):
    d = sent(journal, "a@example.org")
    assert journal.mark_returned(d, jr.SOFT_BOUNCED, "4.2.2", "mailbox  full\n again")
    assert journal.mark_returned(d, jr.BOUNCED, "5.1.1", "unknown")
    assert not journal.mark_returned(d, jr.SOFT_BOUNCED, "4.4.7", "late")
    assert not journal.mark_returned(d, jr.BOUNCED, "5.1.1", "twice")
    assert journal.mark_returned(d, jr.COMPLAINED, "abuse", "")
    (now,) = list(journal.deliveries(returned=True))
    assert (now.state, now.status_code) == (jr.COMPLAINED, "abuse")
    with pytest.raises(ValueError):
        journal.mark_returned(d, jr.SENT, "", "")


def test_a_bounce_repeating_a_secret_is_stored_without_it(journal):
    import base64

    from pressdist import secrets

    secrets.remember("inbox-Passw0rd-4711")
    echoed = base64.b64encode(b"\0presse\0inbox-Passw0rd-4711").decode()
    d = sent(journal, "a@example.org")
    assert journal.mark_returned(d, jr.BOUNCED, "5.7.8", f"AUTH PLAIN {echoed} refused")
    (now,) = list(journal.deliveries(returned=True))
    assert now.diagnostic == f"AUTH PLAIN AHByZXNzZQB{secrets.MASK} refused"
    assert "inbox-Passw0rd-4711" not in now.diagnostic and echoed not in now.diagnostic


def test_nothing_comes_back_from_a_delivery_that_was_not_sent(journal):
    run = journal.start_run("r", "rev1", ["presse"], "outbox", False)
    journal.mark_sending(run, [attempt("b@example.org")])
    journal.record([("rev1", "b@example.org", jr.FAILED_PERMANENT, "550")])
    d = journal.by_message_id("rev1.en.b@example.org@example.org")
    assert not journal.mark_returned(d, jr.BOUNCED, "5.1.1", "unknown")


def test_a_bounced_delivery_still_counts_as_sent(journal):
    d = sent(journal, "a@example.org")
    journal.mark_returned(d, jr.BOUNCED, "5.1.1", "unknown")
    assert journal.sent_of("2019-11-04-isa-foshan")
    assert journal.other_revisions_sent("2019-11-04-isa-foshan", "rev2") == {"rev1": 1}


def test_the_inbox_remembers_what_it_acted_on_and_where_it_stopped(journal):
    assert journal.seen("mail:abc") is None and journal.cursor("mailgun:mg") is None
    journal.remember("mail:abc", "inbox", "hard bounce", "marked bounced")
    journal.set_cursor("mailgun:mg", "1700000000.5")
    journal.set_cursor("mailgun:mg", "1700000100.5")
    assert journal.seen("mail:abc") == "hard bounce"
    assert journal.cursor("mailgun:mg") == "1700000100.5"


def test_by_digest_finds_only_a_delivery_of_that_revision(journal):
    key = "a@example.org"
    run = journal.start_run("r", "0123456789ab", ["presse"], "outbox", False)
    a = dataclasses.replace(
        attempt(key, "0123456789ab"), message_id="0123456789ab.en." + "f" * 24 + "@example.org"
    )
    journal.mark_sending(run, [a])
    assert journal.by_digest("0123456789ab", "f" * 18).recipient == key
    assert journal.by_digest("0123456789ac", "f" * 18) is None
    assert journal.by_digest("0123456789ab", "e" * 18) is None
    assert journal.by_digest("0123456789ab", "%") is None  # no LIKE pattern gets through
