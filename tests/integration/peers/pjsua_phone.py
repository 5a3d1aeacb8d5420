"""A pjsua2 softphone run as a child process, and the handle tests use to drive it.

pjsua2 starts its own threads and its Python objects must be torn down in a strict order, so
it never runs inside the pytest process. The child (`python pjsua_phone.py --user ...`) takes
its set-up as CLI arguments, reads JSON-line commands on stdin and writes JSON-line events on
stdout. It uses the null sound device, plays a WAV file into every call, records what it
receives into another WAV, and exits by itself at a hard timeout.

Events (one JSON object a line, "event" names it, "t" is seconds since the child started,
"wall" the wall clock (epoch seconds), to order events of several phones and pbxd's logs):
    ready           {"transport", "port"}            transport bound, account created
    registration    {"code", "reason", "expires", "active"}
    incoming_call   {"remote_uri", "call_id"}
    call_state      {"state", "code", "reason", "role"}   CALLING, EARLY, CONNECTING, CONFIRMED, ...
    media_active    {"codec"}                        audio flowing; player and recorder attached
    media_state     {"status"}                       active, local_hold, remote_hold, none, error
    call_ended      {"code", "reason", "connect_duration", "total_duration", "measured_seconds"}
    request         {"method"}                       an in-call request received: CANCEL, BYE ...
    error           {"message"}
    exit            {"reason"}
Commands: {"cmd": "call", "target": "1002" | "sip:..."}, {"cmd": "answer", "code": 200},
{"cmd": "hangup", "code": 603}, {"cmd": "hold"}, {"cmd": "unhold"}, {"cmd": "quit"},
{"cmd": "dtmf", "digits": "12#"} (RFC 4733 in the media).
Closing stdin also means quit.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --------------------------------------------------------------------------------------------
# Test-side handle (runs in the pytest process; never imports pjsua2)
# --------------------------------------------------------------------------------------------


class PhoneError(AssertionError):
    """The phone did not report what the test waited for; carries its event and SIP log."""


@dataclass
class PjsuaPhone:
    """Drive one softphone child process. Use as a context manager or call start()/stop()."""

    user: str
    password: str = ""
    registrar: str | None = None  # "host:port"; None: no registration (direct calls)
    transport: str = "udp"
    play: Path | None = None
    record: Path | None = None
    log_dir: Path | None = None  # pjsua log + the child's stderr; a temp dir when None
    answer_code: int = 200  # what an incoming call is answered with (486: busy)
    ring_seconds: float = 0.2  # 180 Ringing this long before answering
    hangup_after: float | None = None  # seconds after CONFIRMED
    quit_after_call: bool = False
    timeout: float = 60.0  # the child exits by itself after this many seconds
    rtp_port: int = 0  # 0: picked by pjsua from its default range
    codecs: str = "PCMU,PCMA"
    events: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._consumed: set[int] = set()  # indices of events wait_for() returned
        self.port: int | None = None
        if self.log_dir is None:
            self.log_dir = Path(tempfile.mkdtemp(prefix=f"pjsua-{self.user}-"))

    # -- life cycle --------------------------------------------------------------------------

    def command_line(self) -> list[str]:
        args = [sys.executable, str(Path(__file__).resolve()), "--user", self.user]
        args += ["--transport", self.transport, "--timeout", str(self.timeout)]
        args += ["--answer-code", str(self.answer_code), "--ring-seconds", str(self.ring_seconds)]
        args += ["--codecs", self.codecs, "--rtp-port", str(self.rtp_port)]
        if self.password:
            args += ["--password", self.password]
        if self.registrar:
            args += ["--registrar", self.registrar]
        if self.play:
            args += ["--play", str(self.play)]
        if self.record:
            args += ["--record", str(self.record)]
        if self.hangup_after is not None:
            args += ["--hangup-after", str(self.hangup_after)]
        if self.quit_after_call:
            args.append("--quit-after-call")
        args += ["--log-file", str(self.log_path)]
        return args

    @property
    def log_path(self) -> Path:
        assert self.log_dir is not None
        return self.log_dir / f"pjsua-{self.user}.log"

    @property
    def stderr_path(self) -> Path:
        assert self.log_dir is not None
        return self.log_dir / f"pjsua-{self.user}.stderr"

    def start(self, ready_timeout: float = 10.0) -> PjsuaPhone:
        assert self.log_dir is not None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._stderr = open(self.stderr_path, "w")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            self.command_line(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._read_events, daemon=True).start()
        ready = self.wait_for("ready", timeout=ready_timeout)
        self.port = ready["port"]
        return self

    def _read_events(self) -> None:
        assert self._proc and self._proc.stdout
        for line in self._proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = {"event": "garbage", "line": line}
            self._queue.put(event)
        self._queue.put(None)  # end of stream: the child exited

    def send(self, cmd: str, **params: Any) -> None:
        assert self._proc and self._proc.stdin, "phone not started"
        try:
            self._proc.stdin.write(json.dumps({"cmd": cmd, **params}) + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise PhoneError(f"phone {self.user} is gone: {exc}\n{self.diagnostics()}") from exc

    def stop(self, timeout: float = 8.0) -> int | None:
        """Ask the child to quit (it hangs up, unregisters, closes the WAV); kill if it hangs."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                self.send("quit")
                proc.stdin.close()  # type: ignore[union-attr]
            except (PhoneError, OSError):
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._drain()
        self._stderr.close()
        return proc.returncode

    def __enter__(self) -> PjsuaPhone:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- events ------------------------------------------------------------------------------

    def _drain(self) -> None:
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                return
            if event is not None:
                self.events.append(event)

    def wait_for(
        self,
        name: str,
        timeout: float = 10.0,
        where: Callable[[dict[str, Any]], bool] = lambda _e: True,
    ) -> dict[str, Any]:
        """Return the oldest event called `name` that satisfies `where` and that no earlier
        wait_for() returned, waiting up to `timeout` seconds for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if index not in self._consumed and event.get("event") == name and where(event):
                    self._consumed.add(index)
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PhoneError(
                    f"phone {self.user}: no {name!r} in {timeout} s\n" + self.diagnostics()
                )
            try:
                event = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if event is None:
                self._queue.put(None)  # keep signalling end-of-stream to later waits
                if self._proc is not None:
                    self._proc.wait(5)
                raise PhoneError(f"phone {self.user} exited before {name!r}\n" + self.diagnostics())
            self.events.append(event)

    def seen(
        self, name: str, where: Callable[[dict[str, Any]], bool] = lambda _e: True
    ) -> list[dict[str, Any]]:
        """Every event called `name` that arrived so far (whether wait_for() returned it or
        not), oldest first; does not wait."""
        ended = False
        while True:
            try:
                event = self._queue.get_nowait()
            except queue.Empty:
                break
            if event is None:
                ended = True
            else:
                self.events.append(event)
        if ended:
            self._queue.put(None)  # later waits still learn that the child exited
        return [e for e in self.events if e.get("event") == name and where(e)]

    def wait_registered(self, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the registrar's final answer; raise unless it is 200 with a binding."""
        event = self.wait_for("registration", timeout, lambda e: e["code"] >= 200)
        if event["code"] != 200 or not event["active"]:
            raise PhoneError(
                f"phone {self.user}: registration failed: {event}\n" + self.diagnostics()
            )
        return event

    def call(self, target: str) -> None:
        self.send("call", target=target)

    def hangup(self, code: int = 603) -> None:
        self.send("hangup", code=code)

    def forget_events(self) -> None:
        """Start afresh for the next call: waits look only at events that come after this."""
        self._drain()
        self.events.clear()
        self._consumed.clear()

    def dtmf(self, digits: str) -> None:
        """Press keys in the call (RFC 4733 telephone-events)."""
        self.send("dtmf", digits=digits)

    def diagnostics(self, tail_chars: int = 6000) -> str:
        self._drain()
        lines = [f"--- events of {self.user} ---"] + [json.dumps(e) for e in self.events]
        for path in (self.stderr_path, self.log_path):
            text = path.read_text(errors="replace").strip() if path.exists() else ""
            if text:
                lines += [f"--- {path} (tail) ---", text[-tail_chars:]]
        return "\n".join(lines)


def stop_phones(*phones: PjsuaPhone, timeout: float = 8.0) -> None:
    """Stop several phones at once: each takes about a second to unregister and tear down."""
    for phone in phones:
        proc = phone._proc
        if proc is not None and proc.poll() is None:
            try:
                phone.send("quit")
            except PhoneError:
                pass
    for phone in phones:
        phone.stop(timeout)


def call_and_stay(
    phone: PjsuaPhone, number: str, seconds: float, answer_timeout: float = 10.0
) -> None:
    """Register `phone`, call `number`, stay on the line `seconds` once it is answered (a
    message left, prompts heard), hang up and stop the phone."""
    try:
        phone.start()
        phone.wait_registered()
        phone.call(number)
        phone.wait_for(
            "call_state", timeout=answer_timeout, where=lambda e: e["state"] == "CONFIRMED"
        )
        time.sleep(seconds)
        phone.hangup()
        phone.wait_for("call_ended", timeout=10)
    finally:
        stop_phones(phone)


# --------------------------------------------------------------------------------------------
# Child process (imports pjsua2)
# --------------------------------------------------------------------------------------------


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", default="")
    parser.add_argument("--registrar", help="host:port; omit for direct calls only")
    parser.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    parser.add_argument("--local-port", type=int, default=0)
    parser.add_argument("--rtp-port", type=int, default=0)
    parser.add_argument("--expires", type=int, default=300)
    parser.add_argument("--call", help="number (via the registrar) or full SIP URI")
    parser.add_argument("--play", help="WAV file looped into every call")
    parser.add_argument("--record", help="WAV file receiving what the far end sends")
    parser.add_argument("--answer-code", type=int, default=200)
    parser.add_argument("--ring-seconds", type=float, default=0.2)
    parser.add_argument("--hangup-after", type=float)
    parser.add_argument("--quit-after-call", action="store_true")
    parser.add_argument("--codecs", default="PCMU,PCMA", help="comma list; empty: pjsua's")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--log-file")
    parser.add_argument("--log-level", type=int, default=5)
    return parser.parse_args(argv)


def _child_main(argv: list[str]) -> int:
    args = _parse_args(argv)
    # Events go to the original stdout; anything pjsip prints goes to stderr instead.
    events_fd = os.dup(1)
    os.dup2(2, 1)
    started = time.monotonic()
    # Last resort if pjsua2 wedges in shutdown: SIGALRM's default action ends the process.
    signal.alarm(int(args.timeout) + 15)

    def emit(name: str, **fields: Any) -> None:
        record = {
            "event": name,
            "t": round(time.monotonic() - started, 3),
            "wall": round(time.time(), 3),
            **fields,
        }
        os.write(events_fd, (json.dumps(record) + "\n").encode())

    import pjsua2 as pj  # only the child may load pjsua2

    commands: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def read_commands() -> None:
        for line in sys.stdin:
            line = line.strip()
            if line:
                try:
                    commands.put(json.loads(line))
                except json.JSONDecodeError:
                    emit("error", message=f"bad command line: {line!r}")
        commands.put(None)

    quit_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: quit_requested.set())
    signal.signal(signal.SIGINT, lambda *_: quit_requested.set())
    threading.Thread(target=read_commands, daemon=True).start()

    state: dict[str, Any] = {
        "call": None,  # the one Call object alive at a time
        "connected_at": None,  # monotonic time of CONFIRMED
        "hangup_sent": False,
        "answer_at": None,  # when to send the final answer to an incoming call
        "ended": False,
    }
    media: dict[str, Any] = {"player": None, "recorder": None, "attached": False}

    ep = pj.Endpoint()
    ep.libCreate()
    ep_cfg = pj.EpConfig()
    # No pjsua worker threads: every callback runs in this thread, inside libHandleEvents().
    ep_cfg.uaConfig.threadCnt = 0
    ep_cfg.uaConfig.mainThreadOnly = True
    ep_cfg.uaConfig.userAgent = f"pbxd-test-pjsua2/{args.user}"
    ep_cfg.uaConfig.maxCalls = 4
    ep_cfg.logConfig.consoleLevel = 0
    ep_cfg.logConfig.level = args.log_level if args.log_file else 0
    ep_cfg.logConfig.msgLogging = bool(args.log_file)
    if args.log_file:
        ep_cfg.logConfig.filename = args.log_file
    ep_cfg.medConfig.noVad = True
    ep_cfg.medConfig.ecTailLen = 0
    ep_cfg.medConfig.clockRate = 16000
    ep.libInit(ep_cfg)

    tcfg = pj.TransportConfig()
    tcfg.boundAddress = "127.0.0.1"
    tcfg.publicAddress = "127.0.0.1"
    tcfg.port = args.local_port
    kind = pj.PJSIP_TRANSPORT_TCP if args.transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
    transport_id = ep.transportCreate(kind, tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    if args.codecs:
        wanted = [c.strip().upper() for c in args.codecs.split(",") if c.strip()]
        for codec in ep.codecEnum2():
            name = codec.codecId.split("/")[0].upper()
            priority = 255 - wanted.index(name) if name in wanted else 0
            ep.codecSetPriority(codec.codecId, priority)

    local_port = int(ep.transportGetInfo(transport_id).localName.rsplit(":", 1)[1])
    uri_params = ";transport=tcp" if args.transport == "tcp" else ""

    class Phone(pj.Account):
        def onRegState(self, prm: Any) -> None:  # pjsua2 callback names
            info = self.getInfo()
            emit(
                "registration",
                code=int(prm.code),
                reason=str(prm.reason),
                expires=int(prm.expiration),
                active=bool(info.regIsActive),
            )

        def onIncomingCall(self, prm: Any) -> None:
            call = PhoneCall(self, prm.callId)
            info = call.getInfo()
            emit("incoming_call", remote_uri=info.remoteUri, call_id=info.callIdString)
            op = pj.CallOpParam()
            if state["call"] is not None:  # one call at a time: a second caller hears busy
                op.statusCode = 486
                call.hangup(op)
                return
            state["call"] = call
            state["ended"] = False
            state["hangup_sent"] = False
            if args.answer_code == 200:
                op.statusCode = 180
                call.answer(op)
                state["answer_at"] = time.monotonic() + args.ring_seconds
            elif args.answer_code > 0:
                op.statusCode = args.answer_code
                call.hangup(op)

    MEDIA_STATUS = {
        pj.PJSUA_CALL_MEDIA_NONE: "none",
        pj.PJSUA_CALL_MEDIA_ACTIVE: "active",
        pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "local_hold",
        pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "remote_hold",
        pj.PJSUA_CALL_MEDIA_ERROR: "error",
    }

    class PhoneCall(pj.Call):
        def onCallState(self, prm: Any) -> None:
            info = self.getInfo()
            emit(
                "call_state",
                state=info.stateText,
                code=int(info.lastStatusCode),
                reason=str(info.lastReason),
                role="caller" if info.role == pj.PJSIP_ROLE_UAC else "callee",
            )
            if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
                state["connected_at"] = time.monotonic()
            elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                connected_at = state["connected_at"]
                measured = time.monotonic() - connected_at if connected_at else 0.0
                emit(
                    "call_ended",
                    code=int(info.lastStatusCode),
                    reason=str(info.lastReason),
                    connect_duration=info.connectDuration.sec + info.connectDuration.msec / 1000,
                    total_duration=info.totalDuration.sec + info.totalDuration.msec / 1000,
                    measured_seconds=round(measured, 3),
                )
                state["ended"] = True
                state["connected_at"] = None

        def onCallTsxState(self, prm: Any) -> None:
            # A request the far end sent in this call (CANCEL, BYE, re-INVITE, INFO ...), once,
            # when its server transaction starts; the initial INVITE is `incoming_call`.
            event = prm.e
            if event.type != pj.PJSIP_EVENT_TSX_STATE:
                return
            tsx = event.body.tsxState.tsx
            if tsx.role == pj.PJSIP_ROLE_UAS and tsx.state == pj.PJSIP_TSX_STATE_TRYING:
                emit("request", method=str(tsx.method))

        def onCallMediaState(self, prm: Any) -> None:
            info = self.getInfo()
            for index, mi in enumerate(info.media):
                if mi.type != pj.PJMEDIA_TYPE_AUDIO:
                    continue
                emit("media_state", status=MEDIA_STATUS.get(mi.status, str(mi.status)))
                if mi.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                    continue
                # an exception must not vanish inside the SWIG callback: report it
                try:
                    if media["attached"]:
                        # After a re-INVITE (hold, resume) the call's audio may be a new
                        # conference port: the same player and recorder are connected again.
                        reattach_media(self.getAudioMedia(index))
                        continue
                    media["attached"] = True
                    attach_media(self.getAudioMedia(index))
                    codec = self.getStreamInfo(index).codecName
                except pj.Error as exc:
                    emit("error", message=f"media: {exc.info()}")
                    continue
                emit("media_active", codec=codec)

    def attach_media(audio: Any) -> None:
        if args.play:
            player = pj.AudioMediaPlayer()
            player.createPlayer(args.play)  # loops by default
            player.startTransmit(audio)
            media["player"] = player
        if args.record:
            recorder = pj.AudioMediaRecorder()
            recorder.createRecorder(args.record)
            audio.startTransmit(recorder)
            media["recorder"] = recorder

    def reattach_media(audio: Any) -> None:
        if media["player"] is not None:
            media["player"].startTransmit(audio)
        if media["recorder"] is not None:
            audio.startTransmit(media["recorder"])

    def release_media() -> None:
        # Closing the recorder writes the WAV header's final sizes.
        media["player"] = None
        media["recorder"] = None
        media["attached"] = False

    def target_uri(target: str) -> str:
        if target.startswith(("sip:", "sips:")):
            return target
        if not args.registrar:
            raise ValueError(f"bare number {target!r} needs --registrar")
        return f"sip:{target}@{args.registrar}{uri_params}"

    def place_call(target: str) -> None:
        if state["call"] is not None:
            emit("error", message="already in a call")
            return
        call = PhoneCall(state["account"])
        state["call"] = call
        state["ended"] = False
        state["hangup_sent"] = False
        call.makeCall(target_uri(target), pj.CallOpParam(True))

    def hangup(code: int = 603) -> None:
        call = state["call"]
        if call is not None and not state["ended"]:
            state["hangup_sent"] = True
            op = pj.CallOpParam()
            op.statusCode = code
            try:
                call.hangup(op)
            except pj.Error as exc:
                emit("error", message=f"hangup: {exc.info()}")

    def hold(on: bool) -> None:
        """A re-INVITE that puts the call on hold (sendonly) or takes it off (sendrecv)."""
        call = state["call"]
        if call is None or state["ended"]:
            emit("error", message="no call to (un)hold")
            return
        op = pj.CallOpParam(True)
        if on:
            call.setHold(op)
        else:
            op.opt.flag = pj.PJSUA_CALL_UNHOLD
            call.reinvite(op)

    acc_cfg = pj.AccountConfig()
    host = args.registrar or "127.0.0.1"
    acc_cfg.idUri = f"sip:{args.user}@{host}"
    if args.registrar:
        acc_cfg.regConfig.registrarUri = f"sip:{args.registrar}{uri_params}"
        acc_cfg.regConfig.timeoutSec = args.expires
        acc_cfg.regConfig.retryIntervalSec = 0  # a failed registration stays failed
        acc_cfg.regConfig.unregWaitMsec = 1000
    else:
        acc_cfg.regConfig.registerOnAdd = False
    if args.password:
        acc_cfg.sipConfig.authCreds.append(
            pj.AuthCredInfo("digest", "*", args.user, 0, args.password)
        )
    acc_cfg.sipConfig.transportId = transport_id
    # Loopback only: no NAT tricks, no RFC 5626 outbound, plain Contact and Via.
    acc_cfg.natConfig.sipOutboundUse = 0
    acc_cfg.natConfig.contactRewriteUse = 0
    acc_cfg.natConfig.viaRewriteUse = 0
    acc_cfg.natConfig.sdpNatRewriteUse = 0
    acc_cfg.natConfig.udpKaIntervalSec = 0
    acc_cfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acc_cfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
    if args.rtp_port:
        acc_cfg.mediaConfig.transportConfig.port = args.rtp_port
        acc_cfg.mediaConfig.transportConfig.portRange = 100
    state["account"] = Phone()
    state["account"].create(acc_cfg)
    emit("ready", transport=args.transport, port=local_port)

    exit_reason = "timeout"
    deadline = started + args.timeout
    try:
        if args.call:
            place_call(args.call)
        while time.monotonic() < deadline:
            ep.libHandleEvents(20)
            if quit_requested.is_set():
                exit_reason = "signal"
                break
            now = time.monotonic()
            if state["answer_at"] is not None and now >= state["answer_at"]:
                state["answer_at"] = None
                if state["call"] is not None and not state["ended"]:
                    op = pj.CallOpParam()
                    op.statusCode = 200
                    state["call"].answer(op)
            if (
                args.hangup_after is not None
                and state["connected_at"] is not None
                and not state["hangup_sent"]
                and now - state["connected_at"] >= args.hangup_after
            ):
                hangup()
            if state["ended"] and state["call"] is not None:
                state["call"] = None
                release_media()
                if args.quit_after_call:
                    exit_reason = "call ended"
                    break
            try:
                command = commands.get_nowait()
            except queue.Empty:
                continue
            if command is None or command.get("cmd") == "quit":
                exit_reason = "quit"
                break
            try:
                if command["cmd"] == "call":
                    place_call(str(command["target"]))
                elif command["cmd"] == "hangup":
                    hangup(int(command.get("code", 603)))
                elif command["cmd"] in ("hold", "unhold"):
                    hold(command["cmd"] == "hold")
                elif command["cmd"] == "dtmf":
                    call = state["call"]
                    if call is None:
                        raise ValueError("no call to send digits in")
                    call.dialDtmf(str(command["digits"]))
                elif command["cmd"] == "answer":
                    call = state["call"]
                    if call is not None:
                        op = pj.CallOpParam()
                        op.statusCode = int(command.get("code", 200))
                        call.answer(op)
                else:
                    emit("error", message=f"unknown command {command!r}")
            except (pj.Error, KeyError, ValueError) as exc:
                text = exc.info() if isinstance(exc, pj.Error) else str(exc)
                emit("error", message=f"{command.get('cmd')}: {text}")
    finally:
        # Orderly teardown: calls, then media ports, then the account, then the library.
        if state["call"] is not None and not state["ended"]:
            hangup()
            until = time.monotonic() + 2.0
            while not state["ended"] and time.monotonic() < until:
                ep.libHandleEvents(20)
        state["call"] = None
        release_media()
        try:
            state["account"].shutdown()  # unregisters
        except pj.Error:
            pass
        state["account"] = None
        ep.libHandleEvents(50)
        ep.libDestroy()
        del ep
        emit("exit", reason=exit_reason)
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
