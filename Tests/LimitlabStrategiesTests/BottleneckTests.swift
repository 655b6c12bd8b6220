import LimitlabCore
import LimitlabStats
import LimitlabStrategies
import Testing

// Bottleneck v2.19.5 behaviour, with the numbers of its README and source (https://github.com/SGrondin/bottleneck @b835283).

private func bnRequest(_ id: Int32, _ t: Double) -> PendingRequest {
    PendingRequest(id: id, intendedAt: t, cost: RequestCost(inputTokens: 100, maxTokens: 100))
}

private func bnOutcome(_ status: Int, at t: Double) -> AttemptOutcome {
    AttemptOutcome(status: status, error: status == 200 ? .none : status == 429 ? .rateLimited : .serverError,
                   sentAt: t, completedAt: t)
}

private func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-9 }
private func close(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { close($0, $1) } }

/// Retries every failure after a fixed delay, up to `maxAttempts` attempts in all.
private struct FixedDelayRetry: RetryPolicy {
    var delay: Double
    var maxAttempts = 3
    mutating func decide(after outcome: AttemptOutcome, attempt: Int, now: Double) -> RetryDecision {
        attempt < maxAttempts ? .wait(delay) : .giveUp(.attemptsExhausted)
    }
}

/// Drives the state machine as the simulator does: wakeups before an event are polled first,
/// every event is followed by a poll at its time.
private struct Harness {
    struct Sent { var id: Int32; var at: Double; var readyAt: Double }
    var strategy: BottleneckStrategy
    private(set) var sends: [Sent] = []
    private(set) var drops: [(id: Int32, at: Double, reason: DropReason)] = []
    private(set) var giveUps: [(id: Int32, at: Double)] = []

    init(_ settings: BottleneckSettings, retry: any RetryPolicy = NoRetryPolicy(),
         options: ((PendingRequest) -> BottleneckJobOptions)? = nil) {
        strategy = BottleneckStrategy(settings: settings, retry: retry, jobOptions: options)
    }

    mutating func arrive(_ ids: ClosedRange<Int32>, at t: Double) { for id in ids { arrive(id, at: t) } }

    mutating func arrive(_ id: Int32, at t: Double) {
        wake(before: t)
        strategy.arrived(bnRequest(id, t), now: t)
        poll(t)
    }

    mutating func succeed(_ id: Int32, attempt: Int = 1, at t: Double) { finish(id, attempt: attempt, status: 200, at: t) }

    mutating func fail(_ id: Int32, attempt: Int = 1, at t: Double) { finish(id, attempt: attempt, status: 429, at: t) }

    mutating func finish(_ id: Int32, attempt: Int, status: Int, at t: Double) {
        wake(before: t)
        strategy.finished(bnRequest(id, 0), attempt: attempt, outcome: bnOutcome(status, at: t), now: t)
        poll(t)
    }

    /// Polls at every wakeup up to and including `t`.
    mutating func run(until t: Double) {
        wake(before: t)
        poll(t)
    }

    private mutating func wake(before t: Double) {
        var guardCount = 0
        while let w = strategy.nextWakeup, w < t {
            poll(w)
            guardCount += 1
            precondition(guardCount < 100_000, "the strategy keeps asking for wakeups")
        }
    }

    private mutating func poll(_ t: Double) {
        var commands: [StrategyCommand] = []
        strategy.poll(now: t, into: &commands)
        for c in commands {
            switch c {
            case .submitBatch: Issue.record("this strategy never submits batches")
            case .send(let id, let readyAt): sends.append(Sent(id: id, at: t, readyAt: readyAt))
            case .drop(let id, let reason): drops.append((id, t, reason))
            case .giveUp(let id, _): giveUps.append((id, t))
            }
        }
    }

    var sendTimes: [Double] { sends.map(\.at) }
    func sendTimes(of id: Int32) -> [Double] { sends.filter { $0.id == id }.map(\.at) }
    var sentIds: [Int32] { sends.map(\.id) }
    var droppedIds: [Int32] { drops.map(\.id) }
}

@Suite struct BottleneckTests {
    // MARK: minTime and maxConcurrent

    /// README: `minTime: 333` → "3 requests per second"; starts at 0, 0.333, 0.666, 0.999 …
    @Test func minTime333msSpacesStartsThreePerSecond() {
        var h = Harness(BottleneckSettings(minTime: 0.333))
        h.arrive(0...5, at: 0)
        // minTime never holds the queue: every job registers at once and waits out its start,
        // already holding its weight.
        #expect(h.strategy.queued == 0 && h.strategy.running == 6)
        #expect(h.strategy.nextWakeup.map { close($0, 0.333) } == true)
        h.succeed(0, at: 0.1) // job duration does not move the next start
        h.run(until: 3)
        #expect(close(h.sendTimes, [0, 0.333, 0.666, 0.999, 1.332, 1.665]))
        #expect(h.sentIds == [0, 1, 2, 3, 4, 5])
        #expect(h.sends.allSatisfy { $0.readyAt == 0 }, "readyAt is the submission time")
        // A backlog of 31 jobs takes 10 s: floor(10 / 0.333) + 1 starts.
        var backlog = Harness(BottleneckSettings(minTime: 0.333))
        backlog.arrive(0...40, at: 0)
        backlog.run(until: 10)
        #expect(backlog.sends.count == 31)
        // After an idle spell the next job starts at once.
        h.arrive(6, at: 5)
        #expect(h.sendTimes(of: 6) == [5])
    }

    @Test func maxConcurrentOneSerialises() {
        var h = Harness(BottleneckSettings(maxConcurrent: 1))
        h.arrive(0...2, at: 0)
        #expect(h.sentIds == [0] && h.strategy.queued == 2)
        #expect(h.strategy.nextWakeup == nil, "only a completion can start the next job")
        h.run(until: 100)
        #expect(h.sends.count == 1)
        h.succeed(0, at: 102)
        h.succeed(1, at: 103.5)
        #expect(h.sentIds == [0, 1, 2])
        #expect(h.sendTimes == [0, 102, 103.5])
        #expect(h.sends.map(\.readyAt) == [0, 0, 0], "the queue wait counts as limiter wait")
    }

    /// bottleneck-typical at 50 RPM: maxConcurrent 1, minTime 60000/50 = 1200 ms. A job registers when the
    /// previous one ends but starts no earlier than 1.2 s after the previous start.
    @Test func maxConcurrentWithMinTimeHoldsCapacityWhileWaiting() {
        var h = Harness(BottleneckSettings(maxConcurrent: 1, minTime: 1.2))
        h.arrive(0...2, at: 0)
        h.succeed(0, at: 0.5)
        #expect(h.strategy.running == 1 && h.strategy.queued == 1, "job 1 holds the slot while it waits")
        h.run(until: 1.19)
        #expect(h.sentIds == [0])
        h.run(until: 1.21)
        #expect(h.sentIds == [0, 1] && close(h.sendTimes(of: 1), [1.2]))
        h.succeed(1, at: 5)
        #expect(h.sendTimes(of: 2) == [5], "nextRequest (2.4) has passed")
    }

    // MARK: reservoir, refresh, increase

    /// README: reservoir 5 refreshed every 60 s: five jobs, then nothing until the refresh, which
    /// falls on the 250 ms heartbeat grid (60 s is tick 240).
    @Test func reservoirThenNothingUntilTheRefresh() {
        let s = BottleneckSettings(reservoir: 5, reservoirRefreshInterval: 60, reservoirRefreshAmount: 5)
        var h = Harness(s)
        for id in Int32(0)...7 { h.arrive(id, at: Double(id)) }
        #expect(h.sendTimes == [0, 1, 2, 3, 4])
        #expect(h.strategy.reservoir == 0 && h.strategy.queued == 3)
        #expect(h.strategy.nextWakeup == 60)
        h.run(until: 59.99)
        #expect(h.sends.count == 5)
        h.run(until: 60)
        #expect(h.sendTimes == [0, 1, 2, 3, 4, 60, 60, 60])
        #expect(h.sends.suffix(3).map(\.readyAt) == [5, 6, 7])
        #expect(h.strategy.reservoir == 2, "refresh resets to 5; three jobs took 3")
    }

    /// README: "every time the Refresh Interval is triggered, a number of jobs equal to
    /// reservoirRefreshAmount will automatically be launched, all at the same time".
    @Test func refreshFloodLaunchesTheAmountAtTheRefreshInstant() {
        let s = BottleneckSettings(reservoir: 5, reservoirRefreshInterval: 60, reservoirRefreshAmount: 5)
        var h = Harness(s)
        h.arrive(0...19, at: 0)
        h.run(until: 300)
        var byTime: [Double: Int] = [:]
        for t in h.sendTimes { byTime[t, default: 0] += 1 }
        #expect(byTime == [0: 5, 60: 5, 120: 5, 180: 5])
        #expect(h.strategy.nextWakeup == nil, "an empty queue needs no heartbeat wakeups")
    }

    /// Issue #88: refreshes can be late by up to one heartbeat, never early. 60.1 s → the tick at
    /// 60.25 s; the next refresh is 60.1 s after that tick → 120.5 s.
    @Test func refreshIsLateByUpToOneHeartbeatNeverEarly() {
        let s = BottleneckSettings(reservoir: 1, reservoirRefreshInterval: 60.1, reservoirRefreshAmount: 1)
        var h = Harness(s)
        h.arrive(0...2, at: 0)
        h.run(until: 200)
        #expect(close(h.sendTimes, [0, 60.25, 120.5]))
    }

    /// The grid starts at limiter creation (time 0), not at the first submission (issue #153).
    @Test func heartbeatGridStartsAtTimeZero() {
        let s = BottleneckSettings(reservoir: 1, reservoirRefreshInterval: 60, reservoirRefreshAmount: 1)
        var h = Harness(s)
        h.arrive(0, at: 10.1)
        h.arrive(1, at: 10.2)
        h.run(until: 200)
        #expect(h.sendTimes == [10.1, 60], "not 70.1: the window was opened at time 0")
        // A coarser heartbeat (Bottleneck's clustered 5 s) with a 62 s interval refreshes at 65 s.
        var coarse = Harness(BottleneckSettings(reservoir: 1, reservoirRefreshInterval: 62, reservoirRefreshAmount: 1,
                                                heartbeatInterval: 5))
        coarse.arrive(0...1, at: 0)
        coarse.run(until: 100)
        #expect(coarse.sendTimes == [0, 65])
    }

    /// reservoirIncrease: add the amount each interval, never above the maximum (local store:
    /// `min(amount, maximum − reservoir)`).
    @Test func increaseAddsUpToTheMaximum() {
        let s = BottleneckSettings(reservoir: 0, reservoirIncreaseInterval: 1, reservoirIncreaseAmount: 2,
                                   reservoirIncreaseMaximum: 5)
        var h = Harness(s)
        h.run(until: 10.1)
        h.arrive(0...7, at: 10.1)
        // 0 → 2 → 4 → 5 (capped) by t = 3, still 5 at 10.1: five start at once.
        #expect(h.sendTimes == Array(repeating: 10.1, count: 5))
        h.run(until: 13)
        #expect(h.sendTimes == Array(repeating: 10.1, count: 5) + [11, 11, 12])
        #expect(h.strategy.reservoir == 1 + 2, "12 s: 2 − 1 = 1; 13 s: + 2")
        // Without a maximum the reservoir keeps growing.
        var open = Harness(BottleneckSettings(reservoir: 0, reservoirIncreaseInterval: 1, reservoirIncreaseAmount: 2))
        open.run(until: 10)
        #expect(open.strategy.reservoir == 20)
    }

    /// A refresh resets and an increase adds in the same tick, refresh first. Refresh 5 every
    /// 10 s, +1 every 5 s up to 100: the reservoir peaks at 7 (15 s, 25 s, …).
    @Test func refreshAndIncreaseTogether() {
        let s = BottleneckSettings(reservoir: 0, reservoirRefreshInterval: 10, reservoirRefreshAmount: 5,
                                   reservoirIncreaseInterval: 5, reservoirIncreaseAmount: 1,
                                   reservoirIncreaseMaximum: 100)
        var fits = Harness(s, options: { _ in BottleneckJobOptions(weight: 7) })
        fits.arrive(0, at: 0)
        #expect(fits.strategy.nextWakeup == 15, "5 s: 1; 10 s: 5 + 1; 15 s: 7")
        fits.run(until: 20)
        #expect(fits.sendTimes == [15])
        var never = Harness(s, options: { _ in BottleneckJobOptions(weight: 8) })
        never.arrive(0, at: 0)
        #expect(never.strategy.nextWakeup == nil, "8 is above anything the reservoir reaches")
        never.run(until: 1000)
        #expect(never.sends.isEmpty && never.strategy.queued == 1)
    }

    // MARK: weight and head-of-line blocking

    /// A head heavier than the remaining reservoir holds lighter jobs behind it.
    @Test func heavyHeadBlocksTheQueueHeadOfLine() {
        let weights: [Int32: Int] = [0: 2, 1: 4, 2: 1]
        let s = BottleneckSettings(reservoir: 5, reservoirRefreshInterval: 60, reservoirRefreshAmount: 5)
        var h = Harness(s, options: { BottleneckJobOptions(weight: weights[$0.id] ?? 1) })
        h.arrive(0...2, at: 0)
        #expect(h.sentIds == [0] && h.strategy.reservoir == 3)
        #expect(h.strategy.queued == 2, "job 2 (weight 1) fits in 3 but waits behind job 1 (weight 4)")
        h.run(until: 60)
        #expect(h.sentIds == [0, 1, 2] && h.sendTimes == [0, 60, 60])
        #expect(h.strategy.reservoir == 0)
    }

    /// A weight above the refresh amount never runs (Bottleneck gets stuck) and the strategy
    /// does not ask to be woken every heartbeat for it.
    @Test func weightAboveTheRefreshAmountIsStuckForGood() {
        let s = BottleneckSettings(reservoir: 10, reservoirRefreshInterval: 60, reservoirRefreshAmount: 5, weight: 6)
        var h = Harness(s)
        h.arrive(0...1, at: 0)
        #expect(h.sentIds == [0] && h.strategy.reservoir == 4)
        #expect(h.strategy.nextWakeup == nil)
        h.run(until: 600)
        #expect(h.sentIds == [0] && h.strategy.queued == 1)
    }

    /// An increase-only reservoir wakes the head exactly when it fits: weight 3, +1 per second.
    @Test func increaseWakesTheHeadWhenItFits() {
        var h = Harness(BottleneckSettings(reservoir: 0, reservoirIncreaseInterval: 1, reservoirIncreaseAmount: 1,
                                           reservoirIncreaseMaximum: 10, weight: 3))
        h.arrive(0, at: 0)
        #expect(h.strategy.nextWakeup == 3)
        h.run(until: 10)
        #expect(h.sendTimes == [3])
    }

    // MARK: highWater strategies (maxConcurrent 1 so jobs queue; highWater 2)

    private func queueOfTwo(_ strategy: BottleneckSettings.OverflowStrategy,
                            priorities: [Int32: Int] = [:]) -> Harness {
        var h = Harness(BottleneckSettings(maxConcurrent: 1, highWater: 2, strategy: strategy),
                        options: { BottleneckJobOptions(priority: priorities[$0.id] ?? 5) })
        for id in Int32(0)...3 { h.arrive(id, at: Double(id)) }
        return h
    }

    @Test func leakDropsTheOldestQueuedJob() {
        var h = queueOfTwo(.leak)
        #expect(h.droppedIds == [1])
        #expect(h.drops.map(\.at) == [3] && h.drops.map(\.reason) == [.queueOverflow])
        h.succeed(0, at: 4)
        h.succeed(2, at: 5)
        #expect(h.sentIds == [0, 2, 3])
    }

    @Test func overflowDropsTheNewJob() {
        var h = queueOfTwo(.overflow)
        #expect(h.droppedIds == [3])
        h.succeed(0, at: 4)
        h.succeed(1, at: 5)
        #expect(h.sentIds == [0, 1, 2])
    }

    @Test func overflowPriorityDropsOnlyStrictlyLowerPriority() {
        // One priority for all: nothing is strictly lower, so the new job goes.
        #expect(queueOfTwo(.overflowPriority).droppedIds == [3])
        // Only the job at priority 7 (below the newcomer's 5) may go, young or old.
        #expect(queueOfTwo(.overflowPriority, priorities: [1: 5, 2: 7, 3: 5]).droppedIds == [2])
        #expect(queueOfTwo(.overflowPriority, priorities: [1: 7, 2: 5, 3: 5]).droppedIds == [1])
    }

    @Test func leakUsesTheLowestPriorityAtOrBelowTheNewJob() {
        // Queued: 1 (priority 5), 2 (priority 9). A newcomer at 5 leaks job 2, the least important.
        var h = queueOfTwo(.leak, priorities: [1: 5, 2: 9, 3: 5])
        #expect(h.droppedIds == [2])
        h.succeed(0, at: 4)
        #expect(h.sentIds == [0, 1])
        // A newcomer at 9 leaks the oldest job queued at 9 …
        #expect(queueOfTwo(.leak, priorities: [1: 5, 2: 9, 3: 9]).droppedIds == [2])
        // … and with both queued jobs more important than it, it drops itself.
        #expect(queueOfTwo(.leak, priorities: [1: 2, 2: 3, 3: 9]).droppedIds == [3])
        // Priority orders the drain: 0 runs before 5.
        var p = Harness(BottleneckSettings(maxConcurrent: 1), options: { BottleneckJobOptions(priority: $0.id == 2 ? 0 : 5) })
        p.arrive(0...2, at: 0)
        p.succeed(0, at: 1)
        #expect(p.sentIds == [0, 2])
    }

    /// BLOCK: drop the queue and the new job; every submission until `penalty` (5 s when minTime
    /// is 0) after the last one is dropped and extends the block (`unblockTime >= now`).
    @Test func blockDropsTheQueueAndRefusesForThePenalty() {
        var h = queueOfTwo(.block)
        #expect(h.droppedIds == [1, 2, 3] && h.strategy.queued == 0)
        #expect(h.strategy.blockedUntil == 8)
        h.arrive(4, at: 6)
        #expect(h.droppedIds.last == 4 && h.strategy.blockedUntil == 11)
        h.succeed(0, at: 7)
        h.arrive(5, at: 11)
        #expect(h.droppedIds.last == 5 && h.strategy.blockedUntil == 16, "a submission at the end time is still blocked")
        h.arrive(6, at: 16.5)
        #expect(h.sentIds == [0, 6] && h.sendTimes(of: 6) == [16.5])
        #expect(h.drops.allSatisfy { $0.reason == .queueOverflow })
    }

    /// The default penalty is 15 × minTime, and the next start waits until unblockTime + minTime.
    @Test func blockPenaltyFollowsMinTime() {
        let s = BottleneckSettings(maxConcurrent: 1, minTime: 0.1, highWater: 1, strategy: .block)
        #expect(close(s.effectivePenalty, 1.5))
        var h = Harness(s)
        h.arrive(0, at: 0)
        h.arrive(1, at: 0.05)
        h.arrive(2, at: 0.2) // queue at highWater 1 and job 0 holds the slot: block until 1.7
        #expect(h.droppedIds == [1, 2] && close(h.strategy.blockedUntil, 1.7))
        h.succeed(0, at: 1)
        h.arrive(3, at: 1.75)
        #expect(h.sendTimes(of: 3).count == 0)
        h.run(until: 2)
        #expect(close(h.sendTimes(of: 3), [1.8]), "nextRequest = unblockTime + minTime")
        #expect(h.sends.last.map { close($0.readyAt, 1.75) } == true)
    }

    // MARK: retries

    /// retry_inside (the `failed` event): the retry ignores minTime; without it the retry is a
    /// new submission that waits for nextRequest.
    @Test func retryInsideBypassesMinTime() {
        var inside = Harness(BottleneckSettings(minTime: 1), retry: FixedDelayRetry(delay: 0.1))
        inside.arrive(0, at: 0)
        inside.fail(0, at: 0.2)
        inside.run(until: 2)
        #expect(close(inside.sendTimes, [0, 0.3]) && close(inside.sends.map(\.readyAt), [0, 0.3]))

        var outside = Harness(BottleneckSettings(minTime: 1, retryInside: false), retry: FixedDelayRetry(delay: 0.1))
        outside.arrive(0, at: 0)
        outside.fail(0, at: 0.2)
        outside.run(until: 2)
        #expect(close(outside.sendTimes, [0, 1]) && close(outside.sends.map(\.readyAt), [0, 0.3]))
    }

    /// retry_inside: no reservoir decrement (reservoir 1, spent, retried anyway); outside: the
    /// resubmission waits for the refresh at 60 s.
    @Test func retryInsideBypassesTheReservoir() {
        let base = BottleneckSettings(reservoir: 1, reservoirRefreshInterval: 60, reservoirRefreshAmount: 1)
        var inside = Harness(base, retry: FixedDelayRetry(delay: 0.5))
        inside.arrive(0, at: 0)
        inside.fail(0, at: 0.5)
        inside.run(until: 100)
        #expect(inside.sendTimes == [0, 1] && inside.strategy.reservoir == 1, "refreshed at 60, nothing taken")

        var s = base
        s.retryInside = false
        var outside = Harness(s, retry: FixedDelayRetry(delay: 0.5))
        outside.arrive(0, at: 0)
        outside.fail(0, at: 0.5)
        outside.run(until: 100)
        #expect(outside.sendTimes == [0, 60] && outside.sends.map(\.readyAt) == [0, 1])
        #expect(outside.strategy.reservoir == 0)
    }

    /// retry_inside keeps the job's maxConcurrent share while it waits to retry ("it counts as a
    /// concurrent job"); outside, the share is freed and the retry queues behind newer jobs.
    @Test func retryInsideHoldsMaxConcurrent() {
        var inside = Harness(BottleneckSettings(maxConcurrent: 1), retry: FixedDelayRetry(delay: 1))
        inside.arrive(0, at: 0)
        inside.arrive(1, at: 0.1)
        inside.fail(0, at: 0.5)
        #expect(inside.strategy.running == 1 && inside.sentIds == [0])
        inside.run(until: 1.5)
        inside.succeed(0, attempt: 2, at: 2)
        #expect(inside.sentIds == [0, 0, 1] && inside.sendTimes == [0, 1.5, 2])

        var outside = Harness(BottleneckSettings(maxConcurrent: 1, retryInside: false), retry: FixedDelayRetry(delay: 1))
        outside.arrive(0, at: 0)
        outside.arrive(1, at: 0.1)
        outside.fail(0, at: 0.5)
        #expect(outside.sentIds == [0, 1] && outside.sendTimes(of: 1) == [0.5])
        outside.run(until: 1.5)
        #expect(outside.strategy.queued == 1, "the resubmission queues behind job 1")
        outside.succeed(1, at: 3)
        #expect(outside.sentIds == [0, 1, 0] && outside.sendTimes(of: 0) == [0, 3])
        #expect(outside.sends.map(\.readyAt) == [0, 0.1, 1.5])
    }

    /// A give-up frees the job's share; a retry-outside resubmission can be dropped by highWater.
    @Test func giveUpFreesAndResubmissionsCanBeDropped() {
        var h = Harness(BottleneckSettings(maxConcurrent: 1), retry: FixedDelayRetry(delay: 1, maxAttempts: 1))
        h.arrive(0...1, at: 0)
        h.fail(0, at: 0.5)
        #expect(h.giveUps.map(\.id) == [0] && h.sentIds == [0, 1])

        var o = Harness(BottleneckSettings(maxConcurrent: 1, highWater: 1, strategy: .overflow, retryInside: false),
                        retry: FixedDelayRetry(delay: 1))
        o.arrive(0, at: 0)
        o.arrive(1, at: 0.1)
        o.fail(0, at: 0.5) // job 1 starts; the queue is empty
        o.arrive(2, at: 0.6) // queued: the queue is at highWater 1
        o.run(until: 1.5) // job 0's resubmission finds the queue full and job 1 running
        #expect(o.droppedIds == [0] && o.drops.map(\.at) == [1.5])
    }

    // MARK: registry and factory

    @Test func registryEntryAndFactory() throws {
        let d = try #require(StrategyRegistry.descriptor(named: "bottleneck"))
        #expect(d.role == .admission && d.mirrors.contains("Bottleneck v2.19.5") && d.mirrors.contains("@b835283"))
        let defaults = Dictionary(uniqueKeysWithValues: d.parameters.map { ($0.name, $0.defaultValue) })
        #expect(defaults == [
            "max_concurrent": "none", "min_time": "0ms", "high_water": "none", "strategy": "LEAK", "penalty": "none",
            "reservoir": "none", "reservoir_refresh_interval": "none", "reservoir_refresh_amount": "none",
            "reservoir_increase_interval": "none", "reservoir_increase_amount": "none",
            "reservoir_increase_maximum": "none", "heartbeat": "250ms", "weight": "1", "priority": "5",
            "retry_inside": "true",
        ])
        let plain = try #require(try StrategyFactory.make(StrategySpec(name: "bottleneck"), seed: 1) as? BottleneckStrategy)
        #expect(plain.settings == BottleneckSettings(), "registry defaults are Bottleneck's")
        let typical = try #require(try StrategyFactory.make(StrategySpec(name: "bottleneck-typical"),
                                                            limits: LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000),
                                                            seed: 1) as? BottleneckStrategy)
        #expect(typical.settings.maxConcurrent == 1 && close(typical.settings.minTime, 1.2), "bottleneck-typical at 50 RPM")
        let reservoir = try #require(try StrategyFactory.make(StrategySpec(name: "bottleneck-reservoir"),
                                                              limits: LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000),
                                                              seed: 1) as? BottleneckStrategy)
        #expect(reservoir.settings.reservoir == 50 && reservoir.settings.reservoirRefreshAmount == 50
                    && reservoir.settings.reservoirRefreshInterval == 60, "bottleneck-reservoir at 50 RPM")

        var built = try StrategyFactory.make(StrategySpec(name: "bottleneck", params: ["min_time": .number(0.333)]), seed: 1)
        for id in Int32(0)...2 { built.arrived(bnRequest(id, 0), now: 0) }
        var times: [Double] = []
        var commands: [StrategyCommand] = []
        built.poll(now: 0, into: &commands)
        times += commands.map { _ in 0 }
        while let w = built.nextWakeup {
            commands.removeAll()
            built.poll(now: w, into: &commands)
            times += commands.map { _ in w }
        }
        #expect(close(times, [0, 0.333, 0.666]))
        #expect(!built.readsRateLimitHeaders)
    }

    @Test func factoryRejectsMeaninglessSettings() {
        #expect(throws: StrategyError.self) {
            try StrategyFactory.make(StrategySpec(name: "bottleneck", params: ["weight": .number(3), "max_concurrent": .number(2)]),
                                     seed: 1)
        }
        #expect(throws: StrategyError.self) {
            try StrategyFactory.make(StrategySpec(name: "bottleneck", params: ["reservoir_refresh_interval": .number(60)]),
                                     seed: 1)
        }
        #expect(throws: StrategyError.self) {
            try StrategyFactory.make(StrategySpec(name: "bottleneck", params: ["heartbeat": .number(0)]), seed: 1)
        }
    }

    // MARK: conservation against a tier-1 organisation

    /// Every request ends exactly once (success, give-up or drop), no request has two attempts
    /// in flight, and nothing is sent after a request ended — for Bottleneck set-ups with the
    /// SDK's retry, against the tier-1 Sonnet limits (50 RPM, 30k ITPM, 8k OTPM) at 2 requests/s.
    @Test(arguments: [
        ["max_concurrent": ParamValue.number(1), "min_time": .number(1.2)], // bottleneck-typical
        ["reservoir": .number(50), "reservoir_refresh_amount": .number(50), "reservoir_refresh_interval": .number(60)], // bottleneck-reservoir
        ["max_concurrent": .number(2), "high_water": .number(5)],
        ["max_concurrent": .number(2), "high_water": .number(5), "strategy": .string("BLOCK")],
        ["max_concurrent": .number(4), "high_water": .number(8), "strategy": .string("OVERFLOW"), "retry_inside": .bool(false)],
        ["reservoir": .number(10), "reservoir_increase_interval": .number(1.2), "reservoir_increase_amount": .number(1),
         "reservoir_increase_maximum": .number(10), "retry_inside": .bool(false)],
        ["min_time": .number(0.5)],
    ] as [[String: ParamValue]])
    func everyRequestEndsExactlyOnce(params: [String: ParamValue]) throws {
        let tier1 = try #require(TierCatalog.builtIn.limits(tier: "tier-1", modelClass: "sonnet-4.x"))
        let limits = LimitConfig(rpm: Double(tier1.rpm), itpm: Double(tier1.itpm), otpm: Double(tier1.otpm))
        let spec = StrategySpec(name: "bottleneck", params: params, retry: RoleSpec(name: "sdk-default"))
        var strategy = try StrategyFactory.make(spec, limits: limits, seed: 7)
        let ledger = runAgainstLimits(&strategy, limits: limits, requests: 400, rate: 2, seed: 7)
        #expect(ledger.violations.isEmpty, "\(ledger.violations.prefix(5))")
        #expect(ledger.ended.allSatisfy { $0 == 1 }, "unended: \(ledger.ended.enumerated().filter { $0.element != 1 }.count)")
        #expect(ledger.succeeded + ledger.failed + ledger.dropped == 400)
        #expect(ledger.succeeded > 0 && ledger.attempts >= ledger.succeeded)
        #expect(ledger.maxAttempts <= 3, "the SDK retries twice")
    }
}

/// What the conservation driver saw.
private struct Ledger {
    var ended: [Int]
    var succeeded = 0, failed = 0, dropped = 0, attempts = 0, maxAttempts = 0
    var violations: [String] = []
}

/// A small discrete-event driver (the simulator's loop, which this test target cannot import):
/// Poisson arrivals, the shared `LimitModel` as the server (429 with retry-after when refused),
/// 3 % of admitted attempts answered 529, constant latency.
private func runAgainstLimits(_ strategy: inout any ClientStrategy, limits: LimitConfig, requests n: Int, rate: Double,
                              seed: UInt64) -> Ledger {
    let random = RandomSource(seed: seed, stream: "bottleneck-conservation")
    var arrivals: [Double] = []
    var t = 0.0
    for _ in 0..<n { t += random.exponential(mean: 1 / rate); arrivals.append(t) }
    var server = LimitModel(limits)
    var ledger = Ledger(ended: Array(repeating: 0, count: n))
    var attemptsOf = Array(repeating: 0, count: n)
    var inFlight = Array(repeating: false, count: n)
    var completions: [(time: Double, id: Int, outcome: AttemptOutcome)] = []
    var next = 0
    var now = 0.0
    var steps = 0
    func request(_ id: Int) -> PendingRequest { bnRequest(Int32(id), arrivals[id]) }

    while steps < 2_000_000 {
        steps += 1
        let ta = next < n ? arrivals[next] : .infinity
        let tc = completions.map(\.time).min() ?? .infinity
        let tw = strategy.nextWakeup ?? .infinity
        let step = min(ta, tc, tw)
        if step == .infinity { break }
        if step < now { ledger.violations.append("wakeup \(step) before now \(now)") }
        now = max(now, step)
        if tc <= step {
            completions.sort { $0.time < $1.time }
            while let c = completions.first, c.time <= now {
                completions.removeFirst()
                inFlight[c.id] = false
                if c.outcome.succeeded { ledger.ended[c.id] += 1; ledger.succeeded += 1 }
                strategy.finished(request(c.id), attempt: attemptsOf[c.id], outcome: c.outcome, now: now)
            }
        } else if ta <= step {
            while next < n, arrivals[next] <= now {
                strategy.arrived(request(next), now: now)
                next += 1
            }
        }
        var commands: [StrategyCommand] = []
        strategy.poll(now: now, into: &commands)
        for command in commands {
            switch command {
            case .submitBatch: Issue.record("this strategy never submits batches")
            case .send(let id32, let readyAt):
                let id = Int(id32)
                if ledger.ended[id] > 0 { ledger.violations.append("send after end: \(id)") }
                if inFlight[id] { ledger.violations.append("two attempts in flight: \(id)") }
                if readyAt > now + 1e-9 || readyAt < arrivals[id] - 1e-9 {
                    ledger.violations.append("readyAt \(readyAt) outside [arrival, now] for \(id)")
                }
                attemptsOf[id] += 1
                ledger.attempts += 1
                ledger.maxAttempts = max(ledger.maxAttempts, attemptsOf[id])
                inFlight[id] = true
                let decision = server.admit(RequestCost(inputTokens: 500, maxTokens: 200), at: now, withSnapshot: false)
                let outcome: AttemptOutcome
                if !decision.admitted {
                    outcome = AttemptOutcome(status: 429, error: .rateLimited, retryAfter: decision.retryAfter.map(Double.init),
                                             shouldRetry: true, sentAt: now, completedAt: now + 0.05)
                } else if random.uniform() < 0.03 {
                    outcome = AttemptOutcome(status: 529, error: .overloaded, sentAt: now, completedAt: now + 0.05)
                } else {
                    let end = now + 0.5 + 149.0 / 50
                    server.scheduleOutput(tokens: 150, maxTokens: 200, from: now + 0.5, to: end)
                    outcome = AttemptOutcome(status: 200, error: .none, inputTokens: 500, outputTokens: 150,
                                             sentAt: now, completedAt: end)
                }
                completions.append((outcome.completedAt, id, outcome))
            case .giveUp(let id32, _):
                let id = Int(id32)
                if inFlight[id] { ledger.violations.append("give-up while in flight: \(id)") }
                if attemptsOf[id] == 0 { ledger.violations.append("give-up before any attempt: \(id)") }
                ledger.ended[id] += 1
                ledger.failed += 1
            case .drop(let id32, _):
                let id = Int(id32)
                if inFlight[id] { ledger.violations.append("drop while in flight: \(id)") }
                ledger.ended[id] += 1
                ledger.dropped += 1
            }
        }
    }
    if steps >= 2_000_000 { ledger.violations.append("the driver did not terminate") }
    return ledger
}
