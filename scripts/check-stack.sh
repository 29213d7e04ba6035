#!/usr/bin/env bash
# Fails if any function of the core uses more stack than LIMIT bytes (GCC's
# -fstack-usage files in the build tree): the core must fit the small stacks
# of hypervisors and kernels (Xen's are 8 KiB per CPU).
set -euo pipefail
build=${1:?usage: check-stack.sh BUILD_DIR [LIMIT]}
limit=${2:-2048}
files=$(find "$build/CMakeFiles/numem_core.dir" -name '*.su' 2>/dev/null)
if [ -z "$files" ]; then
  echo "check-stack: no .su files under $build (not a GCC build?)" >&2
  exit 1
fi
over=$(cat $files | awk -F'\t' -v lim="$limit" '$2 > lim')
if [ -n "$over" ]; then
  echo "check-stack: core functions over $limit bytes of stack:" >&2
  echo "$over" >&2
  exit 1
fi
top=$(cat $files | sort -t$'\t' -k2 -n -r | awk 'NR == 1') # awk reads all: no SIGPIPE under pipefail
echo "check-stack: every core function within $limit bytes (largest: $(echo "$top" | awk -F'\t' '{print $2" bytes, "$1}'))"
