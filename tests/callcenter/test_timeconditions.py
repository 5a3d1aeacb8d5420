"""Working hours and holidays: open/closed at a moment, the next change, the JSON form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pbxd.callcenter.timeconditions import (
    TimeCondition,
    TimeConditionError,
    parse_time_condition,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")

OFFICE = {"hours": [{"days": [1, 2, 3, 4, 5], "from": "09:00", "to": "18:00"}]}


def at(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=zone, fold=fold)  # type: ignore[misc, arg-type]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc, arg-type]


# -- hours ----------------------------------------------------------------------------------


def test_office_hours_in_the_default_zone() -> None:
    office = parse_time_condition(OFFICE)
    assert office.timezone == "Asia/Shanghai"
    # 2026-05-11 is a Monday.
    assert office.is_open(at(SHANGHAI, 2026, 5, 11, 9, 0))
    assert office.is_open(at(SHANGHAI, 2026, 5, 15, 17, 59, 59))  # Friday
    assert not office.is_open(at(SHANGHAI, 2026, 5, 11, 8, 59, 59))
    assert not office.is_open(at(SHANGHAI, 2026, 5, 11, 18, 0))  # the end is not included
    assert not office.is_open(at(SHANGHAI, 2026, 5, 16, 12, 0))  # Saturday
    assert not office.is_open(at(SHANGHAI, 2026, 5, 17, 12, 0))  # Sunday


def test_the_moment_is_converted_to_the_conditions_zone() -> None:
    office = parse_time_condition(OFFICE)
    assert office.is_open(utc(2026, 5, 11, 1, 0))  # 09:00 in Shanghai
    assert not office.is_open(utc(2026, 5, 11, 10, 0))  # 18:00 in Shanghai
    # Monday 02:00 UTC is still Sunday 22:00 in New York: the zone of `when` does not matter.
    assert office.is_open(at(ZoneInfo("America/New_York"), 2026, 5, 10, 22, 0))


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_time_condition(OFFICE).is_open(datetime(2026, 5, 11, 10, 0))


def test_a_night_range_crosses_midnight_into_the_next_day() -> None:
    night = parse_time_condition({"hours": [{"days": [5], "from": "22:00", "to": "06:00"}]})
    assert night.is_open(at(SHANGHAI, 2026, 5, 15, 22, 0))  # Friday evening
    assert night.is_open(at(SHANGHAI, 2026, 5, 16, 0, 0))  # Saturday after midnight
    assert night.is_open(at(SHANGHAI, 2026, 5, 16, 5, 59))
    assert not night.is_open(at(SHANGHAI, 2026, 5, 16, 6, 0))
    assert not night.is_open(at(SHANGHAI, 2026, 5, 16, 23, 0))  # Saturday is not in days
    assert not night.is_open(at(SHANGHAI, 2026, 5, 15, 3, 0))  # Thursday's night is not


def test_from_equal_to_is_a_whole_day_and_24_00_ends_a_day() -> None:
    whole = parse_time_condition({"hours": [{"days": [6], "from": "00:00", "to": "00:00"}]})
    until_midnight = parse_time_condition(
        {"hours": [{"days": [6], "from": "08:00", "to": "24:00"}]}
    )
    saturday_late = at(SHANGHAI, 2026, 5, 16, 23, 59, 59)
    assert whole.is_open(at(SHANGHAI, 2026, 5, 16, 0, 0)) and whole.is_open(saturday_late)
    assert not whole.is_open(at(SHANGHAI, 2026, 5, 17, 0, 0))
    assert until_midnight.is_open(saturday_late)
    assert not until_midnight.is_open(at(SHANGHAI, 2026, 5, 17, 0, 0))


def test_no_hours_means_open_except_on_holidays() -> None:
    always = parse_time_condition({"holidays": ["2026-10-01"]})
    assert always.is_open(at(SHANGHAI, 2026, 9, 30, 23, 59))
    assert not always.is_open(at(SHANGHAI, 2026, 10, 1, 12, 0))
    assert always.is_open(at(SHANGHAI, 2026, 10, 2, 0, 0))


# -- holidays -------------------------------------------------------------------------------


def test_holidays_override_the_hours() -> None:
    tc = parse_time_condition(
        {**OFFICE, "holidays": ["2026-05-01", "2026-10-01/2026-10-07", {"from": "2026-12-24"}]}
    )
    assert not tc.is_open(at(SHANGHAI, 2026, 5, 1, 10, 0))  # a Friday
    assert tc.is_open(at(SHANGHAI, 2026, 5, 4, 10, 0))
    for day in range(1, 8):  # the range is inclusive at both ends
        assert not tc.is_open(at(SHANGHAI, 2026, 10, day, 10, 0))
    assert tc.is_open(at(SHANGHAI, 2026, 10, 8, 10, 0))
    assert not tc.is_open(at(SHANGHAI, 2026, 12, 24, 10, 0))


def test_a_holiday_closes_its_whole_calendar_day_even_for_night_ranges() -> None:
    night = {"hours": [{"days": [1, 2, 3, 4, 5, 6, 7], "from": "22:00", "to": "06:00"}]}
    tc = parse_time_condition({**night, "holidays": ["2026-10-01"]})
    assert tc.is_open(at(SHANGHAI, 2026, 9, 30, 23, 0))  # the eve's night range ...
    assert not tc.is_open(at(SHANGHAI, 2026, 10, 1, 2, 0))  # ... stops at midnight
    assert not tc.is_open(at(SHANGHAI, 2026, 10, 1, 23, 0))
    assert not tc.is_open(at(SHANGHAI, 2026, 10, 2, 2, 0))  # the holiday's night range neither
    assert tc.is_open(at(SHANGHAI, 2026, 10, 2, 22, 0))


# -- daylight saving (Europe/Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00) ---


def berlin(hours: list[dict], holidays: list[str] | None = None) -> TimeCondition:
    return parse_time_condition(
        {"hours": hours, "holidays": holidays or [], "timezone": "Europe/Berlin"}
    )


def test_hours_are_wall_clock_hours_in_summer_and_winter() -> None:
    office = berlin(OFFICE["hours"])
    assert not office.is_open(utc(2026, 1, 12, 7, 30)) and office.is_open(utc(2026, 1, 12, 8, 0))
    assert office.is_open(utc(2026, 7, 13, 7, 0))  # 09:00 CEST
    assert not office.is_open(utc(2026, 7, 13, 16, 0))  # 18:00 CEST
    # The Monday after the spring change: 09:00 is already 07:00 UTC.
    assert office.next_change(utc(2026, 3, 28, 12, 0)) == at(BERLIN, 2026, 3, 30, 9, 0)
    assert office.next_change(utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 7, 0)


def test_a_range_starting_in_the_skipped_hour_opens_when_the_clocks_jump() -> None:
    sunday = berlin([{"days": [7], "from": "02:30", "to": "05:00"}])
    assert not sunday.is_open(utc(2026, 3, 29, 0, 59, 59))  # 01:59:59 CET
    assert sunday.is_open(utc(2026, 3, 29, 1, 0))  # 03:00 CEST
    change = sunday.next_change(utc(2026, 3, 29, 0, 0))
    assert change == utc(2026, 3, 29, 1, 0)
    assert change.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"
    assert sunday.next_change(change) == at(BERLIN, 2026, 3, 29, 5, 0)


def test_a_night_range_over_the_spring_change_is_an_hour_shorter() -> None:
    night = berlin([{"days": [6], "from": "22:00", "to": "06:00"}])
    opens = night.next_change(utc(2026, 3, 28, 12, 0))
    assert opens is not None
    closes = night.next_change(opens)
    assert closes is not None
    assert opens == at(BERLIN, 2026, 3, 28, 22, 0)
    assert closes == at(BERLIN, 2026, 3, 29, 6, 0)
    assert closes - opens == timedelta(hours=7)


def test_the_repeated_autumn_hour_is_evaluated_on_the_wall_clock_both_times() -> None:
    early = berlin([{"days": [7], "from": "00:00", "to": "02:30"}])
    assert early.is_open(at(BERLIN, 2026, 10, 25, 2, 15, fold=0))  # 00:15 UTC, CEST
    assert not early.is_open(at(BERLIN, 2026, 10, 25, 2, 45, fold=0))
    assert early.is_open(at(BERLIN, 2026, 10, 25, 2, 15, fold=1))  # 01:15 UTC, CET
    changes = [utc(2026, 10, 24, 23, 0)]
    for _ in range(3):
        change = early.next_change(changes[-1])
        assert change is not None
        changes.append(change)
    assert changes[1:] == [
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 1, 0),  # 02:00 CET: the wall clock is back inside the range
        utc(2026, 10, 25, 1, 30),  # 02:30 CET
    ]


def test_shanghai_has_no_daylight_saving() -> None:
    office = parse_time_condition(OFFICE)
    for month, monday in ((1, 5), (7, 6)):  # 18:00 is 10:00 UTC all year round
        noon = at(SHANGHAI, 2026, month, monday, 12, 0)
        assert office.next_change(noon) == utc(2026, month, monday, 10)
    assert office.is_open(utc(2026, 3, 30, 1, 0)) and office.is_open(utc(2026, 10, 26, 1, 0))


def test_next_change_is_given_in_utc_for_safe_arithmetic() -> None:
    change = berlin(OFFICE["hours"]).next_change(at(BERLIN, 2026, 10, 23, 19, 0))
    assert change is not None and change.tzinfo is UTC
    assert change.astimezone(BERLIN) == at(BERLIN, 2026, 10, 26, 9, 0)


# -- next_change ----------------------------------------------------------------------------


def test_next_change_over_a_weekend_and_a_holiday_week() -> None:
    tc = parse_time_condition({**OFFICE, "holidays": ["2026-10-01/2026-10-07"]})
    assert tc.next_change(at(SHANGHAI, 2026, 5, 11, 10, 0)) == at(SHANGHAI, 2026, 5, 11, 18, 0)
    assert tc.next_change(at(SHANGHAI, 2026, 5, 15, 19, 0)) == at(SHANGHAI, 2026, 5, 18, 9, 0)
    assert tc.next_change(at(SHANGHAI, 2026, 9, 30, 18, 0)) == at(SHANGHAI, 2026, 10, 8, 9, 0)
    # Exactly at a boundary, the change after it.
    assert tc.next_change(at(SHANGHAI, 2026, 5, 11, 9, 0)) == at(SHANGHAI, 2026, 5, 11, 18, 0)


def test_next_change_is_none_when_nothing_ever_changes() -> None:
    assert TimeCondition().next_change(utc(2026, 1, 1, 0, 0)) is None
    past_holiday = parse_time_condition({"holidays": ["2020-01-01"]})
    assert past_holiday.next_change(utc(2026, 1, 1, 0, 0)) is None


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Shanghai", "America/Sao_Paulo"])
def test_next_change_agrees_with_a_minute_by_minute_scan(zone: str) -> None:
    tc = parse_time_condition(
        {
            "hours": [
                {"days": [1, 2, 3, 4, 5], "from": "08:30", "to": "12:00"},
                {"days": [1, 2, 3, 4, 5], "from": "13:00", "to": "17:30"},
                {"days": [6, 7], "from": "23:00", "to": "02:30"},
                {"days": [7], "from": "02:00", "to": "03:30"},
            ],
            "holidays": ["2026-03-31", "2026-10-27"],
            "timezone": zone,
        }
    )
    for start in (utc(2026, 3, 27, 0, 0), utc(2026, 10, 23, 0, 0)):  # the DST weeks
        moment = start
        scanned, predicted = [], []
        while moment < start + timedelta(days=6):
            state = tc.is_open(moment)
            following = moment + timedelta(minutes=1)
            if tc.is_open(following) != state:
                scanned.append(following)
            moment = following
        moment = start
        while True:
            change = tc.next_change(moment)
            if change is None or change >= start + timedelta(days=6):
                break
            predicted.append(change)
            moment = change
        assert predicted == scanned and len(scanned) > 10


# -- the JSON form --------------------------------------------------------------------------


def test_as_dict_reads_back_the_same() -> None:
    data = {
        "hours": [{"days": [1, 3, 5], "from": "22:00", "to": "06:00"}],
        "holidays": ["2026-01-01", "2026-10-01/2026-10-07"],
        "timezone": "Europe/Berlin",
    }
    tc = parse_time_condition(data)
    assert tc.as_dict() == data
    assert parse_time_condition(tc.as_dict()) == tc


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ([], "time_condition", "must be an object"),
        ({"hour": []}, "time_condition.hour", "unknown field"),
        ({"hours": {}}, "time_condition.hours", "must be a list"),
        ({"hours": ["9-18"]}, "time_condition.hours[0]", "must be"),
        ({"hours": [{"days": [1], "from": "09:00"}]}, "time_condition.hours[0].to", "missing"),
        ({"hours": [{"days": [], "from": "09:00", "to": "18:00"}]}, "hours[0].days", "1-7"),
        ({"hours": [{"days": [0], "from": "09:00", "to": "18:00"}]}, "hours[0].days", "1-7"),
        ({"hours": [{"days": [8], "from": "09:00", "to": "18:00"}]}, "hours[0].days", "1-7"),
        ({"hours": [{"days": [True], "from": "09:00", "to": "18:00"}]}, "hours[0].days", "1-7"),
        ({"hours": [{"days": [1], "from": "9:00", "to": "18:00"}]}, "hours[0].from", "HH:MM"),
        ({"hours": [{"days": [1], "from": "09:60", "to": "18:00"}]}, "hours[0].from", "HH:MM"),
        ({"hours": [{"days": [1], "from": "24:00", "to": "18:00"}]}, "hours[0].from", "23:59"),
        ({"hours": [{"days": [1], "from": "09:00", "to": "24:01"}]}, "hours[0].to", "24:00"),
        ({"hours": [{"days": [1], "from": "09:00", "to": 18}]}, "hours[0].to", "HH:MM"),
        (
            {"hours": [{"days": [1], "from": "09:00", "to": "18:00", "tz": "x"}]},
            "hours[0].tz",
            "unknown field",
        ),
        ({"holidays": ["2026-10-01", "2026-13-01"]}, "holidays[1]", "YYYY-MM-DD"),
        ({"holidays": ["2026-10-07/2026-10-01"]}, "holidays[0]", "before it starts"),
        ({"holidays": [{"to": "2026-10-01"}]}, "holidays[0].from", "missing"),
        ({"holidays": [20261001]}, "holidays[0]", "YYYY-MM-DD"),
        ({"timezone": "Mars/Olympus_Mons"}, "time_condition.timezone", "unknown timezone"),
        ({"timezone": ""}, "time_condition.timezone", "zone name"),
    ],
)
def test_validation_errors_name_the_field(data: object, field: str, message: str) -> None:
    with pytest.raises(TimeConditionError, match=message) as caught:
        parse_time_condition(data)  # type: ignore[arg-type]
    assert caught.value.field.endswith(field)
    assert str(caught.value).startswith(caught.value.field + ":")
    assert isinstance(caught.value, ValueError)


def test_the_field_prefix_can_be_chosen() -> None:
    with pytest.raises(TimeConditionError) as caught:
        parse_time_condition({"timezone": "Nowhere"}, field="routes[2].time_condition")
    assert caught.value.field == "routes[2].time_condition.timezone"
