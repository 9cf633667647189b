"""The small web app behind `pressdist serve`: one-click unsubscribes and Mailgun's webhooks.

Owns the HTTP side of an objection: the path of ``[send] unsubscribe_url``
answers ``POST`` with ``List-Unsubscribe=One-Click`` (RFC 8058) by suppressing
at once, and ``GET`` with a short page in the reader's language whose one
button (a plain form, no JavaScript) suppresses for this list or for all
lists. A token that is wrong, forged or expired gets 400 and nothing is
written; repeating a request changes nothing. Requests are limited in size
and rate, logged without the address in clear, and ``/health`` serves
monitoring. ``POST /webhooks/mailgun/<gateway>`` is routed to
``serve.webhooks``, limited in size and taken one at a time. Either part
alone is an app: an office may take webhooks without signed links, or the
other way round.

It does not sign tokens (``mail.unsubscribe``), keep the suppression list
(``audience.suppression``) or decide what a webhook leads to
(``serve.webhooks``): it verifies and calls. Starlette is the web framework; uvicorn runs it
(``pressdist[serve]``).
"""

from __future__ import annotations

import html
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pressdist.audience import suppression
from pressdist.audience.lists import choose_language, iter_recipients, open_lists
from pressdist.errors import ConfigError, PressdistError
from pressdist.languages import Language, negotiate
from pressdist.mail.addresses import check_address
from pressdist.mail.content import labels
from pressdist.mail.unsubscribe import InvalidToken, UnsubscribeRequest, verify
from pressdist.serve import webhooks as mailgun_webhooks
from pressdist.workspace import Workspace

log = logging.getLogger("pressdist.serve")

MAX_BODY = 4096  # bytes: a one-click POST is 26, the page's form a few more
RATE_PER_MINUTE = 60  # requests per client address; a reader needs two


@dataclass(frozen=True)
class Endpoint:
    """Where the unsubscribe link points, taken apart from ``unsubscribe_url``."""

    path: str  # the route, with ``{token}`` when the token is a path segment
    query_key: str | None  # the query parameter that carries the token, if any

    @staticmethod
    def of(url: str) -> Endpoint:
        parts = urlsplit(url)
        if "{token}" in parts.path:
            return Endpoint(parts.path, None)
        for key, values in parse_qs(parts.query, keep_blank_values=True).items():
            if "{token}" in values:
                return Endpoint(parts.path or "/", key)
        raise ConfigError(
            "'send.unsubscribe_url' has no {token}: `pressdist serve` needs signed links",
            hint='e.g. unsubscribe_url = "https://example.org/presse/abmelden?t={token}"',
        )


@dataclass
class _Limiter:
    """At most ``per_minute`` requests per client in any sliding minute."""

    per_minute: int
    seen: dict[str, deque[float]] = field(default_factory=dict)

    def allow(self, client: str, now: float) -> bool:
        stamps = self.seen.setdefault(client, deque())
        while stamps and now - stamps[0] > 60:
            stamps.popleft()
        if len(stamps) >= self.per_minute:
            return False
        stamps.append(now)
        if len(self.seen) > 10_000:  # forget quiet clients rather than grow without end
            for key in [k for k, v in self.seen.items() if not v or now - v[-1] > 60]:
                del self.seen[key]
        return True


def _hashed(address: str) -> str:
    """What the log says instead of the address: the start of its suppression-list hash."""
    return suppression.address_hash(address)[:16]


def _language(workspace: Workspace, accept: str, found: UnsubscribeRequest | None) -> Language:
    """The reader's language: from Accept-Language, else from their row on the token's list.

    The source language when neither names one of the workspace's languages.
    """
    available = workspace.config.all_languages
    ranked = []
    for i, part in enumerate(accept.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag))
    for _q, _i, tag in sorted(ranked):
        chosen = negotiate(tag, available)
        if chosen is not None:
            return chosen
    listed = _listed_language(workspace, found) if found is not None else None
    return listed or workspace.config.source_language


def _listed_language(workspace: Workspace, found: UnsubscribeRequest) -> Language | None:
    """The language the reader's row on the token's list asks for, if the row is there."""
    if not found.list_name:
        return None
    try:
        key = check_address(found.address)[1]
        files = open_lists(workspace, [found.list_name])
    except (ValueError, PressdistError):
        return None  # a list renamed or gone since the mail: the page still works
    for rcpt in iter_recipients(files, []):
        if rcpt.key == key:
            return choose_language(rcpt.language, workspace.config).language
    return None


class _Page:
    """The localised page: the question with its buttons, the answer, or the refusal."""

    def __init__(self, workspace: Workspace, language: Language) -> None:
        self.workspace = workspace
        self.language = language
        self.labels = labels(language)

    def _(self, msgid: str, **values: str) -> str:
        text = self.labels.get(msgid, msgid)
        return html.escape(text.format(**values) if values else text)

    def render(self, body: str, status: int = 200) -> HTMLResponse:
        org = html.escape(self.workspace.config.organisation or "")
        page = (
            f'<!doctype html><html lang="{self.language.bcp47}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<title>{self._('Unsubscribe')} · {org}</title>"
            "<style>body{font:1.05rem/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;"
            "padding:0 1rem}button{font:inherit;padding:.5rem 1rem;margin:.25rem 0}"
            "@media(prefers-color-scheme:dark){body{background:#111;color:#eee}}</style>"
            f"</head><body><h1>{self._('Unsubscribe')}</h1>{body}</body></html>"
        )
        return HTMLResponse(page, status_code=status, headers=_NO_STORE)

    def question(self, request: UnsubscribeRequest) -> HTMLResponse:
        org = self.workspace.config.organisation or ""
        return self.render(
            "<p>"
            + self._(
                "Stop sending press releases from {organisation} to {address}?",
                organisation=org,
                address=request.address,
            )
            + '</p><form method="post">'
            + (
                '<button type="submit" name="scope" value="list">'
                + self._("Unsubscribe from the list “{list}”", list=request.list_name)
                + "</button><br>"
                if request.list_name
                else ""
            )
            + '<button type="submit" name="scope" value="all">'
            + self._("Unsubscribe from all lists")
            + "</button></form>"
        )

    def done(self, request: UnsubscribeRequest, everywhere: bool) -> HTMLResponse:
        org = self.workspace.config.organisation or ""
        if everywhere:
            text = self._(
                "Done: {address} will get no more press releases from {organisation}.",
                address=request.address,
                organisation=org,
            )
        else:
            text = self._(
                "Done: {address} will get no more press releases from {organisation} "
                "on the list “{list}”.",
                address=request.address,
                organisation=org,
                list=request.list_name,
            )
        return self.render(f'<p role="status">{text}</p>')

    def refused(self) -> HTMLResponse:
        return self.render(
            "<p>"
            + self._(
                "This unsubscribe link is not valid. Please use the link in the latest mail, "
                "or reply to that mail."
            )
            + "</p>",
            status=400,
        )


_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def create_app(
    workspace: Workspace,
    *,
    secret: bytes | None = None,
    webhooks: Mapping[str, bytes] | None = None,
) -> Starlette:
    """The ASGI app for ``workspace``: what it is given, it answers.

    ``secret`` is the key the unsubscribe links were signed with (None: no
    unsubscribe endpoint); ``webhooks`` the signing key of each Mailgun
    gateway whose webhooks it takes (``serve.webhooks.signing_keys``).
    """

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=_NO_STORE)

    routes = [Route("/health", health, methods=["GET"])]
    if secret is not None:
        routes.append(_unsubscribe_route(workspace, secret))
    if webhooks:
        routes.append(_webhook_route(workspace, dict(webhooks)))
    if len(routes) == 1:
        raise ConfigError(
            "`pressdist serve` has nothing to answer",
            hint="set [send] unsubscribe_url with {token}, or webhook_signing_key_env "
            'in a [gateways.NAME] with api = "mailgun"',
        )
    return Starlette(routes=routes)


def _unsubscribe_route(workspace: Workspace, secret: bytes) -> Route:
    """The path of ``unsubscribe_url``: the page (GET) and the objection itself (POST)."""
    max_age_days = workspace.config.send.unsubscribe_max_age_days
    endpoint = Endpoint.of(workspace.config.send.unsubscribe_url)
    limiter = _Limiter(RATE_PER_MINUTE)

    def token_of(request: Request) -> str:
        if endpoint.query_key is None:
            return request.path_params.get("token", "")
        return request.query_params.get(endpoint.query_key, "")

    def checked(request: Request) -> UnsubscribeRequest | None:
        try:
            return verify(secret, token_of(request), max_age_days=max_age_days)
        except InvalidToken:
            return None

    async def unsubscribe(request: Request) -> Response:
        client = request.client.host if request.client else "-"
        if not limiter.allow(client, time.monotonic()):
            return PlainTextResponse("too many requests", status_code=429, headers=_NO_STORE)
        found = checked(request)
        accept = request.headers.get("accept-language", "")
        page = _Page(workspace, _language(workspace, accept, found))
        if found is None:
            log.info("%s %s 400 invalid token", request.method, endpoint.path)
            return page.refused()
        if request.method == "GET":
            log.info("GET %s 200 recipient %s", endpoint.path, _hashed(found.address))
            return page.question(found)
        body = await _body(request)
        if body is None:
            return PlainTextResponse("request too large", status_code=413, headers=_NO_STORE)
        form = parse_qs(body.decode("utf-8", "replace"))
        one_click = form.get("List-Unsubscribe") == ["One-Click"]
        scope = "list" if one_click else (form.get("scope") or [""])[0]
        if scope not in ("list", "all"):
            return page.refused()
        if not found.list_name:  # a test copy's link: it names no list, so it means all
            scope = "all"
        suppression.add(
            workspace,
            found.address,
            list_name=found.list_name if scope == "list" else None,
            reason="unsubscribed",
            source="one-click (RFC 8058)" if one_click else "unsubscribe page",
        )
        log.info("POST %s 200 %s recipient %s", endpoint.path, scope, _hashed(found.address))
        if one_click:
            return PlainTextResponse("unsubscribed", headers=_NO_STORE)
        return page.done(found, everywhere=scope == "all")

    return Route(endpoint.path, unsubscribe, methods=["GET", "POST"])


def _webhook_route(workspace: Workspace, keys: dict[str, bytes]) -> Route:
    """``POST /webhooks/mailgun/<gateway>`` for each gateway in ``keys``."""
    # One webhook at a time: the token's replay check and its record are one
    # step, so that the same token posted twice at once is taken only once.
    lock = threading.Lock()

    def take(gateway: str, key: bytes, body: bytes | None) -> mailgun_webhooks.Answer:
        with lock:
            return mailgun_webhooks.answer(workspace, gateway, key, body)

    async def webhook(request: Request) -> Response:
        gateway = request.path_params["gateway"]
        key = keys.get(gateway)
        if key is None:
            return PlainTextResponse("not found", status_code=404, headers=_NO_STORE)
        body = await _body(request, mailgun_webhooks.MAX_BODY)
        # The journal and the suppression list are files: written off the event loop.
        said = await run_in_threadpool(take, gateway, key, body)
        log.info("POST /webhooks/mailgun/%s %s", gateway, said.log)
        return PlainTextResponse(said.text, status_code=said.status, headers=_NO_STORE)

    return Route(mailgun_webhooks.PATH, webhook, methods=["POST"])


async def _body(request: Request, limit: int = MAX_BODY) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` (read no further)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            return None
    return data
