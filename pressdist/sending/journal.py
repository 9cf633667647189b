"""The delivery journal: ``.pressdist/journal.sqlite3``, what was sent to whom.

Owns the SQLite file (WAL, schema versioned with ``PRAGMA user_version``): one
row per ``send`` in ``runs`` and one row per (release revision, recipient) in
``deliveries`` (a correction of a release is a delivery of its new revision,
flagged ``correction``). Its promise to ``send`` is crash safety: a delivery is
committed as ``sending`` *before* it is handed to a gateway and as ``sent`` or
``failed-*`` after, so a row still ``sending`` after a crash is exactly one that
may or may not have gone out. ``NullJournal`` keeps the same promise about
nothing: a test copy (``send --to``) and a dry run are delivery runs whose
writes go nowhere. On request it forgets a person (``forget``: their key and
addresses become a hash in every table, names blanked, the file rebuilt) and
keeps the counts. It does not decide what to send (``send`` does) and does
not print (``pressdist log`` does).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pressdist.errors import InputError, PressdistError
from pressdist.secrets import redact

SCHEMA_VERSION = 3
FILE_NAME = "journal.sqlite3"
# Beside the journal once it has recorded a send: its absence is how an empty,
# missing or damaged journal is told from a workspace that never sent.
EXPECTED_NAME = "journal.expected"
_EXPECTED_TEXT = (
    "This workspace's delivery journal ({name}) has recorded sends since {since}.\n"
    "pressdist refuses to work with an empty, missing or damaged journal while this file\n"
    "is here: it would take everyone for never mailed. Restore the journal from a backup\n"
    "(docs/sending.md, 'A damaged journal'). Delete this file only if the journal is lost\n"
    "for good and every recipient may get every release again.\n"
)
_RESTORE_HINT = (
    "restore .pressdist/journal.sqlite3 from a backup (docs/sending.md, 'A damaged journal'); "
    "never delete it, it is what prevents sending twice"
)

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED_TRANSIENT = "failed-transient"
FAILED_PERMANENT = "failed-permanent"
# The second half of a delivery: what came back after it was sent (``inbox``).
SOFT_BOUNCED = "soft-bounced"  # the receiving side gave up for now (4.x.x: mailbox full)
BOUNCED = "bounced"  # the address does not take mail (5.x.x)
COMPLAINED = "complained"  # the recipient marked it as spam
STATES = (
    PENDING,
    SENDING,
    SENT,
    FAILED_TRANSIENT,
    FAILED_PERMANENT,
    SOFT_BOUNCED,
    BOUNCED,
    COMPLAINED,
)
RETURNED = (SOFT_BOUNCED, BOUNCED, COMPLAINED)  # in the order one may follow another
# Handed over to the gateway: the release reached (or was refused by) their mailbox.
DELIVERED = (SENT, *RETURNED)
_DELIVERED_SQL = ", ".join(f"'{s}'" for s in DELIVERED)

# The table as schema 2 made it; later columns come with the steps after it.
_DELIVERIES = f"""
CREATE TABLE deliveries (
    revision TEXT NOT NULL,
    recipient TEXT NOT NULL,  -- case-folded address: one mail per person
    release_id TEXT NOT NULL,
    address TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL,
    requested_language TEXT NOT NULL DEFAULT '',
    list TEXT NOT NULL,
    gateway TEXT NOT NULL,
    message_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ({", ".join(repr(s) for s in STATES)})),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    possibly_duplicate INTEGER NOT NULL DEFAULT 0,
    run_id INTEGER REFERENCES runs(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT,
    status_code TEXT NOT NULL DEFAULT '',  -- of the bounce: 5.1.1, or the complaint's kind
    diagnostic TEXT NOT NULL DEFAULT '',  -- the receiving server's words
    returned_at TEXT,  -- when the bounce or complaint was read
    PRIMARY KEY (revision, recipient)
) WITHOUT ROWID;
CREATE INDEX deliveries_by_release ON deliveries (release_id, state);
CREATE INDEX deliveries_by_run ON deliveries (run_id);
CREATE INDEX deliveries_by_message_id ON deliveries (message_id);
CREATE INDEX deliveries_by_recipient ON deliveries (recipient);
"""

# What the inbox has already acted on (a mail, a provider event, a webhook's
# token), so that reading it again changes nothing; and each source's cursor.
_INBOX = """
CREATE TABLE inbox_seen (
    key TEXT PRIMARY KEY,  -- mail:<sha-256 of its bytes>, mailgun:<event id>, ...
    source TEXT NOT NULL,
    verdict TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    seen_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE inbox_cursors (
    source TEXT PRIMARY KEY,
    cursor TEXT NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
"""

# Schema 1 to 2: deliveries learn what came back. SQLite cannot change a CHECK,
# so the table is built anew and the rows copied over.
_MIGRATE_1_TO_2 = (
    """
DROP INDEX deliveries_by_release;
DROP INDEX deliveries_by_run;
ALTER TABLE deliveries RENAME TO deliveries_v1;
"""
    + _DELIVERIES
    + """
INSERT INTO deliveries (revision, recipient, release_id, address, name, language,
    requested_language, list, gateway, message_id, state, attempts, last_error,
    possibly_duplicate, run_id, created_at, updated_at, sent_at)
  SELECT revision, recipient, release_id, address, name, language, requested_language, list,
    gateway, message_id, state, attempts, last_error, possibly_duplicate, run_id, created_at,
    updated_at, sent_at FROM deliveries_v1;
DROP TABLE deliveries_v1;
"""
    + _INBOX
)

# Schema 2 to 3: a delivery may be the correction of a revision sent before.
_MIGRATE_2_TO_3 = """
ALTER TABLE deliveries ADD COLUMN correction INTEGER NOT NULL DEFAULT 0;
"""

# A new journal, at schema 2; the steps after it bring it up to date.
_SCHEMA = (
    """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    release_id TEXT NOT NULL,
    revision TEXT NOT NULL,
    lists TEXT NOT NULL,
    gateway TEXT NOT NULL,
    resend INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',  -- running, finished, stopped, interrupted
    note TEXT NOT NULL DEFAULT ''
);
"""
    + _DELIVERIES
    + _INBOX
)


# What `pressdist log --json` and `--csv` show of a delivery, in this order.
LOG_FIELDS = (
    "release_id",
    "revision",
    "language",
    "address",
    "name",
    "list",
    "state",
    "attempts",
    "sent_at",
    "updated_at",
    "message_id",
    "gateway",
    "last_error",
    "possibly_duplicate",
    "requested_language",
    "run_id",
    "status_code",
    "diagnostic",
    "returned_at",
    "correction",
)

# What takes a journal from each version to the next (0: a new file).
_STEPS = {0: (2, _SCHEMA), 1: (2, _MIGRATE_1_TO_2), 2: (3, _MIGRATE_2_TO_3)}


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Delivery:
    """One recipient's delivery of one release revision, as the journal holds it."""

    revision: str
    recipient: str
    release_id: str
    address: str
    name: str
    language: str
    requested_language: str
    list: str
    gateway: str
    message_id: str
    state: str
    attempts: int
    last_error: str
    possibly_duplicate: bool
    run_id: int | None
    created_at: str
    updated_at: str
    sent_at: str | None
    status_code: str = ""
    diagnostic: str = ""
    returned_at: str | None = None
    correction: bool = False  # sent as the correction of a revision they had before

    def to_dict(self) -> dict[str, object]:
        """The fields of ``LOG_FIELDS``, in their order: one row of the log."""
        return {name: getattr(self, name) for name in LOG_FIELDS}


@dataclass(frozen=True)
class Run:
    id: int
    release_id: str
    revision: str
    lists: str
    gateway: str
    resend: bool
    started_at: str
    finished_at: str | None
    status: str
    note: str


@dataclass(frozen=True)
class Attempt:
    """A delivery about to be handed to the gateway (what ``mark_sending`` writes)."""

    revision: str
    recipient: str
    release_id: str
    address: str
    name: str
    language: str
    requested_language: str
    list: str
    gateway: str
    message_id: str
    possibly_duplicate: bool = False
    correction: bool = False


@dataclass(frozen=True)
class Earlier:
    """What a recipient got of another revision of a release: its language and Message-ID."""

    revision: str
    language: str
    message_id: str


class Journal:
    """One open journal; use as a context manager. Not shared between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        _refuse_if_lost(path)
        try:
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process being killed at
            # any moment (what resume relies on) without an fsync per commit,
            # which would cap sending at a few hundred mails a second. A power
            # cut may lose the last commits; docs/sending.md says what that means.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            _check_whole(self.db, path, mark=True)
        except sqlite3.DatabaseError as exc:
            raise InputError(
                f"the delivery journal cannot be opened: {exc}", path=path, hint=_RESTORE_HINT
            ) from None

    @classmethod
    def read_only(cls, path: Path) -> Journal | None:
        """The journal opened for reading only (a dry run, a plan), or None if there is none.

        Nothing is created or migrated: a dry run must leave the workspace as it was.
        """
        _refuse_if_lost(path)
        if not path.exists():
            return None
        self = cls.__new__(cls)
        self.path = path
        try:
            self.db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version:
                _check_whole(self.db, path, mark=False)
        except sqlite3.DatabaseError as exc:
            raise InputError(
                f"the delivery journal cannot be opened: {exc}", path=path, hint=_RESTORE_HINT
            ) from None
        if version > SCHEMA_VERSION:
            self.db.close()
            raise InputError(
                f"the journal was written by a newer pressdist (schema {version})",
                path=path,
                hint="upgrade pressdist",
            )
        if version == 0:  # created but never written: nothing sent yet
            self.db.close()
            return None
        return self

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(
                f"the journal was written by a newer pressdist (schema {version})",
                path=self.path,
                hint="upgrade pressdist",
            )
        if version not in _STEPS:
            return
        with self._tx():
            while version in _STEPS:
                version, script = _STEPS[version]
                for stmt in script.split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
            self.db.execute(f"PRAGMA user_version={version}")

    def _tx(self):
        db = self.db

        class _Tx:
            def __enter__(self_inner):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self_inner, kind, value, tb):
                db.execute("COMMIT" if kind is None else "ROLLBACK")

        return _Tx()

    # Runs ---------------------------------------------------------------------
    def start_run(
        self, release_id: str, revision: str, lists: Sequence[str], gateway: str, resend: bool
    ) -> int:
        with self._tx():
            # Only one send runs at a time (send holds a lock), so a run still
            # 'running' here ended with a crash.
            self.db.execute("UPDATE runs SET status='interrupted' WHERE status='running'")
            cur = self.db.execute(
                "INSERT INTO runs (release_id, revision, lists, gateway, resend, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (release_id, revision, ",".join(lists), gateway, int(resend), now()),
            )
        _expect(self.path)
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, note: str = "") -> None:
        with self._tx():
            self.db.execute(
                "UPDATE runs SET status=?, note=?, finished_at=? WHERE id=?",
                (status, note, now(), run_id),
            )

    def runs(self, release_id: str | None = None) -> list[Run]:
        sql = "SELECT * FROM runs"
        args: tuple = ()
        if release_id:
            sql += " WHERE release_id=?"
            args = (release_id,)
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        return [Run(r[0], r[1], r[2], r[3], r[4], bool(r[5]), *r[6:]) for r in rows]

    # Deliveries ---------------------------------------------------------------
    def states(self, revision: str, keys: Sequence[str]) -> dict[str, str]:
        """Journal state of each of ``keys`` for ``revision`` (absent: never tried)."""
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for key, state in self.db.execute(
                f"SELECT recipient, state FROM deliveries WHERE revision=? AND recipient IN "
                f"({marks})",
                (revision, *chunk),
            ):
                out[key] = state
        return out

    def mark_sending(self, run_id: int, attempts: Iterable[Attempt]) -> None:
        """Commit ``sending`` for a batch before any of it reaches the gateway."""
        t = now()
        rows = [
            (
                a.revision,
                a.recipient,
                a.release_id,
                a.address,
                a.name,
                a.language,
                a.requested_language,
                a.list,
                a.gateway,
                a.message_id,
                int(a.possibly_duplicate),
                run_id,
                t,
                t,
                int(a.correction),
            )
            for a in attempts
        ]
        if not rows:
            return
        with self._tx():
            self.db.executemany(
                "INSERT INTO deliveries (revision, recipient, release_id, address, name,"
                " language, requested_language, list, gateway, message_id, state, attempts,"
                " possibly_duplicate, run_id, created_at, updated_at, correction)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sending', 1, ?, ?, ?, ?, ?)"
                " ON CONFLICT (revision, recipient) DO UPDATE SET state='sending',"
                " attempts=attempts+1, address=excluded.address, name=excluded.name,"
                " language=excluded.language, requested_language=excluded.requested_language,"
                " list=excluded.list, gateway=excluded.gateway, message_id=excluded.message_id,"
                " possibly_duplicate=(possibly_duplicate OR excluded.possibly_duplicate),"
                " run_id=excluded.run_id, updated_at=excluded.updated_at,"
                " correction=excluded.correction",
                rows,
            )

    def record(self, outcomes: Iterable[tuple[str, str, str, str]]) -> None:
        """Commit what the gateway said: ``(revision, recipient, state, detail)`` each."""
        t = now()
        rows = [
            (state, detail, t, t if state == SENT else None, revision, key)
            for revision, key, state, detail in outcomes
        ]
        if not rows:
            return
        with self._tx():
            self.db.executemany(
                "UPDATE deliveries SET state=?, last_error=?, updated_at=?,"
                " sent_at=COALESCE(?, sent_at) WHERE revision=? AND recipient=?",
                rows,
            )

    def mark_retry(self, run_id: int, revision: str, key: str) -> None:
        """Commit ``sending`` again before a retry reaches the gateway."""
        with self._tx():
            self.db.execute(
                "UPDATE deliveries SET state='sending', attempts=attempts+1, run_id=?,"
                " updated_at=? WHERE revision=? AND recipient=?",
                (run_id, now(), revision, key),
            )

    def release_unsent(self, revision: str, keys: Iterable[str]) -> None:
        """Undo ``sending`` for deliveries that never reached the gateway (clean stop)."""
        rows = [(now(), revision, k) for k in keys]
        if not rows:
            return
        with self._tx():
            self.db.executemany(
                "UPDATE deliveries SET state='pending', attempts=MAX(attempts-1, 0),"
                " updated_at=? WHERE revision=? AND recipient=? AND state='sending'",
                rows,
            )

    def deliveries(
        self,
        release_id: str | None = None,
        *,
        failed: bool = False,
        returned: bool = False,
        run_id: int | None = None,
    ) -> Iterator[Delivery]:
        where, args = [], []
        if release_id:
            where.append("release_id=?")
            args.append(release_id)
        if run_id is not None:
            where.append("run_id=?")
            args.append(run_id)
        if failed:
            where.append(f"state IN ('{FAILED_TRANSIENT}', '{FAILED_PERMANENT}')")
        if returned:
            where.append("state IN (" + ", ".join(f"'{s}'" for s in RETURNED) + ")")
        sql = "SELECT * FROM deliveries"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY release_id, updated_at, recipient"
        for r in self.db.execute(sql, args):
            yield _delivery(r)

    def has_release(self, release_id: str) -> bool:
        """Whether any send of ``release_id`` was ever started."""
        return (
            self.db.execute(
                "SELECT 1 FROM runs WHERE release_id=? LIMIT 1", (release_id,)
            ).fetchone()
            is not None
        )

    def counts(self, revision: str) -> dict[str, int]:
        return dict(
            self.db.execute(
                "SELECT state, COUNT(*) FROM deliveries WHERE revision=? GROUP BY state",
                (revision,),
            ).fetchall()
        )

    def counts_per_run(self) -> dict[tuple[int, str], int]:
        """Deliveries per (run, state): what each send achieved."""
        return {
            (run_id, state): n
            for run_id, state, n in self.db.execute(
                "SELECT run_id, state, COUNT(*) FROM deliveries GROUP BY run_id, state"
            )
        }

    def other_revisions_sent(self, release_id: str, revision: str) -> dict[str, int]:
        """Earlier revisions of the release already sent, with how many recipients got each."""
        return dict(
            self.db.execute(
                "SELECT revision, COUNT(*) FROM deliveries WHERE release_id=? AND revision<>?"
                f" AND state IN ({_DELIVERED_SQL}) GROUP BY revision",
                (release_id, revision),
            ).fetchall()
        )

    def earlier(self, release_id: str, revision: str, keys: Sequence[str]) -> dict[str, Earlier]:
        """Per recipient of ``keys`` who got another revision of the release than
        ``revision``, the latest one they got (a bounce counts: it was sent)."""
        out: dict[str, Earlier] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            # SQLite takes the bare columns from the row of the MAX().
            for key, rev, language, message_id, _at in self.db.execute(
                "SELECT recipient, revision, language, message_id,"
                " MAX(COALESCE(sent_at, updated_at)) FROM deliveries"
                f" WHERE release_id=? AND revision<>? AND state IN ({_DELIVERED_SQL})"
                f" AND recipient IN ({marks}) GROUP BY recipient",
                (release_id, revision, *chunk),
            ):
                out[key] = Earlier(rev, language, message_id)
        return out

    def tallies(self, release_id: str) -> list[tuple[str, str, str, int]]:
        """``(revision, language, state, deliveries)`` of a release: what its report counts."""
        return self.db.execute(
            "SELECT revision, language, state, COUNT(*) FROM deliveries WHERE release_id=?"
            " GROUP BY revision, language, state ORDER BY revision, language, state",
            (release_id,),
        ).fetchall()

    def sent_of(self, release_id: str) -> list[tuple[str, str, str, str, str]]:
        """``(revision, language, recipient, list, sent_at)`` of each mail of a release sent."""
        return self.db.execute(
            "SELECT revision, language, recipient, list, sent_at FROM deliveries"
            f" WHERE release_id=? AND state IN ({_DELIVERED_SQL}) AND sent_at IS NOT NULL",
            (release_id,),
        ).fetchall()

    # What came back -------------------------------------------------------------
    def by_message_id(self, message_id: str) -> Delivery | None:
        """The delivery whose mail carried ``message_id`` (without <>), or None."""
        row = self.db.execute(
            "SELECT * FROM deliveries WHERE message_id=? LIMIT 1", (message_id.strip("<> "),)
        ).fetchone()
        return _delivery(row) if row else None

    def by_digest(self, revision: str, digest_prefix: str) -> Delivery | None:
        """The delivery of ``revision`` whose Message-ID hash starts with ``digest_prefix``.

        What a bounce address's token names (``mail.verp``); None when the
        journal has no such delivery.
        """
        if not re.fullmatch(r"[0-9a-f]+", revision + digest_prefix):
            return None
        row = self.db.execute(
            "SELECT * FROM deliveries WHERE revision=? AND message_id LIKE ? LIMIT 1",
            (revision, f"{revision}.%.{digest_prefix}%"),
        ).fetchone()
        return _delivery(row) if row else None

    def mark_returned(
        self, delivery: Delivery, state: str, status_code: str, diagnostic: str
    ) -> bool:
        """Record a bounce or complaint for a delivery that was sent; False if nothing changed.

        A state only ever moves forward (sent, soft-bounced, bounced,
        complained): a late soft bounce does not undo a hard one, and the same
        report read twice changes nothing.
        """
        if state not in RETURNED:
            raise ValueError(f"{state!r} is not what comes back from a delivery")
        rank = {s: i for i, s in enumerate(DELIVERED)}
        current = self.db.execute(
            "SELECT state FROM deliveries WHERE revision=? AND recipient=?",
            (delivery.revision, delivery.recipient),
        ).fetchone()
        if current is None or current[0] not in rank or rank[current[0]] >= rank[state]:
            return False
        t = now()
        with self._tx():
            self.db.execute(
                "UPDATE deliveries SET state=?, status_code=?, diagnostic=?, returned_at=?,"
                " updated_at=? WHERE revision=? AND recipient=?",
                (
                    state,
                    status_code,
                    # The receiving side's words: they may echo anything, a login too.
                    " ".join(redact(diagnostic).split())[:500],
                    t,
                    t,
                    delivery.revision,
                    delivery.recipient,
                ),
            )
        return True

    def soft_bounce_streak(self, recipient: str, release_id: str, *, assume: bool = False) -> int:
        """Soft-bounced releases in a row for ``recipient``, ending with ``release_id``.

        Releases count in the order they were sent to the person; one that
        arrived (no bounce) ends the streak. Releases sent after
        ``release_id`` are not counted: their bounces may still be on the way.
        ``assume``: count ``release_id`` as soft-bounced (what a dry run asks).
        """
        rows = self.db.execute(
            "SELECT release_id, MAX(sent_at) AS at,"
            " MAX(state=?) AS soft, MAX(state IN (?, ?)) AS worse"
            " FROM deliveries WHERE recipient=? AND sent_at IS NOT NULL"
            " GROUP BY release_id ORDER BY at DESC, release_id DESC",
            (SOFT_BOUNCED, BOUNCED, COMPLAINED, recipient),
        ).fetchall()
        streak, counting = 0, False
        for release, _at, soft, worse in rows:
            counting = counting or release == release_id
            if not counting:
                continue
            soft = soft or (assume and release == release_id)
            if not soft or worse:
                break
            streak += 1
        return streak

    def last_returned(self, recipients: Sequence[str]) -> dict[str, Delivery]:
        """Per recipient key, their latest delivery that bounced or was complained about."""
        out: dict[str, Delivery] = {}
        marks = ",".join("?" * len(RETURNED))
        for i in range(0, len(recipients), 500):
            chunk = list(recipients[i : i + 500])
            keys = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT * FROM deliveries WHERE state IN ({marks}) AND recipient IN ({keys})"
                " ORDER BY returned_at",
                (*RETURNED, *chunk),
            )
            for row in rows:
                found = _delivery(row)
                out[found.recipient] = found
        return out

    def seen(self, key: str) -> str | None:
        """The verdict the inbox gave ``key`` (a mail's or an event's) before, or None."""
        try:
            row = self.db.execute("SELECT verdict FROM inbox_seen WHERE key=?", (key,)).fetchone()
        except sqlite3.OperationalError:  # a schema 1 journal opened read-only (a dry run)
            return None
        return row[0] if row else None

    def remember(self, key: str, source: str, verdict: str, detail: str = "") -> None:
        """Record that the inbox acted on ``key``; reading it again then changes nothing."""
        with self._tx():
            self.db.execute(
                "INSERT INTO inbox_seen (key, source, verdict, detail, seen_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET verdict=excluded.verdict,"
                " detail=excluded.detail",
                (key, source, verdict, detail, now()),
            )

    def cursor(self, source: str) -> str | None:
        """Where reading ``source`` (a provider's event feed) stopped last time."""
        try:
            row = self.db.execute(
                "SELECT cursor FROM inbox_cursors WHERE source=?", (source,)
            ).fetchone()
        except sqlite3.OperationalError:  # a schema 1 journal opened read-only (a dry run)
            return None
        return row[0] if row else None

    def set_cursor(self, source: str, cursor: str) -> None:
        with self._tx():
            self.db.execute(
                "INSERT INTO inbox_cursors (source, cursor, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (source) DO UPDATE SET cursor=excluded.cursor,"
                " updated_at=excluded.updated_at",
                (source, cursor, now()),
            )

    # Erasure and access -------------------------------------------------------
    def deliveries_of(self, recipients: Sequence[str]) -> list[Delivery]:
        """Every delivery to one person, under any of the keys that stand for them."""
        marks = ",".join("?" * len(recipients))
        rows = self.db.execute(
            f"SELECT * FROM deliveries WHERE recipient IN ({marks})"
            " ORDER BY created_at, release_id, revision",
            tuple(recipients),
        )
        return [_delivery(r) for r in rows]

    def forget(self, recipient: str, replacement: str) -> int:
        """Put ``replacement`` (a hash) for one recipient everywhere; the deliveries forgotten.

        Every text column of every table that holds the key or an address the
        person was sent to gets the hash instead (so a failure text quoting the
        address too), and their names are blanked; the rows stay, so counts
        stay. Then the file is rebuilt and the WAL emptied: a freed page or an
        old WAL frame would otherwise keep the text the update removed.
        """
        self.db.execute("PRAGMA secure_delete=ON")
        with self._tx():
            found = self.db.execute(
                "SELECT address, name FROM deliveries WHERE recipient=?", (recipient,)
            ).fetchall()
            needles = {recipient, *(address for address, _ in found)}
            _replace_everywhere(self.db, needles, replacement)
            names = {name for _, name in found if name.strip()}
            if names:
                _replace_in(self.db, "deliveries", "last_error", names, "", recipient=replacement)
            self.db.execute("UPDATE deliveries SET name='' WHERE recipient=?", (replacement,))
        self._compact()
        return len(found)

    def _compact(self) -> None:
        self.db.execute("VACUUM")
        busy = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            raise PressdistError(
                "the journal is in use by another pressdist: its old pages may still be in the WAL",
                path=self.path.with_name(self.path.name + "-wal"),
                hint="run the same command again when no other pressdist runs here",
            )


def _expect(path: Path) -> None:
    """Leave the marker that says this journal has recorded sends (once)."""
    marker = path.with_name(EXPECTED_NAME)
    if not marker.exists():
        since = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
        marker.write_text(_EXPECTED_TEXT.format(name=path.name, since=since), encoding="utf-8")


def _refuse_if_lost(path: Path) -> None:
    """Refuse a missing or empty journal where one has recorded sends (its marker is there)."""
    marker = path.with_name(EXPECTED_NAME)
    if path.name == ":memory:" or not marker.exists():
        return
    if not path.exists():
        what = "is missing"
    elif path.stat().st_size == 0:
        what = "is empty"
    else:
        return
    raise InputError(
        f"the delivery journal {what}, but this workspace has sent before ({marker.name} "
        "says so): without it every recipient would count as never mailed",
        path=path,
        hint=_RESTORE_HINT + f"; only if it is lost for good, delete {marker}",
    )


_TABLES = {"runs", "deliveries"}


def _check_whole(db: sqlite3.Connection, path: Path, *, mark: bool) -> None:
    """Refuse a journal whose pages or tables are damaged, before anything relies on it.

    ``mark``: leave the marker beside a journal that has sent (not in a dry run).
    """
    problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise InputError(
            f"the delivery journal is damaged: {'; '.join(problems)}",
            path=path,
            hint=_RESTORE_HINT,
        )
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables >= _TABLES:
        missing = ", ".join(sorted(_TABLES - tables))
        raise InputError(
            f"the delivery journal is damaged: its table {missing} is gone",
            path=path,
            hint=_RESTORE_HINT,
        )
    sent = mark and db.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is not None
    if sent and path.name != ":memory:":
        # A journal from before the marker existed: it has sent, so expect it from now on.
        with contextlib.suppress(OSError):
            _expect(path)


def _delivery(row: Sequence[object]) -> Delivery:
    # A schema 2 journal opened read-only (a dry run) has no correction column.
    flags = [bool(v) for v in row[21:]]
    return Delivery(*row[:13], bool(row[13]), *row[14:21], *flags)  # type: ignore[arg-type]


def _replace_everywhere(db: sqlite3.Connection, needles: set[str], replacement: str) -> None:
    """``needles`` (any case) become ``replacement`` in every text of every table."""
    tables = [
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for table in tables:
        for column in [row[1] for row in db.execute(f'PRAGMA table_info("{table}")')]:
            _replace_in(db, table, column, needles, replacement)


def _replace_in(
    db: sqlite3.Connection,
    table: str,
    column: str,
    needles: set[str],
    replacement: str,
    *,
    recipient: str | None = None,
) -> None:
    pattern = re.compile(
        "|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)), re.IGNORECASE
    )
    db.create_function(
        "pressdist_replace",
        1,
        lambda v: pattern.sub(replacement, v) if isinstance(v, str) else v,
        deterministic=True,
    )
    # LIKE first (in C, case-blind for ASCII): Python sees only the rows that may match.
    where = " OR ".join(f'"{column}" LIKE ?' for _ in needles)
    args: list[str] = [f"%{n}%" for n in needles]
    if recipient is not None:
        where = f"recipient=? AND ({where})"
        args.insert(0, recipient)
    # OR REPLACE: a person sent the same revision again after an earlier erasure
    # keeps one row for it, as anyone does.
    db.execute(
        f'UPDATE OR REPLACE "{table}" SET "{column}"=pressdist_replace("{column}") WHERE {where}',
        args,
    )


class NullJournal:
    """A journal whose writes do nothing: the bookkeeping of a delivery run without a record.

    ``send --to`` (test copies, never recorded) and a dry run use it. A dry
    run passes the real journal, opened read-only, as ``reads``, so that it
    skips exactly whom the real run would skip.
    """

    def __init__(self, reads: Journal | None = None) -> None:
        self.reads = reads

    def states(self, revision: str, keys: Sequence[str]) -> dict[str, str]:
        return self.reads.states(revision, keys) if self.reads is not None else {}

    def earlier(self, release_id: str, revision: str, keys: Sequence[str]) -> dict[str, Earlier]:
        return self.reads.earlier(release_id, revision, keys) if self.reads is not None else {}

    def other_revisions_sent(self, release_id: str, revision: str) -> dict[str, int]:
        if self.reads is None:
            return {}
        return self.reads.other_revisions_sent(release_id, revision)

    def start_run(
        self, release_id: str, revision: str, lists: Sequence[str], gateway: str, resend: bool
    ) -> int:
        return 0

    def finish_run(self, run_id: int, status: str, note: str = "") -> None:
        pass

    def mark_sending(self, run_id: int, attempts: Iterable[Attempt]) -> None:
        pass

    def record(self, outcomes: Iterable[tuple[str, str, str, str]]) -> None:
        pass

    def mark_retry(self, run_id: int, revision: str, key: str) -> None:
        pass

    def release_unsent(self, revision: str, keys: Iterable[str]) -> None:
        pass
