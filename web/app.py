"""The portal's Flask application: `create_app(store_dir)`, the app factory.

It registers the views' blueprint (`web.routes`), which reaches the portal's objects
through `web.portal` (`current_app.extensions`), never by importing this module.

It opens the store once (its engine is shared by every request thread), adds the
security headers, CSRF protection on every form, and Flask-Login sessions backed by
rows in the store (`reports.services.users`).  Served by waitress (`impact serve`),
never by Flask's development server.
"""

from __future__ import annotations

import os
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

from flask import Flask, current_app, render_template
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup

from reports.model.errors import Unpublishable
from reports.model.formats import show_controls
from reports.render import fixes
from reports.services import users
from reports.services.builds import Builder
from reports.services.checking import Checker
from reports.store.accounts import Accounts
from reports.store.db import Store

from .limits import MAX_HEADER_BYTES, BadContentLength, UndecodableName, add_limits
from .portal import EXTENSION, TEMPLATES, Portal, PortalUser, portal
from .routes import bp
from .security import add_headers, secret_key

MAX_UPLOAD = 20 * 1024 * 1024


def shown(value: Any) -> Any:
    """Every value a page prints (the templates' `finalize`): a control character in
    text from a spreadsheet or a user is shown escaped (ESC as `\\x1b`), as the CLI
    prints it (`reports.model.formats.show_controls`); the line feed stays."""
    if isinstance(value, Markup):       # markup made here (a form field): escaping a
        return Markup(show_controls(str(value)))    # control character adds no tag
    return show_controls(value) if isinstance(value, str) else value


def _templates() -> Path:
    """The pages' folder: the source tree's, else the installed package's."""
    if TEMPLATES.is_dir():
        return TEMPLATES
    return Path(str(files("reports.templates") / "portal"))


def create_app(store_dir: str | os.PathLike[str] | None = None, *, db: str | None = None,
               config: dict[str, Any] | None = None, check_workers: int = 0,
               build_workers: int = 0, build_priority: str = "idle") -> Flask:
    """The portal on the store at `store_dir` (else $IMPACT_STORE, else the default) with
    the database `db` (a PostgreSQL URL; else $IMPACT_DB, else the store's SQLite file).
    Uploads are checked in `check_workers` worker processes (0: in the request's thread;
    `impact serve` uses one per core; see `reports.services.checking`).  Each version's
    outputs are built by `build_workers` background builders (`impact serve` starts them;
    0: a download builds its file in its own thread; see `reports.services.builds`),
    whose processes run at `build_priority` (`builds.PRIORITIES`)."""
    templates = _templates()
    # no static folder: the one stylesheet has its own route, so nothing else under
    # templates/ is ever served
    app = Flask(__name__, template_folder=str(templates), static_folder=None)
    app.jinja_env.finalize = shown
    # a finding's fix in plain words ("Read the status 'Maybe' as deleted"), never as the
    # CLI's options: the portal's people do not type commands
    app.jinja_env.filters["with_fix"] = lambda f: fixes.with_words(f.message, f.fixes)
    # the portal may make its store (impact serve says so); it holds the store's lock only
    # for each upload and build, so that a restore can wait for it between them
    store = Store.open(store_dir, db=db, create=True, lock=None)
    app.extensions[EXTENSION] = Portal(store, Accounts(store), Checker(check_workers),
                                      Builder(store, build_workers, priority=build_priority))
    app.config.update(
        SECRET_KEY=secret_key(store.root, store=store),
        MAX_CONTENT_LENGTH=MAX_UPLOAD,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        SESSION_COOKIE_NAME="impact_session",
        PERMANENT_SESSION_LIFETIME=users.IDLE_LIMIT,
        SESSION_REFRESH_EACH_REQUEST=True,
        WTF_CSRF_TIME_LIMIT=int(users.IDLE_LIMIT.total_seconds()),
        SEND_FILE_MAX_AGE_DEFAULT=timedelta(hours=1),
    )
    app.config.update(config or {})
    CSRFProtect(app)
    add_limits(app)                   # before CSRF's hook: a refused body is never read
    add_headers(app)

    login = LoginManager(app)
    login.login_view = "portal.login"
    login.login_message = "Log in to see this page."
    login.session_protection = "basic"

    @login.user_loader
    def _load(token: str) -> PortalUser | None:
        user = users.session_user(portal().accounts, token)
        return PortalUser(user, token) if user is not None else None

    app.register_blueprint(bp)             # the views: web.routes

    @app.errorhandler(Unpublishable)
    def _unpublishable(e: Unpublishable) -> Any:
        # a public file that fails its disclosure audit is never sent, from any route
        return render_template("error.html", code=409, title="Not publishable",
                               message=str(e)), 409

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError) -> Any:
        return render_template("error.html", code=400, title="The form has expired",
                               message="The form was missing its security token or it had "
                                       "expired. Go back, reload the page and try again."), 400

    @app.errorhandler(BadContentLength)
    def _bad_length(e: BadContentLength) -> Any:
        return error_response(BAD_LENGTH)

    @app.errorhandler(UndecodableName)
    def _bad_name(e: UndecodableName) -> Any:
        return render_template("error.html", code=400, title="The file name cannot be read",
                               message="The name of the file you chose is not valid UTF-8 "
                                       "text, so the upload cannot be read. Rename the file "
                                       "and upload it again. Nothing was stored."), 400

    for code in ERRORS:
        app.register_error_handler(code, _error_page(code))
    return app


# code -> (title, message); {mb} is the upload limit, {kb} the limit on headers
ERRORS: dict[int, tuple[str, str]] = {
    400: ("Bad request", "The browser sent a request this server cannot read. Nothing was "
                         "read or stored. Go back, reload the page and try again."),
    403: ("Not allowed", "Your role does not allow this page or file."),
    404: ("Not found", "There is no such page, dataset or file."),
    405: ("Not allowed", "This address does not take that kind of request."),
    413: ("File too large", "Uploads are limited to {mb} MB; nothing was read or stored."),
    431: ("Request headers too large", "The request's headers (most often its cookies) add "
                                       "up to more than {kb} KB; nothing was read. Clear "
                                       "this site's cookies and try again."),
    500: ("Something went wrong", "This is a bug in impact; the server's log has the "
                                  "details. Nothing was changed by this request."),
}
BAD_LENGTH = -400          # a 400 for a Content-Length that is not a number of bytes
_BAD_LENGTH_PAGE = ("Bad request", "The request's Content-Length header is not a whole "
                                   "number of bytes, so its body cannot be read. Nothing "
                                   "was read or stored.")


def error_response(code: int) -> tuple[str, int]:
    """The site's styled error page for `code` (in a request context) and the status."""
    status = 400 if code == BAD_LENGTH else code
    title, message = _BAD_LENGTH_PAGE if code == BAD_LENGTH else ERRORS[code]
    config = current_app.config
    mb = f"{config['MAX_CONTENT_LENGTH'] / (1024 * 1024):g}"
    kb = f"{config.get('MAX_HEADER_BYTES', MAX_HEADER_BYTES) / 1024:g}"
    return render_template("error.html", code=status, title=title,
                           message=message.format(mb=mb, kb=kb)), status


def _error_page(code: int) -> Any:
    def handler(e: Exception) -> Any:
        return error_response(code)
    return handler
