"""Running `pressdist serve`: the socket, uvicorn, and the keys it verifies with.

Owns `pressdist serve`'s process: it decides what to answer (the unsubscribe
endpoint when ``unsubscribe_url`` has a ``{token}``, Mailgun's webhooks for
each gateway with ``webhook_signing_key_env``), reads those keys from the
environment before it listens, binds the address first (so ``--port 0``
works and the real port can be announced), then hands the socket to uvicorn
with its own access log off — the app logs each request without the address.
It does not know what a request means (``serve.app``).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import uvicorn

from pressdist.errors import ConfigError
from pressdist.mail.unsubscribe import signing_key
from pressdist.serve.app import create_app
from pressdist.serve.webhooks import signing_keys
from pressdist.workspace import Workspace


def serve(
    workspace: Workspace, host: str, port: int, *, ready: Callable[[str], None] | None = None
) -> None:
    """Answer unsubscribe requests and Mailgun's webhooks on ``host:port`` until interrupted."""
    keys = signing_keys(workspace)
    # Without webhooks the unsubscribe endpoint is all there is to serve, so its
    # settings are required (and their errors shown) even without a {token}.
    wants_links = "{token}" in workspace.config.send.unsubscribe_url or not keys
    secret = signing_key(workspace) if wants_links else None
    app = create_app(workspace, secret=secret, webhooks=keys)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose another --port, or stop what already listens there",
        ) from None
    bound = sock.getsockname()[1]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,  # its lines carry the query string, and so the token
        lifespan="off",
        limit_concurrency=64,
        timeout_keep_alive=5,
        server_header=False,
    )
    if ready is not None:
        ready(f"http://{host}:{bound}")
    uvicorn.Server(config).run(sockets=[sock])
