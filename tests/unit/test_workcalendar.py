"""geo_grid.workcalendar on real dates: China's 2025–2026 holidays and 调休 days, the subdistrict's hours."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import ModuleType

import chinese_calendar
import pytest

from geo_grid.workcalendar import (
    NATURAL_HOURS,
    TZ,
    WORKING_DAYS,
    WORKING_HOURS,
    CalendarError,
    WorkCalendar,
    light,
)

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0004_case_handling.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("m0004", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    """The calendar the migration seeds (its rows, as the database holds them)."""
    rows = [(date.fromisoformat(d), w) for d, w, _ in _migration().WORK_CALENDAR]
    return WorkCalendar.of(rows)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def test_the_seeded_calendar_agrees_with_chinesecalendar_every_day_of_2025_and_2026(
    cal: WorkCalendar,
) -> None:
    day = date(2025, 1, 1)
    while day <= date(2026, 12, 31):
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_national_day_2025_one_working_day_from_30_september_ends_9_october(cal: WorkCalendar) -> None:
    assert cal.deadline(at("2025-09-30T16:00"), 1, WORKING_DAYS) == at("2025-10-09T16:00")


def test_the_tiaoxiu_saturday_11_october_2025_is_a_working_day(cal: WorkCalendar) -> None:
    assert cal.is_workday(date(2025, 10, 11)) and not cal.is_workday(date(2025, 10, 12))
    # A stage that starts on that Saturday counts it: one working day later is Monday, same time.
    assert cal.deadline(at("2025-10-11T10:00"), 1, WORKING_DAYS) == at("2025-10-13T10:00")
    # Its working hours count too: 2 工作时 from Saturday 17:00 end on Monday 09:30.
    assert cal.deadline(at("2025-10-11T17:00"), 2, WORKING_HOURS) == at("2025-10-13T09:30")
    # An ordinary Saturday is not: the stage starts counting on Monday 08:30.
    assert cal.deadline(at("2025-10-18T10:00"), 1, WORKING_DAYS) == at("2025-10-21T08:30")


def test_two_working_hours_from_friday_17_00_end_monday_09_30(cal: WorkCalendar) -> None:
    assert cal.deadline(at("2025-11-14T17:00"), 2, WORKING_HOURS) == at("2025-11-17T09:30")


def test_working_hours_skip_the_lunch_break_and_stop_at_a_period_end(cal: WorkCalendar) -> None:
    assert cal.deadline(at("2026-03-10T11:00"), 2, WORKING_HOURS) == at("2026-03-10T15:30")
    assert cal.deadline(at("2026-03-10T11:00"), 1, WORKING_HOURS) == at("2026-03-10T12:00")
    # Outside working hours the clock starts at the next period.
    assert cal.deadline(at("2026-03-10T20:00"), 1, WORKING_HOURS) == at("2026-03-11T09:30")
    assert cal.deadline(at("2026-03-10T13:00"), 0.5, WORKING_HOURS) == at("2026-03-10T15:00")


def test_spring_festival_2026_and_its_tiaoxiu_days(cal: WorkCalendar) -> None:
    # 2026-02-14 (Saturday) is a 调休 working day, 15–23 February are off, 28 February (Saturday) works.
    assert cal.deadline(at("2026-02-13T16:00"), 1, WORKING_DAYS) == at("2026-02-14T16:00")
    assert cal.deadline(at("2026-02-14T16:00"), 1, WORKING_DAYS) == at("2026-02-24T16:00")
    assert cal.deadline(at("2026-02-27T16:00"), 1, WORKING_DAYS) == at("2026-02-28T16:00")


def test_natural_hours_run_around_the_clock_and_through_holidays(cal: WorkCalendar) -> None:
    assert cal.deadline(at("2025-10-01T23:30"), 1, NATURAL_HOURS) == at("2025-10-02T00:30")


def test_fractional_working_days_add_a_share_of_the_working_day(cal: WorkCalendar) -> None:
    assert cal.day_minutes == 420
    # 0.5 工作日 = 210 working minutes: 16:00 → 18:00 (120) then 90 more the next working day.
    assert cal.deadline(at("2026-03-10T16:00"), 0.5, WORKING_DAYS) == at("2026-03-11T10:00")


def test_yellow_at_a_share_of_the_stage_in_its_own_clock(cal: WorkCalendar) -> None:
    start = at("2025-09-30T16:00")
    due = cal.deadline(start, 1, WORKING_DAYS)
    # 7 working hours between: 2 h on 30 September, 5 h on 9 October; 80 % = 5 h 36 min.
    assert cal.working_minutes(start, due) == 420
    assert cal.yellow(start, due, WORKING_DAYS, 0.8) == at("2025-10-09T14:36")
    assert cal.yellow(at("2026-03-10T08:00"), at("2026-03-10T18:00"), NATURAL_HOURS, 0.8) == at(
        "2026-03-10T16:00"
    )
    assert cal.yellow(start, due, WORKING_DAYS, 1.0) == due


def test_remaining_time_in_the_stage_clock(cal: WorkCalendar) -> None:
    due = at("2025-10-09T16:00")
    # During the holiday no working time passes: the 5 working hours of 9 October remain all week.
    assert cal.remaining_minutes(at("2025-10-03T12:00"), due, WORKING_DAYS) == 300
    assert cal.remaining_minutes(at("2025-10-08T23:00"), due, WORKING_DAYS) == 300
    assert cal.remaining_minutes(at("2025-10-09T15:00"), due, WORKING_HOURS) == 60
    # Past the deadline the remainder is negative (18:00 closes the day: 2 working hours late).
    assert cal.remaining_minutes(at("2025-10-09T20:00"), due, WORKING_DAYS) == -120
    assert cal.remaining_minutes(at("2025-10-09T15:00"), due, NATURAL_HOURS) == 60


def test_lights(cal: WorkCalendar) -> None:
    yellow, due = at("2026-03-10T16:00"), at("2026-03-10T18:00")
    assert light(at("2026-03-10T15:59"), yellow, due) == "green"
    assert light(at("2026-03-10T16:00"), yellow, due) == "yellow"
    assert light(at("2026-03-10T18:00"), yellow, due) == "yellow"  # on time until the deadline itself
    assert light(at("2026-03-10T18:01"), yellow, due) == "red"
    assert light(at("2026-03-10T18:01"), yellow, None) is None


def test_bad_limits_and_calendars_are_refused() -> None:
    cal = WorkCalendar()
    with pytest.raises(CalendarError):
        cal.deadline(at("2026-03-10T16:00"), 1, "fortnights")
    with pytest.raises(CalendarError):
        cal.deadline(at("2026-03-10T16:00"), -1, WORKING_HOURS)
    with pytest.raises(CalendarError):
        cal.deadline(datetime(2026, 3, 10, 16), 1, WORKING_HOURS)
    with pytest.raises(CalendarError):
        WorkCalendar(periods=((time(14, 0), time(12, 0)),))
    with pytest.raises(CalendarError):
        WorkCalendar(periods=((time(8, 0), time(12, 0)), (time(11, 0), time(13, 0))))
    never = WorkCalendar(days={date(2026, 3, 10) + timedelta(days=i): False for i in range(4000)})
    with pytest.raises(CalendarError):
        never.deadline(at("2026-03-10T16:00"), 1, WORKING_HOURS)
