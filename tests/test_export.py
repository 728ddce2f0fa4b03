"""`complybot export`: the SoA (opened with openpyxl), tasks, audit log and mapping."""
from __future__ import annotations

import csv
import io

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
    store.close()
    return str(path)


def test_soa_xlsx_has_93_annex_a_rows_with_the_statuses_set(db, tmp_path):
    out = tmp_path / "soa.xlsx"
    assert main(["export", "soa", "--format", "xlsx", "--out", str(out), "--db", db]) == 0
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert header[:6] == ["Ref", "Title", "Theme", "Applicable", "Justification", "Implementation status"]
    assert len(rows) == 93 and all(ref.startswith("A.") for ref in rows)
    assert rows["A.5.7"]["Implementation status"] == "Implemented" and rows["A.5.7"]["Owner"] == "bob"
    assert rows["A.8.1"]["Implementation status"] == "In progress"
    assert rows["A.8.1"]["Due date"] == "2026-04-01"
    assert rows["A.8.1"]["Evidence links"] == "https://drive.example.com/filevault"
    assert (rows["A.5.23"]["Applicable"], rows["A.5.23"]["Justification"]) == ("No", "no cloud services are in scope")
    assert rows["A.5.23"]["Implementation status"] == "Not applicable"
    assert rows["A.8.28"]["Applicable"] == "Yes" and rows["A.8.28"]["Implementation status"].startswith("Not started")
    assert rows["A.5.1"]["Theme"] == "Organizational"


def test_soa_csv(db, tmp_path):
    out = tmp_path / "soa.csv"
    assert main(["export", "soa", "--out", str(out), "--db", db]) == 0
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert len(rows) == 94


def test_tasks_and_audit_log_csv(db, capsys):
    assert main(["export", "tasks", "--db", db]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:3] == ["Task", "Control", "SOC 2"] and len(rows) == 3
    assert rows[1][1:5] == ["Disk Encryption", "CC6.1", "A.8.1", "bob"] and rows[2][7] == "done"
    assert main(["export", "audit-log", "--db", db]) == 0
    log = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    actions = [r[5] for r in log[1:]]
    assert actions == ["assign", "evidence", "assign", "done", "na", "na"]
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
