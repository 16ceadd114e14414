# drainit — make targets. Every target installs what it needs.
SHELL := /bin/bash
MUSL := x86_64-unknown-linux-musl
STATIC_DIR := target/static

.PHONY: all build static layout deps test lint demo bench e2e image soak fuzz clean

all: build

build:
	cargo build --release --workspace

# Debian packages the tests and benchmarks compare against or run.
deps:
	bash scripts/deps.sh

# Static binaries for containers: musl when the target is installed, else
# the gnu target with +crt-static. Copied to target/static/. drainit's
# steady-state code is linked first (scripts/layout/hot.txt).
static:
	bash scripts/static.sh

# Re-profiles which functions drainit runs once started (valgrind) and
# rewrites scripts/layout/hot.txt; run after changing the loop.
layout:
	bash scripts/layout/profile.sh

test: deps static
	bash scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

demo: deps static
	bash scripts/demo.sh

bench: deps static
	DRAINIT_BIN=$(STATIC_DIR)/drainit bash bench/run.sh

image: static
	bash docker/build.sh release

e2e: deps static
	bash docker/e2e/run.sh full

soak: deps static
	bash scripts/soak.sh

fuzz:
	bash scripts/fuzz.sh

clean:
	cargo clean

.PHONY: dist dist-test

# Release artifacts into dist/: static binaries for every architecture
# rustup has a musl std for (rust-lld, no cross gcc), a .deb each, the
# x86_64/aarch64 wheels, the crate, the images, SHA256SUMS; prints sizes.
dist: deps
	bash scripts/dist.sh

# Every architecture's unit and integration tests under qemu-user, then
# each artifact installed and run (tests/dist.rs), then a second build
# compared byte for byte (reproducible).
dist-test: dist
	bash scripts/dist-test.sh
	bash scripts/dist-repro.sh
