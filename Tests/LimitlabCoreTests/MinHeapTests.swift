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
}
