# drainit — make targets. Every target but `test` installs what it needs
# (on a fresh machine: `make deps test`).
SHELL := /bin/bash
MUSL := x86_64-unknown-linux-musl
STATIC_DIR := target/static

.PHONY: all build static deps test lint demo bench e2e image soak fuzz faults compat engines clean

all: build

build:
	cargo build --release --workspace

# Debian packages the tests and benchmarks compare against or run. `make
# test` does not install them (no apt-get in the test loop): run `make deps
# test` on a fresh machine; .ci/run runs scripts/deps.sh first.
deps:
	bash scripts/deps.sh

# Static binaries for containers: musl when the target is installed, else
# the gnu target with +crt-static. Copied to target/static/. One cargo
# build each (scripts/link.sh).
static:
	bash scripts/static.sh

test: static
	bash scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

demo: deps static
	bash scripts/demo.sh

bench: deps static
	DRAINIT_BIN=$(STATIC_DIR)/drainit bash bench/run.sh

image: static
	bash scripts/static.sh drill
	bash docker/build.sh release

# The rolling-restart matrix of the demo app, then the recipes matrix.
e2e: deps static
	bash docker/e2e/run.sh full
	bash docker/e2e/run.sh recipes $(RECIPES)

soak: deps static
	bash scripts/soak.sh

fuzz:
	bash scripts/fuzz.sh

clean:
	cargo clean

# drainit as the --init of a second dockerd and of Podman, each in state of
# its own (tests/engines.rs, scripts/engines/); also part of `make test`.
.PHONY: engines
engines: deps static
	DRAINIT_STATIC_DIR=$(CURDIR)/$(STATIC_DIR) cargo test --release --test engines -- --nocapture

# The whole syscall fault-injection matrix (strace); `make test` runs a sample.
faults: deps static
	bash scripts/faults.sh

# The differential harness alone: every scenario under tini, tini-static and
# dumb-init and under drainit by the same name (glibc and musl builds); prints
# the scenario count, the improvements and the pending differences.
compat: deps static
	DRAINIT_STATIC_DIR=$(CURDIR)/$(STATIC_DIR) cargo test --release --test compat -- --nocapture

# The recipes matrix: nginx, httpd, php-fpm, gunicorn, uvicorn, Node, Java,
# HAProxy from Debian's packages, each behind an entrypoint script without
# exec, under tini, dumb-init and drainit; rows merged into
# docker/e2e/RESULTS.md. DRAINIT_BIN=PATH tests another binary;
# RECIPES="--only nginx --inits drainit" re-runs one row.
.PHONY: e2e-recipes
e2e-recipes: deps static
	bash docker/e2e/run.sh recipes $(RECIPES)

# The CI-sized recipes check alone (nginx and gunicorn, tini and drainit):
# its first run builds the Debian base image (~10 min), so it is not part
# of `make test`.
.PHONY: e2e-recipes-short
e2e-recipes-short: deps static
	DRAINIT_STATIC_DIR=$(CURDIR)/$(STATIC_DIR) cargo test --release --test recipes -- --ignored --nocapture

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

include mk/tests.mk
include mk/drill.mk
