"""The command for what comes back: serve.

Thin: open the workspace, check what the endpoint needs, run it. The web
stack (Starlette, uvicorn) is imported inside the command (start-up: it is an
optional extra, and `pressdist --help` needs none of it).
"""

from __future__ import annotations

from typing import Annotated

import typer

from pressdist.cli.shell import app, console, open_workspace
from pressdist.errors import ConfigError


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", help="Port to listen on (0: any free one).")
    ] = 8080,
) -> None:
    """Answer one-click unsubscribes (RFC 8058) and Mailgun's webhooks."""
    ws = open_workspace()
    try:
        from pressdist.serve.runner import serve as run
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"`pressdist serve` needs the web extra ({exc.name} is not installed)",
            hint="pip install 'pressdist[serve]'",
        ) from None

    def ready(url: str) -> None:
        console().print(f"Listening on {url} (Ctrl+C stops)", markup=False, soft_wrap=True)

    run(ws, host, port, ready=ready)
