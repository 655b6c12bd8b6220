public import LimitlabCore

/// A recording turned into the shapes the report code takes: one "strategy" run (the user's
/// own client, labelled `client`) whose attempts are the recorded Messages requests.
public struct RecordedRun: Sendable {
    /// The scenario the report echoes: the one given, or one built from the recording's header.
    public var scenario: Scenario
    public var stream: ArrivalStream
    public var log: RunLog
    /// Key label of each worker index (`RunLog.worker` is the key, for per-key fairness).
    public var keyLabels: [String]
    /// Organisation id of each `RunLog.key` value (the limits belong to organisations).
    public var organizations: [String]
    /// Per organisation (as `RunLog.key`): the limits applied to most of its requests.
    public var organizationLimits: [LimitConfig]
    /// Model time (seconds since the server started) of the first request: time 0 of the report.
    public var origin: Double
    /// Messages rows used, and rows of other endpoints (count_tokens) left out.
    public var messagesRows: Int
    public var otherRows: Int
    /// Output tokens sent per attempt (the stream keeps one figure per request).
    public var attemptOutputTokens: [Int32]
}

/// Recording → report inputs.
public enum RecordingConversion {
    /// Label of the one run in a report made from a recording.
    public static let clientLabel = "client"

    /// Chains the recorded attempts into requests and fills an `ArrivalStream` and a `RunLog`.
    ///
    /// The server sees attempts, not requests. An attempt continues an earlier request when it
    /// comes from the same key with the same body (same `body_hash`) after that request's last
    /// attempt failed and was answered, unless the client says it is a first try
    /// (`retry_count` 0, the official SDKs' `x-stainless-retry-count`); otherwise it starts a new
    /// request. A request succeeds when its last attempt got a 200 that was not cut by a fault.
    ///
    /// - Parameter scenario: the scenario whose name, limits, SLO and thresholds the report
    ///   uses (`limitlab test`, `report --scenario`); nil builds one from the recording.
    public static func run(_ contents: RecordingFormat.Contents, scenario given: Scenario? = nil,
                           name: String = "recording") -> RecordedRun {
        let rows = contents.rows.filter { $0.endpoint == "messages" }.sorted { $0.at < $1.at }
        let origin = rows.first?.at ?? 0

        // Key labels and organisations by first appearance (header order for organisations).
        var keyIndex: [String: Int] = [:], keyLabels: [String] = []
        var orgIds = contents.header.organizations.map(\.id)
        var orgIndex = Dictionary(orgIds.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var classUse: [String: Int] = [:], modelUse: [String: Int] = [:]
        var orgClassUse: [Int: [String: Int]] = [:]
        for r in rows {
            if keyIndex[r.key] == nil { keyIndex[r.key] = keyLabels.count; keyLabels.append(r.key) }
            if orgIndex[r.org] == nil { orgIndex[r.org] = orgIds.count; orgIds.append(r.org) }
            classUse[r.modelClass, default: 0] += 1
            modelUse[r.model, default: 0] += 1
            orgClassUse[orgIndex[r.org]!, default: [:]][r.modelClass, default: 0] += 1
        }
        func mostUsed(_ m: [String: Int]) -> String? { m.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key }

        // Each organisation's limits: those of the class it used most (header order otherwise).
        let fallback = given?.limits.config ?? LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000)
        var orgLimits: [LimitConfig] = []
        for (i, id) in orgIds.enumerated() {
            let classes = contents.header.organizations.first { $0.id == id }?.classes ?? [:]
            let c = mostUsed(orgClassUse[i] ?? [:]) ?? mostUsed(classUse) ?? classes.keys.sorted().first ?? ""
            if let given {
                let keys = given.limits.keyConfigs
                orgLimits.append(i < keys.count ? keys[i] : keys.last ?? fallback)
            } else {
                orgLimits.append(classes[c] ?? classes.values.first ?? fallback)
            }
        }

        // Chain attempts into requests.
        struct ChainKey: Hashable { var key: Int; var body: String }
        var open: [ChainKey: [Int]] = [:]   // request indices whose last attempt failed
        var requestOf = [Int](repeating: 0, count: rows.count)
        var firstRow: [Int] = [], lastRow: [Int] = []
        for (i, r) in rows.enumerated() {
            let ck = ChainKey(key: keyIndex[r.key]!, body: r.bodyHash)
            var req = -1
            if r.retryCount != 0, !r.bodyHash.isEmpty, var list = open[ck] {
                // The oldest open request answered before this attempt arrived.
                if let j = list.firstIndex(where: { rows[lastRow[$0]].completedAt <= r.at + 1e-6 }) {
                    req = list.remove(at: j)
                    open[ck] = list.isEmpty ? nil : list
                }
            }
            if req < 0 {
                req = firstRow.count
                firstRow.append(i)
                lastRow.append(i)
            } else {
                lastRow[req] = i
            }
            requestOf[i] = req
            if !succeeded(r) { open[ck, default: []].append(req) }
        }

        var stream = ArrivalStream()
        stream.reserveCapacity(firstRow.count)
        for (req, f) in firstRow.enumerated() {
            let first = rows[f], last = rows[lastRow[req]]
            stream.append(at: first.at - origin, input: first.promptTokens,
                          output: succeeded(last) ? last.outputTokens : 0, maxTokens: first.maxTokens,
                          prefixTokens: last.cacheReadTokens + last.cacheWriteTokens)
        }
        stream.window = rows.last.map { $0.at - origin } ?? 0

        var log = RunLog(requests: firstRow.count)
        var outputs: [Int32] = []
        outputs.reserveCapacity(rows.count)
        for (i, r) in rows.enumerated() {
            let req = requestOf[i]
            let a = Int(log.beginAttempt(request: Int32(req), readyAt: r.at - origin, sentAt: r.at - origin,
                                         key: orgIndex[r.org] ?? 0))
            log.firstTokenAt[a] = r.ttft.map { r.at + $0 - origin } ?? .nan
            log.completedAt[a] = r.completedAt - origin
            log.status[a] = UInt16(clamping: r.status)
            log.errorKind[a] = errorKind(r).rawValue
            log.refusedBy[a] = dimensions(r.refusedBy).rawValue
            log.retryAfter[a] = r.retryAfter.map { Float($0) } ?? .nan
            log.cacheCreationTokens[a] = Int32(clamping: r.cacheWriteTokens)
            log.cacheReadTokens[a] = Int32(clamping: r.cacheReadTokens)
            outputs.append(Int32(clamping: r.outputTokens))
            log.worker[req] = UInt16(clamping: keyIndex[r.key]!)
        }
        for req in 0..<firstRow.count {
            let last = rows[lastRow[req]]
            if succeeded(last) {
                log.finish(request: req, outcome: .succeeded)
            } else {
                // The client stopped retrying: with one attempt it never retried, else it gave up.
                let retried = lastRow[req] != firstRow[req]
                log.finish(request: req, outcome: .failed,
                           reason: (retried ? GiveUpReason.attemptsExhausted : .noRetry).rawValue)
            }
        }

        let scenario = given ?? built(contents, name: name, model: mostUsed(modelUse) ?? "claude-sonnet-4-5",
                                      modelClass: mostUsed(classUse), orgLimits: orgLimits, window: stream.window)
        return RecordedRun(scenario: scenario, stream: stream, log: log, keyLabels: keyLabels, organizations: orgIds,
                           organizationLimits: orgLimits, origin: origin, messagesRows: rows.count,
                           otherRows: contents.rows.count - rows.count, attemptOutputTokens: outputs)
    }

    /// A 200 whose response was not cut by a reset or a stream error.
    static func succeeded(_ r: RecordingRow) -> Bool {
        r.status == 200 && r.fault != "connection_reset" && r.fault != "stream_error"
    }

    static func errorKind(_ r: RecordingRow) -> ErrorKind {
        switch r.status {
        case 200: return r.fault == "stream_error" ? .overloaded : r.fault == "connection_reset" ? .connection : .none
        case 0: return .connection
        case 429: return .rateLimited
        case 529: return .overloaded
        case 500...599: return .serverError
        default: return .clientError
        }
    }

    /// `requests+input_tokens` → the option set.
    public static func dimensions(_ label: String) -> LimitDimensions {
        var d: LimitDimensions = []
        for part in label.split(separator: "+") {
            switch part {
            case "requests": d.insert(.requests)
            case "input_tokens": d.insert(.inputTokens)
            case "output_tokens": d.insert(.outputTokens)
            default: break
            }
        }
        return d
    }

    /// A scenario for a recording made without one: the recording's model and each
    /// organisation's limits, one strategy (`client`), the recorded window as its length.
    static func built(_ c: RecordingFormat.Contents, name: String, model: String, modelClass: String?,
                      orgLimits: [LimitConfig], window: Double) -> Scenario {
        let config = orgLimits.first ?? LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000)
        let limits = LimitsSpec(config: config, tier: nil, modelClass: modelClass, source: "recording",
                                keys: orgLimits.count > 1 ? orgLimits : [])
        var s = Scenario(name: name, seed: c.header.seed, target: .mock, length: .duration(Swift.max(window, 0)),
                         model: model, limits: limits, arrivals: [],
                         workload: WorkloadSpec(inputTokens: Sampled(.constant(0)), outputTokens: Sampled(.constant(0)),
                                                maxTokens: 0),
                         strategies: [StrategySpec(name: clientLabel)])
        s.description = "from the recording \(c.path)"
        return s
    }
}
