/// A sum over a sliding time window kept in `slots` equal buckets aligned to t = 0, so adding and
/// reading cost O(1) amortised and memory is fixed. A value added in bucket `b` counts until
/// bucket `b + slots` begins: it ages out between `window − width` and `window` after it was
/// added (the granularity of Finagle's `WindowedAdder`, which the budgets and the shedder mirror).
struct SlidingSum {
    let width: Double
    let slots: Int
    private var ring: [Int]
    /// Bucket index of the newest bucket.
    private var head: Int = 0
    private(set) var total: Int = 0

    init(window: Double, slots: Int) {
        precondition(window > 0 && slots >= 1, "a sliding window needs a positive length and at least one slot")
        self.width = window / Double(slots)
        self.slots = slots
        ring = Array(repeating: 0, count: slots)
    }

    /// Moves the window so that `now` falls in the newest bucket; time never goes back.
    mutating func advance(to now: Double) {
        let b = Int((now / width).rounded(.down))
        guard b > head else { return }
        if b - head >= slots {
            for i in ring.indices { ring[i] = 0 }
            total = 0
        } else {
            for k in (head + 1)...b {
                let i = k % slots
                total -= ring[i]
                ring[i] = 0
            }
        }
        head = b
    }

    mutating func add(_ n: Int, at now: Double) {
        advance(to: now)
        ring[head % slots] += n
        total += n
    }

    mutating func sum(at now: Double) -> Int {
        advance(to: now)
        return total
    }

    /// The sum at `now` without moving the window (for read-only queries).
    func peek(at now: Double) -> Int {
        let b = Int((now / width).rounded(.down))
        guard b > head else { return total }
        guard b - head < slots else { return 0 }
        var t = total
        for k in (head + 1)...b { t -= ring[k % slots] }
        return t
    }
}
