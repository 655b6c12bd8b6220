#!/usr/bin/env python3
"""The simulator bench scenario (Sources/limitlab-bench/main.swift) as a SimPy model: the peer
a user would otherwise write. Same parameters, independent random draws.

  Poisson arrivals at LOAD x tier-4 Sonnet RPM (4,000/min); input tokens lognormal(5.5, 0.8)
  rounded, in [1, 100,000]; output tokens lognormal(4, 0.7) rounded, at least 1, at most
  max_tokens 1,024. Server: RPM / ITPM / OTPM buckets holding BURST of a minute, refilled
  continuously at limit/60 per second, positive-balance admission with debt, realtime output
  accounting (output drained linearly from first to last token), retry-after = the refusing
  buckets' wait rounded up (at least 1 s), 429s answered after 50 ms; TTFT lognormal (median
  600 ms, sigma 0.4), 60 output tokens/s. Client: the Python SDK's retries (2 retries; a
  retry-after in (0, 60] s is waited exactly, else 0.5 * 2^n capped at 8 s, times (1 - 0.25 U)).
  The bucket rules follow Sources/LimitlabCore/LimitModel.swift.

Prints one JSON object: speed (simulated requests per wall second, arrivals + run), peak
RSS growth per request, and the aggregates to compare with limitlab (429 rate, success rate,
attempts per request).
"""
import argparse, heapq, json, math, random, resource, sys, time

import simpy

EPS = 1e-9


class Bucket:
    __slots__ = ("limit", "cap", "refill", "level", "t")

    def __init__(self, limit, cap):
        self.limit, self.cap, self.refill, self.level, self.t = limit, cap, limit / 60.0, cap, 0.0

    def advance(self, now, drain=0.0):
        dt = now - self.t
        if dt > 0:
            nxt = self.level + (self.refill - drain) * dt
            self.level = self.cap if nxt > self.cap else nxt
            self.t = now

    def seconds_until(self, threshold, strict):
        deficit = threshold - self.level
        if deficit < 0 or (not strict and deficit == 0):
            return 0.0
        return deficit / self.refill + (1e-9 if strict else 0.0)


class Limits:
    """One organisation's buckets (positive-balance admission, realtime output accounting)."""

    def __init__(self, rpm, itpm, otpm, burst):
        self.req = Bucket(rpm, max(1.0, rpm * burst))
        self.inp = Bucket(itpm, itpm * burst)
        self.out = Bucket(otpm, otpm * burst)
        self.drain_rate = 0.0
        self.drains = []   # (time, seq, rate delta, lump)
        self.seq = 0

    def advance(self, now):
        self.req.advance(now)
        self.inp.advance(now)
        d = self.drains
        while d and d[0][0] <= now:
            t, _, delta, lump = heapq.heappop(d)
            self.out.advance(t, self.drain_rate)
            self.drain_rate += delta
            self.out.level -= lump
            if not d or self.drain_rate < 0:
                self.drain_rate = 0.0 if not d else max(0.0, self.drain_rate)
        self.out.advance(now, self.drain_rate)

    def admit(self, now, input_tokens):
        """(admitted, retry_after whole seconds or None)."""
        self.advance(now)
        wait, refused = 0.0, False
        if self.req.level < 1 - EPS:
            refused, wait = True, max(wait, self.req.seconds_until(1, False))
        if self.inp.level <= EPS and input_tokens > 0:
            refused, wait = True, max(wait, self.inp.seconds_until(0, True))
        if self.out.level <= EPS:
            refused, wait = True, max(wait, self.out.seconds_until(0, True))
        if refused:
            return False, max(1, int(min(math.ceil(wait), 86400))) if math.isfinite(wait) else 86400
        self.req.level -= 1
        self.inp.level -= input_tokens
        return True, None

    def schedule_output(self, tokens, start, end):
        if tokens <= 0:
            return
        self.seq += 2
        if end > start:
            rate = tokens / (end - start)
            heapq.heappush(self.drains, (start, self.seq, rate, 0.0))
            heapq.heappush(self.drains, (end, self.seq + 1, -rate, 0.0))
        else:
            heapq.heappush(self.drains, (start, self.seq, 0.0, float(tokens)))


def run(n, load, burst, seed):
    rpm, itpm, otpm = 4000.0, 2_000_000.0, 400_000.0       # catalog: classic tier-4, sonnet-4.x
    rate = rpm * load / 60.0
    max_tokens, out_rate, reject_latency = 1024, 60.0, 0.05
    ttft_mu, ttft_sigma = math.log(0.6), 0.4
    max_retries, initial_delay, max_delay = 2, 0.5, 8.0

    arrivals = random.Random(seed)
    server_rng = random.Random(seed + 1)
    client_rng = random.Random(seed + 2)
    env = simpy.Environment()
    limits = Limits(rpm, itpm, otpm, burst)
    latencies, attempts_of = [], []
    counts = {"attempts": 0, "status_429": 0, "succeeded": 0, "failed": 0}

    def request(intended, input_tokens, output_tokens):
        attempt = 0
        while True:
            attempt += 1
            counts["attempts"] += 1
            ok, retry_after = limits.admit(env.now, input_tokens)
            if ok:
                first = env.now + max(0.0, server_rng.lognormvariate(ttft_mu, ttft_sigma))
                end = first + max(0, output_tokens - 1) / out_rate
                limits.schedule_output(output_tokens, first, end)
                yield env.timeout(end - env.now)
                counts["succeeded"] += 1
                latencies.append(env.now - intended)
                attempts_of.append(attempt)
                return
            counts["status_429"] += 1
            yield env.timeout(reject_latency)
            if attempt - 1 >= max_retries:
                counts["failed"] += 1
                attempts_of.append(attempt)
                return
            if retry_after is not None and 0 < retry_after <= 60:
                wait = float(retry_after)
            else:
                wait = min(initial_delay * 2 ** (attempt - 1), max_delay) * (1 - 0.25 * client_rng.random())
            yield env.timeout(wait)

    def source():
        for _ in range(n):
            yield env.timeout(arrivals.expovariate(rate))
            inp = min(100_000, max(1, round(arrivals.lognormvariate(5.5, 0.8))))
            out = min(max_tokens, max(1, round(arrivals.lognormvariate(4.0, 0.7))))
            env.process(request(env.now, inp, out))

    rss0 = current_rss_bytes()
    t0 = time.perf_counter()
    env.process(source())
    env.run()
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    a = counts["attempts"]
    latencies.sort()
    return {
        "requests": n, "load": load, "burst": burst, "seed": seed,
        "wall_s": wall, "requests_per_wall_s": n / wall,
        "bytes_per_request": max(0, peak - rss0) / n,
        "attempts": a, "status_429": counts["status_429"], "succeeded": counts["succeeded"],
        "failed": counts["failed"],
        "rate_429": counts["status_429"] / a if a else 0.0,
        "success_rate": counts["succeeded"] / n,
        "attempts_per_request": a / n,
        "latency_p50_s": latencies[len(latencies) // 2] if latencies else None,
        "latency_p99_s": latencies[int(len(latencies) * 0.99)] if latencies else None,
        "simpy": simpy.__version__, "python": sys.version.split()[0],
    }


def current_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--load", type=float, default=0.95, help="fraction of RPM offered")
    ap.add_argument("--burst", type=float, default=1 / 60, help="bucket capacity in minutes")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    r = run(a.requests, a.load, a.burst, a.seed)
    print(json.dumps(r))
    print(f"simpy {r['simpy']}: {a.requests:,} requests at {a.load:.0%} of RPM in {r['wall_s']:.2f} s "
          f"-> {r['requests_per_wall_s']:,.0f} simulated requests/s; {r['bytes_per_request']:.0f} B/request peak; "
          f"429 rate {r['rate_429']:.5f}, success {r['success_rate']:.5f}, "
          f"attempts/request {r['attempts_per_request']:.4f}", file=sys.stderr)
