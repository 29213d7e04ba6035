#!/usr/bin/env bash
# Fails if the core library references any external symbol other than
# memcpy, memset, memmove and memcmp (the freestanding contract).
set -euo pipefail
lib=${1:?usage: check-freestanding.sh libnumem.a}
bad=$(nm -u "$lib" | awk '{print $2}' | sort -u | grep -Ev '^(memcpy|memset|memmove|memcmp)$' || true)
# Symbols the core defines itself are not external.
defined=$(nm --defined-only "$lib" | awk 'NF==3 {print $3}' | sort -u)
external=$(comm -23 <(printf '%s\n' $bad | sort -u) <(printf '%s\n' $defined) | sed '/^$/d')
if [ -n "$external" ]; then
  echo "check-freestanding: $lib references symbols outside memcpy/memset/memmove/memcmp:" >&2
  printf '  %s\n' $external >&2
  exit 1
fi
echo "check-freestanding: $lib: external references: $(comm -23 <(nm -u "$lib" | awk '{print $2}' | sort -u) <(printf '%s\n' $defined) | tr '\n' ' ')"
