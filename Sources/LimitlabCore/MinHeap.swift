/// A binary min-heap over a contiguous array. Value semantics, no per-element allocation:
/// the simulator's event queues and the limit model's output-drain schedule use it.
public struct MinHeap<Element: Comparable>: Sendable where Element: Sendable {
    @usableFromInline var storage: [Element] = []

    public init() {}

    public var isEmpty: Bool { storage.isEmpty }
    public var count: Int { storage.count }
    public var min: Element? { storage.first }

    @inlinable
    public mutating func push(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if storage[child] < storage[parent] {
                storage.swapAt(child, parent)
                child = parent
            } else { break }
        }
    }

    @inlinable
    @discardableResult
    public mutating func pop() -> Element? {
        guard let top = storage.first else { return nil }
        let last = storage.removeLast()
        if !storage.isEmpty {
            storage[0] = last
            var parent = 0
            let n = storage.count
            while true {
                let left = 2 * parent + 1
                if left >= n { break }
                let right = left + 1
                let smaller = right < n && storage[right] < storage[left] ? right : left
                if storage[smaller] < storage[parent] {
                    storage.swapAt(smaller, parent)
                    parent = smaller
                } else { break }
            }
        }
        return top
    }

    public mutating func reserveCapacity(_ n: Int) { storage.reserveCapacity(n) }
}
