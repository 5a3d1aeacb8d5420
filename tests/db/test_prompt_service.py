"""PromptService on real directories and a real database: system prompts read-only, uploads
converted and written atomically, fallback to the system prompt, references from queues and
IVRs."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from pbxd.services import InUse, NotFound, Services, ValidationError, build_services
from pbxd.services.prompts import InvalidAudio, PromptService, ReadOnlyPrompt

from .historydata import FakeClock, tone_wav, wav_shape


@pytest.fixture
def system_dir(tmp_path: Path) -> Path:
    """A rendered system prompt set in miniature: two spoken prompts and music on hold."""
    root = tmp_path / "system"
    for lang, seconds in (("zh", 1.0), ("en", 0.75)):
        (root / lang).mkdir(parents=True)
        for prompt_id in ("welcome", "queue-welcome"):
            (root / lang / f"{prompt_id}.wav").write_bytes(tone_wav(seconds))
    (root / "common").mkdir()
    (root / "common" / "moh.wav").write_bytes(tone_wav(2.0))
    return root


@pytest.fixture
def services(tmp_path: Path, clock: FakeClock, system_dir: Path) -> Iterator[Services]:
    services = build_services(tmp_path / "data", clock=clock, prompts_dir=system_dir)
    yield services
    services.close()


@pytest.fixture
def prompts(services: Services) -> PromptService:
    return services.prompts


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "data" / "prompts"


# -- listing ------------------------------------------------------------------------------------


def test_system_prompts_are_listed_per_language(prompts: PromptService) -> None:
    views = {view.id: view for view in prompts.list()}
    assert sorted(views) == ["moh", "queue-welcome", "welcome"]
    welcome = views["welcome"]
    assert (welcome.source, welcome.system, welcome.overrides_system) == ("system", True, False)
    assert welcome.languages == ("zh", "en")
    assert welcome.duration == 1.0
    assert [(f.language, f.plays_in, f.duration) for f in welcome.files] == [
        ("zh", ("zh",), 1.0),
        ("en", ("en",), 0.75),
    ]
    moh = views["moh"]
    assert [(f.language, f.plays_in) for f in moh.files] == [(None, ("zh", "en"))]


def test_exists(prompts: PromptService) -> None:
    assert prompts.exists("welcome") and prompts.exists("moh")
    assert not prompts.exists("jingle")
    for bad in ("../system/zh/welcome", "Welcome", "", "welcome.wav"):
        assert not prompts.exists(bad)


# -- uploading -----------------------------------------------------------------------------------


def test_upload_is_converted_and_replaces_the_system_prompt(
    prompts: PromptService, uploads: Path, clock: FakeClock
) -> None:
    view = prompts.upload("welcome", None, tone_wav(1.5, rate=44100, channels=2))

    assert wav_shape((uploads / "welcome.wav").read_bytes()) == (1, 2, 8000, 1.5)
    assert (view.source, view.system, view.overrides_system) == ("upload", True, True)
    assert view.duration == 1.5
    assert view.modified == clock.now
    upload, zh, en = view.files
    assert (upload.source, upload.language, upload.plays_in) == ("upload", None, ("zh", "en"))
    assert (zh.source, zh.plays_in, en.plays_in) == ("system", (), ())
    assert prompts.audio("welcome", "en").path == uploads / "welcome.wav"


def test_upload_for_one_language_leaves_the_other(prompts: PromptService, uploads: Path) -> None:
    view = prompts.upload("welcome", "en", tone_wav(0.5, rate=16000))
    assert (uploads / "en" / "welcome.wav").is_file()
    assert [(f.source, f.language, f.plays_in) for f in view.files] == [
        ("upload", "en", ("en",)),
        ("system", "zh", ("zh",)),
        ("system", "en", ()),
    ]
    assert prompts.audio("welcome", "zh").path.parent.name == "zh"
    assert prompts.audio("welcome").path.parent.name == "zh"  # the daemon's language


def test_upload_for_every_language_replaces_per_language_uploads(
    prompts: PromptService, uploads: Path
) -> None:
    prompts.upload("jingle", "zh", tone_wav(0.5))
    prompts.upload("jingle", "en", tone_wav(0.5))
    view = prompts.upload("jingle", None, tone_wav(0.25))
    assert not (uploads / "zh" / "jingle.wav").exists()
    assert not (uploads / "en" / "jingle.wav").exists()
    assert [(f.language, f.plays_in) for f in view.files] == [(None, ("zh", "en"))]
    assert (view.system, view.overrides_system, view.duration) == (False, False, 0.25)


def test_refused_uploads_write_nothing(prompts: PromptService, uploads: Path) -> None:
    with pytest.raises(InvalidAudio) as refused:
        prompts.upload("jingle", None, b"ID3\x04" + b"\x00" * 100)
    assert (refused.value.status, refused.value.code, refused.value.field) == (
        400,
        "invalid_audio",
        "file",
    )
    assert refused.value.message.startswith("not a WAV file")
    with pytest.raises(ValidationError) as bad_id:
        prompts.upload("../jingle", None, tone_wav(0.1))
    assert bad_id.value.field == "id"
    with pytest.raises(ValidationError) as bad_language:
        prompts.upload("jingle", "fr", tone_wav(0.1))
    assert bad_language.value.field == "language"
    assert not uploads.exists() or not any(uploads.rglob("*"))


# -- atomic writes ---------------------------------------------------------------------------------


def test_upload_is_fsynced_before_and_after_the_rename(
    prompts: PromptService, uploads: Path, monkeypatch
) -> None:
    synced: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        synced.append((path, (uploads / "zh" / "jingle.wav").exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    prompts.upload("jingle", "zh", tone_wav(0.5))

    temporary, directory, parent = synced
    assert Path(temporary[0]).parent == uploads / "zh"
    assert Path(temporary[0]).name.startswith(".jingle.wav.") and temporary[1] is False
    # Then the rename, then the directory (and its new parent entry) reach the disk.
    assert directory == (str(uploads / "zh"), True)
    assert parent == (str(uploads), True)
    assert [p.name for p in (uploads / "zh").iterdir()] == ["jingle.wav"]
    assert oct((uploads / "zh" / "jingle.wav").stat().st_mode & 0o777) == "0o644"


def test_a_failed_write_leaves_the_previous_upload_whole(
    prompts: PromptService, uploads: Path, monkeypatch
) -> None:
    prompts.upload("jingle", None, tone_wav(0.5))
    before = (uploads / "jingle.wav").read_bytes()

    def crash(src, dst) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        prompts.upload("jingle", None, tone_wav(2.0))
    assert (uploads / "jingle.wav").read_bytes() == before
    assert [p.name for p in uploads.iterdir()] == ["jingle.wav"]


def test_temporaries_of_a_crashed_upload_are_removed_at_start(
    tmp_path: Path, system_dir: Path, clock: FakeClock
) -> None:
    upload_dir = tmp_path / "uploads"
    (upload_dir / "en").mkdir(parents=True)
    stale = upload_dir / "en" / ".jingle.wav.abc123.tmp"
    stale.write_bytes(b"RIFF half")
    kept = upload_dir / "en" / "jingle.wav"
    kept.write_bytes(tone_wav(0.1))
    PromptService(system_dir, upload_dir, clock, references=lambda prompt_id: [])
    assert not stale.exists() and kept.exists()


# -- deleting --------------------------------------------------------------------------------------


def test_system_prompts_are_read_only(prompts: PromptService, system_dir: Path) -> None:
    with pytest.raises(ReadOnlyPrompt) as refused:
        prompts.delete("welcome")
    assert (refused.value.status, refused.value.code) == (409, "read_only")
    assert "system prompts are read-only" in refused.value.message
    assert (system_dir / "zh" / "welcome.wav").exists()
    with pytest.raises(NotFound):
        prompts.delete("jingle")


def test_deleting_an_override_brings_the_system_prompt_back(
    prompts: PromptService, system_dir: Path
) -> None:
    prompts.upload("welcome", None, tone_wav(3.0))
    assert prompts.get("welcome").duration == 3.0
    after = prompts.delete("welcome")
    assert after is not None and (after.source, after.duration) == ("system", 1.0)
    assert prompts.audio("welcome", "en").path == system_dir / "en" / "welcome.wav"


def test_deleting_one_language(prompts: PromptService, uploads: Path) -> None:
    prompts.upload("jingle", "zh", tone_wav(0.5))
    prompts.upload("jingle", "en", tone_wav(0.5))
    remaining = prompts.delete("jingle", "zh")
    assert remaining is not None and remaining.languages == ("en",)
    with pytest.raises(NotFound) as missing:
        prompts.delete("jingle", "zh")
    assert missing.value.field == "language"
    assert prompts.delete("jingle") is None
    assert not prompts.exists("jingle")


def test_an_upload_in_use_without_fallback_cannot_be_deleted(
    services: Services, prompts: PromptService, uploads: Path
) -> None:
    prompts.upload("jingle", None, tone_wav(0.5))
    services.queues.create({"number": "600", "welcome_prompt": "jingle", "music": "jingle"})
    services.ivrs.create({"name": "main", "prompt": "jingle"})

    with pytest.raises(InUse) as refused:
        prompts.delete("jingle")
    assert (refused.value.status, refused.value.code) == (409, "in_use")
    message = refused.value.message
    for user in ("queue 600 welcome_prompt", "queue 600 music", "ivr main prompt"):
        assert user in message
    assert "silent in zh, en" in message
    assert (uploads / "jingle.wav").exists()

    services.queues.update("600", {"welcome_prompt": None, "music": None})
    services.ivrs.delete("main")
    assert prompts.delete("jingle") is None


def test_an_upload_in_use_may_go_when_something_still_plays(
    services: Services, prompts: PromptService
) -> None:
    # Replacing a system prompt: the system one takes over.
    prompts.upload("queue-welcome", None, tone_wav(0.5))
    services.queues.create({"number": "600", "welcome_prompt": "queue-welcome"})
    assert prompts.delete("queue-welcome").source == "system"
    # One language of an upload for every language: that one takes over in zh.
    prompts.upload("jingle", None, tone_wav(0.5))
    prompts.upload("jingle", "zh", tone_wav(0.7))
    services.ivrs.create({"name": "main", "prompt": "jingle"})
    assert prompts.delete("jingle", "zh").languages == ("zh", "en")
    # Uploads per language only: deleting the zh one leaves zh silent.
    prompts.upload("tune", "zh", tone_wav(0.7))
    prompts.upload("tune", "en", tone_wav(0.7))
    services.queues.update("600", {"periodic_prompt": "tune"})
    with pytest.raises(InUse) as refused:
        prompts.delete("tune", "zh")
    assert refused.value.message.endswith("it would be silent in zh")
    assert prompts.get("tune").languages == ("zh", "en")


# -- references from queues and IVRs ---------------------------------------------------------------


def test_queues_and_ivrs_name_only_prompts_that_exist(
    services: Services, prompts: PromptService, system_dir: Path
) -> None:
    with pytest.raises(ValidationError) as refused:
        services.queues.create({"number": "600", "welcome_prompt": "foo"})
    assert refused.value.message == "welcome_prompt: no prompt 'foo' (upload it first)"
    assert refused.value.field == "welcome_prompt"
    with pytest.raises(ValidationError) as refused:
        services.ivrs.create({"name": "main", "prompt": "welcome", "invalid_prompt": "oops"})
    assert refused.value.field == "invalid_prompt"

    prompts.upload("foo", "en", tone_wav(0.2))
    queue = services.queues.create(
        {"number": "600", "welcome_prompt": "foo", "music": "moh", "periodic_prompt": "welcome"}
    )
    assert queue.welcome_prompt == "foo"
    with pytest.raises(ValidationError):
        services.queues.update("600", {"periodic_prompt": "bar"})

    # A prompt gone since (a firmware update) does not block unrelated changes.
    (system_dir / "zh" / "welcome.wav").unlink()
    (system_dir / "en" / "welcome.wav").unlink()
    assert services.queues.update("600", {"timeout": 20}).timeout == 20


def test_without_a_system_directory_references_are_not_checked(
    tmp_path: Path, clock: FakeClock
) -> None:
    services = build_services(tmp_path / "bare", clock=clock)
    try:
        assert services.queues.create({"number": "600", "music": "jazz"}).music == "jazz"
        assert services.prompts.list() == []
        view = services.prompts.upload("jazz", None, tone_wav(0.2))
        assert (view.source, view.system) == ("upload", False)
        with pytest.raises(InUse):  # no system prompt to fall back to
            services.prompts.delete("jazz")
    finally:
        services.close()


def test_a_damaged_file_is_listed_without_duration(prompts: PromptService, uploads: Path) -> None:
    (uploads / "en").mkdir(parents=True)
    (uploads / "en" / "broken.wav").write_bytes(b"RIFF" + struct.pack("<I", 4) + b"WAVE")
    view = prompts.get("broken")
    assert (view.duration, view.size, view.languages) == (None, 12, ("en",))
