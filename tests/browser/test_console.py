"""The web console in Chromium against a real pbxd: what an administrator, a supervisor's
agent and a Chinese or English user see and can do. One daemon for the module; each test
opens its own browser context (fresh cookies and storage) and logs in."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import (
    ADMIN,
    RECORD_DIALOG,
    Console,
    add_user,
    ensure_extension,
    ensure_queue,
    log_in,
    poll,
    row,
    visible_text,
)

pytestmark = pytest.mark.browser

AGENT_EXTENSION = "2301"
AGENT_USER = "agent2301"
AGENT_PASSWORD = "Agent-pass-2301"


def tone_wav(path: Path, seconds: float = 1.0, rate: int = 16000) -> Path:
    """A 440 Hz tone as 16-bit mono PCM (the upload gets converted to 8 kHz by pbxd)."""
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


def ensure_agent_queue(pbxd) -> None:
    """Extension AGENT_EXTENSION, static member of queue 601 (made through the form by
    test_queue_form_with_members_and_strategy when it ran first)."""
    ensure_extension(pbxd, AGENT_EXTENSION, "坐席一")
    ensure_queue(pbxd, "601", "售后服务", members=[{"extension": AGENT_EXTENSION}])


def test_login_page_and_admin_shell_in_chinese(console: Console) -> None:
    page = console.page
    console.open()
    page.wait_for_selector("[data-testid=login-form]")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "登录" in visible_text(page.locator("[data-testid=login-form]"))
    console.screenshot("01-login")

    # a wrong password: the server's refusal shows on the form, still in Chinese
    page.fill("#login-username", "admin")
    page.fill("#login-password", "not-the-password")
    page.click("[data-testid=login-form] button[type=submit]")
    error = page.locator("[data-testid=form-error]")
    error.wait_for()
    assert "用户名或密码错误" in error.inner_text()  # the server speaks the page's language

    console.login()
    assert visible_text(page.locator("[data-testid=current-role]")) == "管理员"
    nav = visible_text(page.locator("nav.sidebar"))
    for entry in ("我的工作台", "坐席监控", "呼叫队列", "分机", "语音提示"):
        assert entry in nav
    page.wait_for_selector("[data-page=desk]")
    console.screenshot("02-desk-admin")


def test_extension_validation_create_edit_delete(console: Console) -> None:
    page = console.page
    console.login_to("extensions")
    dialog = console.new_record()

    # the server refuses a bad number; its message appears next to the number field
    console.fill(
        {
            "number": "12ab",
            "name": "前台",
            "secret": "Secret-2201-x",
            "recording": "inbound",
        }
    )
    console.submit(dialog)
    error = dialog.locator("[data-testid=field-number] .field-error[data-field=number]")
    error.wait_for()
    assert "号码：应为 2 到 6 位数字" in error.inner_text()  # in the user's language
    assert page.locator("#f-number").get_attribute("aria-invalid") == "true"
    console.screenshot("03-extension-form-error")

    page.fill("#f-number", "2201")
    console.save(dialog)
    created = row(page, "extensions", "2201")
    created.wait_for()
    assert "前台" in created.inner_text()
    assert "呼入录音" in created.inner_text()
    assert console.pbxd.api("GET", "/api/v1/extensions/2201")["recording"] == "inbound"

    # edit: the number is fixed, the secret left empty stays as it was
    created.get_by_role("button", name="编辑").click()
    dialog.wait_for()
    assert page.locator("#f-number").count() == 0
    page.fill("#f-name", "前台接待")
    page.check("#f-voicemail")
    console.save(dialog)
    expect(created).to_contain_text("前台接待")
    saved = console.pbxd.api("GET", "/api/v1/extensions/2201")
    assert saved["name"] == "前台接待" and saved["voicemail"] is True

    # delete another one, with confirmation
    console.pbxd.create_extension("2299", "Secret-2299-x", "临时")
    page.get_by_role("button", name="刷新").click()
    doomed = row(page, "extensions", "2299")
    doomed.wait_for()
    doomed.get_by_role("button", name="删除").click()
    confirm = page.locator("[data-testid=confirm-dialog]")
    assert "2299" in confirm.inner_text()
    confirm.locator("button.danger").click()
    doomed.wait_for(state="detached")
    console.pbxd.api("GET", "/api/v1/extensions/2299", expect=404)
    console.screenshot("04-extensions")


def test_queue_form_with_members_and_strategy(console: Console) -> None:
    page = console.page
    ensure_extension(console.pbxd, AGENT_EXTENSION, "坐席一")
    console.login_to("queues")
    dialog = console.new_record()
    # defaults of the API are filled in
    assert page.input_value("#f-timeout") == "15"
    console.fill({"number": "601", "name": "售后服务", "strategy": "rrmemory"})
    assert page.locator("#f-strategy option:checked").inner_text() == "轮流振铃"
    page.click("[data-testid=add-member]")
    page.fill("input[name=member-extension-0]", AGENT_EXTENSION)
    page.fill("input[name=member-penalty-0]", "2")
    page.fill("#f-timeout", "9999")
    page.check("#f-announce_position")
    console.submit(dialog)
    error = dialog.locator(".field-error[data-field=timeout]")
    error.wait_for()
    assert "超时时间" in error.inner_text()
    console.screenshot("05-queue-form-error")

    page.fill("#f-timeout", "20")
    console.save(dialog)
    created = row(page, "queues", "601")
    created.wait_for()
    text = created.inner_text()
    assert "售后服务" in text and "轮流振铃" in text and AGENT_EXTENSION in text
    queue = console.pbxd.api("GET", "/api/v1/queues/601")
    assert queue["strategy"] == "rrmemory"
    assert queue["timeout"] == 20
    assert queue["announce_position"] is True
    assert queue["members"] == [{"extension": AGENT_EXTENSION, "penalty": 2}]
    console.screenshot("06-queues")


def test_agents_live_table(console: Console) -> None:
    page = console.page
    ensure_agent_queue(console.pbxd)
    console.login_to("agents")
    agent = row(page, "agents", AGENT_EXTENSION)
    agent.wait_for()
    assert "601" in agent.inner_text()
    before = visible_text(agent.locator(".badge"))
    assert before in ("空闲", "未签入", "示忙")
    page.wait_for_selector("[data-testid=state-chart] canvas")
    console.screenshot("07-agents")
    if before == "空闲":
        agent.get_by_role("button", name="示忙").click()
        expect(agent.locator(".badge")).to_have_text("示忙")
        assert console.pbxd.api("GET", f"/api/v1/agents/{AGENT_EXTENSION}")["paused"] is True
        agent.get_by_role("button", name="示闲").click()
        expect(agent.locator(".badge")).to_have_text("空闲")
    # the table refreshes by itself: a change made elsewhere shows within a few seconds
    console.pbxd.api("POST", f"/api/v1/agents/{AGENT_EXTENSION}/pause", {"reason": "午休"})
    expect(agent).to_contain_text("午休", timeout=8000)
    console.pbxd.api("POST", f"/api/v1/agents/{AGENT_EXTENSION}/unpause")


def test_prompt_upload_list_and_play(console: Console, tmp_path: Path) -> None:
    page = console.page
    console.login_to("prompts")
    form = page.locator("[data-testid=upload-form]")
    wav = tone_wav(tmp_path / "tone.wav")

    # a bad id: the server's message next to the id field
    page.fill("#prompt-id", "Bad Id!")
    page.set_input_files("#prompt-file", str(wav))
    expect(form.locator("[data-testid=file-name]")).to_have_text("tone.wav")
    form.locator("button[type=submit]").click()
    error = form.locator(".field-error[data-field=id]")
    error.wait_for()
    assert error.inner_text().strip()

    page.fill("#prompt-id", "ui-tone")
    page.select_option("#prompt-language", "zh")
    page.set_input_files("#prompt-file", str(wav))
    form.locator("button[type=submit]").click()
    uploaded = row(page, "prompts", "ui-tone")
    uploaded.wait_for()
    assert "上传" in uploaded.inner_text()
    assert error.count() == 0
    page.select_option("[data-testid=source-filter]", "upload")
    expect(page.locator("[data-page=prompts] tbody tr")).to_have_count(1)
    page.select_option("[data-testid=source-filter]", "")
    console.screenshot("08-prompts")

    uploaded.locator("[data-play='ui-tone:zh']").click()
    audio = page.locator("[data-testid=player] audio[data-prompt=ui-tone]")
    audio.wait_for()
    # a function, not an expression: the page's CSP forbids eval, which expressions need
    page.wait_for_function(
        "() => { const a = document.querySelector('audio[data-prompt=\"ui-tone\"]');"
        " return a !== null && a.readyState >= 1 && a.duration > 0; }",
        timeout=10000,
    )
    duration = audio.evaluate("a => a.duration")
    assert 0.8 < duration < 1.3, duration
    assert audio.evaluate("a => a.error") is None

    uploaded.get_by_role("button", name="删除").click()
    page.locator("[data-testid=confirm-dialog] button.danger").click()
    uploaded.wait_for(state="detached")


def test_language_switch_is_remembered(console: Console, new_console) -> None:
    page = console.page
    console.login()
    page.select_option("[data-testid=language-switch]", "en")
    page.wait_for_selector("[data-nav=extensions]:text('Extensions')")
    assert page.locator("html").get_attribute("lang") == "en"
    assert visible_text(page.locator("[data-testid=current-role]")) == "Administrator"
    poll(
        "the language saved",
        lambda: console.pbxd.api("GET", "/api/v1/users/admin")["language"] == "en",
    )
    # survives a reload (the user's setting) ...
    page.reload()
    page.wait_for_selector("[data-nav=extensions]:text('Extensions')")
    console.go("queues")
    console.screenshot("en-queues")
    # ... a logout (this browser remembers it for the login page) ...
    page.click("[data-testid=logout]")
    page.wait_for_selector("[data-testid=login-form]")
    assert "Log in" in visible_text(page.locator("[data-testid=login-form]"))
    # ... and a login from a fresh browser whose own language is Chinese
    other = new_console("zh-CN")
    other.login()
    assert visible_text(other.page.locator("[data-testid=current-role]")) == "Administrator"

    # back to Chinese, the same way
    other.page.select_option("[data-testid=language-switch]", "zh-CN")
    other.page.wait_for_selector("[data-nav=extensions]:text('分机')")
    other.page.reload()
    other.page.wait_for_selector("[data-nav=extensions]:text('分机')")
    assert not other.problems, other.problems
    # the login page switches before login too
    page.select_option("[data-testid=language-switch]", "zh-CN")
    page.wait_for_selector("[data-testid=login-form] button[type=submit]:text('登录')")


def test_password_dialog_shows_server_errors(console: Console) -> None:
    page = console.page
    console.login()
    page.get_by_role("button", name="修改密码").click()
    dialog = page.locator("[data-testid=password-dialog]")
    dialog.wait_for()
    page.fill("#pw-old_password", "definitely-wrong")
    page.fill("#pw-new_password", "New-admin-pass-1")
    page.fill("#pw-confirm", "New-admin-pass-1")
    dialog.locator("button[type=submit]").click()
    error = dialog.locator(".field-error[data-field=old_password]")
    error.wait_for()
    assert "当前密码不正确" in error.inner_text()
    console.screenshot("09-password-dialog")
    page.fill("#pw-confirm", "something-else")
    dialog.locator("button[type=submit]").click()
    dialog.locator(".field-error[data-field=confirm]").wait_for()


def test_agent_sees_only_his_pages_and_is_refused_admin_ones(console: Console) -> None:
    ensure_extension(console.pbxd, AGENT_EXTENSION, "坐席一")
    add_user(console.pbxd, AGENT_USER, AGENT_PASSWORD, "agent", AGENT_EXTENSION)
    page = console.page
    console.login(AGENT_USER, AGENT_PASSWORD)
    assert visible_text(page.locator("[data-testid=current-role]")) == "坐席"
    nav = page.locator("nav.sidebar a")
    # his desk and the recordings of his own calls (the API limits them to his extension)
    assert [link.get_attribute("data-nav") for link in nav.all()] == ["desk", "recordings"]
    own = page.locator("[data-testid=own-agent]")
    own.wait_for()
    assert AGENT_EXTENSION in own.inner_text()
    own.locator(".badge").wait_for()
    console.screenshot("10-desk-agent")

    # an admin page opened by its address: the API says 403, the page says so
    page.goto("/#/extensions")
    error = page.locator("[data-page=extensions] [data-testid=load-error]")
    error.wait_for()
    assert "无权" in error.inner_text()
    assert page.locator("[data-testid=create]").count() == 0
    status = page.evaluate("fetch('/api/v1/extensions').then(r => r.status)")
    assert status == 403


def test_supervisor_views_queues_read_only_and_changes_his_password(
    console: Console, new_console
) -> None:
    ensure_agent_queue(console.pbxd)
    add_user(console.pbxd, "leader1", "Leader-pass-1", "supervisor")
    page = console.page
    console.login("leader1", "Leader-pass-1")
    assert visible_text(page.locator("[data-testid=current-role]")) == "组长"
    links = [link.get_attribute("data-nav") for link in page.locator("nav.sidebar a").all()]
    # monitoring first, then history and read-only configuration pages; no admin page
    assert links[:5] == ["desk", "agents", "wallboard", "live-calls", "queues"]
    assert not set(links) & {"extensions", "prompts", "trunks", "users", "system", "operation-log"}
    assert {"recordings", "cdr", "reports"} <= set(links)

    console.go("queues")
    queue = row(page, "queues", "601")
    queue.wait_for()
    assert page.locator("[data-testid=create]").count() == 0
    queue.get_by_role("button", name="查看").click()
    dialog = page.locator("[data-testid=record-dialog]")
    dialog.wait_for()
    assert page.locator("#f-name").is_disabled()
    assert dialog.locator("button[type=submit]").count() == 0
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")

    page.get_by_role("button", name="修改密码").click()
    password = page.locator("[data-testid=password-dialog]")
    page.fill("#pw-old_password", "Leader-pass-1")
    page.fill("#pw-new_password", "Leader-pass-2")
    page.fill("#pw-confirm", "Leader-pass-2")
    password.locator("button[type=submit]").click()
    password.wait_for(state="detached")
    expect(page.get_by_role("status")).to_contain_text("密码已修改")
    # this session goes on; a new login needs the new password
    console.go("agents")
    fresh = new_console()
    fresh.login("leader1", "Leader-pass-2")
    assert visible_text(fresh.page.locator("[data-testid=current-user]")) == "leader1"


def test_a_login_in_another_tab_does_not_break_this_one(console: Console) -> None:
    """The second tab's login replaces the shared cookie (and CSRF token): the first tab's
    next write gets 403 csrf once, fetches the new token and succeeds."""
    page = console.page
    console.login_to("extensions")
    other = console.context.new_page()
    other.goto("/")
    # the other tab sees the session of the shared cookie: log out there, then in again
    other.locator("[data-testid=logout]").click()
    log_in(other, ADMIN, console.pbxd.admin_password)

    statuses: list[int] = []
    page.on(
        "response",
        lambda response: (
            statuses.append(response.status)
            if response.request.method == "POST" and response.url.endswith("/api/v1/extensions")
            else None
        ),
    )
    page.click("[data-testid=create]")
    console.fill({"number": "2250", "name": "第二个标签页", "secret": "Secret-2250-x"})
    console.submit(page.locator(RECORD_DIALOG))
    row(page, "extensions", "2250").wait_for()
    assert console.pbxd.api("GET", "/api/v1/extensions/2250")["name"] == "第二个标签页"
    assert statuses == [403, 201]
