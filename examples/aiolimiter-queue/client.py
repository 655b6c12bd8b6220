"""A small asyncio app: workers pull jobs from an asyncio.Queue behind an aiolimiter.AsyncLimiter.

The common advice for "stay under N requests per minute" in asyncio: put the jobs in a queue,
start a few workers, and make every worker enter one shared `AsyncLimiter` before it calls
the API. The official SDK keeps its default retries (2, honouring retry-after) for what
slips through.

The limiter is sized to the limit, spread evenly: `AsyncLimiter(1, 60 / rpm)` lets one request
go every 60/rpm seconds and holds no more than one. Anthropic's API limits with a continuously
refilling bucket, and "a rate of 60 requests per minute (RPM) may be enforced as 1 request per
second" (https://platform.claude.com/docs/en/api/rate-limits), so bursts get 429s. Two tempting
alternatives burst: `AsyncLimiter(rpm, 60)` lets a whole minute's requests go at once
(aiolimiter's bucket starts empty: aiolimiter 1.3.0, leakybucket.py), and even
`AsyncLimiter(rpm / 60, 1)` sends a second's worth in the first instant, then counts the
time the first requests spend connecting as refill, so it overshoots a server whose bucket
holds one second's worth.

    limitlab test examples/aiolimiter-queue/scenario.yaml \
        --baseline examples/aiolimiter-queue/baseline.json \
        -- python3 examples/aiolimiter-queue/client.py

Settings (environment variables, or the arguments --rpm, --requests, --workers):
  RPM       the rate the limiter allows, requests per minute (default 1200, the scenario's
            limit); 0 removes the limiter. tests/examples.sh doubles it, and removes it, to
            check that the baseline catches the regression.
  REQUESTS  jobs in the queue (default 30); WORKERS concurrent workers (default 8).

Needs `pip install anthropic aiolimiter`. Exits 0 when every job was handled (requests the SDK
gave up on are counted, not fatal), 1 on anything else.
"""
import argparse
import asyncio
import contextlib
import os
import sys

import anthropic
from aiolimiter import AsyncLimiter


def settings() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpm", type=float, default=float(os.environ.get("RPM", "1200")),
                        help="limiter rate in requests per minute; 0 = no limiter")
    parser.add_argument("--requests", type=int, default=int(os.environ.get("REQUESTS", "30")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "8")))
    args = parser.parse_args()
    if args.rpm < 0 or args.requests < 1 or args.workers < 1:
        parser.error("--rpm must be >= 0, --requests and --workers >= 1")
    return args


async def main() -> int:
    args = settings()
    client = anthropic.AsyncAnthropic(timeout=60)  # max_retries: the SDK's default (2)
    # One request every 60/rpm seconds, no burst.
    limiter = AsyncLimiter(1, 60 / args.rpm) if args.rpm > 0 else contextlib.nullcontext()

    jobs: asyncio.Queue[int] = asyncio.Queue()
    for i in range(args.requests):
        jobs.put_nowait(i)
    results: list[str] = []

    async def worker() -> None:
        while True:
            try:
                i = jobs.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                async with limiter:
                    reply = await client.messages.create(
                        model="claude-sonnet-4-5",
                        max_tokens=64,
                        messages=[{"role": "user", "content": f"Question {i}: name a prime number."}],
                    )
                results.append("ok" if reply.content else "empty")
            except anthropic.RateLimitError:
                results.append("rate_limited")  # the SDK's retries ran out
            finally:
                jobs.task_done()

    await asyncio.gather(*(worker() for _ in range(args.workers)))
    await client.close()
    counts = {k: results.count(k) for k in sorted(set(results))}
    limit = f"AsyncLimiter(1, {60 / args.rpm:g})" if args.rpm > 0 else "no limiter"
    print(f"sdk {anthropic.__version__}, {limit}: {counts}")
    return 0 if counts.get("ok", 0) + counts.get("rate_limited", 0) == args.requests else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
