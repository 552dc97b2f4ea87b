"""The portal's pages and downloads.  Each view checks the role (`needs`), calls one
service function (reports.services) and renders or sends the result."""

from __future__ import annotations

import io
import math
from datetime import timedelta
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

from reports.model.errors import ImpactError, UnknownDataset
from reports.model.fields import FIELD_BY_NAME, STATUS_TARGETS
from reports.services import audit, delivery, uploads, users
from reports.services import portal as views
from reports.services.builds import CATALOGUE, NOT_PUBLISHABLE
from reports.store.paths import fit_name

from .forms import ActionForm, DeliveryForm, LoginForm, UploadForm, UserForm
from .portal import TEMPLATES, PortalUser, address, portal
from .security import BRIEFING_CSP, allowed, needs

bp = Blueprint("portal", __name__)


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


def _held() -> uploads.Held | None:
    return uploads.find(portal().store, session.get("pending_upload"), current_user.name)


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
        name = uploads.dataset_name(name)
    except ImpactError as e:
        form.new_dataset.errors = [str(e)]
        return render_template("upload.html", form=form), 400
    try:
        uploads.check_as_of(form.as_of.data)
    except ImpactError as e:
        form.as_of.errors = [str(e)]
        return render_template("upload.html", form=form), 400
    try:
        held = uploads.hold(portal().store, form.file.data.stream,
                            form.file.data.filename or "", name, as_of=form.as_of.data,
                            note=form.note.data or "", user=current_user.name)
    except ImpactError as e:
        form.file.errors = [str(e)]
        return render_template("upload.html", form=form), 400
    session["pending_upload"] = held.token
    return _answer(uploads.check_and_store(portal().store, held, by=current_user.name,
                                           check=portal().checker.check, record=_log))


@bp.route("/upload/map", methods=["POST"])
@needs("map")
def upload_map() -> Any:
    held = _held()
    if not ActionForm().validate_on_submit() or held is None:
        flash("That upload is no longer held; upload the file again.")
        return redirect(url_for("portal.upload"))
    try:
        result = uploads.choose(portal().store, held, _choices(), by=current_user.name,
                                check=portal().checker.check, record=_log)
    except uploads.BadChoice:
        abort(400)
    return _answer(result)


def _pairs(name: str, value: str) -> dict[str, str]:
    """The form's NAME-i -> VALUE-i pairs (i from 0 until one is missing)."""
    out: dict[str, str] = {}
    for i in range(len(request.form)):
        key = request.form.get(f"{name}-{i}")
        if key is None:
            break
        out[key] = request.form.get(f"{value}-{i}", "")
    return out


def _choices() -> uploads.Choices:
    """The mapping form's answers; a question the page did not ask is None."""
    form = request.form
    return uploads.Choices(
        header=form.get("header", ""), shown=form.get("shown", ""),
        columns=_pairs("heading", "field"), read_as=_pairs("heading", "was"),
        statuses=_pairs("word", "status"), default_status=form.get("default_status"),
        one_post_per_row=("one_post_per_row" in form) if "asked_one_post" in form else None,
        where=form.get("where"))


def _answer(result: uploads.UploadResult) -> Any:
    """The page for an upload's outcome."""
    held = result.held
    if held is None:
        session.pop("pending_upload", None)
    original = held.original if held else (
        result.version.original_name if result.version else "The file")
    if result.outcome == uploads.NEEDS_MAPPING:
        return render_template("mapping.html", step=result.step, original=original,
                               problem=result.problem,
                               statuses=STATUS_TARGETS), 200
    if result.outcome == uploads.REFUSED:
        return render_template("upload_result.html", problem=result.problem,
                               original=original), 422
    if result.outcome == uploads.INVALID:
        assert held is not None
        return render_template("upload_result.html", findings=result.findings,
                               original=original, step=result.step,
                               statuses=STATUS_TARGETS, token=held.token,
                               annotated=result.annotated), 422
    v = result.version
    return render_template("upload_result.html", result=result.stored, version=v,
                           changed=uploads.version_changes(portal().store, result),
                           original=original, slug=v.slug, findings=result.findings)


@bp.route("/upload/<token>/annotated.xlsx")
@needs("upload")
def annotated(token: str) -> Any:
    held = uploads.find(portal().store, token, current_user.name)
    found = held.annotated() if held else None
    if held is None or found is None:
        abort(404)
    _log("download", f"annotated copy of {held.original}")
    return _send(found, fit_name(f"{Path(held.original).stem}-checked{found.suffix}"),
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/upload/<token>/findings.csv")
@needs("upload")
def findings(token: str) -> Any:
    """Every finding of a held invalid upload (the page shows only the first few)."""
    held = uploads.find(portal().store, token, current_user.name)
    found = held.findings_file() if held else None
    if held is None or found is None:
        abort(404)
    _log("download", f"the findings of {held.original}")
    return _send(found, fit_name(f"{Path(held.original).stem}-findings.csv"), "text/csv")


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
