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
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from reports.services.checking import watch_server

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


def make_server(app: Flask, *, threads: int, host: str = "127.0.0.1", port: int = 8000,
                listener: socket.socket | None = None) -> Any:
    """A waitress server for `app` with the portal's limits and error pages, listening
    on `host`:`port`, or accepting on `listener` (a socket already listening)."""
    task = type("PortalErrorTask", (StyledErrorTask,), {"app": app})
    channel = type("PortalChannel", (HTTPChannel,), {"error_task_class": task})
    sockets: dict[int, Any] = {}
    where: dict[str, Any] = ({"sockets": [listener]} if listener is not None
                             else {"host": host, "port": port})
    server = create_server(app, map=sockets, threads=threads, ident="impact", **where,
                           **waitress_limits(app))
    for accepting in [server, *sockets.values()]:
        if isinstance(accepting, BaseWSGIServer):
            accepting.channel_class = channel
    return server


def serve(app: Flask, *, host: str, port: int, threads: int) -> None:
    logging.basicConfig()
    make_server(app, host=host, port=port, threads=threads).run()


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


RESTARTS = 5            # a process that ends this often within RESTART_WINDOW_S ...
RESTART_WINDOW_S = 60.0  # ... is not started again: the whole server stops, exit 1


def serve_processes(make_app: Callable[[int], Flask], close_app: Callable[[Flask], None],
                    *, host: str, port: int, threads: int, processes: int) -> int:
    """Serve the portal from `processes` server processes that accept on one listening
    socket, so that requests use every core (one process's Python runs on one core at a
    time).  `make_app(slot)` makes each process's application after it has started
    (nothing made before the fork is shared: each has its own database connections,
    threads and worker pools); everything they share lives in the store (sessions'
    users, the login throttle, the build queue, the audit log).  On SIGTERM or SIGINT a
    server process stops serving and `close_app` ends its worker pools.

    This process only supervises: it binds the socket, starts the server processes,
    starts another in place of one that ends (a crash, or a kill) and, on SIGTERM or
    SIGINT, stops them all; a server process ends by itself when the supervisor is
    killed, so that none is left holding the port.  Returns the exit code: 0 after a
    requested stop, 1 when a process kept ending (RESTARTS times within
    RESTART_WINDOW_S)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=1024)
    children: dict[int, int] = {}                 # pid -> slot
    ended: dict[int, list[float]] = {}            # slot -> when its processes ended
    stopping = False

    supervisor = os.getpid()

    def start(slot: int) -> None:
        pid = os.fork()
        if pid:
            children[pid] = slot
            return
        code = 1                                  # the server process
        app: Flask | None = None
        try:
            signal.signal(signal.SIGTERM, _interrupt)
            signal.signal(signal.SIGINT, _interrupt)
            watch_server(supervisor)     # a killed supervisor leaves no server behind
            logging.basicConfig()
            app = make_app(slot)
            server = make_server(app, threads=threads, listener=listener)
            print(f"impact: server process {slot + 1} ready (pid {os.getpid()})",
                  file=sys.stderr, flush=True)
            server.run()
        except KeyboardInterrupt:
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            if app is not None:
                close_app(app)
            sys.stderr.flush()
            os._exit(code)

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(processes):
        start(slot)
    failed = False
    while children:
        pid, status = os.wait()
        if pid not in children:
            continue
        slot = children.pop(pid)
        if stopping:
            continue
        now = time.monotonic()
        recent = [t for t in ended.get(slot, []) if now - t < RESTART_WINDOW_S] + [now]
        ended[slot] = recent
        how = (f"was killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"ended with exit code {os.waitstatus_to_exitcode(status)}")
        if len(recent) >= RESTARTS:
            print(f"impact: server process {slot + 1} {how}, {len(recent)} times in "
                  f"{RESTART_WINDOW_S:.0f} s; stopping the portal", file=sys.stderr)
            failed = True
            stop(signal.SIGTERM, None)
            continue
        print(f"impact: server process {slot + 1} {how}; starting another",
              file=sys.stderr)
        start(slot)
    listener.close()
    return 1 if failed else 0
