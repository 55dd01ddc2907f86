# Cometa-ES. `make` alone lists the targets.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# The project's machines keep Go in /usr/local/go, not always on PATH.
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
# The version the binary reports (cometa version, GET /backend/info/).
VERSION ?= 2.5.95-es.$(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
# Tests: one package per core at most; PostgreSQL and Chromium tests are slow.
TEST_FLAGS ?= -count=1 -p 2 -timeout 45m
# Benchmarks: time per benchmark (or Nx), e.g. make bench BENCHTIME=5s.
BENCHTIME ?= 2s
BENCH ?= .

.PHONY: help setup build run test bench lint clean

help: ## List the targets
	@echo "Cometa-ES: make <target>"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-7s %s\n", $$1, $$2 }' \
		$(MAKEFILE_LIST)

setup: ## Install what is missing (PostgreSQL 15, Chromium, libwebp, Node.js, openssl; apt as root on Debian)
	@scripts/setup.sh

# -trimpath keeps the checkout's directory out of the build cache's keys, so
# that a fresh clone reuses what an earlier checkout compiled (make run
# within seconds instead of recompiling every package of the module).
build: ## Build bin/cometa
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/cometa ./cmd/cometa

run: setup build ## Set up, build and start cometa serve on 127.0.0.1:8000 (Ctrl-C stops it)
	exec bin/cometa serve

test: setup ## Run every test against real PostgreSQL and Chromium
	$(GO) test $(TEST_FLAGS) ./...

bench: setup ## Run the benchmarks; print one table (raw output in .bench/)
	@mkdir -p .bench
	@raw=.bench/bench-$$(date +%Y%m%d-%H%M%S).txt; \
	echo "bench: running benchmarks (-benchtime=$(BENCHTIME)), raw output in $$raw"; \
	status=0; \
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime=$(BENCHTIME) -timeout 60m ./... 2>&1 \
		| tee "$$raw" | $(GO) run ./cmd/benchtable || status=$$?; \
	cp "$$raw" .bench/latest.txt; \
	exit $$status

lint: ## Check formatting (gofmt) and run go vet
	@unformatted=$$(find . -name '*.go' -not -path './.*' -not -path './node_modules/*' \
		-exec gofmt -l {} +); \
	if [[ -n $$unformatted ]]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

clean: ## Remove build and benchmark output (keeps the data in .cometa/)
	rm -rf bin .bench
