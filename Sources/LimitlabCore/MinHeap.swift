/// A binary min-heap over a contiguous array. Value semantics, no per-element allocation:
/// the simulator's event queues and the limit model's output-drain schedule use it.
public struct MinHeap<Element: Comparable>: Sendable where Element: Sendable {
    @usableFromInline var storage: [Element] = []

    public init() {}

    public var isEmpty: Bool { storage.isEmpty }
    public var count: Int { storage.count }
    public var min: Element? { storage.first }

    // Sifts move a hole instead of swapping, through one unsafe buffer (one uniqueness check
    // per call, not per level). The comparisons, and so the order of equal elements, are those
    // of the swapping version.
    @inlinable
    public mutating func push(_ element: Element) {
        storage.append(element)
        storage.withUnsafeMutableBufferPointer { s in
            var child = s.count - 1
            while child > 0 {
                let parent = (child &- 1) / 2
                guard element < s[parent] else { break }
                s[child] = s[parent]
                child = parent
            }
            s[child] = element
        }
    }

    @inlinable
    @discardableResult
    public mutating func pop() -> Element? {
        guard let top = storage.first else { return nil }
        let last = storage.removeLast()
        if !storage.isEmpty {
            storage.withUnsafeMutableBufferPointer { s in
                let n = s.count
                var parent = 0
                while true {
                    let left = 2 &* parent &+ 1
                    if left >= n { break }
                    let right = left &+ 1
                    let smaller = right < n && s[right] < s[left] ? right : left
                    guard s[smaller] < last else { break }
                    s[parent] = s[smaller]
                    parent = smaller
                }
                s[parent] = last
            }
        }
        return top
    }

    public mutating func reserveCapacity(_ n: Int) { storage.reserveCapacity(n) }
}
