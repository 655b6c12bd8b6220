import LimitlabCore

/// Bottleneck's options object (v2.19.5) in a small CommonJS module around the TypeScript SDK:
/// `makeClient()`, `call(client, request)`, and a `require.main` block that replays the
/// scenario's arrivals.
struct BottleneckExport {
    let plan: ExportPlan
    let schedule: ExportSchedule?

    /// Heartbeat of Bottleneck's local datastore: refresh and increase happen on its ticks.
    static let heartbeat = 0.25

    func render() throws(ExportError) -> ExportedFile {
        var gaps = plan.gaps
        var options: [(String, String)] = []
        var retryInside = false
        var jobOptions = ""
        switch plan.admission {
        case .bottleneck(let b)?:
            options = Self.options(b)
            retryInside = b.retryInside
            if b.weight != 1 || b.priority != 5 { jobOptions = "{ weight: \(b.weight), priority: \(b.priority) }" }
        case .buckets(let buckets, let queue)?:
            for bucket in buckets {
                if bucket.dimension == .inputTokens {
                    gaps.append(ExportGap("token-bucket.itpm", "an input-token bucket needs a job weight per prompt "
                                          + "and a second limiter (Bottleneck's chain()); the export limits requests only"))
                    continue
                }
                options += try Self.bucketOptions(bucket, gaps: &gaps)
            }
            if let m = queue.maxQueue {
                // limitlab drops an arrival that finds max_queue waiting: OVERFLOW drops the new job.
                options.append(("highWater", "\(m)"))
                options.append(("strategy", "Bottleneck.strategy.OVERFLOW"))
            }
            if queue.maxWait != nil {
                gaps.append(ExportGap("max_wait", "Bottleneck's expiration bounds a job's run, not its time in the "
                                      + "queue; the export does not drop requests that waited too long"))
            }
        case nil:
            if plan.concurrency == nil {
                throw ExportError("strategy \(plan.label) has neither a pre-send limiter nor a concurrency limit, "
                                  + "which is what Bottleneck carries; export it --as tenacity or --as anthropic-python")
            }
        }
        if let n = plan.concurrency { options.insert(("maxConcurrent", "\(n)"), at: 0) }
        let text = header(gaps) + body(options: options, retryInside: retryInside, jobOptions: jobOptions) + driver()
        return ExportedFile(format: .bottleneck, text: text, gaps: gaps)
    }

    /// The port's settings as Bottleneck's option names, durations in milliseconds; defaults left out.
    static func options(_ b: BottleneckSettings) -> [(String, String)] {
        var o: [(String, String)] = []
        if let m = b.maxConcurrent { o.append(("maxConcurrent", "\(m)")) }
        if b.minTime > 0 { o.append(("minTime", JS.ms(b.minTime))) }
        if let h = b.highWater { o.append(("highWater", "\(h)")) }
        if b.strategy != .leak { o.append(("strategy", "Bottleneck.strategy.\(b.strategy.rawValue)")) }
        if let p = b.penalty { o.append(("penalty", JS.ms(p))) }
        if let r = b.reservoir { o.append(("reservoir", "\(r)")) }
        if let i = b.reservoirRefreshInterval { o.append(("reservoirRefreshInterval", JS.ms(i))) }
        if let a = b.reservoirRefreshAmount { o.append(("reservoirRefreshAmount", "\(a)")) }
        if let i = b.reservoirIncreaseInterval { o.append(("reservoirIncreaseInterval", JS.ms(i))) }
        if let a = b.reservoirIncreaseAmount { o.append(("reservoirIncreaseAmount", "\(a)")) }
        if let m = b.reservoirIncreaseMaximum { o.append(("reservoirIncreaseMaximum", "\(m)")) }
        if b.heartbeatInterval != heartbeat { o.append(("heartbeatInterval", JS.ms(b.heartbeatInterval))) }
        return o
    }

    /// A requests bucket as Bottleneck options: a bucket of one is `minTime` (start spacing, exact);
    /// a larger one is the README's "burst then steady" recipe, a reservoir increased on the heartbeat.
    static func bucketOptions(_ b: BucketPlan, gaps: inout [ExportGap]) throws(ExportError) -> [(String, String)] {
        if b.capacity == 1 {
            return [("minTime", JS.ms(1 / b.rate))]
        }
        let capacity = Int(b.capacity.rounded(.down))
        if Double(capacity) != b.capacity {
            gaps.append(ExportGap("\(b.origin) capacity", "\(Py.num(b.capacity)) requests: Bottleneck's reservoir "
                                  + "is a whole number; the export holds \(capacity)"))
        }
        // The increase applies on heartbeat ticks, so its interval is a whole number of heartbeats with a
        // whole amount: the shortest such interval (up to a minute) that carries the rate exactly.
        var interval = heartbeat, amount = (b.rate * heartbeat).rounded()
        for k in 1...240 {
            let i = Double(k) * heartbeat
            let a = b.rate * i
            if abs(a - a.rounded()) < 1e-9 * Swift.max(1, a) && a.rounded() >= 1 { interval = i; amount = a.rounded(); break }
        }
        if amount < 1 { amount = 1; interval = 1 / b.rate }
        if abs(amount / interval - b.rate) > 1e-9 * b.rate {
            gaps.append(ExportGap("\(b.origin) rate", "\(Py.num(b.rate))/s is not a whole number of requests per "
                                  + "heartbeat multiple; the export adds \(Int(amount)) every \(JS.ms(interval)) ms"))
        }
        gaps.append(ExportGap("\(b.origin) refill", "continuous; Bottleneck adds \(Int(amount)) every "
                              + "\(JS.ms(interval)) ms on its \(JS.ms(heartbeat)) ms heartbeat (late, never early)"))
        return [("reservoir", "\(b.startsFull ? capacity : 0)"), ("reservoirIncreaseAmount", "\(Int(amount))"),
                ("reservoirIncreaseInterval", JS.ms(interval)), ("reservoirIncreaseMaximum", "\(capacity)")]
    }

    private func header(_ gaps: [ExportGap]) -> String {
        var s = "// limitlab strategy \(plan.label) as Bottleneck options, for \(ExportFormat.bottleneck.library).\n//\n"
        s += "// Written by `limitlab export`. The strategy as limitlab simulates it"
        s += (plan.preset.map { " (preset \($0))" } ?? "") + ":\n"
        for r in plan.roles { s += "//     \(r.line)\n" }
        s += "//\n// Not carried over (limitlab's figures for this strategy assume them):\n"
        s += gaps.isEmpty ? "//     nothing: every parameter above is carried exactly.\n"
            : gaps.map { "//     - \($0.description)\n" }.joined()
        s += "//\n// Use it: `const { makeClient, call } = require(\"./<this file>\")`, then "
        s += "`await call(client, { model, max_tokens, messages })`.\n"
        s += "// Run it: `node <this file>` sends "
        s += schedule.map { "the \($0.arrivals.count) arrivals of scenario \($0.scenario) (seed \($0.seed))" } ?? "one request"
        s += " to ANTHROPIC_BASE_URL.\n"
        s += "// Needs: npm install bottleneck@\(ExportLibraries.bottleneck) "
        s += "@anthropic-ai/sdk@\(ExportLibraries.anthropicTypeScript) (Node 18 or later).\n"
        s += "\"use strict\";\nconst Bottleneck = require(\"bottleneck\");\nconst Anthropic = require(\"@anthropic-ai/sdk\");\n\n"
        return s
    }

    private func body(options: [(String, String)], retryInside: Bool, jobOptions: String) -> String {
        let opts = options.isEmpty ? "{}" : "{\n" + options.map { "  \($0.0): \($0.1)," }.joined(separator: "\n") + "\n}"
        let schedule = jobOptions.isEmpty ? "limiter.schedule(" : "limiter.schedule(\(jobOptions), "
        var s = """
            const OPTIONS = \(opts);
            const limiter = new Bottleneck(OPTIONS);

            /** As the official SDKs: x-should-retry wins; else 408, 409, 429, 5xx and connection errors. */
            function retryable(err) {
              if (err instanceof Anthropic.APIConnectionError) return true;
              if (!(err instanceof Anthropic.APIError) || err.status === undefined) return false;
              const hint = header(err, "x-should-retry");
              if (hint === "true" || hint === "false") return hint === "true";
              return [408, 409, 429].includes(err.status) || err.status >= 500;
            }

            function header(err, name) {
              const h = err && err.headers;
              if (!h) return undefined;
              return typeof h.get === "function" ? h.get(name) ?? undefined : h[name];
            }

            /** The server's retry-after in seconds (retry-after-ms first), or null. */
            function retryAfter(err) {
              const ms = parseFloat(header(err, "retry-after-ms"));
              if (!Number.isNaN(ms)) return ms / 1000;
              const s = parseFloat(header(err, "retry-after"));
              return Number.isNaN(s) ? null : s;
            }

            const grow = (base, exponent) => Math.pow(base, exponent);

            \(JS.backoff(plan.retry))

            /** The SDK's own retries off: the strategy's retries go through the limiter again. */
            function makeClient() {
              return new Anthropic({ maxRetries: 0 });
            }


            """
        if retryInside {
            s += """
                // retry_inside: Bottleneck's failed event returns the wait; the job keeps its maxConcurrent share
                // and skips minTime and the reservoir (Bottleneck 2.19.5 README, "Retries").
                limiter.on("failed", (err, jobInfo) => {
                  const wait = backoff(jobInfo.retryCount + 1, err);
                  return wait === null ? undefined : wait * 1000;
                });

                /** One Messages request through the limiter. */
                async function call(client, request) {
                  let tries = 0;
                  return \(schedule)() =>
                    client.messages.create(request, { headers: { "x-stainless-retry-count": String(tries++) } }));
                }

                """
        } else {
            s += """
                /** One Messages request: each attempt goes through the limiter; a failed one waits out backoff()
                 *  outside it and is scheduled again, as limitlab's pipeline does. */
                async function call(client, request) {
                  for (let attempt = 1; ; attempt++) {
                    try {
                      return await \(schedule)() =>
                        client.messages.create(request, { headers: { "x-stainless-retry-count": String(attempt - 1) } }));
                    } catch (err) {
                      const wait = backoff(attempt, err);
                      if (wait === null) throw err;
                      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
                    }
                  }
                }

                """
        }
        return s
    }

    private func driver() -> String {
        var rows = ""
        if let schedule {
            rows = "// The arrivals of scenario \(schedule.scenario) (seed \(schedule.seed)): [seconds from the start, "
                + "prompt tokens, max_tokens].\nconst ARRIVALS = [\n"
            rows += schedule.arrivals.map { "  [\(Py.num($0.at)), \($0.inputTokens), \($0.maxTokens)]," }.joined(separator: "\n")
            rows += "\n];\n"
        } else {
            rows = "// No scenario given: one request.\nconst ARRIVALS = [[0, 16, 64]];\n"
        }
        return """

            const MODEL = \(Py.string(schedule?.model ?? "claude-sonnet-4-5"));
            \(rows)
            /** A prompt limitlab's mock counts as `tokens` tokens, unique per request. */
            const prompt = (i, tokens) => ` r${String(i % 1000000).padStart(6, "0")}` + " the".repeat(Math.max(0, tokens - 9));

            async function main() {
              const client = makeClient();
              // Warm the SDK and the connection up before the clock starts (a token count has its own limit).
              await client.messages.countTokens({ model: MODEL, messages: [{ role: "user", content: "warm-up" }] }).catch(() => {});
              const start = Date.now();
              const outcomes = {};
              await Promise.all(ARRIVALS.map(async ([at, tokens, maxTokens], i) => {
                await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + at * 1000 - Date.now())));
                let key = "ok";
                try {
                  await call(client, { model: MODEL, max_tokens: maxTokens, messages: [{ role: "user", content: prompt(i, tokens) }] });
                } catch (err) {
                  key = err instanceof Anthropic.APIError && err.status ? `HTTP ${err.status}` : "error";
                }
                outcomes[key] = (outcomes[key] || 0) + 1;
              }));
              console.log(`${ARRIVALS.length} requests:`, outcomes);
              await limiter.stop({ dropWaitingJobs: false });
            }

            module.exports = { OPTIONS, limiter, makeClient, call, backoff };

            if (require.main === module) {
              main().catch((err) => { console.error(err); process.exit(1); });
            }

            """
    }
}

/// JavaScript source helpers.
enum JS {
    /// Seconds as a millisecond literal.
    static func ms(_ seconds: Double) -> String {
        let v = seconds * 1000
        return v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : "\(v)"
    }

    static func num(_ x: Double) -> String {
        x.isInfinite ? (x > 0 ? "Infinity" : "-Infinity") : "\(x)"
    }

    /// `backoff(attempt, err)`: seconds, or null to give up.
    static func backoff(_ retry: RetryPlan) -> String {
        let max = retry.maxAttempts
        var hint = "  // This retry does not read retry-after.\n"
        var giveUp = ""
        switch retry {
        case .sdk(let variant, _, _, _):
            switch variant {
            case "python": hint = "  if (hint !== null && hint > 0) return Math.min(hint, 4294967); // anthropic-sdk-python 2.17.0\n"
            case "python-0.121.0": hint = "  if (hint !== null && hint > 0 && hint <= 60) return hint; // anthropic 0.121.0\n"
            case "typescript": hint = "  if (hint !== null && hint >= 0) return hint; // anthropic-sdk-typescript\n"
            default:
                giveUp = "  if (hint !== null && hint > 120) return null; // openai-python\n"
                hint = "  if (hint !== null && hint > 0) return hint;\n"
            }
        case .retryAfter(_, let mode, let jitter, let maxHonored, let giveUpAbove) where mode != "ignore":
            let usable = "hint !== null && hint > 0" + (maxHonored.map { " && hint <= \(num($0))" } ?? "")
            if let m = maxHonored, giveUpAbove { giveUp = "  if (hint !== null && hint > \(num(m))) return null; // give_up_above\n" }
            switch mode {
            case "exact": hint = "  if (\(usable)) return hint; // retry-after mode exact\n"
            case "exact+jitter": hint = "  if (\(usable)) return hint + \(num(jitter)) * Math.random(); // exact+jitter\n"
            default: hint = "  if (\(usable)) return Math.max(hint, curve(attempt)); // mode max\n"
            }
        default: break
        }
        return """
            /** The backoff after failed attempt `attempt` without a server hint. */
            function curve(attempt) {
            \(curve(retry))
            }

            /** Seconds to wait after failed attempt `attempt` (1-based), or null to give up: \(max) attempt\(max == 1 ? "" : "s") in all. */
            function backoff(attempt, err) {
              if (!retryable(err) || attempt >= \(max)) return null;
              const hint = retryAfter(err);
            \(giveUp)\(hint)  return curve(attempt);
            }
            """
    }

    static func curve(_ retry: RetryPlan) -> String {
        switch retry {
        case .none, .immediate: return "  return 0;"
        case .sdk(_, _, let initial, let maxDelay):
            return "  return Math.min(\(num(initial)) * grow(2, attempt - 1), \(num(maxDelay))) * (1 - 0.25 * Math.random());"
        case .exponential(let base, let mult, let min, let cap, _):
            return "  return Math.max(\(num(min)), Math.min(\(num(base)) * grow(\(num(mult)), attempt - 1), \(cap.map(num) ?? "Infinity")));"
        case .fullJitter(let base, let cap, _):
            return "  return Math.min(\(num(cap)), \(num(base)) * grow(2, attempt)) * Math.random();"
        case .equalJitter(let base, let cap, _):
            return "  const v = Math.min(\(num(cap)), \(num(base)) * grow(2, attempt));\n  return v / 2 + (v / 2) * Math.random();"
        case .decorrelatedJitter(let base, let cap, let mult, _):
            return "  let sleep = \(num(base));\n  for (let k = 0; k < Math.max(1, attempt); k++) "
                + "sleep = Math.min(\(num(cap)), \(num(base)) + (\(num(mult)) * sleep - \(num(base))) * Math.random());\n  return sleep;"
        case .tenacityJitter(let base, let mult, let jitter, let min, let cap, _):
            let c = cap.map(num) ?? "Infinity"
            return "  let value = \(num(base)) * grow(\(num(mult)), attempt - 1);\n"
                + "  value = Number.isFinite(value) ? value + \(num(jitter)) * Math.random() : \(c);\n"
                + "  return Math.max(\(num(min)), Math.min(value, \(c)));"
        case .retryAfter(let inner, _, _, _, _):
            return curve(inner)
        }
    }
}
