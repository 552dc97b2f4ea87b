"""The portal's mapping step through Flask's test client (issue 26): each choice the
command line offers (the header row, what a column holds or ignore it, status words, a
default status, each row one post, a filter on a column) made by choosing in the page,
never by typing; the choices become the dataset's profile."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from reports.services import users
from reports.services.profiles import profile_of
from reports.store.accounts import Accounts
from reports.store.db import Store
from tests.conftest import make_csv, make_xlsx
from tests.portal_helpers import PASSWORD, csrf, log_in
from tests.test_read_choices import ODD_HEADER, ODD_ROWS, odd_rows
from web.app import create_app


class _Form(HTMLParser):
    """What a browser would send for the mapping form as it stands: hidden inputs,
    checked radios and checkboxes, each select's selected option (else its first)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}
        self.labels: set[str] = set()
        self.ids: list[str] = []
        self._select: str | None = None
        self._first = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "label" and "for" in a:
            self.labels.add(a["for"])
        if tag in ("input", "select") and a.get("type") != "hidden" and "id" in a:
            self.ids.append(a["id"])
        if tag == "input":
            kind = a.get("type", "text")
            if kind == "hidden" or (kind in ("radio", "checkbox") and "checked" in a):
                self.values[a["name"]] = a.get("value", "on")
        elif tag == "select":
            self._select, self._first = a["name"], True
            self.options[a["name"]] = []
        elif tag == "option" and self._select:
            self.options[self._select].append(a.get("value", ""))
            if self._first or "selected" in a:
                self.values[self._select] = a.get("value", "")
            if "selected" in a:
                self._first = False
            elif self._first:
                self._first = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def form_of(page: str) -> _Form:
    body = page.split('action="/upload/map"', 1)[1].split("</form>", 1)[0]
    parsed = _Form()
    parsed.feed("<form " + body)
    return parsed


def field_index(form: _Form, heading: str) -> int:
    return next(int(k.split("-")[1]) for k, v in form.values.items()
                if k.startswith("heading-") and v == heading)


@pytest.fixture()
def client(tmp_path: Path) -> Any:
    root = tmp_path / "store"
    with Store(root) as store:
        users.add_user(Accounts(store), "hr", "hr", PASSWORD, by="setup")
    app = create_app(root)
    c = app.test_client()
    assert log_in(c, "hr").status_code == 302
    c.root = root
    return c


def upload(client: Any, path: Path, dataset: str) -> str:
    token = csrf(client.get("/upload").get_data(as_text=True))
    with open(path, "rb") as fh:
        r = client.post("/upload", content_type="multipart/form-data", data={
            "csrf_token": token, "new_dataset": dataset, "as_of": "2024-03-01",
            "file": (fh, path.name)})
    return r.get_data(as_text=True)


def choose(client: Any, page: str, **changes: str) -> tuple[int, str]:
    """Post the mapping form as shown, with `changes` (by field name) chosen."""
    form = form_of(page)
    data = {**form.values, "csrf_token": csrf(page)}
    for name, value in changes.items():
        if name in form.options:
            assert value in form.options[name], (name, value, form.options[name])
        data[name] = value
    data = {k: v for k, v in data.items() if v is not None}
    r = client.post("/upload/map", data=data)
    return r.status_code, r.get_data(as_text=True)


def headline(page: str) -> str:
    m = re.search(r'<p class="headline" role="status">(.*?)</p>', page)
    assert m, page[:3000]
    return m.group(1)


def saved(client: Any, dataset: str) -> Any:
    with Store(client.root) as store:
        return profile_of(store, dataset)


def test_no_header_row_is_chosen_and_the_columns_then_the_words(client, tmp_path):
    page = upload(client, make_xlsx(tmp_path, odd_rows(), name="chart.xlsx"), "Chart")
    assert "Find the header row" in page and "--map" not in page
    form = form_of(page)
    assert form.values["header"] == "3:Posts"              # the likeliest, chosen
    role = field_index(form, "Role name")
    assert form.values[f"field-{role}"] == "title"          # a near miss, chosen
    assert set(form.ids) <= form.labels                     # every control is labelled
    answers = {f"field-{field_index(form, h)}": f for h, f in
               (("Section", "team"), ("Pay level", "grade"), ("Hours share", "fte"),
                ("Plan", "status"), ("Month", "ignore"))}
    status, page = choose(client, page, **answers)
    assert status == 200 and "Match the status words" in page, page
    form = form_of(page)
    words = {form.values[k]: k.replace("word", "status") for k in form.values
             if k.startswith("word-")}
    status, page = choose(client, page, **{words["stays"]: "retained",
                                           words["goes"]: "deleted"})
    assert status == 200
    total = sum(Decimal(r[3]) for r in ODD_ROWS)
    assert f"0.5 of {total} FTE" in headline(page)
    how = saved(client, "Chart")
    assert how.header_row == 3 and "Month=ignore" in how.mapping
    assert len(ODD_HEADER) == len(how.mapping)


def test_a_column_can_be_ignored(client, tmp_path):
    header = ["Team", "Job title", "Grade", "FTE", "Status", "Remarks"]
    path = make_csv(tmp_path, [header, ["A", "Clerk", "G4", "1", "Maybe", "x"],
                               ["A", "Officer", "G5", "1", "Deleted", "y"]])
    page = upload(client, path, "Remarks")
    form = form_of(page)
    remarks = field_index(form, "Remarks")
    assert "ignore" in form.options[f"field-{remarks}"]
    status, page = choose(client, page, **{f"field-{remarks}": "ignore", "status-0": "deleted"})
    assert status == 200 and "2 of 2 FTE" in headline(page)
    assert "Remarks=ignore" in saved(client, "Remarks").mapping


def test_a_known_column_can_be_read_as_another_field(client, tmp_path):
    header = ["Team", "Job title", "Grade", "FTE", "Status", "Budget FTE"]
    path = make_csv(tmp_path, [header, ["A", "Clerk", "G4", "1", "Maybe", "0.5"]])
    page = upload(client, path, "Budget")
    form = form_of(page)
    status, page = choose(client, page, **{
        f"field-{field_index(form, 'FTE')}": "ignore",
        f"field-{field_index(form, 'Budget FTE')}": "fte", "status-0": "deleted"})
    assert status == 200 and "0.5 of 0.5 FTE" in headline(page)
    assert set(saved(client, "Budget").mapping) == {"FTE=ignore", "Budget FTE=fte"}


ORGANOGRAM = [["Team", "Job title", "Grade", "FTE", "Month"],
              ["A", "Clerk", "G4", "1", "Jan"],
              ["A", "Clerk", "G4", "1", "Feb"],
              ["B", "Officer", "G5", "0.25", "Feb"]]


def test_a_default_status_for_rows_without_one(client, tmp_path):
    page = upload(client, make_csv(tmp_path, ORGANOGRAM), "Organogram")
    assert "Rows without a status" in page
    assert "retained" in form_of(page).options["default_status"]
    status, page = choose(client, page, default_status="retained")
    assert status == 200
    assert "2.25 FTE" in headline(page)                   # 1 + 1 + 0.25, none deleted
    assert saved(client, "Organogram").default_status == "retained"


def test_a_filter_on_a_column_of_stacked_snapshots(client, tmp_path):
    page = upload(client, make_csv(tmp_path, ORGANOGRAM), "Stacked")
    assert "Month=Feb" in form_of(page).options["where"]
    status, page = choose(client, page, default_status="retained", where="Month=Feb")
    assert status == 200
    assert "1.25 FTE" in headline(page)                   # Feb only: 1 + 0.25
    assert saved(client, "Stacked").where == ("Month=Feb",)


def test_each_row_one_post_is_a_checkbox(client, tmp_path):
    page = upload(client, make_csv(tmp_path, ORGANOGRAM), "Chart rows")
    form = form_of(page)
    assert "one_post_per_row" not in form.values                # unticked
    status, page = choose(client, page, default_status="retained", one_post_per_row="1")
    assert status == 200
    assert saved(client, "Chart rows").one_post_per_row is True


def test_a_header_row_or_answer_never_offered_is_refused(client, tmp_path):
    page = upload(client, make_xlsx(tmp_path, odd_rows(), name="chart.xlsx"), "Chart")
    for forged in ({"header": "0:Posts"}, {"default_status": "fired"},
                   {"field-0": "salary"}):
        form = form_of(page)
        r = client.post("/upload/map", data={**form.values, "csrf_token": csrf(page),
                                             **forged})
        assert r.status_code == 400, forged
