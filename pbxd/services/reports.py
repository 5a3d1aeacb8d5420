"""Reports (统计报表, issue 6): call figures by day, week or month, in total, by queue or by
agent, rebuilt from the history (docs/CALLCENTER.md "History") so that they match it exactly.

Two layers. The aggregation core (`aggregate` and the fact types) is pure: plain frozen
dataclasses in, a `Report` out, no database, no clock. `ReportService` is the thin query layer:
it reads the rows of a time range with peewee, turns each into a fact with `call_fact`, and
hands them to the core. A report is asked for with a `ReportRequest`.

Time. `start` and `end` are local calendar dates (inclusive) in `timezone` (an IANA name,
default Asia/Shanghai). The range is the UTC window [first instant of `start`, first instant of
the day after `end`) of that zone (`local_window`); every row is bucketed by the local date of
its time (zoneinfo, so a 23- or 25-hour day at a DST change is still one day). Buckets: a day;
a week from Monday to Sunday; a calendar month. A bucket is named by its first day (`bucket`),
and `from`/`to` give the days of the range it covers (the first and last buckets may be cut).

The three sources and the time that buckets each:

- calls: the `cdr` rows whose `start` lies in the window, each with its `call_detail` row if
  any (LEFT JOIN on cdr_id), bucketed by `cdr.start`. One CDR row is one call. A caller passed
  from queue to queue (overflow) leaves one row per queue, so he counts once per queue, also in
  the total.
- voicemail: the `voicemail_message` rows whose `time` lies in the window, bucketed by `time`.
  Messages deleted from their box are no longer counted.
- rings: the `queue_event` rows with event RING_NO_ANSWER, a non-null `agent` and `time` in the
  window, bucketed by `time`.

Direction of a call (`call_direction`). The runtime does not mark trunk calls: a trunk call's
CDR row has the outside caller and the dialed DID, and the legs the queues write always say
`direction=inbound, peer_kind=extension` for the caller, whoever he is. So the direction comes
from the numbers, with `call_leg` rows to a trunk taking precedence when there are any:

1. a `call_leg` of the row with peer_kind "trunk": direction "inbound" makes the call inbound,
   else "outbound" makes it outbound;
2. `cdr.caller` is not an extension number (table `extension`, at report time): inbound (only
   trunks bring calls from numbers that are not extensions: every other INVITE authenticates
   as an extension);
3. `cdr.callee` is internal: an extension, a queue, ring group, conference or IVR number
   (configuration at report time), a feature code (starts with "*"), or the row has a queue
   (`call_detail.queue`): internal;
4. otherwise outbound: an extension dialing a number pbxd does not serve. pbxd places no calls
   on trunks yet, so today these are failed (404) attempts.

Automatic outbound calls (campaigns) are not stored anywhere yet: no CDR marker exists, so
`outbound_auto` is 0 and `outbound_manual` equals `outbound` (`CallFact.automatic` is the place
for such a marker once campaigns write one).

The parties of a call (who it counts for with group=agent) are `call_detail.agent` (the agent
who took a queue call) and `cdr.caller` and `cdr.callee` when they are extension numbers. A
call between two extensions counts for both, so with group=agent the totals may hold it twice.

Group keys: group=total has one key (null); group=queue keys calls by `call_detail.queue`
(calls without a queue are left out), voicemail by `box` when the box is not an extension
number (a queue's box), rings by `queue_event.queue`; group=agent keys calls by each party,
voicemail by `box` when it is an extension number, rings by `queue_event.agent`.

Filters (`queues`, `agents`; None = no filter). A call passes `queues` when its queue is one of
them, and `agents` when one of its parties is one of them (with group=agent it then counts only
for the parties in the filter). A message passes when its box is in the filter; a ring when its
queue (resp. agent) is. Both filters must pass. An empty filter lets nothing pass: a supervisor
who leads no queue gets a report of zeros (the web layer forces a supervisor's filters to his
team, pbxd/services/scope.py).

Metrics of a row (a bucket and a key); "calls" below are the CDR rows of that row:

- calls: number of calls. inbound, outbound, internal: the calls of each direction
  (inbound + outbound + internal = calls). outbound_auto: outbound calls marked automatic
  (0, see above); outbound_manual = outbound - outbound_auto.
- answered: calls with `cdr.disposition` = ANSWERED (a queue call: an agent took it; a direct
  call: the extension answered; a call pbxd answered itself, an IVR, voicemail or a
  conference room, is ANSWERED in the CDR too). missed = calls - answered (NO ANSWER, BUSY,
  FAILED, CANCELLED, ABANDONED). answer_rate = answered / calls.
  inbound_answered, outbound_answered: answered calls of that direction; inbound_answer_rate =
  inbound_answered / inbound.
- talk_time: sum of `cdr.billsec` of the answered calls (seconds). avg_talk_time = talk_time /
  answered.
- queue_calls: calls with a `call_detail.queue`. avg_wait: mean of `call_detail.wait` over the
  queue calls whose wait is not null; avg_answer_wait: the same over the answered ones (the
  average speed of answer); max_wait: the largest such wait (null when none).
- abandoned: queue calls for which the queue log holds an ABANDON event with the call's
  `call_id` and queue (the caller hung up while waiting; written with the call, so
  abandoned <= missed). abandon_rate = abandoned / queue_calls.
- ring_no_answer: RING_NO_ANSWER events (an agent was rung and did not answer).
- voicemail: messages left (see above).
- surveys: calls whose `call_detail.survey` is set; very_satisfied, satisfied, unsatisfied:
  those with that answer; unsatisfied_service, unsatisfied_attitude, unsatisfied_other: the
  unsatisfied ones by `call_detail.survey_reason`. satisfaction_rate = (very_satisfied +
  satisfied) / surveys.

A rate or average whose denominator is 0 is null. Rates are fractions rounded to 4 decimals,
averages seconds rounded to 1 decimal (Python's round()). `totals` adds up every row's
contributions (counts and sums add, max_wait is the largest) and derives its rates and
averages from those sums.

Rows: group=total gives every bucket; group=queue and group=agent give every bucket for each
key that has data in the range or is named in the filter (zeros where nothing happened), so
charts line up. Keys sort by length then text (numeric order for extension numbers).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import reduce
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from peewee import JOIN

from ..db import close_database, db
from ..db.models import (
    CallDetail,
    CallLeg,
    Cdr,
    Conference,
    Extension,
    Ivr,
    Queue,
    QueueEvent,
    RingGroup,
    VoicemailMessage,
)
from .cdr import PARTY_MAX_LEN, CdrView, Disposition, HangupSide
from .errors import ValidationError
from .history import (
    Direction,
    PeerKind,
    QueueEventType,
    SurveyReason,
    SurveyResult,
    require_survey,
)
from .scope import Scope
from .validation import require_aware, require_int, require_member, require_text

DEFAULT_TIMEZONE = "Asia/Shanghai"  # the appliance's market; also the time conditions' default
TIMEZONE_MAX_LEN = 64
_TIMEZONE_PATTERN = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")
_NUMBER_PATTERN = re.compile(r"[0-9]{2,6}")  # extension and queue numbers (configbase)
MIN_YEAR, MAX_YEAR = 2000, 2199  # far from date.min/max, so that zone arithmetic cannot overflow
MAX_FILTER_KEYS = 1000
T = TypeVar("T")
MAX_ROWS = 50_000  # buckets x keys of one report
EXPORT_MAX_ROWS = 100_000  # CDR export (CSV)


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # Monday to Sunday (ISO 8601)
    MONTH = "month"


class Group(StrEnum):
    TOTAL = "total"
    QUEUE = "queue"
    AGENT = "agent"


# Longest range per period, in days (both ends included).
MAX_DAYS = {Period.DAY: 366, Period.WEEK: 3 * 366, Period.MONTH: 5 * 366}


# -- time -----------------------------------------------------------------------------------


def resolve_timezone(name: object) -> tzinfo:
    """The zoneinfo zone named `name` (IANA, e.g. "Asia/Shanghai"); ValidationError otherwise."""
    require_text("timezone", name, max_len=TIMEZONE_MAX_LEN)
    assert isinstance(name, str)
    if not _TIMEZONE_PATTERN.fullmatch(name):
        raise ValidationError(f"timezone: {name!r} is not an IANA zone name", field="timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(
            f"timezone: unknown zone {name!r} (e.g. Asia/Shanghai)", field="timezone"
        ) from None


def day_start(day: date, zone: tzinfo) -> datetime:
    """The first instant (UTC) of local `day`. A midnight skipped by DST (fold 0 takes the
    offset before the jump) lands on the first existing instant; a repeated one on the first
    pass."""
    return datetime.combine(day, time(), zone).astimezone(UTC)


def local_window(start: date, end: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[first instant of `start`, first instant of the day after `end`) in UTC."""
    return day_start(start, zone), day_start(end + timedelta(days=1), zone)


def bucket_start(day: date, period: Period) -> date:
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


def _next_bucket(first: date, period: Period) -> date:
    if period is Period.WEEK:
        return first + timedelta(days=7)
    if period is Period.MONTH:
        return date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first + timedelta(days=1)


@dataclass(frozen=True)
class Bucket:
    start: date  # the period's first day (its name), maybe before the range
    first: date  # the days of the range it covers
    last: date


def buckets(start: date, end: date, period: Period) -> list[Bucket]:
    found = []
    current = bucket_start(start, period)
    while current <= end:
        following = _next_bucket(current, period)
        found.append(Bucket(current, max(start, current), min(end, following - timedelta(days=1))))
        current = following
    return found


# -- the request ----------------------------------------------------------------------------


def _require_date(name: str, value: object) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError(f"{name}: expected a date", field=name)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(f"{name}: expected a year from {MIN_YEAR} to {MAX_YEAR}", field=name)
    return value


def _require_keys(name: str, values: object) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError(f"{name}: expected a list of numbers", field=name)
    keys = frozenset(values)  # empty: nothing passes (a supervisor who leads no queue)
    if len(keys) > MAX_FILTER_KEYS:
        raise ValidationError(f"{name}: at most {MAX_FILTER_KEYS} numbers", field=name)
    for key in keys:
        if not isinstance(key, str) or not _NUMBER_PATTERN.fullmatch(key):
            raise ValidationError(f"{name}: {key!r} is not a number of 2 to 6 digits", field=name)
    return keys


@dataclass(frozen=True)
class ReportRequest:
    """What to report; validated when built (ValidationError naming the field)."""

    period: Period
    group: Group
    start: date  # local dates, both included
    end: date
    timezone: str = DEFAULT_TIMEZONE
    queues: frozenset[str] | None = None  # None: every queue; empty: none
    agents: frozenset[str] | None = None  # None: every agent (extension); empty: none

    def __post_init__(self) -> None:
        object.__setattr__(self, "period", require_member(Period, "period", self.period))
        object.__setattr__(self, "group", require_member(Group, "group", self.group))
        _require_date("start", self.start)
        _require_date("end", self.end)
        if self.end < self.start:
            raise ValidationError("end: before start", field="end")
        days = (self.end - self.start).days + 1
        limit = MAX_DAYS[self.period]
        if days > limit:
            raise ValidationError(
                f"end: {days} days by {self.period}; at most {limit} (use a longer period)",
                field="end",
            )
        resolve_timezone(self.timezone)
        object.__setattr__(self, "queues", _require_keys("queue", self.queues))
        object.__setattr__(self, "agents", _require_keys("agent", self.agents))

    @property
    def zone(self) -> tzinfo:
        return resolve_timezone(self.timezone)

    def window(self) -> tuple[datetime, datetime]:
        return local_window(self.start, self.end, self.zone)

    def buckets(self) -> list[Bucket]:
        return buckets(self.start, self.end, self.period)


# -- facts: what the core counts ------------------------------------------------------------


@dataclass(frozen=True)
class Numbering:
    """The numbers pbxd serves, at report time."""

    extensions: frozenset[str]
    services: frozenset[str] = frozenset()  # queue, ring group, conference and IVR numbers

    def is_internal(self, number: str) -> bool:
        return number in self.extensions or number in self.services or number.startswith("*")


def call_direction(
    caller: str,
    callee: str,
    numbering: Numbering,
    *,
    queue: str | None = None,
    trunk_legs: Iterable[str] = (),
) -> Direction:
    """Rules 1-4 of the module docstring; `trunk_legs`: the directions of the call's legs
    whose peer_kind is "trunk"."""
    trunk = set(trunk_legs)
    if Direction.INBOUND in trunk:
        return Direction.INBOUND
    if Direction.OUTBOUND in trunk:
        return Direction.OUTBOUND
    if caller not in numbering.extensions:
        return Direction.INBOUND
    if queue is not None or numbering.is_internal(callee):
        return Direction.INTERNAL
    return Direction.OUTBOUND


def call_parties(
    caller: str, callee: str, agent: str | None, numbering: Numbering
) -> frozenset[str]:
    parties = {number for number in (caller, callee) if number in numbering.extensions}
    if agent is not None:
        parties.add(agent)
    return frozenset(parties)


@dataclass(frozen=True)
class CallFact:
    """One CDR row (with its call-center detail), as the core counts it."""

    start: datetime  # cdr.start, aware
    direction: Direction
    answered: bool  # cdr.disposition == ANSWERED
    billsec: int = 0
    queue: str | None = None
    wait: int | None = None
    abandoned: bool = False  # an ABANDON event of this call in its queue
    survey: SurveyResult | None = None
    survey_reason: SurveyReason | None = None
    parties: frozenset[str] = frozenset()
    automatic: bool = False  # an automatic (campaign) outbound call; no marker exists yet

    def __post_init__(self) -> None:
        require_aware("start", self.start)
        object.__setattr__(
            self, "direction", require_member(Direction, "direction", self.direction)
        )
        require_int("billsec", self.billsec, minimum=0)
        if self.wait is not None:
            require_int("wait", self.wait, minimum=0)
        survey, reason = require_survey(self.survey, self.survey_reason)
        object.__setattr__(self, "survey", survey)
        object.__setattr__(self, "survey_reason", reason)
        object.__setattr__(self, "parties", frozenset(self.parties))


@dataclass(frozen=True)
class VoicemailFact:
    time: datetime
    box: str
    extension_box: bool  # the box is an extension's (else a queue's)

    def __post_init__(self) -> None:
        require_aware("time", self.time)


@dataclass(frozen=True)
class RingFact:
    """A RING_NO_ANSWER event."""

    time: datetime
    queue: str | None
    agent: str

    def __post_init__(self) -> None:
        require_aware("time", self.time)


def call_fact(
    *,
    start: datetime,
    caller: str,
    callee: str,
    disposition: str,
    billsec: int,
    numbering: Numbering,
    queue: str | None = None,
    wait: int | None = None,
    agent: str | None = None,
    survey: str | None = None,
    survey_reason: str | None = None,
    abandoned: bool = False,
    trunk_legs: Iterable[str] = (),
) -> CallFact:
    """The fact of one stored call (a CDR row, its detail, its trunk legs, its ABANDON)."""
    answered = disposition == Disposition.ANSWERED
    return CallFact(
        start=start,
        direction=call_direction(caller, callee, numbering, queue=queue, trunk_legs=trunk_legs),
        answered=answered,
        billsec=billsec if answered else 0,
        queue=queue,
        wait=wait,
        abandoned=abandoned and queue is not None,
        survey=None if survey is None else require_member(SurveyResult, "survey", survey),
        survey_reason=(
            None
            if survey_reason is None
            else require_member(SurveyReason, "survey_reason", survey_reason)
        ),
        parties=call_parties(caller, callee, agent, numbering),
    )


# -- columns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # date | text | count | seconds | rate
    en: str
    zh: str


def _columns(*specs: tuple[str, str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


METRIC_COLUMNS = _columns(
    ("calls", "count", "Calls", "通话总数"),
    ("inbound", "count", "Inbound", "呼入"),
    ("outbound", "count", "Outbound", "呼出"),
    ("outbound_manual", "count", "Outbound (manual)", "手动外呼"),
    ("outbound_auto", "count", "Outbound (automatic)", "自动外呼"),
    ("internal", "count", "Internal", "内部通话"),
    ("answered", "count", "Answered", "接通"),
    ("missed", "count", "Missed", "未接通"),
    ("answer_rate", "rate", "Answer rate", "接通率"),
    ("inbound_answered", "count", "Inbound answered", "呼入接通"),
    ("inbound_answer_rate", "rate", "Inbound answer rate", "呼入接通率"),
    ("outbound_answered", "count", "Outbound answered", "呼出接通"),
    ("talk_time", "seconds", "Talk time (s)", "通话时长(秒)"),
    ("avg_talk_time", "seconds", "Average talk time (s)", "平均通话时长(秒)"),
    ("queue_calls", "count", "Queue calls", "排队来电"),
    ("avg_wait", "seconds", "Average wait (s)", "平均等待时长(秒)"),
    ("avg_answer_wait", "seconds", "Average wait to answer (s)", "平均应答等待(秒)"),
    ("max_wait", "seconds", "Longest wait (s)", "最长等待(秒)"),
    ("abandoned", "count", "Abandoned", "放弃"),
    ("abandon_rate", "rate", "Abandon rate", "放弃率"),
    ("ring_no_answer", "count", "Rings not answered", "振铃未接"),
    ("voicemail", "count", "Voicemail messages", "留言"),
    ("surveys", "count", "Surveys", "评价数"),
    ("very_satisfied", "count", "Very satisfied", "非常满意"),
    ("satisfied", "count", "Satisfied", "满意"),
    ("unsatisfied", "count", "Unsatisfied", "不满意"),
    ("unsatisfied_service", "count", "Unsatisfied: service", "不满意(服务)"),
    ("unsatisfied_attitude", "count", "Unsatisfied: attitude", "不满意(态度)"),
    ("unsatisfied_other", "count", "Unsatisfied: other", "不满意(其他)"),
    ("satisfaction_rate", "rate", "Satisfaction rate", "满意率"),
)
METRICS = tuple(column.name for column in METRIC_COLUMNS)

_KEY_LABELS = {
    Group.TOTAL: ("Key", "编号"),
    Group.QUEUE: ("Queue", "队列"),
    Group.AGENT: ("Agent", "坐席"),
}


def report_columns(group: Group | str) -> tuple[Column, ...]:
    """Every column of a report row, in table order."""
    key_en, key_zh = _KEY_LABELS[require_member(Group, "group", group)]
    return (
        *_columns(
            ("bucket", "date", "Period", "周期"),
            ("from", "date", "From", "起始日期"),
            ("to", "date", "To", "截止日期"),
            ("key", "text", key_en, key_zh),
            ("name", "text", "Name", "名称"),
        ),
        *METRIC_COLUMNS,
    )


# -- the aggregation core -------------------------------------------------------------------


def _ratio(part: int, whole: int, digits: int) -> float | None:
    return round(part / whole, digits) if whole else None


@dataclass
class Tally:
    """The sums behind one row's metrics; `merge` adds another's (for the totals)."""

    calls: int = 0
    inbound: int = 0
    outbound_manual: int = 0
    outbound_auto: int = 0
    internal: int = 0
    answered: int = 0
    inbound_answered: int = 0
    outbound_answered: int = 0
    talk_time: int = 0
    queue_calls: int = 0
    wait_count: int = 0
    wait_sum: int = 0
    answer_wait_count: int = 0
    answer_wait_sum: int = 0
    max_wait: int | None = None
    abandoned: int = 0
    ring_no_answer: int = 0
    voicemail: int = 0
    surveys: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)

    def add_call(self, fact: CallFact) -> None:
        self.calls += 1
        if fact.direction is Direction.INBOUND:
            self.inbound += 1
        elif fact.direction is Direction.INTERNAL:
            self.internal += 1
        elif fact.automatic:
            self.outbound_auto += 1
        else:
            self.outbound_manual += 1
        if fact.answered:
            self.answered += 1
            self.talk_time += fact.billsec
            if fact.direction is Direction.INBOUND:
                self.inbound_answered += 1
            elif fact.direction is Direction.OUTBOUND:
                self.outbound_answered += 1
        if fact.queue is not None:
            self.queue_calls += 1
            if fact.abandoned:
                self.abandoned += 1
            if fact.wait is not None:
                self.wait_count += 1
                self.wait_sum += fact.wait
                if fact.answered:
                    self.answer_wait_count += 1
                    self.answer_wait_sum += fact.wait
                self.max_wait = (
                    fact.wait if self.max_wait is None else max(self.max_wait, fact.wait)
                )
        if fact.survey is not None:
            self.surveys[fact.survey] = self.surveys.get(fact.survey, 0) + 1
            if fact.survey is SurveyResult.UNSATISFIED and fact.survey_reason is not None:
                self.reasons[fact.survey_reason] = self.reasons.get(fact.survey_reason, 0) + 1

    def merge(self, other: Tally) -> None:
        for name in (
            "calls", "inbound", "outbound_manual", "outbound_auto", "internal", "answered",
            "inbound_answered", "outbound_answered", "talk_time", "queue_calls", "wait_count",
            "wait_sum", "answer_wait_count", "answer_wait_sum", "abandoned", "ring_no_answer",
            "voicemail",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.max_wait is not None:
            self.max_wait = (
                other.max_wait if self.max_wait is None else max(self.max_wait, other.max_wait)
            )
        for mine, theirs in ((self.surveys, other.surveys), (self.reasons, other.reasons)):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count

    def metrics(self) -> dict[str, int | float | None]:
        outbound = self.outbound_manual + self.outbound_auto
        very = self.surveys.get(SurveyResult.VERY_SATISFIED, 0)
        satisfied = self.surveys.get(SurveyResult.SATISFIED, 0)
        unsatisfied = self.surveys.get(SurveyResult.UNSATISFIED, 0)
        surveys = very + satisfied + unsatisfied
        values: dict[str, int | float | None] = {
            "calls": self.calls,
            "inbound": self.inbound,
            "outbound": outbound,
            "outbound_manual": self.outbound_manual,
            "outbound_auto": self.outbound_auto,
            "internal": self.internal,
            "answered": self.answered,
            "missed": self.calls - self.answered,
            "answer_rate": _ratio(self.answered, self.calls, 4),
            "inbound_answered": self.inbound_answered,
            "inbound_answer_rate": _ratio(self.inbound_answered, self.inbound, 4),
            "outbound_answered": self.outbound_answered,
            "talk_time": self.talk_time,
            "avg_talk_time": _ratio(self.talk_time, self.answered, 1),
            "queue_calls": self.queue_calls,
            "avg_wait": _ratio(self.wait_sum, self.wait_count, 1),
            "avg_answer_wait": _ratio(self.answer_wait_sum, self.answer_wait_count, 1),
            "max_wait": self.max_wait,
            "abandoned": self.abandoned,
            "abandon_rate": _ratio(self.abandoned, self.queue_calls, 4),
            "ring_no_answer": self.ring_no_answer,
            "voicemail": self.voicemail,
            "surveys": surveys,
            "very_satisfied": very,
            "satisfied": satisfied,
            "unsatisfied": unsatisfied,
            "unsatisfied_service": self.reasons.get(SurveyReason.SERVICE, 0),
            "unsatisfied_attitude": self.reasons.get(SurveyReason.ATTITUDE, 0),
            "unsatisfied_other": self.reasons.get(SurveyReason.OTHER, 0),
            "satisfaction_rate": _ratio(very + satisfied, surveys, 4),
        }
        assert tuple(values) == METRICS
        return values


@dataclass(frozen=True)
class ReportRow:
    bucket: Bucket
    key: str | None  # None with group=total
    metrics: Mapping[str, int | float | None]


@dataclass(frozen=True)
class Report:
    request: ReportRequest
    rows: tuple[ReportRow, ...]
    totals: Mapping[str, int | float | None]
    names: Mapping[str, str] = field(default_factory=dict)  # key -> queue or extension name


def _key_order(key: str) -> tuple[int, str]:
    return (len(key), key)


class _Aggregator:
    def __init__(self, request: ReportRequest):
        self.request = request
        self.zone = request.zone
        self.tallies: dict[tuple[date, str | None], Tally] = {}
        self.keys: set[str] = set()

    def _tally(self, moment: datetime, key: str | None) -> Tally | None:
        day = moment.astimezone(self.zone).date()
        if not self.request.start <= day <= self.request.end:
            return None  # outside the range (the query layer fetched a wider window)
        if key is not None:
            self.keys.add(key)
        slot = (bucket_start(day, self.request.period), key)
        tally = self.tallies.get(slot)
        if tally is None:
            tally = self.tallies[slot] = Tally()
        return tally

    def add_call(self, fact: CallFact) -> None:
        request = self.request
        if request.queues is not None and fact.queue not in request.queues:
            return
        parties = fact.parties
        if request.agents is not None:
            parties = parties & request.agents
            if not parties:
                return
        if request.group is Group.TOTAL:
            keys: Iterable[str | None] = (None,)
        elif request.group is Group.QUEUE:
            if fact.queue is None:
                return
            keys = (fact.queue,)
        else:
            keys = parties
        for key in keys:
            tally = self._tally(fact.start, key)
            if tally is not None:
                tally.add_call(fact)

    def add_voicemail(self, fact: VoicemailFact) -> None:
        request = self.request
        if request.queues is not None and fact.box not in request.queues:
            return
        if request.agents is not None and fact.box not in request.agents:
            return
        if request.group is Group.QUEUE and fact.extension_box:
            return
        if request.group is Group.AGENT and not fact.extension_box:
            return
        tally = self._tally(fact.time, None if request.group is Group.TOTAL else fact.box)
        if tally is not None:
            tally.voicemail += 1

    def add_ring(self, fact: RingFact) -> None:
        request = self.request
        if request.queues is not None and fact.queue not in request.queues:
            return
        if request.agents is not None and fact.agent not in request.agents:
            return
        if request.group is Group.TOTAL:
            key = None
        elif request.group is Group.QUEUE:
            if fact.queue is None:
                return
            key = fact.queue
        else:
            key = fact.agent
        tally = self._tally(fact.time, key)
        if tally is not None:
            tally.ring_no_answer += 1

    def report(self) -> Report:
        request = self.request
        periods = request.buckets()
        keys: Sequence[str | None] = [None]
        if request.group is not Group.TOTAL:
            named = request.queues if request.group is Group.QUEUE else request.agents
            ordered: list[str] = sorted(self.keys | (named or set()), key=_key_order)
            keys = ordered
        if len(periods) * len(keys) > MAX_ROWS:
            raise ValidationError(
                f"group: {len(periods)} buckets x {len(keys)} keys is more than {MAX_ROWS} rows; "
                f"use a longer period, a shorter range or the {request.group} filter",
                field="group",
            )
        totals = Tally()
        for tally in self.tallies.values():
            totals.merge(tally)
        rows = tuple(
            ReportRow(bucket, key, (self.tallies.get((bucket.start, key)) or Tally()).metrics())
            for bucket in periods
            for key in keys
        )
        return Report(request=request, rows=rows, totals=totals.metrics())


def aggregate(
    request: ReportRequest,
    calls: Iterable[CallFact] = (),
    voicemails: Iterable[VoicemailFact] = (),
    rings: Iterable[RingFact] = (),
) -> Report:
    """The report of `request` over these facts (facts outside its local dates are ignored)."""
    aggregator = _Aggregator(request)
    for call in calls:
        aggregator.add_call(call)
    for message in voicemails:
        aggregator.add_voicemail(message)
    for ring in rings:
        aggregator.add_ring(ring)
    return aggregator.report()


# -- the query layer ------------------------------------------------------------------------


@dataclass(frozen=True)
class CdrExportRow(CdrView):
    """A CDR row with its direction and its call-center detail (the CSV export)."""

    direction: Direction
    queue: str | None
    wait: int | None
    agent: str | None
    survey: str | None
    survey_reason: str | None


def _numbers(model: Any) -> set[str]:
    return {row[0] for row in model.select(model.number).tuples() if row[0] is not None}


def _window(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    """The conditions start <= column < end (a bound may be None)."""
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def _where(query: Any, conditions: list[Any]) -> Any:
    return query.where(reduce(operator.and_, conditions)) if conditions else query


_EXPORT_COLUMNS = (
    Cdr.id,
    Cdr.call_id,
    Cdr.caller,
    Cdr.callee,
    Cdr.start,
    Cdr.answer,
    Cdr.end,
    Cdr.duration,
    Cdr.billsec,
    Cdr.disposition,
    Cdr.hangup_side,
    CallDetail.queue,
    CallDetail.wait,
    CallDetail.agent,
    CallDetail.survey,
    CallDetail.survey_reason,
)


def _export_row(
    row: dict[str, Any], numbering: Numbering, trunk_legs: Iterable[str]
) -> CdrExportRow:
    """`row`: the values of `_EXPORT_COLUMNS` by name."""
    direction = call_direction(
        row["caller"], row["callee"], numbering, queue=row["queue"], trunk_legs=trunk_legs
    )
    stored = {
        **row,
        "disposition": Disposition(row["disposition"]),
        "hangup_side": HangupSide(row["hangup_side"]),
    }
    return CdrExportRow(**stored, direction=direction)


class ReportService:
    """Synchronous reads; no state. A year of a busy center is a few hundred thousand rows
    (seconds of work): the API runs `report` and `export_cdr` through `on_worker` on a worker
    thread, off the event loop that carries SIP."""

    @staticmethod
    def on_worker(work: Callable[[], T]) -> T:
        """`work()` on this (worker) thread, whose database connection is closed afterwards,
        so that none outlives the request (peewee connects per thread, on first use)."""
        try:
            return work()
        finally:
            close_database()

    def numbering(self) -> Numbering:
        services: set[str] = set()
        for model in (Queue, RingGroup, Conference, Ivr):
            services |= _numbers(model)
        return Numbering(frozenset(_numbers(Extension)), frozenset(services))

    def report(self, request: ReportRequest) -> Report:
        if not isinstance(request, ReportRequest):
            raise ValidationError("request: expected a ReportRequest")
        start, end = request.window()
        # One read transaction: one snapshot of every source while call control writes (WAL).
        with db.atomic():
            numbering = self.numbering()
            report = aggregate(
                request,
                self._call_facts(_window(Cdr.start, start, end), numbering),
                self._voicemail_facts(start, end, numbering),
                self._ring_facts(start, end),
            )
            names = self._names(request.group)
        return replace(report, names=names)

    def export_cdr(
        self,
        *,
        start_from: datetime | None = None,
        start_to: datetime | None = None,
        number: str | None = None,
        max_rows: int = EXPORT_MAX_ROWS,
        scope: Scope | None = None,
    ) -> list[CdrExportRow]:
        """The CDR rows with start_from <= start < start_to whose caller or callee is
        `number`, oldest first, each with its detail and direction; only those `scope` sees
        (None: every row); ValidationError (field "from") when there are more than
        `max_rows`."""
        require_aware("from", start_from, optional=True)
        require_aware("to", start_to, optional=True)
        conditions = _window(Cdr.start, start_from, start_to)
        condition = scope.cdr_condition() if scope is not None else None
        if condition is not None:
            conditions.append(condition)
        if number is not None:
            require_text("number", number, max_len=PARTY_MAX_LEN)
            conditions.append((Cdr.caller == number) | (Cdr.callee == number))
        with db.atomic():  # the count and the rows from one snapshot
            count = _where(Cdr.select(), conditions).count()
            if count > max_rows:
                raise ValidationError(
                    f"from: {count} records; at most {max_rows} per export (narrow from and to)",
                    field="from",
                )
            return self._export_rows(conditions)

    def _export_rows(self, conditions: list[Any]) -> list[CdrExportRow]:
        """The CDR rows matching `conditions`, oldest first."""
        numbering = self.numbering()
        legs = self._trunk_legs(conditions)
        query = Cdr.select(*_EXPORT_COLUMNS).join(
            CallDetail, JOIN.LEFT_OUTER, on=(CallDetail.cdr == Cdr.id)
        )
        query = _where(query, conditions).order_by(Cdr.start, Cdr.id).dicts()
        return [_export_row(row, numbering, legs.get(row["id"], ())) for row in query.iterator()]

    # -- reading the sources --

    @staticmethod
    def _trunk_legs(cdr_conditions: list[Any]) -> dict[int, set[str]]:
        """cdr id -> the directions of its legs to a trunk (the runtime writes none today)."""
        query = CallLeg.select(CallLeg.cdr, CallLeg.direction).join(Cdr, on=(CallLeg.cdr == Cdr.id))
        query = _where(query, [*cdr_conditions, CallLeg.peer_kind == PeerKind.TRUNK.value])
        legs: dict[int, set[str]] = {}
        for cdr_id, direction in query.tuples():
            legs.setdefault(cdr_id, set()).add(direction)
        return legs

    @staticmethod
    def _abandons(cdr_conditions: list[Any]) -> set[tuple[str, str]]:
        """(call_id, queue) of the ABANDON events of the calls matching `cdr_conditions`."""
        calls = _where(Cdr.select(Cdr.call_id), cdr_conditions)
        query = QueueEvent.select(QueueEvent.call_id, QueueEvent.queue).where(
            (QueueEvent.event == QueueEventType.ABANDON.value) & QueueEvent.call_id.in_(calls)
        )
        return {(call_id, queue) for call_id, queue in query.tuples()}

    def _call_facts(self, conditions: list[Any], numbering: Numbering) -> Iterator[CallFact]:
        legs = self._trunk_legs(conditions)
        abandons = self._abandons(conditions)
        query = Cdr.select(
            Cdr.id, Cdr.call_id, Cdr.start, Cdr.caller, Cdr.callee, Cdr.disposition,
            Cdr.billsec, CallDetail.queue, CallDetail.wait, CallDetail.agent, CallDetail.survey,
            CallDetail.survey_reason,
        ).join(CallDetail, JOIN.LEFT_OUTER, on=(CallDetail.cdr == Cdr.id))  # fmt: skip
        # The hot path of a report (one row per call): a plain cursor, the one time column
        # converted by its field, instead of peewee's per-column row processing.
        to_time = Cdr.start.python_value
        cursor = db.execute(_where(query, conditions))  # any order: the sums do not care
        for cdr_id, call_id, start, caller, callee, disposition, billsec, *detail in cursor:
            queue, wait, agent, survey, reason = detail
            yield call_fact(
                start=to_time(start),
                caller=caller,
                callee=callee,
                disposition=disposition,
                billsec=billsec,
                numbering=numbering,
                queue=queue,
                wait=wait,
                agent=agent,
                survey=survey,
                survey_reason=reason,
                abandoned=(call_id, queue) in abandons,
                trunk_legs=legs.get(cdr_id, ()),
            )

    @staticmethod
    def _voicemail_facts(
        start: datetime, end: datetime, numbering: Numbering
    ) -> Iterator[VoicemailFact]:
        query = VoicemailMessage.select(VoicemailMessage.time, VoicemailMessage.box)
        query = _where(query, _window(VoicemailMessage.time, start, end)).tuples()
        for moment, box in query.iterator():
            yield VoicemailFact(moment, box, box in numbering.extensions)

    @staticmethod
    def _ring_facts(start: datetime, end: datetime) -> Iterator[RingFact]:
        query = QueueEvent.select(QueueEvent.time, QueueEvent.queue, QueueEvent.agent)
        conditions = [
            QueueEvent.event == QueueEventType.RING_NO_ANSWER.value,
            QueueEvent.agent.is_null(False),
            *_window(QueueEvent.time, start, end),
        ]
        for moment, queue, agent in _where(query, conditions).tuples().iterator():
            yield RingFact(moment, queue, agent)

    @staticmethod
    def _names(group: Group) -> dict[str, str]:
        if group is Group.QUEUE:
            return {
                number: name for number, name in Queue.select(Queue.number, Queue.name).tuples()
            }
        if group is Group.AGENT:
            query = Extension.select(Extension.number, Extension.name)
            return {number: name for number, name in query.tuples()}
        return {}
