#!/usr/bin/env python3
"""Hold N concurrent `stream: true` Messages requests open against `limitlab serve`.

Stdlib only (asyncio + raw sockets, HTTP/1.1). Each connection sends one streaming request and
counts as *held* once it has read a `200` status line and its first SSE event
(`event: message_start`). It then keeps reading, one read per --read-interval seconds, so the
server really has to pace and write every stream. When all streams have opened (or
--open-timeout passed) it waits --settle seconds, samples the server's VmRSS / VmHWM from
/proc/PID/status every second for --hold seconds, counts the streams still alive (no EOF, no
message_stop, no error), closes everything and prints one JSON object on stdout.

Bounded: at most --n connections, at most --connect-parallel connecting at once, and the whole
run ends after open-timeout + settle + hold (+ a few seconds to close).
"""
import argparse
import asyncio
import json
import resource
import sys
import time

BODY = (
    b'{"model":"claude-sonnet-4-5","max_tokens":%d,"stream":true,'
    b'"messages":[{"role":"user","content":"Hello"}]}'
)


def rss_kib(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "Threads:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def fd_count(pid):
    import os
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


class Stats:
    def __init__(self):
        self.connected = 0
        self.held = 0          # 200 + first SSE event received
        self.alive = 0         # held and not yet ended
        self.ended = 0         # EOF / message_stop / error after being held
        self.failed = 0        # never reached the first event
        self.statuses = {}
        self.fail_reasons = {}
        self.bytes = 0
        self.first_event_ms = []


async def one(i, args, st, sem, stop, writers):
    head = (
        f"POST /v1/messages HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
        f"x-api-key: sk-bench\r\nanthropic-version: 2023-06-01\r\n"
        f"content-type: application/json\r\nx-limitlab-output-tokens: {args.output_tokens}\r\n"
    ).encode()
    body = BODY % args.output_tokens
    req = head + b"content-length: %d\r\n\r\n" % len(body) + body
    reader = writer = None
    held = False
    try:
        async with sem:
            t0 = time.monotonic()
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.host, args.port), args.first_event_timeout)
            writers.append(writer)
            st.connected += 1
            writer.write(req)
            await writer.drain()
            buf = b""
            deadline = t0 + args.first_event_timeout
            while b"event: " not in buf.partition(b"\r\n\r\n")[2]:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise asyncio.TimeoutError()
                chunk = await asyncio.wait_for(reader.read(65536), left)
                if not chunk:
                    raise ConnectionError("EOF before first event")
                buf += chunk
                if b"\r\n" in buf and not buf.startswith(b"HTTP/1.1 200"):
                    status = buf.split(b" ", 2)[1].decode(errors="replace")
                    st.statuses[status] = st.statuses.get(status, 0) + 1
                    raise ConnectionError(f"status {status}")
            st.statuses["200"] = st.statuses.get("200", 0) + 1
            st.bytes += len(buf)
            st.first_event_ms.append((time.monotonic() - t0) * 1000)
            held = True
            st.held += 1
            st.alive += 1
        # Hold: read slowly until told to stop or the stream ends.
        while not stop.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(65536), args.read_interval)
            except asyncio.TimeoutError:
                continue
            if not chunk:
                raise ConnectionError("EOF while held")
            st.bytes += len(chunk)
            if b"event: message_stop" in chunk or b"event: error" in chunk:
                raise ConnectionError("stream ended while held")
            await asyncio.sleep(args.read_interval)
    except (OSError, ConnectionError, asyncio.TimeoutError) as e:
        reason = type(e).__name__ + (f": {e}" if str(e) else "")
        if held:
            st.alive -= 1
            st.ended += 1
            reason = "held then " + reason
        else:
            st.failed += 1
        st.fail_reasons[reason] = st.fail_reasons.get(reason, 0) + 1


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True, help="server PID, for /proc/PID/status")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--output-tokens", type=int, default=3600)
    p.add_argument("--connect-parallel", type=int, default=200)
    p.add_argument("--first-event-timeout", type=float, default=20.0)
    p.add_argument("--open-timeout", type=float, default=120.0)
    p.add_argument("--settle", type=float, default=3.0)
    p.add_argument("--hold", type=float, default=10.0)
    p.add_argument("--read-interval", type=float, default=1.0)
    args = p.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("stream_hold.py: loopback only")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.n + 1000), hard))

    st = Stats()
    sem = asyncio.Semaphore(args.connect_parallel)
    stop = asyncio.Event()
    writers = []
    rss_before = rss_kib(args.pid)
    t0 = time.monotonic()
    tasks = [asyncio.create_task(one(i, args, st, sem, stop, writers)) for i in range(args.n)]
    # Wait until every task has either held its stream or failed, bounded by open-timeout.
    while st.held + st.failed < args.n and time.monotonic() - t0 < args.open_timeout:
        await asyncio.sleep(0.2)
    open_s = time.monotonic() - t0
    await asyncio.sleep(args.settle)
    samples = []
    alive_min = st.alive
    t_hold = time.monotonic()
    while time.monotonic() - t_hold < args.hold:
        samples.append(rss_kib(args.pid).get("VmRSS", 0))
        alive_min = min(alive_min, st.alive)
        await asyncio.sleep(1.0)
    during = rss_kib(args.pid)
    server_fds = fd_count(args.pid)
    alive_end = st.alive
    bytes_before_close = st.bytes
    stop.set()
    for w in writers:
        try:
            w.close()
        except Exception:
            pass
    await asyncio.wait(tasks, timeout=10)
    for t in tasks:
        t.cancel()
    fe = sorted(st.first_event_ms)
    pct = lambda q: round(fe[min(len(fe) - 1, int(q * len(fe)))], 1) if fe else None
    out = {
        "requested": args.n,
        "connected": st.connected,
        "held_first_event": st.held,
        "alive_through_hold_min": alive_min,
        "alive_at_end_of_hold": alive_end,
        "failed_before_first_event": st.failed,
        "ended_while_held": st.ended,
        "statuses": st.statuses,
        "fail_reasons": st.fail_reasons,
        "open_seconds": round(open_s, 2),
        "hold_seconds": args.hold,
        "first_event_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": round(fe[-1], 1) if fe else None},
        "bytes_read_total": bytes_before_close,
        "server_rss_kib_before": rss_before.get("VmRSS"),
        "server_rss_kib_max_during_hold": max(samples) if samples else None,
        "server_rss_kib_end_of_hold": during.get("VmRSS"),
        "server_hwm_kib": during.get("VmHWM"),
        "server_threads": during.get("Threads"),
        "server_open_fds": server_fds,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
