#!/usr/bin/env bash
# Start-up memory faults under every init: the first mmap, brk or mprotect
# of the process fails (strace -e inject=SYSCALL:error=ENOMEM:when=1), the
# command is `true`. Prints a markdown table of each binary's exit code and
# its first line of stderr. It shows what RELIABILITY.md section 8 says of
# the cases before main: the C library's (and std's) start-up dies on them,
# in every init alike.
#
# usage: tests/faults/anchors.sh [DRAINIT_BIN]
set -u
drainit=${1:-target/static/drainit}
bins=("$drainit" /usr/bin/tini /usr/bin/tini-static /usr/bin/dumb-init /usr/bin/catatonit)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '| init | mmap #1 ENOMEM | brk #1 ENOMEM | mprotect #1 ENOMEM |\n|---|---|---|---|\n'
for bin in "${bins[@]}"; do
    if [ ! -x "$bin" ]; then
        echo "anchors.sh: $bin is missing (make deps, make static)" >&2
        exit 2
    fi
    row="| \`$(basename "$bin")\` |"
    for sc in mmap brk mprotect; do
        # Through dash, which (unlike bash) prints no "Segmentation fault"
        # notice; strace passes on the traced process's death.
        sh -c 'strace -o "$1" -e trace="$2" -e inject="$2":error=ENOMEM:when=1 "$3" -- true \
            >/dev/null 2>"$4"; echo $? >"$5"' sh "$tmp/trace" "$sc" "$bin" "$tmp/err" "$tmp/rc"
        rc=$(cat "$tmp/rc")
        if ! grep -q INJECTED "$tmp/trace"; then
            cell="exit $rc (no such call)"
        else
            lines=$(grep -v '^$' "$tmp/err" | grep -vE 'not running as PID 1|zombie reaping|To fix the problem|Segmentation fault|Aborted')
            first=$( (grep -iE 'failed|error|cannot' <<<"$lines" || true; head -1 <<<"$lines") |
                grep -v '^$' | head -1 | sed 's/^[^:]*error while loading shared libraries: //' |
                cut -c1-70 | tr '|' '/')
            case $rc in
                139) cell="exit 139 (SIGSEGV)" ;;
                134) cell="exit 134 (SIGABRT)" ;;
                *) cell="exit $rc" ;;
            esac
            [ -n "$first" ] && cell="$cell: $first"
        fi
        row="$row $cell |"
    done
    echo "$row"
done
