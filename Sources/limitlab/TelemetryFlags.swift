import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabLive
import LimitlabTelemetry

/// `run --metrics-port/--metrics-host/--otlp/--otlp-interval`: live metrics while a live run
/// goes (docs/telemetry.md).
struct TelemetryFlags: ParsableArguments {
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics on http://HOST:PORT/metrics while a live run goes (0: a free port, printed on standard error).")
    var metricsPort: Int?

    @Option(name: .customLong("metrics-host"), help: "Address the metrics endpoint listens on (0.0.0.0 for every interface).")
    var metricsHost: String = "127.0.0.1"

    @Option(help: "Push the same metrics to an OpenTelemetry collector over OTLP/HTTP (JSON), e.g. http://127.0.0.1:4318 (/v1/metrics is added to a URL without a path).")
    var otlp: String?

    @Option(name: .customLong("otlp-interval"), help: "Seconds between OTLP pushes; one more is made when the run ends.")
    var otlpInterval: Double = 5

    var enabled: Bool { metricsPort != nil || otlp != nil }

    /// Checks the flags before anything runs (exit 2 on a bad value).
    func check(target: TargetSpec, workers: Int?) throws {
        if let p = metricsPort, !(0...65535).contains(p) {
            throw CLIFailure.badInput("--metrics-port \(p): expected a port from 0 to 65535 (0: a free one)")
        }
        if metricsHost.isEmpty || metricsHost.contains(where: { $0 == " " || $0 == "/" }) {
            throw CLIFailure.badInput("--metrics-host \(metricsHost): expected an address such as 127.0.0.1 or 0.0.0.0")
        }
        if let otlp, OTLPPusher.endpoint(for: otlp) == nil {
            throw CLIFailure.badInput("--otlp \(otlp): expected an http:// or https:// URL of a collector, "
                                      + "such as http://127.0.0.1:4318")
        }
        if !(otlpInterval > 0 && otlpInterval <= 86_400) {
            throw CLIFailure.badInput("--otlp-interval \(otlpInterval): expected seconds in (0, 86400], such as 5")
        }
        guard enabled else { return }
        if target == .sim {
            throw CLIFailure.badInput("--metrics-port and --otlp watch a live run: add --target mock, env or a URL "
                                      + "(a simulation finishes in seconds; read its report instead)")
        }
        if workers != nil {
            throw CLIFailure.badInput("--metrics-port and --otlp are not supported with --workers yet: run without "
                                      + "--workers, or watch the target's own metrics")
        }
    }

    /// Starts the endpoint and the pusher; nil when neither was asked for.
    func start(scenario: Scenario, quiet: Bool) throws -> TelemetrySession? {
        guard enabled else { return nil }
        let metrics = LiveMetrics()
        var server: MetricsServer?
        if let port = metricsPort {
            let s = MetricsServer(registry: metrics.registry)
            let bound: Int
            do { bound = try s.start(host: metricsHost, port: port) } catch {
                throw CLIFailure.badInput("--metrics-port: \(error.description)")
            }
            server = s
            if !quiet {
                let host = metricsHost.contains(":") ? "[\(metricsHost)]" : metricsHost
                writeStderr("metrics: http://\(host):\(bound)/metrics\n")
            }
        }
        var pusher: OTLPPusher?
        if let otlp, let endpoint = OTLPPusher.endpoint(for: otlp) {
            let p = OTLPPusher(endpoint: endpoint, interval: otlpInterval, registry: metrics.registry,
                               resource: [("service.name", "limitlab"), ("limitlab.scenario", scenario.name)],
                               headers: OTLPPusher.headers(environment: ProcessInfo.processInfo.environment))
            p.start()
            pusher = p
        }
        return TelemetrySession(metrics: metrics, server: server, pusher: pusher)
    }
}

/// The endpoint and pusher of one run.
final class TelemetrySession {
    let metrics: LiveMetrics
    let server: MetricsServer?
    let pusher: OTLPPusher?

    init(metrics: LiveMetrics, server: MetricsServer?, pusher: OTLPPusher?) {
        self.metrics = metrics; self.server = server; self.pusher = pusher
    }

    /// The final push, then the endpoint closes. A collector that could not be reached is a
    /// warning, never a failed run.
    func finish() {
        if let pusher {
            let result = pusher.finish()
            for f in result.failures { writeStderr("WARNING: OTLP push: \(f)\n") }
        }
        server?.stop()
    }
}
