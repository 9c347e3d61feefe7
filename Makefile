# Tide's build and test entry points, in three layers (README "Development"):
#   make test           everything that needs no Kubernetes control plane:
#                       Debian packages, pinned Go tools, proto check, lint,
#                       unit tests with -race, bounded fuzzing, KEDA compat.
#   make e2e            the Kubernetes suite (its first run builds and caches
#                       the control plane and KEDA).
#   make compare-check  vet and tests of benchmarks/compare, which compile
#                       KEDA's scaler packages (~17 min cold).
# .ci/run runs all three, in that order.
SHELL := /bin/bash
GO ?= go
# How much each fuzz target runs in `make test`, as an execution count: a
# duration budget trips Go 1.26's fuzz-coordinator race (golang/go#75804,
# fixed in 1.27) and fails a target at the deadline with "context deadline
# exceeded" and no crasher. make test runs each target 5,000 times (about
# 3 s each here); .ci/run runs make test with 20000x; a longer hunt:
# make fuzz FUZZTIME=5000000x
FUZZTIME ?= 5000x
# The version `make build` links into bin/scaler and bin/scaler-kube
# (internal/version); scaler execs scaler-kube from its own directory.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Fuzz targets as package:FuzzName.
FUZZ_TARGETS := ./pkg/sources/kafka:FuzzParse ./pkg/sources/redis:FuzzParse ./pkg/sources/inference:FuzzParse \
	./pkg/sources/inference:FuzzPush ./pkg/sources/inference:FuzzForwarded ./pkg/sources/inference:FuzzExposition ./pkg/sources/inference:FuzzParseGoal ./pkg/trigger/builtin:FuzzParse ./pkg/hpa:FuzzAverageValueReplicas ./pkg/hpa:FuzzSync \
	./pkg/hpa:FuzzParseBehavior ./pkg/lagtime:FuzzStep ./pkg/nodehints/forecast:FuzzPredict ./pkg/workload:FuzzConfig

.PHONY: demo test deps tools proto proto-check lint unit fuzz kedacompat e2e e2e-build lint-e2e compare-check bench bench-compare build

demo:
	$(GO) run ./cmd/tide-demo

build:
	$(GO) build -ldflags "-X github.com/tide-scaler/tide/internal/version.version=$(VERSION) -X github.com/tide-scaler/tide/internal/version.revision=$$(git rev-parse HEAD 2>/dev/null)" -o bin/ ./cmd/scaler ./cmd/scaler-kube

# unit and fuzz run side by side: the tests leave most of a core idle
# (waiting on redis-server, Kafka, Prometheus, Chromium and the processes
# they start) while fuzzing compiles its instrumented build and runs.
# Each one's output is printed whole when it ends (--output-sync).
test: deps tools proto-check lint
	$(MAKE) --no-print-directory -j2 --output-sync=target unit fuzz
	$(MAKE) --no-print-directory kedacompat

deps:
	scripts/deps.sh
	$(GO) mod download
	cd test/kedacompat && $(GO) mod download

tools:
	scripts/tools.sh >/dev/null

proto:
	scripts/proto.sh gen

proto-check:
	scripts/proto.sh check

# vet runs with -race, like the tests: vet type-checks against its
# dependencies' compiled export data, so with the same build flags the race
# build of `unit` (and the scalers the tests build, internal/gobuild) reuses
# every package vet compiled; a plain vet compiled the whole tree once more.
# staticcheck asks `go list -export` for the same export data: GOFLAGS=-race
# makes that the race build too (a cold staticcheck took 10.7 CPU-minutes
# after a race build without it, 3.6 with it).
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet -race ./...
	cd test/kedacompat && $(GO) vet -race ./...
	cd benchmarks && $(GO) vet -race ./...
	GOFLAGS=-race "$$(scripts/tools.sh --bin staticcheck)" ./...

unit:
	$(GO) test -race -count=1 ./...
	cd benchmarks && $(GO) test -race -count=1 ./...   # the benchmark harnesses' own checks

# One instrumented test binary per package, each of its targets run from it
# (scripts/fuzz.sh): `go test -fuzz` linked one per target.
fuzz:
	scripts/fuzz.sh $(FUZZTIME) 200x $(FUZZ_TARGETS)

kedacompat:
	cd test/kedacompat && $(GO) test -race -count=1 ./...

# The control plane and KEDA are built from the module proxy once per
# machine and version (cold: ~40 min on 2 cores; cached in ~/.cache/tide/e2e).
e2e-build:
	scripts/e2e-build.sh

# The e2e module's vet is here, not in lint: `make test` compiles nothing
# only the Kubernetes suite needs.
lint-e2e:
	cd test/e2e && $(GO) vet ./...

e2e: lint-e2e
	scripts/deps.sh e2e
	bin="$$(scripts/e2e-build.sh)" && cd test/e2e && TIDE_E2E_BIN="$$bin" $(GO) test -count=1 -timeout 30m ./...

# benchmarks/compare links KEDA's scaler packages, so its vet and its tests
# (the side-by-side harness's report and schedule) compile KEDA's dependency
# tree: ~17 min cold on 2 cores, then the Go build cache has it. Not in
# `make test`; .ci/run runs it after `make e2e`, and bench-compare builds the
# same packages.
compare-check:
	cd benchmarks/compare && $(GO) vet ./... && $(GO) test -count=1 ./...

# Go benchmarks (see benchmarks/README.md for the figures and how to read them).
bench:
	cd benchmarks && $(GO) test -run '^$$' -bench . -benchmem -count 5 -timeout 30m ./...

# The real scaler binary holding 10,000 triggers (Kafka, Redis, inference)
# and 10,000 StreamIsActive streams for 60 s, then SIGTERM (benchmarks/README.md
# section 7; needs redis-server). Sizes: make load LOAD_FLAGS='-quick'.
LOAD_FLAGS ?=
.PHONY: load
load:
	cd benchmarks && $(GO) run ./load $(LOAD_FLAGS)

# Tide side by side with KEDA v2.21.0's kafka, apache-kafka and redis
# scalers on the same brokers, as ratios (benchmarks/results/README.md).
# KEDA's dependency tree stays in benchmarks/compare's own go.mod; its first
# build (shared with `make compare-check`) takes ~17 min on 2 cores, then the
# Go build cache has it.
BENCH_COMPARE_FLAGS ?=
bench-compare: deps
	cd benchmarks/compare && $(GO) build -o $(CURDIR)/bin/compare . && \
		BENCH_COMPARE_COMMAND="make bench-compare$(if $(BENCH_COMPARE_FLAGS), BENCH_COMPARE_FLAGS='$(BENCH_COMPARE_FLAGS)')" \
		$(CURDIR)/bin/compare run -out ../results -root $(CURDIR) $(BENCH_COMPARE_FLAGS)

# Scaling quality in closed loop: the traces of benchmarks/quality/traces
# through a consumer-fleet model, KEDA's kafka scaler, Tide's modes and the
# drain-time law, with pkg/hpa in the loop (benchmarks/README.md section
# "Scaling quality"). Pure simulation, a few seconds. Without TRACE it
# rewrites benchmarks/results/quality; with TRACE=path it replays that one
# trace file against every policy and only prints the tables.
TRACE ?=
.PHONY: bench-quality
bench-quality:
	cd benchmarks && $(GO) run ./quality/cmd $(if $(TRACE),-trace $(abspath $(TRACE)),-out results/quality)

# Closed-loop side-by-side of inference scaling policies (benchmarks/serving/README.md).
.PHONY: bench-serving
bench-serving:
	cd benchmarks && $(GO) run ./serving/cmd -out results/serving


# The scaler's image for linux/amd64 and linux/arm64 without a Docker daemon:
# an OCI layout in _output/image/oci plus a docker-archive per platform
# (build/image; TestImage there checks it). The Dockerfile is the same image
# for people with Docker. Flags: make image IMAGE_FLAGS='-version v1.2.3'
IMAGE_FLAGS ?=
.PHONY: image
.PHONY: image-check
image:
	cd build/image && $(GO) run . -out $(CURDIR)/_output/image -tarballs $(IMAGE_FLAGS)

# The image builder's vet and its test, which builds the real image for both
# platforms, checks it and runs each binary (arm64 under qemu-user-static,
# TestImage). Cross builds: not part of make test.
image-check:
	scripts/deps.sh image
	cd build/image && $(GO) vet ./... && $(GO) test -count=1 ./...
