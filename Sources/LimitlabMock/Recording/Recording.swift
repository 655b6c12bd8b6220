import Foundation
public import LimitlabCore

/// One request as the server saw it: a row of a recording (`limitlab.recording/1`, see
/// docs/recording.md). Times are model seconds since the server started.
public struct RecordingRow: Sendable, Equatable {
    /// Arrival: when the request reached the server.
    public var at: Double
    /// Redacted API key: `key-1`, `key-2`, … by first appearance in the recording. The key
    /// itself is never written (nor held: the recorder keeps a salted hash).
    public var key: String
    /// Organisation id (`anthropic-organization-id`).
    public var org: String
    public var model: String
    /// Model class whose limits applied (`sonnet-4.x`, or an extra model id).
    public var modelClass: String
    /// `messages` or `count_tokens`.
    public var endpoint: String
    /// HTTP status sent; 0 for a connection reset (no response).
    public var status: Int
    /// Limit dimensions that refused a 429 (`requests`, `input_tokens+output_tokens`, …), else "".
    public var refusedBy: String
    /// `retry-after` sent, whole seconds.
    public var retryAfter: Int?
    /// Prompt tokens after the cache (the API's `input_tokens`).
    public var inputTokens: Int
    public var cacheWriteTokens: Int
    public var cacheReadTokens: Int
    /// Output tokens sent.
    public var outputTokens: Int
    public var maxTokens: Int
    /// Arrival → first output token, seconds (nil when nothing was generated).
    public var ttft: Double?
    /// When the response was over (last byte, error event or reset), model seconds.
    public var completedAt: Double
    public var stream: Bool
    /// `none`, `connection_reset`, `stall`, `stream_error`, `overloaded`, `server_error`.
    public var fault: String
    public var requestId: String
    /// FNV-1a of the request body, 16 hex digits: a retry sends the same body again, so the
    /// report can chain a request's attempts (it never sees the body itself).
    public var bodyHash: String
    /// The client's `x-stainless-retry-count` header (the official SDKs send it), if any.
    public var retryCount: Int?

    public init(at: Double, key: String, org: String, model: String, modelClass: String, endpoint: String, status: Int,
                refusedBy: String = "", retryAfter: Int? = nil, inputTokens: Int, cacheWriteTokens: Int = 0,
                cacheReadTokens: Int = 0, outputTokens: Int = 0, maxTokens: Int = 0, ttft: Double? = nil,
                completedAt: Double, stream: Bool = false, fault: String = "none", requestId: String = "",
                bodyHash: String = "", retryCount: Int? = nil) {
        self.at = at; self.key = key; self.org = org; self.model = model; self.modelClass = modelClass
        self.endpoint = endpoint; self.status = status; self.refusedBy = refusedBy; self.retryAfter = retryAfter
        self.inputTokens = inputTokens; self.cacheWriteTokens = cacheWriteTokens; self.cacheReadTokens = cacheReadTokens
        self.outputTokens = outputTokens; self.maxTokens = maxTokens; self.ttft = ttft; self.completedAt = completedAt
        self.stream = stream; self.fault = fault; self.requestId = requestId; self.bodyHash = bodyHash
        self.retryCount = retryCount
    }

    /// All prompt tokens (cached prefix included).
    public var promptTokens: Int { inputTokens + cacheWriteTokens + cacheReadTokens }
}

/// The first line of a recording: what the server was configured with, so a report can hold
/// the traffic against the limits without the config file.
public struct RecordingHeader: Sendable, Equatable {
    public static let schema = "limitlab.recording/1"
    /// Wall-clock Unix time of model time 0.
    public var epoch: Double
    public var seed: UInt64
    public var organizations: [Organization]

    public struct Organization: Sendable, Equatable {
        public var id: String
        /// Limits per model class served.
        public var classes: [String: LimitConfig]
        public init(id: String, classes: [String: LimitConfig]) { self.id = id; self.classes = classes }
    }

    public init(epoch: Double, seed: UInt64, organizations: [Organization]) {
        self.epoch = epoch; self.seed = seed; self.organizations = organizations
    }
}

/// What the handler knows about a request besides what the server decides: who sent it and how.
struct RecordTag {
    var keyHash: UInt64
    var requestId: String
    /// FNV-1a of the body; the writer thread formats it (16 hex digits).
    var bodyHash: UInt64
    var retryCount: Int?
}

/// Appends a recording (`DIR/recording.jsonl`) from the mock's hot path. Rows go into a bounded
/// in-memory queue; a writer thread formats and writes them at least every `flushInterval`
/// (0.25 s), so a server killed with SIGKILL loses at most that much (the kernel keeps what was
/// written; no fsync: a recording survives the process, not a power cut). When the queue is
/// full (the disk cannot keep up), further rows are counted and dropped, and the count is
/// written as a `{"dropped":N}` line so the gap is visible: the server never waits for the disk.
public final class MockRecorder: @unchecked Sendable {
    /// The recording's file in `directory`.
    public static let fileName = "recording.jsonl"
    public let directory: String
    public let path: String
    /// Most rows waiting for the writer (65,536 by default: a quarter second of 250,000
    /// requests per second; a row takes a few hundred bytes).
    public let capacity: Int
    let flushInterval: Double

    private let fd: Int32
    private let condition = NSCondition()
    /// A row waiting for the writer, with its body hash still a number.
    private struct Queued {
        var row: RecordingRow
        var bodyHash: UInt64
    }
    private var queue: [Queued] = []
    private var dropped = 0
    private var closed = false
    private var labels: [UInt64: String] = [:]
    private let salt = UInt64.random(in: .min ... .max)
    private var writer: Thread?
    private let done = DispatchSemaphore(value: 0)
    /// Rows handed to the writer so far (under the lock).
    private var written = 0
    /// A write error has been reported (once: a full disk would otherwise repeat it 4 times a second).
    private var reportedWriteError = false

    /// Rows recorded so far (written, or being written).
    public var rowCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return written + queue.count
    }

    /// Creates `directory` if needed and `recording.jsonl` in it; refuses to overwrite one.
    public init(directory: String, capacity: Int = 65_536, flushInterval: Double = 0.25) throws(MockError) {
        self.directory = directory
        self.capacity = Swift.max(1, capacity)
        self.flushInterval = flushInterval
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw MockError(.config, "cannot create the recording directory \(directory): \(error.localizedDescription)")
        }
        let opened = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        guard opened >= 0 else {
            let why = errno == EEXIST ? "it already exists; choose another directory or remove it"
                : String(cString: strerror(errno))
            throw MockError(.config, "cannot create the recording \(path): \(why)")
        }
        fd = opened
        queue.reserveCapacity(1024)
        let thread = Thread { [self] in run() }
        thread.name = "limitlab.recorder"
        writer = thread
        thread.start()
    }

    deinit { closeDescriptor(fd) }

    /// The label of a key, hashed with this recording's salt: `key-N` by first appearance.
    func keyHash(_ key: String) -> UInt64 {
        var h = 0xcbf2_9ce4_8422_2325 ^ salt
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    /// Writes the header line at once (before the server takes any request), so that even a
    /// recording killed in its first instant names its schema.
    func start(header: RecordingHeader) {
        condition.lock()
        defer { condition.unlock() }
        writeAll(Array(RecordingFormat.headerLine(header).utf8))
    }

    /// Queues a row; `keyHash` from `keyHash(_:)` becomes the row's label, `bodyHash` its
    /// `body_hash` (the row's own `bodyHash` is not used).
    func append(_ rowIn: RecordingRow, keyHash: UInt64, bodyHash: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return }
        guard queue.count < capacity else {
            dropped += 1
            return
        }
        var row = rowIn
        if let l = labels[keyHash] {
            row.key = l
        } else {
            // The label map grows with distinct keys only; past 100,000 they share one label.
            let l = labels.count < 100_000 ? "key-\(labels.count + 1)" : "key-other"
            if labels.count < 100_000 { labels[keyHash] = l }
            row.key = l
        }
        queue.append(Queued(row: row, bodyHash: bodyHash))
    }

    /// Writes what is queued and stops the writer. Idempotent.
    public func close() {
        condition.lock()
        let wasClosed = closed
        closed = true
        condition.signal()
        condition.unlock()
        if !wasClosed { done.wait() }
    }

    private func run() {
        var batch: [Queued] = []
        batch.reserveCapacity(1024)
        var out: [UInt8] = []
        while true {
            condition.lock()
            let deadline = Date(timeIntervalSinceNow: flushInterval)
            // Wakes on the timer only (or close): the hot path never signals.
            while !closed {
                if !condition.wait(until: deadline) { break }
            }
            swap(&batch, &queue)
            written += batch.count
            let lost = dropped
            dropped = 0
            let finished = closed
            condition.unlock()

            out.removeAll(keepingCapacity: true)
            for q in batch { RecordingFormat.append(q.row, bodyHash: q.bodyHash, to: &out) }
            if lost > 0 { out.append(contentsOf: "{\"dropped\":\(lost)}\n".utf8) }
            writeAll(out)
            batch.removeAll(keepingCapacity: true)
            // A burst can leave a large buffer behind: do not keep it for the rest of the run.
            if batch.capacity > 4 * 1024 { batch = []; batch.reserveCapacity(1024) }
            if out.capacity > 1 << 22 { out = [] }
            if finished { break }
        }
        done.signal()
    }

    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buf in
            var offset = 0
            while offset < buf.count {
                let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    if reportedWriteError { return }
                    reportedWriteError = true
                    FileHandle.standardError.write(Data(
                        "limitlab: cannot write the recording \(path): \(String(cString: strerror(errno)))\n".utf8))
                    return
                }
                offset += n
            }
        }
    }
}

private func closeDescriptor(_ fd: Int32) { _ = close(fd) }
