"""The A/B slot decision and the board's shell tools, run on the host (fast, no QEMU).

slot.sh is the code the initramfs runs at every boot (busybox ash) and slotctl runs in the
rootfs (dash): every behaviour is checked under both shells.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BOARD = REPO / "board" / "coocenter_s10"
LIB = BOARD / "rootfs_overlay" / "usr" / "lib" / "coocenter"
SLOTCTL = BOARD / "rootfs_overlay" / "usr" / "sbin" / "slotctl"
SHELL_SCRIPTS = [
    BOARD / "initramfs" / "init",
    SLOTCTL,
    BOARD / "rootfs_overlay" / "usr" / "libexec" / "coocenter" / "mark-good",
    BOARD / "rootfs_overlay" / "usr" / "libexec" / "coocenter" / "firstboot",
    BOARD / "post-image.sh",
    BOARD / "fetch-debs.sh",
    LIB / "slot.sh",
    LIB / "board.sh",
]

# The initramfs runs busybox's ash; the rootfs's /bin/sh is dash. Both must be installed
# (Debian packages busybox or busybox-static, and dash): a missing one fails, never skips.
SHELLS = {"busybox-ash": ["busybox", "sh"], "dash": ["dash"]}


@pytest.fixture(params=sorted(SHELLS))
def shell(request: pytest.FixtureRequest) -> list[str]:
    cmd = SHELLS[request.param]
    assert shutil.which(cmd[0]), f"{cmd[0]} is not installed (Debian package {request.param})"
    return cmd


def sh(shell: list[str], script: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `script` with slot.sh and board.sh loaded; (status, stdout+stderr)."""
    preamble = f". '{LIB}/board.sh'; . '{LIB}/slot.sh'\n"
    done = subprocess.run(
        [*shell, "-c", preamble + script],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **(env or {})},
        timeout=20,
    )
    return done.returncode, done.stdout + done.stderr


def state_of(path: Path) -> dict[str, str]:
    state = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            state[key] = value.strip('"')
    return state


def write_state(path: Path, order: str, a: int | str, b: int | str) -> None:
    path.write_text(f'BOOT_ORDER="{order}"\nBOOT_A_LEFT={a}\nBOOT_B_LEFT={b}\n')


def boot_once(shell: list[str], path: Path) -> tuple[str, int]:
    """One boot attempt as the initramfs makes it: (slot chosen, slot_choose status)."""
    status, out = sh(
        shell,
        f"slot_read '{path}'; slot_choose; rc=$?; slot_write '{path}'; echo \"$SLOT_CHOSEN $rc\"",
    )
    assert status == 0, out
    slot, rc = out.split()[-2:]
    return slot, int(rc)


def test_every_script_parses(shell: list[str]) -> None:
    for script in SHELL_SCRIPTS:
        done = subprocess.run([*shell, "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, f"{script}: {done.stderr}"


def test_missing_file_gives_the_factory_state(shell: list[str], tmp_path: Path) -> None:
    status, out = sh(shell, f"slot_read '{tmp_path}/none'; echo \"rc=$?\"; slot_format")
    assert "rc=1" in out
    assert 'BOOT_ORDER="A B"' in out and "BOOT_A_LEFT=3" in out and "BOOT_B_LEFT=3" in out


def test_each_boot_takes_one_try_from_the_first_slot_with_tries(shell, tmp_path: Path) -> None:
    state = tmp_path / "slot.env"
    write_state(state, "A B", 3, 3)
    assert boot_once(shell, state) == ("A", 0)
    assert state_of(state) == {"BOOT_ORDER": "A B", "BOOT_A_LEFT": "2", "BOOT_B_LEFT": "3"}


def test_a_new_slot_that_never_gets_healthy_falls_back_after_its_tries(shell, tmp_path) -> None:
    state = tmp_path / "slot.env"
    write_state(state, "B A", 3, 3)  # an update was written to B and made primary
    slots = [boot_once(shell, state)[0] for _ in range(5)]
    # three tries of B (none marked good), then A; A keeps being chosen while tries last
    assert slots == ["B", "B", "B", "A", "A"]
    assert state_of(state) == {"BOOT_ORDER": "B A", "BOOT_A_LEFT": "1", "BOOT_B_LEFT": "0"}


def test_marking_good_gives_the_slot_all_its_tries_back(shell, tmp_path: Path) -> None:
    state = tmp_path / "slot.env"
    write_state(state, "B A", 1, 3)
    assert boot_once(shell, state) == ("B", 0)
    status, out = sh(shell, f"slot_read '{state}'; slot_mark_good B; slot_write '{state}'")
    assert status == 0, out
    assert state_of(state)["BOOT_B_LEFT"] == "3"
    assert state_of(state)["BOOT_A_LEFT"] == "1"  # the other slot is left alone


def test_no_tries_left_anywhere_resets_all_and_boots_the_first(shell, tmp_path: Path) -> None:
    state = tmp_path / "slot.env"
    write_state(state, "B A", 0, 0)
    assert boot_once(shell, state) == ("B", 2)
    assert state_of(state) == {"BOOT_ORDER": "B A", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "2"}


def test_a_slot_missing_from_the_order_is_never_booted(shell, tmp_path: Path) -> None:
    state = tmp_path / "slot.env"
    write_state(state, "A", 1, 3)
    assert [boot_once(shell, state)[0] for _ in range(3)] == ["A", "A", "A"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # invalid values fall back to the default for that key only
        ('BOOT_ORDER="A B"\nBOOT_A_LEFT=abc\nBOOT_B_LEFT=1\n', ("A B", "3", "1")),
        ('BOOT_ORDER="A B"\nBOOT_A_LEFT=99\nBOOT_B_LEFT=-1\n', ("A B", "3", "3")),
        ('BOOT_ORDER="C A"\nBOOT_A_LEFT=1\nBOOT_B_LEFT=1\n', ("A B", "1", "1")),
        ('BOOT_ORDER="A A"\nBOOT_A_LEFT=1\nBOOT_B_LEFT=1\n', ("A B", "1", "1")),
        ('BOOT_ORDER=""\nBOOT_A_LEFT=1\nBOOT_B_LEFT=2\n', ("A B", "1", "2")),
        ("garbage\n\x00\x01\n", ("A B", "3", "3")),
        # a half-written file: what is there is used
        ('BOOT_ORDER="B A"\nBOOT_A_LE', ("B A", "3", "3")),
    ],
)
def test_damaged_state_uses_defaults_and_says_so(shell, tmp_path: Path, text, expected) -> None:
    state = tmp_path / "slot.env"
    state.write_bytes(text.encode())
    status, out = sh(shell, f"slot_read '{state}'; echo \"rc=$?\"; slot_format")
    assert "rc=1" in out, out
    assert f'BOOT_ORDER="{expected[0]}"' in out, out
    assert f"BOOT_A_LEFT={expected[1]}" in out and f"BOOT_B_LEFT={expected[2]}" in out, out


def test_well_formed_variants_are_accepted(shell, tmp_path: Path) -> None:
    state = tmp_path / "slot.env"
    # CRLF line ends, single quotes, extra spaces in the order, leading zeros (not octal)
    state.write_bytes(b"# comment\r\nBOOT_ORDER='B   A'\r\nBOOT_A_LEFT=03\r\nBOOT_B_LEFT=00\r\n")
    status, out = sh(shell, f"slot_read '{state}'; echo \"rc=$?\"; slot_format")
    assert "rc=0" in out, out
    assert 'BOOT_ORDER="B A"' in out and "BOOT_A_LEFT=3" in out and "BOOT_B_LEFT=0" in out


def test_the_state_file_is_parsed_never_run(shell, tmp_path: Path) -> None:
    state = tmp_path / "slot.env"
    pwned = tmp_path / "pwned"
    state.write_text(
        f'BOOT_ORDER="$(touch {pwned})"\nBOOT_A_LEFT=`touch {pwned}`\n'
        f"touch {pwned}\nBOOT_B_LEFT=1; touch {pwned}\n"
    )
    sh(shell, f"slot_read '{state}'; slot_choose; slot_write '{state}'")
    assert not pwned.exists()
    assert state_of(state) == {"BOOT_ORDER": "A B", "BOOT_A_LEFT": "2", "BOOT_B_LEFT": "3"}


def test_an_interrupted_write_is_recovered(shell, tmp_path: Path) -> None:
    state = tmp_path / "slot.env"
    # power cut after slot.env.new was written, before the rename
    write_state(tmp_path / "slot.env.new", "B A", 3, 2)
    assert boot_once(shell, state) == ("B", 0)
    assert state_of(state) == {"BOOT_ORDER": "B A", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "1"}
    assert not (tmp_path / "slot.env.new").exists()


def test_set_primary_puts_the_slot_first_with_all_its_tries(shell, tmp_path: Path) -> None:
    state = tmp_path / "slot.env"
    write_state(state, "A B", 3, 0)
    status, out = sh(shell, f"slot_read '{state}'; slot_set_primary B; slot_write '{state}'")
    assert status == 0, out
    assert state_of(state) == {"BOOT_ORDER": "B A", "BOOT_A_LEFT": "3", "BOOT_B_LEFT": "3"}


def fake_sysfs(root: Path) -> Path:
    """/sys/class/block for a virtio disk with the board's GPT names, plus a USB stick whose
    partition is also called "data"."""
    devices = root / "devices"
    layout = {"vda": ["boot", "rootfs_a", "rootfs_b", "data"], "sda": ["data"]}
    block = root / "class" / "block"
    block.mkdir(parents=True)
    for disk, names in layout.items():
        disk_dir = devices / "pci0" / disk
        disk_dir.mkdir(parents=True)
        (disk_dir / "uevent").write_text(f"DEVTYPE=disk\nDEVNAME={disk}\n")
        (block / disk).symlink_to(disk_dir)
        for number, name in enumerate(names, 1):
            part = disk_dir / f"{disk}{number}"
            part.mkdir()
            (part / "uevent").write_text(
                f"MAJOR=254\nMINOR={number}\nDEVNAME={disk}{number}\nDEVTYPE=partition\n"
                f"PARTN={number}\nPARTNAME={name}\n"
            )
            (block / f"{disk}{number}").symlink_to(part)
    return root


def test_partitions_are_found_by_gpt_name_on_the_boot_disk(shell, tmp_path: Path) -> None:
    sysfs = fake_sysfs(tmp_path / "sys")
    env = {"BOARD_SYSFS": str(sysfs)}
    status, out = sh(
        shell,
        'boot=$(board_partition boot); disk=$(board_disk_of "$boot"); '
        'echo "$boot $disk $(board_partition data "$disk") '
        '$(board_partition "$(board_slot_partname B)" "$disk")"',
        env,
    )
    assert status == 0, out
    assert out.split() == ["/dev/vda1", "vda", "/dev/vda4", "/dev/vda3"]
    status, out = sh(shell, "board_partition nothing || echo none", env)
    assert out.strip() == "none"


def slotctl(tmp_path: Path, *args: str, booted: str = "A") -> tuple[int, str]:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "boot.env").write_text(f"BOOTED_SLOT={booted}\nPRIMARY_SLOT={booted}\n")
    env = {
        "PATH": os.environ["PATH"],
        "COOCENTER_LIB": str(LIB),
        "SLOTCTL_STATE_FILE": str(tmp_path / "slot.env"),
        "BOARD_RUN_DIR": str(run_dir),
    }
    done = subprocess.run(
        ["dash", str(SLOTCTL), *args], capture_output=True, text=True, env=env, timeout=20
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def test_slotctl_speaks_rauc_custom_backend_commands(tmp_path: Path) -> None:
    state = tmp_path / "slot.env"
    write_state(state, "A B", 2, 3)
    assert slotctl(tmp_path, "get-current", booted="A") == (0, "A")
    assert slotctl(tmp_path, "get-primary") == (0, "A")
    assert slotctl(tmp_path, "set-primary", "B")[0] == 0
    assert state_of(state) == {"BOOT_ORDER": "B A", "BOOT_A_LEFT": "2", "BOOT_B_LEFT": "3"}
    assert slotctl(tmp_path, "get-primary") == (0, "B")
    assert slotctl(tmp_path, "set-state", "B", "bad")[0] == 0
    assert slotctl(tmp_path, "get-state", "B") == (0, "bad")
    assert slotctl(tmp_path, "get-primary") == (0, "A")  # B has no tries left
    assert slotctl(tmp_path, "set-state", "B", "good")[0] == 0
    assert slotctl(tmp_path, "get-state", "B") == (0, "good")
    assert state_of(state)["BOOT_B_LEFT"] == "3"


def test_slotctl_mark_good_and_retry_possible(tmp_path: Path) -> None:
    state = tmp_path / "slot.env"
    write_state(state, "B A", 0, 2)
    assert slotctl(tmp_path, "retry-possible")[0] == 0
    assert slotctl(tmp_path, "mark-good", booted="B") == (0, "slot B marked good")
    assert state_of(state) == {"BOOT_ORDER": "B A", "BOOT_A_LEFT": "0", "BOOT_B_LEFT": "3"}
    write_state(state, "B A", 0, 0)
    assert slotctl(tmp_path, "retry-possible")[0] == 1


def test_slotctl_rejects_what_it_does_not_know(tmp_path: Path) -> None:
    write_state(tmp_path / "slot.env", "A B", 3, 3)
    status, out = slotctl(tmp_path, "set-state", "C", "good")
    assert status == 1 and "expected a slot name" in out
    status, out = slotctl(tmp_path, "set-state", "A", "maybe")
    assert status == 1 and "expected good or bad" in out
    status, out = slotctl(tmp_path, "frobnicate")
    assert status == 1 and "unknown command" in out
    assert state_of(tmp_path / "slot.env")["BOOT_A_LEFT"] == "3"
