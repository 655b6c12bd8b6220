# limitlab — two commands after cloning: `make run` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := libcurl4-openssl-dev libgsl-dev libhiredis-dev pkg-config
# Only the tests need these: headless Chromium renders report.html, Python runs the SDK test,
# redis-server backs the shared-quota store tests (each starts its own on a free port), PyYAML reads the Kubernetes manifest.
TEST_APT_PACKAGES := chromium fonts-liberation python3 python3-yaml redis-server
SCENARIO ?= scenarios/quickstart.yaml
export PATH := $(PATH):/opt/swift/usr/bin

.PHONY: setup setup-test test-gate-repeat test-html test-sdk test-workers test-examples test-export test-record test-shards build run test test-swift test-cli test-baselines baselines docs bench clean

## setup: install the C libraries limitlab links (libcurl, GSL, hiredis) with apt, only when missing.
setup:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES)"

## setup-test: what the tests need besides the libraries (Chromium, fonts, Python, redis-server).
setup-test: setup
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(TEST_APT_PACKAGES)"

apt-install:
	@missing=""; \
	for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make setup: installing$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo -n"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: setup
	$(SWIFT) build --product limitlab

## run: simulate the quickstart scenario and print the summary (report in reports/).
run: build
	$$($(SWIFT) build --show-bin-path)/limitlab run $(SCENARIO)

## test: build and run every test (Swift unit tests, CLI end-to-end checks, baselines, the
## HTML report in headless Chromium).
test: setup-test test-swift test-cli test-gate-repeat test-baselines test-html test-sdk test-workers test-examples test-export test-record test-hdr test-shards

test-swift:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

test-cli: build
	LIMITLAB=$$($(SWIFT) build --show-bin-path)/limitlab bash tests/cli.sh

## test-gate-repeat: a live run checked against its own repeat passes 20 times in 20; a planted
## 10 % goodput regression fails (about 50 s).
test-gate-repeat: build
	LIMITLAB=$$($(SWIFT) build --show-bin-path)/limitlab bash tests/gate-repeat.sh

## test-html: render a real report.html in headless Chromium: every chart visible, no console errors.
test-html: build
	rm -rf .build/html-check && $$($(SWIFT) build --show-bin-path)/limitlab run scenarios/strategy-shootout.yaml --out .build/html-check --quiet
	bash tests/html-check.sh .build/html-check/report.html

## test-sdk: the official Python SDK (pip install anthropic) against `limitlab serve`.
test-sdk: build
	LIMITLAB=$$($(SWIFT) build --show-bin-path)/limitlab bash tests/mock-sdk.sh

## test-examples: every examples/*/client.py through `limitlab test` (its scenario's thresholds and
## committed baseline.json), with anthropic, tenacity and aiolimiter from PyPI; a planted regression
## in examples/aiolimiter-queue must fail its baseline, the unchanged client pass it 5 times in a row.
test-examples: build
	LIMITLAB=$$($(SWIFT) build --show-bin-path)/limitlab bash tests/examples.sh

## test-export: `limitlab export` errors and formats, and the exported tenacity and aiolimiter clients run
## through `limitlab test` agreeing with `limitlab run --replications` (about 60 s).
test-export: build
	LIMITLAB=$$($(SWIFT) build --show-bin-path)/limitlab bash tests/export.sh

## test-record: `limitlab test` exit codes (failing, timed-out and interrupted commands, failed
## checks) and a `serve --record` killed with SIGKILL whose recording `limitlab report` reads.
test-record: build
	LIMITLAB=$$($(SWIFT) build --show-bin-path)/limitlab bash tests/record.sh

## test-workers: `run --workers 4 --redis` against the mock (own redis-server): local buckets get 429s,
## the shared Redis bucket none; killing Redis mid-run crashes no worker and loses no request.
test-workers: build
	LIMITLAB=$$($(SWIFT) build --show-bin-path)/limitlab bash tests/workers.sh

## test-hdr: the .hlog files of a simulated and a live run read back by HdrHistogram's Python package
## (pip install hdrhistogram) agree with report.json.
test-hdr: build
	LIMITLAB=$$($(SWIFT) build --show-bin-path)/limitlab bash tests/hdr-export.sh

## test-shards: compare and run --replications, sweep and size as 2 and 3 shards merged equal one machine
## (docs/sharding.md); merge's refusals; the docs' local loop; the Kubernetes manifest's shape.
test-shards: build
	LIMITLAB=$$($(SWIFT) build --show-bin-path)/limitlab bash tests/shards.sh

## test-baselines: the example scenarios must match their committed baselines.
test-baselines: build
	LIMITLAB=$$($(SWIFT) build --show-bin-path)/limitlab bash tests/baselines.sh

## baselines: rewrite baselines/ from the example scenarios (after an intended change; commit them).
baselines: build
	@for s in scenarios/*.yaml; do \
	  stem=$$(basename $$s .yaml); \
	  rm -rf .build/baseline-runs/$$stem && \
	  $$($(SWIFT) build --show-bin-path)/limitlab run $$s --out .build/baseline-runs/$$stem --quiet && \
	  $$($(SWIFT) build --show-bin-path)/limitlab baseline update .build/baseline-runs/$$stem/report.json --out baselines/$$stem.json || exit 1; \
	done

## docs: regenerate the strategy reference in docs/strategies.md from the registry.
docs: build
	{ cat docs/strategies.head.md; $$($(SWIFT) build --show-bin-path)/limitlab strategies --markdown; } > docs/strategies.md

## bench: measured figures next to their peers (SimPy, nginx, wrk, Locust), release builds under
## .build-bench; writes reports/bench/<suite>.json and BENCHMARKS.md (about 15 min, plus the soak:
## 50 consecutive 20-s runs at 10,000 streaming arrivals/s and an hour of mixed load on one mock,
## about 1.5 h; SOAK_RUNS and SOAK_MINUTES shorten it). Never part of `make test`.
## BENCH_NOTE="..." records the conditions (e.g. a shared machine) in BENCHMARKS.md.
BENCH_SUITES := sim-bench parallel-compare mock-bench closed-loop-bench live-bench soak
bench: setup
	@mkdir -p reports/bench && rm -f reports/bench/*.json; status=0; \
	for s in $(BENCH_SUITES); do \
	  [ -f bench/$$s.sh ] || { echo "make bench: no bench/$$s.sh, skipped"; continue; }; \
	  echo "== bench/$$s.sh"; \
	  limit=1800; [ $$s = soak ] && limit=14400; \
	  timeout $$limit bash bench/$$s.sh || { echo "make bench: bench/$$s.sh failed"; status=1; }; \
	done; \
	python3 bench/render_benchmarks.py --note "$(BENCH_NOTE)" || status=1; \
	exit $$status

clean:
	rm -rf .build
