# Test targets beside `make test` (included by the top-level Makefile).

.PHONY: test-stress

# Each integration suite STRESS_ROUNDS times in a row (default 20) while a
# busy loop loads a second core, then runs and failures per test:
#   make test-stress STRESS_ROUNDS=50 STRESS_SUITES="routing core drain hardening"
# Extra nextest arguments (a filter): STRESS_ARGS='-E "test(/killpg/)"'.
STRESS_ROUNDS ?= 20
STRESS_SUITES ?= routing core drain
test-stress: static
	STRESS_ROUNDS=$(STRESS_ROUNDS) STRESS_SUITES="$(STRESS_SUITES)" bash scripts/test.sh stress $(STRESS_ARGS)
