"""Failing steps: the message names the step, shows the log's tail, and names a full disk."""

import sys

import pytest

from tools.build import steps
from tools.build.errors import HostError, StepFailed


def test_failed_step_shows_the_end_of_its_log(tmp_path):
    log = tmp_path / "logs" / "step.log"
    code = "import sys; print('line one'); print('the real cause'); sys.exit(3)"
    with pytest.raises(StepFailed) as err:
        steps.run([sys.executable, "-c", code], what="demo step", log=log)
    message = str(err.value)
    assert message.startswith("demo step failed (exit status 3)")
    assert "the real cause" in message
    assert str(log) in message


def test_failure_on_a_full_disk_is_reported_as_such(tmp_path, monkeypatch):
    class Usage:
        free = 10 * 2**20

    monkeypatch.setattr(steps.shutil, "disk_usage", lambda path: Usage)
    with pytest.raises(HostError, match=r"mksquashfs failed: the disk holding .* is full"):
        steps.run(
            [sys.executable, "-c", "raise SystemExit(1)"], what="mksquashfs", log=tmp_path / "x.log"
        )


def test_missing_program_is_named(tmp_path):
    with pytest.raises(StepFailed, match="cannot run 'no-such-program-xyz'"):
        steps.run(["no-such-program-xyz"], what="demo", log=tmp_path / "x.log")


def test_shell_step_failure_names_the_script(tmp_path):
    log = tmp_path / "post.log"
    log.write_text("")
    with pytest.raises(StepFailed, match=r"pbxd post_install failed \(exit status 1\): false"):
        steps.run_shell_step("false", what="pbxd post_install", log=log, env={})
    steps.run_shell_step('test "$PKG_DIR" = /x', what="ok", log=log, env={"PKG_DIR": "/x"})
