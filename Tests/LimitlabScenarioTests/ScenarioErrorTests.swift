import Foundation
import LimitlabCore
import LimitlabScenario
import LimitlabStrategies
import Testing

@Suite("Scenario errors")
struct ScenarioErrorTests {
    @Test func badRateNamesFileLineColumnPathAndValue() throws {
        let yaml = """
            name: x
            model: claude-sonnet-4-5
            duration: 10m
            limits:
              tier: tier-1
            workload:
              input_tokens: 400
              output_tokens: 150
              max_tokens: 1024
            arrivals:
              - process: poisson
                rate: fast
            """
        let found = issues(yaml)
        #expect(found == [ScenarioIssue(file: "scenarios/x.yaml", line: 12, column: 11, path: "arrivals[0].rate",
                                        message: "expected a rate like \"40/min\", found \"fast\"")])
        #expect(found.first?.description
                == "scenarios/x.yaml:12:11: arrivals[0].rate: expected a rate like \"40/min\", found \"fast\"")
    }

    @Test func rateWithoutUnitSuggestsOne() {
        let yaml = replacing("    rate: 40/min", with: "    rate: 40")
        #expect(messages(yaml) == [
            "scenarios/x.yaml:8:11: arrivals[0].rate: expected a rate like \"40/min\", found \"40\" "
                + "(add a unit: \"40/s\", \"40/min\" or \"40/h\")",
        ])
    }

    @Test func badDuration() {
        let yaml = replacing("duration: 10m", with: "duration: 10 minutes")
        #expect(messages(yaml) == [
            "scenarios/x.yaml:3:11: duration: expected a duration like \"30s\" or \"250ms\", found \"10 minutes\"",
        ])
        let zero = replacing("duration: 10m", with: "duration: 0s")
        #expect(messages(zero) == ["scenarios/x.yaml:3:11: duration: expected a duration > 0, found \"0s\""])
    }

    @Test func unknownKeyWithDidYouMean() {
        let yaml = replacing("  tier: tier-1", with: "  tier: tier-1\n  rpmm: 40")
        #expect(messages(yaml) == [
            "scenarios/x.yaml:6:3: limits.rpmm: unknown key \"rpmm\"; expected one of: tier, rpm, itpm, otpm, burst, "
                + "admission, output_accounting, cache_reads_count, keys (did you mean \"rpm\"?)",
        ])
    }

    @Test func unknownKeyFarFromAnyHasNoSuggestion() {
        let yaml = minimalYAML + "\ncolour: blue"
        let found = issues(yaml)
        #expect(found.count == 1)
        #expect(found.first?.path == "colour")
        #expect(found.first?.message.hasPrefix("unknown key \"colour\"; expected one of: name, description,") == true)
        #expect(found.first?.message.contains("did you mean") == false)
    }

    @Test func missingRequiredKeyIsReportedAtTheParentMapping() {
        let yaml = replacing("  tier: tier-1", with: "  rpm: 50\n  otpm: 8000")
        #expect(messages(yaml) == ["scenarios/x.yaml:5:3: limits: missing required key \"itpm\""])
        let noModel = replacing("model: claude-sonnet-4-5\n", with: "")
        #expect(messages(noModel) == ["scenarios/x.yaml:1:1: missing required key \"model\""])
    }

    @Test func durationAndRequestsTogether() {
        let yaml = replacing("duration: 10m", with: "duration: 10m\nrequests: 500")
        #expect(messages(yaml) == ["scenarios/x.yaml:4:1: requests: give either duration or requests, not both"])
        let neither = replacing("duration: 10m\n", with: "")
        #expect(messages(neither) == ["scenarios/x.yaml:1:1: missing required key \"duration\" or \"requests\""])
    }

    @Test func unknownTierListsTheKnownTiers() {
        let yaml = replacing("  tier: tier-1", with: "  tier: tier 9")
        #expect(messages(yaml) == [
            "scenarios/x.yaml:5:9: limits.tier: unknown tier \"tier 9\"; known tiers: tier-1, tier-2, tier-3, tier-4, "
                + "start, build, scale (did you mean \"tier-1\"?)",
        ])
    }

    @Test func tierWithoutARowForTheModelClass() {
        let yaml = replacing("model: claude-sonnet-4-5", with: "model: claude-fable-5")
        #expect(messages(yaml) == [
            "scenarios/x.yaml:5:9: limits.tier: model class fable-5 (Claude Fable 5) has no published limits at "
                + "tier-1; tiers that list it: start, build, scale",
        ])
    }

    @Test func unknownModelWithATierListsModelClasses() throws {
        let yaml = replacing("model: claude-sonnet-4-5", with: "model: claude-sonnet-4.5")
        let found = issues(yaml)
        try #require(found.count == 1)
        let issue = found[0]
        #expect((issue.line, issue.column, issue.path) == (2, 8, "model"))
        #expect(issue.message.hasPrefix(
            "unknown model \"claude-sonnet-4.5\": limits.tier needs a model in the catalog (did you mean \"claude-sonnet-4-5\"?); "
                + "known model classes: fable-5 (claude-fable-5); opus-5 (claude-opus-5); "))
        #expect(issue.message.contains("sonnet-4.x (claude-sonnet-4-6, claude-sonnet-4-5, claude-sonnet-4)"))
        #expect(issue.message.hasSuffix("For another model, drop tier and give rpm, itpm and otpm"))
    }

    @Test func unknownModelWithoutTierIsFine() throws {
        let yaml = replacing("model: claude-sonnet-4-5", with: "model: my-fine-tune")
            .replacingOccurrences(of: "  tier: tier-1", with: "  rpm: 10\n  itpm: 1000\n  otpm: 100")
        let s = try scenario(yaml)
        #expect(s.limits.modelClass == nil)
        #expect(s.limits.source == "explicit")
        #expect(s.limits.config.cacheReadsCount == false)
    }

    @Test func unknownStrategy() {
        let yaml = minimalYAML + "\nstrategies:\n  - none\n  - sdk-defualt"
        #expect(messages(yaml) == [
            "scenarios/x.yaml:15:5: strategies[1]: unknown strategy \"sdk-defualt\"; expected one of: "
                + StrategyRegistry.names.joined(separator: ", ") + " (did you mean \"sdk-default\"?)",
        ])
    }

    @Test func unknownStrategyParameter() {
        let yaml = minimalYAML + """

            strategies:
              - name: sdk-default
                params:
                  max_retires: 3
              - name: none
                params: {jitter: full}
            """
        #expect(messages(yaml) == [
            "scenarios/x.yaml:16:7: strategies[0].params.max_retires: unknown parameter \"max_retires\" for strategy "
                + "sdk-default; expected one of: variant, max_retries, initial_delay, max_delay (did you mean \"max_retries\"?)",
            "scenarios/x.yaml:18:14: strategies[1].params.jitter: unknown parameter \"jitter\"; strategy none takes no parameters",
        ])
    }

    @Test func strategyParameterOfTheWrongType() {
        let yaml = minimalYAML + """

            strategies:
              - name: sdk-default
                params: {max_retries: two, initial_delay: 5, variant: java, max_delay: {s: 1}}
            """
        #expect(messages(yaml) == [
            "scenarios/x.yaml:15:27: strategies[0].params.max_retries: expected an integer in 0...100, found \"two\"",
            "scenarios/x.yaml:15:47: strategies[0].params.initial_delay: expected a duration like \"30s\" or \"250ms\", "
                + "found \"5\" (add a unit: \"5s\", \"5ms\" or \"5m\")",
            "scenarios/x.yaml:15:59: strategies[0].params.variant: unknown variant \"java\"; expected one of: python, "
                + "python-0.121.0, typescript, openai-python",
            "scenarios/x.yaml:15:76: strategies[0].params.max_delay: expected a duration like \"30s\" or \"250ms\", found a mapping",
        ])
        let range = minimalYAML + "\nstrategies:\n  - {name: sdk-default, params: {max_retries: 101}}"
        #expect(messages(range) == [
            "scenarios/x.yaml:14:47: strategies[0].params.max_retries: expected an integer in 0...100, found \"101\"",
        ])
    }

    @Test func duplicateLabels() {
        let yaml = minimalYAML + "\nstrategies:\n  - {name: none, label: a}\n  - {name: sdk-default, label: a}"
        #expect(messages(yaml) == [
            "scenarios/x.yaml:15:32: strategies[1].label: duplicate label \"a\"; strategies[0] already uses it",
        ])
    }

    @Test func yamlSyntaxErrorHasLineAndColumn() throws {
        let yaml = "name: x\nmodel: [claude-sonnet-4-5\nlimits:\n  tier: tier-1\n"
        let found = issues(yaml)
        try #require(found.count == 1)
        #expect((found[0].line, found[0].column) == (3, 7))
        #expect(found[0].path == "")
        #expect(found[0].message
                == "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 2, column 8)")

        let indented = issues("name: x\n  model: y\n")
        #expect(indented.map(\.description) == ["scenarios/x.yaml:2:8: YAML syntax error: mapping values are not allowed in this context"])

        let tab = issues("name: x\nlimits:\n\ttier: tier-1\n")
        #expect(tab.first?.message.hasPrefix("YAML syntax error: found character that cannot start any token") == true)
        #expect(tab.first.map { [$0.line, $0.column] } == [3, 1])
    }

    @Test func duplicateKeysAreReportedWhereTheyRepeat() {
        let yaml = replacing("  tier: tier-1", with: "  tier: tier-1\n  rpm: 40\n  rpm: 45")
        #expect(messages(yaml) == ["scenarios/x.yaml:7:3: limits.rpm: duplicate key \"rpm\"; it is first given at line 6"])
    }

    @Test func duplicateKeysDoNotStopOtherChecks() {
        let yaml = """
            name: x
            name: y
            model: claude-sonnet-4-5
            duration: 10m
            limits: {tier: tier-1, rpm: 40, rpm: 45}
            arrivals:
              - process: poisson
                rate: fast
            workload:
              input_tokens: 400
              output_tokens: 150
              max_tokens: 1024
            """
        #expect(messages(yaml) == [
            "scenarios/x.yaml:2:1: name: duplicate key \"name\"; it is first given at line 1",
            "scenarios/x.yaml:5:33: limits.rpm: duplicate key \"rpm\"; it is first given at line 5",
            "scenarios/x.yaml:8:11: arrivals[0].rate: expected a rate like \"40/min\", found \"fast\"",
        ])
    }

    @Test func multipleErrorsAreReportedTogetherInLineOrder() throws {
        let found: [ScenarioIssue]
        do {
            _ = try ScenarioLoader.load(path: fixtures + "/many-errors.yaml")
            Issue.record("many-errors.yaml loaded")
            return
        } catch {
            found = error.issues
        }
        let file = fixtures + "/many-errors.yaml"
        #expect(found == [
            ScenarioIssue(file: file, line: 9, column: 11, path: "arrivals[0].rate",
                          message: "expected a rate like \"40/min\", found \"45\" (add a unit: \"45/s\", \"45/min\" or \"45/h\")"),
            ScenarioIssue(file: file, line: 13, column: 15, path: "workload.max_tokens",
                          message: "expected an integer ≥ 1, found \"lots\""),
            ScenarioIssue(file: file, line: 16, column: 5, path: "strategies[1]",
                          message: "unknown strategy \"sdk-defualt\"; expected one of: "
                              + StrategyRegistry.names.joined(separator: ", ") + " (did you mean \"sdk-default\"?)"),
        ])
        let error = ScenarioError(issues: found)
        #expect(error.description.split(separator: "\n").count == 3)
    }

    @Test func missingScenarioFileNamesPathAndReason() {
        let path = fixtures + "/no-such-scenario.yaml"
        do {
            _ = try ScenarioLoader.load(path: path)
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.issues == [ScenarioIssue(
                file: path, line: 0, column: 0, path: "",
                message: "cannot read scenario file \"\(path)\": No such file or directory")])
        }
    }

    @Test func wrongShapes() {
        let yaml = replacing("  input_tokens: 400", with: "  input_tokens: [400]")
            .replacingOccurrences(of: "name: minimal", with: "name:\n  first: a")
        #expect(messages(yaml) == [
            "scenarios/x.yaml:2:3: name: expected a name of letters, digits, \".\", \"_\" and \"-\" (it names report folders), found a mapping",
            "scenarios/x.yaml:11:17: workload.input_tokens: expected a value like 400 or a mapping with dist:, found a list",
        ])
        let emptyValue = replacing("  max_tokens: 1024", with: "  max_tokens:")
        #expect(messages(emptyValue) == ["scenarios/x.yaml:12:14: workload.max_tokens: expected an integer ≥ 1, found nothing"])
    }

    @Test func distributionErrors() {
        let yaml = replacing("  input_tokens: 400", with: """
              input_tokens: {dist: lognormal, median: 400, sd: 3}
            """).replacingOccurrences(of: "  output_tokens: 150", with: """
              output_tokens: {dist: normal, mean: 3}
            """).replacingOccurrences(of: "  max_tokens: 1024", with: """
              max_tokens: 1024
            server:
              ttft: {dist: uniform, min: 2s, max: 1s}
            """)
        #expect(messages(yaml) == [
            "scenarios/x.yaml:10:48: workload.input_tokens.sd: give either median and sigma, or mean and sd, not both",
            "scenarios/x.yaml:11:25: workload.output_tokens.dist: unknown distribution \"normal\"; expected one of: "
                + "constant, uniform, lognormal, exponential, empirical",
            "scenarios/x.yaml:14:39: server.ttft.max: expected max ≥ min (2s), found \"1s\"",
        ])
        let fractional = replacing("  input_tokens: 400", with: "  input_tokens: 400.5")
        #expect(messages(fractional) == ["scenarios/x.yaml:10:17: workload.input_tokens: expected an integer ≥ 0, found \"400.5\""])
    }

    @Test func unknownProcessListsTheKnownOnes() {
        let yaml = replacing("duration: 10m\n", with: "").replacingOccurrences(of: "process: poisson", with: "process: trase")
        // Only the process is reported: whether a run length is needed depends on it.
        #expect(messages(yaml) == [
            "scenarios/x.yaml:6:14: arrivals[0].process: unknown process \"trase\"; expected one of: constant, poisson, "
                + "gamma, on-off, burst, ramp, trace (did you mean \"trace\"?)",
        ])
    }

    @Test func sourceTimesAreChecked() {
        let yaml = replacing("    rate: 40/min", with: """
                rate: 40/min
                start: 2m
                end: 1m
              - {process: burst, count: 5, at: 11m}
              - {process: poisson, rate: 1/s, start: 10m}
            """)
        #expect(messages(yaml) == [
            "scenarios/x.yaml:10:10: arrivals[0].end: expected a duration after start (2m), found \"1m\"",
            "scenarios/x.yaml:11:36: arrivals[1].at: the burst would start at 11m, after the run ends (10m)",
            "scenarios/x.yaml:12:42: arrivals[2].start: expected a start before the run ends (10m), found \"10m\"",
        ])
    }

    @Test func empiricalValuesFileErrorsNameFileAndLine() {
        let yaml = replacing("  input_tokens: 400", with: "  input_tokens: {dist: empirical, file: bad-values.txt}")
        #expect(messages(yaml, file: "fixtures/x.yaml") == [
            "fixtures/bad-values.txt:5:1: workload.input_tokens.file: expected one number per line, found a line of "
                + "9 characters that is not one (the line is not shown: is this a values file?)",
        ])
        let missing = replacing("  input_tokens: 400", with: "  input_tokens: {dist: empirical, file: nope.txt}")
        #expect(messages(missing, file: "fixtures/x.yaml") == [
            "fixtures/x.yaml:10:41: workload.input_tokens.file: cannot read values file \"fixtures/nope.txt\": "
                + "No such file or directory",
        ])
    }

    /// Every threshold is checked: an unknown strategy is reported even when another entry
    /// has a bad metric, each at its own entry's line.
    @Test func thresholdErrorsAreAllReportedAtTheirOwnEntries() {
        let yaml = minimalYAML + """

            strategies: [none, sdk-default]
            thresholds:
              - "latency.p99x < 30s"
              - {check: "success_rate >= 0.9", strategy: nope}
              - {check: "success_rate >= 0.9", strategy: none}
              - {check: "rate_429 < 0.1", strategy: also-nope}
            """
        let found = issues(yaml)
        #expect(found.map(\.path) == ["thresholds[0]", "thresholds[1].strategy", "thresholds[3].strategy"], "\(found)")
        #expect(found.map(\.line) == [15, 16, 18], "\(found)")
        #expect(found.dropFirst().allSatisfy { $0.message.hasPrefix("unknown strategy") }, "\(found)")
        // Invalid strategies: their labels are unknown, so no threshold is called unknown.
        let badStrategies = minimalYAML + """

            strategies: [{name: no-such-strategy, label: mine}]
            thresholds:
              - {check: "success_rate >= 0.9", strategy: mine}
            """
        #expect(issues(badStrategies).map(\.path) == ["strategies[0].name"])
    }

    // MARK: trace files

    private func traceYAML(_ file: String) -> String {
        """
        name: t
        model: claude-sonnet-4-5
        limits: {rpm: 30, itpm: 20000, otpm: 4000}
        arrivals:
          - process: trace
            file: \(file)
        workload: {input_tokens: 1, output_tokens: 1, max_tokens: 1}
        """
    }

    @Test func traceWithABadHeader() {
        #expect(messages(traceYAML("traces/bad-header.csv"), file: "fixtures/t.yaml") == [
            "fixtures/traces/bad-header.csv:2:1: arrivals[0].file: expected the header "
                + "\"at_s,input_tokens,output_tokens,max_tokens\" (optionally followed by \",cache_read_tokens\"), "
                + "found a line of 4 comma-separated fields that is not it: field 3 is not \"output_tokens\" "
                + "(the line is not shown: the file may not be a trace file)",
        ])
    }

    /// A scenario may name any file as its trace: what it holds is never quoted (a secret's first line).
    @Test func aTraceThatIsNotATraceIsNotQuoted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("trace-leak-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("root:$6$s3cretHASHvalue:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n".utf8)
            .write(to: dir.appendingPathComponent("shadow"))
        let found = messages(traceYAML("shadow"), file: "t.yaml", base: dir.path)
        #expect(found.count == 1)
        #expect(found.allSatisfy { !$0.contains("s3cret") && !$0.contains("root") && !$0.contains("daemon") }, "\(found)")
        #expect(found.first?.contains("field 1 is not \"at_s\"") == true)
    }

    /// The same for a values file: until one line is a valid value, bad lines are described, not quoted.
    @Test func aValuesFileThatIsNotOneIsNotQuoted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("values-leak-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("root:$6$s3cretHASHvalue:19000:0:99999:7:::\n".utf8).write(to: dir.appendingPathComponent("shadow"))
        let yaml = replacing("  input_tokens: 400", with: "  input_tokens: {dist: empirical, file: shadow}")
        let found = messages(yaml, file: "v.yaml", base: dir.path)
        #expect(found.count == 1)
        #expect(found.allSatisfy { !$0.contains("s3cret") && !$0.contains("root") }, "\(found)")
        #expect(found.first?.contains("is this a values file?") == true, "\(found)")
    }

    /// A line that reads as a value does not make the next one safe to quote: a secret may
    /// follow a number (a file of PINs, a config with a numeric first line). Out-of-range
    /// values are described by the bound only.
    @Test func valuesFileLinesAreNeverQuoted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("values-leak2-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("120\nhunter2-s3cret\n987654321987\n".utf8).write(to: dir.appendingPathComponent("secrets"))
        let yaml = replacing("  input_tokens: 400", with: "  input_tokens: {dist: empirical, file: secrets}")
        let found = messages(yaml, file: "v.yaml", base: dir.path)
        #expect(found == [
            "secrets:2:1: workload.input_tokens.file: expected one number per line, found a line of 14 characters "
                + "that is not one (the line is not shown: is this a values file?)",
            "secrets:3:1: workload.input_tokens.file: expected a number ≤ 100000000, found a number outside that "
                + "range (12 characters; the line is not shown)",
        ], "\(found)")
        let ttft = "  ttft: {dist: empirical, file: secrets}"
        let latency = messages(replacing("  input_tokens: 400", with: "  input_tokens: 400\nserver:\n" + ttft),
                               file: "v.yaml", base: dir.path)
        #expect(!latency.isEmpty && latency.allSatisfy { !$0.contains("hunter2") && !$0.contains("987654321987") },
                "\(latency)")
    }

    // MARK: special and oversized files

    /// Devices, FIFOs and directories are refused at once (a FIFO without a writer used to block
    /// forever, /dev/zero to grow memory without limit); so are files beyond the size caps.
    @Test func specialFilesAreRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("special-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        for (path, kind) in [("/dev/zero", "a character device"), ("/dev/urandom", "a character device"),
                             (fifo, "a FIFO (named pipe)"), (dir.path, "a directory")] {
            let trace = messages(traceYAML(path), file: "t.yaml", base: dir.path)
            #expect(trace.count == 1 && trace[0].contains("cannot read trace file") && trace[0].contains(kind + ", not a regular file"),
                    "\(trace)")
            let values = messages(replacing("  input_tokens: 400", with: "  input_tokens: {dist: empirical, file: \(path)}"),
                                  file: "t.yaml", base: dir.path)
            #expect(values.count == 1 && values[0].contains(kind + ", not a regular file"), "\(values)")
            do {
                _ = try ScenarioLoader.load(path: path)
                Issue.record("loaded \(path) as a scenario")
            } catch {
                #expect(error.issues.count == 1 && error.issues[0].message.contains(kind + ", not a regular file"))
            }
        }
        // Sparse files just past the caps: refused by size, without reading them.
        let big = dir.appendingPathComponent("big.yaml").path
        #expect(FileManager.default.createFile(atPath: big, contents: nil))
        #expect(truncate(big, off_t(ScenarioLoader.maxScenarioBytes + 1)) == 0)
        do {
            _ = try ScenarioLoader.load(path: big)
            Issue.record("loaded an oversized scenario")
        } catch {
            #expect(error.issues.first?.message.contains("larger than 1 MiB, the most limitlab reads; a scenario is "
                                                         + "a few kilobytes: put bulk data") == true, "\(error)")
        }
        // 1 MiB, not more: a 2 MB scenario (a 50 MB one took 3.6 GB and minutes to parse) is
        // refused before it is read, and a scenario at the cap still loads.
        let twoMB = dir.appendingPathComponent("two-mb.yaml").path
        #expect(FileManager.default.createFile(atPath: twoMB, contents: Data(repeating: 0x20, count: 2_000_000)))
        #expect(throws: ScenarioError.self) { _ = try ScenarioLoader.load(path: twoMB) }
        let atCap = dir.appendingPathComponent("at-cap.yaml").path
        var text = minimalYAML + "\ndescription: \""
        text += String(repeating: "x", count: (1 << 20) - text.utf8.count - 2) + "\"\n"
        #expect(text.utf8.count == 1 << 20)
        #expect(FileManager.default.createFile(atPath: atCap, contents: Data(text.utf8)))
        #expect(throws: Never.self) { _ = try ScenarioLoader.load(path: atCap) }
        let bigTrace = dir.appendingPathComponent("big.csv").path
        #expect(FileManager.default.createFile(atPath: bigTrace, contents: nil))
        #expect(truncate(bigTrace, off_t(256 << 20) + 1) == 0)
        let trace = messages(traceYAML("big.csv"), file: "t.yaml", base: dir.path)
        #expect(trace.count == 1 && trace[0].contains("larger than 256 MiB"), "\(trace)")
    }

    @Test func traceWithANonNumericFieldNamesItsColumn() {
        #expect(issues(traceYAML("traces/non-numeric.csv"), file: "fixtures/t.yaml") == [
            ScenarioIssue(file: "fixtures/traces/non-numeric.csv", line: 3, column: 5, path: "arrivals[0].file",
                          message: "input_tokens: expected an integer ≥ 1, found \"lots\""),
        ])
    }

    @Test func traceWithDecreasingTimes() {
        #expect(messages(traceYAML("traces/decreasing.csv"), file: "fixtures/t.yaml") == [
            "fixtures/traces/decreasing.csv:4:1: arrivals[0].file: at_s: expected a value ≥ 5 (at_s must not decrease; "
                + "the row at line 3 is at 5), found \"4.5\"",
        ])
    }

    @Test func missingTraceFile() {
        #expect(messages(traceYAML("traces/nope.csv"), file: "fixtures/t.yaml") == [
            "fixtures/t.yaml:6:11: arrivals[0].file: cannot read trace file \"fixtures/traces/nope.csv\": No such file or directory",
        ])
    }

    @Test func traceIssuesSortAtTheirFileKey() {
        let yaml = traceYAML("traces/non-numeric.csv").replacingOccurrences(of: "name: t", with: "name: t t")
            + "\nslo: {latency: soon}"
        #expect(messages(yaml, file: "fixtures/t.yaml") == [
            "fixtures/t.yaml:1:7: name: expected a name of letters, digits, \".\", \"_\" and \"-\" (it names report folders), found \"t t\"",
            "fixtures/traces/non-numeric.csv:3:5: arrivals[0].file: input_tokens: expected an integer ≥ 1, found \"lots\"",
            "fixtures/t.yaml:8:16: slo.latency: expected a duration like \"30s\" or \"250ms\", found \"soon\"",
        ])
    }

    @Test func traceCSVParserDirectly() {
        let rows = [
            "at_s,input_tokens,output_tokens,max_tokens,cache_read_tokens",
            "0,1,1,1,9,9",
            "1,1",
            "-1,0,5,4,",
            "2,100,5,10,101",
            "3,100,5,10,x",
        ].joined(separator: "\n")
        let yamlDir = FileManager.default.temporaryDirectory.appendingPathComponent("limitlab-scenario-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: yamlDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: yamlDir) }
        try? rows.write(to: yamlDir.appendingPathComponent("t.csv"), atomically: true, encoding: .utf8)
        let found = issues(traceYAML("t.csv"), file: "t.yaml", base: yamlDir.path)
        #expect(found.map { "\($0.file):\($0.line):\($0.column): \($0.message)" } == [
            "t.csv:2:11: expected 5 fields (at_s,input_tokens,output_tokens,max_tokens,cache_read_tokens), found 6",
            "t.csv:3:4: expected 5 fields (at_s,input_tokens,output_tokens,max_tokens,cache_read_tokens), found 2",
            "t.csv:4:1: at_s: expected a number of seconds ≥ 0, found \"-1\"",
            "t.csv:4:4: input_tokens: expected an integer ≥ 1, found \"0\"",
            "t.csv:4:6: output_tokens: expected at most max_tokens (4), found \"5\"",
            "t.csv:5:12: cache_read_tokens: expected at most input_tokens (100), found \"101\"",
            "t.csv:6:12: cache_read_tokens: expected an integer ≥ 0 or nothing, found \"x\"",
        ])
    }
}
