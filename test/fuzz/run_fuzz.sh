#!/usr/bin/env bash
# run_fuzz.sh BINDIR SECONDS TARGET...  - runs each libFuzzer target
# (BINDIR/fuzz_TARGET) for SECONDS from its seed corpus (test/fuzz/corpus/
# TARGET, read only) plus a working corpus kept in BINDIR/work/TARGET, and
# prints the executions per target. Exits non-zero when a target finds a
# crash, a sanitizer report, a timeout or an out-of-memory; the reproducer is
# left in BINDIR/artifacts/TARGET/ and the command to replay it is printed.
# Every reproducer becomes a regression test in test/Reliability.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
bindir="$1"; secs="$2"; shift 2
status=0
summary=()
for t in "$@"; do
  exe="$bindir/fuzz_$t"
  work="$bindir/work/$t"
  art="$bindir/artifacts/$t"
  mkdir -p "$work" "$art"
  extra=()
  [[ -f "$here/$t.dict" ]] && extra+=(-dict="$here/$t.dict")
  # Leak checking is on for every target (the elaborator frees each
  # compile's values, reference cycles included, see Heap in
  # compiler/Elaborate/Value.h); only the prebuilt libLLVM and ANTLR runtime
  # are suppressed.
  env=(LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}")
  log="$bindir/fuzz_$t.log"
  echo "== fuzz_$t for ${secs}s (log: $log)"
  # Per-input limits: 180 s and 4 GB. The interpreter's bound of 20 M
  # compile-time steps is a designed limit, not a hang, and reaching it takes
  # ~16 s in a release build and several times that under ASan (with ~1 GB).
  env "${env[@]}" "$exe" -max_total_time="$secs" -timeout=180 -rss_limit_mb=4096 \
         -print_final_stats=1 -artifact_prefix="$art/" "${extra[@]}" \
         "$work" "$here/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [[ $rc -ne 0 ]]; then
    status=1
    tail -n 60 "$log"
    echo "fuzz_$t: FAILED (exit $rc) after ${execs:-?} executions; reproducer(s):"
    ls -1 "$art"
    echo "replay: $exe $art/<file>"
    summary+=("fuzz_$t: FAILED after ${execs:-?} executions")
  else
    summary+=("fuzz_$t: ${execs:-?} executions, no crash ($(ls "$work" | wc -l) corpus files)")
  fi
done
printf '%s\n' "${summary[@]}"
exit $status
