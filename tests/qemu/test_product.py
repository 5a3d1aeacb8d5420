"""The product image on the QEMU twin: systemd, pbxd, first-boot secrets, a call with audio,
aiortc (WebRTC) on arm64.

One guest boots for the whole module, in a network namespace of its own (guest.py): the host
side reaches it at 10.0.2.15 through QEMU's forwards, with the guest's own port numbers, so a
phone on the host talks to pbxd as a phone on the appliance's LAN would. These tests need the
real rootfs (make image); against the busybox stand-in they fail.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..integration.audio import dominant_frequency, rms, wav_seconds, write_tone
from ..integration.peers.pjsua_phone import PjsuaPhone, stop_phones
from .conftest import BOOT_TIMES, ROOT_PASSWORD, record_boot
from .disk import copy_image, provision_root_password
from .guest import GUEST_ADDRESS, Guest, GuestError

pytestmark = pytest.mark.qemu

TALK_SECONDS = 4.0
TOLERANCE_HZ = 15.0
WEBRTC_TONE_HZ = 1200.0
WEBRTC_SECONDS = 3.0
# aiortc (PyAV, FFmpeg, cryptography) imports in seconds on a PC, far longer under TCG
WEBRTC_IMPORT_SECONDS = 180


@pytest.fixture(scope="module")
def product(
    built_image: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Guest]:
    workdir = tmp_path_factory.mktemp("product")
    disk = copy_image(built_image, workdir / "disk.img")
    provision_root_password(disk, ROOT_PASSWORD, workdir)
    guest = Guest(disk, workdir / "guest", netns=True, password=ROOT_PASSWORD)
    request.node.guests = [guest]
    guest.start()
    try:
        sequence = guest.wait_boot(timeout=600)
        record_boot("product, first boot", sequence)
        guest.ready_at = wait_health(guest, timeout=600) - guest._started
        BOOT_TIMES[-1]["ready_s"] = round(guest.ready_at, 1)
        guest.login()
        yield guest
    finally:
        guest.stop()


@pytest.fixture(autouse=True)
def _console_on_failure(request: pytest.FixtureRequest, product: Guest) -> None:
    request.node.guests = [product]


def host(guest: Guest, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """A command on the host side of the guest's forwards."""
    return subprocess.run(
        guest.host_command(list(cmd)), capture_output=True, text=True, timeout=timeout
    )


def wait_health(guest: Guest, timeout: float) -> float:
    """Monotonic time when /api/v1/health first answered from the host."""
    deadline = time.monotonic() + timeout
    url = f"{guest.http_base}/api/v1/health"
    while time.monotonic() < deadline:
        done = host(guest, "curl", "-sf", "--max-time", "5", url)
        if done.returncode == 0 and json.loads(done.stdout) == {"status": "ok"}:
            return time.monotonic()
        time.sleep(2)
    raise GuestError(f"{url} did not answer within {timeout:.0f} s\n{guest.console_tail()}")


@dataclass
class Api:
    guest: Guest
    token: str = ""

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        cmd = [
            "curl",
            "-s",
            "--max-time",
            "10",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
            f"{self.guest.http_base}/api/v1{path}",
        ]
        if self.token:
            cmd += ["-H", f"Authorization: Bearer {self.token}"]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
        done = host(self.guest, *cmd)
        text, _, status = done.stdout.rpartition("\n")
        return int(status or 0), json.loads(text) if text.strip() else {}

    def login(self, password: str) -> Api:
        status, body = self.call("POST", "/auth/login", {"username": "admin", "password": password})
        assert status == 200, body
        self.token = body["token"]
        return self


def test_the_console_asks_root_for_a_password(product: Guest) -> None:
    # the product ships root locked with no auto-login; the test copy got a provisioned hash
    assert not product.autologin, "the serial console logged root in without a password"


def test_systemd_is_running_with_a_readonly_squashfs_root(product: Guest) -> None:
    state = product.check("systemctl is-system-running --wait; true", timeout=300).split()[-1]
    failed = product.check("systemctl --failed --no-legend --plain")
    assert state == "running", f"system {state}; failed units:\n{failed}"
    source, fstype, options = product.check("findmnt -n -o SOURCE,FSTYPE,OPTIONS /").split()
    assert fstype == "squashfs" and "ro" in options.split(","), (source, fstype, options)
    status, output = product.run("touch /usr/probe")
    assert status != 0 and "Read-only file system" in output


def test_pbxd_is_active_and_answers_from_the_host(product: Guest) -> None:
    assert product.check("systemctl is-active pbxd") == "active"
    done = host(product, "curl", "-sf", f"{product.http_base}/api/v1/health")
    assert done.returncode == 0 and json.loads(done.stdout) == {"status": "ok"}, done
    # the boot that got there is marked good
    assert product.check("systemctl is-active coocenter-mark-good") == "active"
    slot = product.check("slotctl get-current")
    assert f"BOOT_{slot}_LEFT=3" in product.check("slotctl status")


def test_the_web_console_is_served_from_the_image(product: Guest) -> None:
    """GET / gives the console's page (from /usr/share/coocenter/ui), and its script loads."""
    page = host(product, "curl", "-sf", f"{product.http_base}/")
    assert page.returncode == 0 and "<html" in page.stdout, page
    assert "default-src 'self'" in host(product, "curl", "-sI", f"{product.http_base}/").stdout
    scripts = re.findall(r'src="(/ui/[^"]+\.js)"', page.stdout)
    assert scripts, page.stdout
    script = host(product, "curl", "-sf", "-o", "/dev/null", "-w", "%{http_code}",
                  f"{product.http_base}{scripts[0]}")  # fmt: skip
    assert script.stdout == "200", script
    console = "/usr/share/coocenter/ui/index.html"
    assert product.check(f"ls {console}") == console


def test_first_boot_made_the_device_secrets_in_data(product: Guest, built_image: Path) -> None:
    keys = product.check("ls /data/ssh").split()
    assert {"ssh_host_ed25519_key", "ssh_host_ecdsa_key"} <= set(keys), keys
    assert product.check("stat -c %a /data/ssh/ssh_host_ed25519_key") == "600"
    status, output = product.run("ls /etc/ssh/ssh_host_*")
    assert status != 0, f"host keys in the image's /etc/ssh: {output}"
    hostkeys = product.check("sshd -T 2>/dev/null | grep -i '^hostkey '")
    assert "/data/ssh/ssh_host_ed25519_key" in hostkeys, hostkeys
    assert product.check("systemctl is-active ssh") == "active"
    subject = product.check("openssl x509 -in /data/tls/device.crt -noout -subject")
    assert "coocenter-s10" in subject, subject
    assert product.check("stat -c %a /data/tls/device.key") in {"600", "640"}
    password_file = "/data/pbxd/admin-password"
    assert product.check(f"stat -c '%a %U' {password_file}") == "600 pbxd"
    assert product.check("cat /data/etc/machine-id") == product.check("cat /etc/machine-id")
    # and none of it is in the image every device gets
    listing = subprocess.run(
        ["unsquashfs", "-l", str(built_image.parent / "rootfs.squashfs")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ssh_host_" not in listing and "device.key" not in listing
    assert (
        subprocess.run(
            ["unsquashfs", "-cat", str(built_image.parent / "rootfs.squashfs"), "etc/machine-id"],
            capture_output=True,
        ).stdout.strip()
        == b""
    )


class NamespacePhone(PjsuaPhone):
    """The integration tests' pjsua2 phone, run where the guest's forwards are."""

    guest: Guest | None = None

    def command_line(self) -> list[str]:
        assert self.guest is not None
        return self.guest.host_command(super().command_line())


def test_a_phone_on_the_host_registers_and_calls_with_audio(product: Guest, tmp_path: Path) -> None:
    admin_password = product.check("cat /data/pbxd/admin-password")
    api = Api(product).login(admin_password)
    for number in ("3001", "3002"):
        status, body = api.call(
            "POST",
            "/extensions",
            {"number": number, "name": f"QEMU {number}", "secret": f"Secret-{number}"},
        )
        assert status == 201, body
    low_tone = write_tone(tmp_path / "440.wav", 440, 2.0)
    high_tone = write_tone(tmp_path / "1000.wav", 1000, 2.0)
    caller_heard, callee_heard = tmp_path / "3001-heard.wav", tmp_path / "3002-heard.wav"
    registrar = f"{GUEST_ADDRESS}:{product.forwards.sip}"
    NamespacePhone.guest = product
    callee = NamespacePhone(
        "3002",
        "Secret-3002",
        registrar=registrar,
        play=high_tone,
        record=callee_heard,
        log_dir=tmp_path,
    )
    caller = NamespacePhone(
        "3001",
        "Secret-3001",
        registrar=registrar,
        play=low_tone,
        record=caller_heard,
        log_dir=tmp_path,
        hangup_after=TALK_SECONDS,
    )
    try:
        callee.start()
        caller.start()
        callee.wait_registered(timeout=20)
        caller.wait_registered(timeout=20)
        caller.call("3002")
        callee.wait_for("incoming_call", timeout=20)
        caller.wait_for("call_state", timeout=20, where=lambda e: e["state"] == "CONFIRMED")
        caller.wait_for("call_ended", timeout=TALK_SECONDS + 20)
        callee.wait_for("call_ended", timeout=20)
    finally:
        stop_phones(caller, callee)
    for phone, recording, expected in (
        (callee, callee_heard, 440.0),
        (caller, caller_heard, 1000.0),
    ):
        assert wav_seconds(recording) >= TALK_SECONDS - 1.0, phone.diagnostics()
        assert rms(recording, skip_seconds=0.5) > 0.05, f"{recording} is silent"
        heard = dominant_frequency(recording, skip_seconds=0.5)
        assert abs(heard - expected) <= TOLERANCE_HZ, (
            f"{phone.user} heard {heard:.1f} Hz through the guest, expected {expected} Hz"
        )


def test_pbxd_loaded_aiortc_at_start(product: Guest) -> None:
    """pbxd imports aiortc in the background at start (daemon.import_webrtc): its process then
    maps PyAV's FFmpeg and pylibsrtp's libsrtp2, and it never logged "no WebRTC". (pbxd's
    status API does not say whether WebRTC is available.)"""
    pid = product.check("systemctl show -p MainPID --value pbxd")
    assert pid.isdigit() and pid != "0", pid
    deadline = time.monotonic() + WEBRTC_IMPORT_SECONDS
    maps = ""
    while time.monotonic() < deadline:
        maps = product.check(
            f"grep -o -e 'libavcodec[^/]*' -e 'libsrtp2[^/]*' /proc/{pid}/maps | sort -u; true"
        )
        if "libavcodec" in maps and "libsrtp2" in maps:
            break
        time.sleep(2)
    journal = product.check("journalctl -b -u pbxd -o cat --no-pager | grep -i webrtc; true")
    assert "no WebRTC" not in journal, journal
    assert "libavcodec" in maps and "libsrtp2" in maps, (
        f"pbxd (pid {pid}) has not loaded aiortc within {WEBRTC_IMPORT_SECONDS} s: {maps!r}"
    )
    print(f"\npbxd with aiortc loaded: {product.check(f'grep VmRSS /proc/{pid}/status')}")


def test_aiortc_carries_opus_between_two_peer_connections_in_the_guest(product: Guest) -> None:
    """Debian's python3-aiortc on arm64: two peer connections in one process (no STUN) get
    ICE + DTLS-SRTP up, Opus carries a sine, the receiver decodes it at 48 kHz and an FFT of
    what it heard finds the sine's frequency."""
    script = Path(__file__).with_name("webrtc_loopback.py").read_bytes()
    product.write_file("/tmp/webrtc_loopback.py", script)
    started = time.monotonic()
    output = product.check(
        f"python3 /tmp/webrtc_loopback.py --frequency {WEBRTC_TONE_HZ} "
        f"--seconds {WEBRTC_SECONDS} --timeout 240",
        timeout=300,
    )
    took = time.monotonic() - started
    result = json.loads(output.splitlines()[-1])
    print(f"\naiortc in the guest ({took:.1f} s in all): {json.dumps(result)}")
    assert result["states"] == ["connected", "connected"], result
    assert result["codec"] == "opus/48000/2", result
    assert result["decoded_rates"] == [48000], result
    assert result["candidates"], result  # host candidates of the guest's own interfaces
    assert result["seconds_analysed"] >= WEBRTC_SECONDS - 0.1, result
    assert result["rms"] > 0.05, f"the receiver decoded silence: {result}"
    assert abs(result["frequency"] - WEBRTC_TONE_HZ) <= TOLERANCE_HZ, result
    assert result["tone_share"] > 0.9, f"the decoded audio is not a clean tone: {result}"
    # pbxd reads browsers' RFC 4733 digits through this private aiortc method
    assert result["dtmf_hook"] == ["self", "data", "arrival_time_ms"], result


def test_secrets_and_data_survive_a_reboot(product: Guest) -> None:
    before = product.check(
        "ssh-keygen -l -f /data/ssh/ssh_host_ed25519_key.pub; "
        "cat /etc/machine-id /data/pbxd/admin-password"
    )
    product.check("echo kept > /data/probe && sync")
    product.reboot()
    sequence = product.wait_boot(timeout=600)
    record_boot("product, reboot", sequence)
    product.login()
    after = product.check(
        "ssh-keygen -l -f /data/ssh/ssh_host_ed25519_key.pub; "
        "cat /etc/machine-id /data/pbxd/admin-password"
    )
    assert after == before
    assert product.check("cat /data/probe") == "kept"
    wait_health(product, timeout=600)
