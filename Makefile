# hb: heartbeat binaries for fleets of AI coding agents.
# `make demo` runs the main job; `make test` is what CI runs.

CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(DESTDIR)$(PREFIX)/bin
UNITDIR  = $(DESTDIR)$(PREFIX)/lib/systemd/system
# Where `install` takes the binaries from (tests install debug builds).
BINSRC  ?= target/release
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
	shellcheck scripts/*.sh bench/*.sh
	$(MAKE) --no-print-directory static
	scripts/check-static.sh $(STATIC_DIR)

demo: build
	HB_BIN=$(CURDIR)/target/release scripts/demo.sh

# Benchmarks on the static build that ships, each writing its own section
# of bench/RESULTS.md: the sidecar's CPU per beat and memory; one-shot
# commands against the bash way and a static no-op (needs hyperfine).
.PHONY: bench bench-sidecar bench-oneshot
bench: bench-sidecar bench-oneshot
bench-sidecar: static
	bench/sidecar.sh $(STATIC_DIR) bench/RESULTS.md
bench-oneshot: static
	bench/oneshot.sh $(STATIC_DIR) bench/RESULTS.md

install: build
	install -d $(BINDIR)
	for b in $(BINS); do install -m 0755 $(BINSRC)/$$b $(BINDIR)/$$b; done
	for s in $(SCRIPTS); do [ ! -f scripts/$$s ] || install -m 0755 scripts/$$s $(BINDIR)/$$s; done
	# systemd units, pointing at the installed binaries (PREFIX, not DESTDIR).
	install -d "$(UNITDIR)"
	for u in scripts/systemd/*.service scripts/systemd/*.timer; do \
		sed 's|@BINDIR@|$(PREFIX)/bin|g' "$$u" > "$(UNITDIR)/$${u##*/}" && \
		chmod 0644 "$(UNITDIR)/$${u##*/}" || exit 1; \
	done

uninstall:
	for f in $(BINS) $(SCRIPTS); do rm -f $(BINDIR)/$$f; done
	for u in scripts/systemd/*.service scripts/systemd/*.timer; do rm -f "$(UNITDIR)/$${u##*/}"; done

clean:
	$(CARGO) clean

# Coverage-guided fuzzing (cargo-fuzz on a nightly toolchain, so not part of
# `make test`): the beat parser and each binary's argument parsing, each for
# FUZZ_SECONDS. Crashes land in fuzz/artifacts/TARGET/.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS  = beat_parse write_args read_args defer_check_args
.PHONY: fuzz
fuzz:
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		$(CARGO) +nightly fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
	done
