#!/usr/bin/env bash
# The whole test suite, as CI runs it (./run test).  Each stage prints a
# header; the last line is the plain "N passed, N failed" summary.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${NUMEM_FUZZ_SECONDS:-30}
passed=0 failed=0
stage() { echo; echo "=== $1 ==="; }
result() { # name rc
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "--- $1: ok"
  else failed=$((failed + 1)); echo "--- $1: FAILED (exit $2)"; fi
}

stage "unit, corpus, ASL, round-trip and CLI tests (build/)"
(cd build && ctest --output-on-failure -j"$jobs"); result "ctest" $?

stage "freestanding core: no external symbols but mem*, small stack frames"
cmake --build build --target check-freestanding; result "freestanding" $?
scripts/check-stack.sh build 2048; result "stack" $?

stage "the core for x86-64, aarch64, riscv64, i686, riscv32, armv7: -Werror, symbols (build-targets/)"
scripts/check-targets.sh build-targets; result "targets" $?

stage "ASan + UBSan build and tests (build-asan/)"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNUMEM_SANITIZE=address,undefined \
  -DNUMEM_BENCH=OFF >/dev/null &&
  cmake --build build-asan -j"$jobs" >/dev/null &&
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure -j"$jobs")
result "asan+ubsan" $?

stage "TSan: the concurrent tests (build-tsan/)"
CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNUMEM_SANITIZE=thread \
  -DNUMEM_BENCH=OFF >/dev/null &&
  cmake --build build-tsan -j"$jobs" --target test_stress test_slab test_domain test_relayout \
    test_relayout_subscribers test_tmem test_pcp_thp >/dev/null &&
  (cd build-tsan && TSAN_OPTIONS=halt_on_error=1 NUMEM_STRESS_OPS=1000000 ./tests/test_stress &&
    TSAN_OPTIONS=halt_on_error=1 ./tests/test_slab &&
    TSAN_OPTIONS=halt_on_error=1 ./tests/test_domain &&
    TSAN_OPTIONS=halt_on_error=1 ./tests/test_relayout &&
    TSAN_OPTIONS=halt_on_error=1 ./tests/test_relayout_subscribers &&
    TSAN_OPTIONS=halt_on_error=1 ./tests/test_pcp_thp &&
    TSAN_OPTIONS=halt_on_error=1 NUMEM_TMEM_OPS=100000 ./tests/test_tmem)
result "tsan" $?
# Racing frees of one block need the free's compare-and-swap, which release
# builds leave to debug builds (heap.h): a TSan build with it forced on
# (test_racing_frees: the heap; test_racing_kfrees: the slab).
CC=clang cmake -S . -B build-tsan-cas -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNUMEM_SANITIZE=thread \
  -DNUMEM_BENCH=OFF -DCMAKE_C_FLAGS=-DNUMEM_FREE_CAS >/dev/null &&
  cmake --build build-tsan-cas -j"$jobs" --target test_stress >/dev/null &&
  (cd build-tsan-cas && TSAN_OPTIONS=halt_on_error=1 NUMEM_TEST_FILTER="test_racing_*" \
    ./tests/test_stress)
result "tsan (free CAS)" $?

stage "libFuzzer smoke runs, ${fuzz_seconds}s each (build-fuzz/)"
# Seeds live in fuzz/corpus/<target>/ and are copied to a scratch corpus (the
# fuzzer writes new inputs into its first directory); the ASL tables are
# compiled at build time and added as a second seed directory.  Each run
# prints libFuzzer's final "cov:" (coverage points) and "ft:" (features);
# fuzz_acpi must reach a coverage floor, which fails if the library loses
# its coverage instrumentation (-fsanitize=fuzzer-no-link).
fuzz_acpi_floor=${NUMEM_FUZZ_ACPI_FLOOR:-300}
fuzz_run() { # target max_len dict-or-"" [extra seed dirs...]
  local name=$1 maxlen=$2 dict=$3; shift 3
  local work=build-fuzz/corpus-$name log=build-fuzz/$name.log
  rm -rf "$work"; mkdir -p "$work"; cp fuzz/corpus/"$name"/* "$work"/
  build-fuzz/fuzz/"$name" -max_total_time="$fuzz_seconds" -max_len="$maxlen" ${dict:+-dict="$dict"} \
    -print_final_stats=1 "$work" "$@" >"$log" 2>&1
  local rc=$? done_line
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  if [ "$rc" -ne 0 ] || [ -z "$done_line" ]; then
    tail -40 "$log"; [ "$rc" -ne 0 ] || rc=1
  else
    echo "$name: ${done_line#*DONE }"
    fuzz_cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  fi
  return "$rc"
}
if CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DNUMEM_FUZZ=ON -DNUMEM_TESTS=OFF \
     -DNUMEM_BENCH=OFF -DNUMEM_SANITIZE=address,undefined >/dev/null &&
   cmake --build build-fuzz -j"$jobs" --target fuzz_acpi fuzz_numa_spec fuzz_heap fuzz_sim_inputs \
     fuzz_relayout fuzz_tmem >/dev/null; then
  asl=build-fuzz/seeds-asl; rm -rf "$asl"; mkdir -p "$asl"
  for f in build/tests/asl/srat-*.aml; do [ -f "$f" ] && { printf '\x00'; cat "$f"; } >"$asl/$(basename "$f")"; done
  for f in build/tests/asl/slit-*.aml; do [ -f "$f" ] && { printf '\x01'; cat "$f"; } >"$asl/$(basename "$f")"; done
  for f in build/tests/asl/hmat-*.aml; do [ -f "$f" ] && { printf '\x02'; cat "$f"; } >"$asl/$(basename "$f")"; done
  for f in build/tests/asl/madt-*.aml; do [ -f "$f" ] && { printf '\x11'; cat "$f"; } >"$asl/$(basename "$f")"; done
  for f in build/tests/asl/pptt-*.aml; do [ -f "$f" ] && { printf '\x21'; cat "$f"; } >"$asl/$(basename "$f")"; done
  fuzz_cov=0
  fuzz_run fuzz_acpi 8192 fuzz/acpi.dict "$asl"; rc=$?
  if [ "$rc" -eq 0 ] && [ "${fuzz_cov:-0}" -lt "$fuzz_acpi_floor" ]; then
    echo "fuzz_acpi: coverage $fuzz_cov is below the floor $fuzz_acpi_floor (is the library instrumented?)"
    rc=1
  fi
  result "fuzz_acpi" "$rc"
  fuzz_run fuzz_numa_spec 512 fuzz/numa_spec.dict; result "fuzz_numa_spec" $?
  fuzz_run fuzz_heap 2048 ""; result "fuzz_heap" $?
  fuzz_run fuzz_sim_inputs 4096 fuzz/sim.dict; result "fuzz_sim_inputs" $?
  # 20 s at most (each input boots a machine and commits layouts).
  fuzz_seconds=$(( fuzz_seconds < 20 ? fuzz_seconds : 20 )) fuzz_run fuzz_relayout 1024 ""
  result "fuzz_relayout" $?
  # tmem's op entry point: 20 s at most (the CI's 15-minute budget)
  fuzz_seconds=$((fuzz_seconds < 20 ? fuzz_seconds : 20)) fuzz_run fuzz_tmem 4096 ""
  result "fuzz_tmem" $?
else
  result "fuzz build" 1
fi

stage "clang-format"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tools tests bench fuzz -name '*.[ch]')
clang-format --dry-run --Werror $files; result "clang-format" $?

echo
echo "numem test suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
