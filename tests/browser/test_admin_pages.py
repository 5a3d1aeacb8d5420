"""The administration pages of the console in Chromium against a real pbxd: the IVR tree
editor, inbound routes with a time condition, ring groups, conference rooms, trunks, users and
the blacklist. Each test checks what the API holds after the browser saved it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import Console, ensure_extension, ensure_queue, row, visible_text

pytestmark = pytest.mark.browser

EXTENSION = "2401"
QUEUES = ("602", "603")
ADMIN_ONLY_PAGES = {"extensions", "prompts", "trunks", "users", "system", "operation-log"}
SUPERVISOR_CONFIG_PAGES = {"ivrs", "inbound-routes", "ring-groups", "conferences", "blacklist"}


def ensure_config(pbxd) -> None:
    """Extensions 2401, 2402 and queues 602, 603: targets for the destination pickers."""
    ensure_extension(pbxd, EXTENSION, "前台")
    ensure_extension(pbxd, "2402", "财务")
    for number, name in zip(QUEUES, ("售前咨询", "售后服务"), strict=True):
        ensure_queue(pbxd, number, name)


def pick(page, picker_id: str, kind: str, target: str | None = None) -> None:
    """Choose a destination in the DestinationPicker whose id is `picker_id`."""
    page.select_option(f"#{picker_id}-kind", kind)
    if target is not None:
        page.select_option(f"#{picker_id}-target", target)


def ensure_ivrs(pbxd) -> None:
    """ui-main (key 1 -> queue 602, key 2 -> ui-sub) and ui-sub (key 1 -> extension 2401), as
    test_ivr_with_a_submenu_built_in_the_tree makes them through the editor."""
    ensure_config(pbxd)
    sub = {"name": "ui-sub", "prompt": "queue-welcome", "keys": {"1": f"extension:{EXTENSION}"}}
    pbxd.api("POST", "/api/v1/ivrs", sub, expect=(201, 409))
    main = {"name": "ui-main", "prompt": "welcome", "keys": {"1": "queue:602", "2": "ivr:ui-sub"}}
    pbxd.api("POST", "/api/v1/ivrs", main, expect=(201, 409))


def test_ivr_with_a_submenu_built_in_the_tree(console: Console) -> None:
    page = console.page
    ensure_config(console.pbxd)
    console.login_to("ivrs")
    page.click("[data-testid=create]")
    page.wait_for_selector("[data-testid=ivr-tree]")
    page.fill("#ivr-root-name", "ui-main")
    page.select_option("#ivr-root-prompt", "welcome")
    # unused keys wait as chips; a chip opens that key's branch
    page.click("#ivr-root-add-1")
    pick(page, "ivr-root-1", "queue", "602")
    page.click("#ivr-root-add-2")
    # key 2: a new IVR made from the branch, drawn beneath it as a sub-menu
    page.select_option("#ivr-root-2-kind", "ivr")
    page.select_option("#ivr-root-2-target", "+new")
    form = page.locator("[data-testid=submenu-form]")
    form.locator("input").fill("ui-sub")
    form.get_by_role("button", name="创建").click()
    sub = page.locator("[data-ivr-node='ui-main/ui-sub']")
    expect(sub).to_be_visible()
    page.select_option("#ivr-root-2-prompt", "queue-welcome")
    page.click("#ivr-root-2-add-1")
    pick(page, "ivr-root-2-1", "extension", EXTENSION)
    assert "按键 1" in page.locator("#ivr-root-2-1-kind").get_attribute("aria-label")
    page.click("[data-testid=save-ivr]")

    # saved: the editor reopens the new menu by its address, the tree read back from pbxd
    page.wait_for_selector("[data-page=ivrs][data-editor=ui-main]")
    expect(page.get_by_role("status")).to_contain_text("ui-sub")
    assert page.url.endswith("#/ivrs/ui-main")
    expect(page.locator("[data-ivr-node='ui-main/ui-sub']")).to_be_visible()
    assert page.locator("#ivr-root-2-1-target").input_value() == EXTENSION
    main = console.pbxd.api("GET", "/api/v1/ivrs/ui-main")
    assert main == {
        "name": "ui-main",
        "number": None,
        "prompt": "welcome",
        "keys": {"1": "queue:602", "2": "ivr:ui-sub"},
        "dial_extension": False,
        "timeout": 5,
        "retries": 2,
        "invalid_prompt": None,
        "timeout_destination": None,
        "invalid_destination": None,
    }
    sub_ivr = console.pbxd.api("GET", "/api/v1/ivrs/ui-sub")
    assert sub_ivr["prompt"] == "queue-welcome"
    assert sub_ivr["keys"] == {"1": f"extension:{EXTENSION}"}
    assert sub_ivr["timeout_destination"] is None
    console.screenshot("20-ivr-editor")

    # the list shows the keys and which menu leads to the sub-menu
    page.click("[data-testid=back]")
    listed = row(page, "ivrs", "ui-sub")
    listed.wait_for()
    assert "ui-main" in listed.inner_text()
    assert "队列 602" in row(page, "ivrs", "ui-main").inner_text()
    console.screenshot("21-ivrs")


def test_ivr_loop_is_refused_with_the_servers_message(console: Console) -> None:
    page = console.page
    ensure_ivrs(console.pbxd)
    console.login()
    page.goto("/#/ivrs/ui-main")
    page.wait_for_selector("[data-ivr-node='ui-main/ui-sub']")
    # the main menu times out into the sub-menu: no loop yet
    pick(page, "ivr-root-timeout", "ivr", "ui-sub")
    page.click("[data-testid=save-ivr]")
    expect(page.get_by_role("status")).to_contain_text("ui-main")
    assert console.pbxd.api("GET", "/api/v1/ivrs/ui-main")["timeout_destination"] == "ivr:ui-sub"

    # ... and the sub-menu times out back into the main menu: a caller would go round for ever
    pick(page, "ivr-root-2-timeout", "ivr", "ui-main")
    # the main menu is on the path: a link back to it, not drawn a second time
    branch = page.locator("[data-branch='ui-main/ui-sub:timeout']").first
    expect(branch.locator("[data-loop-link=ui-main]")).to_be_visible()
    assert branch.locator("[data-ivr-node]").count() == 0
    page.click("[data-testid=save-ivr]")
    error = branch.locator(".field-error[data-field=timeout_destination]")
    expect(error).to_contain_text("无限循环")
    assert "语音导航 ui-main" in error.inner_text()
    expect(page.locator("[data-testid=form-error]")).to_contain_text("ui-sub")
    assert page.locator("#ivr-root-2-timeout-kind").get_attribute("aria-invalid") == "true"
    assert console.pbxd.api("GET", "/api/v1/ivrs/ui-sub")["timeout_destination"] is None
    console.screenshot("22-ivr-loop-refused")


def test_inbound_route_with_working_hours_and_holiday(console: Console) -> None:
    page = console.page
    ensure_config(console.pbxd)
    console.login_to("inbound-routes")
    dialog = console.new_record()
    page.fill("#f-did", "02150001234")
    pick(page, "f-destination", "queue", "602")
    editor = dialog.locator("[data-testid=time-condition]")
    editor.locator("[data-part=enabled]").check()
    # the first row comes as Monday-Friday 09:00-18:00; a Saturday morning row is added
    editor.locator("[data-testid=add-hours]").click()
    saturday = editor.locator("tr[data-hours='1']")
    for day in range(1, 6):
        saturday.locator(f"[data-day='{day}']").uncheck()
    saturday.locator("[data-day='6']").check()
    saturday.locator("[data-part=from]").fill("10:00")
    saturday.locator("[data-part=to]").fill("14:00")
    editor.locator("[data-testid=add-holiday]").click()
    holiday = editor.locator("tr[data-holiday='0']")
    holiday.locator("[data-part=holiday-from]").fill("2026-10-01")
    holiday.locator("[data-part=holiday-to]").fill("2026-10-07")
    pick(page, "f-closed_destination", "voicemail", "602")
    console.screenshot("23-inbound-route-form")
    console.save(dialog)

    routes = console.pbxd.api("GET", "/api/v1/inbound-routes")["items"]
    (route,) = [r for r in routes if r["did"] == "02150001234"]
    assert route["destination"] == "queue:602"
    assert route["closed_destination"] == "voicemail:602"
    assert route["time_condition"] == {
        "hours": [
            {"days": [1, 2, 3, 4, 5], "from": "09:00", "to": "18:00"},
            {"days": [6], "from": "10:00", "to": "14:00"},
        ],
        "holidays": ["2026-10-01/2026-10-07"],
        "timezone": "Asia/Shanghai",
    }
    listed = row(page, "inbound-routes", str(route["id"]))
    assert "周一至周五 09:00-18:00" in visible_text(listed)
    console.screenshot("24-inbound-routes")

    # re-opened: the same hours, holiday and destinations in the form
    listed.get_by_role("button", name="编辑").click()
    dialog.wait_for()
    assert editor.locator("[data-part=enabled]").is_checked()
    weekdays = editor.locator("tr[data-hours='0']")
    checked = [weekdays.locator(f"[data-day='{d}']").is_checked() for d in range(1, 8)]
    assert checked == [True] * 5 + [False] * 2
    assert saturday.locator("[data-day='6']").is_checked()
    assert not saturday.locator("[data-day='1']").is_checked()
    assert saturday.locator("[data-part=from]").input_value() == "10:00"
    assert saturday.locator("[data-part=to]").input_value() == "14:00"
    assert holiday.locator("[data-part=holiday-from]").input_value() == "2026-10-01"
    assert holiday.locator("[data-part=holiday-to]").input_value() == "2026-10-07"
    assert editor.locator("[data-part=timezone]").input_value() == "Asia/Shanghai"
    assert page.locator("#f-destination-target").input_value() == "602"
    assert page.locator("#f-closed_destination-kind").input_value() == "voicemail"

    # a bad time: the server names the row, the message stands under the time condition
    saturday.locator("[data-part=to]").fill("25:00")
    console.submit(dialog)
    error = dialog.locator(".field-error[data-field=time_condition]")
    expect(error).to_contain_text("营业时间[1]")


def test_ring_group_conference_and_trunk_forms(console: Console) -> None:
    page = console.page
    ensure_config(console.pbxd)
    console.login_to("ring-groups")
    dialog = console.new_record()
    console.fill({"number": "701", "name": "前台组", "strategy": "order"})
    page.click("[data-testid=add-member]")
    page.click("[data-testid=add-member]")
    page.select_option("select[name=member-0]", "2402")
    page.select_option("select[name=member-1]", EXTENSION)
    pick(page, "f-failover", "queue", "603")
    console.save(dialog)
    group = console.pbxd.api("GET", "/api/v1/ring-groups/701")
    assert group["strategy"] == "order"
    assert group["members"] == ["2402", EXTENSION]
    assert group["failover"] == "queue:603"
    expect(row(page, "ring-groups", "701")).to_contain_text("依次振铃")
    console.screenshot("25-ring-groups")

    console.go("conferences")
    dialog = console.new_record()
    console.fill({"number": "801", "name": "周例会", "pin": "1234", "moderator_pin": "1234"})
    console.submit(dialog)
    # the server refuses a moderator PIN equal to the PIN, next to that field
    expect(dialog.locator(".field-error[data-field=moderator_pin]")).to_be_visible()
    console.fill({"moderator_pin": "9876", "max_members": "6"})
    console.save(dialog)
    room = console.pbxd.api("GET", "/api/v1/conferences/801")
    assert (room["pin"], room["moderator_pin"], room["max_members"]) == ("1234", "9876", 6)
    console.screenshot("26-conferences")

    console.go("trunks")
    dialog = console.new_record()
    console.fill({"name": "carrier-a", "host": "192.0.2.10"})
    assert page.input_value("#f-port") == "5060"
    console.save(dialog)
    trunk = console.pbxd.api("GET", "/api/v1/trunks/carrier-a")
    assert (trunk["host"], trunk["port"], trunk["transport"]) == ("192.0.2.10", 5060, "udp")
    console.screenshot("27-trunks")


def test_supervisor_with_two_queues_sees_only_his_pages(console: Console, new_console) -> None:
    page = console.page
    ensure_ivrs(console.pbxd)
    console.login_to("users")
    dialog = console.new_record()
    console.fill(
        {
            "username": "leader2",
            "role": "supervisor",
            "password": "Leader-pass-2",
            "extension": EXTENSION,
        }
    )
    for number in QUEUES:
        dialog.locator(f"[data-queue='{number}']").check()
    console.save(dialog)
    user = console.pbxd.api("GET", "/api/v1/users/leader2")
    assert user["role"] == "supervisor"
    assert user["queues"] == list(QUEUES)
    assert user["extension"] == EXTENSION
    assert user["masking"] == "all"  # the supervisor's default
    expect(row(page, "users", "leader2")).to_contain_text("602, 603")

    # the last administrator keeps his role: the server's refusal under the role field
    row(page, "users", "admin").get_by_role("button", name="编辑").click()
    page.select_option("#f-role", "agent")
    console.submit(dialog)
    expect(dialog.locator(".field-error[data-field=role]")).to_contain_text("最后")
    console.screenshot("28-user-last-admin")
    page.keyboard.press("Escape")
    console.screenshot("29-users")

    leader = new_console()
    leader.login("leader2", "Leader-pass-2")
    links = {a.get_attribute("data-nav") for a in leader.page.locator("nav.sidebar a").all()}
    assert SUPERVISOR_CONFIG_PAGES <= links
    assert not links & ADMIN_ONLY_PAGES
    leader.go("ivrs")
    assert leader.page.locator("[data-testid=create]").count() == 0
    row(leader.page, "ivrs", "ui-main").get_by_role("button", name="查看").click()
    leader.page.wait_for_selector("[data-ivr-node='ui-main/ui-sub']")
    assert leader.page.locator("#ivr-root-1-kind").is_disabled()
    assert leader.page.locator("[data-testid=save-ivr]").count() == 0
    assert not leader.problems, leader.problems


def test_blacklist_entry_created(console: Console) -> None:
    page = console.page
    console.login_to("blacklist")
    dialog = console.new_record()
    console.fill({"number": "400*", "direction": "inbound", "note": "推销电话"})
    console.save(dialog)
    entries = console.pbxd.api("GET", "/api/v1/blacklist")["items"]
    (entry,) = [e for e in entries if e["number"] == "400*"]
    assert (entry["direction"], entry["note"], entry["hits"]) == ("inbound", "推销电话", 0)
    listed = row(page, "blacklist", str(entry["id"]))
    assert "呼入" in listed.inner_text() and "推销电话" in listed.inner_text()
    console.screenshot("30-blacklist")
