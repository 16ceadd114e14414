# drainit drill: drill/ (the drainit-drill binary), docs/drill.md.
.PHONY: drill drill-test drill-demo drill-bench

drill:
	cargo build --release -p drainit-drill

# The CI sample runs within `make test` (cargo test --workspace: the short
# drill/tests/drill.rs tests); this adds the longer matrix (the graceful
# demo, the article's preStop replay, the recipes' nginx and gunicorn
# images, whose Debian base takes ~10 min to build on first use).
drill-test: deps static
	DRAINIT_STATIC_DIR=$(CURDIR)/$(STATIC_DIR) cargo test --release -p drainit-drill -- --include-ignored --nocapture --test-threads=1

# The demo image as built and with drainit: the table, and the SVG and
# HTML report in target/drill-demo/.
drill-demo: deps static drill
	bash drill/scripts/demo.sh

# The load generator's highest sustained rate and the balancer's added
# latency, beside hey on the same local server (bench/, not a test).
drill-bench: deps static drill
	bash drill/bench/drill.sh
