"""A small app that leans on the official `anthropic` SDK's own retries.

Four worker threads send 40 short requests as fast as the API lets them. The SDK retries
429s itself (max_retries, honouring retry-after); this app does nothing else to respect the
limits. Point it at the mock with `limitlab test`, which sets ANTHROPIC_BASE_URL and
ANTHROPIC_API_KEY (the SDK reads both):

    limitlab test examples/sdk-retries/scenario.yaml -- python3 examples/sdk-retries/client.py

Exits 0 when the run finished (requests the SDK gave up on are counted, not fatal), 1 on
anything else (a bug, an unexpected error).
"""
import concurrent.futures
import os
import sys

import anthropic

REQUESTS = int(os.environ.get("REQUESTS", "40"))
THREADS = int(os.environ.get("THREADS", "4"))
MAX_RETRIES = int(os.environ.get("MAX_RETRIES", "2"))  # the SDK's default


def main() -> int:
    client = anthropic.Anthropic(max_retries=MAX_RETRIES, timeout=60)

    def ask(i: int) -> str:
        try:
            reply = client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=64,
                messages=[{"role": "user", "content": f"Question {i}: name a prime number."}],
            )
            return "ok" if reply.content else "empty"
        except anthropic.RateLimitError:
            return "rate_limited"  # the SDK's retries ran out

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(ask, range(REQUESTS)))
    counts = {k: results.count(k) for k in sorted(set(results))}
    print(f"sdk {anthropic.__version__}: {counts}")
    return 0 if counts.get("ok", 0) + counts.get("rate_limited", 0) == REQUESTS else 1


if __name__ == "__main__":
    sys.exit(main())
