"""Voicemail: the mailbox menu (pure) and the mailbox files on disk."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from pbxd.callcenter.voicemail import (
    BadMailbox,
    Collect,
    DeleteMessage,
    Hangup,
    IllegalMenuEvent,
    MailboxMenu,
    MarkRead,
    MenuState,
    MessageInfo,
    MessageNotFound,
    PinLockout,
    Play,
    PlayFile,
    PlayMessage,
    Record,
    VoicemailError,
    VoicemailStore,
    count_messages,
    greeting_actions,
    message_id,
    wav_duration,
)
from pbxd.media.frames import FRAME_SAMPLES
from pbxd.media.prompts import write_wav_atomic

NOW = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


def msgs(*spec: tuple[str, bool]) -> list[MessageInfo]:
    return [MessageInfo(mid, new, recorded_at=i) for i, (mid, new) in enumerate(spec)]


def prompts_of(actions) -> list[str]:
    return [p for a in actions if isinstance(a, Play) for p in a.prompts]


# -- menu: PIN ----------------------------------------------------------------------------------


def test_wrong_pin_three_times_hangs_up():
    menu = MailboxMenu("1001", msgs(("m1", True)), "en", pin="4321")
    first = menu.start()
    assert first[0] == Play(("vm-enter-pin",))
    assert isinstance(first[1], Collect) and first[1].terminators == "#"

    assert prompts_of(menu.collected("1111#")) == ["vm-wrong-pin", "vm-enter-pin"]
    assert prompts_of(menu.collected("")) == ["vm-wrong-pin", "vm-enter-pin"]  # silence counts
    last = menu.collected("4322")
    assert last == [Play(("vm-wrong-pin", "goodbye"), interruptible=False), Hangup("wrong-pin")]
    assert menu.state is MenuState.DONE and not menu.authenticated
    with pytest.raises(IllegalMenuEvent, match="collected.*DONE"):
        menu.collected("4321")


def test_right_pin_after_a_wrong_one_announces_new_messages():
    menu = MailboxMenu("1001", msgs(("m1", True), ("m2", True), ("m3", False)), "en", pin="4321")
    menu.start()
    menu.collected("0000")
    actions = menu.collected("4321#")
    assert prompts_of(actions) == ["vm-you-have", "digit-2", "vm-new-messages", "vm-menu"]
    assert isinstance(actions[-1], Collect) and actions[-1].max_digits == 1
    assert menu.state is MenuState.MENU and menu.authenticated


@pytest.mark.parametrize("pin", [None, "4321"])
def test_a_locked_box_asks_for_a_pin_and_refuses_every_one(pin):
    menu = MailboxMenu("1001", msgs(("m1", True)), "en", pin=pin, locked=True)
    assert prompts_of(menu.start()) == ["vm-enter-pin"]
    assert prompts_of(menu.collected("4321#")) == ["vm-wrong-pin", "vm-enter-pin"]
    assert prompts_of(menu.collected("")) == ["vm-wrong-pin", "vm-enter-pin"]
    assert menu.collected("4321")[-1] == Hangup("wrong-pin")
    assert not menu.authenticated and menu.pin_failures == 3


def test_chinese_count_uses_chinese_numbers_and_one_new_message_in_english():
    many = [MessageInfo(f"m{i}", True) for i in range(12)]
    menu = MailboxMenu("1001", many, "zh", pin=None)
    assert prompts_of(menu.start())[:3] == ["vm-you-have", "number-10", "digit-2"]
    one = MailboxMenu("1001", msgs(("m1", True)), "en", pin=None)
    assert prompts_of(one.start()) == ["vm-you-have", "digit-1", "vm-new-message", "vm-menu"]


def test_empty_mailbox_says_so_and_hangs_up():
    menu = MailboxMenu("1001", [], "zh", pin="")
    actions = menu.start()
    assert actions == [
        Play(("vm-no-messages", "goodbye"), interruptible=False),
        Hangup("no-messages"),
    ]


def test_only_old_messages_go_to_the_menu():
    menu = MailboxMenu("1001", msgs(("m1", False)), "en", pin=None)
    assert prompts_of(menu.start()) == ["vm-no-messages", "vm-menu"]
    assert menu.counts == (0, 1)


def test_pin_must_be_digits():
    with pytest.raises(ValueError):
        MailboxMenu("1001", [], "en", pin="12ab")


# -- menu: play, next, delete, end --------------------------------------------------------------


def test_play_marks_new_message_read_once_and_new_ones_come_first():
    menu = MailboxMenu("1001", msgs(("old", False), ("new1", True), ("new2", True)), "en", pin=None)
    menu.start()
    assert menu.current_message.message_id == "new1"
    actions = menu.collected("1")
    assert actions[:2] == [PlayMessage("new1"), MarkRead("new1")]
    assert prompts_of(actions) == ["vm-menu"]
    assert menu.counts == (1, 2)
    again = menu.collected("1")
    assert again[0] == PlayMessage("new1") and not any(isinstance(a, MarkRead) for a in again)


def test_next_plays_the_following_message_until_there_is_none():
    menu = MailboxMenu("1001", msgs(("a", True), ("b", False)), "en", pin=None)
    menu.start()
    actions = menu.collected("9")
    assert actions[0] == PlayMessage("b") and menu.current_message.message_id == "b"
    at_end = menu.collected("9")
    assert prompts_of(at_end) == ["vm-no-more-messages", "vm-menu"]
    assert menu.current_message.message_id == "b"


def test_delete_moves_on_and_deleting_the_last_message_ends_the_call():
    menu = MailboxMenu("1001", msgs(("a", True), ("b", True)), "en", pin=None)
    menu.start()
    actions = menu.collected("7")
    assert actions[0] == DeleteMessage("a")
    assert prompts_of(actions) == ["vm-deleted", "vm-menu"]
    assert menu.current_message.message_id == "b"
    assert menu.collected("1")[0] == PlayMessage("b")
    last = menu.collected("7")
    assert last[0] == DeleteMessage("b")
    assert last[-1] == Hangup("done")
    assert prompts_of(last) == ["vm-deleted", "vm-no-more-messages", "goodbye"]
    assert menu.messages == []


def test_pound_ends_and_three_misses_hang_up():
    menu = MailboxMenu("1001", msgs(("a", True)), "en", pin=None)
    menu.start()
    assert menu.collected("#") == [Play(("goodbye",), interruptible=False), Hangup("done")]

    menu = MailboxMenu("1001", msgs(("a", True)), "en", pin=None)
    menu.start()
    assert prompts_of(menu.collected("5")) == ["ivr-invalid", "vm-menu"]
    assert prompts_of(menu.collected("")) == ["ivr-timeout", "vm-menu"]
    menu.collected("1")  # a valid key resets the count
    menu.collected("")
    menu.collected("")
    assert menu.collected("")[-1] == Hangup("no-input")


def test_counts_come_from_the_index():
    assert count_messages(msgs(("a", True), ("b", False), ("c", True))) == (2, 1)


def test_greeting_actions_default_and_personal(tmp_path):
    default = greeting_actions("1001", None, max_seconds=60)
    assert default == [
        Play(("vm-greeting-default", "digit-1", "digit-0", "digit-0", "digit-1",
              "vm-greeting-default-end")),
        Record("1001", 60),
    ]  # fmt: skip
    own = greeting_actions("1001", tmp_path / "greeting.wav")
    assert own[0] == PlayFile(tmp_path / "greeting.wav") and isinstance(own[1], Record)


# -- store ---------------------------------------------------------------------------------------


def frames(seconds: float):
    t = np.arange(int(seconds * 8000)) / 8000
    pcm = (6000 * np.sin(2 * np.pi * 400 * t)).astype(np.int16)
    for i in range(0, len(pcm), FRAME_SAMPLES):
        yield pcm[i : i + FRAME_SAMPLES]


def record(store: VoicemailStore, box: str, now: float, seconds: float, **kw):
    recorder = store.start_recording(box, now, sync=False, **kw)
    for frame in frames(seconds):
        recorder.write(frame)
    return recorder.close()


def test_messages_are_recorded_listed_with_durations_and_deleted(tmp_path):
    store = VoicemailStore(tmp_path / "voicemail")
    first = record(store, "1001", NOW, 1.0)
    second = record(store, "1001", NOW, 2.5)  # the same second: another name
    third = record(store, "1001", NOW + 60, 0.5, format="wav-pcmu")
    assert first.parent == tmp_path / "voicemail" / "1001"
    assert first.name == "msg-20260101-000000-1.wav" and second.name.endswith("-2.wav")

    listed = store.messages("1001")
    assert [m.path for m in listed] == [first, second, third]
    assert [round(m.duration, 2) for m in listed] == [1.0, 2.5, 0.5]
    assert listed[0].recorded_at == NOW and listed[2].recorded_at == NOW + 60
    assert listed[0].message_id == message_id(first)
    with wave.open(str(first), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)

    assert store.message_path("1001", listed[1].message_id) == second
    assert store.delete_message("1001", listed[1].message_id)
    assert not store.delete_message("1001", listed[1].message_id)
    with pytest.raises(MessageNotFound):
        store.message_path("1001", listed[1].message_id)
    assert [m.path for m in store.messages("1001")] == [first, third]
    assert store.boxes() == ["1001"]
    assert store.messages("1002") == []


def test_a_recording_in_progress_is_not_listed_and_is_repaired_after_a_crash(tmp_path):
    store = VoicemailStore(tmp_path / "voicemail")
    recorder = store.start_recording("600", NOW, sync=False)
    for frame in frames(1.0):
        recorder.write(frame)
    recorder.checkpoint()
    assert store.messages("600") == []  # still .part: not a message yet
    # the process dies here: nothing closes the recorder
    recovered = store.repair()
    assert len(recovered) == 1 and recovered[0].path.name == "msg-20260101-000000-1.wav"
    listed = store.messages("600")
    assert len(listed) == 1 and round(listed[0].duration, 2) == 1.0


def test_bad_box_and_message_names_are_refused(tmp_path):
    store = VoicemailStore(tmp_path / "voicemail")
    for box in ("../etc", "", "a/b", ".hidden"):
        with pytest.raises(BadMailbox):
            store.box_dir(box)
    with pytest.raises(MessageNotFound):
        store.message_path("1001", "../../secret")


def test_greeting_is_converted_and_replaced(tmp_path):
    store = VoicemailStore(tmp_path / "voicemail")
    assert store.greeting_path("1001") is None
    src = tmp_path / "mine.wav"
    rate = 44100
    t = np.arange(rate // 2) / rate
    stereo = np.stack([np.sin(2 * np.pi * 300 * t)] * 2, axis=1) * 8000
    with wave.open(str(src), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(stereo.astype("<i2").tobytes())
    path = store.set_greeting("1001", src)
    assert store.greeting_path("1001") == path
    with wave.open(str(path), "rb") as w:
        assert (w.getframerate(), w.getnchannels()) == (8000, 1)
    assert wav_duration(path) == pytest.approx(0.5, abs=0.01)
    text = tmp_path / "x.wav"
    text.write_text("hello")
    with pytest.raises(VoicemailError, match="not a WAV"):
        store.set_greeting("1001", text)
    assert store.greeting_path("1001") == path  # the old greeting stays
    assert store.delete_greeting("1001") and store.greeting_path("1001") is None


def test_wav_duration_of_a_cut_file(tmp_path):
    path = tmp_path / "cut.wav"
    write_wav_atomic(path, np.zeros(8000, dtype=np.int16))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 8000])  # the header still says 1 s
    assert wav_duration(path) == pytest.approx(0.5)
    path.write_text("nope")
    with pytest.raises(VoicemailError):
        wav_duration(path)


# -- PIN lockout --------------------------------------------------------------------------------


def test_wrong_pins_lock_the_box_for_a_while_and_a_right_pin_clears_them():
    lockout = PinLockout(failures=6, seconds=900)
    lockout.record("1001", 3, now=0.0, opened=False)
    assert not lockout.locked("1001", 1.0)
    lockout.record("1001", 3, now=60.0, opened=False)
    assert lockout.locked("1001", 61.0)
    assert not lockout.locked("1002", 61.0)  # per box
    assert lockout.locked("1001", 899.0)  # three failures at t=60 are still recent
    assert not lockout.locked("1001", 960.0)

    lockout.record("1001", 5, now=1000.0, opened=False)
    lockout.record("1001", 0, now=1001.0, opened=True)
    lockout.record("1001", 1, now=1002.0, opened=False)
    assert not lockout.locked("1001", 1003.0)
