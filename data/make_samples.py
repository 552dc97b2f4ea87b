#!/usr/bin/env python3
"""Regenerate the sample schedules in this folder.

    python data/make_samples.py

Writes, next to this script:

  derbyshire_early_help.xlsx            three sheets, title rows, aliases, totals rows
  coop_working.xlsx                     one sheet of grouped rows
  coop_working.csv                      the same posts, UTF-8, comma-delimited
  coop_working_cp1252_semicolon.csv     the same posts, Windows-1252, semicolons
  broken_example.xlsx                   one fault per row, for demonstrations
  README.md                             what each file holds, with its key figures

All data is invented.  The headline figures follow public reports (see
/work/shared/seeds): Derbyshire's 2024 Early Help proposals ("132.5 full-time
jobs scrapped out of 221.5 full-time roles"; ten children's centres closing,
twelve kept) and a council's "Children's Centres and Cooperative Working"
budget lines.  No name, payroll number or post in these files describes a real
person.

The output is deterministic: no randomness except one fixed seed, workbook
created/modified dates fixed to 2024-04-01, and the dates of the entries inside
each .xlsx zip fixed too, so rerunning the script gives byte-identical files.
Only openpyxl (and the standard library) is used.  Every value is a plain
number or text, except the one formula in broken_example.xlsx.
"""

from __future__ import annotations

import csv
import io
import os
import random
import zipfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

HERE = Path(__file__).resolve().parent
FIXED_DATE = datetime(2024, 4, 1)
ZIP_DATE = (2024, 4, 1, 0, 0, 0)
CREATOR = "impact sample generator"
SEED = 20240412          # the date of the Derbyshire scrutiny meeting

D0 = Decimal(0)


# --------------------------------------------------------------------------- helpers

def num(value: Decimal | int) -> int | float:
    """A Decimal as the plain number a spreadsheet cell would hold."""
    d = Decimal(value)
    return int(d) if d == d.to_integral_value() else float(d)


def text(value: Decimal | int) -> str:
    """A number as Excel's General format shows it (and so as its CSV export writes it)."""
    d = Decimal(value)
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def new_workbook() -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    return wb


def save_workbook(wb: openpyxl.Workbook, path: Path) -> None:
    """Save with fixed document properties and fixed zip entry dates.

    openpyxl's own save() stamps `modified` with the current time and the zip
    entries with the current time, so the workbook is written through
    ExcelWriter into memory and then re-zipped with a fixed date.
    """
    wb.properties.creator = CREATOR
    wb.properties.lastModifiedBy = CREATOR
    wb.properties.created = FIXED_DATE
    wb.properties.modified = FIXED_DATE
    raw = io.BytesIO()
    archive = zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(wb, archive).save()          # closes the archive
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    write_bytes(path, out.getvalue())


def write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def bold_row(ws, row: int) -> None:
    for cell in ws[row]:
        cell.font = Font(bold=True)


# --------------------------------------------------------------------------- Derbyshire

# The ten children's centres the 2024 proposals close, and the twelve they keep.
CLOSING = ("Alfreton", "Bolsover", "Charnos (Ilkeston)", "Gamesley", "Hadfield",
           "Holme Hall (Chesterfield)", "Ironville", "Langley Mill", "Matlock",
           "Old Whittington")
KEPT = ("Heanor", "Glossop", "Buxton", "Brimington", "Birdholme", "North Wingfield",
        "Shirebrook", "Creswell", "Eckington", "Ilkeston", "Long Eaton", "Woodville")
COUNTY_HALL = "County Hall, Matlock"

# Invented annual salary at the middle of each grade, 2024/25, and an on-cost
# factor (employer National Insurance and pension) to turn it into a cost.
MID_SALARY = {6: 24_702, 7: 26_421, 8: 28_770, 9: 32_076, 10: 35_235, 11: 38_626,
              12: 42_403, 13: 46_549}
ON_COST = Decimal("1.29")

# Short names for the statuses, written out in the file as these words.
DEL, RET, REL = "Deleted", "Retained", "Relocated"
CSC = "Children's Social Care"


@dataclass
class Post:
    post_id: str
    team: str
    title: str
    grade: int
    location: str
    fte: Decimal
    posts: int
    status: str
    vacant: bool
    destination: str = ""
    cost: Decimal = D0


def _rows(team: str, spec: list[tuple]) -> list[tuple]:
    """(title, grade, location, fte, posts, status, vacant[, destination]) per row."""
    out = []
    for row in spec:
        title, grade, loc, fte, posts, status, vacant, *dest = row
        out.append((team, title, grade, loc, Decimal(fte), posts, status, vacant,
                    dest[0] if dest else ""))
    return out


EHP, SEHP, EHTM = "Early Help Practitioner", "Senior Early Help Practitioner", \
    "Early Help Team Manager"
FSW, YW, BSO = "Family Support Worker", "Youth Worker", "Business Support Officer"
HH, OW, CH = "Holme Hall (Chesterfield)", "Old Whittington", "Charnos (Ilkeston)"

EARLY_HELP = (
    _rows("Early Help North", [
        (EHTM, 12, "Brimington", "1.0", 1, RET, False),
        (EHTM, 12, HH, "1.0", 1, DEL, False),
        (SEHP, 10, "Brimington", "1.0", 1, RET, False),
        (SEHP, 10, OW, "1.0", 1, DEL, False),
        (SEHP, 10, "Bolsover", "0.8", 1, DEL, True),
        (EHP, 9, "Brimington", "3.0", 3, RET, False),
        (EHP, 9, "Brimington", "2.0", 2, DEL, False),
        (EHP, 9, "Birdholme", "2.6", 3, RET, False),
        (EHP, 9, "Birdholme", "3.0", 3, DEL, False),
        (EHP, 9, HH, "4.5", 5, DEL, False),
        (EHP, 9, OW, "3.0", 3, DEL, False),
        (EHP, 9, "Bolsover", "1.0", 1, DEL, True),
        (EHP, 9, "Bolsover", "0.6", 1, DEL, False),
        (EHP, 9, "North Wingfield", "2.0", 2, RET, False),
        (EHP, 9, "North Wingfield", "1.8", 2, DEL, False),
        (EHP, 9, "Eckington", "1.0", 1, RET, False),
        (EHP, 9, "Eckington", "1.0", 1, DEL, True),
        (EHP, 9, "Shirebrook", "2.0", 2, RET, False),
        (EHP, 9, "Shirebrook", "1.5", 2, DEL, False),
        (EHP, 9, "Creswell", "1.0", 1, RET, True),
        (EHP, 9, "Creswell", "1.0", 1, DEL, False),
        (FSW, 7, "Brimington", "2.0", 2, DEL, False),
        (FSW, 7, "Eckington", "0.5", 1, DEL, True),
        (YW, 8, "Shirebrook", "1.0", 1, DEL, False),
        (YW, 8, "Creswell", "0.6", 1, DEL, False),
        (BSO, 6, "Brimington", "1.0", 1, RET, False),
        (BSO, 6, HH, "1.0", 1, DEL, False),
        (BSO, 6, "Bolsover", "0.5", 1, DEL, True),
        (EHTM, 12, "Buxton", "1.0", 1, RET, False),
        (SEHP, 10, "Glossop", "1.0", 1, RET, False),
        (SEHP, 10, "Gamesley", "1.0", 1, DEL, False),
        (EHP, 9, "Glossop", "2.0", 2, RET, False),
        (EHP, 9, "Glossop", "1.0", 1, DEL, False),
        (EHP, 9, "Buxton", "2.0", 2, RET, False),
        (EHP, 9, "Buxton", "1.4", 2, DEL, False),
        (EHP, 9, "Gamesley", "2.0", 2, DEL, False),
        (EHP, 9, "Hadfield", "2.5", 3, DEL, False),
        (FSW, 7, "Hadfield", "1.0", 1, DEL, True),
        (YW, 8, "Buxton", "1.0", 1, DEL, True),
    ])
    + _rows("Early Help South", [
        (EHTM, 12, "Ilkeston", "1.0", 1, RET, False),
        (EHTM, 12, "Alfreton", "1.0", 1, DEL, False),
        (EHTM, 12, "Long Eaton", "1.0", 1, RET, False),
        (SEHP, 10, "Heanor", "1.0", 1, RET, False),
        (SEHP, 10, "Langley Mill", "1.0", 1, DEL, False),
        (SEHP, 10, "Matlock", "1.0", 1, DEL, True),
        (SEHP, 10, "Long Eaton", "1.0", 1, RET, False),
        (EHP, 9, "Heanor", "4.0", 4, RET, False),
        (EHP, 9, "Heanor", "2.0", 2, DEL, False),
        (EHP, 9, "Ilkeston", "4.0", 4, RET, False),
        (EHP, 9, "Ilkeston", "1.6", 2, DEL, False),
        (EHP, 9, CH, "3.0", 3, DEL, False),
        (EHP, 9, "Alfreton", "4.0", 4, DEL, False),
        (EHP, 9, "Alfreton", "0.8", 1, DEL, True),
        (EHP, 9, "Ironville", "2.0", 2, DEL, False),
        (EHP, 9, "Langley Mill", "2.5", 3, DEL, False),
        (EHP, 9, "Matlock", "2.0", 2, DEL, False),
        (EHP, 9, "Long Eaton", "3.0", 3, RET, False),
        (EHP, 9, "Long Eaton", "2.0", 2, DEL, False),
        (EHP, 9, "Woodville", "2.0", 2, RET, False),
        (EHP, 9, "Woodville", "1.0", 1, DEL, True),
        (FSW, 7, "Ilkeston", "2.0", 2, DEL, False),
        (FSW, 7, "Long Eaton", "1.0", 1, DEL, True),
        (FSW, 7, "Ironville", "1.0", 1, DEL, False),
        (YW, 8, "Heanor", "1.0", 1, DEL, False),
        (YW, 8, "Alfreton", "1.0", 1, DEL, True),
        (BSO, 6, "Ilkeston", "1.0", 1, RET, False),
        (BSO, 6, "Alfreton", "1.0", 1, DEL, False),
        (BSO, 6, "Long Eaton", "0.6", 1, DEL, False),
    ])
    + _rows("Early Help Central", [
        ("Early Help Service Manager", 13, COUNTY_HALL, "1.0", 1, RET, False),
        ("Early Help Service Manager", 13, COUNTY_HALL, "1.0", 1, DEL, False),
        ("Quality Assurance Officer", 12, COUNTY_HALL, "1.0", 1, DEL, False),
        ("Data and Performance Analyst", 11, COUNTY_HALL, "1.0", 1, RET, False),
        ("Data and Performance Analyst", 11, COUNTY_HALL, "0.5", 1, DEL, True),
        ("Parenting Assessment Worker", 11, COUNTY_HALL, "5.0", 5, RET, False),
        ("Senior Family Time Worker", 10, COUNTY_HALL, "1.0", 1, REL, False, CSC),
        ("Family Time Worker", 8, COUNTY_HALL, "4.0", 4, REL, False, CSC),
        ("Transition Worker", 9, COUNTY_HALL, "3.0", 3, RET, False),
        ("Transition Worker", 9, COUNTY_HALL, "2.0", 2, DEL, False),
        ("Training and Development Officer", 10, COUNTY_HALL, "1.0", 1, DEL, True),
        (BSO, 6, COUNTY_HALL, "2.0", 2, RET, False),
        (BSO, 6, COUNTY_HALL, "1.5", 2, DEL, False),
    ])
)

CCM, CCC, CCFW = "Children's Centre Manager", "Children's Centre Coordinator", \
    "Children's Centre Family Worker"
EYP, ADM = "Early Years Practitioner", "Administrative Assistant"

CHILDRENS_CENTRES = (
    _rows("Children's Centres – High Peak", [
        (CCM, 11, "Glossop", "1.0", 1, RET, False),
        (CCM, 11, "Gamesley", "1.0", 1, DEL, False),
        (CCFW, 8, "Glossop", "1.6", 2, RET, False),
        (CCFW, 8, "Glossop", "1.0", 1, DEL, False),
        (CCFW, 8, "Buxton", "2.0", 2, RET, False),
        (CCFW, 8, "Buxton", "0.6", 1, DEL, True),
        (CCFW, 8, "Gamesley", "2.0", 2, DEL, False),
        (CCFW, 8, "Hadfield", "1.5", 2, DEL, False),
        (EYP, 7, "Glossop", "1.0", 1, DEL, False),
        (EYP, 7, "Gamesley", "1.0", 1, DEL, True),
        (EYP, 7, "Hadfield", "1.4", 2, DEL, False),
        (ADM, 6, "Buxton", "1.0", 1, RET, False),
        (ADM, 6, "Hadfield", "0.5", 1, DEL, False),
        ("Site Officer", 6, "Gamesley", "0.4", 1, DEL, False),
    ])
    + _rows("Children's Centres – Amber Valley & Dales", [
        (CCM, 11, "Heanor", "1.0", 1, RET, False),
        (CCM, 11, "Alfreton", "1.0", 1, DEL, False),
        (CCC, 10, "Matlock", "1.0", 1, DEL, False),
        (CCC, 10, "Langley Mill", "0.8", 1, DEL, True),
        (CCFW, 8, "Heanor", "2.0", 2, RET, False),
        (CCFW, 8, "Heanor", "1.0", 1, DEL, False),
        (CCFW, 8, "Alfreton", "2.5", 3, DEL, False),
        (CCFW, 8, "Ironville", "1.0", 1, DEL, True),
        (CCFW, 8, "Langley Mill", "1.6", 2, DEL, False),
        (CCFW, 8, "Matlock", "2.0", 2, DEL, False),
        (EYP, 7, "Heanor", "1.0", 1, RET, False),
        (EYP, 7, "Alfreton", "1.0", 1, DEL, False),
        (EYP, 7, "Ironville", "0.6", 1, DEL, False),
        ("Outreach Worker", 7, "Matlock", "0.8", 1, DEL, True),
        (ADM, 6, "Heanor", "0.8", 1, RET, False),
        (ADM, 6, "Alfreton", "1.0", 1, DEL, False),
        ("Breastfeeding Peer Support Coordinator", 8, "Heanor", "1.0", 1, REL, False,
         "Public Health"),
    ])
    + _rows("Children's Centres – Chesterfield & NE", [
        (CCM, 11, "Birdholme", "1.0", 1, RET, False),
        (CCM, 11, HH, "1.0", 1, DEL, False),
        (CCC, 10, "Brimington", "1.0", 1, RET, False),
        (CCC, 10, "Eckington", "1.0", 1, DEL, False),
        (CCFW, 8, "Birdholme", "2.0", 2, RET, False),
        (CCFW, 8, "Birdholme", "1.0", 1, DEL, True),
        (CCFW, 8, "Brimington", "1.0", 1, RET, False),
        (CCFW, 8, "Brimington", "0.6", 1, DEL, False),
        (CCFW, 8, "North Wingfield", "1.6", 2, RET, False),
        (CCFW, 8, "North Wingfield", "1.0", 1, DEL, False),
        (CCFW, 8, "Eckington", "1.0", 1, RET, False),
        (CCFW, 8, HH, "3.0", 3, DEL, False),
        (CCFW, 8, OW, "2.0", 2, DEL, False),
        (EYP, 7, HH, "1.5", 2, DEL, False),
        (EYP, 7, OW, "1.0", 1, DEL, True),
        (EYP, 7, "North Wingfield", "1.0", 1, DEL, False),
        (ADM, 6, "Birdholme", "1.0", 1, RET, False),
        (ADM, 6, HH, "0.6", 1, DEL, False),
        (ADM, 6, OW, "0.5", 1, DEL, False),
    ])
    + _rows("Children's Centres – Bolsover", [
        (CCM, 11, "Shirebrook", "1.0", 1, RET, False),
        (CCM, 11, "Bolsover", "1.0", 1, DEL, True),
        (CCFW, 8, "Shirebrook", "2.0", 2, RET, False),
        (CCFW, 8, "Shirebrook", "0.8", 1, DEL, False),
        (CCFW, 8, "Creswell", "1.0", 1, RET, False),
        (CCFW, 8, "Creswell", "1.0", 1, DEL, False),
        (CCFW, 8, "Bolsover", "2.4", 3, DEL, False),
        (EYP, 7, "Bolsover", "1.0", 1, DEL, True),
        (EYP, 7, "Creswell", "0.6", 1, DEL, False),
        (ADM, 6, "Bolsover", "0.5", 1, DEL, False),
        (ADM, 6, "Shirebrook", "0.6", 1, RET, False),
    ])
    + _rows("Children's Centres – Erewash & South", [
        (CCM, 11, "Long Eaton", "1.0", 1, RET, False),
        (CCM, 11, CH, "1.0", 1, DEL, False),
        (CCC, 10, "Ilkeston", "1.0", 1, RET, False),
        (CCC, 10, "Woodville", "1.0", 1, RET, False),
        (CCFW, 8, "Ilkeston", "2.0", 2, RET, False),
        (CCFW, 8, "Ilkeston", "1.0", 1, DEL, False),
        (CCFW, 8, "Long Eaton", "1.8", 2, RET, False),
        (CCFW, 8, "Long Eaton", "1.0", 1, DEL, True),
        (CCFW, 8, "Woodville", "1.0", 1, RET, False),
        (CCFW, 8, "Woodville", "0.5", 1, DEL, False),
        (CCFW, 8, CH, "3.0", 3, DEL, False),
        (EYP, 7, CH, "1.6", 2, DEL, False),
        (EYP, 7, "Long Eaton", "1.0", 1, DEL, False),
        (ADM, 6, CH, "1.0", 1, DEL, True),
        (ADM, 6, "Ilkeston", "1.0", 1, RET, False),
    ])
)

DERBYSHIRE_BASELINE_FTE = Decimal("221.5")
DERBYSHIRE_DELETED_FTE = Decimal("132.5")


def derbyshire_posts() -> tuple[list[Post], list[Post]]:
    """The posts of sheets 1 and 2, with invented IDs and costs."""
    rng = random.Random(SEED)

    def build(rows: list[tuple], prefix: str) -> list[Post]:
        posts = []
        for n, (team, title, grade, loc, fte, count, status, vacant, dest) in \
                enumerate(rows, start=1):
            # mid-grade salary x FTE x on-costs, give or take 4% for spinal points,
            # to the pound; about one row in four ends in 50p.
            spread = Decimal(rng.randint(-400, 400)) / 10_000
            cost = (MID_SALARY[grade] * fte * ON_COST * (1 + spread)).quantize(Decimal(1))
            if rng.random() < 0.25:
                cost += Decimal("0.50")
            posts.append(Post(f"{prefix}-{n:04d}", team, title, grade, loc, fte, count,
                              status, vacant, dest, cost))
        return posts

    return build(EARLY_HELP, "EH"), build(CHILDRENS_CENTRES, "CC")


def check_derbyshire(posts: list[Post]) -> None:
    """Fail loudly if the invented rows stop matching the reported figures."""
    baseline = sum((p.fte for p in posts), D0)
    deleted = sum((p.fte for p in posts if p.status == DEL), D0)
    assert baseline == DERBYSHIRE_BASELINE_FTE, f"baseline FTE is {baseline}, not 221.5"
    assert deleted == DERBYSHIRE_DELETED_FTE, f"deleted FTE is {deleted}, not 132.5"
    assert len({p.post_id for p in posts}) == len(posts)
    for p in posts:
        assert p.fte > 0 and p.fte <= p.posts and p.fte == p.fte.quantize(Decimal("0.01"))
        assert bool(p.destination) == (p.status == REL)
        assert p.location in CLOSING + KEPT + (COUNTY_HALL,), p.location
    for site in CLOSING:
        at = [p for p in posts if p.location == site]
        assert at and all(p.status == DEL for p in at), site
    for site in KEPT:
        at = [p for p in posts if p.location == site]
        assert any(p.status == DEL for p in at) and any(p.status != DEL for p in at), site


def yn(flag: bool) -> str:
    return "Y" if flag else "N"


def totals(posts: list[Post]) -> tuple[Decimal, int, Decimal]:
    return (sum((p.fte for p in posts), D0), sum(p.posts for p in posts),
            sum((p.cost for p in posts), D0))


def write_derbyshire(path: Path) -> list[Post]:
    sheet1, sheet2 = derbyshire_posts()
    check_derbyshire(sheet1 + sheet2)
    wb = new_workbook()

    # Sheet 1: title row, blank row, header in row 3, posts, then a Total row.
    ws = wb.create_sheet("Early Help")
    ws.append(["Derbyshire County Council – Early Help restructure 2024"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    header = ["Post ID", "Team", "Job title", "Grade", "Location", "FTE", "Posts", "Status",
              "Destination", "Vacant", "Annual cost"]
    ws.append(header)
    bold_row(ws, 3)
    for p in sheet1:
        ws.append([p.post_id, p.team, p.title, f"Grade {p.grade}", p.location, num(p.fte),
                   p.posts, p.status, p.destination or None, yn(p.vacant), num(p.cost)])
    fte, count, cost = totals(sheet1)
    ws.append([None, "Total", None, None, None, num(fte), count, None, None, None, num(cost)])
    bold_row(ws, ws.max_row)
    _formats(ws, fte_col="F", cost_col="K", first=4)
    _widths(ws, [10, 22, 34, 10, 26, 7, 7, 10, 22, 8, 12])
    ws.freeze_panes = "A4"

    # Sheet 2: other column order, other header names, title row, header in row 2,
    # a Sub-total after each team's block and a Grand total at the end.
    ws = wb.create_sheet("Children's Centres")
    ws.append(["Children's centres – proposed staffing by district (consultation draft)"])
    ws["A1"].font = Font(bold=True, size=14)
    header = ["Position number", "Service area", "Site", "Post title", "Band", "No. of posts",
              "F.T.E.", "Proposal", "Transfers to", "Vacancy", "Salary cost"]
    ws.append(header)
    bold_row(ws, 2)
    teams: list[str] = []
    for p in sheet2:
        if p.team not in teams:
            teams.append(p.team)
    for team in teams:
        block = [p for p in sheet2 if p.team == team]
        for p in block:
            ws.append([p.post_id, p.team, p.location, p.title, f"Grade {p.grade}", p.posts,
                       num(p.fte), p.status, p.destination or None, yn(p.vacant),
                       num(p.cost)])
        fte, count, cost = totals(block)
        ws.append([None, "Sub-total", None, None, None, count, num(fte), None, None, None,
                   num(cost)])
        bold_row(ws, ws.max_row)
    fte, count, cost = totals(sheet2)
    ws.append([None, "Grand total", None, None, None, count, num(fte), None, None, None,
               num(cost)])
    bold_row(ws, ws.max_row)
    _formats(ws, fte_col="G", cost_col="K", first=3)
    _widths(ws, [16, 40, 26, 38, 10, 12, 8, 10, 16, 9, 12])
    ws.freeze_panes = "A3"

    # Sheet 3: free text, no header row; the reader must skip it.
    ws = wb.create_sheet("Notes")
    for line in (
        "About this workbook",
        "Invented sample data modelled on Derbyshire County Council's 2024 consultation "
        "on its Early Help service and children's centres.",
        "It reproduces the figures reported at the April 2024 scrutiny meeting: 132.5 of "
        "221.5 full-time equivalent posts proposed for deletion, about 60 per cent.",
        "Ten centres close (" + ", ".join(CLOSING) + ") and every post based at them is "
        "deleted; twelve stay open (" + ", ".join(KEPT) + ").",
        "Post numbers, grades, costs, vacancies and the split of posts between sites are "
        "invented. No row describes a real person or a real post.",
        "Annual cost is salary at the middle of the grade plus employer on-costs, in pounds.",
        "Sheet 'Early Help' closes with a Total row; sheet 'Children's Centres' has a "
        "Sub-total after each district and a Grand total.",
    ):
        ws.append([line])
    ws["A1"].font = Font(bold=True)
    ws.column_dimensions["A"].width = 110

    save_workbook(wb, path)
    return sheet1 + sheet2


def _formats(ws, fte_col: str, cost_col: str, first: int) -> None:
    for row in range(first, ws.max_row + 1):
        ws[f"{fte_col}{row}"].number_format = "0.00"
        ws[f"{cost_col}{row}"].number_format = "#,##0.00"


def _widths(ws, widths: list[int]) -> None:
    for i, width in enumerate(widths):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i + 1)].width = width


# --------------------------------------------------------------------------- coop working

COOP_HEADER = ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status",
               "Destination"]
CC, CW, YS = "Children's Centres", "Cooperative Working", "Youth Service"
IFIS, EW, ASB = "Integrated Family Intervention Services", "Educational Welfare", \
    "Anti-Social Behaviour"
HC, LS = "Homes and Communities", "Learning Services"

# One row per line of the budget notes (seed 003); FTE where the notes give only a
# head count is invented.  Tiers 3 and 4: 11 posts rebranded (Retained) and 5
# created; tier 5: 3 created (its 14 deletions are the lines listed below it).
COOP_ROWS: list[tuple[str, str, str, int, str, int, str, str]] = [
    # (post id, team, title, grade, FTE, posts, status, destination)
    ("CW-001", CC, "Senior Play and Learn Practitioner", 6, "11", 11, "Deleted", ""),
    ("CW-002", CC, "Senior Play and Learn Practitioner", 6, "1", 1, "Retained", ""),
    ("CW-003", CC, "Play and Learn Practitioner", 4, "33.69", 45, "Deleted", ""),
    ("CW-004", CC, "Play and Learn Practitioner", 4, "6.74", 9, "Retained", ""),
    ("CW-005", CW, "Community and Economic Development Officer", 8, "9", 9, "Deleted", ""),
    ("CW-006", CW, "Cooperative Working Locality Manager", 11, "4", 4, "Retained", ""),
    ("CW-007", CW, "Cooperative Working Coordinator", 9, "7", 7, "Retained", ""),
    ("CW-008", CW, "Partnership Development Manager", 11, "2", 2, "New post", ""),
    ("CW-009", CW, "Family Support Lead", 9, "3", 3, "New post", ""),
    ("CW-010", CW, "Cooperative Working Support Officer", 6, "3", 3, "New post", ""),
    ("CW-011", YS, "Youth Development Worker", 7, "4.62", 7, "Deleted", ""),
    ("CW-012", YS, "Youth Development Worker", 7, "4.4", 5, "Retained", ""),
    ("CW-013", YS, "Youth Support Assistant", 3, "0.5", 1, "Deleted", ""),
    ("CW-014", YS, "Sessional Youth Worker", 5, "3.2", 8, "Relocated", HC),
    ("CW-015", IFIS, "Family Intervention Worker", 8, "13.5", 14, "Deleted", ""),
    ("CW-016", IFIS, "Family Intervention Worker", 8, "10", 10, "Relocated", HC),
    ("CW-017", EW, "Educational Welfare Officer", 8, "3", 3, "Deleted", ""),
    ("CW-018", EW, "Educational Welfare Administrator", 5, "1", 1, "Deleted", ""),
    ("CW-019", EW, "Educational Welfare Officer", 8, "8.6", 9, "Relocated", LS),
    ("CW-020", ASB, "ASB Officer", 7, "1", 1, "Deleted", ""),
    ("CW-021", ASB, "ASB Officer", 7, "5", 5, "Relocated", LS),
]

STATUS_OF = {"Deleted": "deleted", "Retained": "retained", "Relocated": "relocated",
             "New post": "created"}


def coop_records() -> list[list]:
    """Rows as the xlsx holds them: numbers as numbers, blank destination as None."""
    return [[pid, team, title, f"Grade {grade}", num(Decimal(fte)), posts, status,
             dest or None]
            for pid, team, title, grade, fte, posts, status, dest in COOP_ROWS]


def coop_text_rows(team_apostrophe: str = "'") -> list[list[str]]:
    """Rows as the CSV holds them: numbers as Excel's General format shows them."""
    rows = []
    for pid, team, title, grade, fte, posts, status, dest in COOP_ROWS:
        rows.append([pid, team.replace("'", team_apostrophe), title, f"Grade {grade}",
                     text(Decimal(fte)), str(posts), status, dest])
    return rows


def write_coop(xlsx: Path, csv_utf8: Path, csv_cp1252: Path) -> None:
    for _, _, _, _, fte, posts, status, dest in COOP_ROWS:
        d = Decimal(fte)
        assert 0 < d <= posts and d == d.quantize(Decimal("0.01"))
        assert bool(dest) == (status == "Relocated")
    assert len({r[0] for r in COOP_ROWS}) == len(COOP_ROWS)

    wb = new_workbook()
    ws = wb.create_sheet("Posts")
    ws.append(COOP_HEADER)
    bold_row(ws, 1)
    for row in coop_records():
        ws.append(row)
    _widths(ws, [9, 40, 44, 10, 8, 7, 10, 24])
    ws.freeze_panes = "A2"
    save_workbook(wb, xlsx)

    write_bytes(csv_utf8, _csv_bytes(coop_text_rows(), ",", "utf-8"))
    # Deliberately NOT identical to the UTF-8 file in one character: the team
    # "Children's Centres" is written with a curly apostrophe (U+2019), which
    # Windows-1252 encodes as the single byte 0x92, so reading this file as
    # UTF-8 fails or garbles the name.  Everything else is the same data.
    write_bytes(csv_cp1252, _csv_bytes(coop_text_rows("\u2019"), ";", "cp1252"))


def _csv_bytes(rows: list[list[str]], delimiter: str, encoding: str) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COOP_HEADER)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


# --------------------------------------------------------------------------- broken

BROKEN_HEADER = ["Post ID", "Team", "Job title", "Grade", "FTE", "Posts", "Status",
                 "Destination", "Employee name", "Payroll number"]

# The faults, one per row, with their cells (columns: A Post ID, B Team,
# C Job title, D Grade, E FTE, F Posts, G Status, H Destination,
# I Employee name, J Payroll number):
#   row 2   BX-001 is a valid post (E2 is the cell the formula in E14 refers to)
#   E3      FTE is negative (-4.62)
#   E4      FTE is 0
#   E5      FTE is text ("half")
#   E6      FTE has 7 decimal places (0.3333333)
#   E7      FTE 1.5 is more than its Posts (F7 = 1)
#   F8      Posts is 2.5, not a whole number
#   G9      unknown status "Maybe"
#   H10     status Relocated (G10) but Destination is blank
#   H11     status Retained (G11) but has a Destination, "Learning Services" (a warning)
#   C12     Job title is blank
#   A13     Post ID "BX-001" duplicates A2
#   E14     FTE is a formula, =E2*2, saved with no cached value
#   E15     "Total" row (label in B15, Status blank): FTE says 25 but the posts above
#           add up to much less
#   I1, J1  personal data: the Employee name and Payroll number columns (I2:J14 filled
#           with invented names and numbers); the tool must warn and drop them
BROKEN_FAULTS = [
    ("E3", "FTE is negative (-4.62)"),
    ("E4", "FTE is 0"),
    ("E5", "FTE is text (\"half\")"),
    ("E6", "FTE has 7 decimal places (0.3333333)"),
    ("E7", "FTE 1.5 is more than its 1 post (F7)"),
    ("F8", "Posts is 2.5, not a whole number"),
    ("G9", "unknown status \"Maybe\""),
    ("H10", "Relocated (G10) with no destination"),
    ("H11", "Retained (G11) with a destination, \"Learning Services\" (warning)"),
    ("C12", "Job title is blank"),
    ("A13", "Post ID \"BX-001\" duplicates A2"),
    ("E14", "FTE is a formula (=E2*2) with no cached value"),
    ("E15", "Total row (B15) says FTE 25, which disagrees with the posts above it"),
    ("I1, J1", "personal data columns \"Employee name\" and \"Payroll number\" "
               "(I2:J14 filled; warn and drop)"),
]

BROKEN_ROWS = [
    # post id, team, title, grade, FTE, posts, status, destination, name, payroll no.
    ["BX-001", "Youth Service", "Youth Worker", "Grade 8", 1, 1, "Deleted", None,
     "Łukasz Nowak", 10048213],
    ["BX-002", "Youth Service", "Youth Development Worker", "Grade 7", -4.62, 7, "Deleted",
     None, "Zoë Smith", 10051177],
    ["BX-003", "Youth Service", "Youth Support Assistant", "Grade 3", 0, 1, "Deleted", None,
     "Siobhán O'Neill", 10063390],
    ["BX-004", "Children's Centres", "Play and Learn Practitioner", "Grade 4", "half", 1,
     "Retained", None, "Amara Okafor", 10072215],
    ["BX-005", "Children's Centres", "Play and Learn Practitioner", "Grade 4", 0.3333333, 1,
     "Deleted", None, "Dafydd Hughes", 10080456],
    ["BX-006", "Children's Centres", "Senior Play and Learn Practitioner", "Grade 6", 1.5,
     1, "Deleted", None, "Priya Raman", 10091834],
    ["BX-007", "Cooperative Working", "Community and Economic Development Officer",
     "Grade 8", 2, 2.5, "Deleted", None, "Tomasz Wójcik", 10102267],
    ["BX-008", "Cooperative Working", "Cooperative Working Coordinator", "Grade 9", 1, 1,
     "Maybe", None, "Chloé Martin", 10113308],
    ["BX-009", "Educational Welfare", "Educational Welfare Officer", "Grade 8", 1, 1,
     "Relocated", None, "Gráinne Walsh", 10124419],
    ["BX-010", "Anti-Social Behaviour", "ASB Officer", "Grade 7", 1, 1, "Retained",
     "Learning Services", "Kwame Mensah", 10135520],
    ["BX-011", "Anti-Social Behaviour", None, "Grade 7", 1, 1, "Deleted", None,
     "Renée Dubois", 10146631],
    ["BX-001", "Integrated Family Intervention Services", "Family Intervention Worker",
     "Grade 8", 1, 1, "Deleted", None, "Oisín Byrne", 10157742],
    ["BX-012", "Integrated Family Intervention Services", "Family Intervention Worker",
     "Grade 8", "=E2*2", 2, "Deleted", None, "Bogdan Ionescu", 10168853],
]


def write_broken(path: Path) -> None:
    wb = new_workbook()
    ws = wb.create_sheet("Posts")
    ws.append(BROKEN_HEADER)
    bold_row(ws, 1)
    for row in BROKEN_ROWS:
        ws.append(row)
    # The Total row: FTE deliberately wrong; Posts left blank so the FTE is its only fault.
    ws.append([None, "Total", None, None, 25, None, None, None, None, None])
    bold_row(ws, ws.max_row)
    assert ws["E14"].value == "=E2*2" and ws["A13"].value == ws["A2"].value
    assert ws["B15"].value == "Total" and ws.max_row == 15
    _widths(ws, [9, 38, 42, 9, 7, 7, 10, 18, 18, 15])
    save_workbook(wb, path)


# --------------------------------------------------------------------------- README

def fmt(d: Decimal) -> str:
    """2 decimal places where needed: 132.5, 33.69, 221.5, 4."""
    return text(d)


def money(d: Decimal) -> str:
    return f"£{d:,.2f}"


def readme(derby: list[Post]) -> str:
    def fte(pred) -> Decimal:
        return sum((p.fte for p in derby if pred(p)), D0)

    baseline = fte(lambda p: True)
    deleted = fte(lambda p: p.status == DEL)
    retained = fte(lambda p: p.status == RET)
    relocated = fte(lambda p: p.status == REL)
    vacant_del = fte(lambda p: p.status == DEL and p.vacant)
    at_risk = fte(lambda p: p.status == DEL and not p.vacant)
    cost_del = sum((p.cost for p in derby if p.status == DEL), D0)
    cost_all = sum((p.cost for p in derby), D0)
    posts_all = sum(p.posts for p in derby)
    posts_del = sum(p.posts for p in derby if p.status == DEL)
    posts_at_risk = sum(p.posts for p in derby if p.status == DEL and not p.vacant)
    n1 = sum(1 for p in derby if p.post_id.startswith("EH"))
    n2 = len(derby) - n1
    destinations: dict[str, Decimal] = {}
    for p in derby:
        if p.status == REL:
            destinations[p.destination] = destinations.get(p.destination, D0) + p.fte
    reloc = "; ".join(f"{fmt(v)} to {k}" for k, v in destinations.items())

    coop: dict[str, list] = {}
    for _, _, _, _, f, n, status, _ in COOP_ROWS:
        acc = coop.setdefault(STATUS_OF[status], [D0, 0])
        acc[0] += Decimal(f)
        acc[1] += n
    coop_lines = "\n".join(
        f"| {s} | {fmt(coop[s][0])} | {coop[s][1]} |"
        for s in ("deleted", "retained", "relocated", "created"))
    coop_base = sum((coop[s][0] for s in ("deleted", "retained", "relocated")), D0)
    coop_base_posts = sum(coop[s][1] for s in ("deleted", "retained", "relocated"))

    faults = "\n".join(f"| {cell} | {what} |" for cell, what in BROKEN_FAULTS)

    return f"""# Sample data

Made by `make_samples.py` (run `python data/make_samples.py` to rebuild them; the
output is byte-for-byte the same every time). All posts, IDs, grades, costs and
names are invented; the headline figures follow public reports. Do not edit the
files by hand: change the script and rerun it. The figures below are computed by
the script from the same rows it writes.

## `derbyshire_early_help.xlsx`

Modelled on Derbyshire County Council's 2024 Early Help and children's centres
proposals: 132.5 of 221.5 FTE deleted; the ten closing centres ({", ".join(CLOSING)})
lose every post; the twelve kept centres ({", ".join(KEPT)}) keep some posts and
lose some; a central team sits at {COUNTY_HALL}. No created posts; no personal data.

| sheet | layout |
| --- | --- |
| Early Help | title in row 1, blank row 2, header in row 3 (Post ID, Team, Job title, Grade, Location, FTE, Posts, Status, Destination, Vacant, Annual cost), {n1} post rows, a `Total` row (label in the Team column) |
| Children's Centres | title in row 1, header in row 2 with other names in another order (Position number, Service area, Site, Post title, Band, No. of posts, F.T.E., Proposal, Transfers to, Vacancy, Salary cost), {n2} post rows, a `Sub-total` after each of 5 districts and a `Grand total` |
| Notes | free text, no header: the reader skips it |

| figure | FTE | posts |
| --- | --- | --- |
| baseline (deleted + retained + relocated) | {fmt(baseline)} | {posts_all} |
| deleted | {fmt(deleted)} ({(deleted / baseline * 100):.1f}%) | {posts_del} |
| retained | {fmt(retained)} | |
| relocated | {fmt(relocated)} ({reloc}) | |
| deleted and vacant | {fmt(vacant_del)} | |
| at risk (deleted and occupied) | {fmt(at_risk)} | {posts_at_risk} |

Annual cost of the deleted posts: {money(cost_del)} (of {money(cost_all)} for the baseline).

## `coop_working.xlsx`, `coop_working.csv`, `coop_working_cp1252_semicolon.csv`

Modelled on a council's "Children's Centres and Cooperative Working" budget
notes: one grouped row per line of the notes ({len(COOP_ROWS)} rows), sheet `Posts`,
header in row 1 (Post ID, Team, Job title, Grade, FTE, Posts, Status, Destination),
no vacant or cost column, no total rows. The `.csv` holds exactly the same rows
(UTF-8 without BOM, commas), for xlsx/CSV parity. The `_cp1252_semicolon.csv`
holds the same rows with semicolons in Windows-1252, and writes the team
"Children’s Centres" with a curly apostrophe (byte 0x92), so it differs from
the others in that one character and only reads correctly as Windows-1252.
Created posts have the status "New post".

| status | FTE | posts |
| --- | --- | --- |
{coop_lines}

Baseline (deleted + retained + relocated): {fmt(coop_base)} FTE in {coop_base_posts} posts.

## `broken_example.xlsx`

A deliberately broken schedule for demonstrations (`impact validate
data/broken_example.xlsx`): sheet `Posts`, header in row 1, one fault per row.
Row 2 is a valid post.

| cell | fault |
| --- | --- |
{faults}
""" + REAL_FILES


REAL_FILES = """
## Real public files

`real/organogram_ahrc_2013-09.csv` (Arts and Humanities Research Council) and
`real/organogram_offa_2013-09.csv` (Office for Fair Access) are the junior-post
organograms those bodies published for 30 September 2013 on data.gov.uk, as
kept in the `datagovuk/organograms` repository (`concepts/bartree/wrangling/csv
full/`, with the unnamed index column that repository's tidying added). They
are Crown copyright, published under the Open Government Licence v3.0
(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/):
"Contains public sector information licensed under the Open Government Licence
v3.0." They are copied unchanged, not made by this script. They have no Status
and no Posts column: read them with `--default-status retained`.
"""


# --------------------------------------------------------------------------- main

def main() -> None:
    derby = write_derbyshire(HERE / "derbyshire_early_help.xlsx")
    write_coop(HERE / "coop_working.xlsx", HERE / "coop_working.csv",
               HERE / "coop_working_cp1252_semicolon.csv")
    write_broken(HERE / "broken_example.xlsx")
    write_bytes(HERE / "README.md", readme(derby).encode("utf-8"))
    for name in ("derbyshire_early_help.xlsx", "coop_working.xlsx", "coop_working.csv",
                 "coop_working_cp1252_semicolon.csv", "broken_example.xlsx", "README.md"):
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
