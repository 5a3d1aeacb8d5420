"""m0008: the screen pop (ScreenPopService), memos (MemoService) and wrap-up dispositions
(DispositionService)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

import pbxd.db.migrations as migrations
from pbxd.db import close_database, db, open_database
from pbxd.db.models import CallDisposition, DispositionCode, Memo
from pbxd.services import (
    Conflict,
    InUse,
    NotFound,
    OutOfScope,
    Role,
    Services,
    UserView,
    ValidationError,
)
from pbxd.services.backup import CONFIG_TABLES, HISTORY_TABLES
from pbxd.services.cdr import Disposition
from pbxd.services.history import Direction, LegEntry, PeerKind
from pbxd.services.screenpop import LAST_CALLS, MEMOS, PopDirection

from .conftest import assert_models_match_schema
from .historydata import T0, FakeClock, cdr_entry, direct_call, queue_call

CUSTOMER = "13812345678"
DEFAULT_CODES = ["resolved", "inquiry", "callback", "complaint", "sales_lead", "wrong_number",
                 "other"]  # fmt: skip


def user(role: Role, extension: str | None = None, **kwargs) -> UserView:
    name = f"{role}-{extension or 'x'}"
    return UserView(id=1, username=name, role=role, extension=extension, **kwargs)


ADMIN = user(Role.ADMIN)
AGENT_1001 = user(Role.AGENT, "1001")  # masking: partial (the agents' default)
AGENT_1002 = user(Role.AGENT, "1002")


def setup_center(services: Services) -> None:
    for number in ("1001", "1002", "1003"):
        services.extensions.create(number, f"Agent {number}", f"secret-{number}-pw")
    services.queues.create({"number": "600", "name": "Sales", "members": ["1001", "1002"]})
    services.queues.create({"number": "601", "name": "Support", "members": ["1003"]})


def test_live_models_match_m0008(db_path: Path) -> None:
    assert_models_match_schema((DispositionCode, Memo, CallDisposition))


def test_default_codes_and_their_labels(services: Services) -> None:
    codes = services.dispositions.codes()
    assert [view.code for view in codes] == DEFAULT_CODES
    resolved = codes[0]
    assert (resolved.label_zh, resolved.label_en, resolved.active) == ("已解决", "Resolved", True)


def test_tables_are_categorised_for_backup(db_path: Path) -> None:
    assert "disposition_code" in CONFIG_TABLES  # configuration: travels in the backup
    assert {"memo", "call_disposition"} <= set(HISTORY_TABLES)  # customer history: stays


def test_migration_from_a_v7_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = migrations.known_migrations()
    monkeypatch.setattr(migrations, "known_migrations", lambda: shipped[:7])
    path = tmp_path / "pbxd.sqlite3"
    open_database(path)
    db.execute_sql(
        "INSERT INTO contact (number, name, company, note, created_at, updated_at) "
        "VALUES (?, '张三', '', '', '2024-05-01 08:00:00.000000', '2024-05-01 08:00:00.000000')",
        (CUSTOMER,),
    )
    close_database()
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "memo" not in tables

    monkeypatch.setattr(migrations, "known_migrations", lambda: shipped)
    open_database(path)
    try:
        versions = [row[0] for row in db.execute_sql("SELECT version FROM schema_version")]
        assert max(versions) == 8
        codes = DispositionCode.select().order_by(DispositionCode.position)
        assert [row.code for row in codes] == DEFAULT_CODES
        assert Memo.select().count() == CallDisposition.select().count() == 0
        indexes = {row[1] for row in db.execute_sql("PRAGMA index_list('memo')")}
        assert "memo_number_created_at" in indexes
    finally:
        close_database()


# -- the pop ----------------------------------------------------------------------------------


def test_pop_of_a_known_number(services: Services, clock: FakeClock) -> None:
    setup_center(services)
    services.contacts.create({"number": CUSTOMER, "name": "张三", "company": "华为",
                              "note": "VIP, call back on 13900001111"})  # fmt: skip
    for minute in range(7):  # 7 queue calls from the customer, answered by 1001
        services.history.record_call(queue_call(minute, caller=CUSTOMER))
    services.history.record_call(direct_call(10, "1002", CUSTOMER))  # we called him
    services.history.record_call(queue_call(20, caller="13999999999"))  # someone else
    services.dispositions.set("call-6@pbx", AGENT_1001, {"code": "callback", "note": "rings 5"})
    clock.advance(minutes=1)
    services.memos.add(CUSTOMER, "prefers mornings", AGENT_1001)
    clock.advance(minutes=1)
    services.memos.add(CUSTOMER, "new phone 13700007777", AGENT_1002)

    pop = services.screenpop.pop(CUSTOMER, ADMIN)
    assert (pop.number, pop.known, pop.name, pop.company) == (CUSTOMER, True, "张三", "华为")
    assert pop.previous_calls == 8
    assert len(pop.last_calls) == LAST_CALLS
    newest, second = pop.last_calls[0], pop.last_calls[1]
    assert (newest.call_id, newest.direction, newest.queue, newest.agent) == (
        "call-10@pbx", PopDirection.OUTBOUND, None, None)  # fmt: skip
    assert (second.call_id, second.direction, second.queue, second.agent) == (
        "call-6@pbx", PopDirection.INBOUND, "600", "1001")  # fmt: skip
    assert (second.duration, second.billsec, second.result) == (40, 30, Disposition.ANSWERED)
    [wrapup] = second.dispositions
    assert (wrapup.agent, wrapup.code, wrapup.label_zh, wrapup.note) == (
        "1001", "callback", "需要回访", "rings 5")  # fmt: skip
    assert [call.call_id for call in pop.last_calls[2:]] == [
        "call-5@pbx", "call-4@pbx", "call-3@pbx"]  # fmt: skip
    assert [memo.content for memo in pop.memos] == ["new phone 13700007777", "prefers mornings"]
    assert (pop.memos[0].author, pop.memos[0].author_extension) == ("agent-1002", "1002")


def test_pop_of_an_unknown_number(services: Services) -> None:
    pop = services.screenpop.pop("02088886666", ADMIN)
    assert (pop.number, pop.known, pop.name, pop.company) == ("02088886666", False, None, None)
    assert (pop.previous_calls, pop.last_calls, pop.memos) == (0, (), ())


def test_pop_is_masked_per_user(services: Services) -> None:
    setup_center(services)
    services.contacts.create({"number": CUSTOMER, "name": "张三", "note": "alt 13900001111"})
    services.history.record_call(queue_call(0, caller=CUSTOMER))
    wrapup = {"code": "resolved", "note": "moved to 13700007777"}
    services.dispositions.set("call-0@pbx", AGENT_1001, wrapup)
    services.memos.add(CUSTOMER, "wife's phone 13600006666", AGENT_1001)

    partial = services.screenpop.pop(CUSTOMER, AGENT_1001)
    assert partial.number == "138****5678"
    assert partial.name == "张三"
    assert partial.note == "alt 139****1111"
    assert partial.memos[0].content == "wife's phone 136****6666"
    assert partial.last_calls[0].dispositions[0].note == "moved to 137****7777"
    assert partial.last_calls[0].agent == "1001"  # ours: never masked

    hidden = services.screenpop.pop(CUSTOMER, user(Role.AGENT, "1002", masking="name_only"))
    assert hidden.number == "****" and hidden.name == "张三"
    everything = services.screenpop.pop(CUSTOMER, user(Role.SUPERVISOR, masking="all"))
    assert everything.number == CUSTOMER and everything.memos[0].content.endswith("13600006666")


def test_pop_keeps_at_most_ten_memos_and_refuses_bad_numbers(services: Services) -> None:
    for index in range(MEMOS + 2):
        services.memos.add(CUSTOMER, f"memo {index}", AGENT_1001)
    pop = services.screenpop.pop(CUSTOMER, ADMIN)
    assert [memo.content for memo in pop.memos] == [f"memo {i}" for i in range(11, 1, -1)]
    for bad in ("", "x" * 129, "138\x00"):
        with pytest.raises(ValidationError):
            services.screenpop.pop(bad, ADMIN)


# -- memos ------------------------------------------------------------------------------------


def test_memos_are_written_by_the_user_and_listed_newest_first(
    services: Services, clock: FakeClock
) -> None:
    first = services.memos.add(CUSTOMER, "first", AGENT_1001, call_id="call-0@pbx")
    assert (first.number, first.author, first.author_extension, first.call_id) == (
        CUSTOMER, "agent-1001", "1001", "call-0@pbx")  # fmt: skip
    assert first.created_at == clock.now
    clock.advance(seconds=5)
    services.memos.add(CUSTOMER, "second", ADMIN)
    services.memos.add("+8613812345678", "another customer", ADMIN)
    page = services.memos.list(CUSTOMER, limit=1)
    assert ([memo.content for memo in page.items], page.total) == (["second"], 2)
    assert page.items[0].author_extension is None
    assert [m.content for m in services.memos.list(CUSTOMER, offset=1).items] == ["first"]


@pytest.mark.parametrize(
    ("number", "content", "field"),
    [
        ("12", "hello", "number"),  # 3 to 32 digits
        ("abc", "hello", "number"),
        (CUSTOMER, "", "content"),
        (CUSTOMER, "   ", "content"),
        (CUSTOMER, "x" * 2001, "content"),
        (CUSTOMER, "bell\x07", "content"),
        (CUSTOMER, 42, "content"),
    ],
)
def test_memo_limits(services: Services, number, content, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.memos.add(number, content, AGENT_1001)
    assert caught.value.field == field
    assert Memo.select().count() == 0


def test_a_memo_of_2000_characters_is_kept(services: Services) -> None:
    assert len(services.memos.add(CUSTOMER, "备" * 2000, AGENT_1001).content) == 2000


# -- dispositions -----------------------------------------------------------------------------


def test_agent_sets_and_changes_his_own_disposition(services: Services, clock: FakeClock) -> None:
    setup_center(services)
    services.history.record_call(queue_call(0, caller=CUSTOMER))
    view = services.dispositions.set("call-0@pbx", AGENT_1001, {"code": "inquiry"})
    assert (view.agent, view.code, view.note, view.author) == ("1001", "inquiry", "", "agent-1001")
    created = view.created_at
    clock.advance(minutes=2)  # still wrapping up: he changes his mind
    changed = {"code": "sales_lead", "note": "wants 3 seats"}
    view = services.dispositions.set("call-0@pbx", AGENT_1001, changed)
    assert (view.code, view.note, view.created_at, view.updated_at) == (
        "sales_lead", "wants 3 seats", created, clock.now)  # fmt: skip
    assert CallDisposition.select().count() == 1  # one per call and agent
    assert [v.code for v in services.dispositions.get("call-0@pbx", AGENT_1001)] == ["sales_lead"]


def test_an_agent_cannot_set_another_agents_disposition(services: Services) -> None:
    setup_center(services)
    call = queue_call(0, caller=CUSTOMER)  # taken by 1001; 1002 was rung and did not answer
    rung = LegEntry(leg="b2", direction=Direction.INTERNAL, party="1002",
                    peer_kind=PeerKind.EXTENSION, peer="1002", start=T0, answer=None,
                    end=T0 + timedelta(seconds=5), disposition=Disposition.NO_ANSWER,
                    hangup_side="system")  # fmt: skip
    services.history.record_call(replace(call, legs=(*call.legs, rung)))
    with pytest.raises(OutOfScope) as caught:
        services.dispositions.set("call-0@pbx", AGENT_1002, {"code": "resolved"})
    assert caught.value.status == 403
    with pytest.raises(OutOfScope):  # naming the other agent does not help either
        services.dispositions.set("call-0@pbx", AGENT_1002, {"code": "resolved", "agent": "1001"})
    services.dispositions.set("call-0@pbx", AGENT_1001, {"code": "resolved"})
    with pytest.raises(OutOfScope):  # nor reading it
        services.dispositions.get("call-0@pbx", AGENT_1002)
    with pytest.raises(OutOfScope) as caught:
        services.dispositions.set("call-0@pbx", AGENT_1001, {"code": "resolved", "agent": "1002"})
    assert caught.value.field == "agent"
    with pytest.raises(OutOfScope):  # an agent account without an extension has no calls
        services.dispositions.set("call-0@pbx", user(Role.AGENT), {"code": "resolved"})
    assert [(v.agent, v.code) for v in CallDisposition.select()] == [("1001", "resolved")]


def test_direct_and_outbound_calls_belong_to_their_extensions(services: Services) -> None:
    setup_center(services)
    services.history.record_call(direct_call(0, "1002", CUSTOMER))
    assert services.dispositions.set("call-0@pbx", AGENT_1002, {"code": "callback"}).agent == "1002"
    with pytest.raises(OutOfScope):
        services.dispositions.set("call-0@pbx", AGENT_1001, {"code": "callback"})


def test_unknown_calls_and_live_calls(services: Services) -> None:
    with pytest.raises(NotFound):
        services.dispositions.set("nowhere@pbx", AGENT_1001, {"code": "resolved"})
    # While the call is up the history has nothing yet: the runtime's view answers.
    live = {"live-1@pbx": {"1001", CUSTOMER}}
    services.dispositions.set_live_parties(lambda call_id: live.get(call_id, set()))
    view = services.dispositions.set("live-1@pbx", AGENT_1001, {"code": "complaint"})
    assert view.code == "complaint"
    with pytest.raises(OutOfScope):
        services.dispositions.set("live-1@pbx", AGENT_1002, {"code": "complaint"})


def test_supervisors_and_admins_correct_dispositions_in_scope(services: Services) -> None:
    setup_center(services)
    services.history.record_call(queue_call(0, caller=CUSTOMER))  # queue 600, agent 1001
    services.history.record_call(queue_call(1, caller=CUSTOMER, queue="601", agent="1003"))
    services.dispositions.set("call-0@pbx", AGENT_1001, {"code": "inquiry"})
    leader = user(Role.SUPERVISOR, queues=("600",), masking="all")
    fixed = services.dispositions.set("call-0@pbx", leader, {"code": "complaint", "note": "x"})
    assert (fixed.agent, fixed.code, fixed.author) == ("1001", "complaint", "supervisor-x")
    with pytest.raises(NotFound):  # another team's call: as if it did not exist
        services.dispositions.set("call-1@pbx", leader, {"code": "resolved"})
    with pytest.raises(ValidationError) as caught:
        services.dispositions.set("call-1@pbx", ADMIN, {"code": "resolved", "agent": "1001"})
    assert caught.value.field == "agent"  # 1001 took no part in that call
    assert services.dispositions.set("call-1@pbx", ADMIN, {"code": "resolved"}).agent == "1003"
    assert [v.agent for v in services.dispositions.get("call-0@pbx", leader)] == ["1001"]


def test_codes_must_be_active(services: Services) -> None:
    setup_center(services)
    services.history.record_call(queue_call(0, caller=CUSTOMER))
    for data, field in (
        ({"code": "nope"}, "code"),
        ({"code": "Bad Code"}, "code"),
        ({}, "code"),
        ({"code": "resolved", "note": "x" * 1001}, "note"),
        ({"code": "resolved", "extra": 1}, "extra"),
    ):
        with pytest.raises(ValidationError) as caught:
            services.dispositions.set("call-0@pbx", AGENT_1001, data)
        assert caught.value.field == field, data
    services.dispositions.set("call-0@pbx", AGENT_1001, {"code": "other"})
    services.dispositions.update_code("other", {"active": False})
    assert "other" not in [view.code for view in services.dispositions.codes()]
    # A call that has it may keep it (its note corrected), no new call gets it.
    kept = services.dispositions.set("call-0@pbx", AGENT_1001, {"code": "other", "note": "ok"})
    assert (kept.code, kept.label_en) == ("other", "Other")
    services.history.record_call(queue_call(1, caller=CUSTOMER))
    with pytest.raises(ValidationError):
        services.dispositions.set("call-1@pbx", AGENT_1001, {"code": "other"})


def test_code_configuration(services: Services) -> None:
    codes = services.dispositions
    added = codes.create_code({"code": "vip", "label_zh": "大客户", "label_en": "VIP"})
    assert added.position == len(DEFAULT_CODES) + 1 and added.active
    first = codes.create_code({"code": "urgent", "label_zh": "紧急", "label_en": "Urgent",
                               "position": 0})  # fmt: skip
    assert codes.codes()[0].code == first.code
    with pytest.raises(Conflict):
        codes.create_code({"code": "vip", "label_zh": "x", "label_en": "x"})
    with pytest.raises(ValidationError) as caught:
        codes.update_code("vip", {"code": "vip2"})
    assert caught.value.field == "code"
    assert codes.update_code("vip", {"label_en": "Key account"}).label_en == "Key account"
    with pytest.raises(ValidationError):
        codes.create_code({"code": "x", "label_zh": " ", "label_en": "x"})
    codes.delete_code("vip")
    with pytest.raises(NotFound):
        codes.get_code("vip")


def test_a_used_code_is_deactivated_not_deleted(services: Services) -> None:
    setup_center(services)
    services.history.record_call(queue_call(0, caller=CUSTOMER))
    services.dispositions.set("call-0@pbx", AGENT_1001, {"code": "complaint"})
    with pytest.raises(InUse):
        services.dispositions.delete_code("complaint")
    services.dispositions.update_code("complaint", {"active": False})
    assert services.dispositions.get_code("complaint").active is False


def test_latest_disposition_per_call(services: Services, clock: FakeClock) -> None:
    setup_center(services)
    call = queue_call(0, caller=CUSTOMER)
    internal = cdr_entry(0, "1002", "1001", call_id="call-0@pbx")  # 1002 called the queue
    services.history.record_call(replace(call, cdr=internal))
    services.dispositions.set("call-0@pbx", AGENT_1001, {"code": "resolved"})
    clock.advance(seconds=30)
    services.dispositions.set("call-0@pbx", AGENT_1002, {"code": "callback"})
    latest = services.dispositions.latest_for_calls(["call-0@pbx", "none@pbx"])
    assert list(latest) == ["call-0@pbx"] and latest["call-0@pbx"].code == "callback"
    assert len(services.dispositions.for_calls(["call-0@pbx"])["call-0@pbx"]) == 2


def test_a_restore_brings_back_the_codes_and_keeps_memos_and_dispositions(
    services: Services,
) -> None:
    setup_center(services)
    services.dispositions.create_code({"code": "vip", "label_zh": "大客户", "label_en": "VIP"})
    _, backup = services.backup.create()
    services.history.record_call(queue_call(0, caller=CUSTOMER))
    services.dispositions.set("call-0@pbx", AGENT_1001, {"code": "resolved", "note": "done"})
    services.memos.add(CUSTOMER, "written after the backup", AGENT_1001)
    services.dispositions.delete_code("vip")
    services.dispositions.update_code("resolved", {"label_en": "Fixed"})

    services.restore_configuration(backup)
    assert services.dispositions.get_code("vip").label_zh == "大客户"
    assert services.dispositions.get_code("resolved").label_en == "Resolved"
    pop = services.screenpop.pop(CUSTOMER, ADMIN)
    assert [memo.content for memo in pop.memos] == ["written after the backup"]
    assert [(d.code, d.note) for d in pop.last_calls[0].dispositions] == [("resolved", "done")]


def test_every_history_lookup_of_the_pop_uses_an_index(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pop runs while the phone rings: no scan and no sort of a history table (the
    figures are in benchmarks/screenpop_bench.py)."""
    setup_center(services)
    services.history.record_call(queue_call(0, caller=CUSTOMER))
    services.memos.add(CUSTOMER, "memo", AGENT_1001)
    statements: list[tuple[str, tuple]] = []
    execute = db.execute_sql

    def recording(sql, params=None, *args, **kwargs):
        statements.append((sql, tuple(params or ())))
        return execute(sql, params, *args, **kwargs)

    monkeypatch.setattr(db, "execute_sql", recording)
    services.screenpop.pop(CUSTOMER, AGENT_1001)
    monkeypatch.setattr(db, "execute_sql", execute)
    history = ("cdr", "call_detail", "call_disposition", "memo")
    checked = 0
    for sql, params in statements:
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        plan = [row[3] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params)]
        for step in plan:
            assert not any(step.startswith(f"SCAN {table}") for table in history), (sql, plan)
            if any(f'"{table}"' in sql for table in history):
                assert "TEMP B-TREE" not in step, (sql, plan)
        checked += any(f'"{table}"' in sql for table in history)
    assert checked >= 5  # contact, count, two tops of the CDR, details, dispositions, memos
