import Foundation
import LimitlabCore
import LimitlabReport
import Testing

/// The event CSV renders whatever a live server put into the log without trapping.
@Suite struct EventCSVTests {
    @Test func absurdRetryAfterAndTimesRenderWithoutTrapping() {
        var stream = ArrivalStream()
        stream.append(at: 0, input: 10, output: 5, maxTokens: 10)
        stream.append(at: 1, input: 10, output: 5, maxTokens: 10)
        var log = RunLog(requests: 2)
        let a = Int(log.beginAttempt(request: 0, readyAt: 0, sentAt: 0))
        log.status[a] = 429
        log.retryAfter[a] = Float(1e20) // finite as a Float, beyond Int
        log.completedAt[a] = 0.5
        log.finish(request: 0, outcome: .failed)
        let b = Int(log.beginAttempt(request: 1, readyAt: 1e13, sentAt: 1e13))
        log.status[b] = 200
        log.completedAt[b] = 1e300
        log.finish(request: 1, outcome: .succeeded)
        let csv = String(decoding: EventCSV.render(log: log, stream: stream), as: UTF8.self)
        let rows = csv.split(separator: "\n")
        #expect(rows.count == 3)
        #expect(rows[1].contains(",\(Int.max),"))
        #expect(rows[2].hasPrefix("1,1,1.000000,10000000000000.000000,"))
    }
}
