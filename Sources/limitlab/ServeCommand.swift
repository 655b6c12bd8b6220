import ArgumentParser
import Dispatch
import Foundation
import LimitlabCore
import LimitlabMock

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the built-in mock Anthropic Messages API (limits, 429s, streaming, faults) until SIGINT/SIGTERM.",
        discussion: """
            Prints "listening on http://HOST:PORT" as its first line once bound (--port 0 picks a free \
            port). Without --config there is one organisation that accepts any non-empty x-api-key, with \
            the catalog limits of --tier for every model class. See docs/mock-server.md.
            """)

    @Option(help: "Mock config file (YAML): organisations with API keys and limits, server latency, faults, cache.")
    var config: String?

    @Option(help: "Tier of the default organisation, without --config (default tier-1).")
    var tier: String?

    @Option(help: "A model the tier must have limits for, without --config (default claude-sonnet-4-5).")
    var model: String?

    @Option(help: "Address to bind. Loopback by default; anything else exposes the mock to the network.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one.")
    var port = 8080

    @Option(help: "Seed for latency and fault draws (overrides the config's).")
    var seed: UInt64?

    /// More event loops than this only add context switches (and, at 100,000, thread creation fails).
    static let maxThreads = 256

    @Option(help: "Event-loop threads, 1 to 256 (default: one per core).")
    var threads: Int?

    @Option(help: "Record every Messages and count_tokens request as the server saw it into DIR/recording.jsonl (docs/recording.md); `limitlab report DIR` turns it into a report.")
    var record: String?

    func run() throws {
        guard (0...65_535).contains(port) else { throw CLIFailure.badInput("--port \(port): expected 0...65535") }
        if let threads, !(1...Self.maxThreads).contains(threads) {
            throw CLIFailure.badInput("--threads \(threads): expected 1 to \(Self.maxThreads) (default one per core; "
                                      + "event-loop threads beyond the cores add only switching)")
        }
        var mockConfig: MockConfig
        if let path = config {
            if tier != nil || model != nil {
                throw CLIFailure.badInput("--tier and --model set the default organisation's limits; with --config, "
                                          + "give each organisation's limits in the file")
            }
            do { mockConfig = try MockConfig.load(path: path) } catch {
                throw CLIFailure.badInput("\(path) is not a valid mock config:\n\(error)")
            }
        } else {
            do {
                mockConfig = try MockConfig.standard(tier: tier ?? "tier-1", model: model ?? "claude-sonnet-4-5")
            } catch {
                throw CLIFailure.badInput("\(tier != nil ? "--tier" : "--model"): \(error)")
            }
        }
        if let seed { mockConfig.seed = seed }

        var recorder: MockRecorder?
        if let record {
            do { recorder = try MockRecorder(directory: record) } catch { throw CLIFailure.badInput("--record: \(error)") }
        }
        let server = MockServer(config: mockConfig, threads: threads, recorder: recorder)
        let bound: Int
        do { bound = try server.startBlocking(host: host, port: port) } catch {
            server.stopBlocking()
            throw CLIFailure.badInput(error.description)
        }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        // The first line is the contract with scripts (tests/mock-sdk.sh reads the port from it);
        // FileHandle writes are unbuffered, so it is out before anyone connects.
        writeStdout("listening on http://\(shownHost):\(bound)\n")
        if !["127.0.0.1", "::1", "localhost"].contains(host) {
            FileHandle.standardError.write(Data(
                "limitlab serve: warning: bound to \(host), not loopback; anyone who can reach it can use the mock\n".utf8))
        }
        for org in mockConfig.organizations {
            let limits = org.limits.tier.map { "tier \($0)" } ?? "explicit limits"
            let keys = org.acceptsAnyKey ? "any non-empty x-api-key" : "\(org.keys.count) key(s)"
            FileHandle.standardError.write(Data("  organisation \(org.id): \(limits), \(keys)\n".utf8))
        }

        // Signals are turned into a clean stop on a queue of their own: the server closes its
        // connections and event loops, then the main thread returns.
        let queue = DispatchQueue(label: "limitlab.serve.signals")
        let stopHandler = onStopSignals(queue: queue) { server.stopBlocking() }
        server.waitUntilStopped()
        stopHandler.cancel()
        if let recorder {
            FileHandle.standardError.write(Data("limitlab serve: \(recorder.rowCount) request(s) recorded in \(recorder.path)\n".utf8))
        }
        FileHandle.standardError.write(Data("limitlab serve: stopped\n".utf8))
    }
}
