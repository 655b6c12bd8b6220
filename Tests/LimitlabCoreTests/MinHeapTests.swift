import LimitlabCore
import Testing

@Suite struct MinHeapTests {
    @Test func popsInOrder() {
        var heap = MinHeap<Int>()
        var x: UInt64 = 12345
        var values: [Int] = []
        for _ in 0..<1000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            let v = Int(x >> 40)
            values.append(v)
            heap.push(v)
        }
        var out: [Int] = []
        while let v = heap.pop() { out.append(v) }
        #expect(out == values.sorted())
    }

    /// Equal keys leave in the order of the swapping heap the simulator was validated with
    /// (the baselines depend on it): a reference copy of that heap decides the expected order.
    @Test func equalKeysKeepTheSwappingHeapsOrder() {
        struct Item: Comparable, Sendable {
            var key: Int, tag: Int
            static func < (a: Item, b: Item) -> Bool { a.key < b.key }
        }
        struct SwappingHeap {
            var s: [Item] = []
            mutating func push(_ e: Item) {
                s.append(e)
                var c = s.count - 1
                while c > 0 { let p = (c - 1) / 2; if s[c] < s[p] { s.swapAt(c, p); c = p } else { break } }
            }
            mutating func pop() -> Item? {
                guard let top = s.first else { return nil }
                let last = s.removeLast()
                if !s.isEmpty {
                    s[0] = last
                    var p = 0
                    while true {
                        let l = 2 * p + 1
                        if l >= s.count { break }
                        let m = l + 1 < s.count && s[l + 1] < s[l] ? l + 1 : l
                        if s[m] < s[p] { s.swapAt(m, p); p = m } else { break }
                    }
                }
                return top
            }
        }
        var heap = MinHeap<Item>(), reference = SwappingHeap()
        var x: UInt64 = 99
        var popped: [Int] = [], expected: [Int] = []
        for i in 0..<5000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            if x >> 62 == 0 {
                popped.append(heap.pop()?.tag ?? -1)
                expected.append(reference.pop()?.tag ?? -1)
            } else {
                let item = Item(key: Int(x >> 59), tag: i)   // 32 keys: many ties
                heap.push(item); reference.push(item)
            }
        }
        while let v = heap.pop() { popped.append(v.tag) }
        while let v = reference.pop() { expected.append(v.tag) }
        #expect(popped == expected)
    }
}
