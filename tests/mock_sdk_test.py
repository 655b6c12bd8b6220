"""The official Python SDK (`anthropic`) against `limitlab serve`.

Run by tests/mock-sdk.sh, which starts the server with the config these checks expect and
passes its base URL. Prints one line per check and writes "PASSED FAILED" to the file named
by the second argument, for the script's summary.
"""

import sys
import time
import traceback
import urllib.request
import warnings

import anthropic

BASE = sys.argv[1]
MODEL = "claude-sonnet-4-6"
RESULTS = []
# SDK notices about model life cycles are not what is tested here.
warnings.simplefilter("ignore", DeprecationWarning)


def check(name):
    def wrap(fn):
        try:
            fn()
            RESULTS.append(True)
            print(f"ok - {name}")
        except Exception as e:  # a failed check must not stop the others
            RESULTS.append(False)
            print(f"FAIL - {name}: {e!r}")
            traceback.print_exc(limit=3)
        return fn

    return wrap


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def error_of(e):
    """The `error` object of an APIStatusError's body (SDK versions differ on which they keep)."""
    body = e.body if isinstance(e.body, dict) else {}
    return body.get("error", body)


def client(key, **kw):
    return anthropic.Anthropic(api_key=key, base_url=BASE, **kw)


def metric(line_prefix):
    """The value of the first /metrics sample starting with `line_prefix`, or 0."""
    text = urllib.request.urlopen(BASE + "/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(line_prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@check("messages.create returns a Message with usage, and the headers reach the SDK")
def _():
    raw = client("sk-fast").messages.with_raw_response.create(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hello"}],
        extra_headers={"x-limitlab-output-tokens": "12"})
    msg = raw.parse()
    expect(msg.type == "message" and msg.role == "assistant", f"type/role {msg.type}/{msg.role}")
    expect(msg.id.startswith("msg_"), f"id {msg.id}")
    expect(msg.stop_reason == "end_turn", f"stop_reason {msg.stop_reason}")
    expect(msg.content[0].type == "text" and len(msg.content[0].text) == 48, f"content {msg.content!r}")
    expect(msg.usage.output_tokens == 12, f"output_tokens {msg.usage.output_tokens}")
    expect(msg.usage.input_tokens == 9, f"input_tokens {msg.usage.input_tokens}")
    expect(raw.headers.get("request-id", "").startswith("req_"), "request-id")
    expect(raw.headers.get("anthropic-ratelimit-requests-limit") == "4000", "requests-limit")
    expect(raw.headers.get("anthropic-organization-id") == "org-fast", "organization id")


@check("messages.stream yields the text and a final message with cumulative usage")
def _():
    with client("sk-fast").messages.stream(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "Hello"}],
            extra_headers={"x-limitlab-output-tokens": "20"}) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    expect(len(text) == 80, f"streamed {len(text)} characters")
    expect(final.usage.output_tokens == 20, f"output_tokens {final.usage.output_tokens}")
    expect(final.stop_reason == "end_turn", f"stop_reason {final.stop_reason}")
    expect(final.content[0].text == text, "final text differs from the streamed text")


@check("messages.count_tokens returns input_tokens")
def _():
    r = client("sk-fast").messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hello"}])
    expect(r.input_tokens == 9, f"input_tokens {r.input_tokens}")


@check("prompt caching: a cache_control prefix is written, then read")
def _():
    c = client("sk-fast")
    system = [{"type": "text", "text": "wxyz" * 300, "cache_control": {"type": "ephemeral"}}]
    first = c.messages.create(model=MODEL, max_tokens=5, system=system, messages=[{"role": "user", "content": "Hi"}])
    second = c.messages.create(model=MODEL, max_tokens=5, system=system, messages=[{"role": "user", "content": "Hi"}])
    expect(first.usage.cache_creation_input_tokens == 300, f"first write {first.usage.cache_creation_input_tokens}")
    expect(second.usage.cache_read_input_tokens == 300, f"second read {second.usage.cache_read_input_tokens}")
    expect(second.usage.cache_creation_input_tokens == 0, "second wrote again")


@check("a 429's retry-after is honoured by the SDK's retry")
def _():
    # org-tiny: 30 RPM with a one-request bucket, so the 2nd request is refused with
    # retry-after: 2 and succeeds when retried 2 s later.
    c = client("sk-tiny", max_retries=2)
    c.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "a"}])
    refused_before = metric('limitlab_mock_rate_limited_total{endpoint="messages",org="org-tiny"')
    t0 = time.monotonic()
    c.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "b"}])
    waited = time.monotonic() - t0
    refused = metric('limitlab_mock_rate_limited_total{endpoint="messages",org="org-tiny"') - refused_before
    expect(refused == 1, f"{refused} refusals, expected exactly 1 (one retry after retry-after)")
    # The SDK's own backoff without the header would be 0.375-0.5 s and would be refused again.
    expect(1.9 <= waited <= 3.5, f"the retry came after {waited:.2f} s, expected ~2 s")


@check("with retries off, the 429 surfaces as RateLimitError with the real body and headers")
def _():
    c = client("sk-tiny2", max_retries=0)
    c.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "a"}])
    try:
        c.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "b"}])
    except anthropic.RateLimitError as e:
        expect(e.status_code == 429, f"status {e.status_code}")
        expect(e.response.headers.get("retry-after") == "2", f"retry-after {e.response.headers.get('retry-after')}")
        expect(e.response.headers.get("x-should-retry") == "true", "x-should-retry")
        err = error_of(e)
        expect(err.get("type") == "rate_limit_error", f"body {e.body!r}")
        expect("30 requests per minute" in err.get("message", ""), f"body {e.body!r}")
        return
    raise AssertionError("no RateLimitError")


@check("an unknown key is AuthenticationError, an unknown model NotFoundError")
def _():
    try:
        client("sk-nobody", max_retries=0).messages.create(
            model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "a"}])
        raise AssertionError("no AuthenticationError")
    except anthropic.AuthenticationError as e:
        expect(error_of(e).get("type") == "authentication_error", f"body {e.body!r}")
    try:
        client("sk-fast", max_retries=0).messages.create(
            model="claude-nope-1", max_tokens=5, messages=[{"role": "user", "content": "a"}])
        raise AssertionError("no NotFoundError")
    except anthropic.NotFoundError as e:
        expect(error_of(e).get("type") == "not_found_error", f"body {e.body!r}")


with open(sys.argv[2], "w") as f:
    f.write(f"{RESULTS.count(True)} {RESULTS.count(False)}\n")
