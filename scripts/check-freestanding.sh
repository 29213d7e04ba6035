#!/usr/bin/env bash
# Fails if the core library references any external symbol other than
# memcpy, memset, memmove and memcmp (the freestanding contract).
#
# Environment (set by scripts/check-targets.sh for cross builds):
#   NM                  the nm to use (default nm; llvm-nm reads every target)
#   NUMEM_ALLOW_EXTRA   an extended regex of further allowed names, for what
#                       a target spells differently or the embedder must
#                       provide there: ARM's EABI names of the four
#                       (__aeabi_memcpy4, __aeabi_memclr8, ...), riscv32's
#                       8-byte atomics (docs/EMBEDDING.md)
set -euo pipefail
lib=${1:?usage: check-freestanding.sh libnumem.a}
nm=${NM:-nm}
allow='memcpy|memset|memmove|memcmp'
[ -z "${NUMEM_ALLOW_EXTRA:-}" ] || allow="$allow|$NUMEM_ALLOW_EXTRA"
undef=$($nm -u "$lib" | awk '{print $NF}' | grep -v ':$' | sort -u || true)
rc=0
bad=$(printf '%s\n' $undef | grep -Ev "^($allow)\$") || rc=$?
[ $rc -le 1 ] || { echo "check-freestanding: bad pattern: $allow" >&2; exit 2; }
# Symbols the core defines itself are not external.
defined=$($nm --defined-only "$lib" | awk 'NF==3 {print $3}' | sort -u)
external=$(comm -23 <(printf '%s\n' $bad | sort -u) <(printf '%s\n' $defined) | sed '/^$/d')
if [ -n "$external" ]; then
  echo "check-freestanding: $lib references symbols outside memcpy/memset/memmove/memcmp:" >&2
  printf '  %s\n' $external >&2
  exit 1
fi
echo "check-freestanding: $lib: external references: $(comm -23 <($nm -u "$lib" | awk '{print $NF}' | grep -v ':$' | sort -u) <(printf '%s\n' $defined) | tr '\n' ' ')"
