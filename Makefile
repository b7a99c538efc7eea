# tasvieh — the two commands are `make demo` and `make test`; everything else here serves them.
# Neither needs Docker: PostgreSQL is DATABASE_URL when set, otherwise a private cluster under .tasvieh/pg
# (Debian's postgresql package is installed if absent); Kafka is an embedded broker unless KAFKA_BROKERS is set.

GO      ?= go
BIN     := bin/tasvieh
PKGS    := ./...
# The race detector roughly doubles run time on 2 cores; 20 minutes is a generous ceiling, not a target.
TESTFLAGS ?= -race -timeout 20m

.PHONY: all build demo test fmt-check vet unit bench bench-ledger crash-long db-up db-down clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/tasvieh

demo: build
	./$(BIN) demo

test: fmt-check vet unit

fmt-check:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './.tasvieh/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi; echo "gofmt: ok"

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test $(TESTFLAGS) $(PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./sheba/ ./ledger/

bench-ledger: build
	./$(BIN) bench ledger

# The long form of internal/crashtest: TASVIEH_CRASH_LONG=1 makes TestCrashKillsLoseNothing kill the ledger 12
# times instead of 3. -count=1 because a cached pass would prove nothing; 30m is a ceiling (it took 36 s here).
crash-long:
	TASVIEH_CRASH_LONG=1 $(GO) test -count=1 -run '^TestCrashKillsLoseNothing$$' -v -timeout 30m ./internal/crashtest/

db-up: build
	./$(BIN) db up

db-down: build
	./$(BIN) db down

clean:
	rm -rf bin
