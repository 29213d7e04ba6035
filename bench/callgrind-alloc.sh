#!/usr/bin/env bash
# Instructions per operation of every allocator, each in its own worker
# process (build/bench/alloc-<impl>), counted by callgrind: repeatable
# whatever the machine is doing.  Collection is toggled on the timed loop
# only (the functions timed_* of bench/alloc_worker.c): the warm-up
# (warm_*) and the setup are not counted.  numem's figure includes what a
# user pays: numem_heap_cpu, the phys_to_virt call on allocation, the
# address-to-pfn subtraction on free.
#
# Usage: bench/callgrind-alloc.sh [CASE...]   (default: order0-pair
# order9-pair obj64-pair batch64k-random mixed-orders interleave-order0)
# Prints instructions per pair (per page for batch64k-random, per
# operation for mixed-orders), loop overhead included.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(order0-pair order9-pair obj64-pair batch64k-random mixed-orders interleave-order0)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf "%-18s %-9s %12s\n" case impl "instr/op"
for c in "${cases[@]}"; do
  case $c in
    order9-pair) n=2000 ;;
    batch64k-random) n=0 ;;   # always 65536 pages
    mixed-orders) n=20000 ;;
    *) n=20000 ;;
  esac
  for impl in numem jemalloc mimalloc glibc libnuma; do
    args=(--case "$c")
    [ "$n" = 0 ] || args+=(--n "$n")
    set +e
    line=$(valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
      --toggle-collect='timed_*' "build/bench/alloc-$impl" "${args[@]}" 2>"$out/log")
    rc=$?
    set -e
    [ $rc = 2 ] && continue  # no equivalent
    if [ $rc != 0 ]; then
      printf "%-18s %-9s %12s\n" "$c" "$impl" "failed"; continue
    fi
    ops=$(echo "$line" | awk '{for (i = 1; i < NF; i++) if ($i == "ops") print $(i + 1)}')
    ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out/cg")
    awk -v c="$c" -v i="$impl" -v ir="${ir:-0}" -v ops="$ops" \
      'BEGIN {printf "%-18s %-9s %12.1f\n", c, i, ir / ops}'
  done
done
