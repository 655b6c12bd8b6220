"""The official Python SDK (`anthropic`) against `limitlab serve`, and the tool calling and
structured output of litellm and langchain-anthropic when they are installed.

Run by tests/mock-sdk.sh, which starts the server with the config these checks expect and
passes its base URL. Prints one line per check and writes "PASSED FAILED" to the file named
by the second argument, for the script's summary.
"""

import os
import sys
import time
import traceback
import urllib.request
import warnings

import anthropic

# litellm would fetch its model price map from GitHub at import; the copy it ships is enough.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

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



WEATHER = {
    "name": "get_weather",
    "description": "The weather at a place",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "minLength": 2},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["location", "unit", "days"],
    },
}


def valid_against(instance, schema):
    """Schema validation with jsonschema when installed, else the checks this schema needs."""
    try:
        import jsonschema
    except ImportError:
        expect(isinstance(instance, dict) and set(schema.get("required", [])) <= set(instance), f"{instance!r}")
        return
    jsonschema.validate(instance, schema)


@check("SDK tool-calling loop: a tool_use with schema-valid input, then the answer (default: one round)")
def _():
    c = client("sk-fast")
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    requests = 0
    while True:
        msg = c.messages.create(model=MODEL, max_tokens=512, tools=[WEATHER], messages=messages)
        requests += 1
        if msg.stop_reason != "tool_use":
            break
        calls = [b for b in msg.content if b.type == "tool_use"]
        expect(len(calls) == 1 and calls[0].name == "get_weather", f"content {msg.content!r}")
        valid_against(calls[0].input, WEATHER["input_schema"])
        messages.append({"role": "assistant", "content": msg.content})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": calls[0].id, "content": "18 C, sunny"}]})
        expect(requests < 10, "the loop does not end")
    expect(requests == 2, f"{requests} requests, expected 2 (one tool round, then the answer)")
    expect(msg.stop_reason == "end_turn" and msg.content[0].type == "text", f"final {msg!r}")


@check("SDK streaming tool call: input_json_delta pieces accumulate to the parsed input")
def _():
    with client("sk-fast").messages.stream(
            model=MODEL, max_tokens=512, tools=[WEATHER], tool_choice={"type": "any"},
            messages=[{"role": "user", "content": "Weather?"}]) as stream:
        kinds = {e.delta.type for e in stream if e.type == "content_block_delta"}
        final = stream.get_final_message()
    expect(kinds == {"input_json_delta"}, f"delta types {kinds}")
    expect(final.stop_reason == "tool_use", f"stop_reason {final.stop_reason}")
    valid_against(final.content[0].input, WEATHER["input_schema"])


@check("SDK: the real API's 400s for common mistakes surface as BadRequestError")
def _():
    c = client("sk-fast", max_retries=0)
    cases = [
        (dict(max_tokens=1_000_000, timeout=30), "maximum allowed number of output tokens"),
        (dict(max_tokens=10, extra_body={"temperature": 1.5}), "temperature: Input should be less than or equal to 1"),
        (dict(max_tokens=10, extra_body={"foo": 1}), "foo: Extra inputs are not permitted"),
        (dict(max_tokens=10, tool_choice={"type": "auto"}), "tool_choice may only be specified while providing tools"),
        (dict(max_tokens=10, thinking={"type": "enabled", "budget_tokens": 100}), "greater than or equal to 1024"),
    ]
    for kw, text in cases:
        try:
            c.messages.create(model=MODEL, messages=[{"role": "user", "content": "a"}], **kw)
            raise AssertionError(f"no BadRequestError for {kw}")
        except anthropic.BadRequestError as e:
            err = error_of(e)
            expect(err.get("type") == "invalid_request_error" and text in err.get("message", ""), f"{kw}: {e.body!r}")
    try:
        c.messages.create(model=MODEL, max_tokens=10, messages=[
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "1"}]}])
        raise AssertionError("no BadRequestError for an orphan tool_result")
    except anthropic.BadRequestError as e:
        expect("unexpected `tool_use_id`" in error_of(e).get("message", ""), f"{e.body!r}")


@check("SDK: models.list paginates, models.retrieve resolves an alias, an unknown id is NotFoundError")
def _():
    c = client("sk-fast")
    whole = [m.id for m in c.models.list(limit=1000)]
    paged = [m.id for m in c.models.list(limit=3)]  # the SDK follows has_more / last_id
    expect(len(whole) > 3 and paged == whole, f"{paged} vs {whole}")
    m = c.models.retrieve("claude-sonnet-4-5")
    expect(m.id == "claude-sonnet-4-5-20250929" and m.max_tokens == 64000, f"{m!r}")
    for bad in ("claude-sonnet-4-9", "claude-sonnet-4-5-2025"):
        try:
            c.with_options(max_retries=0).messages.create(model=bad, max_tokens=5, messages=[{"role": "user", "content": "a"}])
            raise AssertionError(f"{bad} accepted")
        except anthropic.NotFoundError as e:
            expect(error_of(e).get("message") == f"model: {bad}", f"{e.body!r}")


@check("SDK: stop_sequences end the reply with stop_reason stop_sequence")
def _():
    c = client("sk-fast")
    text = c.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "a"}]).content[0].text
    seq = text[40:47]
    msg = c.messages.create(model=MODEL, max_tokens=64, stop_sequences=[seq], messages=[{"role": "user", "content": "a"}])
    expect(msg.stop_reason == "stop_sequence" and msg.stop_sequence == seq, f"{msg.stop_reason} {msg.stop_sequence!r}")
    expect(msg.content[0].text == text[:text.index(seq)], "text is not cut where the sequence starts")


@check("SDK: extended thinking gives a signed thinking block, streamed as thinking_delta / signature_delta")
def _():
    c = client("sk-fast")
    kw = dict(model=MODEL, max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024},
              messages=[{"role": "user", "content": "Think"}])
    msg = c.messages.create(**kw)
    expect([b.type for b in msg.content] == ["thinking", "text"], f"{msg.content!r}")
    expect(msg.content[0].thinking and msg.content[0].signature, "empty thinking or signature")
    with c.messages.stream(**kw) as stream:
        kinds = [e.delta.type for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    expect("thinking_delta" in kinds and "signature_delta" in kinds and "text_delta" in kinds, f"{set(kinds)}")
    expect(final.content[0].signature == msg.content[0].signature, "signature differs")


@check("SDK: messages.parse returns a schema-valid parsed_output (structured output)")
def _():
    from pydantic import BaseModel

    class Person(BaseModel):
        name: str
        age: int
        tags: list[str]

    msg = client("sk-fast").messages.parse(model=MODEL, max_tokens=512, output_format=Person,
                                          messages=[{"role": "user", "content": "Who?"}])
    expect(isinstance(msg.parsed_output, Person), f"{msg!r}")


def optional(module):
    try:
        return __import__(module)
    except ImportError:
        print(f"skip - {module} is not installed")
        return None


if optional("litellm"):
    @check("litellm: tool calling and structured output return parsed results")
    def _():
        import json
        import litellm
        tool = {"type": "function", "function": {"name": WEATHER["name"], "description": WEATHER["description"],
                                                 "parameters": WEATHER["input_schema"]}}
        r = litellm.completion(model="anthropic/" + MODEL, api_base=BASE, api_key="sk-fast", max_tokens=256,
                               messages=[{"role": "user", "content": "Weather?"}], tools=[tool])
        calls = r.choices[0].message.tool_calls
        expect(r.choices[0].finish_reason == "tool_calls" and calls, f"{r!r}")
        valid_against(json.loads(calls[0].function.arguments), WEATHER["input_schema"])
        schema = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
                  "required": ["city", "population"], "additionalProperties": False}
        r = litellm.completion(model="anthropic/" + MODEL, api_base=BASE, api_key="sk-fast", max_tokens=256,
                               messages=[{"role": "user", "content": "A city"}],
                               response_format={"type": "json_schema",
                                                "json_schema": {"name": "city", "schema": schema, "strict": True}})
        valid_against(json.loads(r.choices[0].message.content), schema)

if optional("langchain_anthropic"):
    @check("langchain-anthropic: bind_tools and with_structured_output return parsed results")
    def _():
        from langchain_anthropic import ChatAnthropic
        from pydantic import BaseModel

        llm = ChatAnthropic(model=MODEL, anthropic_api_url=BASE, api_key="sk-fast", max_tokens=256, max_retries=0)
        ai = llm.bind_tools([WEATHER]).invoke("Weather in Paris?")
        expect(ai.tool_calls and ai.tool_calls[0]["name"] == "get_weather", f"{ai!r}")
        valid_against(ai.tool_calls[0]["args"], WEATHER["input_schema"])

        class City(BaseModel):
            city: str
            population: int

        out = llm.with_structured_output(City).invoke("A city")
        expect(isinstance(out, City), f"{out!r}")


with open(sys.argv[2], "w") as f:
    f.write(f"{RESULTS.count(True)} {RESULTS.count(False)}\n")
