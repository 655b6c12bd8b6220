public import Foundation
public import LimitlabCore

/// `events-<strategy>.csv`: one row per attempt, plus one row (attempt 0) for a request that
/// was dropped before any attempt. Times are seconds from the start of the run, 6 decimals;
/// empty cells mean "did not happen".
public enum EventCSV {
    public static let header =
        "request_id,attempt,intended_s,ready_s,sent_s,first_token_s,completed_s,status,error,input_tokens,"
        + "cache_creation_tokens,cache_read_tokens,output_tokens,retry_after_s,refused_by,outcome,key,worker,fallback,model\n"

    public static func render(log: RunLog, stream: ArrivalStream) -> Data {
        var out = [UInt8]()
        out.reserveCapacity(log.attemptCountTotal * 110 + 256)
        out.append(contentsOf: Array(header.utf8))

        @inline(__always) func put(_ s: String) { out.append(contentsOf: s.utf8) }
        func time(_ t: Double) {
            guard t.isFinite else { return }
            // Beyond ±9.2e12 s the microseconds do not fit an Int64 (the conversion would trap).
            guard Swift.abs(t) < 9e12 else { put(String(format: "%.6f", t)); return }
            // Fixed 6 decimals, built from integers for speed and locale independence.
            let micros = Int64((t * 1_000_000).rounded())
            let whole = micros / 1_000_000
            var frac = String(abs(micros % 1_000_000))
            if micros < 0 && whole == 0 { put("-") }
            put(String(whole))
            out.append(UInt8(ascii: "."))
            if frac.count < 6 { frac = String(repeating: "0", count: 6 - frac.count) + frac }
            put(frac)
        }
        func comma() { out.append(UInt8(ascii: ",")) }

        func outcomeLabel(request r: Int, attempt a: Int) -> String {
            if Int(log.lastAttempt[r]) != a { return "retried" }
            let reason = log.reason[r]
            switch RequestOutcome(rawValue: log.outcome[r]) ?? .pending {
            case .succeeded: return "succeeded"
            case .failed: return "failed:" + (GiveUpReason(rawValue: reason)?.label ?? "unknown")
            case .dropped: return "dropped:" + (DropReason(rawValue: reason)?.label ?? "unknown")
            case .pending: return "unfinished"
            }
        }

        // Attempts grouped by request, in request order, attempts in order.
        var firstAttempt = [Int32](repeating: -1, count: log.requestCount)
        var nextAttempt = [Int32](repeating: -1, count: log.attemptCountTotal)
        var lastSeen = [Int32](repeating: -1, count: log.requestCount)
        for a in 0..<log.attemptCountTotal {
            let r = Int(log.attemptRequest[a])
            if lastSeen[r] < 0 { firstAttempt[r] = Int32(a) } else { nextAttempt[Int(lastSeen[r])] = Int32(a) }
            lastSeen[r] = Int32(a)
        }

        for r in 0..<log.requestCount {
            var a = Int(firstAttempt[r])
            if a < 0 {
                put(String(r)); put(",0,"); time(stream.intendedAt[r]); put(",,,,,,,")
                put(String(stream.inputTokens[r])); put(",,,,,,")
                put(outcomeLabel(request: r, attempt: -1)); put(",,")
                put(String(log.worker[r])); comma()
                put(log.dropFallback[r] != 0 ? "1" : "0"); put(",")
                out.append(UInt8(ascii: "\n"))
                continue
            }
            while a >= 0 {
                let status = log.status[a]
                put(String(r)); comma()
                put(String(log.attemptNumber[a])); comma()
                time(stream.intendedAt[r]); comma()
                time(log.readyAt[a]); comma()
                time(log.sentAt[a]); comma()
                time(log.firstTokenAt[a]); comma()
                time(log.completedAt[a]); comma()
                put(String(status)); comma()
                let kind = ErrorKind(rawValue: log.errorKind[a]) ?? .none
                if kind != .none { put(kind.label) }
                comma()
                let read = Int(log.cacheReadTokens[a]), creation = Int(log.cacheCreationTokens[a])
                put(String(Int(stream.inputTokens[r]) - log.trimmed(ofAttempt: a) - read - creation)); comma()
                put(String(creation)); comma()
                put(String(read)); comma()
                put(status == 200 ? String(stream.outputTokens[r]) : "0"); comma()
                let ra = log.retryAfter[a]
                // Saturating: a server's absurd retry-after must not trap the report.
                if ra.isFinite { put(String(Swift.abs(ra) < 9e18 ? Int(ra) : (ra < 0 ? Int.min : Int.max))) }
                comma()
                put(LimitDimensions(rawValue: log.refusedBy[a]).label); comma()
                put(outcomeLabel(request: r, attempt: a)); comma()
                put(String(a < log.key.count ? log.key[a] : 0)); comma()
                put(String(log.worker[r])); comma()
                put(a < log.fallback.count && log.fallback[a] != 0 ? "1" : "0"); comma()
                put(String(log.modelClass(ofAttempt: a)))
                out.append(UInt8(ascii: "\n"))
                a = Int(nextAttempt[a])
            }
        }
        return Data(out)
    }
}
