public import LimitlabCore
import Foundation
import Synchronization
import LimitlabWorkload
import LimitlabStrategies
internal import CCurl

/// Runs a scenario against a live HTTP target — the mock server or a real Messages API — on the
/// wall clock, with the same strategy objects the simulator drives and the same `RunLog`s.
///
/// Threading: one dedicated engine thread per runner owns the libcurl multi handle, every easy
/// handle and the strategy, and runs the event loop (`curl_multi_socket_action` over epoll, with
/// a nanosecond timeout up to the next arrival or wakeup). Other threads only call `stop()`, which
/// sets a flag under a lock and wakes the loop. Strategies run one after another on the same
/// arrival stream.
///
/// ```swift
/// let runner = LiveRunner(scenario: s, target: LiveTarget(baseURL: "http://127.0.0.1:\(port)"))
/// signal(SIGINT, SIG_IGN)   // then a DispatchSource for SIGINT calling runner.stop()
/// let result = try runner.run()
/// ```
public final class LiveRunner: Sendable {
    public let scenario: Scenario
    public let target: LiveTarget
    public let options: LiveOptions
    private let control = RunControl()

    public init(scenario: Scenario, target: LiveTarget, options: LiveOptions = LiveOptions()) {
        self.scenario = scenario
        self.target = target
        self.options = options
    }

    /// Runs every strategy of the scenario; blocks the calling thread (the engine has its own).
    /// Throws only when the run cannot start; failures during it end it early (`partial`).
    @available(*, noasync, message: "use the async run()")
    public func run() throws(LiveError) -> LiveResult {
        let box = ResultBox()
        try start { box.put($0) }
        return try box.take().get()
    }

    /// Runs every strategy of the scenario without blocking a Swift concurrency thread.
    public func run() async throws(LiveError) -> LiveResult {
        let result: Result<LiveResult, LiveError> = await withCheckedContinuation { k in
            do throws(LiveError) {
                try start { k.resume(returning: $0) }
            } catch {
                k.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }

    /// Stops the run from any thread: no new arrivals, the attempts in flight get
    /// `gracePeriod` to finish, strategies not yet started are skipped, the result is partial.
    /// Idempotent; safe to call from a signal-handling queue.
    public func stop() { control.requestStop() }

    /// Runs `scenario` with a new runner (no way to stop it early; use an instance for that).
    @available(*, noasync, message: "use the async run() of a LiveRunner")
    public static func run(scenario: Scenario, target: LiveTarget,
                           options: LiveOptions = LiveOptions()) throws(LiveError) -> LiveResult {
        try LiveRunner(scenario: scenario, target: target, options: options).run()
    }

    /// The checks `run` makes before sending anything: a spending cap (and a price to enforce
    /// it) for a non-loopback target, an http(s) URL, enough API keys, buildable strategies.
    public static func validate(scenario: Scenario, target: LiveTarget, options: LiveOptions) throws(LiveError) {
        let url = target.baseURL.lowercased()
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), target.host != nil else {
            throw LiveError(.configuration, "target \(target.baseURL): expected an http:// or https:// base URL "
                            + "(scheme://host[:port][/path], no user info, query or fragment)")
        }
        if let m = options.maxRequests, m < 0 {
            throw LiveError(.configuration, "maxRequests must be ≥ 0, got \(m)")
        }
        if let c = options.maxCostUSD, !(c >= 0) {
            throw LiveError(.configuration, "maxCostUSD must be ≥ 0, got \(c)")
        }
        let model = target.model ?? scenario.model
        if !target.isLoopback {
            guard options.maxCostUSD != nil else {
                let estimate = estimateCost(scenario: scenario, model: model)
                    .map { String(format: " (estimated %.2f USD, worst case %.2f USD)", $0.expectedUSD, $0.worstCaseUSD) }
                    ?? ""
                throw LiveError(.unsafeTarget, "target \(target.baseURL) is not on this machine: a spending cap is "
                                + "required (--max-cost-usd)\(estimate)")
            }
            guard TierCatalog.builtIn.prices(for: model) != nil else {
                throw LiveError(.unsafeTarget, "the catalog has no price for model \(model), so a spending cap cannot "
                                + "be enforced against \(target.baseURL)")
            }
            guard !target.apiKeys.isEmpty else {
                throw LiveError(.apiKey, "target \(target.baseURL) needs an API key (ANTHROPIC_API_KEY or --api-key-env)")
            }
        }
        let needed = scenario.limits.keyConfigs.count
        if !target.apiKeys.isEmpty && target.apiKeys.count < needed {
            throw LiveError(.configuration, "the scenario has \(needed) API keys (limits.keys) but the target was "
                            + "given \(target.apiKeys.count)")
        }
        for spec in scenario.strategies {
            do {
                _ = try StrategyFactory.make(spec, limits: scenario.limits.config, keys: scenario.limits.keyConfigs,
                                             seed: scenario.seed, models: scenario.modelIds)
            } catch {
                throw LiveError(.strategy, error.message)
            }
        }
    }

    /// The catalog estimate of the whole run (every strategy, one attempt per request), or nil
    /// when the catalog has no price for the model.
    public static func estimateCost(scenario: Scenario, model: String? = nil) -> LiveCostEstimate? {
        guard let p = TierCatalog.builtIn.prices(for: model ?? scenario.model) else { return nil }
        let stream = ArrivalGenerator.generate(scenario)
        let long = (scenario.workload.cache?.ttl ?? 300) >= 3600
        let write = long ? p.cacheWrite1h : p.cacheWrite5m
        var expected = 0.0, worst = 0.0
        var written = Set<Int16>()
        for r in 0..<stream.count {
            let prefix = Double(stream.prefixTokens[r])
            let uncached = Double(stream.inputTokens[r]) - prefix
            let first = written.insert(stream.prefixId[r]).inserted
            expected += uncached * p.input + prefix * (first ? write : p.cacheRead) + Double(stream.outputTokens[r]) * p.output
            worst += uncached * p.input + prefix * Swift.max(write, p.input) + Double(stream.maxTokens[r]) * p.output
        }
        let runs = Double(Swift.max(1, scenario.strategies.count))
        return LiveCostEstimate(requests: stream.count * Int(runs), expectedUSD: expected * runs / 1_000_000,
                                worstCaseUSD: worst * runs / 1_000_000, priceSource: "\(p.source) (\(p.asOf))")
    }

    // MARK: Internals

    private func start(_ finish: @escaping @Sendable (Result<LiveResult, LiveError>) -> Void) throws(LiveError) {
        try Self.validate(scenario: scenario, target: target, options: options)
        guard control.claim() else { throw LiveError(.state, "this LiveRunner has already run; create a new one") }
        guard CurlGlobal.ready else { throw LiveError(.curl, "libcurl could not be initialised") }
        if let timeout = options.watchdogTimeout, timeout > 0 {
            control.watch(timeout: timeout, makeResult: { [self] stream, runs, warnings, current, inCurl in
                var runs = runs
                var warnings = warnings
                if var run = current {
                    run.errorCauses = Dictionary(run.errorCauses.map { (LiveAPIKey.redact($0.key, keys: target.apiKeys), $0.value) },
                                                 uniquingKeysWith: +)
                    runs.append(run)
                }
                let running = runs.count < scenario.strategies.count ? scenario.strategies[runs.count].label : "?"
                warnings.insert(inCurl
                    ? String(format: "ENGINE STUCK: one libcurl call did not return for %.0f s; the run was "
                             + "abandoned and what was recorded until then is reported", timeout)
                    : String(format: "ENGINE STUCK: the engine's main loop made no progress for %.0f s (stuck in "
                             + "limitlab's own code, not in libcurl); the run was abandoned: the strategies that "
                             + "finished are reported, the run of %@ in progress is not (its state could not be "
                             + "read safely). Please report this with the scenario.", timeout, running), at: 0)
                return Self.result(scenario: scenario, stream: stream ?? ArrivalGenerator.generate(scenario), runs: runs,
                                   warnings: warnings, stopReason: .engineStuck)
            }, finish: finish)
        }
        let thread = Thread { [self] in control.deliver(self.execute(), to: finish) }
        thread.name = "limitlab-live"
        thread.start()
    }

    /// The engine thread's body.
    private func execute() -> Result<LiveResult, LiveError> {
        // One worker of several sends only its share of the arrivals (see LiveWorkerOptions).
        let stream = options.worker.map { ArrivalGenerator.generate(scenario).subset($0.requests) }
            ?? ArrivalGenerator.generate(scenario)
        let model = target.model ?? scenario.model
        let spend = SpendGuard(prices: TierCatalog.builtIn.prices(for: model), cap: options.maxCostUSD,
                               longCacheTTL: (scenario.workload.cache?.ttl ?? 300) >= 3600,
                               otherModels: scenario.models.map { TierCatalog.builtIn.prices(for: $0.model) })
        let counters = SharedCounters()
        let runNonce = Int.random(in: 0..<(36 * 36 * 36))
        var runs: [LiveRun] = []
        var warnings: [String] = []
        var stopReason: LiveStopReason?
        var currentTarget = target
        control.publish(stream: stream, runs: runs, warnings: warnings)

        for (i, spec) in scenario.strategies.enumerated() {
            if control.isStopRequested {
                stopReason = stopReason ?? .interrupted
                break
            }
            if i > 0 && options.pauseBetweenRuns > 0 && control.sleep(options.pauseBetweenRuns) {
                stopReason = .interrupted
                break
            }
            if let prepare = options.prepareRun {
                do {
                    if let t = try prepare(i, spec) { currentTarget = t }
                } catch {
                    warnings.append("run \(spec.label) not started: preparing it failed: \(error)")
                    stopReason = .preparationFailed
                    break
                }
            }
            // Workers start their first run together: model time 0 at the common start. A worker
            // that got there late has its shared-store clock moved forward by the delay, so the
            // store's `now` stays on the common clock (the report says so).
            var late = 0.0
            if i == 0, let w = options.worker, let at = w.startAt {
                // The condition wait is coarse; nanosleep the last stretch.
                if control.sleep(at - Clock.unixNow() - 0.002) {
                    stopReason = .interrupted
                    break
                }
                Clock.sleep(at - Clock.unixNow())
                late = Swift.max(0, Clock.unixNow() - at)
                if late > LiveWorkerOptions.lateStartWarning {
                    warnings.append(String(format: "LATE START: worker %d started %.1f ms after the common start; its "
                                           + "shared-store clock was shifted by as much", w.index, late * 1000))
                }
            }
            let strategy: any ClientStrategy
            do {
                if let w = options.worker {
                    // Worker w.index of a multi-process run: its own copy, shared limiters in the
                    // store every worker uses (created here, on the thread that owns it).
                    var store: any SharedQuotaStore
                    do { store = try w.makeStore?(i, spec) ?? InMemoryQuotaStore() } catch {
                        warnings.append("run \(spec.label) not started: its shared store failed: \(error)")
                        stopReason = .preparationFailed
                        break
                    }
                    if late > 0 { store = ShiftedQuotaStore(store, by: late) }
                    strategy = try StrategyFactory.make(
                        spec, limits: scenario.limits.config, keys: scenario.limits.keyConfigs, seed: scenario.seed,
                        placement: WorkerPlacement(worker: w.index, count: w.count, store: store,
                                                   namespace: w.namespace(spec)), models: scenario.modelIds)
                } else {
                    // workers: N copies sharing one in-memory store, as in the simulator.
                    strategy = try StrategyFactory.make(spec, limits: scenario.limits.config, keys: scenario.limits.keyConfigs,
                                                        seed: scenario.seed, workers: scenario.workers,
                                                        namespace: "limitlab:\(scenario.name):\(spec.label)",
                                                        models: scenario.modelIds)
                }
            } catch {
                return .failure(LiveError(.strategy, error.message))
            }
            let env = RunEnvironment(scenario: scenario, stream: stream, target: currentTarget, model: model,
                                     options: options, control: control, spend: spend, counters: counters,
                                     runIndex: i, runCount: scenario.strategies.count,
                                     nonce: (runNonce + i) % (36 * 36 * 36),
                                     metrics: options.metrics?.run(scenario: scenario.name, strategy: spec.label))
            do {
                var run = try Self.open(strategy, spec: spec, env: env)
                // A server may echo a key back (say, in an SSE error type): nothing it sends
                // reaches the report's error causes or the warnings with a key in it.
                let keys = target.apiKeys + currentTarget.apiKeys
                run.errorCauses = Dictionary(run.errorCauses.map { (LiveAPIKey.redact($0.key, keys: keys), $0.value) },
                                             uniquingKeysWith: +)
                run.failure = run.failure.map { LiveAPIKey.redact($0, keys: keys) }
                if let w = options.worker {
                    for r in run.log.worker.indices { run.log.worker[r] = UInt16(clamping: w.index) }
                }
                runs.append(run)
                if let f = run.failure { warnings.append("run \(spec.label) ended early: \(f)") }
                control.publish(stream: stream, runs: runs, warnings: warnings)
                if run.partial {
                    stopReason = run.stopReason ?? .interrupted
                    break
                }
            } catch {
                // Given up by the watchdog, which has delivered the result: touch nothing more.
                if control.isAbandoned { return .failure(error) }
                if runs.isEmpty { return .failure(error) }
                warnings.append("run \(spec.label) failed: \(error.message)")
                stopReason = .preparationFailed
                break
            }
        }
        return .success(Self.result(scenario: scenario, stream: stream, runs: runs, warnings: warnings,
                                    stopReason: stopReason))
    }

    /// The result of the runs made, with the schedule-lag and partial-run warnings.
    private static func result(scenario: Scenario, stream: ArrivalStream, runs: [LiveRun], warnings: [String],
                               stopReason: LiveStopReason?) -> LiveResult {
        var warnings = warnings
        var allLags: [Double] = []
        for run in runs {
            for a in 0..<run.attempts.count { allLags.append(run.lag(attempt: a)) }
            if run.lag.exceedsThreshold {
                warnings.append(String(format: "SCHEDULE LAG: run %@ sent late: lag p99 %.1f ms, max %.1f ms (limit %.0f ms). "
                                       + "The generator could not keep up with the schedule; latencies and limits were "
                                       + "measured at a lower offered load than planned.",
                                       run.spec.label, run.lag.p99 * 1000, run.lag.max * 1000,
                                       LagSummary.warningThreshold * 1000))
            }
        }
        if let reason = stopReason {
            let notRun = scenario.strategies.count - runs.count
            var text = "PARTIAL RUN (\(reason.rawValue))"
            if let last = runs.last, last.partial {
                text += ": \(last.spec.label) stopped at \(String(format: "%.1f", last.stoppedAt ?? 0)) s with "
                    + "\(last.offered) of \(stream.count) requests offered"
            }
            if notRun > 0 { text += "; \(notRun) strateg\(notRun == 1 ? "y" : "ies") not run" }
            warnings.insert(text, at: 0)
        }
        return LiveResult(scenario: scenario, stream: stream, runs: runs, partial: stopReason != nil,
                          stopReason: stopReason, lag: LagSummary.of(allLags), warnings: warnings,
                          costUSD: runs.reduce(0) { $0 + $1.costUSD })
    }

    /// Runs one strategy seen through the live metrics (the engine loop is specialised for
    /// `MeteredStrategy`; the strategy inside is called through its existential).
    private static func open(_ strategy: any ClientStrategy, spec: StrategySpec,
                             env: RunEnvironment) throws(LiveError) -> LiveRun {
        var s = MeteredStrategy(inner: strategy, metrics: env.metrics)
        return try LiveDriver.run(&s, spec: spec, env: env)
    }
}

/// The cross-thread part of a runner: the stop flag, the event loop to wake, and the engine's
/// position for the watchdog.
final class RunControl: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopRequested = false
    private var claimed = false
    private var wakeupFD: Int32 = -1

    // MARK: Watchdog

    /// The engine's position: even while it runs its own code or waits, odd while it is inside a
    /// libcurl call; it changes at every entry and exit, so an odd value that stays the same is
    /// one libcurl call that has not returned. `abandoned` once the watchdog has taken over.
    private let engineState = Atomic<UInt64>(0)
    private static let abandoned = UInt64.max
    private var delivered = false
    private var finished = false
    /// Published by the engine for the watchdog (under `condition`).
    private var snapshot: (() -> LiveRun)?
    private var partialResult: (stream: ArrivalStream, runs: [LiveRun], warnings: [String])?

    /// Before a libcurl call on the engine thread. (A compare-and-swap, not a store: the
    /// watchdog may abandon the engine in its own code at any moment, and a store would erase
    /// that; `leaveCurl` then reports it.)
    @inline(__always) func enterCurl() {
        let v = engineState.load(ordering: .relaxed)
        guard v != Self.abandoned else { return }
        _ = engineState.compareExchange(expected: v, desired: v &+ 1, ordering: .acquiringAndReleasing)
    }

    /// The engine's main loop went round once (between waits, it does so in microseconds to
    /// milliseconds). False when the watchdog abandoned the engine meanwhile.
    @inline(__always) func beat() -> Bool {
        let v = engineState.load(ordering: .relaxed)
        guard v != Self.abandoned else { return false }
        // +2 keeps the parity: even is "in its own code".
        return engineState.compareExchange(expected: v, desired: v &+ 2, ordering: .acquiringAndReleasing).exchanged
    }

    /// Set while the engine works in its main loop (not while it waits for sockets, a bounded
    /// wait, nor outside the loop): an even position that stays the same for `timeout` while
    /// it is set is a loop stuck in our own code.
    private let working = Atomic<Bool>(false)

    /// The engine is working in its main loop (true), or waiting or outside it (false).
    @inline(__always) func setWorking(_ value: Bool) { working.store(value, ordering: .releasing) }

    /// After it: false when the watchdog abandoned the engine meanwhile (the engine must then
    /// touch nothing it shares and return).
    @inline(__always) func leaveCurl() -> Bool {
        let v = engineState.load(ordering: .relaxed)
        guard v != Self.abandoned else { return false }
        return engineState.compareExchange(expected: v, desired: v &+ 1, ordering: .acquiringAndReleasing).exchanged
    }

    var isAbandoned: Bool { engineState.load(ordering: .acquiring) == Self.abandoned }

    /// What the engine has finished so far, for a result the watchdog may have to give instead.
    func publish(stream: ArrivalStream, runs: [LiveRun], warnings: [String]) {
        condition.lock()
        partialResult = (stream, runs, warnings)
        condition.unlock()
    }

    /// The running strategy's partial run, built on the watchdog's thread once the engine is
    /// abandoned (so only from state the engine does not touch inside libcurl). nil between runs.
    func setSnapshot(_ make: (() -> LiveRun)?) {
        condition.lock()
        snapshot = make
        condition.unlock()
    }

    /// Hands the result over once: the engine's, or the watchdog's when it gave the engine up.
    func deliver(_ result: Result<LiveResult, LiveError>,
                 to finish: @Sendable (Result<LiveResult, LiveError>) -> Void) {
        condition.lock()
        let first = !delivered
        delivered = true
        finished = true
        condition.broadcast()
        condition.unlock()
        if first { finish(result) }
    }

    /// The watchdog: every `timeout`/4 (at most 1 s) it looks at the engine's position. One
    /// libcurl call that has not returned for `timeout` seconds, or a main loop that has not gone
    /// round for as long (stuck in our own code: a strategy, the client loop), makes it take the
    /// run over — `makeResult` builds the partial result from what was published — and deliver
    /// that. Stuck inside libcurl, the running strategy's partial run is rebuilt from the state
    /// libcurl does not touch; stuck in our own code, that state may be changing under the
    /// watchdog, so the running strategy's run is left out (`makeResult` gets nil and `false`).
    func watch(timeout: Double,
               makeResult: @escaping @Sendable (ArrivalStream?, [LiveRun], [String], LiveRun?, _ inCurl: Bool) -> LiveResult,
               finish: @escaping @Sendable (Result<LiveResult, LiveError>) -> Void) {
        let thread = Thread { [self] in
            let step = Swift.min(1, Swift.max(0.005, timeout / 4))
            var seen = engineState.load(ordering: .acquiring)
            var since = Clock.monotonicNanos()
            while true {
                condition.lock()
                if !finished { _ = condition.wait(until: Date(timeIntervalSinceNow: step)) }
                let done = finished
                condition.unlock()
                if done { return }
                let v = engineState.load(ordering: .acquiring)
                let now = Clock.monotonicNanos()
                let inCurl = v & 1 == 1
                if v != seen || !(inCurl || working.load(ordering: .acquiring)) {
                    seen = v
                    since = now
                    continue
                }
                guard Double(now - since) / 1e9 >= timeout else { continue }
                // Take over only if the engine is still inside that same call.
                guard engineState.compareExchange(expected: v, desired: Self.abandoned,
                                                  ordering: .acquiringAndReleasing).exchanged else { continue }
                condition.lock()
                let make = snapshot
                let published = partialResult
                condition.unlock()
                let current = inCurl ? make?() : nil
                let result = makeResult(published?.stream, published?.runs ?? [], published?.warnings ?? [], current, inCurl)
                deliver(.success(result), to: finish)
                return
            }
        }
        thread.name = "limitlab-watchdog"
        thread.start()
    }

    func claim() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if claimed { return false }
        claimed = true
        return true
    }

    func requestStop() {
        condition.lock()
        stopRequested = true
        if wakeupFD >= 0 { limitlab_wakeup_signal(wakeupFD) }
        condition.broadcast()
        condition.unlock()
    }

    var isStopRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopRequested
    }

    /// While attached, `requestStop` writes this eventfd, which wakes the engine's wait.
    func attach(wakeupFD fd: Int32) {
        condition.lock()
        wakeupFD = fd
        condition.unlock()
    }

    func detach() {
        condition.lock()
        wakeupFD = -1
        condition.unlock()
    }

    /// Sleeps `seconds` unless a stop comes first; returns whether it did.
    func sleep(_ seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while !stopRequested {
            if !condition.wait(until: deadline) { break }
        }
        return stopRequested
    }
}

/// Hands the engine thread's result to a blocked caller.
private final class ResultBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Result<LiveResult, LiveError>?

    func put(_ v: Result<LiveResult, LiveError>) {
        condition.lock()
        value = v
        condition.broadcast()
        condition.unlock()
    }

    func take() -> Result<LiveResult, LiveError> {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}
