import LimitlabClient
import LimitlabCore
import Testing

/// A transport with a scripted server: every attempt completes `latency` after its send with
/// the next status of `statuses` (200 once they run out). Completions after `clock` are not
/// known yet, as for a live runner, which learns of a completion only once it has happened.
private struct ScriptedTransport: ClientTransport {
    var latency: Double
    var statuses: [Int] = []
    var keyCount = 1
    /// (completion time, attempt, status), kept in time order.
    var pending: [(time: Double, attempt: Int32, status: Int)] = []
    var sends: [(request: Int32, at: Double)] = []
    var advancedTo: [Double] = []
    var clock = Double.infinity

    var nextCompletionTime: Double {
        guard let t = pending.first?.time, t <= clock else { return .infinity }
        return t
    }
    func acceptsArrivals() -> Bool { true }
    mutating func advance(to now: Double, log: inout RunLog) { advancedTo.append(now) }

    mutating func send(_ order: SendOrder, log: inout RunLog) {
        sends.append((order.request, order.plannedAt))
        let a = order.begin(in: &log, sentAt: order.plannedAt)
        let status = statuses.isEmpty ? 200 : statuses.removeFirst()
        log.status[Int(a)] = UInt16(status)
        pending.append((order.plannedAt + latency, a, status))
        pending.sort { ($0.time, $0.attempt) < ($1.time, $1.attempt) }
    }

    mutating func popCompletion(dueBy now: Double, log: inout RunLog) -> (attempt: Int32, outcome: AttemptOutcome)? {
        guard let c = pending.first, c.time <= now, c.time <= clock else { return nil }
        pending.removeFirst()
        log.completedAt[Int(c.attempt)] = c.time
        let outcome = AttemptOutcome(status: c.status, error: c.status == 429 ? .rateLimited : .none,
                                     sentAt: log.sentAt[Int(c.attempt)], completedAt: c.time)
        return (c.attempt, outcome)
    }
}

/// Sends each request at most `concurrency` at a time, in arrival order; retries a 429 once
/// `retryDelay` later, then gives up. Records what it was told, in order.
private struct RecordingStrategy: ClientStrategy {
    var concurrency = Int.max
    var retryDelay = 1.0
    var events: [String] = []
    var queue: [(request: Int32, readyAt: Double)] = []
    var inFlight = 0
    var retries: [(request: Int32, at: Double)] = []
    var giveUps: [Int32] = []

    mutating func arrived(_ request: PendingRequest, now: Double) {
        events.append("arrived \(request.id) @\(now)")
        queue.append((request.id, now))
    }

    mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        events.append("finished \(request.id)#\(attempt) \(outcome.status) @\(now)")
        inFlight -= 1
        if outcome.status == 429 {
            if attempt == 1 { retries.append((request.id, now + retryDelay)) } else { giveUps.append(request.id) }
        }
    }

    mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        for id in giveUps { commands.append(.giveUp(request: id, reason: .attemptsExhausted)) }
        giveUps.removeAll()
        while let r = retries.first, r.at <= now {
            retries.removeFirst()
            queue.append((r.request, r.at))
        }
        while inFlight < concurrency, !queue.isEmpty {
            let q = queue.removeFirst()
            commands.append(.send(request: q.request, readyAt: q.readyAt))
            inFlight += 1
        }
    }

    var nextWakeup: Double? { retries.first?.at }
    func worker(for request: Int32) -> Int { Int(request) % 2 }
}

/// Asks to be woken at `at` forever and never does anything.
private struct StuckStrategy: ClientStrategy {
    var at: Double
    var polls = 0
    mutating func arrived(_ request: PendingRequest, now: Double) {}
    mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {}
    mutating func poll(now: Double, into commands: inout [StrategyCommand]) { polls += 1 }
    var nextWakeup: Double? { at }
}

private func stream(_ times: [Double]) -> ArrivalStream {
    var s = ArrivalStream()
    for t in times { s.append(at: t, input: 10, output: 5, maxTokens: 5) }
    s.window = times.last ?? 0
    return s
}

@Suite struct ClientLoopTests {
    /// A completion and an arrival at the same instant: the completion is handled first, so
    /// the capacity it frees is there for the arrival (concurrency 1, no queueing delay).
    @Test func completionBeforeArrivalAtTheSameInstant() {
        var strategy = RecordingStrategy(concurrency: 1)
        var loop = ClientLoop(stream: stream([0, 1, 1.5]))
        var transport = ScriptedTransport(latency: 1)
        #expect(loop.run(&strategy, transport: &transport) == .idle)
        #expect(strategy.events == [
            "arrived 0 @0.0", "finished 0#1 200 @1.0", "arrived 1 @1.0", "arrived 2 @1.5",
            "finished 1#1 200 @2.0", "finished 2#1 200 @3.0",
        ])
        // Request 1 went out at its arrival, request 2 when request 1's slot freed.
        #expect(transport.sends.map(\.at) == [0, 1, 2])
        #expect(loop.log.readyAt == [0, 1, 1.5])
        #expect(loop.log.outcome == Array(repeating: RequestOutcome.succeeded.rawValue, count: 3))
        #expect(loop.log.worker == [0, 1, 0])
        #expect(loop.now == 3)
        // Two events at t = 1, each followed by a poll: the completion, then the arrival.
        #expect(transport.advancedTo == [0, 1, 1, 1.5, 2, 3])
        #expect(loop.isDrained(strategy))
    }

    /// A 429 is retried at the strategy's wakeup, and a second one ends in `.giveUp`.
    @Test func wakeupsRetriesAndGiveUps() {
        var strategy = RecordingStrategy(retryDelay: 2)
        var loop = ClientLoop(stream: stream([0, 0.5]))
        var transport = ScriptedTransport(latency: 0.25, statuses: [429, 200, 429])
        #expect(loop.run(&strategy, transport: &transport) == .idle)
        #expect(transport.sends.map(\.request) == [0, 1, 0])
        #expect(transport.sends.map(\.at) == [0, 0.5, 2.25])
        #expect(loop.log.attemptNumber == [1, 1, 2])
        #expect(loop.log.readyAt[2] == 2.25)
        #expect(loop.log.outcome == [RequestOutcome.failed.rawValue, RequestOutcome.succeeded.rawValue])
        #expect(loop.log.reason[0] == GiveUpReason.attemptsExhausted.rawValue)
    }

    /// With a time limit, arrivals and wakeups after it wait for a later call (the live runner
    /// calls `run` with the wall clock); the same events come out as in one unlimited run.
    @Test func timeLimitSplitsTheRunWithoutChangingIt() {
        let s = stream([0, 0.3, 0.6, 0.9, 1.2])
        var wholeStrategy = RecordingStrategy(concurrency: 2)
        var whole = ClientLoop(stream: s)
        var t1 = ScriptedTransport(latency: 0.4, statuses: [429, 200, 200, 429])
        #expect(whole.run(&wholeStrategy, transport: &t1) == .idle)

        var splitStrategy = RecordingStrategy(concurrency: 2)
        var split = ClientLoop(stream: s)
        var t2 = ScriptedTransport(latency: 0.4, statuses: [429, 200, 200, 429], clock: 0.5)
        #expect(split.run(&splitStrategy, until: 0.5, transport: &t2) == .idle)
        #expect(split.nextArrival == 2)
        #expect(split.now == 0.4)
        var limit = 0.5
        while !(split.isDrained(splitStrategy) && t2.pending.isEmpty) {
            limit += 0.25
            t2.clock = limit
            #expect(split.run(&splitStrategy, until: limit, transport: &t2) == .idle)
        }
        #expect(splitStrategy.events == wholeStrategy.events)
        #expect(t2.sends.map(\.at) == t1.sends.map(\.at))
    }

    /// A strategy woken again and again at a past instant without acting is reported stalled
    /// after `stallLimit` such wakeups, not spun forever.
    @Test func stallDetector() {
        var strategy = StuckStrategy(at: 0)
        var loop = ClientLoop(stream: stream([]))
        var transport = ScriptedTransport(latency: 1)
        #expect(loop.run(&strategy, transport: &transport) == .stalled)
        // The first wakeup at 0 is at the current instant too, so it counts.
        #expect(strategy.polls == ClientLoop.stallLimit)
    }

    /// Wakeups that move forward in time are not a stall, however many there are.
    @Test func forwardWakeupsAreNotAStall() {
        struct Ticker: ClientStrategy {
            var ticks = 0
            mutating func arrived(_ request: PendingRequest, now: Double) {}
            mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {}
            mutating func poll(now: Double, into commands: inout [StrategyCommand]) { ticks += 1 }
            var nextWakeup: Double? { ticks <= 150_000 ? Double(ticks) * 1e-6 : nil }
        }
        var strategy = Ticker()
        var loop = ClientLoop(stream: stream([]))
        var transport = ScriptedTransport(latency: 1)
        #expect(loop.run(&strategy, transport: &transport) == .idle)
        #expect(strategy.ticks == 150_001)
    }

    /// Drops are recorded with their reason; the worker column is left alone when asked.
    @Test func dropsAndWorkerColumn() {
        struct Dropper: ClientStrategy {
            var pending: [Int32] = []
            mutating func arrived(_ request: PendingRequest, now: Double) { pending.append(request.id) }
            mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {}
            mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
                for id in pending { commands.append(.drop(request: id, reason: .shed)) }
                pending.removeAll()
            }
            var nextWakeup: Double? { nil }
            func worker(for request: Int32) -> Int { 3 }
            func viaFallback(_ request: Int32) -> Bool { request == 1 }
        }
        var strategy = Dropper()
        var loop = ClientLoop(stream: stream([0, 1]))
        loop.recordsWorker = false
        var transport = ScriptedTransport(latency: 1)
        #expect(loop.run(&strategy, transport: &transport) == .idle)
        #expect(transport.sends.isEmpty)
        #expect(loop.log.outcome == [RequestOutcome.dropped.rawValue, RequestOutcome.dropped.rawValue])
        #expect(loop.log.reason == [DropReason.shed.rawValue, DropReason.shed.rawValue])
        #expect(loop.log.dropFallback == [0, 1])
        #expect(loop.log.worker == [0, 0])
    }
}
