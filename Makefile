# Build, test and run imapd. `make help` lists the targets.

GO      ?= go
BIN     := bin
RUNDIR  := run
PKGS    := ./...

# Every fuzz target, as package:Name:executions; each runs that many
# inputs in `make test` (about 5 s each on a 2-core machine). A count, not
# a duration: with -fuzztime <duration>, Go 1.26's fuzz coordinator may fail
# a run at its deadline with "context deadline exceeded" and no failing
# input (golang/go#75804, fixed in Go 1.27). FUZZX multiplies the counts.
FUZZX ?= 1
FUZZ_TARGETS := \
	./domain/grammar:FuzzParser:300000 \
	./domain/imap:FuzzMailboxRoundTrip:100000 \
	./domain/message:FuzzParse:100000 \
	./domain/search:FuzzMatchReader:10000 \
	./domain/lmtp:FuzzParse:100000 \
	./app:FuzzSession:10000 \
	./app:FuzzTwoSessions:1500

export CGO_ENABLED := 1
# FTS5 in go-sqlite3, for the stores' full-text index: every build and
# test below has it. Without the tag the server still works and SEARCH
# reads every message.
export GOFLAGS := $(strip $(GOFLAGS) -tags=sqlite_fts5)
SHELL := /bin/bash

.PHONY: all build test vet fmt-check check-tracked fuzz generate bench compare run clean help

all: build

help:
	@echo "make build     bin/imapd, bin/imapctl, bin/lmtpd and bin/master"
	@echo "make test      vet, gofmt check, race tests, then each fuzz target (FUZZX=10 for ten times the inputs)"
	@echo "make generate  regenerate wire_gen.go files"
	@echo "make bench     benchmarks, with operations per second (deliveries: BenchmarkDelivery in app/)"
	@echo "make compare   ours, Cyrus and Dovecot side by side on one mailbox (as root; a few minutes)"
	@echo "make run       our master in the foreground, serving IMAP on 127.0.0.1:1143 and imaps on :1993 from $(RUNDIR)/"

build:
	$(GO) build -o $(BIN)/imapd ./cmd/imapd
	$(GO) build -o $(BIN)/imapctl ./cmd/imapctl
	$(GO) build -o $(BIN)/lmtpd ./cmd/lmtpd
	$(GO) build -o $(BIN)/master ./cmd/master

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi

# The end-to-end tests run on each store backend: sqlite in the first
# pass with everything else, maildir in a second, postgres (on a server the
# test binary starts, test/pgtest) in a third. Those passes are never
# served from the test cache (-count=1), and their TestMain leaves a stamp
# that proves they ran on their store. A third pass, on sqlite only (each -race
# pass takes minutes), runs every session through the multisession path:
# a master.Transport in multi mode and app.Server.Serve.
test: vet fmt-check check-tracked
	$(GO) test -race $(PKGS)
	@stamp=$$(mktemp -u); \
	IMAPD_E2E_STORE=maildir IMAPD_E2E_RAN=$$stamp $(GO) test -count=1 -race ./test/e2e/ || { rm -f $$stamp; exit 1; }; \
	grep -qx 'store=maildir code=0' $$stamp 2>/dev/null || { echo "the maildir pass of test/e2e did not run"; rm -f $$stamp; exit 1; }; \
	rm -f $$stamp
	@stamp=$$(mktemp -u); \
	IMAPD_E2E_STORE=postgres IMAPD_E2E_RAN=$$stamp $(GO) test -count=1 -race ./test/e2e/ || { rm -f $$stamp; exit 1; }; \
	grep -qx 'store=postgres code=0' $$stamp 2>/dev/null || { echo "the postgres pass of test/e2e did not run"; rm -f $$stamp; exit 1; }; \
	rm -f $$stamp
	@stamp=$$(mktemp -u); \
	IMAPD_E2E_MODE=multi IMAPD_E2E_RAN=$$stamp $(GO) test -count=1 -race ./test/e2e/ || { rm -f $$stamp; exit 1; }; \
	grep -qx 'store=sqlite mode=multi code=0' $$stamp 2>/dev/null || { echo "the multisession pass of test/e2e did not run"; rm -f $$stamp; exit 1; }; \
	rm -f $$stamp
	$(MAKE) fuzz

# No build output is tracked: no executable, nothing over 1 MB outside
# test/testdata.
check-tracked:
	@.ci/check-tracked

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		IFS=: read -r pkg name n <<< "$$t"; n=$$((n * $(FUZZX))); \
		echo "fuzz $$name in $$pkg for $$n inputs"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $${n}x $$pkg; \
	done

generate:
	wire ./cmd/imapd ./cmd/imapctl ./cmd/lmtpd

# ns/op becomes ops/s in an extra column; then the store operations on
# both backends, side by side, with the maildir/sqlite ratio of each.
bench:
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem $(PKGS) | awk ' \
		/ns\/op/ { for (i = 2; i < NF; i++) if ($$(i+1) == "ns/op" && $$i > 0) { printf "%s\t%.0f ops/s\n", $$0, 1e9 / $$i; next } } \
		{ print }'
	STOREBENCH_RATIOS=1 $(GO) test -run '^TestStoreRatios$$' -v ./test/storebench

# Ours (sqlite and maildir), Cyrus and Dovecot side by side, one table;
# as root (Cyrus's master starts as root, Dovecot runs in a mount namespace
# of its own). README.md, "Reading make compare", explains the table.
COMPARE_FLAGS ?=
compare:
	$(GO) run ./test/compare $(COMPARE_FLAGS)

# The first run makes run/ from configs/ (with a self-signed certificate);
# master logs to standard error and stops on Ctrl-C.
run: build
	@if [ ! -d $(RUNDIR) ]; then \
		mkdir -p $(RUNDIR)/spool $(RUNDIR)/msg $(RUNDIR)/log $(RUNDIR)/socket && \
		sed "s|@CONFIGDIR@|$(CURDIR)/$(RUNDIR)|" configs/imapd.conf > $(RUNDIR)/imapd.conf && \
		sed "s|@CONFIGDIR@|$(CURDIR)/$(RUNDIR)|g; s|@BIN@|$(CURDIR)/$(BIN)|g" configs/cyrus.conf > $(RUNDIR)/cyrus.conf && \
		echo "created $(RUNDIR)/ (add a user: $(BIN)/imapctl -C $(RUNDIR)/imapd.conf user add alice)"; \
	fi
	@$(GO) run ./cmd/internal/mkcert -cert $(RUNDIR)/server.pem -key $(RUNDIR)/server.key localhost 127.0.0.1 ::1
	exec $(BIN)/master -C $(RUNDIR)/imapd.conf -M $(RUNDIR)/cyrus.conf -p $(RUNDIR)/master.pid

clean:
	rm -rf $(BIN)
