# upsell: build, test and regenerate the plugin contract.
GO      ?= go
BIN     ?= bin
MODULE  := github.com/upsell-io/upsell
PROTOS  := $(wildcard hostapi/proto/upsell/hostapi/v1/*.proto)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X $(MODULE)/internal/buildinfo.Version=$(VERSION)

.PHONY: build test proto proto-check vet bench demo fuzz

# The production binary leaves the demo's embedded database engine out
# (-tags nodemo: 29 MB instead of 89 MB).
build:
	$(GO) build -trimpath -tags nodemo -ldflags "$(LDFLAGS)" -o $(BIN)/upsell ./cmd/upsell

# The README's test command. Runs against MariaDB when UPSELL_TEST_MYSQL_DSN is
# set (.ci/run sets it), else on the embedded engine.
test: vet
	$(GO) test -race -count=1 -timeout 30m ./...
	# Crash tests: the module process is stopped between pipeline steps.
	$(GO) test -race -count=1 -timeout 10m -tags faults -run Crash ./internal/e2e

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))" || (gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...

# Each fuzz target for a short run. Their seed corpora (f.Add and the
# committed testdata/fuzz/<FuzzName>/ files: inputs the fuzzer found, kept so
# every `go test` replays them) also run in make test. A failing input lands
# in testdata/fuzz/<FuzzName>/: fix the bug and commit the file with the fix.
# The budget is a count of executions, not a duration: a duration races the
# fuzz coordinator's deadline against a busy worker and fails with a bare
# "context deadline exceeded" and no input (golang/go#75804); a count only
# runs slower on a loaded machine.
FUZZTIME ?= 20000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzWebhook$$' -fuzztime $(FUZZTIME) ./internal/intake
	$(GO) test -run '^$$' -fuzz '^FuzzVerifyLink$$' -fuzztime $(FUZZTIME) ./internal/auth
	$(GO) test -run '^$$' -fuzz '^FuzzClientDecoders$$' -fuzztime $(FUZZTIME) ./plugin/microupsell

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo:
	$(GO) run ./cmd/upsell demo

# Regenerate the contract's Go code with Debian's protoc and the protoc-gen-go
# plugins pinned as go.mod tools.
proto:
	mkdir -p .bin
	$(GO) build -o .bin/ google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc
	protoc -I hostapi/proto \
	  --plugin=protoc-gen-go=.bin/protoc-gen-go --plugin=protoc-gen-go-grpc=.bin/protoc-gen-go-grpc \
	  --go_out=. --go_opt=module=$(MODULE) \
	  --go-grpc_out=. --go-grpc_opt=module=$(MODULE) \
	  $(PROTOS)

# Fails when the committed generated code differs from what `make proto` makes.
proto-check: proto
	git diff --exit-code -- hostapi/internal/upsellv1
