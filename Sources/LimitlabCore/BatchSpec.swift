/// Requests that may wait: a share of the workload marked deferrable (`workload.deferrable`),
/// with its own latency SLO. A strategy may send them through the Message Batches API; every
/// other request is urgent and is judged against the scenario's `slo:`.
public struct DeferrableSpec: Sendable, Equatable {
    /// Share of requests that are deferrable, in [0, 1], drawn per request from the scenario's
    /// `deferrable` stream (so the other draws do not move).
    public var share: Double
    /// A deferrable request meets its SLO when it succeeds within this many seconds of its
    /// intended arrival (default 24 h, the Batches API's expiry).
    public var latency: Double
    public init(share: Double, latency: Double = 86_400) { self.share = share; self.latency = latency }
}

/// The Message Batches side of the server (`server.batch`): how fast a batch is worked through,
/// when it starts, when it expires, and the organisation's batch limits. Anthropic's "Batch
/// processing" page (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing)
/// says most batches complete within an hour and unfinished requests expire after 24 h; the
/// batch limits per tier are on https://docs.anthropic.com/en/api/rate-limits.
public struct BatchServerModel: Sendable, Equatable {
    /// Requests of one batch processed per second once it has started.
    public var requestsPerSecond: Double
    /// Mean of the exponential delay from creation to the start of processing (0: at once).
    public var startDelay: Double
    /// Seconds from creation to `expires_at`; unprocessed requests then end as `expired`.
    public var expiry: Double
    /// Calls per minute over all batch endpoints; nil: the tier's (`batch_rpm`), else 50.
    public var rpm: Double?
    /// Most requests waiting in the processing queue; nil: the tier's (`batch_queue`), else 100,000.
    public var queue: Int?

    public init(requestsPerSecond: Double = 1000, startDelay: Double = 0, expiry: Double = 86_400,
                rpm: Double? = nil, queue: Int? = nil) {
        self.requestsPerSecond = requestsPerSecond; self.startDelay = startDelay; self.expiry = expiry
        self.rpm = rpm; self.queue = queue
    }

    /// Requests per batch, on every tier (DOC: "up to 100,000 Message requests or 256 MB").
    public static let maxRequestsPerBatch = 100_000
}
