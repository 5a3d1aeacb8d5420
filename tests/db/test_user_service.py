from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

import pbxd.services.users as users_module
from pbxd.db import close_database
from pbxd.db.models import ApiToken, User
from pbxd.services import Conflict, Role, UserView, ValidationError, build_services

from .historydata import FakeClock


def test_first_start_generates_admin_password_once(tmp_path: Path, clock: FakeClock) -> None:
    services = build_services(tmp_path, clock=clock)
    try:
        password = services.users.ensure_admin(tmp_path, None)
        assert password and len(password) >= 16
        secret_file = tmp_path / "admin-password"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert secret_file.read_text().strip() == password
        assert services.users.authenticate("admin", password).role is Role.ADMIN
        # Later starts (same process or a restart) return nothing and keep the file.
        assert services.users.ensure_admin(tmp_path, None) is None
    finally:
        close_database()
    services = build_services(tmp_path, clock=clock)
    try:
        assert services.users.ensure_admin(tmp_path, None) is None
        assert services.users.ensure_admin(tmp_path, "another-password") is None
        assert secret_file.read_text().strip() == password
        assert services.users.authenticate("admin", password) is not None
        assert services.users.authenticate("admin", "another-password") is None
    finally:
        close_database()


def test_admin_password_from_environment(tmp_path: Path, clock: FakeClock) -> None:
    services = build_services(tmp_path, clock=clock)
    try:
        assert services.users.ensure_admin(tmp_path, "factory-pass-42") is None
        assert services.users.authenticate("admin", "factory-pass-42") is not None
        assert not (tmp_path / "admin-password").exists()
    finally:
        close_database()


def test_weak_environment_password_is_refused(services, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="password"):
        services.users.ensure_admin(tmp_path, "short")


def test_generated_password_file_replaces_wider_leftover(services, tmp_path: Path) -> None:
    leftover = tmp_path / "admin-password"
    leftover.write_text("stale\n")
    leftover.chmod(0o644)
    password = services.users.ensure_admin(tmp_path, None)
    assert stat.S_IMODE(leftover.stat().st_mode) == 0o600
    assert leftover.read_text().strip() == password


def test_passwords_are_salted_scrypt_hashes(services) -> None:
    services.users.create_user("alice", "same-password", Role.AGENT)
    services.users.create_user("bob", "same-password", Role.AGENT)
    hashes = [row.password_hash for row in User.select()]
    assert all(value.startswith("scrypt$") for value in hashes)
    assert all("same-password" not in value for value in hashes)
    assert hashes[0] != hashes[1]


def test_authenticate(services) -> None:
    created = services.users.create_user("alice", "alice-password", "supervisor")
    assert created == UserView(created.id, "alice", Role.SUPERVISOR)
    assert services.users.authenticate("alice", "alice-password") == created
    assert services.users.authenticate("alice", "wrong-password") is None
    assert services.users.authenticate("nobody", "alice-password") is None
    assert services.users.authenticate("alice", None) is None


def test_create_user_validation(services) -> None:
    with pytest.raises(ValidationError) as caught:
        services.users.create_user("bad name", "long-enough", Role.AGENT)
    assert caught.value.field == "username"
    with pytest.raises(ValidationError) as caught:
        services.users.create_user("carol", "long-enough", "root")
    assert caught.value.field == "role"
    services.users.create_user("carol", "long-enough", Role.AGENT)
    with pytest.raises(Conflict):
        services.users.create_user("carol", "long-enough", Role.AGENT)


def test_tokens_are_stored_hashed(services) -> None:
    user = services.users.create_user("alice", "alice-password", Role.ADMIN)
    token = services.users.issue_token(user)
    assert len(token) >= 40
    stored = ApiToken.get()
    assert token not in (stored.token_hash, str(stored.id))
    assert services.users.user_for_token(token) == user


def test_tokens_expire_after_12_hours(services, clock: FakeClock) -> None:
    user = services.users.create_user("alice", "alice-password", Role.ADMIN)
    token = services.users.issue_token(user)
    clock.advance(hours=11, minutes=59)
    assert services.users.user_for_token(token) == user
    clock.advance(minutes=1)
    assert services.users.user_for_token(token) is None
    # Issuing a new token purges the expired ones.
    services.users.issue_token(user)
    assert ApiToken.select().count() == 1


def test_revoke(services) -> None:
    user = services.users.create_user("alice", "alice-password", Role.ADMIN)
    kept = services.users.issue_token(user)
    revoked = services.users.issue_token(user)
    services.users.revoke(revoked)
    assert services.users.user_for_token(revoked) is None
    assert services.users.user_for_token(kept) == user


@pytest.mark.parametrize("token", ["", "x" * 500, None, "not-a-token"])
def test_bad_tokens(services, token) -> None:
    assert services.users.user_for_token(token) is None


def test_authenticate_async_matches_authenticate(services) -> None:
    created = services.users.create_user("alice", "alice-password", Role.AGENT)

    async def attempts() -> list:
        users = services.users
        return [
            await users.authenticate_async("alice", "alice-password"),
            await users.authenticate_async("alice", "wrong-password"),
            await users.authenticate_async("nobody", "alice-password"),
            await users.authenticate_async("alice", None),
        ]

    assert asyncio.run(attempts()) == [created, None, None, None]


def test_unknown_user_costs_a_real_check(services, monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    real = users_module.verify_password
    monkeypatch.setattr(
        users_module,
        "verify_password",
        lambda pw, stored: checked.append(stored) or real(pw, stored),
    )
    assert services.users.authenticate("nobody", "some-password") is None
    assert len(checked) == 1 and checked[0].startswith("scrypt$16384$8$1$")
