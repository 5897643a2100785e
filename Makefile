# Build, test and run imapd. `make help` lists the targets.

GO      ?= go
BIN     := bin
RUNDIR  := run
PKGS    := ./...

# Every fuzz target, as package:Name; each runs for FUZZTIME in `make test`.
FUZZTIME ?= 5s
FUZZ_TARGETS := \
	./domain/grammar:FuzzParser \
	./domain/imap:FuzzMailboxRoundTrip \
	./domain/message:FuzzParse \
	./app:FuzzSession \
	./app:FuzzTwoSessions

export CGO_ENABLED := 1
SHELL := /bin/bash

.PHONY: all build test vet fmt-check check-tracked fuzz generate bench run clean help

all: build

help:
	@echo "make build     bin/imapd, bin/imapctl and bin/master"
	@echo "make test      vet, gofmt check, race tests, then each fuzz target for $(FUZZTIME)"
	@echo "make generate  regenerate wire_gen.go files"
	@echo "make bench     benchmarks, with operations per second"
	@echo "make run       our master in the foreground, serving IMAP on 127.0.0.1:1143 and imaps on :1993 from $(RUNDIR)/"

build:
	$(GO) build -o $(BIN)/imapd ./cmd/imapd
	$(GO) build -o $(BIN)/imapctl ./cmd/imapctl
	$(GO) build -o $(BIN)/master ./cmd/master

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi

# The end-to-end tests run on each store backend: sqlite in the first
# pass with everything else, maildir in a second. The second pass is never
# served from the test cache (-count=1), and its TestMain leaves a stamp
# that proves it ran on maildir.
test: vet fmt-check check-tracked
	$(GO) test -race $(PKGS)
	@stamp=$$(mktemp -u); \
	IMAPD_E2E_STORE=maildir IMAPD_E2E_RAN=$$stamp $(GO) test -count=1 -race ./test/e2e/ || { rm -f $$stamp; exit 1; }; \
	grep -qx 'store=maildir code=0' $$stamp 2>/dev/null || { echo "the maildir pass of test/e2e did not run"; rm -f $$stamp; exit 1; }; \
	rm -f $$stamp
	$(MAKE) fuzz

# No build output is tracked: no executable, nothing over 1 MB outside
# test/testdata.
check-tracked:
	@.ci/check-tracked

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

generate:
	wire ./cmd/imapd ./cmd/imapctl

# ns/op becomes ops/s in an extra column; then the store operations on
# both backends, side by side, with the maildir/sqlite ratio of each.
bench:
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem $(PKGS) | awk ' \
		/ns\/op/ { for (i = 2; i < NF; i++) if ($$(i+1) == "ns/op" && $$i > 0) { printf "%s\t%.0f ops/s\n", $$0, 1e9 / $$i; next } } \
		{ print }'
	STOREBENCH_RATIOS=1 $(GO) test -run '^TestStoreRatios$$' -v ./test/storebench

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
