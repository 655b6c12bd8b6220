import Dispatch
import Foundation
import LimitlabCore
import LimitlabLive
import LimitlabMock
import LimitlabReport

/// `run --target mock|URL`: the scenario over real HTTP with the live runner.
enum LiveTargets {
    struct Options {
        var apiKeyEnv: String?
        var maxCostUSD: Double?
        var maxRequests: Int?
        var quiet: Bool
        /// This process is one worker of a `--workers N` run (WorkersCommand.swift).
        var worker: LiveWorkerOptions? = nil
        /// The URL target is the parent's embedded mock: send the mock's scenario keys.
        var mockKeys = false
        /// Where the live metrics go (`--metrics-port`, `--otlp`), or nil.
        var metrics: LiveMetrics? = nil
    }

    /// Runs `scenario` live; returns the report inputs and the live echo.
    static func run(_ scenario: Scenario, target: TargetSpec, options o: Options) throws
        -> (stream: ArrivalStream, runs: [(spec: StrategySpec, log: RunLog)], echo: LiveEcho, epochs: [Double])
    {
        var live = LiveOptions(maxRequests: o.maxRequests, maxCostUSD: o.maxCostUSD, worker: o.worker)
        live.metrics = o.metrics
        let liveTarget: LiveTarget
        let fleet: MockFleet?
        switch target {
        case .mock:
            // A fresh in-process mock per strategy run, as the simulator gives every run full buckets.
            let f = MockFleet(scenario: scenario)
            let keys = f.keys.map(LiveAPIKey.init)
            fleet = f
            live.prepareRun = { _, _ in LiveTarget(baseURL: try f.next(), apiKeys: keys) }
            liveTarget = LiveTarget(baseURL: "http://127.0.0.1:1", apiKeys: keys)
        case .url(let url):
            fleet = nil
            var t = LiveTarget(baseURL: url)
            if o.mockKeys {
                t.apiKeys = scenario.limits.keyConfigs.indices.map { LiveAPIKey(MockConfig.scenarioKey($0)) }
            } else if !t.isLoopback || o.apiKeyEnv != nil {
                do { t.apiKeys = [try LiveAPIKey.fromEnvironment(o.apiKeyEnv ?? "ANTHROPIC_API_KEY")] } catch {
                    throw CLIFailure.badInput(error.description)
                }
            }
            liveTarget = t
            if o.worker == nil, let estimate = LiveRunner.estimateCost(scenario: scenario) {
                writeStderr(String(format: "estimated cost at list prices: $%.2f expected, $%.2f worst case (%@)\n",
                                   estimate.expectedUSD, estimate.worstCaseUSD, estimate.priceSource as NSString))
            }
        case .sim:
            preconditionFailure("simulated runs do not use the live runner")
        }
        do { try LiveRunner.validate(scenario: scenario, target: liveTarget, options: live) } catch {
            throw CLIFailure.badInput(error.description)
        }
        // Progress with an ETA over all strategy runs' arrivals, on a terminal only (Progress.swift).
        let progress = Progress("live", total: nil, quiet: o.quiet)
        if progress.enabled {
            live.progress = { p in
                let detail = String(format: "%@ (%d/%d) sent %d done %d 429s %d in flight %d %.1f/s",
                                    p.strategy as NSString, p.run + 1, p.runs, p.sent, p.completed,
                                    p.status429, p.inFlight, p.sendRate)
                progress.update(Double(p.run * p.total + p.arrived), of: Double(p.runs * p.total), detail: detail)
            }
        }
        let runner = LiveRunner(scenario: scenario, target: liveTarget, options: live)
        // SIGINT/SIGTERM: stop new arrivals, let in-flight finish, write a partial report.
        let stopHandler = onStopSignals {
            writeStderr("\nstopping: no new requests; waiting for those in flight\n")
            runner.stop()
        }
        defer {
            stopHandler.cancel()
            fleet?.stopAll()
        }
        let result: LiveResult
        do { result = try runner.run() } catch {
            throw CLIFailure.internalError(error.description)
        }
        progress.finish()
        for w in result.warnings { writeStderr("WARNING: \(w)\n") }
        var causes: [String: Int] = [:]
        for r in result.runs { for (k, v) in r.errorCauses { causes[k, default: 0] += v } }
        let input = result.reportInput()
        let echo = LiveEcho(partial: result.partial, stopReason: result.stopReason?.rawValue,
                            baseURL: result.runs.first?.baseURL ?? liveTarget.baseURL,
                            lagP50S: result.lag.p50, lagP99S: result.lag.p99, lagMaxS: result.lag.max,
                            warnings: result.warnings, errorCauses: causes, costUSD: result.costUSD)
        return (input.stream, input.runs, echo, result.runs.map(\.epoch))
    }
}

func writeStderr(_ s: String) {
    FileHandle.standardError.write(Data(s.utf8))
}
