"""Working hours and holidays: is an inbound route open at a given moment?

A `TimeCondition` is evaluated on the local wall clock of its timezone (zoneinfo name, default
Asia/Shanghai): the moment passed in (any aware datetime) is converted to that zone first.

Rules, in the words an administrator would use:

- `hours`: weekly ranges {days: ISO weekdays 1-7 (Monday = 1), from "HH:MM", to "HH:MM"}.
  A range belongs to the day it starts on and covers [from, to). When `to` is not after
  `from` the range ends on the next day: 22:00-06:00 on Friday covers Friday 22:00 to
  Saturday 06:00, and from == to is a whole 24 hours. "24:00" is accepted as `to`.
  No hours at all means open around the clock (only holidays close).
- `holidays`: dates and inclusive date ranges. A holiday closes its whole local calendar
  day(s), 00:00-24:00, whatever the hours say: a night range starting on the eve of a holiday
  stops at midnight, and one starting on the holiday itself does not open after midnight.
- Daylight saving: ranges are wall-clock times. A range starting inside the hour skipped in
  spring opens when the clocks jump (03:00); during the hour repeated in autumn both passes
  of the wall clock are evaluated alike.

`next_change(when)` gives the next flip in UTC (for a status page: "closed until ...").
Zones come from the system tz database (/usr/share/zoneinfo) or the `tzdata` package: the
firmware image must carry one of them.

`parse_time_condition(data)` turns the API's JSON dict into a TimeCondition, raising
`TimeConditionError` (a ValueError) whose message starts with the faulty field.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"
MINUTES_PER_DAY = 24 * 60
# next_change gives up after this many days without a change (a condition that never
# changes, e.g. no hours and no future holiday, returns None).
SEARCH_DAYS = 2 * 366 + 7
_DST_MARGIN = timedelta(hours=3)  # more than any UTC offset jump in the tz database


class TimeConditionError(ValueError):
    """A time condition from the API that cannot be used; `field` names the culprit."""

    status = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class WeeklyHours:
    """Open from `start` to `end` (minutes since midnight) on the ISO weekdays in `days`.

    `end <= start` means the range ends on the next day (end == start: 24 hours).
    """

    days: frozenset[int]
    start: int  # 0 .. 1439
    end: int  # 0 .. 1440

    def __post_init__(self) -> None:
        if not self.days or not all(1 <= d <= 7 for d in self.days):
            raise ValueError(f"days must be ISO weekdays 1-7, got {sorted(self.days)}")
        if not 0 <= self.start < MINUTES_PER_DAY or not 0 <= self.end <= MINUTES_PER_DAY:
            raise ValueError(f"times out of range: {self.start}, {self.end} minutes")

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def covers(self, day: date, second_of_day: float, from_yesterday: bool = True) -> bool:
        """Is this local wall time open by this range, started today or (if `from_yesterday`)
        the day before?"""
        minute = second_of_day / 60
        if day.isoweekday() in self.days:
            if self.crosses_midnight:
                if minute >= self.start:
                    return True
            elif self.start <= minute < self.end:
                return True
        if self.crosses_midnight and from_yesterday:
            yesterday = (day - timedelta(days=1)).isoweekday()
            return yesterday in self.days and minute < self.end
        return False


@dataclass(frozen=True)
class Holiday:
    """Closed on every local date from `first` to `last`, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"holiday ends ({self.last}) before it starts ({self.first})")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


@dataclass(frozen=True)
class TimeCondition:
    hours: tuple[WeeklyHours, ...] = ()
    holidays: tuple[Holiday, ...] = ()
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        _zone(self.timezone)  # fails early on an unknown zone

    @property
    def zone(self) -> tzinfo:
        return _zone(self.timezone)

    def is_holiday(self, day: date) -> bool:
        return any(day in holiday for holiday in self.holidays)

    def is_open(self, when: datetime) -> bool:
        """Open at the moment `when` (an aware datetime, any zone)?"""
        local = _aware(when).astimezone(self.zone)
        day = local.date()
        if self.is_holiday(day):
            return False
        if not self.hours:
            return True
        second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        # A range that started on a holiday does not run on after midnight either.
        from_yesterday = not self.is_holiday(day - timedelta(days=1))
        return any(hours.covers(day, second, from_yesterday) for hours in self.hours)

    def next_change(self, when: datetime) -> datetime | None:
        """The first moment after `when` at which `is_open` flips, in UTC.

        UTC because Python compares and subtracts two datetimes of the same zone on the wall
        clock, wrong across a DST change; show it with `.astimezone(condition.zone)`.
        None when nothing changes within about two years (always open, or always closed).
        """
        start = _aware(when).astimezone(UTC)
        state = self.is_open(start)
        zone = self.zone
        first_day = start.astimezone(zone).date() - timedelta(days=1)
        pending: list[datetime] = []  # a heap of candidate instants, checked in time order
        for offset in range(SEARCH_DAYS):
            day = first_day + timedelta(days=offset)
            for moment in self._candidates(day, zone):
                heapq.heappush(pending, moment)
            # A later day's candidates all come after its midnight less any DST shift, so
            # everything before this day's midnight (with a margin) is in its final order.
            horizon = datetime.combine(day, time(), zone).astimezone(UTC) - _DST_MARGIN
            while pending and pending[0] <= horizon:
                moment = heapq.heappop(pending)
                if moment > start and self.is_open(moment) != state:
                    return moment
        return None

    def _candidates(self, day: date, zone: tzinfo) -> set[datetime]:
        """Every instant (UTC) during local `day` at which the state might flip.

        The state is a function of the local date and wall time, so it can only change where
        the wall clock reaches a range boundary or midnight, or where it jumps (DST).
        """
        walls = {0, MINUTES_PER_DAY}
        for hours in self.hours:
            walls.update((hours.start, hours.end % MINUTES_PER_DAY))
        midnight = datetime.combine(day, time())
        moments = set()
        for minute in walls:
            wall = midnight + timedelta(minutes=minute)
            for fold in (0, 1):  # both passes of a repeated hour; a skipped one maps near it
                moments.add(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC))
        moments.update(_transitions(day, zone))
        return moments

    def as_dict(self) -> dict[str, Any]:
        """The JSON form `parse_time_condition` reads (for GET in the API)."""
        return {
            "hours": [
                {
                    "days": sorted(h.days),
                    "from": _format_minutes(h.start),
                    "to": _format_minutes(h.end),
                }
                for h in self.hours
            ],
            "holidays": [
                h.first.isoformat() if h.first == h.last else f"{h.first}/{h.last}"
                for h in self.holidays
            ],
            "timezone": self.timezone,
        }


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a time condition needs an aware datetime (with a timezone)")
    return when


def _transitions(day: date, zone: tzinfo) -> list[datetime]:
    """The instants (UTC) during local `day` where the zone's UTC offset changes.

    Found by bisection between the two local midnights: at most one change a day, which
    holds for every zone in the tz database today.
    """
    begin = datetime.combine(day, time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    before = begin.astimezone(zone).utcoffset()
    if end.astimezone(zone).utcoffset() == before:
        return []
    low, high = int(begin.timestamp()), int(end.timestamp())  # offset(low) == before
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return [datetime.fromtimestamp(high, UTC)]


def _format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --------------------------------------------------------------------------------------------
# The API's JSON form

_FIELDS = {"hours", "holidays", "timezone"}
_HOURS_FIELDS = {"days", "from", "to"}


def parse_time_condition(data: Mapping[str, Any], field: str = "time_condition") -> TimeCondition:
    """{"hours": [{"days": [1..5], "from": "09:00", "to": "18:00"}], "holidays": [...],
    "timezone": "Asia/Shanghai"} -> TimeCondition, or TimeConditionError naming the field.

    Holidays are "YYYY-MM-DD", "YYYY-MM-DD/YYYY-MM-DD" or {"from": date, "to": date}
    (ranges inclusive). `field` prefixes the field names in error messages.
    """
    if not isinstance(data, Mapping):
        raise TimeConditionError(field, "must be an object with hours, holidays, timezone")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise TimeConditionError(f"{field}.{unknown[0]}", "unknown field")
    zone_name = data.get("timezone", DEFAULT_TIMEZONE)
    if not isinstance(zone_name, str) or not zone_name:
        raise TimeConditionError(f"{field}.timezone", "must be a zone name like Asia/Shanghai")
    try:
        _zone(zone_name)
    except ValueError:
        raise TimeConditionError(f"{field}.timezone", f"unknown timezone {zone_name!r}") from None
    hours = tuple(
        _parse_hours(item, f"{field}.hours[{i}]")
        for i, item in enumerate(_list(data.get("hours", []), f"{field}.hours"))
    )
    holidays = tuple(
        _parse_holiday(item, f"{field}.holidays[{i}]")
        for i, item in enumerate(_list(data.get("holidays", []), f"{field}.holidays"))
    )
    return TimeCondition(hours, holidays, zone_name)


def _list(value: Any, field: str) -> Iterable[Any]:
    if not isinstance(value, list):
        raise TimeConditionError(field, "must be a list")
    return value


def _parse_hours(item: Any, field: str) -> WeeklyHours:
    if not isinstance(item, Mapping):
        raise TimeConditionError(field, 'must be {"days": [1, ...], "from": "HH:MM", "to": ...}')
    unknown = sorted(set(item) - _HOURS_FIELDS)
    if unknown:
        raise TimeConditionError(f"{field}.{unknown[0]}", "unknown field")
    for name in ("days", "from", "to"):
        if name not in item:
            raise TimeConditionError(f"{field}.{name}", "missing")
    days = item["days"]
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days)
    ):
        raise TimeConditionError(
            f"{field}.days", f"must be a non-empty list of ISO weekdays 1-7 (1 = Monday): {days!r}"
        )
    start = _parse_clock(item["from"], f"{field}.from", allow_24=False)
    end = _parse_clock(item["to"], f"{field}.to", allow_24=True)
    return WeeklyHours(frozenset(days), start, end)


def _parse_clock(value: Any, field: str, allow_24: bool) -> int:
    """'HH:MM' -> minutes since midnight; '24:00' only where allowed (an end)."""
    problem = f'must be a time "HH:MM" (00:00-{"24:00" if allow_24 else "23:59"}): {value!r}'
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise TimeConditionError(field, problem)
    hh, mm = value[:2], value[3:]
    if not (hh.isascii() and hh.isdigit() and mm.isascii() and mm.isdigit()):
        raise TimeConditionError(field, problem)
    minutes = int(hh) * 60 + int(mm)
    if int(mm) > 59 or minutes > (MINUTES_PER_DAY if allow_24 else MINUTES_PER_DAY - 1):
        raise TimeConditionError(field, problem)
    return minutes


def _parse_holiday(item: Any, field: str) -> Holiday:
    if isinstance(item, str) and "/" in item:
        first_text, _, last_text = item.partition("/")
        first = _parse_date(first_text, field)
        last = _parse_date(last_text, field)
    elif isinstance(item, str):
        first = last = _parse_date(item, field)
    elif isinstance(item, Mapping):
        unknown = sorted(set(item) - {"from", "to"})
        if unknown:
            raise TimeConditionError(f"{field}.{unknown[0]}", "unknown field")
        if "from" not in item:
            raise TimeConditionError(f"{field}.from", "missing")
        first = _parse_date(item["from"], f"{field}.from")
        last = _parse_date(item.get("to", item["from"]), f"{field}.to")
    else:
        raise TimeConditionError(
            field, 'must be "YYYY-MM-DD", "YYYY-MM-DD/YYYY-MM-DD" or {"from": ..., "to": ...}'
        )
    if last < first:
        raise TimeConditionError(field, f"ends ({last}) before it starts ({first})")
    return Holiday(first, last)


def _parse_date(value: Any, field: str) -> date:
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise TimeConditionError(field, f'must be a date "YYYY-MM-DD": {value!r}')
