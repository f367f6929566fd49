# hb: heartbeat binaries for fleets of AI coding agents.
# `make demo` runs the main job; `make test` is what CI runs.

CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(DESTDIR)$(PREFIX)/bin
BINS     = hb-write hb-defer-check hb-read
SCRIPTS  = start-agent-session.sh stop-agent-session.sh

.PHONY: all build static test demo install uninstall clean

all: build

build:
	$(CARGO) build --release --locked

# Static binaries for hosts with no libc: musl where rustup can add the
# target, else glibc linked statically (no NSS is used, so that is safe).
MUSL       = x86_64-unknown-linux-musl
GNU        = x86_64-unknown-linux-gnu
STATIC_DIR = target/static
static:
	@if rustup target list --installed 2>/dev/null | grep -qx $(MUSL) || rustup target add $(MUSL) >/dev/null 2>&1; then \
		$(CARGO) build --release --locked --target $(MUSL) && t=$(MUSL); \
	else \
		echo "musl target unavailable: linking glibc statically"; \
		RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --locked --target $(GNU) && t=$(GNU); \
	fi && mkdir -p $(STATIC_DIR) && for b in $(BINS); do cp target/$$t/release/$$b $(STATIC_DIR)/; done

# The whole gate: formatting, lints as errors, then every test.
test:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	$(CARGO) test --locked
	$(MAKE) --no-print-directory static
	scripts/check-static.sh $(STATIC_DIR)

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
