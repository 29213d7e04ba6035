#!/usr/bin/env bash
# Builds the freestanding core for every supported target and checks each
# library with check-freestanding.sh: nothing but memcpy/memset/memmove/memcmp
# (and what docs/EMBEDDING.md says a target adds).  Uses Debian's cross
# compilers (gcc-aarch64-linux-gnu, gcc-riscv64-linux-gnu) and clang's
# --target for i686, riscv32 and armv7; the warnings are the project's own,
# with -Werror.  On i686 it also links examples/embed with the library and
# runs it.
#
#   scripts/check-targets.sh [OUT_DIR] [TARGET...]    (default build-targets/, all)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-targets}
shift || true
warn="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
common="-std=c11 -O2 -ffreestanding -fno-stack-protector -fno-common -fno-pic -Iinclude"
aeabi='__aeabi_mem(cpy|move|set|clr)[48]?'
atomic8='__atomic_(load|store|exchange|compare_exchange|fetch_add|fetch_sub|fetch_and|fetch_or)(_8)?'

# name ; compiler and target flags ; extra allowed symbols
targets=(
  "x86_64;cc;"
  "aarch64;aarch64-linux-gnu-gcc -mno-outline-atomics;"
  "riscv64;riscv64-linux-gnu-gcc -march=rv64gc -mabi=lp64d -mcmodel=medany;"
  "i686;clang --target=i686-unknown-linux-gnu -march=i686;"
  "riscv32;clang --target=riscv32-unknown-elf -march=rv32imac -mabi=ilp32 -Wno-atomic-alignment;$atomic8"
  "armv7;clang --target=armv7a-none-eabi -mfloat-abi=soft;$aeabi"
)
want=("$@")
fails=0
for t in "${targets[@]}"; do
  IFS=';' read -r name cc allow <<<"$t"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $name "* ]]; then continue; fi
  dir=$out/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  ok=1
  for src in $(find src/core -name '*.c' | sort); do
    obj=$dir/$(echo "${src#src/core/}" | tr / _ | sed 's/\.c$/.o/')
    # shellcheck disable=SC2086
    if ! $cc $common $warn -c "$src" -o "$obj"; then
      echo "check-targets: $name: $src does not compile" >&2
      ok=0
    fi
  done
  if [ $ok -eq 1 ]; then
    rm -f "$dir/libnumem.a"
    llvm-ar rcs "$dir/libnumem.a" "$dir"/*.o &&
      NM=llvm-nm NUMEM_ALLOW_EXTRA="$allow" scripts/check-freestanding.sh "$dir/libnumem.a" ||
      ok=0
  fi
  # i686: link examples/embed against this library and run it (the x86-64
  # kernel runs 32-bit static binaries): the division helpers of
  # lib/arith.c at work, not only present.
  if [ $ok -eq 1 ] && [ "$name" = i686 ]; then
    # shellcheck disable=SC2086
    if $cc $common $warn -fno-builtin -c examples/embed/embed.c -o "$dir/embed.o" &&
       ld.lld -static -nostdlib -o "$dir/embed" "$dir/embed.o" "$dir/libnumem.a"; then
      "$dir/embed"
      rc=$?
      if [ $rc -eq 126 ]; then
        echo "check-targets: $name: this kernel runs no 32-bit binaries; examples/embed not run"
      elif [ $rc -ne 0 ]; then
        echo "check-targets: $name: examples/embed failed (exit $rc)" >&2
        ok=0
      fi
    else
      echo "check-targets: $name: examples/embed does not build" >&2
      ok=0
    fi
  fi
  if [ $ok -eq 1 ]; then echo "check-targets: $name: ok"
  else echo "check-targets: $name: FAILED" >&2; fails=$((fails + 1)); fi
done
[ $fails -eq 0 ]
