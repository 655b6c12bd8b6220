-- wrk script: POST /v1/messages, small non-streaming body, 10 output tokens.
-- No response() callback (it would cost wrk time per reply); wrk counts non-2xx/3xx replies
-- in summary.errors.status, which the report uses to tell 200s from 429s.
wrk.method = "POST"
wrk.path = "/v1/messages"
wrk.headers["x-api-key"] = "sk-bench"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.headers["content-type"] = "application/json"
wrk.headers["x-limitlab-output-tokens"] = "10"
wrk.body = '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}'

function done(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"req_per_s":%.1f,"non_2xx":%d,"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"latency_us":{"mean":%.1f,"p50":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6), summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end
