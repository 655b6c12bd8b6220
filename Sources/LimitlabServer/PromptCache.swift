/// One organisation's prompt cache: which prefixes are readable when.
///
/// A prefix written by a request becomes readable at that request's first token (when the
/// prompt has been processed), so concurrent first uses all write, as on the real API. A read
/// or a write (re)starts the TTL from then. Entries are keyed by `PromptBreakpoint.key`.
struct PromptCache {
    private struct Entry {
        var readyAt: Double
        var expiresAt: Double
    }

    /// Prefixes shorter than this are silently not cached (the real API's minimum per model).
    let minCacheableTokens: Int
    private var entries: [UInt64: Entry] = [:]
    private var pruneAt = 1024

    init(minCacheableTokens: Int) {
        self.minCacheableTokens = minCacheableTokens
    }

    var count: Int { entries.count }

    /// The outcome of looking a prompt up: usage split and which breakpoint hit.
    struct Use {
        var read = 0
        var creation5m = 0
        var creation1h = 0
        /// Index of the breakpoint that was read, or -1.
        var hit = -1
    }

    private func eligible(_ b: PromptBreakpoint, promptTokens: Int) -> Bool {
        b.tokens > 0 && b.tokens <= promptTokens && b.tokens >= minCacheableTokens
    }

    /// The longest readable breakpoint prefix is read; every eligible breakpoint beyond it is
    /// written, each segment under its own TTL.
    func lookUp(_ breakpoints: [PromptBreakpoint], promptTokens: Int, at now: Double) -> Use {
        var use = Use()
        if breakpoints.isEmpty { return use }
        var i = breakpoints.count - 1
        while i >= 0 {
            let b = breakpoints[i]
            if eligible(b, promptTokens: promptTokens) {
                if let e = entries[b.key], e.readyAt <= now, now < e.expiresAt {
                    use.hit = i
                    break
                }
            }
            i -= 1
        }
        var covered = 0
        if use.hit >= 0 {
            covered = breakpoints[use.hit].tokens
            use.read = covered
        }
        var j = use.hit + 1
        while j < breakpoints.count {
            let b = breakpoints[j]
            if eligible(b, promptTokens: promptTokens) && b.tokens > covered {
                let segment = b.tokens - covered
                if b.longTTL { use.creation1h += segment } else { use.creation5m += segment }
                covered = b.tokens
            }
            j += 1
        }
        return use
    }

    /// Stores what `use` read and wrote as of `t` (the first token): the read prefix's TTL
    /// restarts, written prefixes become readable.
    mutating func store(_ breakpoints: [PromptBreakpoint], promptTokens: Int, use: Use, at t: Double) {
        if breakpoints.isEmpty { return }
        var covered = use.hit >= 0 ? breakpoints[use.hit].tokens : 0
        if use.hit >= 0 { refresh(breakpoints[use.hit], at: t) }
        var j = use.hit + 1
        while j < breakpoints.count {
            let b = breakpoints[j]
            if eligible(b, promptTokens: promptTokens) && b.tokens > covered {
                refresh(b, at: t)
                covered = b.tokens
            }
            j += 1
        }
        if entries.count >= pruneAt {
            // Keep memory flat under a stream of distinct prefixes.
            entries = entries.filter { $0.value.expiresAt > t }
            pruneAt = Swift.max(1024, entries.count * 2)
        }
    }

    private mutating func refresh(_ b: PromptBreakpoint, at t: Double) {
        if var e = entries[b.key], t < e.expiresAt {
            // A live copy (or one another request will finish writing later): readable from
            // the earlier of the two writes, kept until the later expiry.
            e.readyAt = Swift.min(e.readyAt, t)
            e.expiresAt = Swift.max(e.expiresAt, t + b.ttl)
            entries[b.key] = e
        } else {
            entries[b.key] = Entry(readyAt: t, expiresAt: t + b.ttl)
        }
    }
}
