"""The SoA an auditor prints or saves as PDF (LibreOffice, Excel): before, its twelve columns spread over
four pages across, so a control's justification was pages away from its reference; wrapped justifications
overlapped the next row (LibreOffice keeps rows one line high) and the header block's labels were cut
('Organisa', 'Approvec'). Read back from the written file with openpyxl."""
from __future__ import annotations

import openpyxl

from bot.cli import main
from tests.test_export import db  # noqa: F401 (fixture)


def test_the_soa_prints_one_page_wide_with_its_header_row_on_every_page_and_rows_tall_enough(db, tmp_path):  # noqa: F811
    out = tmp_path / "soa.xlsx"
    assert main(["export", "soa", "--format", "xlsx", "--out", str(out), "--db", db]) == 0
    sheet = openpyxl.load_workbook(out).active
    header_row = next(cell.row for cell in sheet["A"] if cell.value == "Ref")
    setup = sheet.page_setup
    assert (setup.orientation, sheet.sheet_properties.pageSetUpPr.fitToPage) == ("landscape", True)
    assert (int(setup.fitToWidth), int(setup.fitToHeight)) == (1, 0)  # one page wide, as many down as needed
    assert sheet.print_title_rows.replace("$", "") == f"{header_row}:{header_row}"
    assert sheet.column_dimensions["A"].width >= len("Approved by")
    header = [cell.value for cell in sheet[header_row]]
    column = header.index("Justification") + 1
    width = sheet.column_dimensions[sheet.cell(header_row, column).column_letter].width
    long_rows = [r for r in range(header_row + 1, sheet.max_row + 1) if len(sheet.cell(r, column).value) > width]
    assert long_rows, "no justification wraps: the test would prove nothing"
    for row in long_rows:
        lines = -(-len(sheet.cell(row, column).value) // width)
        assert (sheet.row_dimensions[row].height or 0) >= 12 * lines, (row, sheet.cell(row, column).value)


def test_the_soa_speaks_an_auditors_language_for_requirement_tasks_and_unassigned_controls(db, tmp_path):  # noqa: F811
    from tests.test_export import soa_sheet

    say_local(db, "assign A.8.30 to @bob due 2026-04-30")  # a task for the Annex A control itself
    out = tmp_path / "soa.xlsx"
    assert main(["export", "soa", "--format", "xlsx", "--out", str(out), "--db", db]) == 0
    _, rows = soa_sheet(out)
    assert rows["A.8.30"]["Applicable"] == "Yes" and "A.8.30" in rows["A.8.30"]["Implementing controls"]
    for row in rows.values():
        words = f"{row['Justification']} {row['Implementing controls'] or ''}".casefold()
        assert "itself" not in words and "to be assigned" not in words and "a task" not in words, row


def say_local(db: str, text: str) -> None:
    from bot.store import Store
    from handlers.ports import Context
    from tests.test_tasks import FixedClock, say

    store = Store.open(db)
    try:
        say(Context(store=store, clock=FixedClock()), text, workspace="local")
    finally:
        store.close()
