# hb: heartbeat binaries for fleets of AI coding agents.
# `make demo` runs the main job; `make test` is what CI runs.

CARGO   ?= cargo
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(DESTDIR)$(PREFIX)/bin
UNITDIR  = $(DESTDIR)$(PREFIX)/lib/systemd/system
MANDIR   = $(DESTDIR)$(PREFIX)/share/man
COMPDIR  = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR   = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHDIR  = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
VERSION := $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)
# Where `install` takes the binaries from: the static ones when `make
# static` built them, else the release build (tests install debug builds).
BINSRC  ?= $(if $(wildcard dist/hb-write),dist,target/release)
BINS     = hb-write hb-defer-check hb-read
SCRIPTS  = start-agent-session.sh stop-agent-session.sh hb-install-hooks

.PHONY: all build static dist check-dist setup test demo install uninstall clean

all: build

build:
	$(CARGO) build --release --locked

# Static binaries for hosts with no libc, stripped, in dist/TARGET/, and
# the host's also in dist/ (for `make install` and `make bench`): musl where
# rustup can add the target, else glibc linked statically (no NSS is used,
# so that is safe). The benchmarks' floor programs (bench/floor/) are built
# in the same cargo run, so with the same profile, into target/floor/.
# aarch64 is linked by rust-lld, which rustup ships: no C cross toolchain.
MUSL      = x86_64-unknown-linux-musl
GNU       = x86_64-unknown-linux-gnu
ARM       = aarch64-unknown-linux-musl
DIST      = dist
FLOOR_DIR = target/floor
FLOORS    = floor-noop floor-write floor-tick
# Not position-independent: no relocations to apply at start-up, smaller
# files, and `file` says "statically linked" (bench/RESULTS.md, profiles).
STATIC_FLAGS = -C relocation-model=static
.PHONY: static-host static-aarch64
static: static-host static-aarch64

static-host:
	@if rustup target list --installed 2>/dev/null | grep -qx $(MUSL) || rustup target add $(MUSL) >/dev/null 2>&1; then \
		RUSTFLAGS="$(STATIC_FLAGS)" $(CARGO) build --release --locked --bins --examples --target $(MUSL) && t=$(MUSL); \
	else \
		echo "make static: the musl target is unavailable: linking glibc statically instead"; \
		RUSTFLAGS="$(STATIC_FLAGS) -C target-feature=+crt-static" $(CARGO) build --release --locked --bins --examples --target $(GNU) && t=$(GNU); \
	fi && mkdir -p $(DIST)/$$t $(FLOOR_DIR) && \
	for b in $(BINS); do cp target/$$t/release/$$b $(DIST)/ && cp target/$$t/release/$$b $(DIST)/$$t/; done && \
	for f in $(FLOORS); do cp target/$$t/release/examples/$$f $(FLOOR_DIR)/; done
	@! command -v file >/dev/null || file $(addprefix $(DIST)/,$(BINS)) | sed 's/, BuildID[^,]*//'

static-aarch64:
	@rustup target list --installed 2>/dev/null | grep -qx $(ARM) || rustup target add $(ARM) >/dev/null 2>&1 || \
		{ echo "make static-aarch64: the $(ARM) target is missing: rustup target add $(ARM)" >&2; exit 1; }
	RUSTFLAGS="$(STATIC_FLAGS) -C linker=rust-lld" $(CARGO) build --release --locked --bins --target $(ARM)
	@mkdir -p $(DIST)/$(ARM) && for b in $(BINS); do cp target/$(ARM)/release/$$b $(DIST)/$(ARM)/; done
	@! command -v file >/dev/null || file $(addprefix $(DIST)/$(ARM)/,$(BINS)) | sed 's/, BuildID[^,]*//'

# Release tarballs, one per target, and SHA256SUMS (scripts/dist.sh;
# doc/install.md, "From a release tarball"), reproducible from the commit's date.
dist: static
	scripts/dist.sh $(DIST) $(VERSION)

check-dist: dist
	scripts/check-dist.sh $(DIST) $(VERSION)

# The build itself reproduces: a fresh clone elsewhere makes the same bytes.
# Slow (a second full release build), so not part of `make test`.
.PHONY: check-reproducible
check-reproducible:
	scripts/check-reproducible.sh

# What `make test` and `make demo` need, installed when missing (or, when
# not root, the one command that would install it): scripts/setup.sh.
.PHONY: setup-demo
setup:
	@scripts/setup.sh test
setup-demo:
	@scripts/setup.sh demo

# The whole gate: formatting, lints as errors, then every test.
test: setup
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	$(CARGO) test --locked
	shellcheck scripts/*.sh bench/*.sh complete/hb.bash tests/e2e/*.sh tests/e2e/shim/hb-write
	$(MAKE) --no-print-directory static
	scripts/check-static.sh $(DIST)
	scripts/check-static.sh $(DIST)/$(ARM) qemu-aarch64-static
	$(MAKE) --no-print-directory check-install
	$(MAKE) --no-print-directory check-dist

# Real Claude Code, Codex, Pi, Gemini CLI, Qwen Code, Copilot CLI,
# OpenCode, Kilo Code, Cline, Hermes Agent, Mistral Vibe and Aider agents,
# and Claude Code in bubblewrap, against the binaries (tests/e2e/):
# installs the pinned runtimes into target/e2e/ (npm, once per lock; PyPI,
# a venv per tests/e2e/pypi/*.txt under target/e2e/venv/), then runs
# every mode in a network namespace with only loopback. One runtime alone:
# `make e2e E2E=codex` (modes by prefix; `tests/e2e/run.sh --list`).
E2E ?=
.PHONY: e2e
e2e:
	$(CARGO) build --locked --bins
	tests/e2e/run.sh $(E2E)

# `make install` takes the static binaries once `make static` built them.
.PHONY: check-install
check-install:
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	$(MAKE) --no-print-directory -s install DESTDIR="$$d" PREFIX=/usr >/dev/null && \
	for b in $(BINS); do \
		cmp -s $(DIST)/$$b "$$d/usr/bin/$$b" || { echo "check-install: $$b is not $(DIST)/$$b"; exit 1; }; \
	done && \
	for m in doc/*.1 doc/*.7; do \
		s=$${m##*.}; cmp -s $$m "$$d/usr/share/man/man$$s/$${m##*/}" || { echo "check-install: $$m is not installed"; exit 1; }; \
	done && \
	for c in $(BINS) $(SCRIPTS); do \
		cmp -s complete/hb.bash "$$d/usr/share/bash-completion/completions/$$c" || { echo "check-install: no bash completion for $$c"; exit 1; }; \
	done && \
	{ [ ! -f /usr/share/bash-completion/bash_completion ] || \
		XDG_DATA_DIRS="$$d/usr/share" bash --norc --noprofile -c '. /usr/share/bash-completion/bash_completion; _completion_loader hb-read; complete -p hb-read' | \
		grep -q _hb_complete || { echo "check-install: bash-completion does not load the installed completion"; exit 1; }; } && \
	cmp -s complete/_hb "$$d/usr/share/zsh/site-functions/_hb" || { echo "check-install: no zsh completion"; exit 1; }; \
	for c in $(BINS) $(filter-out hb-install-hooks,$(SCRIPTS)); do \
		cmp -s complete/hb.fish "$$d/usr/share/fish/vendor_completions.d/$$c.fish" || { echo "check-install: no fish completion for $$c"; exit 1; }; \
	done && \
	{ ! command -v zsh >/dev/null || [ "$$(zsh -f -c 'fpath=($$1 $$fpath); autoload -U compinit; compinit -u -D; print -r -- $$_comps[hb-read]' zsh "$$d/usr/share/zsh/site-functions")" = _hb ] || \
		{ echo "check-install: zsh's compinit does not load the installed completion"; exit 1; }; } && \
	{ ! command -v fish >/dev/null || HOME="$$d" PATH="$$d/usr/bin:$$PATH" XDG_DATA_DIRS="$$d/usr/share" fish -c 'complete -C "hb-read --co"' | grep -q -- --color || \
		{ echo "check-install: fish does not load the installed completion"; exit 1; }; } && \
	echo "check-install: ok: make install installs the static binaries from $(DIST)/, the man pages and the completions (bash, zsh, fish)"

demo: setup-demo build
	HB_BIN=$(CURDIR)/target/release scripts/demo.sh

# Benchmarks of the static build that ships against the bash it replaces
# and against the floors; writes bench/RESULTS.md. Needs hyperfine, valgrind
# and strace, and perf where it runs (Debian: hyperfine valgrind strace linux-perf).
.PHONY: bench bench-follow
bench: static-host
	scripts/bench.sh $(DIST) $(FLOOR_DIR) bench/RESULTS.md

# Section 9 alone (the follower, `hb-read --follow`, about two minutes),
# put in place of its part of bench/RESULTS.md and marked as measured
# apart from the rest.
bench-follow: static-host
	scripts/bench-follow.sh --into bench/RESULTS.md $(DIST)

install: $(if $(wildcard dist/hb-write),,build)
	install -d $(BINDIR)
	for b in $(BINS); do install -m 0755 $(BINSRC)/$$b $(BINDIR)/$$b; done
	for s in $(SCRIPTS); do [ ! -f scripts/$$s ] || install -m 0755 scripts/$$s $(BINDIR)/$$s; done
	# The Pi extension and the OpenCode plugin, where hb-install-hooks looks
	# for them (../share/hb).
	install -d $(DESTDIR)$(PREFIX)/share/hb
	install -m 0644 integrations/pi/mosaic-heartbeat.ts $(DESTDIR)$(PREFIX)/share/hb/mosaic-heartbeat.ts
	install -D -m 0644 integrations/opencode/mosaic-heartbeat.ts $(DESTDIR)$(PREFIX)/share/hb/opencode/mosaic-heartbeat.ts
	# The Gemini CLI extension, which hb-install-hooks hands to gemini.
	install -d $(DESTDIR)$(PREFIX)/share/hb/gemini/hooks
	install -m 0644 integrations/gemini/gemini-extension.json integrations/gemini/README.md $(DESTDIR)$(PREFIX)/share/hb/gemini/
	install -m 0644 integrations/gemini/hooks/hooks.json $(DESTDIR)$(PREFIX)/share/hb/gemini/hooks/
	# systemd units, pointing at the installed binaries (PREFIX, not DESTDIR).
	install -d "$(UNITDIR)"
	for u in scripts/systemd/*.service scripts/systemd/*.timer; do \
		sed 's|@BINDIR@|$(PREFIX)/bin|g' "$$u" > "$(UNITDIR)/$${u##*/}" && \
		chmod 0644 "$(UNITDIR)/$${u##*/}" || exit 1; \
	done
	install -d $(MANDIR)/man1 $(MANDIR)/man7 $(COMPDIR) $(ZSHDIR) $(FISHDIR)
	install -m 0644 doc/*.1 $(MANDIR)/man1/
	install -m 0644 doc/*.7 $(MANDIR)/man7/
	# bash-completion loads a command's completion from a file of its name.
	install -m 0644 complete/hb.bash $(COMPDIR)/hb-write
	for c in hb-defer-check hb-read $(SCRIPTS); do ln -sf hb-write $(COMPDIR)/$$c; done
	# zsh: one function for all five (#compdef); fish loads CMD.fish.
	install -m 0644 complete/_hb $(ZSHDIR)/_hb
	for c in $(BINS) start-agent-session.sh stop-agent-session.sh; do install -m 0644 complete/hb.fish $(FISHDIR)/$$c.fish; done

uninstall:
	for f in $(BINS) $(SCRIPTS); do rm -f $(BINDIR)/$$f; done
	rm -f $(DESTDIR)$(PREFIX)/share/hb/mosaic-heartbeat.ts $(DESTDIR)$(PREFIX)/share/hb/opencode/mosaic-heartbeat.ts
	rm -rf $(DESTDIR)$(PREFIX)/share/hb/gemini
	for u in scripts/systemd/*.service scripts/systemd/*.timer; do rm -f "$(UNITDIR)/$${u##*/}"; done
	for m in doc/*.1; do rm -f "$(MANDIR)/man1/$${m##*/}"; done
	for m in doc/*.7; do rm -f "$(MANDIR)/man7/$${m##*/}"; done
	for c in hb-write hb-defer-check hb-read $(SCRIPTS); do rm -f $(COMPDIR)/$$c; done
	rm -f $(ZSHDIR)/_hb
	for c in $(BINS) start-agent-session.sh stop-agent-session.sh; do rm -f $(FISHDIR)/$$c.fish; done

clean:
	$(CARGO) clean
	rm -rf $(DIST)

# Coverage-guided fuzzing (cargo-fuzz on a nightly toolchain, so not part of
# `make test`): the beat parser, hook payload decoding and each binary's
# argument parsing, each for FUZZ_SECONDS (an input running past 10 s is a
# hang, reported as a finding). Crashes land in fuzz/artifacts/TARGET/.
# hook_payload starts from the recorded payloads (tests/fixtures/hooks/).
FUZZ_SECONDS ?= 30
FUZZ_TARGETS  = beat_parse hook_payload write_args read_args defer_check_args
.PHONY: fuzz
fuzz:
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		seeds=; [ $$t != hook_payload ] || seeds="../tests/fixtures/hooks/claude ../tests/fixtures/hooks/codex"; \
		mkdir -p corpus/$$t && \
		$(CARGO) +nightly fuzz run $$t corpus/$$t $$seeds -- -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 || exit 1; \
	done
