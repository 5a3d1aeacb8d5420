"""Screen pop latency (issue 7): `ScreenPopService.pop` on a database of 100k call records,
side by side with a naive full-scan query of the same content in the same run.

    .venv/bin/python -m benchmarks.screenpop_bench [--rows 100000] [--numbers 200] [--rounds 5]

The database is a fresh temporary data directory filled with `--rows` CDR rows (about a year
of a busy small center: 20k customers, a few of them calling very often, half of the calls
queued with their call detail), a disposition on a third of the queued calls and memos on one
customer in ten. Every pop is timed as the API runs it for an agent with partial masking
(the masker's lookup of our own numbers included); the numbers popped mix frequent callers,
ordinary ones and unknown numbers.

The peer answers the same questions with `NOT INDEXED` scans of cdr and memo (what the
pop would cost without its indexes). Output: p50 and p95 of both, then

    RESULT screenpop_p95 <ms> ms peer=<ms> ratio=<ours/peer>
    RESULT screenpop_p50 <ms> ms peer=<ms> ratio=<ours/peer>

The target is a p95 under 10 ms (`--require-ms 10` makes a miss the exit status 1).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pbxd.db import db
from pbxd.services import Role, UserView, build_services

TARGET_MS = 10.0
AGENTS = ("1001", "1002", "1003", "1004", "1005")
QUEUES = ("600", "601")
CODES = ("resolved", "inquiry", "callback", "complaint", "sales_lead")
START = datetime(2024, 1, 1, tzinfo=UTC)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def customer(index: int) -> str:
    return f"138{index:08d}"


def fill(rows: int, customers: int, rng: random.Random) -> list[str]:
    """`rows` CDR rows and their history; returns the frequent callers' numbers."""
    frequent = [customer(index) for index in range(20)]
    cdr, detail, wrapups = [], [], []
    for row_id in range(1, rows + 1):
        start = START + timedelta(seconds=row_id * 300 + rng.randrange(300))
        number = rng.choice(frequent) if rng.random() < 0.05 else customer(rng.randrange(customers))
        agent = rng.choice(AGENTS)
        inbound = rng.random() < 0.7
        caller, callee = (number, rng.choice(QUEUES)) if inbound else (agent, number)
        answered = rng.random() < 0.85
        talk = rng.randrange(20, 600) if answered else 0
        call_id = f"bench-{row_id}@pbx"
        cdr.append((row_id, call_id, caller, callee, _text(start),
                    _text(start + timedelta(seconds=8)) if answered else None,
                    _text(start + timedelta(seconds=8 + talk)), 8 + talk, talk,
                    "ANSWERED" if answered else "NO ANSWER", "caller"))  # fmt: skip
        if inbound:
            detail.append((row_id, call_id, callee, 8, agent if answered else None))
            if answered and row_id % 3 == 0:
                stamp = _text(start + timedelta(seconds=20 + talk))
                wrapups.append((call_id, agent, rng.choice(CODES), "note", "agent", stamp, stamp))
    db.execute_sql("PRAGMA synchronous = OFF")  # a bulk load, not a durability test
    with db.atomic():
        cursor = db.cursor()
        cursor.executemany(
            'INSERT INTO cdr (id, call_id, caller, callee, start, answer, "end", duration, '
            "billsec, disposition, hangup_side) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            cdr,
        )
        cursor.executemany(
            "INSERT INTO call_detail (cdr_id, call_id, queue, wait, agent) VALUES (?,?,?,?,?)",
            detail,
        )
        cursor.executemany(
            "INSERT INTO call_disposition (call_id, agent, code, note, author, created_at, "
            "updated_at) VALUES (?,?,?,?,?,?,?)",
            wrapups,
        )
        memos = [
            (customer(index), "agent", AGENTS[k % 5], f"memo {k}", _text(START + timedelta(k)))
            for index in range(0, customers, 10)
            for k in range(3)
        ]
        cursor.executemany(
            "INSERT INTO memo (number, author, author_extension, content, created_at) "
            "VALUES (?,?,?,?,?)",
            memos,
        )
        cursor.executemany(
            "INSERT INTO contact (number, name, company, note, created_at, updated_at) "
            "VALUES (?,?,'','',?,?)",
            [(customer(i), f"客户{i}", _text(START), _text(START)) for i in range(0, customers, 4)],
        )
    db.execute_sql("PRAGMA synchronous = FULL")
    db.execute_sql("ANALYZE")
    return frequent


def naive_pop(number: str) -> dict:
    """The pop's content by full scans (the peer): no index on cdr or memo is used."""
    cursor = db.execute_sql
    contact = cursor("SELECT name, company FROM contact WHERE number = ?", (number,)).fetchone()
    count = cursor(
        "SELECT COUNT(*) FROM cdr NOT INDEXED WHERE caller = ? OR callee = ?", (number, number)
    ).fetchone()[0]
    calls = cursor(
        "SELECT cdr.id, cdr.call_id, caller, start, duration, billsec, disposition, "
        "call_detail.queue, call_detail.agent FROM cdr NOT INDEXED "
        "LEFT JOIN call_detail ON call_detail.cdr_id = cdr.id "
        "WHERE caller = ? OR callee = ? ORDER BY start DESC, cdr.id DESC LIMIT 5",
        (number, number),
    ).fetchall()
    wrapups = [
        cursor(
            "SELECT agent, code, note FROM call_disposition WHERE call_id = ?", (row[1],)
        ).fetchall()
        for row in calls
    ]
    memos = cursor(
        "SELECT author, content, created_at FROM memo NOT INDEXED WHERE number = ? "
        "ORDER BY created_at DESC LIMIT 10",
        (number,),
    ).fetchall()
    return {"contact": contact, "count": count, "calls": calls, "wrapups": wrapups,
            "memos": memos}  # fmt: skip


def timings(work: Callable[[str], object], numbers: list[str], rounds: int) -> list[float]:
    """Milliseconds of each call of `work` over `rounds` passes through `numbers`."""
    for number in numbers[:10]:  # warm the page cache and the statement cache
        work(number)
    spent = []
    for _ in range(rounds):
        for number in numbers:
            began = time.perf_counter()
            work(number)
            spent.append((time.perf_counter() - began) * 1000)
    return spent


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.screenpop_bench",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--rows", type=int, default=100_000, help="CDR rows (default 100000)")
    parser.add_argument("--customers", type=int, default=20_000, help="distinct numbers")
    parser.add_argument("--numbers", type=int, default=200, help="numbers popped per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the pop (default 5)")
    parser.add_argument("--peer-rounds", type=int, default=1, help="rounds of the peer")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--require-ms", type=float, default=None,
                        help="exit 1 when the pop's p95 is not below this")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    data_dir = Path(tempfile.mkdtemp(prefix="pbxd-screenpop-bench-"))
    try:
        services = build_services(data_dir)
        try:
            for number in AGENTS:
                services.extensions.create(number, f"Agent {number}", f"secret-{number}-pw")
            for number in QUEUES:
                services.queues.create({"number": number, "members": list(AGENTS)})
            loaded = time.perf_counter()
            frequent = fill(args.rows, args.customers, rng)
            print(f"loaded {args.rows} CDR rows in {time.perf_counter() - loaded:.1f} s")
            ordinary = [customer(rng.randrange(args.customers)) for _ in range(args.numbers)]
            unknown = [f"139{rng.randrange(10**8):08d}" for _ in range(args.numbers // 10)]
            numbers = (frequent * 2 + ordinary + unknown)[: args.numbers]
            rng.shuffle(numbers)
            agent = UserView(id=0, username="bench", role=Role.AGENT, extension="1001")

            ours = timings(lambda n: services.screenpop.pop(n, agent), numbers, args.rounds)
            peer = timings(naive_pop, numbers, args.peer_rounds)
            busiest = max(frequent, key=lambda n: services.screenpop.pop(n, agent).previous_calls)
            print(f"busiest number: {services.screenpop.pop(busiest, agent).previous_calls} calls")
        finally:
            services.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    figures = {}
    for label, values in (("pbxd ScreenPopService.pop", ours), ("peer naive full scan", peer)):
        p50, p95 = percentile(values, 0.50), percentile(values, 0.95)
        figures[label] = (p50, p95)
        print(f"{label}: {len(values)} pops, p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
              f"mean {statistics.fmean(values):.2f} ms, max {max(values):.2f} ms")  # fmt: skip
    (ours50, ours95), (peer50, peer95) = figures.values()
    print(f"RESULT screenpop_p95 {ours95:.2f} ms peer={peer95:.2f} ratio={ours95 / peer95:.3f}")
    print(f"RESULT screenpop_p50 {ours50:.2f} ms peer={peer50:.2f} ratio={ours50 / peer50:.3f}")
    met = ours95 < TARGET_MS
    print(f"target p95 < {TARGET_MS:g} ms: {'met' if met else 'NOT met'}")
    if args.require_ms is not None and ours95 >= args.require_ms:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
