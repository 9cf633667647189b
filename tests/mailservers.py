"""Real mail servers for the tests: a Dovecot (IMAP over TLS) and a Postfix of their own.

Both are the Debian daemons, run on 127.0.0.1 with a configuration written
into a temporary folder (nothing under /etc is read or touched), started by
the session fixtures in conftest.py and stopped by PID. They share one mail
store: Postfix's virtual delivery writes ``<store>/<user>/`` as the store's
owner (the system user ``mail``), and Dovecot serves that very Maildir to
``<user>`` as the same owner, so a DSN Postfix delivers is a mail Dovecot
lists and can move.

Who exists: ``BOUNCE_USER`` (the VERP bounce mailbox; ``presse-bounces+TOKEN``
lands there too) and ``KNOWN_USERS`` at ``DOMAIN``; anyone else at ``DOMAIN``
is accepted by Postfix and then bounced with a real DSN (5.1.1). Dovecot
knows the same users, all with ``PASSWORD``, plus ``NO_MOVE_USER``, whose
server offers neither MOVE nor UIDPLUS (an older IMAP server, for real).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import trustme

DOMAIN = "example.org"
BOUNCE_USER = "presse-bounces"
KNOWN_USERS = ("leser", "redaktion")
NO_MOVE_USER = "altserver"
PASSWORD = "Kennwort-nur-im-Test-7"
# Postfix's and Dovecot's own accounts; both refuse to start without them.
STORE_OWNER = "mail"


def free_port() -> int:
    """A port nothing listens on now (the server binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, deadline: float, *, alive, log: Path) -> None:
    """Until something accepts on 127.0.0.1:port; ``alive()`` false or the deadline: fail."""
    end = time.monotonic() + deadline
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if not alive() or time.monotonic() > end:
                tail = log.read_text("utf-8", "replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"nothing listens on 127.0.0.1:{port}; log:\n{tail}") from None
            time.sleep(0.02)  # a poll interval, not a guess at how long start-up takes


def _maildir_files(maildir: Path) -> list[Path]:
    found = []
    for sub in ("new", "cur"):
        folder = maildir / sub
        if folder.is_dir():
            found += [p for p in folder.iterdir() if not p.name.startswith(".")]
    return sorted(found)


def wait_for_mails(maildir: Path, n: int, deadline: float = 30.0) -> list[Path]:
    """The mail files in ``maildir`` (new/ and cur/) once there are ``n`` or more.

    ``deadline`` is how many seconds to wait at most; then it fails, saying
    how many arrived.
    """
    end = time.monotonic() + deadline
    while True:
        files = _maildir_files(maildir)
        if len(files) >= n:
            return files
        if time.monotonic() > end:
            raise AssertionError(f"{len(files)} of {n} mails in {maildir} after {deadline:g} s")
        time.sleep(0.02)  # a poll interval


def wait_for_mail_with(maildir: Path, needle: bytes, deadline: float = 30.0) -> Path:
    """The mail file in ``maildir`` that holds ``needle``, once it has arrived.

    For a Maildir that other tests of the session deliver to as well.
    """
    end = time.monotonic() + deadline
    while True:
        for path in _maildir_files(maildir):
            try:
                if needle in path.read_bytes():
                    return path
            except FileNotFoundError:  # moved from new/ to cur/ meanwhile
                continue
        if time.monotonic() > end:
            raise AssertionError(f"no mail with {needle!r} in {maildir} after {deadline:g} s")
        time.sleep(0.02)  # a poll interval


@dataclass(frozen=True)
class MailStore:
    """The folder of every user's Maildir, owned by the account both servers write as."""

    root: Path
    uid: int
    gid: int

    @classmethod
    def create(cls, root: Path) -> MailStore:
        owner = pwd.getpwnam(STORE_OWNER)
        root.mkdir(mode=0o755)
        os.chown(root, owner.pw_uid, owner.pw_gid)
        return cls(root, owner.pw_uid, owner.pw_gid)

    def maildir(self, user: str) -> Path:
        return self.root / user

    def empty(self, user: str) -> Path:
        """The user's Maildir, empty and fresh (no folders, no Dovecot indexes)."""
        path = self.maildir(user)
        shutil.rmtree(path, ignore_errors=True)
        for sub in ("", "cur", "new", "tmp"):
            (path / sub).mkdir(mode=0o700, exist_ok=True)
            os.chown(path / sub, self.uid, self.gid)
        return path


def drop_mail(maildir: Path, data: bytes, name: str, *, flags: str | None = None) -> Path:
    """Deliver ``data`` into ``maildir`` as an MDA does: tmp/, then new/ (or cur/ with flags).

    The file belongs to the Maildir's owner, so that a server serving it can
    move it. ``name`` is the Maildir unique name.
    """
    owner = maildir.stat()
    tmp = maildir / "tmp" / name
    tmp.write_bytes(data)
    os.chown(tmp, owner.st_uid, owner.st_gid)
    os.chmod(tmp, 0o600)
    final = maildir / "new" / name if flags is None else maildir / "cur" / f"{name}:2,{flags}"
    os.rename(tmp, final)
    return final


def _stop(pid: int, deadline: float = 15.0) -> None:
    """SIGTERM to ``pid``, then wait until it is gone; SIGKILL if it will not go."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + deadline
    while _running(pid):
        if time.monotonic() > end:
            os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.02)  # a poll interval


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# Dovecot ------------------------------------------------------------------------------
_DOVECOT_CONF = """\
# A Dovecot of the tests' own: only this file, nothing from /etc/dovecot.
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = pressdist-test-{port}
listen = 127.0.0.1
protocols = imap
log_path = {dir}/dovecot.log
ssl = required
ssl_cert = <{dir}/server.pem
ssl_key = <{dir}/server.key
mail_location = maildir:~
first_valid_uid = {uid}
first_valid_gid = {gid}
auth_mechanisms = plain
# A wrong password would wait 2 s, and each next login from 127.0.0.1 longer
# (the auth penalty); the tests try one on purpose.
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
service imap-login {{
  inet_listener imap {{
    port = {starttls_port}
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
"""


@dataclass
class Dovecot:
    """A running Dovecot: IMAPS on ``port``, STARTTLS on ``starttls_port``, on ``host``."""

    host: str
    port: int
    starttls_port: int
    user: str  # BOUNCE_USER: the mailbox bounces come back to
    password: str
    ca_file: Path  # the trustme CA that signed the server's certificate
    maildir: Path  # the user's Maildir (its INBOX): drop mails in, or let Postfix deliver
    store: MailStore
    log: Path
    process: subprocess.Popen = field(repr=False)

    @classmethod
    def start(cls, folder: Path, store: MailStore) -> Dovecot:
        folder.mkdir(mode=0o755)
        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(folder / "ca.pem"))
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_pem.write_to_path(str(folder / "server.key"))
        (folder / "server.pem").write_bytes(b"".join(p.bytes() for p in cert.cert_chain_pems))
        users = [BOUNCE_USER, *KNOWN_USERS]
        lines = [
            f"{u}:{{PLAIN}}{PASSWORD}:{store.uid}:{store.gid}::{store.maildir(u)}::" for u in users
        ]
        # Extra fields override settings per user: this one logs in to a server
        # that speaks plain IMAP4rev1, without MOVE and UIDPLUS.
        lines.append(
            f"{NO_MOVE_USER}:{{PLAIN}}{PASSWORD}:{store.uid}:{store.gid}::"
            f"{store.maildir(NO_MOVE_USER)}::userdb_imap_capability=IMAP4rev1"
        )
        (folder / "passwd").write_text("\n".join(lines) + "\n")
        port, starttls_port = free_port(), free_port()
        conf = folder / "dovecot.conf"
        conf.write_text(
            _DOVECOT_CONF.format(
                dir=folder, port=port, starttls_port=starttls_port, uid=store.uid, gid=store.gid
            )
        )
        log = folder / "dovecot.log"
        with open(folder / "stderr.log", "wb") as stderr:
            # -F: in the foreground, so the PID is the master's and ours to stop.
            process = subprocess.Popen(
                [shutil.which("dovecot") or "dovecot", "-F", "-c", str(conf)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        server = cls(
            "127.0.0.1",
            port,
            starttls_port,
            BOUNCE_USER,
            PASSWORD,
            folder / "ca.pem",
            store.maildir(BOUNCE_USER),
            store,
            log,
            process,
        )
        try:
            for p in (port, starttls_port):
                wait_for_port(p, 30, alive=lambda: process.poll() is None, log=log)
        except BaseException:
            server.stop()
            raise
        return server

    def maildir_of(self, user: str) -> Path:
        return self.store.maildir(user)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


# Postfix ------------------------------------------------------------------------------
_MAIN_CF = """\
# A Postfix of the tests' own: only this file, nothing from /etc/postfix.
compatibility_level = 3.6
queue_directory = {dir}/spool
data_directory = {dir}/data
# Without syslog it would fail silently: it logs here instead.
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.{domain}
mydomain = {domain}
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
# Nothing ever leaves 127.0.0.1: mail for any other domain bounces at once.
default_transport = error:the test server delivers to {domain} only
relay_transport = error:the test server delivers to {domain} only
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {store}
virtual_mailbox_maps = texthash:{dir}/users
virtual_minimum_uid = {uid}
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
# VERP: presse-bounces+TOKEN@ lands in presse-bounces/.
recipient_delimiter = +
# Unknown users are accepted, then bounced with a DSN, as a real server far away does.
smtpd_reject_unlisted_recipient = no
"""

# Every service the master runs; no chroot (the queue is not a prepared jail).
_MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
virtual   unix  - n n -  - virtual
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


@dataclass
class Postfix:
    """A running Postfix that takes mail for ``domain`` on ``host``:``port``."""

    host: str
    port: int
    domain: str
    known_users: tuple[str, ...]  # everyone else at the domain gets a DSN back
    bounce_user: str
    store: MailStore
    config_dir: Path
    log: Path
    pid: int

    @classmethod
    def start(
        cls,
        folder: Path,
        store: MailStore,
        *,
        domain: str = DOMAIN,
        known_users: tuple[str, ...] = KNOWN_USERS,
        bounce_user: str = BOUNCE_USER,
    ) -> Postfix:
        conf, spool, data = folder / "etc", folder / "spool", folder / "data"
        for d in (folder, conf, spool, data):
            d.mkdir(mode=0o755)
        shutil.chown(data, "postfix")
        port = free_port()
        users = (bounce_user, *known_users)
        (folder / "users").write_text("".join(f"{u}@{domain} {u}/\n" for u in users))
        values = {"dir": folder, "domain": domain, "store": store.root, "uid": store.uid}
        (conf / "main.cf").write_text(_MAIN_CF.format(**values, gid=store.gid))
        (conf / "master.cf").write_text(_MASTER_CF.format(port=port))
        log = folder / "maillog"
        started = subprocess.run(
            ["postfix", "-c", str(conf), "start"], capture_output=True, text=True, timeout=60
        )
        pid_file = spool / "pid" / "master.pid"
        pid = int(pid_file.read_text().strip()) if pid_file.exists() else 0
        server = cls("127.0.0.1", port, domain, known_users, bounce_user, store, conf, log, pid)
        try:
            if started.returncode != 0 or not pid:
                raise RuntimeError(f"postfix did not start: {started.stderr}")
            wait_for_port(port, 30, alive=lambda: _running(pid), log=log)
        except BaseException:
            server.stop()
            raise
        return server

    def address(self, user: str) -> str:
        return f"{user}@{self.domain}"

    def bounce_address(self, token: str) -> str:
        """A VERP address: it lands in the bounce user's Maildir."""
        return f"{self.bounce_user}+{token}@{self.domain}"

    def maildir(self, user: str) -> Path:
        return self.store.maildir(user)

    def stop(self) -> None:
        """Stop the master by its PID; its children end with it."""
        if self.pid:
            _stop(self.pid)
        else:  # it may have started without writing its pid file
            subprocess.run(
                ["postfix", "-c", str(self.config_dir), "stop"], capture_output=True, timeout=60
            )
