# Test targets beside `make test` (included by the top-level Makefile).

.PHONY: test-stress

# Each integration suite STRESS_ROUNDS times in a row (default 20) while a
# busy loop loads a second core, then runs and failures per test:
#   make test-stress STRESS_ROUNDS=50 STRESS_SUITES="routing core drain hardening"
# Some tests only: STRESS_FILTER='test(/killpg/)' (a nextest filterset).
STRESS_ROUNDS ?= 20
STRESS_SUITES ?= routing core drain
STRESS_FILTER ?= all()
test-stress: static
	STRESS_ROUNDS=$(STRESS_ROUNDS) STRESS_SUITES="$(STRESS_SUITES)" STRESS_FILTER='$(STRESS_FILTER)' bash scripts/test.sh stress
