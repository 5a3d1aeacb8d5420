"""pbxd's media engine alone, for the recording row of the media benchmark.

`python -m benchmarks.media_harness --control-port P --rtp-ports LOW-HIGH --record-dir DIR`

Call recording cannot be switched on through pbxd's SIP or API yet (issue 5 adds the
recording policy), so this process runs what pbxd runs for the media of a call, without
SIP: the same `MediaEngine` and `MediaFactory` (pbxd/media/engine.py, session.py), the
same SDP path (`CallMedia.offer_from("caller")`, `answer_from("callee")`), the same event
loop (uvloop when installed, as pbxd's cli chooses), `gc.freeze()` after start-up as pbxd
does; then `engine.record(bridge, path, format, channels)` on each call's bridge. The load
generator streams to it over UDP exactly as it does to pbxd.

Control: one TCP connection on 127.0.0.1:P, one JSON object per line each way.
  {"op": "add", "calls": [{"caller_sdp", "callee_sdp"}], "record": true}
      -> {"calls": [{"id", "caller_answer", "callee_offer"}]}   (pbxd's SDP bodies)
  {"op": "drop", "ids": [...]}   -> {"dropped": n}   (recordings completed and renamed)
  {"op": "status"}               -> {"endpoints", "ticks", "late_ticks", "recorded_bytes"}
  {"op": "quit"}
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
from pathlib import Path

from pbxd.media.engine import MediaEngine
from pbxd.media.ports import PortAllocator, parse_port_range
from pbxd.media.recorder import FORMATS
from pbxd.media.session import CallMedia, MediaFactory

LOOPBACK = "127.0.0.1"
log = logging.getLogger("media_harness")


class Harness:
    def __init__(self, rtp_ports: tuple[int, int], record_dir: Path, fmt: str, channels: int):
        # pbxd's default dead-media check (60 s) runs too: its cost per tick is part of the work.
        self.engine = MediaEngine(LOOPBACK, PortAllocator(*rtp_ports), media_timeout=60.0)
        self.factory = MediaFactory(self.engine)
        self.record_dir = record_dir
        self.format = fmt
        self.channels = channels
        self.calls: dict[int, CallMedia] = {}
        self._next_id = 1
        self.recorded_bytes = 0

    async def add(self, calls: list[dict], record: bool) -> list[dict]:
        made = []
        for spec in calls:
            media = await self.factory.create(LOOPBACK, LOOPBACK)
            callee_offer = media.offer_from("caller", spec["caller_sdp"].encode())
            caller_answer = media.answer_from("callee", spec["callee_sdp"].encode())
            call_id = self._next_id
            self._next_id += 1
            if record:
                bridge = media.endpoints["caller"].bridge
                assert bridge is not None
                path = self.record_dir / f"call-{call_id}.wav"
                self.engine.record(bridge, path, self.format, channels=self.channels)
            self.calls[call_id] = media
            made.append(
                {
                    "id": call_id,
                    "caller_answer": caller_answer.decode(),
                    "callee_offer": callee_offer.decode(),
                }
            )
        return made

    def drop(self, ids: list[int]) -> int:
        dropped = 0
        for call_id in ids:
            media = self.calls.pop(call_id, None)
            if media is None:
                continue
            bridge = media.endpoints["caller"].bridge
            recorders = [r for r, _ in bridge.recorders] if bridge is not None else []
            media.close()  # unbridge closes the recorders: header, fsync, rename
            for recorder in recorders:
                self.recorded_bytes += recorder.path.stat().st_size if recorder.path.exists() else 0
                recorder.path.unlink(missing_ok=True)  # keep the disk from filling up
            dropped += 1
        return dropped

    def status(self) -> dict:
        return {
            "endpoints": len(self.engine.endpoints),
            "ticks": self.engine.ticks,
            "late_ticks": self.engine.late_ticks,
            # Completed recordings (deleted once counted) plus what the open ones hold on disk.
            "recorded_bytes": self.recorded_bytes
            + sum(entry.stat().st_size for entry in os.scandir(self.record_dir)),
        }


async def serve(args: argparse.Namespace) -> None:
    harness = Harness(args.rtp_ports, args.record_dir, args.format, args.channels)
    done = asyncio.Event()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not done.is_set():
            line = await reader.readline()
            if not line:
                break
            request = json.loads(line)
            op = request.get("op")
            try:
                if op == "add":
                    reply = {"calls": await harness.add(request["calls"], request.get("record"))}
                elif op == "drop":
                    reply = {"dropped": harness.drop(request["ids"])}
                elif op == "status":
                    reply = harness.status()
                elif op == "quit":
                    harness.drop(list(harness.calls))
                    reply = {"bye": True}
                    done.set()
                else:
                    reply = {"error": f"unknown op {op!r}"}
            except Exception as exc:  # reported to the benchmark, which prints it
                log.exception("harness %s failed", op)
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        writer.close()
        done.set()

    server = await asyncio.start_server(client, LOOPBACK, args.control_port)
    gc.freeze()  # as pbxd does after start-up
    print(f"harness ready on {LOOPBACK}:{args.control_port}", flush=True)
    async with server:
        await done.wait()
    harness.engine.close()


def _loop_factory():
    """The loop pbxd's cli chooses: uvloop when installed."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.media_harness")
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--rtp-ports", type=parse_port_range, required=True)
    parser.add_argument("--record-dir", type=Path, required=True)
    parser.add_argument("--format", choices=FORMATS, default="wav-pcm16")
    parser.add_argument("--channels", type=int, choices=(1, 2), default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    args.record_dir.mkdir(parents=True, exist_ok=True)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
