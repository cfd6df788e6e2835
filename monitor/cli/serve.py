"""The ``stance serve`` command: the dashboard and read API (``monitor.web``) under uvicorn."""

from __future__ import annotations

import os

import typer

from monitor.cli.common import out, settings
from monitor.errors import MonitorError

TOKEN_ENV = "STANCE_SERVE_TOKEN"


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``; registering twice is harmless."""
    if any(info.name == "serve" for info in app.registered_commands):
        return
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (others need STANCE_SERVE_TOKEN)."),
    port: int = typer.Option(8050, "--port", min=0, max=65535, help="Port to listen on."),
) -> None:
    """Serve the dashboard and the read API (/api/, schema at /api/openapi.json) until Ctrl-C.

    Bound to 127.0.0.1 by default. To listen on another address, set STANCE_SERVE_TOKEN: every page and
    API call then needs it (Authorization: Bearer TOKEN, or sign in on /login). With a token set, the
    labelling page needs it even locally.

    Example: stance serve --port 8050
    """
    import uvicorn

    from monitor import jobs  # heavy (SQLAlchemy, the models): only when the command runs
    from monitor.web import Access, WebOptions, create_app
    from monitor.web.security import is_loopback

    token = os.environ.get(TOKEN_ENV) or None
    public = not is_loopback(host)
    if public and not token:
        raise MonitorError(f"--host {host}: serving beyond this machine needs a token; set {TOKEN_ENV}")
    if token is not None and len(token) < 16:
        raise MonitorError(f"{TOKEN_ENV}: use at least 16 characters (e.g. `python3 -c 'import secrets; "
                           f"print(secrets.token_urlsafe())'`)")
    current = settings(ctx)
    jobs.open_store(current)  # create or upgrade the schema now, with a clear error if the database is unusable
    app = create_app(current, WebOptions(Access(token, public), warm=True))
    shown = f"[{host}]" if ":" in host else host
    out.print(f"dashboard on http://{shown}:{port}/ (Ctrl-C stops)"
              + ("; sign in with STANCE_SERVE_TOKEN" if token else ""), markup=False, highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
