"""Deadline arithmetic over a work calendar (pure: no database, no clock).

A `WorkCalendar` knows which days are working days (the Mon–Fri week, changed by the days the calendar
table lists: statutory holidays off, 调休 weekend days on) and the working hours of a working day (e.g.
08:30–12:00 and 14:30–18:00). Every computation happens in Asia/Shanghai time. Three units of a stage
limit (README "Case handling (数字城管)"):

- `natural_hours` 自然时: clock hours, around the clock (the 24-hour centre);
- `working_hours` 工作时: only the time inside working hours on working days counts; a stage that starts
  outside them starts counting at the next working period;
- `working_days` 工作日: the deadline is the same time of day on the n-th following working day (a stage
  that starts on a day off starts at the first working period of the next working day); a fraction of a
  day adds that share of a working day's hours.

The yellow light comes at a share of the stage's own time (working time for the working units).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

NATURAL_HOURS, WORKING_HOURS, WORKING_DAYS = "natural_hours", "working_hours", "working_days"
UNITS = (NATURAL_HOURS, WORKING_HOURS, WORKING_DAYS)
UNIT_LABELS = {NATURAL_HOURS: "自然时", WORKING_HOURS: "工作时", WORKING_DAYS: "工作日"}

DEFAULT_PERIODS: tuple[tuple[time, time], ...] = ((time(8, 30), time(12, 0)), (time(14, 30), time(18, 0)))

# How far a computation may walk before it gives up (a calendar with no working day at all).
_MAX_DAYS = 3660


class CalendarError(ValueError):
    """A limit or calendar the arithmetic cannot use (unknown unit, negative value, no working time)."""


def _local(moment: datetime) -> datetime:
    """`moment` as naive Asia/Shanghai wall time (China keeps no daylight saving time)."""
    if moment.tzinfo is None:
        raise CalendarError("deadline arithmetic needs time-zone-aware datetimes")
    return moment.astimezone(TZ).replace(tzinfo=None)


def _aware(local: datetime) -> datetime:
    return local.replace(tzinfo=TZ)


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60.0


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Working days and hours. `days`: the days that differ from the Mon–Fri week (day → is a working day)."""

    days: Mapping[date, bool] = field(default_factory=dict)
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS

    def __post_init__(self) -> None:
        if not self.periods:
            raise CalendarError("a work calendar needs at least one working period")
        ordered = sorted(self.periods)
        for (s, e), nxt in zip(ordered, [*ordered[1:], None], strict=True):
            if not s < e or (nxt is not None and nxt[0] < e):
                raise CalendarError(f"working periods must be ordered and apart: {self.periods}")
        object.__setattr__(self, "periods", tuple(ordered))

    @classmethod
    def of(cls, rows: Iterable[tuple[date, bool]], periods: Iterable[tuple[time, time]] = ()) -> WorkCalendar:
        return cls(dict(rows), tuple(periods) or DEFAULT_PERIODS)

    # ---------------------------------------------------------------------------------------- days
    def is_workday(self, day: date) -> bool:
        listed = self.days.get(day)
        return listed if listed is not None else day.weekday() < 5

    def next_workday(self, day: date) -> date:
        """The first working day after `day`."""
        for i in range(1, _MAX_DAYS):
            candidate = day + timedelta(days=i)
            if self.is_workday(candidate):
                return candidate
        raise CalendarError("no working day in the calendar")

    @property
    def day_minutes(self) -> float:
        """Working minutes in one working day (420 for 08:30–12:00 and 14:30–18:00)."""
        return sum(
            _minutes(datetime.combine(date.min, e) - datetime.combine(date.min, s)) for s, e in self.periods
        )

    # ---------------------------------------------------------------------------------- working time
    def add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of working time after `start` (counting starts at the next working period)."""
        if minutes < 0:
            raise CalendarError("a limit cannot be negative")
        if minutes == 0:
            return start.astimezone(TZ)
        left = minutes
        cursor = _local(start)
        day = cursor.date()
        for _ in range(_MAX_DAYS):
            if self.is_workday(day):
                for s, e in self.periods:
                    p_start, p_end = datetime.combine(day, s), datetime.combine(day, e)
                    if cursor >= p_end:
                        continue
                    begin = max(cursor, p_start)
                    available = _minutes(p_end - begin)
                    if left <= available:
                        return _aware(begin + timedelta(minutes=left))
                    left -= available
                    cursor = p_end
            day += timedelta(days=1)
            cursor = max(cursor, datetime.combine(day, time.min))
        raise CalendarError("no working time in the calendar")

    def working_minutes(self, a: datetime, b: datetime) -> float:
        """Working minutes between `a` and `b` (negative when `b` is before `a`)."""
        if b < a:
            return -self.working_minutes(b, a)
        la, lb = _local(a), _local(b)
        total = 0.0
        day = la.date()
        while day <= lb.date():
            if self.is_workday(day):
                for s, e in self.periods:
                    lo = max(la, datetime.combine(day, s))
                    hi = min(lb, datetime.combine(day, e))
                    if hi > lo:
                        total += _minutes(hi - lo)
            day += timedelta(days=1)
        return total

    # ------------------------------------------------------------------------------------ deadlines
    def deadline(self, start: datetime, value: float, unit: str) -> datetime:
        """When a stage of `value` `unit` that starts at `start` is due."""
        if value < 0:
            raise CalendarError("a limit cannot be negative")
        if unit == NATURAL_HOURS:
            return (start + timedelta(hours=value)).astimezone(TZ)
        if unit == WORKING_HOURS:
            return self.add_working_minutes(start, value * 60)
        if unit == WORKING_DAYS:
            local = _local(start)
            day = local.date()
            if not self.is_workday(day):  # starts on a day off: from the next working day's first period
                day = self.next_workday(day)
                local = datetime.combine(day, self.periods[0][0])
            whole = int(value)
            for _ in range(whole):
                day = self.next_workday(day)
            due = _aware(datetime.combine(day, local.time()))
            fraction = value - whole
            return self.add_working_minutes(due, fraction * self.day_minutes) if fraction else due
        raise CalendarError(f"unknown unit {unit!r}; one of {', '.join(UNITS)}")

    def yellow(self, start: datetime, due: datetime, unit: str, share: float) -> datetime:
        """When a stage from `start` to `due` turns yellow: at `share` of its time (working time for the
        working units, clock time for natural hours)."""
        if not 0 <= share <= 1:
            raise CalendarError("the yellow share lies between 0 and 1")
        if unit == NATURAL_HOURS:
            return (start + (due - start) * share).astimezone(TZ)
        if unit not in UNITS:
            raise CalendarError(f"unknown unit {unit!r}; one of {', '.join(UNITS)}")
        total = self.working_minutes(start, due)
        if total <= 0:
            return due.astimezone(TZ)
        return min(self.add_working_minutes(start, total * share), due.astimezone(TZ))

    def remaining_minutes(self, now: datetime, due: datetime, unit: str) -> float:
        """Time left until `due` in the stage's own clock: working minutes for 工作时 / 工作日, clock minutes
        for 自然时; negative once the deadline has passed."""
        if unit == NATURAL_HOURS:
            return _minutes(due - now)
        return self.working_minutes(now, due)


def light(now: datetime, yellow_at: datetime | None, due_at: datetime | None) -> str | None:
    """green before yellow_at, yellow until due_at, red after (the SQL in repository/reports.py says the same)."""
    if due_at is None:
        return None
    if now > due_at:
        return "red"
    if yellow_at is not None and now >= yellow_at:
        return "yellow"
    return "green"
