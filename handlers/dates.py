"""Due dates as people type them, read in the person's own time zone.

`2026-12-15`, `Dec 15`, `15 December 2026`, `today`, `tomorrow`, `friday`, `next friday`, `next week`,
`in 2 weeks`, `in three days`, `end of month`, `end of quarter`, `end of year`, `31/12/2026`. A past,
unreadable or two-way date (`01/02/2027`) raises `DateError` with a message meant for the person.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as dateutil_parser
from dateutil.relativedelta import relativedelta

MAX_YEARS_AHEAD = 5
# a month-day without a year that has passed is next year's only when that is this close (`Jan 3` typed in
# late November); one passed more recently (`Dec 1` typed on Dec 8) is more likely a slip, so we ask
NEXT_YEAR_WITHIN_DAYS = 92
EXAMPLES = "2026-12-15, Dec 15, next friday, in 2 weeks or end of month"

PERIODS = {  # recurrence -> one period
    "month": relativedelta(months=1),
    "quarter": relativedelta(months=3),
    "year": relativedelta(years=1),
}
_UNITS = {"day": relativedelta(days=1), "week": relativedelta(weeks=1), **PERIODS}
_NUMBERS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())} | {"a": 1, "an": 1}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class DateError(ValueError):
    """The text is not a usable due date; str(error) says why, politely."""


def today_in(tz_name: str | None, now: datetime) -> date:
    """The calendar day it is for a person in `tz_name` (UTC when unknown) at instant `now`."""
    try:
        zone = ZoneInfo(tz_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def next_due(previous_due: date, recurrence: str) -> date:
    """The next occurrence: one period after the previous due date (not after when it was finished)."""
    return previous_due + PERIODS[recurrence]


def parse_due(text: str, today: date) -> date:
    """A due date on or after `today`, or DateError."""
    cleaned = " ".join(text.casefold().replace(",", " ").split())
    if not cleaned:
        raise DateError(f"Please give a date, for example {EXAMPLES}.")
    try:
        found = _relative(cleaned, today) or _absolute(cleaned, today)
    except DateError:
        raise
    except (ValueError, OverflowError):  # "in 9000 years" runs past the calendar
        found = None
    if found is None:
        raise DateError(f"I couldn't read {text.strip()[:60]!r} as a date. Try {EXAMPLES}.")
    if found < today:
        raise DateError(f"{found:%Y-%m-%d} is in the past (today is {today:%Y-%m-%d}). Please pick a later date.")
    if found > today + relativedelta(years=MAX_YEARS_AHEAD):
        raise DateError(f"{found:%Y-%m-%d} is more than {MAX_YEARS_AHEAD} years away. Please pick a nearer date.")
    return found


def _relative(text: str, today: date) -> date | None:
    text = re.sub(r"^(on|by|before) ", "", text)
    if text in ("today", "tonight", "eod", "end of day"):
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    if text == "yesterday":
        return today - timedelta(days=1)  # refused as past, with the past-date message
    match = re.fullmatch(r"in (\d{1,4}|[a-z]+) (day|week|month|quarter|year)s?", text)
    if match:
        count = int(match[1]) if match[1].isdigit() else _NUMBERS.get(match[1])
        return None if count is None else today + _UNITS[match[2]] * count
    match = re.fullmatch(r"(this |next )?(mon|tue|wed|thu|fri|sat|sun)[a-z]*", text)
    if match and any(day.startswith(text.split()[-1]) for day in _WEEKDAYS):
        weekday = next(i for i, day in enumerate(_WEEKDAYS) if day.startswith(match[2]))
        if match[1] == "next ":  # the one in next week (Monday to Sunday), after this week's
            return today - timedelta(days=today.weekday()) + timedelta(days=7 + weekday)
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)  # the coming one, after today
    match = re.fullmatch(r"next (week|month|quarter|year)", text)
    if match:
        return today + _UNITS[match[1]]
    match = re.fullmatch(r"(?:the )?end of (?:the )?(this |next )?(month|quarter|year)|eo(m|q|y)", text)
    if match:
        unit = match[2] or {"m": "month", "q": "quarter", "y": "year"}[match[3]]
        return _end_of(unit, today, ahead=1 if match[1] == "next " else 0)
    return None


def _end_of(unit: str, today: date, ahead: int) -> date:
    if unit == "month":
        first = date(today.year, today.month, 1) + relativedelta(months=ahead + 1)
    elif unit == "quarter":
        quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        first = quarter_start + relativedelta(months=3 * (ahead + 1))
    else:
        first = date(today.year + ahead + 1, 1, 1)
    return first - timedelta(days=1)


def _refuse_ambiguous_numeric(text: str, today: date) -> None:
    """`01/02/2027` is 2 January to an American and 1 February to a European: ask, never guess. One whose
    parts read only one way (`31/12/2026`, `12/15/2026`) or that are equal (`03/03`) is taken."""
    match = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?", text)
    if not match or int(match[1]) == int(match[2]) or not (1 <= int(match[1]) <= 12 and 1 <= int(match[2]) <= 12):
        return
    year = int(match[3]) + (2000 if len(match[3]) == 2 else 0) if match[3] else today.year
    try:
        month_first, day_first = date(year, int(match[1]), int(match[2])), date(year, int(match[2]), int(match[1]))
    except ValueError:
        return
    raise DateError(f"{text!r} could be {month_first:%Y-%m-%d} (month first) or {day_first:%Y-%m-%d} (day first). "
                    f"Please write the month by name ({month_first:%b} {month_first.day} or {day_first:%b} {day_first.day}) "
                    f"or the date as YYYY-MM-DD.")


def _absolute(text: str, today: date) -> date | None:
    if not re.search(r"\d", text) or len(text) > 40:
        return None  # dateutil would read "friday" or junk as today; those are handled above or refused
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)  # the common, exact form: no need for dateutil's guessing
    _refuse_ambiguous_numeric(text, today)
    try:
        parsed = dateutil_parser.parse(text, default=datetime(today.year, today.month, today.day)).date()
    except (ValueError, OverflowError):
        return None
    has_year = re.search(r"\b\d{4}\b", text) or re.search(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2}\b", text)
    if not has_year and parsed < today:  # "Dec 1" typed on Dec 8: a slip or next year's? Ask, never guess
        later = parsed + relativedelta(years=1)
        if (later - today).days <= NEXT_YEAR_WITHIN_DAYS:
            return later
        raise DateError(f"{text.strip()[:40]!r} could be {parsed:%Y-%m-%d}, which has passed, or {later:%Y-%m-%d}, "
                        f"a year from then. Please write the date with its year, e.g. {later:%Y-%m-%d}.")
    return parsed
