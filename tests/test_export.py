"""`complybot export`: the SoA (opened with openpyxl), tasks, audit log and mapping."""
from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest

from bot.cli import main
from bot.store import Store
from handlers.ports import Context
from tests.test_tasks import FixedClock, say


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "c.db"
    store = Store.open(path)
    ctx = Context(store=store, clock=FixedClock())
    for user, name in (("UADMIN", "ada"), ("UBOB", "bob")):
        store.upsert_person("local", user, name=name, email=f"{name}@example.com", platform="console")
    say(ctx, "assign Disk Encryption to @bob due 2026-04-01", workspace="local")  # A.8.1 (7 controls)
    say(ctx, "evidence 1 https://drive.example.com/filevault FileVault", workspace="local")
    say(ctx, "assign Threat Intelligence to @bob due 2026-04-15", workspace="local")  # A.5.7 alone
    say(ctx, "done 2", workspace="local")
    say(ctx, "na A.5.23 no cloud services are in scope", workspace="local")
    say(ctx, "na Server Racks =HYPERLINK(\"http://evil.example\") we rent no racks", workspace="local")
    say(ctx, "assign Disk Encryption to @bob", workspace="other")  # another workspace: never exported
    say(ctx, 'soa set org "Acme Ltd" scope "The Acme SaaS platform and its support" version 1.2 approver @ada',
        workspace="local")
    say(ctx, "justify A.8.5 logins to production are our main risk", workspace="local")
    say(ctx, "assign Clause 9.3 to @bob due 2026-03-20 every year", workspace="local")  # a clause: not in the SoA
    store.close()
    return str(path)


HEADER_BLOCK = [("Organisation", "Acme Ltd"), ("ISMS scope", "The Acme SaaS platform and its support"),
                ("Version", "1.2"), ("Approved by", "ada")]


def soa_sheet(path) -> tuple[dict, dict]:
    """(header block label -> value, ref -> row as a dict) of an exported SoA workbook."""
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    blank = rows.index(next(r for r in rows if not any(r)))
    block = {r[0]: r[1] for r in rows[:blank]}
    header = rows[blank + 1]
    return block, {r[0]: dict(zip(header, r)) for r in rows[blank + 2:]}


def test_soa_xlsx_has_the_header_block_93_rows_and_a_justification_on_each(db, tmp_path):
    out = tmp_path / "soa.xlsx"
    assert main(["export", "soa", "--format", "xlsx", "--out", str(out), "--db", db]) == 0
    block, rows = soa_sheet(out)
    assert all(block[label] == value for label, value in HEADER_BLOCK) and block["Date"]
    assert len(rows) == 93 and all(ref.startswith("A.") for ref in rows)
    assert all(row["Justification"] for row in rows.values())
    assert rows["A.5.7"]["Implementation status"] == "Implemented" and rows["A.5.7"]["Owner"] == "bob"
    assert rows["A.5.7"]["Last completed"] == "2026-03-02"
    assert rows["A.8.1"]["Implementation status"] == "In progress" and not rows["A.8.1"]["Last completed"]
    assert rows["A.8.1"]["Evidence links"] == "https://drive.example.com/filevault (added 2026-03-02, no expiry)"
    assert "Disk Encryption" in rows["A.8.1"]["Justification"]
    assert rows["A.8.1"]["Justification source"].startswith("Default")
    assert (rows["A.8.5"]["Justification"], rows["A.8.5"]["Justification source"]) == (
        "logins to production are our main risk", "Recorded")
    assert (rows["A.5.23"]["Applicable"], rows["A.5.23"]["Justification"]) == ("No", "no cloud services are in scope")
    assert rows["A.5.23"]["Implementation status"] == "Not applicable"
    assert rows["A.8.28"]["Applicable"] == "Yes" and rows["A.8.28"]["Implementation status"] == "Not started"
    assert rows["A.5.1"]["Theme"] == "Organizational"
    words = json.dumps(list(rows.values()), default=str).casefold()
    assert "no control in the table" not in words and "complybot" not in words  # no tool wording


def test_a_recurring_task_shows_when_it_was_last_done_and_its_next_review(tmp_path):
    path = tmp_path / "c.db"
    store = Store.open(path)
    ctx = Context(store=store, clock=FixedClock())
    say(ctx, "assign Threat Intelligence to me due 2026-03-31 every quarter", workspace="local")
    say(ctx, "done 1", workspace="local")
    store.close()
    out = tmp_path / "soa.xlsx"
    assert main(["export", "soa", "--out", str(out), "--db", str(path)]) == 0
    _, rows = soa_sheet(out)
    row = rows["A.5.7"]
    assert (row["Implementation status"], row["Last completed"], row["Next review"]) == (
        "Implemented", "2026-03-02", "2026-06-30")
    assert not rows["A.8.1"]["Next review"]  # a due date of work not done is never shown as a review


def test_soa_csv(db, tmp_path):
    out = tmp_path / "soa.csv"
    assert main(["export", "soa", "--out", str(out), "--db", db]) == 0
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == ["Organisation", "Acme Ltd"] and rows[5] == []
    assert rows[6][0] == "Ref" and len(rows) == 6 + 1 + 93


def test_the_soa_xlsx_opens_in_libreoffice(db, tmp_path):
    import shutil
    import subprocess

    office = shutil.which("libreoffice") or shutil.which("soffice")
    if not office:
        pytest.skip("LibreOffice is not installed (Debian: apt-get install libreoffice-calc-nogui)")
    out = tmp_path / "soa.xlsx"
    assert main(["export", "soa", "--out", str(out), "--db", db]) == 0
    done = subprocess.run([office, f"-env:UserInstallation=file://{tmp_path}/lo", "--headless", "--convert-to",
                           "pdf", "--outdir", str(tmp_path), str(out)], capture_output=True, timeout=180)
    pdf = tmp_path / "soa.pdf"
    assert done.returncode == 0 and pdf.exists() and pdf.read_bytes().startswith(b"%PDF"), done.stderr[-500:]


def test_tasks_and_audit_log_csv(db, capsys):
    assert main(["export", "tasks", "--db", db]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:3] == ["Task", "Control", "SOC 2"] and len(rows) == 4
    assert rows[1][1:5] == ["Disk Encryption", "CC6.1", "A.8.1", "bob"] and rows[2][7] == "done"
    assert main(["export", "audit-log", "--db", db]) == 0
    log = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    actions = [r[5] for r in log[1:]]
    assert actions == ["assign", "evidence", "assign", "done", "na", "na", "soa set", "justify", "assign"]
    assert all(r[2] == "ada" for r in log[1:])


def test_mapping_xlsx_has_the_118_controls(tmp_path):
    out = tmp_path / "mapping.xlsx"
    assert main(["export", "mapping", "--format", "xlsx", "--out", str(out)]) == 0
    sheet = openpyxl.load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Control", "SOC 2", "ISO 27001:2022") and len(rows) == 119
    assert ("Disk Encryption", "CC6.1", "A.8.1") in [r[:3] for r in rows]


def test_cells_that_look_like_formulas_stay_text(tmp_path):
    from bot.commands.export import safe_cell, write_xlsx

    out = tmp_path / "x.xlsx"
    write_xlsx(str(out), "t", ["a"], [["=1+1"], ["-5"], ["+cmd"]])
    sheet = openpyxl.load_workbook(out).active
    assert [c.data_type for c in sheet["A"]][1:] == ["s", "s", "s"]
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and safe_cell("-5") == "-5" and safe_cell("@x") == "'@x"


def test_export_errors(tmp_path, capsys):
    assert main(["export", "soa", "--format", "xlsx", "--db", str(tmp_path / "c.db")]) == 2
    assert "needs --out" in capsys.readouterr().err
    assert main(["export", "mapping", "--out", str(tmp_path / "missing" / "m.csv")]) == 1
