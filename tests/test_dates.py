from datetime import date, datetime, timezone

import pytest

from handlers.dates import DateError, next_due, parse_due, today_in

TODAY = date(2026, 11, 28)  # a Saturday


@pytest.mark.parametrize("text,expected", [
    ("2026-12-15", date(2026, 12, 15)), ("Dec 15", date(2026, 12, 15)), ("15 December 2026", date(2026, 12, 15)),
    ("12/15/2026", date(2026, 12, 15)), ("today", TODAY), ("tomorrow", date(2026, 11, 29)),
    ("friday", date(2026, 12, 4)), ("next friday", date(2026, 12, 4)), ("by Fri", date(2026, 12, 4)),
    ("saturday", date(2026, 12, 5)), ("next week", date(2026, 12, 5)), ("in 2 weeks", date(2026, 12, 12)),
    ("in three days", date(2026, 12, 1)), ("in a month", date(2026, 12, 28)), ("end of month", date(2026, 11, 30)),
    ("end of next month", date(2026, 12, 31)), ("end of quarter", date(2026, 12, 31)),
    ("end of year", date(2026, 12, 31)), ("Jan 3", date(2027, 1, 3)),
])
def test_readable_dates(text, expected):
    assert parse_due(text, TODAY) == expected


@pytest.mark.parametrize("text,reason", [
    ("2020-01-01", "in the past"), ("Nov 1 2026", "in the past"), ("soonish", "couldn't read"),
    ("2026-02-30", "couldn't read"), ("in 9000 years", "couldn't read"), ("2040-01-01", "years away"),
    ("", "Please give a date"), ("💥" * 50, "couldn't read"),
])
def test_bad_dates(text, reason):
    with pytest.raises(DateError, match=reason):
        parse_due(text, TODAY)


def test_a_month_day_passed_lately_is_asked_about_with_both_readings():
    with pytest.raises(DateError) as refused:
        parse_due("Dec 1", date(2026, 12, 8))
    assert "2026-12-01" in str(refused.value) and "2027-12-01" in str(refused.value)
    with pytest.raises(DateError, match="in the past"):
        parse_due("yesterday", TODAY)


def test_a_weekday_is_this_weeks_and_next_weekday_the_one_after():
    monday = date(2026, 3, 2)
    assert parse_due("friday", monday) == date(2026, 3, 6)
    assert parse_due("this friday", monday) == date(2026, 3, 6)
    assert parse_due("next friday", monday) == date(2026, 3, 13)


def test_today_follows_the_persons_time_zone():
    instant = datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)
    assert today_in("UTC", instant) == date(2026, 3, 1)
    assert today_in("Asia/Tokyo", instant) == date(2026, 3, 2)
    assert today_in("Not/AZone", instant) == date(2026, 3, 1)


def test_next_due_is_one_period_after_the_previous_due_date():
    assert next_due(date(2026, 3, 31), "quarter") == date(2026, 6, 30)
    assert next_due(date(2026, 1, 31), "month") == date(2026, 2, 28)
    assert next_due(date(2028, 2, 29), "year") == date(2029, 2, 28)
