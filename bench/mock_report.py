#!/usr/bin/env python3
"""Helpers for mock-bench.sh: merge and print the JSON figures (stdlib only)."""
import datetime, json, os, platform, subprocess, sys

sys.path.insert(0, os.path.dirname(__file__))
import benchlib


def wrk(raw, name, server_cmd, client_cmd, probe, rss0, rss1):
    runs = [json.loads(l) for l in raw.splitlines() if l.strip()]
    j = dict(sorted(runs, key=lambda r: r["req_per_s"])[len(runs) // 2])   # the median run
    j.update(runs_req_per_s=[r["req_per_s"] for r in runs], runs=len(runs))
    j.update(name=name, server_command=server_cmd, client_command=client_cmd,
             probe_status=int(probe), server_rss_kib_before=int(rss0), server_rss_kib_after=int(rss1))
    print(json.dumps(j))
    lat = j["latency_us"]
    print(f"== {name}: {j['req_per_s']:,.0f} req/s, median of {len(runs)} runs "
          f"({', '.join(f'{r:,.0f}' for r in j['runs_req_per_s'])}) ({j['requests']:,} requests, {j['non_2xx']:,} non-2xx, "
          f"socket errors {sum(j['errors'].values())}; latency p50 {lat['p50']} us, p99 {lat['p99']} us; "
          f"probe status {j['probe_status']}; server RSS {j['server_rss_kib_after'] / 1024:.1f} MiB)\n"
          f"   server: {server_cmd}\n   client: {client_cmd}", file=sys.stderr)


def stream(arr_raw, raw, server_cmd, client_cmd, after, inflight="0"):
    arr = json.loads(arr_raw)
    j = json.loads(raw)
    j.update(server_command=server_cmd, client_command=client_cmd,
             server_rss_kib_after_close=int(after or 0),
             server_in_flight_2s_after_close=int(float(inflight or 0)))
    arr.append(j)
    print(json.dumps(arr))
    mib = lambda k: (j.get(k) or 0) / 1024
    fe = j["first_event_ms"]
    print(f"== streams: {j['held_first_event']:,} of {j['requested']:,} held (200 + first SSE event), "
          f"{j['alive_through_hold_min']:,} alive through the whole {j['hold_seconds']:.0f} s hold; "
          f"server RSS max {mib('server_rss_kib_max_during_hold'):.1f} MiB while held "
          f"(before {mib('server_rss_kib_before'):.1f} MiB, 2 s after close {mib('server_rss_kib_after_close'):.1f} MiB, "
          f"in flight then {j['server_in_flight_2s_after_close']}); "
          f"opened in {j['open_seconds']} s, first event p50 {fe['p50']} ms p99 {fe['p99']} ms; "
          f"failures {j['fail_reasons'] or 0}\n   server: {server_cmd}\n   client: {client_cmd}", file=sys.stderr)


def final(out, r200, r429, streams, n200="null", n429="null", rrec="null"):
    r200, r429, streams = json.loads(r200), json.loads(r429), json.loads(streams)
    n200, n429, rrec = json.loads(n200 or "null"), json.loads(n429 or "null"), json.loads(rrec or "null")

    def sh(c):
        try:
            return subprocess.run(c, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
        except Exception:
            return ""
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    report = {
        "schema": benchlib.SCHEMA, "suite": "mock", "date": benchlib.date(), "machine": benchlib.machine(),
        "figures": figures(r200, r429, streams, n200, n429, rrec),
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine_detail": {
            "cpus": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release(),
            "mem_total_kib": int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal"))),
            "loadavg_at_end": open("/proc/loadavg").read().split()[:3],
            "swift": sh("swift --version 2>&1 | head -1"), "wrk": sh("wrk --version 2>&1 | head -1"),
            "python": platform.python_version(), "git_commit": sh("git rev-parse HEAD"),
            "sources_dirty": bool(sh("git status --porcelain -- Sources Package.swift")),
        },
        "bars": {"non_streaming_req_per_s_one_core": 25000, "concurrent_streams": 10000, "rss_bytes_max": 1 << 30},
        "non_streaming_200": r200,
        "non_streaming_429": r429,
        "non_streaming_200_recorded": rrec,
        "nginx_200": n200,
        "nginx_429": n429,
        "streams": streams,
    }
    report["bars_met"] = {
        "non_streaming_200": r200["req_per_s"] >= 25000 and r200["non_2xx"] == 0,
        "record_costs_at_most_15_percent": None if not rrec else rrec["req_per_s"] >= 0.85 * r200["req_per_s"],
        "streams_10000_under_1GiB": any(
            s["requested"] >= 10000 and s["alive_through_hold_min"] >= 10000
            and (s["server_rss_kib_max_during_hold"] or 0) * 1024 < (1 << 30) for s in streams),
    }
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"== wrote {out}: bars met {report['bars_met']}", file=sys.stderr)


def conns(r):
    import re
    m = re.search(r"-c(\d+)", r["client_command"])
    return f"-c{m.group(1)}" if m else ""


def figures(r200, r429, streams, n200, n429, rrec=None):
    """The limitlab.bench/1 rows: wrk req/s of both paths next to nginx's, and the held streams."""
    rerun = " (all of it: bash bench/mock-bench.sh)"
    out = []
    for path, r, n, target in (("200", r200, n200, 25000), ("429", r429, n429, None)):
        cmd = f"{r['server_command']} & {r['client_command']}{rerun}"
        peer = peer_value = None
        if n:
            peer = n["name"].split(":")[0] + " (static file, same status, headers and body; same core, same wrk)"
            peer_value = n["req_per_s"]
        ok = r["req_per_s"] >= target and (r["non_2xx"] == 0) if target else None
        out.append(benchlib.figure(
            f"mock.{path}.rps", f"{r['name']}: requests per second, server on one core, wrk {conns(r)} on the other "
            f"(median of {r['runs']})", r["req_per_s"], "req/s", cmd,
            target=f"≥ {target:,}" if target else None, met=ok, peer=peer, peer_value=peer_value))
        if n:
            out.append(benchlib.figure(
                f"mock.{path}.nginx.rps", f"{n['name']}: requests per second (median of {n['runs']})", n["req_per_s"], "req/s",
                f"{n['server_command']} & {n['client_command']}{rerun}"))
    if rrec:
        ratio = rrec["req_per_s"] / r200["req_per_s"] if r200["req_per_s"] else 0
        out.append(benchlib.figure(
            "mock.200.record.ratio", f"{rrec['name']}: requests per second ÷ the same path without --record "
            f"(medians of {rrec['runs']})", ratio, "×", f"{rrec['server_command']} & {rrec['client_command']}{rerun}",
            target="≥ 0.85", met=ratio >= 0.85))
    for s in streams:
        k = s["requested"]
        cmd = f"{s['server_command']} & {s['client_command']}{rerun}"
        big = k >= 10000
        held = s["alive_through_hold_min"]
        out.append(benchlib.figure(
            f"mock.streams.{k}.held", f"concurrent SSE streams alive through a {s['hold_seconds']:.0f} s hold, of {k:,} opened",
            held, "streams", cmd, target="10,000" if big else None, met=held >= 10000 if big else None))
        rss = (s.get("server_rss_kib_max_during_hold") or 0) / 1024
        out.append(benchlib.figure(
            f"mock.streams.{k}.rss_mib", f"server RSS while {k:,} streams are held (max)", rss, "MiB", cmd,
            target="< 1,024 (bounded)" if big else None, met=rss < 1024 if big else None))
    return out


if __name__ == "__main__":
    {"wrk": wrk, "stream": stream, "final": final}[sys.argv[1]](*sys.argv[2:])
