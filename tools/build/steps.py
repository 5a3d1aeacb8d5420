"""Running build steps: logged, timed, `nice`d when heavy, clear messages when they fail."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .errors import HostError, StepFailed

# Below this much free space after a failure, the failure is reported as a full disk.
DISK_FULL_BYTES = 256 * 2**20
TAIL_LINES = 25
TARGET_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def say(message: str) -> None:
    print(f">>> {message}", flush=True)


def disk_full_error(path: Path, what: str) -> HostError | None:
    """A HostError naming the full disk if `path`'s file system is (nearly) full."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < DISK_FULL_BYTES:
        return HostError(
            f"{what} failed: the disk holding {probe} is full ({free / 2**20:.0f} MiB free); "
            "free some space (`make clean` drops output/build and output/images)"
        )
    return None


def run(
    cmd: list[str],
    *,
    what: str,
    log: Path,
    heavy: bool = False,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    space_probe: Path | None = None,
) -> float:
    """Runs cmd with its output in `log`; returns the seconds it took.

    Heavy steps run under `nice -n 10` (the build host's cores are shared). On failure the
    last lines of the log are shown, and a full disk is named as the cause when it is one.
    """
    if heavy:
        cmd = ["nice", "-n", "10", *cmd]
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log, "w") as out:
        out.write(f"$ {shlex.join(cmd)}\n")
        out.flush()
        try:
            result = subprocess.run(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
            )
        except FileNotFoundError as exc:
            raise StepFailed(f"{what}: cannot run {cmd[0]!r}: {exc.strerror}") from exc
    seconds = time.monotonic() - started
    if result.returncode != 0:
        full = disk_full_error(space_probe or log.parent, what)
        if full:
            raise full
        tail = log.read_text(errors="replace").splitlines()[-TAIL_LINES:]
        raise StepFailed(
            f"{what} failed (exit status {result.returncode}) after {seconds:.0f} s; "
            f"last lines of {log}:\n    " + "\n    ".join(tail)
        )
    return seconds


def run_shell_step(
    script: str, *, what: str, log: Path, env: dict[str, str], chroot: Path | None = None
) -> None:
    """One recipe step: `sh -ec script` on the host, or inside `chroot` (target binaries)."""
    cmd = ["sh", "-ec", script]
    full_env = {**os.environ, **env}
    if chroot is not None:
        # the target's own shell and a clean environment: host paths mean nothing in there
        cmd = ["chroot", str(chroot), "/bin/sh", "-ec", script]
        full_env = {"PATH": TARGET_PATH, "HOME": "/root", "LC_ALL": "C.UTF-8", **env}
    with open(log, "a") as out:
        out.write(f"\n### {what}: {script}\n")
        out.flush()
        result = subprocess.run(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
        )
    if result.returncode != 0:
        full = disk_full_error(log.parent, what)
        if full:
            raise full
        tail = log.read_text(errors="replace").splitlines()[-TAIL_LINES:]
        raise StepFailed(
            f"{what} failed (exit status {result.returncode}): {script}\n"
            f"last lines of {log}:\n    " + "\n    ".join(tail)
        )


def elapsed(started: float) -> str:
    seconds = time.monotonic() - started
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def fail(message: str) -> None:
    print(f"ERROR: {message}", file=sys.stderr, flush=True)
