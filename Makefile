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
	./app:FuzzSession

export CGO_ENABLED := 1
SHELL := /bin/bash

.PHONY: all build test vet fmt-check fuzz generate bench run clean help

all: build

help:
	@echo "make build     bin/imapd and bin/imapctl"
	@echo "make test      vet, gofmt check, race tests, then each fuzz target for $(FUZZTIME)"
	@echo "make generate  regenerate wire_gen.go files"
	@echo "make bench     benchmarks, with operations per second"
	@echo "make run       a stdio IMAP session on a local configuration in $(RUNDIR)/"

build:
	$(GO) build -o $(BIN)/imapd ./cmd/imapd
	$(GO) build -o $(BIN)/imapctl ./cmd/imapctl

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi

test: vet fmt-check
	$(GO) test -race $(PKGS)
	$(MAKE) fuzz

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

generate:
	wire ./cmd/imapd ./cmd/imapctl

# ns/op becomes ops/s in an extra column.
bench:
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchmem $(PKGS) | awk ' \
		/ns\/op/ { for (i = 2; i < NF; i++) if ($$(i+1) == "ns/op" && $$i > 0) { printf "%s\t%.0f ops/s\n", $$0, 1e9 / $$i; next } } \
		{ print }'

# Only the session goes to standard output: build messages go to stderr.
run:
	@$(MAKE) --no-print-directory build >&2
	@if [ ! -d $(RUNDIR) ]; then \
		mkdir -p $(RUNDIR)/spool $(RUNDIR)/msg $(RUNDIR)/log && \
		sed "s|@CONFIGDIR@|$(CURDIR)/$(RUNDIR)|" configs/imapd.conf > $(RUNDIR)/imapd.conf && \
		echo "created $(RUNDIR)/ (add a user: $(BIN)/imapctl -C $(RUNDIR)/imapd.conf user add alice)" >&2; \
	fi
	@exec $(BIN)/imapd -C $(RUNDIR)/imapd.conf

clean:
	rm -rf $(BIN)
