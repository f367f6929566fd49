# hb: heartbeat binaries for fleets of AI coding agents.
# `make demo` runs the main job; `make test` is what CI runs.

CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(DESTDIR)$(PREFIX)/bin
BINS     = hb-write hb-defer-check hb-read
SCRIPTS  = start-agent-session.sh stop-agent-session.sh

.PHONY: all build test lint demo install uninstall clean

all: build

build:
	$(CARGO) build --release --locked

# The whole gate: formatting, lints as errors, then every test.
test:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	$(CARGO) test --locked

demo: build
	HB_BIN=$(CURDIR)/target/release scripts/demo.sh

install: build
	install -d $(BINDIR)
	for b in $(BINS); do install -m 0755 target/release/$$b $(BINDIR)/$$b; done
	for s in $(SCRIPTS); do [ ! -f scripts/$$s ] || install -m 0755 scripts/$$s $(BINDIR)/$$s; done

uninstall:
	for f in $(BINS) $(SCRIPTS); do rm -f $(BINDIR)/$$f; done

clean:
	$(CARGO) clean
