"""Serving the portal on waitress (`impact serve`).

waitress answers some requests itself, before the application sees them: a body over
its `max_request_body_size` (judged from Content-Length), a Content-Length that is not
a number, headers over its `max_request_header_size`, a malformed request line.  Each
of its limits is set above the portal's own (`web.limits`), so that Flask answers them
with the site's page; and the few requests waitress still refuses itself (a malformed
Content-Length never reaches a WSGI application) get the same styled page with the
security headers, made by the application (`StyledErrorTask`), not waitress's plain
text.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from .app import BAD_LENGTH, ERRORS, error_response
from .limits import MAX_HEADER_BYTES
from .security import HEADERS

log = logging.getLogger("impact.serve")


def waitress_limits(app: Flask) -> dict[str, int]:
    """waitress's limits, each above the portal's: 4 times the upload limit for a body
    (so it is Flask that refuses an upload from its Content-Length), and 8 times the
    portal's limit on headers."""
    body = int(app.config["MAX_CONTENT_LENGTH"])
    headers = int(app.config.get("MAX_HEADER_BYTES", MAX_HEADER_BYTES))
    return {"max_request_body_size": max(4 * body, body + 16 * 1024 * 1024),
            "max_request_header_size": 8 * headers}


def styled_error(app: Flask, code: int, detail: str = ""
                 ) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of the portal's error page for `code`, made outside
    any request (for waitress's own refusals; `detail` is waitress's reason)."""
    known = code if code in ERRORS else (400 if 400 <= code < 500 else 500)
    if code == 400 and "Content-Length" in detail:
        known = BAD_LENGTH
    with app.test_request_context("/"):
        page, status = error_response(known)
    body = page.encode("utf-8")
    reason = {400: "Bad Request", 413: "Request Entity Too Large",
              431: "Request Header Fields Too Large"}.get(code, "Error")
    headers = [("Content-Type", "text/html; charset=utf-8"), *HEADERS.items(),
               ("Cache-Control", "no-store")]
    return f"{code if code == status else status} {reason}", headers, body


class StyledErrorTask(ErrorTask):
    """waitress's error response, as the portal's styled page with its headers."""

    app: Flask

    def execute(self) -> None:
        error = self.request.error
        code = int(getattr(error, "code", 400))
        try:
            status, headers, body = styled_error(self.app, code, str(getattr(error, "body", "")))
        except Exception:          # never worse than waitress's own answer
            log.exception("cannot make the styled %s page", code)
            super().execute()
            return
        self.status = status
        self.response_headers.extend(headers)
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


def make_server(app: Flask, *, host: str, port: int, threads: int) -> Any:
    """A waitress server for `app` with the portal's limits and error pages."""
    task = type("PortalErrorTask", (StyledErrorTask,), {"app": app})
    channel = type("PortalChannel", (HTTPChannel,), {"error_task_class": task})
    sockets: dict[int, Any] = {}
    server = create_server(app, map=sockets, host=host, port=port, threads=threads,
                           ident="impact", **waitress_limits(app))
    for listener in [server, *sockets.values()]:
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel
    return server


def serve(app: Flask, *, host: str, port: int, threads: int) -> None:
    logging.basicConfig()
    make_server(app, host=host, port=port, threads=threads).run()
