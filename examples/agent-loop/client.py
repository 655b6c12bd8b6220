"""A small tool-calling agent on the official `anthropic` SDK, the loop the SDK docs describe.

Each conversation offers the model two tools and loops: send the messages; when the reply
stops with `tool_use`, run each requested tool here and send its `tool_result` back in the
next user message; stop at `end_turn`. So one conversation makes one request per tool round
plus the final one, and an agent's load on the API is its conversations times that. Three
threads run six conversations; the SDK keeps its default retries for any 429.

    limitlab test examples/agent-loop/scenario.yaml -- python3 examples/agent-loop/client.py

It has no committed baseline: nothing paces it but its own speed (the limits are generous),
so its goodput measures the machine, not a limiter. Gate an agent of your own on the
scenario's thresholds, and on a baseline once its limits bind.

The mock decides how many tool rounds a conversation takes (the scenario's
`server.tool_use: {rounds: N}`); the client prints what it saw:
`agent-loop: C conversations, R tool rounds each, Q requests`.

Settings (environment variables, or --conversations, --threads): CONVERSATIONS (default 6),
THREADS (default 3). Needs `pip install anthropic`. Exits 0 when every conversation ended
with end_turn after the same number of tool rounds, 1 on anything else.
"""
import argparse
import concurrent.futures
import json
import os
import sys

import anthropic

MODEL = "claude-sonnet-4-5"
TOOLS = [
    {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "input_schema": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Lisbon"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
    {
        "name": "add",
        "description": "Add two numbers.",
        "input_schema": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    },
]


def run_tool(name: str, args: dict) -> str:
    """The tools, run locally (the agent's side of the loop)."""
    if name == "get_weather":
        return json.dumps({"city": args.get("city", ""), "temperature": 21, "unit": args.get("unit", "celsius")})
    if name == "add":
        return str(float(args.get("a", 0)) + float(args.get("b", 0)))
    raise ValueError(f"the model asked for an unknown tool {name!r}")


def converse(client: anthropic.Anthropic, i: int) -> tuple[int, int]:
    """One conversation until end_turn; returns (tool rounds, requests sent)."""
    messages = [{"role": "user", "content": f"Trip {i}: what is the weather in Lisbon, and what is 2 + {i}?"}]
    rounds = requests = 0
    while True:
        reply = client.messages.create(model=MODEL, max_tokens=256, tools=TOOLS, messages=messages)
        requests += 1
        if reply.stop_reason != "tool_use":
            if reply.stop_reason != "end_turn":
                raise RuntimeError(f"conversation {i}: stop_reason {reply.stop_reason!r}")
            return rounds, requests
        rounds += 1
        messages.append({"role": "assistant", "content": reply.content})
        messages.append({
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": block.id, "content": run_tool(block.name, block.input)}
                for block in reply.content
                if block.type == "tool_use"
            ],
        })


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conversations", type=int, default=int(os.environ.get("CONVERSATIONS", "6")))
    ap.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "3")))
    args = ap.parse_args()
    client = anthropic.Anthropic(timeout=60)  # the SDK's default retries (2, honouring retry-after)
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        results = list(pool.map(lambda i: converse(client, i), range(args.conversations)))
    rounds = sorted({r for r, _ in results})
    requests = sum(q for _, q in results)
    print(f"sdk {anthropic.__version__}")
    print(f"agent-loop: {args.conversations} conversations, {','.join(map(str, rounds))} tool rounds each, "
          f"{requests} requests")
    return 0 if len(rounds) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
