"""A small app that retries with tenacity instead of the official SDK's own retries.

The common recipe: turn the SDK's retries off (`max_retries=0`) and wrap the call in tenacity
with full-jitter exponential backoff (`wait_random_exponential`) and an attempt cap
(`stop_after_attempt`), retrying 429s and 5xx. tenacity does not read `retry-after`, so some
retries come back before the server said they could: the report's retry-storm figures show
how many. Eight threads send 30 short requests as fast as the API lets them.

    limitlab test examples/tenacity/scenario.yaml --baseline examples/tenacity/baseline.json \
        -- python3 examples/tenacity/client.py

Needs `pip install anthropic tenacity`. Exits 0 when the run finished (requests tenacity gave
up on are counted, not fatal), 1 on anything else.
"""
import concurrent.futures
import os
import sys

import anthropic
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

REQUESTS = int(os.environ.get("REQUESTS", "30"))
THREADS = int(os.environ.get("THREADS", "8"))
ATTEMPTS = int(os.environ.get("ATTEMPTS", "6"))


def retryable(exc: BaseException) -> bool:
    """429s, 5xx (500 api_error, 529 overloaded_error) and dropped connections."""
    if isinstance(exc, anthropic.RateLimitError):
        return True
    if isinstance(exc, anthropic.APIStatusError):
        return exc.status_code >= 500
    return isinstance(exc, anthropic.APIConnectionError)


def main() -> int:
    client = anthropic.Anthropic(max_retries=0, timeout=60)  # tenacity does the retrying

    def ask(i: int) -> str:
        retrying = Retrying(
            retry=retry_if_exception(retryable),
            wait=wait_random_exponential(multiplier=0.5, max=8),  # uniform(0, min(8, 0.5·2ⁿ)) s
            stop=stop_after_attempt(ATTEMPTS),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    # The SDK, making one try per call, would send x-stainless-retry-count: 0 on
                    # every attempt, which tells the server (and limitlab's report) that each
                    # retry is a new request. Send tenacity's count instead.
                    retries = attempt.retry_state.attempt_number - 1
                    reply = client.messages.create(
                        model="claude-sonnet-4-5",
                        max_tokens=64,
                        messages=[{"role": "user", "content": f"Question {i}: name a prime number."}],
                        extra_headers={"x-stainless-retry-count": str(retries)},
                    )
            return "ok" if reply.content else "empty"
        except anthropic.RateLimitError:
            return "rate_limited"  # tenacity's attempts ran out on a 429
        except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
            if retryable(exc):
                return "server_error"  # ran out on a 5xx or a dropped connection
            raise

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(ask, range(REQUESTS)))
    counts = {k: results.count(k) for k in sorted(set(results))}
    print(f"sdk {anthropic.__version__}, tenacity: {counts}")
    given_up = counts.get("rate_limited", 0) + counts.get("server_error", 0)
    return 0 if counts.get("ok", 0) + given_up == REQUESTS else 1


if __name__ == "__main__":
    sys.exit(main())
