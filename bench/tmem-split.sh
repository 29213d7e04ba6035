#!/usr/bin/env bash
# Where tmem's put+get time goes (docs/PERFORMANCE.md, "Where the put+get
# time goes"): builds bench/tmem_split.c against four variants of the
# library made from `git archive HEAD` in a scratch directory, and runs its
# experiments.  Variants:
#   as-is          the library
#   nocopy         its two raw 4 KiB copies (store put, raw get) cut to 64
#                  bytes: the overhead alone
#   nolock         tm_lock / tm_unlock a compiler barrier (one CPU only!)
#   nocopy-nolock  both
# The builds run under nice; the timing runs do not (keep the machine
# otherwise quiet, and say its load: uptime is printed).
#
# Usage: bench/tmem-split.sh [SCRATCH_DIR]   (default: a mktemp dir, removed)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if [ $# -gt 0 ]; then
  out=$1
  mkdir -p "$out"
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
patch_nocopy() {
  local f=$1/src/core/tmem
  sed -i 's/tm_copy_page(t, tm_virt(t, pfn), data);/memcpy(tm_virt(t, pfn), data, 64);/' "$f/store.c"
  sed -i 's/tm_copy_page(t, dst, tm_virt(t, w.loc));/memcpy(dst, tm_virt(t, w.loc), 64);/' "$f/op.c"
  grep -q 'data, 64);' "$f/store.c" && grep -q 'w.loc), 64);' "$f/op.c" ||
    { echo "tmem-split.sh: the nocopy patch no longer applies" >&2; exit 1; }
}
patch_nolock() {
  local h=$1/src/core/tmem/tmem_internal.h
  sed -i 's/numem__lock(&t->lock);/(void)t; __asm__ volatile("" ::: "memory");/;
          s/numem__unlock(&t->lock);/(void)t; __asm__ volatile("" ::: "memory");/' "$h"
  ! grep -q 'numem__\(un\)\?lock(&t->lock)' "$h" ||
    { echo "tmem-split.sh: the nolock patch no longer applies" >&2; exit 1; }
}
for v in as-is nocopy nolock nocopy-nolock; do
  d=$out/$v
  rm -rf "$d" && mkdir -p "$d"
  git archive HEAD | tar -x -C "$d"
  case $v in
    nocopy) patch_nocopy "$d" ;;
    nolock) patch_nolock "$d" ;;
    nocopy-nolock) patch_nocopy "$d"; patch_nolock "$d" ;;
  esac
  nice -n 19 cmake -S "$d" -B "$d/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNUMEM_TESTS=OFF \
    -DNUMEM_BENCH=OFF >/dev/null
  nice -n 19 cmake --build "$d/build" -j2 --target numem_host >/dev/null
  nice -n 19 gcc -std=gnu11 -O2 -g -D_GNU_SOURCE -DPEEK -I "$d/include" -I "$root/bench" \
    -I "$d/src/core/tmem" "$root/bench/tmem_split.c" "$d/build/libnumem_host.a" \
    "$d/build/libnumem.a" $(pkg-config --libs jansson liblz4 libzstd) -lpthread \
    -o "$out/split-$v"
done
date -u +%H:%M
uptime
for v in as-is nocopy nolock nocopy-nolock; do
  echo "== $v: base"
  "$out/split-$v" base
done
echo "== as-is, the host's page copy: base"
HOSTCOPY=1 "$out/split-as-is" base
for e in pfns rotate offset ops 2t; do
  echo "== as-is: $e"
  "$out/split-as-is" "$e"
done
uptime
