#!/usr/bin/env bash
# make dist-test: every architecture tested, every artifact installed.
#
#  1. For each target with a rustup std: the unit tests and the
#     integration tests tests/core.rs and tests/drain.rs, built for that
#     target and run under qemu-user (CARGO_TARGET_<T>_RUNNER); the drainit
#     they spawn is the target's own, run through binfmt_misc. Tests that
#     user-mode emulation cannot carry are skipped by name, each with its
#     reason printed (the list is below and in the README). A line per
#     target goes to target/dist-test/summary.txt.
#  2. tests/dist.rs on the artifacts in dist/ (ignored by plain cargo test).
#
#   scripts/dist-test.sh [TARGET...]   default: every installed target
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/dist-env.sh
bash scripts/dist-test-setup.sh
out=target/dist-test
mkdir -p "$out"

# name|reason: tests that qemu-user cannot carry, each failing under
# qemu-aarch64 7.2 (Debian bookworm) and passing natively; see README.
EMULATION_GAPS=(
    "no_signal_is_lost_at_start_up_in_500_runs|SigBlk in /proc/PID/status is qemu's host signal mask, not the guest's, so drainit never looks ready"
    "group_and_session_of_self|/proc/self/stat is synthesised by qemu-user: pgrp and session read 0"
    "idle_drainit_never_wakes_up|qemu-user runs a thread of its own (RCU): /proc/PID/status says 2 threads, and it wakes"
    "orphan_storm_leaves_no_zombies|subreaper: prctl(PR_SET_CHILD_SUBREAPER) is EINVAL under qemu-user 7.2, drainit says so in one WARN line and orphans of a non-PID-1 drainit go to init"
    "a_child_ignoring_term_is_killed_after_the_grace|subreaper: prctl(PR_SET_CHILD_SUBREAPER) is EINVAL under qemu-user 7.2, drainit says so in one WARN line and orphans of a non-PID-1 drainit go to init"
    "tini_compat_process_group_from_flag_and_env|subreaper: prctl(PR_SET_CHILD_SUBREAPER) is EINVAL under qemu-user 7.2, drainit says so in one WARN line and orphans of a non-PID-1 drainit go to init"
    "errors_are_one_line_naming_the_input|stderr: the one WARN line about the subreaper comes before the line the test compares"
    "tini_compat_flags_env_and_exit_codes|stderr: the one WARN line about the subreaper comes before the line the test compares"
    "bad_input_stops_drainit_before_the_child_starts|stderr: the one WARN line about the subreaper comes before the line the test compares"
    "the_childs_output_is_untouched|stderr: the one WARN line about the subreaper comes before the line the test compares"
    "drainit_leaves_the_working_directory|stderr: the one WARN line about the subreaper comes before the line the test compares"
    "the_text_timeline_reads_as_the_readme_shows|stderr: the one WARN line about the subreaper is a line more than the timeline the test compares"
    "json_logs_and_the_log_filter|stderr: the one WARN line about the subreaper is a line more than the filtered log the test compares"
    "every_signal_reaches_the_child_in_cascade_mode|real-time signals: qemu-user keeps some host RT signals for itself, so a guest's signal 35 and up is not delivered"
    "every_signal_reaches_the_group_in_group_mode|real-time signals: qemu-user keeps some host RT signals for itself, so a guest's signal 35 and up is not delivered"
    "every_signal_reaches_only_the_child_in_single_child_mode|real-time signals: qemu-user keeps some host RT signals for itself, so a guest's signal 35 and up is not delivered"
    "rewrites_and_drops|real-time signals: qemu-user keeps some host RT signals for itself, so a guest's signal 35 and up is not delivered"
    "dumb_init_compat_flags_env_and_exit_codes|real-time signals: its barrier is signal 64, which qemu-user keeps for itself (as above)"
    "environment_variables_configure_and_flags_win|timing: the emulated start-up is slower than the test's bound"
    "a_second_drain_signal_or_sigint_cuts_the_delay_short|timing: the drain timeline is checked to +-50 ms, emulation is slower"
    "the_child_exiting_during_the_delay_ends_the_wait|timing: as above"
)

# name|reason: the same for the static glibc (gnu) targets only, whose
# failures under qemu-user the musl ones do not have.
GLIBC_EMULATION_GAPS=(
    "exit_status_table_as_pid1|posix_spawn: glibc clones its child with CLONE_VM|CLONE_VFORK, and the child writes an exec error into the parent's memory; qemu-user turns CLONE_VFORK into a plain fork, so the error (EACCES for a file that is not executable: 126) never comes back and the child's _exit(127) is the exit code"
)

if [ $# -gt 0 ]; then
    targets="$*"
else
    # The targets make dist builds: the installed musl ones, and the gnu
    # (static glibc) ones of architectures without a musl std here.
    installed=$(rustup target list --installed)
    targets=$(printf '%s\n' "$installed" | grep -- '-linux-musl' || true)
    for m in armv7-unknown-linux-musleabihf riscv64gc-unknown-linux-musl powerpc64le-unknown-linux-musl; do
        printf '%s\n' "$installed" | grep -qx "$m" && continue
        g=$(dist_gnu_fallback "$m")
        printf '%s\n' "$installed" | grep -qx "$g" && targets="$targets $g"
    done
    printf '%s\n' "$installed" | grep -qx s390x-unknown-linux-gnu && targets="$targets s390x-unknown-linux-gnu"
fi
: >"$out/summary.txt"
for t in $targets; do
    # musl: rustup's self-contained crt and libc; gnu: static glibc from
    # Debian's cross packages, as make dist links the release binary.
    if ! flags=$(dist_link_flags "$t"); then
        echo "dist-test: skipped $t: $flags" >&2
        echo "$t skipped: $flags" >>"$out/summary.txt"
        continue
    fi
    case "$t" in
    *-musl*) flags="-C link-self-contained=yes" ;;
    esac
    runner=$(dist_qemu "$t")
    var="CARGO_TARGET_$(echo "$t" | tr 'a-z-' 'A-Z_')_RUNNER"
    skips=()
    cases=${PROPTEST_CASES:-}
    if [ -n "$runner" ]; then
        export "$var=$runner"
        # The property tests check the state machine, which is the same
        # code on every architecture and runs its full count natively in
        # make test; under emulation a sample of 32 each is enough.
        cases=${PROPTEST_CASES:-32}
        gaps=("${EMULATION_GAPS[@]}")
        case "$t" in *-gnu*) gaps+=("${GLIBC_EMULATION_GAPS[@]}") ;; esac
        for gap in "${gaps[@]}"; do
            skips+=(--skip "${gap%%|*}")
            echo "dist-test: $t: SKIPPED ${gap%%|*}: ${gap#*|}" >&2
        done
    fi
    log="$out/$t.log"
    echo "dist-test: $t: unit tests, tests/core.rs, tests/drain.rs${runner:+ under $runner}" >&2
    set +e
    # Without the commit: the tests do not need it, and a new commit would
    # rebuild each target's test binaries.
    env -u DRAINIT_GIT_COMMIT ${cases:+PROPTEST_CASES=$cases} RUSTFLAGS="-C linker=rust-lld $flags" CARGO_TARGET_DIR="$out" \
        cargo test --locked -p drainit --target "$t" --lib --test core --test drain -- \
        --test-threads="${TEST_THREADS:-2}" "${skips[@]}" >"$log" 2>&1
    rc=$?
    # Into a file, not a pipe: under emulation an orphan a test leaves
    # behind (no subreaper) would hold a pipe open for ever.
    grep -E '^test result|FAILED|panicked' "$log"
    set -e
    passed=$(grep -o '[0-9]* passed' "$log" | awk '{s+=$1} END {print s+0}')
    failed=$(grep -o '[0-9]* failed' "$log" | awk '{s+=$1} END {print s+0}')
    echo "$t ${runner:-native} passed=$passed failed=$failed skipped=$((${#skips[@]} / 2))" >>"$out/summary.txt"
    [ "$rc" = 0 ] || { echo "dist-test: $t failed (log: $log)" >&2; exit 1; }
done
cat "$out/summary.txt"
if [ "${DIST_TEST_ARTIFACTS:-1}" = 1 ]; then
    # Debug build in the target directory cargo package verified the crate
    # in (scripts/dist-crate.sh): one host build for both.
    CARGO_TARGET_DIR=target/dist-host cargo test --locked -p drainit --test dist -- --ignored --test-threads=1
fi
