# hermes — build, test, demo and benchmarks. Every target installs what it needs when missing
# (Debian packages for the C/Rust/WAT toolchains), so `make demo` and `make test` work on a
# fresh machine.

SHELL := /bin/bash
GO ?= go
BIN := bin/hermes
# urfave_cli_no_docs leaves out urfave/cli's man-page and Markdown generators, which hermes does
# not use (their Markdown library initialises itself in every process that links it).
BUILD_TAGS := urfave_cli_no_docs
GOWASM := GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags=-s
RUSTC := /usr/bin/rustc
TOOLCHAIN_STAMP := .cache/toolchains.ok

# Go plugins built with our SDK: directory -> <dir>/<basename>.wasm
GO_PLUGINS := plugins/files plugins/web testdata/echo \
	testdata/hostile/fsescape testdata/hostile/httpescape testdata/hostile/envsnoop testdata/hostile/kvsnoop \
	testdata/hostile/logflood testdata/hostile/execescape testdata/hostile/diskfill testdata/skills/benign/csv-report/tools/csvstats
GO_WASM := $(foreach d,$(GO_PLUGINS),$(d)/$(notdir $(d)).wasm)
SDK_GO := $(wildcard sdk/go/*.go) $(wildcard abi/*.go)

WAT_SRC := $(wildcard testdata/hostile/*/*.wat) $(wildcard testdata/compat/*/*.wat)
WAT_WASM := $(WAT_SRC:.wat=.wasm)

PDK_WASM := testdata/pdk/echo/echo.wasm
# hyper-mcp plugins of our own, written with go-pdk against hyper-mcp's published protocol
HYPERMCP_WASM := testdata/compat/hypermcp-v1/hypermcp-v1.wasm testdata/compat/hypermcp-v2/hypermcp-v2.wasm
# go-pdk's examples, unchanged, built from the module cache as upstream builds them with the
# standard Go compiler (-tags std: a WASI command whose main is the plugin): the compatibility
# matrix's go-pdk modules. (Its tiny_main.go variants need TinyGo, which is not installed.)
GOPDK_VERSION := v1.1.3
GOPDK_EXAMPLES := countvowels http
GOPDK_WASM := $(foreach e,$(GOPDK_EXAMPLES),testdata/compat/gopdk-$(e)/$(e).wasm)
C_WASM := sdk/c/example/textstats.wasm
RUST_WASM := sdk/rust/example/hashing.wasm

ALL_WASM := $(GO_WASM) $(WAT_WASM) $(PDK_WASM) $(HYPERMCP_WASM) $(GOPDK_WASM) $(C_WASM) $(RUST_WASM)

.PHONY: all build wasm test demo bench vet fuzz clean toolchains sandbox-image

# The image the Docker sandbox tests use. No registry is reachable here, so it is built locally
# from Debian's busybox-static and loaded with `docker import`.
SANDBOX_TEST_IMAGE := hermes-sandbox-test:1

all: build wasm

build: $(BIN)

$(BIN): $(shell find abi host store sandbox cmd -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum
	$(GO) build -trimpath -tags $(BUILD_TAGS) -o $@ ./cmd/hermes

toolchains: $(TOOLCHAIN_STAMP)
$(TOOLCHAIN_STAMP): scripts/ensure-toolchains.sh
	@bash scripts/ensure-toolchains.sh
	@mkdir -p $(dir $@) && touch $@

wasm: $(ALL_WASM)

.SECONDEXPANSION:
$(GO_WASM): %.wasm: $$(wildcard $$(dir $$*)*.go) $(SDK_GO)
	$(GOWASM) -o $@ ./$(dir $@)

$(PDK_WASM): $(wildcard testdata/pdk/echo/*.go) testdata/pdk/echo/go.mod
	cd testdata/pdk/echo && $(GOWASM) -o echo.wasm .

$(HYPERMCP_WASM): %.wasm: $$(wildcard $$(dir $$*)*.go) $$(dir $$*)go.mod
	cd $(dir $@) && $(GOWASM) -o $(notdir $@) .

testdata/compat/gopdk-%.wasm:
	@mkdir -p $(@D)
	$(GO) mod download github.com/extism/go-pdk@$(GOPDK_VERSION)
	cd "$$($(GO) env GOMODCACHE)/github.com/extism/go-pdk@$(GOPDK_VERSION)" && \
		GOWORK=off GOOS=wasip1 GOARCH=wasm $(GO) build -tags std -trimpath -o $(CURDIR)/$@ ./example/$(notdir $*)

$(WAT_WASM): %.wasm: %.wat | $(TOOLCHAIN_STAMP)
	wat2wasm --enable-all $< -o $@

$(C_WASM): sdk/c/example/textstats.c sdk/c/hermes.h | $(TOOLCHAIN_STAMP)
	clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wl,--strip-debug -Isdk/c -o $@ $<

$(RUST_WASM): sdk/rust/example/src/lib.rs | $(TOOLCHAIN_STAMP)
	$(RUSTC) --edition 2021 --target wasm32-wasi --crate-type cdylib -O -C strip=debuginfo -o $@ $<

sandbox-image:
	@bash scripts/build-sandbox-image.sh $(SANDBOX_TEST_IMAGE)

vet:
	$(GO) vet ./...

# The whole suite: unit, integration (real WASM modules built above, real SQLite files, real
# HTTP servers on 127.0.0.1, the dashboard in headless Chromium) and the hostile-plugin suite,
# with the race detector. What a failing test saves (the dashboard tests' screenshots) is kept
# under .cache/test-output/_artifacts.
test: toolchains build wasm vet sandbox-image
	@mkdir -p .cache/test-output
	HERMES_TEST_BIN=$(CURDIR)/$(BIN) HERMES_SANDBOX_TEST_IMAGE=$(SANDBOX_TEST_IMAGE) $(GO) test -race -count=1 -timeout 40m -artifacts -outputdir $(CURDIR)/.cache/test-output ./...

# A short run of every fuzz target (longer runs: make fuzz FUZZTIME=10m).
FUZZTIME ?= 20s
fuzz: wasm
	$(GO) test ./host/wasm -run '^$$' -fuzz FuzzHostFunctions -fuzztime $(FUZZTIME)
	$(GO) test ./abi -run '^$$' -fuzz FuzzCheckSchema -fuzztime $(FUZZTIME)
	$(GO) test ./host/registry -run '^$$' -fuzz FuzzSchemaCall -fuzztime $(FUZZTIME)

# Benchmarks, each next to its anchor in the same run; BENCHMARKS.md reports them with the
# machine they ran on. BENCHTIME=1s COUNT=5 for steadier numbers.
BENCHTIME ?= 2000x
COUNT ?= 3
bench: build wasm sandbox-image
	HERMES_TEST_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench 'EchoCall|EchoFloor|Throughput' -benchmem -benchtime $(BENCHTIME) -count $(COUNT) -timeout 30m ./host/wasm
	$(GO) test -run '^$$' -bench 'InstanceMemory' -benchtime 1x -count $(COUNT) ./host/wasm
	HERMES_TEST_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -skip 'APIServer|MCPServer' -benchtime 20x -count $(COUNT) ./cmd/hermes
	HERMES_TEST_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench 'APIServer|MCPServer' -benchtime 400x -count $(COUNT) -timeout 20m ./cmd/hermes
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./store
	$(GO) test -run '^$$' -bench Classify -count $(COUNT) ./sandbox/classify
	$(GO) test -run 'Corpus' -v -count 1 ./sandbox/classify | grep -E 'rate'
	HERMES_SANDBOX_TEST_IMAGE=$(SANDBOX_TEST_IMAGE) $(GO) test -run '^$$' -bench Exec -benchtime 20x -count $(COUNT) ./sandbox/docker

demo: build wasm
	@bash scripts/demo.sh

clean:
	rm -rf bin .cache $(ALL_WASM)
