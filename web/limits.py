"""The portal's limits on a request, checked by Flask before anything reads its body.

A request whose `Content-Length` is over the upload limit (`MAX_CONTENT_LENGTH`) gets
413, one whose `Content-Length` is not a whole number of bytes gets 400, and one whose
headers add up to more than `MAX_HEADER_BYTES` gets 431: each as the site's own error
page with the security headers.  The hook runs first, before CSRF protection (which
reads the form), so a refused body is never read.

waitress has the same kinds of limits; `web.server` sets each of them above these, so
that in practice Flask is the one that answers (and a request that still reaches one of
waitress's limits gets the same styled page, see `web.server`).

A multipart form whose part headers are not UTF-8 (a file name sent as raw bytes in
another encoding) is refused as `UndecodableName`, saying so: werkzeug would otherwise
drop the whole form silently, and the missing CSRF token would read as "the form has
expired".
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Request, current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, RequestHeaderFieldsTooLarge
from werkzeug.formparser import FormDataParser

MAX_HEADER_BYTES = 32 * 1024          # the request line and every header, as sent
_DIGITS = re.compile(r"[0-9]+")


class BadContentLength(BadRequest):
    """A Content-Length that is not a whole number of bytes (negative, or not a number)."""


class UndecodableName(BadRequest):
    """A multipart part's headers (its file name) are not valid UTF-8."""


class _NamesParser(FormDataParser):
    def _parse_multipart(self, stream: Any, mimetype: str, content_length: int | None,
                         options: dict[str, str]) -> Any:
        try:
            return super()._parse_multipart(stream, mimetype, content_length, options)
        except UnicodeDecodeError:
            raise UndecodableName() from None


class PortalRequest(Request):
    """Flask's request, refusing a multipart form with a file name that is not UTF-8."""

    form_data_parser_class = _NamesParser


def header_bytes(environ: dict[str, object]) -> int:
    """About the bytes of the request line and headers as sent: 'Name: value' and a line
    break for each header, and the method, path and query."""
    total = len(str(environ.get("REQUEST_METHOD", ""))) + len(
        str(environ.get("RAW_URI") or environ.get("PATH_INFO", ""))) + len(
        str(environ.get("QUERY_STRING", ""))) + 12
    for key, value in environ.items():
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            total += len(key) + len(str(value)) + 4
    return total


def check_request() -> None:
    """Refuse a request from its headers alone (the body is not read)."""
    environ = request.environ
    if header_bytes(environ) > current_app.config.get("MAX_HEADER_BYTES", MAX_HEADER_BYTES):
        raise RequestHeaderFieldsTooLarge()
    given = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not given:
        return
    if not _DIGITS.fullmatch(given):
        raise BadContentLength()
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and int(given) > limit:
        raise RequestEntityTooLarge()


def add_limits(app: Flask) -> None:
    """Check every request's limits before any other hook (CSRF protection reads the
    form, so it must come after)."""
    app.config.setdefault("MAX_HEADER_BYTES", MAX_HEADER_BYTES)
    app.request_class = PortalRequest
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
