"""The portal's secret key, security headers and role checks.

Every view is wrapped by `needs(action)`: no session → the login page; a session whose
role may not do `action` (`reports.services.users.PERMISSIONS`) → 403.  The check is
made on the server for every request; hiding a link is never the protection.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, request
from flask_login import current_user, login_required

from reports.services.users import may
from reports.store.db import Store
from reports.store.paths import PORTAL_SECRET_FILE, PORTAL_SECRET_META

SECRET_ENV = "IMPACT_SECRET_KEY"
SECRET_FILE = PORTAL_SECRET_FILE
SECRET_META = PORTAL_SECRET_META       # its key in a PostgreSQL store's meta table

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
# The HTML briefing (one self-contained page with its own stylesheet): inline style, an
# inline SVG's data images, and nothing else; no script at all.
BRIEFING_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                "form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def secret_key(store_root: Path, environ: dict[str, str] | None = None, *,
               store: Store | None = None) -> str:
    """IMPACT_SECRET_KEY, else, for a `store` on PostgreSQL, the key kept in its database
    (made once, by whichever server asks first: every server on the store, on any
    machine, then accepts the sessions another issued), else the key in
    STORE/portal-secret-key, made once with mode 0600 (every server process on the
    store's folder then shares it)."""
    env = os.environ if environ is None else environ
    if env.get(SECRET_ENV):
        return env[SECRET_ENV]
    shared = store.shared_secret(SECRET_META) if store is not None else None
    if shared is not None:
        return shared
    path = store_root / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("ascii").strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return path.read_text("ascii").strip()


def add_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response


def role() -> str | None:
    return getattr(current_user, "role", None) if current_user.is_authenticated else None


def allowed(action: str) -> bool:
    return may(role(), action)


def needs(action: str | Callable[..., str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Log in first, then 403 unless the role may do `action` (a name, or a function of
    the view's arguments that gives one, e.g. the audience of a briefing)."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            wanted = action(**kwargs) if callable(action) else action
            if not allowed(wanted):
                abort(403)
            return view(*args, **kwargs)

        return login_required(checked)

    return wrap
