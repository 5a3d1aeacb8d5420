"""m0006 and the services of the web console's security base: users, sessions, operation log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import pbxd.db.migrations as migrations
import pbxd.services.oplog as oplog_module
from pbxd.db import close_database, db, open_database
from pbxd.db.models import OperationLogEntry, User, UserQueue, WebSession
from pbxd.services import LastAdmin, Masking, Role, Services, UserView, ValidationError
from pbxd.services.oplog import OperationLog

from .conftest import assert_models_match_schema
from .historydata import FakeClock


def test_live_models_match_m0006(db_path: Path) -> None:
    assert_models_match_schema((User, UserQueue, WebSession, OperationLogEntry))


def test_m0006_gives_existing_users_their_role_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = migrations.known_migrations()
    monkeypatch.setattr(migrations, "known_migrations", lambda: shipped[:5])
    path = tmp_path / "pbxd.sqlite3"
    open_database(path)
    for name, role in (("root", "admin"), ("sam", "supervisor"), ("nina", "agent")):
        db.execute_sql(
            'INSERT INTO "user" (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)',
            (name, "x", role, "2024-05-01 08:00:00.000000"),
        )
    close_database()
    monkeypatch.setattr(migrations, "known_migrations", lambda: shipped)
    open_database(path)
    try:
        rows = {row.username: (row.language, row.masking) for row in User.select()}
        assert rows == {
            "root": ("zh-CN", "all"),
            "sam": ("zh-CN", "all"),
            "nina": ("zh-CN", "partial"),
        }
    finally:
        close_database()


def test_user_view_defaults_follow_the_role() -> None:
    assert UserView(1, "nina", Role.AGENT).masking is Masking.PARTIAL
    assert UserView(2, "root", Role.ADMIN).masking is Masking.ALL
    assert UserView(3, "sam", Role.SUPERVISOR, masking=Masking.NAME_ONLY).masking == "name_only"


def test_led_queues_go_with_the_user_and_the_queue(services: Services) -> None:
    services.queues.create({"number": "600", "name": "Sales", "members": []})
    services.queues.create({"number": "6001", "name": "VIP", "members": []})
    services.queues.create({"number": "601", "name": "Support", "members": []})
    view = services.users.create_user("sam", "sam-password", "supervisor", queues=["6001", "600"])
    assert view.queues == ("600", "6001")  # numeric order
    services.queues.delete("6001")
    assert services.users.get_user("sam").queues == ("600",)
    services.users.delete_user("sam")
    assert UserQueue.select().count() == 0


def test_last_admin_is_kept(services: Services) -> None:
    services.users.create_user("root", "root-password", Role.ADMIN)
    with pytest.raises(LastAdmin) as caught:
        services.users.delete_user("root")
    assert caught.value.status == 409 and caught.value.code == "last_admin"
    with pytest.raises(LastAdmin):
        services.users.update_user("root", role=Role.AGENT)
    services.users.create_user("root2", "root2-password", Role.ADMIN)
    services.users.update_user("root", role=Role.AGENT)
    assert services.users.get_user("root").role is Role.AGENT


def test_sessions(services: Services, clock: FakeClock) -> None:
    user = services.users.create_user("nina", "nina-password", Role.AGENT)
    cookie, session = services.users.open_session(user)
    assert services.users.session_for(cookie) == session
    assert session.user == user
    for bad in ("", "x" * 500, None, "not-a-cookie", session.csrf_token):
        assert services.users.session_for(bad) is None
    clock.advance(minutes=29, seconds=59)
    assert services.users.session_for(cookie) is not None
    clock.advance(minutes=30)
    assert services.users.session_for(cookie) is None


def test_a_new_password_keeps_only_the_named_credentials(services: Services) -> None:
    user = services.users.create_user("nina", "nina-password", Role.AGENT)
    kept_cookie, _ = services.users.open_session(user)
    other_cookie, _ = services.users.open_session(user)
    token = services.users.issue_token(user)
    services.users.update_user("nina", password="new-password", keep_session=kept_cookie)
    assert services.users.session_for(kept_cookie) is not None
    assert services.users.session_for(other_cookie) is None
    assert services.users.user_for_token(token) is None
    with pytest.raises(ValidationError) as caught:
        services.users.update_user("nina", password="short")
    assert caught.value.field == "password"


def test_operation_log_cleans_request_text(services: Services) -> None:
    services.oplog.record(
        username="\ud800evil\r\n=1+1" + "x" * 100,
        role=None,
        client_ip="127.0.0.1",
        action="login_failed",
        target="/api/v1/auth/login",
        detail={"fields": ["\udfff"]},
    )
    (entry,) = services.oplog.search()
    assert entry.username.startswith("\ufffdevil\ufffd\ufffd=1+1")
    assert len(entry.username) == oplog_module.USERNAME_MAX_LEN
    assert entry.detail == {"fields": ["\udfff"]}  # stored as an ASCII escape


def test_operation_log_is_capped(
    db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oplog_module, "PRUNE_EVERY", 5)
    log = OperationLog(clock, max_rows=8)
    for index in range(1, 21):
        clock.advance(seconds=1)
        log.record(username=f"u{index}", role="admin", client_ip="::1", action="x", target="/")
    # Pruned at ids 5, 10, 15 and 20: the 8 newest stay after the last one.
    assert log.count() == 8
    assert [view.username for view in log.search(limit=3)] == ["u20", "u19", "u18"]
    with pytest.raises(ValidationError):
        log.search(limit=0)
    with pytest.raises(ValidationError):
        log.search(start=clock.now.replace(tzinfo=None))
    assert log.count(start=clock.now - timedelta(seconds=2)) == 3
