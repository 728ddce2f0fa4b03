"""`complybot export soa|tasks|audit-log|mapping|acceptances|review [--policy NAME] [--id N] [--format csv|xlsx]
[--out PATH] [--workspace ID]`: tables for auditors. CSV goes to standard output without --out; XLSX needs --out."""
from __future__ import annotations

import argparse
import sys

from bot.console import LOCAL_WORKSPACE

WHAT = ("soa", "tasks", "audit-log", "mapping", "acceptances", "review")
SHEET_TITLES = {"soa": "Statement of Applicability", "tasks": "Tasks", "audit-log": "Audit log",
                "mapping": "SOC 2 - ISO 27001 mapping", "acceptances": "Policy acceptance",
                "review": "Access review"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas
MAX_COLUMN_WIDTH = 40  # characters: wider text wraps, so twelve SoA columns still print one page wide
LINE_HEIGHT_POINTS = 15  # one line of 11-point text; LibreOffice does not grow rows to wrapped text itself


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=WHAT, help="soa (Statement of Applicability), tasks, audit-log, mapping, "
                        "acceptances (of one policy: --policy), review (one access review: --id)")
    parser.add_argument("--policy", metavar="NAME", help="acceptances: the policy's name, as published")
    parser.add_argument("--id", type=int, metavar="N", help="review: the access review's number")
    parser.add_argument("--format", choices=("csv", "xlsx"), help="default: from --out's extension, else csv")
    parser.add_argument("--out", metavar="PATH", help="file to write (default: CSV to standard output)")
    parser.add_argument("--workspace", default=LOCAL_WORKSPACE, help="workspace id (default: local, the chat's)")
    parser.add_argument("--db", metavar="PATH", help="SQLite file (default $COMPLYBOT_DB or ./complybot.db)")


def run(args: argparse.Namespace) -> int:
    fmt = args.format or ("xlsx" if args.out and args.out.lower().endswith(".xlsx") else "csv")
    if fmt == "xlsx" and not args.out:
        print("complybot export: --format xlsx needs --out PATH", file=sys.stderr)
        return 2
    if args.what == "acceptances" and not args.policy:
        print('complybot export acceptances: name the policy with --policy "Acceptable Use Policy"', file=sys.stderr)
        return 2
    if args.what == "review" and args.id is None:
        print("complybot export review: name the access review with --id N", file=sys.stderr)
        return 2
    try:
        preamble, header, rows = table(args.what, args.workspace, args.db, args.policy or args.id)
    except LookupError as error:
        print(f"complybot export: {error}", file=sys.stderr)
        return 1
    if not args.out:
        write_csv(sys.stdout, header, rows, preamble)
        return 0
    try:
        if fmt == "xlsx":
            write_xlsx(args.out, SHEET_TITLES[args.what], header, rows, preamble)
        else:
            with open(args.out, "w", encoding="utf-8", newline="") as handle:
                write_csv(handle, header, rows, preamble)
    except OSError as error:
        print(f"complybot export: cannot write {args.out}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"Wrote {len(rows)} rows to {args.out}", file=sys.stderr)
    return 0


def table(what: str, workspace: str, db_path: str | None, which: str | int | None = None):
    """(preamble rows, header, rows) of the database at `db_path`."""
    from handlers import exports

    if what == "mapping":
        return [], *exports.mapping()
    from bot.config import database_path
    from bot.store import Store

    store = Store.open(db_path or database_path())
    try:
        return build(what, store, workspace, which)
    finally:
        store.close()


def build(what: str, store, workspace: str, which: str | int | None = None):
    """(preamble rows, header, rows): the SoA's preamble is its header block (organisation, scope ...);
    `which` is the policy (acceptances) or the review's number (review)."""
    from datetime import datetime, timezone

    from handlers import exports

    if what == "acceptances":
        return [["Policy", str(which)], ["Workspace", workspace]], *exports.acceptances(store, workspace, str(which))
    if what == "review":
        return exports.review(store, workspace, int(which))
    builder = {"soa": exports.soa, "tasks": exports.tasks, "audit-log": exports.audit_log}[what]
    preamble = exports.soa_preamble(store, workspace, datetime.now(timezone.utc).date()) if what == "soa" else []
    return preamble, *builder(store, workspace)


def xlsx_bytes(what: str, store, workspace: str) -> bytes:
    """The workbook `complybot export <what> --format xlsx` writes, in memory (for a chat attachment)."""
    import io

    preamble, header, rows = build(what, store, workspace)
    buffer = io.BytesIO()
    write_xlsx(buffer, SHEET_TITLES[what], header, rows, preamble)
    return buffer.getvalue()


def safe_cell(value: str) -> str:
    """User text that a spreadsheet would evaluate is written as text."""
    return "'" + value if value.startswith(FORMULA_STARTS) and not _is_number(value) else value


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def write_csv(handle, header: list[str], rows: list[list[str]], preamble: list[list[str]] = ()) -> None:
    """The preamble's rows, an empty row, then the table."""
    import csv

    writer = csv.writer(handle)
    if preamble:
        writer.writerows([safe_cell(cell) for cell in row] for row in preamble)
        writer.writerow([])
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)


def write_xlsx(path, title: str, header: list[str], rows: list[list[str]],
               preamble: list[list[str]] = ()) -> None:
    """One sheet: the preamble (label, value) rows in bold labels, an empty row, then the table with a
    bold, frozen, filtered header row."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for label, value in preamble:
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    first = len(preamble) + 2 if preamble else 1  # the table's header row
    if preamble:
        sheet.append([])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=1):
        for cell in cells:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text, never a formula
            if cell.row > first:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[first]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = f"A{first + 1}"
    sheet.auto_filter.ref = f"A{first}:{sheet.cell(first, len(header)).column_letter}{sheet.max_row}"
    widths = _column_widths(header, rows, preamble)
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(first, column).column_letter].width = width
    for cells in sheet.iter_rows(min_row=first):
        lines = max(_lines(str(cell.value or ""), widths[cell.column - 1]) for cell in cells)
        if lines > 1:
            sheet.row_dimensions[cells[0].row].height = lines * LINE_HEIGHT_POINTS
    _print_setup(sheet, first)
    book.save(path)


def _column_widths(header: list[str], rows: list[list[str]], preamble) -> list[int]:
    """Each column as wide as its longest line (a header wraps at its words), within MAX_COLUMN_WIDTH;
    the first column also fits the preamble's labels."""
    widths = []
    for column, name in enumerate(header):
        longest = max([len(word) for word in name.split()] + [len(str(r[column]).split("\n")[0]) for r in rows[:200]])
        if column == 0:
            longest = max([longest] + [len(label) for label, _ in preamble])
        widths.append(min(max(longest + 2, 8), MAX_COLUMN_WIDTH))
    return widths


def _lines(text: str, width: int) -> int:
    """How many lines `text` wraps to in a column `width` characters wide."""
    return sum(max(1, -(-len(line) // max(width - 2, 1))) for line in text.split("\n"))


def _print_setup(sheet, header_row: int) -> None:
    """Printed or saved as PDF: landscape, every column on one page width, the header row on each page."""
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as the rows need
    sheet.print_title_rows = f"{header_row}:{header_row}"
