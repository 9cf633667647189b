"""`pressdist send` through the http gateway to a real HTTP server on 127.0.0.1.

The server checks every request against the generic contract of
docs/gateways.md (method, auth, Idempotency-Key, JSON fields, the MIME
message inside) and answers 429/503/400 for chosen recipients for real.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

RELEASE = "2019-11-04-isa-foshan"
TOKEN = "tok-e2e-123"


class Api:
    """What the server saw and what it should answer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[dict] = []
        self.attempts: Counter[str] = Counter()
        self.keys: dict[str, set[str]] = {}
        self.violations: list[str] = []
        self.script: dict[str, list[tuple[int, dict[str, str]]]] = {}


def make_handler(api: Api):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _answer(self, status: int, body: dict | None = None, headers=None) -> None:
            raw = b"" if status == 204 else json.dumps(body or {}).encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if status != 204:  # a 204 carries no body and no length (RFC 9110 15.3.5)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_OPTIONS(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._answer(401, {"message": "bad token"})
            else:
                self._answer(204)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            problems = []
            if self.path != "/send":
                problems.append(f"path {self.path}")
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                problems.append("authorization")
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                problems.append("content-type")
            try:
                data = json.loads(body)
                mime = base64.b64decode(data["mime"], validate=True)
                msg = email.message_from_bytes(mime, policy=email.policy.default)
            except Exception as exc:  # noqa: BLE001 — anything malformed is a violation
                with api.lock:
                    api.violations.append(f"unparseable: {exc!r}")
                self._answer(400, {"message": "bad request"})
                return
            if set(data) != {"message_id", "from", "to", "mime"}:
                problems.append(f"fields {sorted(data)}")
            if self.headers.get("Idempotency-Key") != data["message_id"]:
                problems.append("idempotency key")
            if msg["Message-ID"] != f"<{data['message_id']}>":
                problems.append("message id")
            if msg["To"].addresses[0].addr_spec != data["to"]:
                problems.append("to")
            to = data["to"]
            with api.lock:
                if problems:
                    api.violations.append(f"{to}: {problems}")
                api.attempts[to] += 1
                api.keys.setdefault(to, set()).add(data["message_id"])
                script = api.script.get(to)
                status, headers = script.pop(0) if script else (200, {})
                if status == 200:
                    api.accepted.append({**data, "language": msg["Content-Language"]})
            self._answer(
                status, {"message": "queued" if status == 200 else "no", "id": "x1"}, headers
            )

    return Handler


@pytest.fixture
def api():
    api = Api()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.port = server.server_address[1]
    yield api
    server.shutdown()
    server.server_close()
    thread.join(10)


def setup(root: Path, port: int) -> list[str]:
    langs = ["de", "en-GB", "zh-Hans", "fr", "de_AT", "zh_CN"]
    rows = ["email,name,language"]
    addresses = [f"api{i}@example.org" for i in range(12)]
    rows += [f"{a},Reader {i},{langs[i % len(langs)]}" for i, a in enumerate(addresses)]
    (root / "recipients" / "api.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    cfg = root / "pressdist.toml"
    text = re.sub(
        r"(?m)^\[send\]\n",
        "[send]\nretry_base_seconds = 0.01\nretry_max_seconds = 0.05\n",
        cfg.read_text(encoding="utf-8"),
        count=1,
    )
    text += (
        f'\n[gateways.api]\ntype = "http"\nurl = "http://127.0.0.1:{port}/send"\n'
        'token_env = "PRESSDIST_TEST_API_TOKEN"\nconcurrency = 4\n'
    )
    cfg.write_text(text, encoding="utf-8")
    return addresses


def send_through_api(cli, root: Path, token: str):
    """`pressdist send` of the release to the api list through the api gateway."""
    return cli(
        "send",
        RELEASE,
        "--list",
        "api",
        "--gateway",
        "api",
        "--yes",
        cwd=root,
        env={"PRESSDIST_TEST_API_TOKEN": token},
    )


def test_http_api_gets_one_valid_request_per_recipient_with_retries_honoured(
    cli, example_workspace, api
):
    addresses = setup(example_workspace, api.port)
    api.script = {
        addresses[1]: [(429, {"Retry-After": "0"})],
        addresses[2]: [(503, {"Retry-After": "0"}), (503, {})],
        addresses[3]: [(400, {})],
    }
    result = send_through_api(cli, example_workspace, TOKEN)
    assert "Traceback" not in result.output
    assert TOKEN not in result.output
    assert result.code == 1, result.output  # one permanent failure
    assert api.violations == []
    delivered = Counter(r["to"] for r in api.accepted)
    assert delivered == Counter(a for a in addresses if a != addresses[3])
    assert (api.attempts[addresses[1]], api.attempts[addresses[2]]) == (2, 3)
    # A retry is the same message: the service can drop a copy by its key.
    assert all(len(keys) == 1 for keys in api.keys.values())
    langs = {r["to"]: r["language"] for r in api.accepted}
    assert (langs[addresses[0]], langs[addresses[2]], langs[addresses[5]]) == (
        "de",
        "zh-CN",
        "zh-CN",
    )
    assert addresses[3] in result.stdout


def test_http_api_refusing_the_token_stops_before_sending(cli, example_workspace, api):
    setup(example_workspace, api.port)
    result = send_through_api(cli, example_workspace, "wrong")
    assert result.code == 3, result.output
    assert "Traceback" not in result.output
    assert api.attempts == Counter()


def test_http_api_gets_each_deliverys_own_bounce_address_as_from(cli, example_workspace, api):
    from pressdist.mail import verp

    addresses = setup(example_workspace, api.port)
    cfg = example_workspace / "pressdist.toml"
    secret = "ein-langer-zufaelliger-schluessel"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace(
            "[send]\n",
            '[send]\nbounce_address = "presse-bounces@example.org"\n'
            'unsubscribe_secret_env = "PRESSDIST_UNSUBSCRIBE_SECRET"\n',
            1,
        ),
        encoding="utf-8",
    )
    result = cli(
        "send",
        RELEASE,
        "--list",
        "api",
        "--gateway",
        "api",
        "--yes",
        cwd=example_workspace,
        env={"PRESSDIST_TEST_API_TOKEN": TOKEN, "PRESSDIST_UNSUBSCRIBE_SECRET": secret},
    )
    assert result.code == 0, result.output
    assert api.violations == []
    assert sorted(r["to"] for r in api.accepted) == sorted(addresses)
    bounce = verp.BounceAddress("presse-bounces@example.org", secret.encode())
    for request in api.accepted:
        token = bounce.token_of(request["from"])
        assert token, request["from"]
        ref = verp.verify(secret.encode(), token)
        assert ref.matches(request["message_id"])
    assert len({r["from"] for r in api.accepted}) == len(addresses)


def test_http_api_answering_400_to_everyone_stops_after_three_and_burns_only_two(
    cli, example_workspace, api
):
    addresses = setup(example_workspace, api.port)
    api.script = {a: [(400, {})] for a in addresses}
    stopped = send_through_api(cli, example_workspace, TOKEN)
    assert stopped.code == 3, stopped.output
    assert "Traceback" not in stopped.output
    assert "3 different recipients in a row with the same answer: 400 no x1" in stopped.stderr
    assert sum(api.attempts.values()) < len(addresses)
    rows = json.loads(cli("log", RELEASE, "--json", cwd=example_workspace).stdout)
    assert Counter(r["state"] for r in rows)["failed-permanent"] == 2
    api.script = {}
    assert send_through_api(cli, example_workspace, TOKEN).code == 0
    nothing = send_through_api(cli, example_workspace, TOKEN)
    assert nothing.code == 1 and "2 deliveries failed permanently" in nothing.stderr
    retried = cli(
        "send",
        RELEASE,
        "--list",
        "api",
        "--gateway",
        "api",
        "--yes",
        "--retry-failed",
        cwd=example_workspace,
        env={"PRESSDIST_TEST_API_TOKEN": TOKEN},
    )
    assert retried.code == 0, retried.output
    assert Counter(r["to"] for r in api.accepted) == Counter(addresses)
