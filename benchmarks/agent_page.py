"""The agent page: screen pop latency and WebRTC call setup, in real Chromium.

A pbxd with the web console; agent 3701 logged in to the agent page in headless Chromium
(fake microphone), its softphone registered over /ws. A desk phone (pjsua2) is registered on
the same extension: every call forks to both, so each call gives the page's figure and the
desk phone's beside it, in the same run. A caller (pjsua2, 3700) calls 3701 `calls` times:

- pop: from the moment pbxd logs the authenticated INVITE ("call N: 3700 -> 3701") to the
  screen pop (name, masked number, previous calls) visible in the page. Peer: the same
  INVITE's arrival at the desk phone (its "incoming call"), i.e. pbxd's forking alone.
- WebRTC setup: from the agent's click on "answer" to the browser's RTCPeerConnection
  "connected" (ICE + DTLS up). Peer: from the click to the caller's SIP session confirmed
  (the 200 OK), i.e. the signalling alone.

The desk phone refuses every call (486) once it rang, so that the page answers. Wall clock
throughout (one machine): the page's performance.timeOrigin + now(), pjsua's time.time(),
pbxd's log timestamps (milliseconds).

    python -m benchmarks --only agent        (or: python -m benchmarks.agent_page)
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

CALLER, AGENT = "3700", "3701"
AGENT_USER, AGENT_PASSWORD = "bench-agent", "bench-agent-Pw1"
SECRET = "Bench-secret-{}"
CHROMIUM = Path("/usr/bin/chromium")

# Test-side instrumentation (the product page has none): when each RTCPeerConnection of the
# page reaches "connected", and when the pop appeared.
PAGE_PROBES = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__connectedAt = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') {
        window.__connectedAt.push(performance.timeOrigin + performance.now());
      }
    });
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
  window.__popAt = null;
  new MutationObserver(() => {
    if (window.__popAt === null && document.querySelector('[data-testid=screen-pop-customer]')) {
      window.__popAt = performance.timeOrigin + performance.now();
    }
  }).observe(document, { childList: true, subtree: true });
})();
"""
CLICK_ANSWER = """() => {
  window.__popAt = null;
  const at = performance.timeOrigin + performance.now();
  document.querySelector('[data-testid=softphone-answer]').click();
  return at;
}"""
LOG_TIME = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO pbxd\.call\.b2bua: call (\d+): "
)


@dataclass
class Samples:
    pop_ms: list[float] = field(default_factory=list)
    desk_ring_ms: list[float] = field(default_factory=list)
    webrtc_setup_ms: list[float] = field(default_factory=list)
    sip_confirm_ms: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class AgentPageResult:
    samples: Samples | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.samples is not None and bool(self.samples.pop_ms)

    def result_lines(self) -> list[str]:
        if self.samples is None:
            return [
                f"RESULT {name} n/a ms peer=n/a ratio=n/a"
                for name in ("screen_pop_p50", "screen_pop_p95", "webrtc_setup_p50")
            ] + [f"error: {self.error}"]
        s = self.samples
        lines = []
        for name, ours, peer in (
            ("screen_pop_p50", percentile(s.pop_ms, 0.5), percentile(s.desk_ring_ms, 0.5)),
            ("screen_pop_p95", percentile(s.pop_ms, 0.95), percentile(s.desk_ring_ms, 0.95)),
            ("webrtc_setup_p50", percentile(s.webrtc_setup_ms, 0.5),
             percentile(s.sip_confirm_ms, 0.5)),
            ("webrtc_setup_p95", percentile(s.webrtc_setup_ms, 0.95),
             percentile(s.sip_confirm_ms, 0.95)),
        ):  # fmt: skip
            lines.append(f"RESULT {name} {ours:.1f} ms peer={peer:.1f} ratio={ours / peer:.2f}")
        return lines


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def log_times(log_path: Path) -> dict[int, float]:
    """pbxd's call number -> wall time of its "call N: a -> b" line."""
    times = {}
    for line in log_path.read_text(errors="replace").splitlines():
        found = LOG_TIME.match(line)
        if found:
            moment = datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f")
            times[int(found.group(2))] = moment.timestamp()
    return times


def wait(what: str, check: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.01)
    return value


def run(calls: int = 30, log: Callable[[str], None] = print) -> AgentPageResult:
    # The test harness starts pbxd and the phones: the same code the browser tests trust.
    from playwright.sync_api import sync_playwright

    from tests.integration.pbxd_process import PbxdProcess
    from tests.integration.peers.pjsua_phone import PjsuaPhone, stop_phones
    from tools.ui.build import build

    work = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    ui_dir = build(work / "ui", report=lambda line: None)
    pbxd = PbxdProcess(work / "pbxd", extra_args=["--ui-dir", str(ui_dir)]).start()
    samples = Samples()
    caller = desk = None
    try:
        for number in (CALLER, AGENT):
            pbxd.create_extension(number, SECRET.format(number))
        body = {"username": AGENT_USER, "password": AGENT_PASSWORD, "role": "agent",
                "extension": AGENT}  # fmt: skip
        pbxd.api("POST", "/api/v1/users", body, expect=201)
        phones = dict(registrar=pbxd.sip_address, log_dir=work, timeout=60.0 + 4 * calls)
        desk = PjsuaPhone(AGENT, SECRET.format(AGENT), answer_code=486, ring_seconds=0.1,
                          **phones).start()  # fmt: skip
        caller = PjsuaPhone(CALLER, SECRET.format(CALLER), **phones).start()
        desk.wait_registered()
        caller.wait_registered()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                headless=True,
                args=["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                      "--allow-loopback-in-peer-connection"],
            )  # fmt: skip
            page = browser.new_context(base_url=pbxd.base_url).new_page()
            page.add_init_script(PAGE_PROBES)
            page.goto("/")
            page.fill("#login-username", AGENT_USER)
            page.fill("#login-password", AGENT_PASSWORD)
            page.click("[data-testid=login-form] button[type=submit]")
            page.wait_for_selector("[data-testid=softphone-registration][data-state=registered]")
            for index in range(calls):
                one_call(page, pbxd, caller, desk, samples)
                log(f"agent page call {index + 1}/{calls}: pop {samples.pop_ms[-1]:.0f} ms, "
                    f"WebRTC setup {samples.webrtc_setup_ms[-1]:.0f} ms")  # fmt: skip
            browser.close()
    except Exception as exc:  # a figure that cannot be measured is n/a, with the reason
        return AgentPageResult(None, f"{type(exc).__name__}: {exc}")
    finally:
        stop_phones(*(p for p in (caller, desk) if p is not None))
        pbxd.stop()
    return AgentPageResult(samples)


def one_call(page, pbxd, caller, desk, samples: Samples) -> None:
    caller.forget_events()
    desk.forget_events()
    known = set(log_times(pbxd.log_path))
    page.evaluate("() => { window.__popAt = null; window.__connectedAt = []; }")
    caller.call(AGENT)
    rung = desk.wait_for("incoming_call", timeout=10)
    page.wait_for_selector("[data-testid=softphone-answer]")
    pop_at = wait("pop", lambda: page.evaluate("() => window.__popAt"))

    def new_log_line() -> list[float]:
        return [t for n, t in log_times(pbxd.log_path).items() if n not in known]

    invite_at = wait("pbxd's log line", new_log_line)[0]
    clicked = page.evaluate(CLICK_ANSWER)
    connected = wait("ICE + DTLS", lambda: page.evaluate("() => window.__connectedAt[0]"))
    confirmed = caller.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
    samples.pop_ms.append(pop_at - invite_at * 1000)
    samples.desk_ring_ms.append((rung["wall"] - invite_at) * 1000)
    samples.webrtc_setup_ms.append(connected - clicked)
    samples.sip_confirm_ms.append(confirmed["wall"] * 1000 - clicked)
    page.click("[data-testid=softphone-hangup]")
    caller.wait_for("call_ended", timeout=10)
    page.wait_for_selector("[data-testid=softphone-call]")  # the dialer again: next call


def main() -> int:
    result = run()
    for line in result.result_lines():
        print(line)
    if result.samples is not None:
        print(f"(pop median {statistics.median(result.samples.pop_ms):.1f} ms over "
              f"{len(result.samples.pop_ms)} calls; aim: under 200 ms)")  # fmt: skip
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
