#!/usr/bin/env bash
# Instructions per pfn -> page lookup for both frame-table layouts, counted
# by callgrind (repeatable whatever the machine is doing).  Each layout runs
# alone; the --small run does 1M sequential and 1M random lookups.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for layout in 0 1; do
  name=$([ $layout = 0 ] && echo sections || echo vmemmap)
  NUMEM_BENCH_LAYOUT=$layout valgrind --tool=callgrind --callgrind-out-file="$out/cg$layout" \
    --toggle-collect='ftbench_*' build/bench/frametable --case lookup --small --reps 1 \
    >/dev/null 2>"$out/log$layout"
  for fn in seq rand read; do
    ir=$(callgrind_annotate --inclusive=yes "$out/cg$layout" 2>/dev/null |
      grep -E "frametable.c:ftbench_${fn}_" | head -1 | awk '{gsub(",","",$1); print $1}')
    printf "%-10s %-5s %6.2f instructions per lookup\n" "$name" "$fn" "$(echo "${ir:-0} / 1048576" | bc -l)"
  done
done
