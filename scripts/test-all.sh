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
  cmake --build build-tsan -j"$jobs" --target test_stress test_slab >/dev/null &&
  (cd build-tsan && TSAN_OPTIONS=halt_on_error=1 NUMEM_STRESS_OPS=1000000 ./tests/test_stress &&
    TSAN_OPTIONS=halt_on_error=1 ./tests/test_slab)
result "tsan" $?
# Racing frees of one block need the free's compare-and-swap, which release
# builds leave to debug builds (heap.h): a TSan build with it forced on.
CC=clang cmake -S . -B build-tsan-cas -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNUMEM_SANITIZE=thread \
  -DNUMEM_BENCH=OFF -DCMAKE_C_FLAGS=-DNUMEM_FREE_CAS >/dev/null &&
  cmake --build build-tsan-cas -j"$jobs" --target test_stress >/dev/null &&
  (cd build-tsan-cas && TSAN_OPTIONS=halt_on_error=1 NUMEM_TEST_FILTER=test_racing_frees \
    ./tests/test_stress)
result "tsan (free CAS)" $?

stage "libFuzzer smoke runs, ${fuzz_seconds}s each (build-fuzz/)"
if CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DNUMEM_FUZZ=ON -DNUMEM_TESTS=OFF \
     -DNUMEM_BENCH=OFF -DNUMEM_SANITIZE=address,undefined >/dev/null &&
   cmake --build build-fuzz -j"$jobs" --target fuzz_acpi fuzz_numa_spec fuzz_heap fuzz_sim_inputs >/dev/null; then
  seeds=build-fuzz/seeds-acpi; rm -rf "$seeds"; mkdir -p "$seeds"
  i=0
  for f in ../shared/acpi-corpus/*/SRAT*.bin build/tests/asl/srat-*.aml; do
    i=$((i + 1)); { printf '\x00'; cat "$f"; } > "$seeds/srat-$i"
  done
  for f in ../shared/acpi-corpus/*/SLIT.bin build/tests/asl/slit-*.aml; do
    i=$((i + 1)); { printf '\x01'; cat "$f"; } > "$seeds/slit-$i"
  done
  for f in build/tests/asl/hmat-*.aml; do
    i=$((i + 1)); { printf '\x02'; cat "$f"; } > "$seeds/hmat-$i"
  done
  build-fuzz/fuzz/fuzz_acpi -max_total_time="$fuzz_seconds" -max_len=8192 -print_final_stats=1 \
    "$seeds" 2>&1 | tail -4
  result "fuzz_acpi" "${PIPESTATUS[0]}"
  nseeds=build-fuzz/seeds-numa; rm -rf "$nseeds"; mkdir -p "$nseeds"
  printf 'node,nodeid=0,cpus=0-3,mem=4G\nnode,nodeid=1,cpus=4-7,mem=4G\ndist,src=0,dst=1,val=21\n' > "$nseeds/a"
  printf 'node,cpus=0,cpus=5,mem=1G\nnode,nodeid=4,mem=512M\nnode,cpus=1-2\n' > "$nseeds/b"
  build-fuzz/fuzz/fuzz_numa_spec -max_total_time="$fuzz_seconds" -max_len=512 -print_final_stats=1 \
    "$nseeds" 2>&1 | tail -4
  result "fuzz_numa_spec" "${PIPESTATUS[0]}"
  hseeds=build-fuzz/seeds-heap; rm -rf "$hseeds"; mkdir -p "$hseeds"
  head -c 4096 /dev/urandom > "$hseeds/random"
  build-fuzz/fuzz/fuzz_heap -max_total_time="$fuzz_seconds" -max_len=2048 -print_final_stats=1 \
    "$hseeds" 2>&1 | tail -4
  result "fuzz_heap" "${PIPESTATUS[0]}"
  sseeds=build-fuzz/seeds-sim; rm -rf "$sseeds"; mkdir -p "$sseeds"
  { printf '\x00'; cat tests/scenarios/small.json; } > "$sseeds/json"
  { printf '\x01'; cat tests/scenarios/small.cfg; } > "$sseeds/cfg"
  build-fuzz/fuzz/fuzz_sim_inputs -max_total_time="$fuzz_seconds" -max_len=4096 \
    -print_final_stats=1 "$sseeds" 2>&1 | tail -4
  result "fuzz_sim_inputs" "${PIPESTATUS[0]}"
else
  result "fuzz build" 1
fi

stage "clang-format"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tools tests bench fuzz -name '*.[ch]')
clang-format --dry-run --Werror $files; result "clang-format" $?

echo
echo "numem test suite: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
