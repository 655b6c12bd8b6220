"""Locust peer for the closed-loop figures (bench/closed-loop-bench.sh): each user posts the
same Messages request as bench/messages.lua back to back (no wait), FastHttpUser (geventhttpclient)."""
from locust import FastHttpUser, constant, task

BODY = '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}'
HEADERS = {"x-api-key": "sk-bench", "anthropic-version": "2023-06-01", "content-type": "application/json",
           "x-limitlab-output-tokens": "10"}


class Messages(FastHttpUser):
    wait_time = constant(0)

    @task
    def create(self):
        self.client.post("/v1/messages", data=BODY, headers=HEADERS)
