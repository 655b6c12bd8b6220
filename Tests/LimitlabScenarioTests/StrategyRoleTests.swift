import LimitlabCore
import LimitlabScenario
import Testing

@Suite struct StrategyRoleTests {
    let head = """
        name: roles
        duration: 1m
        model: claude-sonnet-4-5
        limits:
          tier: tier-1

        """
    let tail = """
        arrivals:
          - process: poisson
            rate: 10/min
        workload:
          input_tokens: 100
          output_tokens: 10
          max_tokens: 100

        """

    func load(_ middle: String) throws(ScenarioError) -> Scenario {
        try ScenarioLoader.parse(yaml: head + middle + tail, file: "r.yaml", baseDirectory: "/tmp")
    }

    @Test func rolesParseWithParams() throws {
        let s = try load("""
            strategies:
              - name: none
                retry: {name: sdk-default, params: {variant: typescript, max_retries: 4}}
              - name: sdk-default
                retry: immediate

            """)
        #expect(s.strategies[0].retry == RoleSpec(name: "sdk-default", params: ["variant": .string("typescript"),
                                                                                  "max_retries": .number(4)]))
        #expect(s.strategies[1].retry == RoleSpec(name: "immediate"))
    }

    @Test func unknownRoleNameListsTheRole() {
        do {
            _ = try load("""
                strategies:
                  - name: none
                    retry: sometimes

                """)
            Issue.record("must fail")
        } catch {
            let text = error.description
            #expect(text.contains("strategies[0].retry"))
            #expect(text.contains("sdk-default") && text.contains("immediate"))
        }
    }

    @Test func roleParamsAreChecked() {
        do {
            _ = try load("""
                strategies:
                  - name: none
                    retry: {name: immediate, params: {max_attempts: 0}}

                """)
            Issue.record("must fail")
        } catch {
            #expect(error.issues.count == 1)
            #expect(error.issues[0].path == "strategies[0].retry.params.max_attempts")
        }
    }

    @Test func keysAndPools() throws {
        let s = try ScenarioLoader.parse(yaml: """
            name: pool
            duration: 1m
            model: claude-sonnet-4-5
            limits:
              tier: tier-1
              keys:
                - {}
                - tier: tier-2
                - rpm: 10
            strategies:
              - name: none
                pool: least-loaded
            """ + "\n" + tail, file: "p.yaml", baseDirectory: "/tmp")
        #expect(s.limits.keyConfigs.map(\.rpm) == [50, 1000, 10])
        #expect(s.limits.keyConfigs[2].itpm == 30_000)
        #expect(s.strategies[0].pool == .leastLoaded)

        let three = try ScenarioLoader.parse(yaml: head.replacingOccurrences(of: "tier: tier-1", with: "tier: tier-1\n  keys: 3")
                                                + tail, file: "k.yaml", baseDirectory: "/tmp")
        #expect(three.limits.keyConfigs.count == 3)
    }

    @Test func aPoolNeedsKeys() {
        do {
            _ = try load("""
                strategies:
                  - name: none
                    pool: round-robin

                """)
            Issue.record("must fail")
        } catch {
            #expect(error.description.contains("has pool: but the scenario has one API key"))
        }
    }
}
