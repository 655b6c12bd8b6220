import LimitlabCore

/// The three Python formats: one module with `make_client()` and an async `call(client, **request)`,
/// plus a `__main__` that replays the scenario's arrivals against `ANTHROPIC_BASE_URL`.
///
/// All three turn the strategy's retry into code that sends `x-stainless-retry-count` (the SDK
/// sends it on its own retries), so a recording (`limitlab test`) counts a retry as a retry.
struct PythonExport {
    let plan: ExportPlan
    let format: ExportFormat
    let schedule: ExportSchedule?

    func render() throws(ExportError) -> ExportedFile {
        var gaps = plan.gaps
        let body: String
        switch format {
        case .anthropicPython: body = try anthropicPython(&gaps)
        case .tenacity: body = try tenacity(&gaps)
        case .aiolimiter: body = try aiolimiter(&gaps)
        case .bottleneck: throw ExportError("bottleneck is not a Python format")
        }
        if let q = queuePlan, q.maxQueue != nil || q.maxWait != nil {
            gaps.append(ExportGap("\(plan.roles[0].name).max_queue/max_wait", "the queue bounds (drop arrivals "
                                  + "beyond max_queue, drop requests waiting longer than max_wait) are not exported; "
                                  + "the Python client queues without bound"))
        }
        let text = header(gaps) + Py.pep8Spacing(body + driver())
        return ExportedFile(format: format, text: text, gaps: gaps)
    }

    private var queuePlan: QueuePlan? {
        if case .buckets(_, let q)? = plan.admission { return q }
        return nil
    }

    // MARK: Formats

    private func anthropicPython(_ gaps: inout [ExportGap]) throws(ExportError) -> String {
        if let a = plan.admission {
            throw ExportError("strategy \(plan.label) has a pre-send limiter (\(plan.roles[0].name)), which the SDK's "
                              + "settings cannot express; export it \(a.formats)")
        }
        let maxRetries: Int
        switch plan.retry {
        case .none:
            maxRetries = 0
        case .sdk(let variant, let retries, let initial, let maxDelay):
            switch variant {
            case "python": break
            case "python-0.121.0":
                gaps.append(ExportGap("sdk-default.variant", "python-0.121.0 honours retry-after only up to 60 s; "
                                      + "anthropic \(ExportLibraries.anthropicPython) honours any value (pin "
                                      + "anthropic==0.121.0 for the old rule)"))
            default:
                throw ExportError("strategy \(plan.label) retries as the \(variant) SDK; the Python SDK's settings "
                                  + "cannot express that; export it --as tenacity")
            }
            if initial != 0.5 || maxDelay != 8 {
                gaps.append(ExportGap("sdk-default.initial_delay/max_delay", "\(Units.formatDuration(initial)) / "
                                      + "\(Units.formatDuration(maxDelay)): the SDK's backoff base and cap are module "
                                      + "constants (INITIAL_RETRY_DELAY 0.5, MAX_RETRY_DELAY 8.0 in "
                                      + "anthropic/_constants.py), not settings; the export keeps 0.5 s and 8 s "
                                      + "(--as tenacity carries them)"))
            }
            maxRetries = retries
        default:
            throw ExportError("strategy \(plan.label) retries with its own curve (\(retryName)); the SDK's backoff is "
                              + "fixed (min(0.5·2^n, 8) s × (1 − 0.25·U)); export it --as tenacity")
        }
        var s = imports([])
        s += semaphoreBlock()
        s += """
            # The SDK retries by itself: max_retries retries after the first attempt on 408, 409, 429, 5xx and
            # connection errors (x-should-retry wins), waiting retry-after when the server sends one, else
            # min(0.5 * 2**n, 8) s * (1 - 0.25 * U). timeout: the SDK's default (10 minutes); limitlab's
            # strategies have no client timeout.
            CLIENT_SETTINGS = {"max_retries": \(maxRetries), "timeout": 600.0}


            def make_client() -> anthropic.AsyncAnthropic:
                \"\"\"The async client with the strategy's settings (the driver below is asyncio).\"\"\"
                return anthropic.AsyncAnthropic(**CLIENT_SETTINGS)


            def make_sync_client() -> anthropic.Anthropic:
                \"\"\"The same settings for synchronous code: anthropic.Anthropic(max_retries=..., timeout=...).\"\"\"
                return anthropic.Anthropic(**CLIENT_SETTINGS)


            async def call(client: anthropic.AsyncAnthropic, *, input_tokens: int | None = None, **request):
                \"\"\"One Messages request; the SDK does the retrying. input_tokens is unused here (the
                aiolimiter export charges it to its input-token bucket).\"\"\"
                async with CONCURRENCY:
                    return await client.messages.create(**request)


            """
        return s
    }

    private func tenacity(_ gaps: inout [ExportGap]) throws(ExportError) -> String {
        if let a = plan.admission {
            throw ExportError("strategy \(plan.label) has a pre-send limiter (\(plan.roles[0].name)); tenacity only "
                              + "retries; export it \(a.formats)")
        }
        let (wait, custom) = tenacityWait(plan.retry)
        var names = ["AsyncRetrying", "Retrying", "retry_if_exception", "stop_after_attempt"]
        if let w = wait.split(separator: "(").first, w.hasPrefix("wait_") { names.append(String(w)) }
        var s = imports(["from tenacity import " + names.sorted().joined(separator: ", ")])
        s += shouldRetry() + retryAfterHelper()
        if custom { s += backoffFunction() }
        s += semaphoreBlock()
        s += """
            # The strategy's retry in tenacity terms. should_retry (not retry_if_exception_type) because the
            # SDK's rule is on status codes and the x-should-retry header, not on exception classes alone.
            # @retry(**RETRY_SETTINGS) applies the same to any function, but cannot tell the server which
            # attempt it is sending (call() below does, so the report counts retries as retries).
            RETRY_SETTINGS = {
                "wait": \(wait),
                "stop": stop_after_attempt(\(plan.retry.maxAttempts)),
                "retry": retry_if_exception(should_retry),
                "reraise": True,
            }


            def make_client() -> anthropic.AsyncAnthropic:
                \"\"\"The SDK's own retries off: tenacity does the retrying.\"\"\"
                return anthropic.AsyncAnthropic(max_retries=0, timeout=600.0)


            async def call(client: anthropic.AsyncAnthropic, *, input_tokens: int | None = None, **request):
                \"\"\"One Messages request retried by tenacity. The loop form (rather than @retry) lets each
                attempt send tenacity's retry count as x-stainless-retry-count, as the SDK does, so the server
                (and limitlab's report) sees retries as retries. input_tokens is unused here.\"\"\"
                async for attempt in AsyncRetrying(**RETRY_SETTINGS):
                    with attempt:
                        retries = attempt.retry_state.attempt_number - 1
                        async with CONCURRENCY:
                            return await client.messages.create(
                                **request, extra_headers={"x-stainless-retry-count": str(retries)})


            def call_sync(client: anthropic.Anthropic, **request):
                \"\"\"The same retry for synchronous code (a client made with max_retries=0).\"\"\"
                for attempt in Retrying(**RETRY_SETTINGS):
                    with attempt:
                        retries = attempt.retry_state.attempt_number - 1
                        return client.messages.create(**request, extra_headers={"x-stainless-retry-count": str(retries)})


            """
        return s
    }

    private func aiolimiter(_ gaps: inout [ExportGap]) throws(ExportError) -> String {
        var limiters = ""
        var acquires: [String] = []
        switch plan.admission {
        case .bottleneck?:
            throw ExportError("strategy \(plan.label) is Bottleneck's scheduler; export it --as bottleneck")
        case .buckets(let buckets, _)?:
            for b in buckets {
                if !b.startsFull {
                    gaps.append(ExportGap("token-bucket.initial_fill", "empty: an AsyncLimiter starts with level 0, "
                                          + "which is a full bucket; the export's first \(Py.num(b.capacity)) "
                                          + "\(b.dimension.rawValue) go at once"))
                }
                let name = b.dimension == .requests ? "REQUESTS" : "INPUT_TOKENS"
                // AsyncLimiter(max_rate, time_period): capacity max_rate, leaking max_rate/time_period a second.
                limiters += """
                    # \(b.origin): a bucket of \(Py.num(b.capacity)) \(b.dimension.rawValue) refilled at \
                    \(Py.num(b.rate)) a second.
                    \(name) = AsyncLimiter(max_rate=\(Py.num(b.capacity)), time_period=\(Py.num(b.capacity / b.rate)))

                    """
                acquires.append(b.dimension == .requests
                    ? "await REQUESTS.acquire()"
                    // A prompt larger than the bucket would raise ValueError; limitlab lets it through on a full bucket.
                    : "await INPUT_TOKENS.acquire(min(input_tokens if input_tokens is not None else estimate_tokens(request), "
                        + "INPUT_TOKENS.max_rate))")
            }
        case nil:
            guard plan.concurrency != nil else {
                throw ExportError("strategy \(plan.label) has neither a pre-send limiter nor a concurrency limit, "
                                  + "which is what aiolimiter and asyncio.Semaphore carry; export it --as tenacity or "
                                  + "--as anthropic-python")
            }
            limiters = "# No pre-send limiter in this strategy: only the concurrency limit.\n"
        }
        var s = imports(["from aiolimiter import AsyncLimiter"])
        s += shouldRetry() + retryAfterHelper() + backoffFunction()
        s += semaphoreBlock()
        s += limiters + "\n\n"
        if acquires.contains(where: { $0.contains("estimate_tokens") }) {
            s += """
                def estimate_tokens(request: dict) -> int:
                    \"\"\"The prompt's tokens as limitlab's mock counts them (4 bytes a token), when the caller gives none.\"\"\"
                    return max(1, len(str(request.get("messages", ""))) // 4)


                """
        }
        let acquire = acquires.map { "                " + $0 }.joined(separator: "\n")
        s += """
            def make_client() -> anthropic.AsyncAnthropic:
                \"\"\"The SDK's own retries off: its retries would skip the limiter, the strategy's go through it.\"\"\"
                return anthropic.AsyncAnthropic(max_retries=0, timeout=600.0)


            async def call(client: anthropic.AsyncAnthropic, *, input_tokens: int | None = None, **request):
                \"\"\"One Messages request: a concurrency slot, then the limiter, then the call; a failed attempt
                waits out backoff() outside both and queues again, as limitlab's pipeline does.\"\"\"
                attempt = 1
                while True:
                    try:
                        async with CONCURRENCY:
            \(acquire.isEmpty ? "                pass  # no limiter" : acquire)
                            return await client.messages.create(
                                **request, extra_headers={"x-stainless-retry-count": str(attempt - 1)})
                    except (anthropic.APIStatusError, anthropic.APIConnectionError) as exc:
                        wait = backoff(attempt, exc)
                        if wait is None:
                            raise
                    await asyncio.sleep(wait)
                    attempt += 1


            """
        return s
    }

    // MARK: Shared pieces

    private var retryName: String {
        plan.roles.first { $0.key == "retry" }?.name ?? plan.roles[0].name
    }

    private func header(_ gaps: [ExportGap]) -> String {
        let arrivals = schedule.map { "\($0.arrivals.count) arrivals of scenario \($0.scenario) (seed \($0.seed))" }
        var s = "\"\"\"limitlab strategy \(plan.label) as \(format.rawValue), for \(format.library).\n\n"
        s += "Written by `limitlab export`. The strategy as limitlab simulates it"
        s += plan.preset.map { " (preset \($0))" } ?? ""
        s += ":\n"
        for r in plan.roles { s += "    \(Py.docstring(r.line))\n" }
        s += "\nNot carried over (limitlab's figures for this strategy assume them):\n"
        s += gaps.isEmpty ? "    nothing: every parameter above is carried exactly.\n"
            : gaps.map { "    - \(Py.docstring($0.description))\n" }.joined()
        s += "\nUse it: `from <this module> import make_client, call`, then `await call(client, model=..., "
        s += "max_tokens=..., messages=[...])`.\n"
        s += "Run it: `python3 <this file>` sends "
        s += arrivals ?? "one request"
        s += " to ANTHROPIC_BASE_URL\n(for example under `limitlab test SCENARIO -- python3 <this file>`).\n"
        var needs = ["anthropic==\(ExportLibraries.anthropicPython)"]
        if format == .tenacity { needs.append("tenacity==\(ExportLibraries.tenacity)") }
        if format == .aiolimiter { needs.append("aiolimiter==\(ExportLibraries.aiolimiter)") }
        s += "Needs: pip install \(needs.joined(separator: " ")) (Python 3.10 or later).\n\"\"\"\n"
        return s
    }

    private func imports(_ extra: [String]) -> String {
        (["import asyncio", "import contextlib", "import math", "import random", "import sys", "import time", "",
          "import anthropic"] + extra).joined(separator: "\n") + "\n\n\n"
    }

    private func semaphoreBlock() -> String {
        if let n = plan.concurrency {
            return """
                # concurrency fixed: at most \(n) attempts in flight (N workers on an asyncio.Queue behave the same).
                CONCURRENCY = asyncio.Semaphore(\(n))


                """
        }
        return "# No concurrency limit in this strategy.\nCONCURRENCY = contextlib.nullcontext()\n\n\n"
    }

    /// limitlab's retryability rule (`Retryability`), mirroring the official SDKs.
    private func shouldRetry() -> String {
        """
        def retryable(exc: BaseException) -> bool:
            \"\"\"As the official SDKs: x-should-retry wins; else 408, 409, 429, 5xx and connection errors.\"\"\"
            if isinstance(exc, anthropic.APIStatusError):
                hint = exc.response.headers.get("x-should-retry")
                if hint in ("true", "false"):
                    return hint == "true"
                return exc.status_code in (408, 409, 429) or exc.status_code >= 500
            return isinstance(exc, anthropic.APIConnectionError)  # includes APITimeoutError


        def should_retry(exc: BaseException) -> bool:
            \"\"\"retryable(), and no retry-after the strategy gives up on.\"\"\"
            return retryable(exc) and not gives_up_on_hint(retry_after(exc))


        """
    }

    private func retryAfterHelper() -> String {
        """
        def retry_after(exc: BaseException) -> float | None:
            \"\"\"The server's retry-after in seconds (retry-after-ms first, as the SDK reads it), or None.\"\"\"
            if not isinstance(exc, anthropic.APIStatusError):
                return None
            for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
                try:
                    return float(exc.response.headers[name]) * scale
                except (KeyError, ValueError):
                    continue
            return None


        def _grow(base: float, exponent: int) -> float:
            \"\"\"base ** exponent, inf on overflow.\"\"\"
            try:
                return base ** exponent
            except OverflowError:
                return math.inf


        \(givesUpFunction())

        """
    }

    private func givesUpFunction() -> String {
        var cond = "False"
        switch plan.retry {
        case .sdk("openai-python", _, _, _): cond = "hint is not None and hint > 120.0  # openai-python: no retry above 120 s"
        case .retryAfter(_, let mode, _, let maxHonored?, true) where mode != "ignore":
            cond = "hint is not None and hint > \(Py.num(maxHonored))  # give_up_above: true"
        default: break
        }
        return """
            def gives_up_on_hint(hint: float | None) -> bool:
                \"\"\"Whether the strategy gives up on a retry-after this long.\"\"\"
                return \(cond)

            """
    }

    /// `backoff(attempt, exc)`: the strategy's retry decision in plain Python, over `_curve(attempt)`.
    private func backoffFunction() -> String {
        let max = plan.retry.maxAttempts
        var s = "def _curve(attempt: int) -> float:\n"
        s += "    \"\"\"The backoff after failed attempt `attempt` without a server hint.\"\"\"\n"
        s += Py.curveLines(plan.retry).map { "    " + $0 + "\n" }.joined()
        s += """


            def backoff(attempt: int, exc: BaseException) -> float | None:
                \"\"\"Seconds to wait after failed attempt `attempt` (1-based), or None to give up: \(max) \
            attempt\(max == 1 ? "" : "s") in all.\"\"\"
                if not should_retry(exc) or attempt >= \(max):
                    return None
                hint = retry_after(exc)

            """
        s += Py.hintLines(plan.retry).map { "    " + $0 + "\n" }.joined()
        s += "    return _curve(attempt)\n\n\n"
        return s
    }

    /// The tenacity wait for the plan: a built-in when one is exact, else `backoff()` as a callable.
    private func tenacityWait(_ retry: RetryPlan) -> (String, custom: Bool) {
        switch retry {
        case .immediate: return ("wait_none()", false)
        case .exponential(let base, let mult, let min, let cap, _):
            return ("wait_exponential(multiplier=\(Py.num(base)), exp_base=\(Py.num(mult)), min=\(Py.num(min))"
                    + (cap.map { ", max=\(Py.num($0))" } ?? "") + ")", false)
        case .fullJitter(let base, let cap, _):
            // limitlab's first ceiling is base · 2^1; tenacity's is multiplier · 2^0.
            return ("wait_random_exponential(multiplier=\(Py.num(2 * base)), max=\(Py.num(cap)))", false)
        case .tenacityJitter(let base, let mult, let jitter, let min, let cap, _):
            return ("wait_exponential_jitter(multiplier=\(Py.num(base)), exp_base=\(Py.num(mult)), "
                    + "jitter=\(Py.num(jitter)), min=\(Py.num(min))" + (cap.map { ", max=\(Py.num($0))" } ?? "") + ")", false)
        default:
            return ("lambda state: backoff(state.attempt_number, state.outcome.exception()) or 0.0", true)
        }
    }

    private func driver() -> String {
        let model = schedule?.model ?? "claude-sonnet-4-5"
        var rows = ""
        if let schedule {
            rows = "# The arrivals of scenario \(schedule.scenario) (seed \(schedule.seed)): (seconds from the start, "
                + "prompt tokens, max_tokens).\nARRIVALS = [\n"
            for a in schedule.arrivals {
                rows += "    (\(Py.num(a.at)), \(a.inputTokens), \(a.maxTokens)),\n"
            }
            rows += "]\n"
        } else {
            rows = "# No scenario given: one request. `limitlab export STRATEGY SCENARIO` replays a scenario's arrivals.\n"
                + "ARRIVALS = [(0.0, 16, 64)]\n"
        }
        return """
            MODEL = \(Py.string(model))
            \(rows)

            def prompt(i: int, tokens: int) -> str:
                \"\"\"A prompt limitlab's mock counts as `tokens` tokens (4 bytes a token, 7 for the message and the
                request), unique per request so that a recording tells requests apart.\"\"\"
                return f" r{i % 1000000:06d}" + " the" * max(0, tokens - 9)


            async def main() -> int:
                \"\"\"Replays ARRIVALS open-loop: each request starts at its time, whatever the others are doing.\"\"\"
                client = make_client()
                # Warm the SDK and the connection up before the clock starts, or the first arrivals go late
                # and in a bunch; a token count has its own limit and is not a Messages request.
                with contextlib.suppress(anthropic.AnthropicError):
                    await client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "warm-up"}])
                start = time.monotonic()
                outcomes: dict[str, int] = {}

                async def one(i: int, at: float, tokens: int, max_tokens: int) -> None:
                    delay = start + at - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    try:
                        await call(client, input_tokens=tokens, model=MODEL, max_tokens=max_tokens,
                                   messages=[{"role": "user", "content": prompt(i, tokens)}])
                        key = "ok"
                    except anthropic.APIStatusError as exc:
                        key = f"HTTP {exc.status_code}"
                    except anthropic.APIConnectionError:
                        key = "connection error"
                    outcomes[key] = outcomes.get(key, 0) + 1

                await asyncio.gather(*(one(i, *row) for i, row in enumerate(ARRIVALS)))
                await client.close()
                print(f"{len(ARRIVALS)} requests: {dict(sorted(outcomes.items()))}")
                return 0


            if __name__ == "__main__":
                sys.exit(asyncio.run(main()))

            """
    }
}

/// Python source helpers.
enum Py {
    /// A float literal that reads back as the same double (`math.inf` for ∞).
    static func num(_ x: Double) -> String {
        if x.isNaN { return "math.nan" }
        if x.isInfinite { return x > 0 ? "math.inf" : "-math.inf" }
        return "\(x)"
    }

    static func string(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Two blank lines before a top-level statement that follows an indented block (PEP 8), never
    /// more than two anywhere.
    static func pep8Spacing(_ text: String) -> String {
        var out: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let topLevel = !line.isEmpty && !line.first!.isWhitespace && !line.hasPrefix(")") && !line.hasPrefix("]")
                && !line.hasPrefix("}") && !line.hasPrefix("\"\"\"")
            if topLevel, let last = out.last(where: { !$0.isEmpty }), last.first?.isWhitespace == true {
                while out.last?.isEmpty == true { out.removeLast() }
                out.append(contentsOf: ["", ""])
            }
            if line.isEmpty && out.count >= 2 && out[out.count - 1].isEmpty && out[out.count - 2].isEmpty { continue }
            out.append(line)
        }
        return out.joined(separator: "\n")
    }

    /// Text safe inside a triple-quoted docstring.
    static func docstring(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"\"\"", with: "\\\"\\\"\\\"")
    }

    /// How a server hint overrides the curve (`hint` is bound to retry_after(exc)).
    static func hintLines(_ retry: RetryPlan) -> [String] {
        switch retry {
        case .sdk(let variant, _, _, _):
            switch variant {
            case "python": return ["if hint is not None and hint > 0:  # anthropic 2.17.0: any hint, at most 2**32 ms",
                                   "    return min(hint, 4294967.0)"]
            case "python-0.121.0": return ["if hint is not None and 0 < hint <= 60:  # anthropic 0.121.0: hints up to 60 s",
                                           "    return hint"]
            case "typescript": return ["if hint is not None and hint >= 0:  # anthropic-sdk-typescript: any hint",
                                       "    return hint"]
            default: return ["if hint is not None and 0 < hint <= 120:  # openai-python: hints up to 120 s",
                             "    return hint"]
            }
        case .retryAfter(_, let mode, let jitter, let maxHonored, _):
            if mode == "ignore" { return ["# retry-after mode ignore: the hint is not used."] }
            let usable = "hint is not None and 0 < hint" + (maxHonored.map { " <= \(num($0))" } ?? "")
            switch mode {
            case "exact": return ["if \(usable):  # retry-after mode exact", "    return hint"]
            case "exact+jitter": return ["if \(usable):  # retry-after mode exact+jitter",
                                         "    return hint + \(num(jitter)) * random.random()"]
            default: return ["if \(usable):  # retry-after mode max: max(hint, backoff)",
                             "    return max(hint, _curve(attempt))"]
            }
        default:
            return ["# This retry does not read retry-after."]
        }
    }

    /// The backoff curve's statements, ending in a return.
    static func curveLines(_ retry: RetryPlan) -> [String] {
        switch retry {
        case .decorrelatedJitter(let base, let cap, let mult, _):
            return ["# decorrelated-jitter: s = min(cap, U(base, multiplier * s)) from s = base, `attempt` steps",
                    "sleep = \(num(base))",
                    "for _ in range(max(1, attempt)):",
                    "    sleep = min(\(num(cap)), \(num(base)) + (\(num(mult)) * sleep - \(num(base))) * random.random())",
                    "return sleep"]
        case .equalJitter(let base, let cap, _):
            return ["v = min(\(num(cap)), \(num(base)) * _grow(2.0, attempt))  # equal-jitter: v/2 + U(0, v/2)",
                    "return v / 2 + v / 2 * random.random()"]
        case .tenacityJitter(let base, let mult, let jitter, let min, let cap, _):
            let c = cap.map(num) ?? "math.inf"
            return ["value = \(num(base)) * _grow(\(num(mult)), attempt - 1)  # tenacity wait_exponential_jitter",
                    "value = value + \(num(jitter)) * random.random() if math.isfinite(value) else \(c)",
                    "return max(\(num(min)), min(value, \(c)))"]
        case .retryAfter(let inner, _, _, _, _):
            return curveLines(inner)
        default:
            return ["return \(curveExpression(retry) ?? "0.0")"]
        }
    }

    /// The curve as one expression of `attempt`, where there is one.
    static func curveExpression(_ retry: RetryPlan) -> String? {
        switch retry {
        case .none, .immediate: return "0.0"
        case .sdk(_, _, let initial, let maxDelay):
            return "min(\(num(initial)) * _grow(2.0, attempt - 1), \(num(maxDelay))) * (1 - 0.25 * random.random())"
        case .exponential(let base, let mult, let min, let cap, _):
            return "max(\(num(min)), min(\(num(base)) * _grow(\(num(mult)), attempt - 1), \(cap.map(num) ?? "math.inf")))"
        case .fullJitter(let base, let cap, _):
            return "min(\(num(cap)), \(num(base)) * _grow(2.0, attempt)) * random.random()"
        case .retryAfter(let inner, _, _, _, _):
            return curveExpression(inner)
        case .equalJitter(let base, let cap, _):
            return "(lambda v: v / 2 + v / 2 * random.random())(min(\(num(cap)), \(num(base)) * _grow(2.0, attempt)))"
        case .decorrelatedJitter, .tenacityJitter:
            return nil
        }
    }
}
