"""The portal's pages and downloads.  Each view checks the role (`needs`), calls one
service function (reports.services) and renders or sends the result."""

from __future__ import annotations

import io
import json
import math
import os
import re
import secrets
import shutil
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from werkzeug.utils import secure_filename

from reports.model.errors import ImpactError, UnknownDataset
from reports.model.fields import FIELD_BY_NAME, FIELDS, STATUS_TARGETS
from reports.services import audit, datasets, delivery, outputs, users
from reports.services import portal as views
from reports.services.builds import CATALOGUE, NOT_PUBLISHABLE
from reports.services.source import HowToRead
from reports.store.db import MAX_FILE_NAME
from reports.store.files import PRIVATE_FILE, private_dir, write_private
from reports.store.paths import check_name, fit_name

from .app import TEMPLATES, PortalUser, address, portal
from .forms import ActionForm, DeliveryForm, LoginForm, UploadForm, UserForm
from .security import BRIEFING_CSP, allowed, needs

bp = Blueprint("portal", __name__)
PENDING = "portal-pending"
PENDING_KEEP_S = 3600
SUFFIXES = (".xlsx", ".xlsm", ".csv")
EARLIEST = date(1990, 1, 1)     # as `impact upload --as-of`: no schedule is older
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
FINDINGS_CSV = "findings.csv"       # a held invalid upload's findings, every one


@bp.app_context_processor
def _context() -> dict[str, Any]:
    # formdata=None: rendering a page (even the 413 page) never reads the request body
    return {"allowed": allowed, "user": current_user, "action_form": ActionForm(formdata=None),
            "fields": FIELD_BY_NAME,
            "max_upload_mb": f"{current_app.config['MAX_CONTENT_LENGTH'] / 2**20:g}"}


def _log(action: str, what: str) -> None:
    who = current_user.name if current_user.is_authenticated else "(anonymous)"
    audit.record(portal().accounts, who, action, what, address())


@bp.route("/static/portal.css")
def stylesheet() -> Response:
    folder = Path(current_app.template_folder or TEMPLATES)
    return send_file(folder / "portal.css", mimetype="text/css", max_age=3600)


@bp.route("/")
def index() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("portal.login"))
    return redirect(url_for("portal.datasets_page"))


# -- logging in and out ----------------------------------------------------------


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site ("/datasets/x?y"), else None: it must start
    with one "/" (not "//", which a browser reads as another host), hold no backslash
    (which some browsers read as "/") or control character, and have no scheme or host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    problem = None
    status = 200
    headers: dict[str, str] = {}
    target = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        result = users.log_in(portal().accounts, form.name.data or "", form.password.data or "",
                              address=address())
        if result.user is not None and result.token is not None:
            session.clear()
            session.permanent = True
            login_user(PortalUser(result.user, result.token))
            return redirect(target or url_for("portal.datasets_page"))
        status = 401
        if result.refused is not None and result.wait is not None:
            status = 429
            seconds = _seconds(result.wait)
            headers["Retry-After"] = str(seconds)
            problem = (f"Too many tries from here; wait {seconds} seconds and try again. "
                       f"Your password was not checked.")
        else:
            problem = "The user name or password is wrong."
            if result.wait is not None:
                problem += (f" Wait {_seconds(result.wait)} seconds before the next try "
                            f"from here.")
    elif request.method == "POST":
        status = 400
        problem = "Give your user name and password."
    return render_template("login.html", form=form, problem=problem, next=target), status, \
        headers


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if current_user.is_authenticated:
        users.log_out(portal().accounts, current_user.token, who=current_user.name,
                      address=address())
        logout_user()
    session.clear()
    flash("You have logged out.")
    return redirect(url_for("portal.login"))


# -- datasets --------------------------------------------------------------------


@bp.route("/datasets")
@needs("datasets")
def datasets_page() -> Any:
    store = portal().store
    return render_template("datasets.html", items=store.datasets(),
                           published=portal().accounts.published())


def _dataset_or_404(slug: str) -> Any:
    try:
        return views.find_dataset(portal().store, slug)
    except UnknownDataset:
        abort(404)


@bp.route("/datasets/<slug>")
@needs("datasets")
def dataset_page(slug: str) -> Any:
    _dataset_or_404(slug)
    kinds = {k.split(":", 1)[1] for k in users.PERMISSIONS.get(current_user.role, ())
             if k.startswith("monthly:")}
    view = views.dataset_view(portal().store, portal().accounts, slug, roles_monthly=kinds,
                              may=allowed)
    return render_template("dataset.html", view=view, audiences=views.AUDIENCES,
                           building=bool(portal().builder.workers))


def _send(data: bytes | Path, name: str, mimetype: str) -> Response:
    body = io.BytesIO(data) if isinstance(data, bytes) else data
    return send_file(body, mimetype=mimetype, as_attachment=True, download_name=name)


PREPARING_REFRESH_S = 5


def _preparing(what: str) -> Response:
    """The small "being prepared" page (202): the browser asks again by itself."""
    response = Response(render_template("preparing.html", what=what,
                                        seconds=PREPARING_REFRESH_S), 202)
    response.headers["Refresh"] = str(PREPARING_REFRESH_S)
    response.headers["Retry-After"] = str(PREPARING_REFRESH_S)
    return response


def _output(slug: str, number: int | None, output: str) -> Any:
    """One output of a version (None: the latest): the finished file; a "being prepared"
    page (202, with a Refresh header) while it is built; or why it cannot be made."""
    wanted = CATALOGUE.get(output)
    if wanted is None:
        abort(404)
    if not allowed(wanted.permission):
        abort(403)
    try:
        version = views.find_version(portal().store, slug, number)
        got = views.download(portal().store, portal().builder, version, output)
    except UnknownDataset:
        abort(404)
    what = f"{wanted.label} of '{version.dataset}' version {version.number}"
    if got.failed is not None:
        title = ("Not publishable" if got.failed.startswith(NOT_PUBLISHABLE)
                 else "This file could not be made")
        return render_template("error.html", code=409, title=title,
                               message=f"{what}: {got.failed}"), 409
    if got.path is None:
        return _preparing(what)
    _log("download", what)
    if wanted.inline:       # the briefing's web page, shown in the browser: its own
        response = send_file(io.BytesIO(got.path.read_bytes()),      # inline style, no script
                             mimetype=wanted.mimetype)
        response.headers["Content-Security-Policy"] = BRIEFING_CSP
        return response
    return _send(got.path, views.download_name(version, output), wanted.mimetype)


@bp.route("/datasets/<slug>/v<int:number>/<output>")
@needs("datasets")
def version_output(slug: str, number: int, output: str) -> Any:
    """Any output of any version, as the role allows (the dataset page lists them)."""
    return _output(slug, number, output)


@bp.route("/datasets/<slug>/briefing/<audience>.pdf")
@needs(lambda slug, audience: f"brief:{audience}")
def briefing(slug: str, audience: str) -> Any:
    return _output(slug, None, f"briefing-{audience}.pdf")


@bp.route("/datasets/<slug>/briefing/<audience>.html")
@needs(lambda slug, audience: f"brief:{audience}")
def briefing_page(slug: str, audience: str) -> Any:
    """The briefing as its accessible web page (issue 12), shown in the browser."""
    return _output(slug, None, f"briefing-{audience}.html")


@bp.route("/datasets/<slug>/summary/<kind>.xlsx")
@needs(lambda slug, kind: f"summary:{kind}")
def summary(slug: str, kind: str) -> Any:
    return _output(slug, None, f"summary-{kind}.xlsx")


@bp.route("/datasets/<slug>/changes/<kind>.csv")
@needs(lambda slug, kind: f"changes:{kind}")
def changes(slug: str, kind: str) -> Any:
    return _output(slug, None, f"changes-{kind}.csv")


@bp.route("/datasets/<slug>/monthly/<month>/<path:rel>")
@needs("datasets")
def monthly_file(slug: str, month: str, rel: str) -> Any:
    d = _dataset_or_404(slug)
    try:
        path, kind = views.monthly_path(portal().store, slug, month, rel)
    except UnknownDataset:
        abort(404)
    if not allowed(f"monthly:{kind}"):
        abort(403)
    _log("download", f"monthly {month} file {rel} of '{d.name}'")
    mimetype = {".pdf": "application/pdf", ".json": "application/json"}.get(
        path.suffix, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return _send(path, f"{month}-{rel.replace('/', '-')}", mimetype)


@bp.route("/datasets/<slug>/publish", methods=["POST"])
@needs("publish")
def publish(slug: str) -> Any:
    _dataset_or_404(slug)
    if ActionForm().validate_on_submit():
        got = views.publish(portal().store, portal().accounts, portal().builder, slug,
                            by=current_user.name, address=address())
        if got.path is not None:
            flash("The public briefing is published at its public address.")
        elif got.failed is not None:
            flash(f"Not published: the public briefing fails the disclosure audit. "
                  f"{got.failed.removeprefix(NOT_PUBLISHABLE)}")
        else:
            flash("Not published yet: the public briefing is still being prepared. Publish "
                  "it again in a minute.")
    return redirect(url_for("portal.dataset_page", slug=slug))


@bp.route("/datasets/<slug>/unpublish", methods=["POST"])
@needs("publish")
def unpublish(slug: str) -> Any:
    _dataset_or_404(slug)
    if ActionForm().validate_on_submit():
        views.unpublish(portal().store, portal().accounts, slug, by=current_user.name,
                        address=address())
        flash("The public briefing is withdrawn.")
    return redirect(url_for("portal.dataset_page", slug=slug))


@bp.route("/public/<slug>/briefing.pdf")
def public_briefing(slug: str) -> Any:
    """The one thing reachable without login: a published public briefing that passes
    the public audit."""
    got = views.published_briefing(portal().store, portal().accounts, portal().builder, slug)
    if got is None:
        abort(404)
    if got.path is None:
        return _preparing("The public briefing")
    _log("download", f"the published public briefing of {slug}")
    return send_file(got.path, mimetype="application/pdf", download_name=f"{slug}-public.pdf")


# -- uploading -------------------------------------------------------------------


def _pending_root() -> Path:
    root = private_dir(portal().store.root / PENDING)
    cutoff = time.time() - PENDING_KEEP_S
    for old in root.iterdir():
        try:
            if old.is_dir() and not old.is_symlink() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            continue
    return root


def _pending(token: str | None) -> tuple[Path, dict[str, Any]] | None:
    """A held upload of this user: its folder and what it says (None if gone)."""
    if not token or not _TOKEN.fullmatch(token):
        return None
    folder = portal().store.root / PENDING / token
    try:
        meta = json.loads((folder / "upload.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("user") != current_user.name:
        return None
    return folder, meta


def _drop(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _dataset_choices() -> list[tuple[str, str]]:
    return [("", "(a new dataset)")] + [(d.name, d.name) for d in portal().store.datasets()]


@bp.route("/upload", methods=["GET", "POST"])
@needs("upload")
def upload() -> Any:
    form = UploadForm()
    form.dataset.choices = _dataset_choices()
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("upload.html", form=form), status
    name = (form.new_dataset.data or "").strip() or (form.dataset.data or "")
    try:
        name = check_name(name)
    except ImpactError as e:
        # a blank name, or one check_name refuses (too long, a control character...)
        form.new_dataset.errors = [f"{str(e)[:1].upper()}{str(e)[1:]}." if name else
                                   "Choose an existing dataset or give a new name."]
        return render_template("upload.html", form=form), 400
    as_of = form.as_of.data
    if not EARLIEST <= as_of <= date.today() + timedelta(days=366):
        form.as_of.errors = ["The as-of date is before 1990 or more than a year ahead; "
                             "check it."]
        return render_template("upload.html", form=form), 400
    # the name as given, kept whole for the version's history (cut only past the store's
    # 500 characters, which no file system allows); the held copy's name fits 255 bytes
    original = fit_name(Path(form.file.data.filename or "upload").name, MAX_FILE_NAME,
                        chars=True)
    suffix = Path(original).suffix.lower()
    if suffix not in SUFFIXES:
        form.file.errors = [f"{original} is not an xlsx, xlsm or csv file."]
        return render_template("upload.html", form=form), 400
    saved = views.saved_reading(portal().store, name)    # the dataset's profile, if any
    token = secrets.token_urlsafe(24)
    folder = private_dir(_pending_root() / token)
    safe = secure_filename(original) or f"upload{suffix}"
    if Path(safe).suffix.lower() != suffix:
        safe += suffix
    safe = fit_name(safe)
    fd = os.open(folder / safe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as held:      # owner-only, whatever the umask
        os.fchmod(held.fileno(), PRIVATE_FILE)
        form.file.data.save(held)
    meta = {"user": current_user.name, "dataset": name, "as_of": form.as_of.data.isoformat(),
            "note": form.note.data or "", "file": safe, "original": original,
            "mapping": list(saved.mapping) if saved else [],
            "status_map": list(saved.status_map) if saved else []}
    write_private(folder / "upload.json", json.dumps(meta).encode("utf-8"))
    session["pending_upload"] = token
    return _check_and_store(folder, meta)


@bp.route("/upload/map", methods=["POST"])
@needs("map")
def upload_map() -> Any:
    held = _pending(session.get("pending_upload"))
    if not ActionForm().validate_on_submit() or held is None:
        flash("That upload is no longer held; upload the file again.")
        return redirect(url_for("portal.upload"))
    folder, meta = held
    fields = _chosen("heading", "field", FIELD_BY_NAME)
    statuses = _chosen("word", "status", STATUS_TARGETS)
    meta["mapping"] = list(views.mapping_from(fields, tuple(meta.get("mapping", []))))
    meta["status_map"] = list(views.mapping_from(statuses, tuple(meta.get("status_map", []))))
    write_private(folder / "upload.json", json.dumps(meta).encode("utf-8"))
    _log("mapping", f"reading {meta['original']} for '{meta['dataset']}': columns "
                    f"{'; '.join(meta['mapping']) or '(none)'}; status words "
                    f"{'; '.join(meta['status_map']) or '(none)'}")
    return _check_and_store(folder, meta)


def _chosen(name: str, value: str, allowed_values: Any) -> dict[str, str]:
    """The mapping form's choices: NAME-i (a heading or word) -> VALUE-i ("" for none);
    400 for a value that is not one of `allowed_values`."""
    out: dict[str, str] = {}
    for i in range(len(request.form)):
        key = request.form.get(f"{name}-{i}")
        if key is None:
            break
        chosen = request.form.get(f"{value}-{i}", "")
        if chosen and chosen not in allowed_values:
            abort(400)
        out[key] = chosen
    return out


def _check_and_store(folder: Path, meta: dict[str, Any]) -> Any:
    path = folder / meta["file"]
    saved = views.saved_reading(portal().store, meta["dataset"])
    how = HowToRead(mapping=tuple(meta.get("mapping", [])),
                    status_map=tuple(meta.get("status_map", []))).over(saved)
    named = f"{meta['original']} for '{meta['dataset']}'"
    try:
        report = portal().checker.check(path, how)
    except ImpactError as e:
        _drop(folder)
        _log("upload-refused", f"{named}: {e}")
        return render_template("upload_result.html", problem=str(e), meta=meta), 422
    needs_map = views.mapping_needs(report)
    if needs_map.needed and views.only_mapping_errors(report):
        _log("upload-needs-mapping", f"{named}: {len(needs_map.headings)} unknown heading(s)")
        return render_template("mapping.html", needs=needs_map, meta=meta, fields=FIELDS,
                               report=report), 200
    if not report.valid:
        annotated = None
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            annotated = folder / f"annotated{path.suffix.lower()}"
            try:
                outputs.save_annotated(report, annotated, perms=PRIVATE_FILE)
            except (ImpactError, OSError):
                annotated = None
        if not needs_map.needed:      # kept only while the mapping may still be changed
            path.unlink(missing_ok=True)
        # every finding, for download: the page shows the counts and the first few
        write_private(folder / FINDINGS_CSV, views.findings_csv(report))
        _log("upload-invalid", f"{named}: {len(report.findings.errors)} error(s); nothing "
                               f"stored")
        return render_template("upload_result.html", findings=views.findings_view(report),
                               meta=meta, needs=needs_map, fields=FIELDS, token=folder.name,
                               annotated=annotated is not None), 422
    store = portal().store
    try:
        result = datasets.upload(store, path, meta["dataset"],
                                 as_of=date.fromisoformat(meta["as_of"]),
                                 by=current_user.name, note=meta["note"], how=how,
                                 checked=report, original_name=meta["original"])
    except ImpactError as e:
        _drop(folder)
        _log("upload-refused", f"{named}: {e}")
        return render_template("upload_result.html", problem=str(e), meta=meta), 422
    finally:
        session.pop("pending_upload", None)
    _drop(folder)
    v = result.version
    assert v is not None
    _log("upload", f"{named}: version {v.number}" + ("" if result.created else
                                                      " (the same file as before)"))
    items = datasets.history_dict(store.versions(v.dataset))
    changed = next((i["changes"] for i in items if i["version"] == v.number), None)
    return render_template("upload_result.html", result=result, version=v, changed=changed,
                           meta=meta, slug=v.slug)


@bp.route("/upload/<token>/annotated.xlsx")
@needs("upload")
def annotated(token: str) -> Any:
    held = _pending(token)
    if held is None:
        abort(404)
    folder, meta = held
    found = [p for p in (folder / "annotated.xlsx", folder / "annotated.xlsm") if p.is_file()]
    if not found:
        abort(404)
    _log("download", f"annotated copy of {meta['original']}")
    return _send(found[0], fit_name(f"{Path(meta['original']).stem}-checked{found[0].suffix}"),
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/upload/<token>/findings.csv")
@needs("upload")
def findings(token: str) -> Any:
    """Every finding of a held invalid upload (the page shows only the first few)."""
    held = _pending(token)
    if held is None or not (held[0] / FINDINGS_CSV).is_file():
        abort(404)
    folder, meta = held
    _log("download", f"the findings of {meta['original']}")
    return _send(folder / FINDINGS_CSV, fit_name(f"{Path(meta['original']).stem}-findings.csv"),
                 "text/csv")


# -- users and the audit log (admin) ------------------------------------------


@bp.route("/users", methods=["GET", "POST"])
@needs("users")
def users_page() -> Any:
    form = UserForm()
    status = 200
    accounts = portal().accounts
    if form.validate_on_submit():
        try:
            users.add_user(accounts, form.name.data or "", form.role.data or "",
                           form.password.data or "", by=current_user.name, address=address())
            flash(f"User '{form.name.data}' added.")
            return redirect(url_for("portal.users_page"))
        except ImpactError as e:
            form.name.errors = [str(e)]
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("users.html", form=form, items=accounts.users()), status


@bp.route("/users/<name>/remove", methods=["GET", "POST"])
@needs("users")
def remove_user(name: str) -> Any:
    """GET: the confirmation page (nothing removed); POST (its form): remove."""
    if request.method == "GET":
        if name == current_user.name:
            flash("You cannot remove yourself.")
            return redirect(url_for("portal.users_page"))
        found = portal().accounts.user(name)
        if found is None:
            abort(404)
        return render_template("remove_user.html", item=found)
    if ActionForm().validate_on_submit():
        if name == current_user.name:
            flash("You cannot remove yourself.")
        else:
            try:
                users.remove_user(portal().accounts, name, by=current_user.name,
                                  address=address())
                flash(f"User '{name}' removed.")
            except ImpactError as e:
                flash(str(e))
    return redirect(url_for("portal.users_page"))


@bp.route("/audit")
@needs("audit")
def audit_page() -> Any:
    number = request.args.get("page", 1, type=int) or 1
    shown = audit.page(portal().accounts, number)
    if shown is None:
        abort(404)
    return render_template("audit.html", page=shown)


@bp.route("/audit.csv")
@needs("audit")
def audit_export() -> Any:
    body = audit.audit_csv(audit.entries(portal().accounts))
    _log("download", "the audit log as CSV")
    return _send(body.encode("utf-8"), "impact-audit.csv", "text/csv")


# -- delivery lists (admin) ------------------------------------------------------

RECENT_SENDS = 50


@bp.route("/delivery", methods=["GET", "POST"])
@needs("delivery")
def delivery_page() -> Any:
    """Who receives each dataset's monthly briefings by e-mail, and the last messages."""
    store = portal().store
    form = DeliveryForm()
    form.dataset.choices = [(n, n) for n in store.names()]
    status = 200
    if form.validate_on_submit():
        try:
            entry, kept = delivery.add_recipient(
                store, portal().accounts, form.dataset.data or "", form.audience.data or "",
                form.address.data or "", by=current_user.name, where=address())
            flash(f"{kept} {'added to' if entry else 'was already on'} the "
                  f"{form.audience.data} list of '{form.dataset.data}'.")
            return redirect(url_for("portal.delivery_page"))
        except ImpactError as e:
            form.address.errors = [str(e).replace("--to ", "")]
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("delivery.html", form=form, items=delivery.recipients(store),
                           receives=delivery.RECEIVES,
                           sends=delivery.sends(store, limit=RECENT_SENDS),
                           limit=RECENT_SENDS), status


@bp.route("/delivery/<int:entry_id>/remove", methods=["POST"])
@needs("delivery")
def remove_delivery(entry_id: int) -> Any:
    if ActionForm().validate_on_submit():
        gone = delivery.remove_entry(portal().store, portal().accounts, entry_id,
                                     by=current_user.name, where=address())
        flash(f"{gone.address} removed from the {gone.audience} list of '{gone.dataset}'."
              if gone else "That address was no longer on the list.")
    return redirect(url_for("portal.delivery_page"))
