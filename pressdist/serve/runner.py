"""Running the unsubscribe endpoint: the socket, uvicorn, and the secret it verifies with.

Owns `pressdist serve`'s process: it binds the address first (so ``--port 0``
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
from pressdist.workspace import Workspace


def serve(
    workspace: Workspace, host: str, port: int, *, ready: Callable[[str], None] | None = None
) -> None:
    """Answer unsubscribe requests on ``host:port`` until interrupted."""
    app = create_app(workspace, secret=signing_key(workspace))
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
