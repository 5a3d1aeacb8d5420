"""The history pages of the console (recordings, call records, reports, operation log, system)
in Chromium, against a real pbxd that carried two real calls from pjsua2 phones: caller 3001
into queue 600 (recording "all"); the first taken by agent 3101, the second left waiting
(the agent paused) until the caller hung up. What a supervisor checks: the report's figures
are the CDR's, the recording is found, plays and downloads, the call records list both calls.
An admin finds his change in the operation log and backs up and restores the configuration.
"""

from __future__ import annotations

import csv
import io
import wave
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from pbxd.web.csvexport import csv_cell
from tests.integration.audio import write_tone
from tests.integration.pbxd_process import PbxdProcess, to_epoch
from tests.integration.peers.pjsua_phone import PjsuaPhone, stop_phones

from .conftest import (
    BROWSER_ZONE,
    Console,
    add_user,
    extension_secret,
    poll,
    row,
    visible_text,
)

pytestmark = [pytest.mark.browser, pytest.mark.peer]

CALLER, AGENT, QUEUE = "3001", "3101", "600"
TALK_SECONDS = 5.0  # the caller hangs up this long after the queue answered him
ZONE = ZoneInfo(BROWSER_ZONE)  # the dates the pages show are the browser's


@dataclass(frozen=True)
class Calls:
    answered: dict  # CDR rows
    abandoned: dict
    recording: dict


def today() -> str:
    return datetime.now(ZONE).date().isoformat()


def local_day(moment: str) -> str:
    epoch = to_epoch(moment)
    assert epoch is not None, moment
    return datetime.fromtimestamp(epoch, ZONE).date().isoformat()


def queue_rows(pbxd: PbxdProcess) -> list[dict]:
    """The CDR rows of the caller's calls into the queue (what the API says)."""
    return [cdr for cdr in pbxd.cdr(number=CALLER) if cdr["callee"] == QUEUE]


@pytest.fixture(scope="module")
def calls(pbxd: PbxdProcess, tmp_path_factory: pytest.TempPathFactory) -> Calls:
    tmp = tmp_path_factory.mktemp("phones")
    for number in (CALLER, AGENT):
        pbxd.create_extension(number, extension_secret(number))
    pbxd.api(
        "POST",
        "/api/v1/queues",
        {"number": QUEUE, "name": "售后服务", "recording": "all", "wrapup": 0},
        expect=201,
    )
    pbxd.api("POST", f"/api/v1/agents/{AGENT}/login", {"queues": [QUEUE]})
    phones = {
        number: PjsuaPhone(
            number,
            extension_secret(number),
            registrar=pbxd.sip_address,
            play=write_tone(tmp / f"{number}.wav", frequency, 2.0),
            log_dir=tmp,
            timeout=90,
            **options,
        )
        for number, frequency, options in (
            (AGENT, 1000, {"ring_seconds": 1.0}),
            (CALLER, 440, {"hangup_after": TALK_SECONDS}),
        )
    }
    caller, agent = phones[CALLER], phones[AGENT]
    try:
        for phone in (agent, caller):
            phone.start()
            phone.wait_registered()
        # 1: the agent answers
        caller.call(QUEUE)
        agent.wait_for("incoming_call", timeout=15)
        caller.wait_for("call_ended", timeout=30)
        agent.wait_for("call_ended", timeout=10)
        # 2: nobody answers (the agent paused): the caller gives up while waiting
        pbxd.api("POST", f"/api/v1/agents/{AGENT}/pause", {"reason": "培训"})
        caller.call(QUEUE)
        caller.wait_for("call_ended", timeout=30)
    finally:
        stop_phones(caller, agent)
    pbxd.api("POST", f"/api/v1/agents/{AGENT}/unpause")
    rows = poll("both calls in the CDR", lambda: len(queue_rows(pbxd)) == 2 and queue_rows(pbxd))
    by_disposition = {cdr["disposition"]: cdr for cdr in rows}
    assert set(by_disposition) == {"ANSWERED", "ABANDONED"}, rows
    recording = poll(
        "the recording",
        lambda: pbxd.api("GET", f"/api/v1/recordings?party={CALLER}")["items"],
    )
    assert len(recording) == 1, recording
    return Calls(by_disposition["ANSWERED"], by_disposition["ABANDONED"], recording[0])


def test_report_by_queue_shows_what_the_cdr_says(console: Console, calls: Calls) -> None:
    page = console.page
    console.login_to("reports")
    page.select_option("#report-group", "queue")
    page.select_option("#report-period", "day")
    page.fill("#report-start", today())
    console.search("reports", {"#report-end": today()})
    queue_row = page.locator(f"[data-page=reports] tbody tr[data-key='{QUEUE}']")
    queue_row.wait_for()
    expect(page.locator("[data-page=reports] tbody tr")).to_have_count(1)
    shown = {
        name: int(queue_row.locator(f"td[data-col={name}]").inner_text())
        for name in ("calls", "answered", "missed", "abandoned")
    }
    rows = [r for r in queue_rows(console.pbxd) if local_day(r["start"]) == today()]
    from_cdr = {
        "calls": len(rows),
        "answered": sum(r["disposition"] == "ANSWERED" for r in rows),
        "missed": sum(r["disposition"] != "ANSWERED" for r in rows),
        "abandoned": sum(r["disposition"] == "ABANDONED" for r in rows),
    }
    assert shown == from_cdr == {"calls": 2, "answered": 1, "missed": 1, "abandoned": 1}
    assert queue_row.locator("td[data-col=answer_rate]").inner_text() == "50.0%"
    assert "通话总数" in visible_text(page.locator("[data-page=reports] thead"))
    page.locator("[data-testid=report-chart][data-drawn=true]").wait_for()
    console.screenshot("30-reports")


def test_recording_found_played_and_downloaded(
    console: Console, calls: Calls, tmp_path: Path
) -> None:
    page = console.page
    console.login_to("recordings")
    console.search("recordings", {"#rec-party": CALLER})
    recording = calls.recording
    listed = row(page, "recordings", str(recording["id"]))
    listed.wait_for()
    expect(page.locator("[data-page=recordings] tbody tr")).to_have_count(1)
    assert [CALLER, QUEUE, AGENT] == [listed.locator("td").nth(i).inner_text() for i in (2, 4, 5)]

    listed.locator(f"[data-play='{recording['id']}']").click()
    audio = page.locator("[data-testid=recording-player] audio")
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=recording-player] audio');"
        " return a !== null && a.duration > 0 && a.currentTime > 0.3; }",
        timeout=10000,
    )
    first = audio.evaluate("a => a.currentTime")
    page.wait_for_timeout(700)
    assert audio.evaluate("a => a.currentTime") > first  # still playing
    assert abs(audio.evaluate("a => a.duration") - recording["duration"]) < 0.5

    # a note (批注), saved inline
    listed.locator("[data-testid=edit-note]").click()
    listed.locator("textarea").fill("客户要求回电")
    listed.locator("[data-testid=note-editor] button[type=submit]").click()
    expect(listed.locator("[data-testid=note]")).to_have_text("客户要求回电")
    saved = console.pbxd.api("GET", f"/api/v1/recordings/{recording['id']}")
    assert saved["note"] == "客户要求回电"
    console.screenshot("31-recordings")

    with page.expect_download() as download:
        page.click("[data-testid=download-all]")
    archive = tmp_path / "recordings.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as opened:
        waves = [name for name in opened.namelist() if name.endswith(".wav")]
        assert len(waves) == 1 and "index.csv" in opened.namelist(), opened.namelist()
        with wave.open(io.BytesIO(opened.read(waves[0]))) as wav:
            seconds = wav.getnframes() / wav.getframerate()
    assert abs(seconds - recording["duration"]) < 0.5


def test_call_records_list_both_calls_and_export_them(
    console: Console, calls: Calls, tmp_path: Path
) -> None:
    page = console.page
    console.login_to("cdr")
    console.search("cdr", {"#cdr-number": CALLER})
    answered = page.locator(f"[data-page=cdr] tr[data-call-id='{calls.answered['call_id']}']")
    abandoned = page.locator(f"[data-page=cdr] tr[data-call-id='{calls.abandoned['call_id']}']")
    expect(answered).to_contain_text("已接通")
    expect(abandoned).to_contain_text("排队放弃")
    expect(page.locator("[data-page=cdr] tbody tr[data-call-id]")).to_have_count(2)

    answered.locator("[data-testid=expand]").click()
    details = page.locator("[data-testid=call-details]")
    expect(details.locator("dd[data-field=agent]")).to_have_text(AGENT)
    expect(details.locator("dd[data-field=queue]")).to_have_text(QUEUE)
    details.locator(f"audio[data-recording='{calls.recording['id']}']").wait_for()
    assert details.locator("[data-testid=legs] tbody tr").count() >= 2
    console.screenshot("32-cdr")

    with page.expect_download() as download:
        page.click("[data-page=cdr] [data-testid=export-csv]")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    exported = {line["call_id"]: line for line in csv.DictReader(io.StringIO(text))}
    # A Call-ID may start with "-": the export escapes it like any formula-looking cell.
    answered_id, abandoned_id = (
        csv_cell(calls.answered["call_id"]),
        csv_cell(calls.abandoned["call_id"]),
    )
    assert set(exported) == {answered_id, abandoned_id}
    assert exported[answered_id]["agent"] == AGENT


def test_agent_sees_his_recording_without_note_or_delete(console: Console, calls: Calls) -> None:
    add_user(console.pbxd, "agent3101", "Agent-pass-3101", "agent", AGENT)
    page = console.page
    console.login_to("recordings", "agent3101", "Agent-pass-3101")
    listed = row(page, "recordings", str(calls.recording["id"]))
    listed.wait_for()
    expect(page.locator("[data-page=recordings] tbody tr")).to_have_count(1)
    listed.locator("[data-play]").wait_for()
    assert listed.locator("[data-testid=edit-note]").count() == 0
    assert listed.get_by_role("button", name="删除").count() == 0
    assert page.locator("[data-nav=cdr], [data-nav=operation-log]").count() == 0


def test_operation_log_lists_the_extension_made_in_the_console(console: Console) -> None:
    page = console.page
    console.login_to("extensions")
    dialog = console.new_record()
    console.fill({"number": "3301", "name": "前台", "secret": extension_secret("3301")})
    console.save(dialog)
    row(page, "extensions", "3301").wait_for()

    console.go("operation-log")
    console.search(
        "operation-log", {"#oplog-action": "POST /api/v1/extensions", "#oplog-username": "admin"}
    )
    newest = page.locator("[data-page=operation-log] tbody tr[data-id]").first
    expect(newest.locator("td[data-col=action]")).to_have_text("POST /api/v1/extensions")
    assert "number" in newest.locator("td[data-col=detail]").inner_text()
    logged = console.pbxd.api(
        "GET", "/api/v1/operation-log?username=admin&action=POST%20/api/v1/extensions"
    )
    assert {"name", "number", "secret"} <= set(logged["items"][0]["detail"]["fields"])
    expect(page.locator("[data-page=operation-log] tbody tr[data-id]")).to_have_count(
        logged["total"]
    )
    console.search("operation-log", {"#oplog-action": ""})
    expect(page.locator("[data-page=operation-log] tbody")).to_contain_text("登录")
    console.screenshot("33-operation-log")


def test_backup_and_restore_from_the_system_page(console: Console, tmp_path: Path) -> None:
    pbxd = console.pbxd
    page = console.page
    console.login_to("system")
    info = pbxd.api("GET", "/api/v1/system/info")
    expect(page.locator("dd[data-field=hostname]")).to_have_text(info["hostname"])
    expect(page.locator("dd[data-field=firmware]")).to_have_text(info["firmware"])
    registrations = page.locator("[data-figure=registrations] .figure-value")
    expect(registrations).to_have_text(
        str(pbxd.api("GET", "/api/v1/system/status")["registrations"])
    )
    expect(page.locator("[data-testid=status-updated]")).not_to_be_empty()
    console.screenshot("34-system")

    with page.expect_download() as download:
        page.click("[data-testid=backup]")
    backup = tmp_path / download.value.suggested_filename
    download.value.save_as(backup)
    assert zipfile.is_zipfile(backup)

    # a change after the backup, which the restore takes back
    pbxd.create_extension("3399", extension_secret("3399"), "恢复后消失")
    page.set_input_files("#restore-file", str(backup))
    expect(page.locator("[data-testid=file-name]")).to_contain_text(backup.name)
    page.click("[data-testid=restore]")
    page.locator("[data-testid=confirm-dialog] button.danger").click()
    page.locator("[data-testid=login-form]").wait_for()
    expect(page.get_by_role("status")).to_contain_text("请重新登录")

    pbxd.login()  # the restore revoked the test's token too
    pbxd.api("GET", "/api/v1/extensions/3399", expect=404)
    console.login()  # the same password: the backup holds the same users
    page.locator("[data-testid=current-user]").wait_for()
