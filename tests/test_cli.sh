#!/usr/bin/env bash
# test_cli.sh NUMEM ASL_DIR CORPUS_DIR - the numem command as a user meets it:
# help on every subcommand, exit codes, error messages naming table and
# offset, the JSON error form, and `numem tables` disassembled by iasl.
set -u
numem=$1 asl=$2 corpus=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() { # want cmd...
  local want=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  [ "$rc" -eq "$want" ] && ok || bad "exit $rc, want $want: $* ($(head -c 300 "$tmp/err"))"
}
expect_grep() { # file pattern
  grep -q -- "$2" "$1" && ok || bad "'$2' not in $1: $(head -c 300 "$1")"
}

expect_rc 0 "$numem" --help
expect_grep "$tmp/out" "exit status"
for c in topo info tables stress dump sim relayout tmem trace; do
  expect_rc 0 "$numem" $c --help
  expect_grep "$tmp/out" "usage: numem $c"
  grep -q "^  $c " <("$numem" --help) && ok || bad "numem --help does not list $c"
done
expect_grep "$tmp/out" "usage: numem trace"
"$numem" --help | grep -q "4 a verification failed" && ok || bad "numem --help lacks exit status 4"
expect_rc 2 "$numem"
expect_rc 2 "$numem" frobnicate
expect_rc 2 "$numem" topo --bogus
expect_rc 2 "$numem" topo no-such-machine
expect_rc 2 "$numem" tables x445
expect_rc 2 "$numem" topo x445 --preset p4
expect_rc 3 "$numem" topo --srat /nonexistent/SRAT
expect_grep "$tmp/err" "No such file"
expect_rc 0 "$numem" topo --list-presets
expect_grep "$tmp/out" "x445"

# The default machine is the 4-node x445.
expect_rc 0 "$numem" topo
expect_grep "$tmp/out" "^available: 4 nodes (0-3)$"
expect_grep "$tmp/out" "^node 3 cpus: 24 25 26 27 28 29 30 31$"
expect_grep "$tmp/out" "^  0:  10  20  20  20 $"
expect_rc 0 "$numem" info
expect_grep "$tmp/out" "^nr_nodes               : 4$"
expect_grep "$tmp/out" "^node:    memsize    memfree    distances$"
expect_grep "$tmp/out" "^   3:      8192 "

# Every preset loads; the no-SRAT ones say why they are one node.
for p in $("$numem" topo --list-presets | awk '{print $1}'); do
  expect_rc 0 "$numem" topo "$p"
done
expect_rc 0 "$numem" topo p4
expect_grep "$tmp/out" "no SRAT, one node"
expect_rc 0 "$numem" topo cxl
expect_grep "$tmp/out" "nearest node with memory: 1"
expect_rc 0 "$numem" topo cxl --hide-memoryless
expect_grep "$tmp/out" "^available: 3 nodes"
expect_rc 0 "$numem" topo x445 --numa-emulate 8
expect_grep "$tmp/out" "^available: 8 nodes (0-7)$"
expect_rc 2 "$numem" topo --numa-emulate 0
expect_grep "$tmp/err" "numa-emulate: 0 is out of range (want 1..64)"
# numbers are read strictly: "-1" no longer wraps to 2^64 - 1 operations
expect_rc 2 "$numem" stress x445 --ops -1
expect_grep "$tmp/err" "ops"
expect_rc 2 "$numem" sim --ops -1

# --numa descriptions, and their errors.
expect_rc 0 "$numem" topo --numa node,nodeid=0,cpus=0-1,mem=1G --numa node,nodeid=1,cpus=2-3,mem=1G --numa dist,src=0,dst=1,val=25
expect_grep "$tmp/out" "^  1:  25  10 $"
# A rejected description is invalid input (exit 1, docs/FORMATS.md).
expect_rc 1 "$numem" topo --numa node,mem=banana
expect_grep "$tmp/err" 'mem: "banana" is not an unsigned number'
expect_rc 1 "$numem" topo --numa dist,src=0,dst=1,val=5
# A CPU id at the limit (only the count of ids used to be capped): every
# command taking --numa rejects it before it indexes a cpumask.
for c in topo info tables dump stress; do
  expect_rc 1 "$numem" $c --numa node,nodeid=0,cpus=4096,mem=1G
  expect_grep "$tmp/err" "cpu id 4096 is at or above the limit 4096"
done
expect_rc 1 "$numem" topo --numa node,nodeid=0,cpus=0-3,cpus=4095-4096,mem=1G
expect_grep "$tmp/err" "cpu id 4096"
expect_rc 0 "$numem" topo --numa node,nodeid=0,cpus=4095,mem=1G
expect_rc 1 "$numem" topo --numa node,nodeid=-1,mem=1G
expect_grep "$tmp/err" "nodeid"
expect_rc 1 "$numem" topo --numa node,nodeid=0,mem=1G --numa dist,src=0,dst=1x,val=20
expect_grep "$tmp/err" "dst"
# mem= sizes are summed before the layout (this used to run out of memory)
expect_rc 1 timeout 60 "$numem" topo --numa node,mem=16383P --numa node,mem=16383P
expect_grep "$tmp/err" "add up to more than"
expect_rc 1 "$numem" topo --numa node,nodeid=0,cpus=0 --numa node,nodeid=1,mem=1G --numa dist,src=0,dst=4,val=30
expect_grep "$tmp/err" "no -numa node defines"

# Invalid tables: exit 1, stderr names table and offset, --json error form.
cp "$asl/srat-memoryless.aml" "$tmp/bad.aml"
printf '\x00' | dd of="$tmp/bad.aml" bs=1 seek=65 conv=notrunc 2>/dev/null
expect_rc 1 "$numem" topo --srat "$tmp/bad.aml" --json
expect_grep "$tmp/err" "SRAT table, offset 64"
expect_grep "$tmp/out" '"error": "zero-length-entry"'
expect_grep "$tmp/out" '"error_offset": 64'
expect_grep "$tmp/out" '"error_table": "SRAT"'
head -c 50 "$asl/srat-memoryless.aml" > "$tmp/short.aml"
expect_rc 1 "$numem" topo --srat "$tmp/short.aml"
expect_grep "$tmp/err" "truncate"
# A bad checksum: a warning by default, an error with --strict.
cp "$asl/srat-memoryless.aml" "$tmp/cks.aml"
printf '\x77' | dd of="$tmp/cks.aml" bs=1 seek=9 conv=notrunc 2>/dev/null
expect_rc 0 "$numem" topo --srat "$tmp/cks.aml" --json
expect_grep "$tmp/out" '"SRAT": false'
# Issue 9 item 2: the warning reaches stderr in every mode, as Linux warns.
expect_grep "$tmp/err" "SRAT table, offset 9: invalid checksum 0x77"
expect_rc 0 "$numem" topo --srat "$tmp/cks.aml"
expect_grep "$tmp/err" "warning: .*SRAT table, offset 9: invalid checksum 0x77, should be 0x"
expect_rc 0 "$numem" info --srat "$tmp/cks.aml"
expect_grep "$tmp/err" "invalid checksum"
expect_rc 0 "$numem" topo --srat "$asl/srat-memoryless.aml"
[ ! -s "$tmp/err" ] && ok || bad "a good checksum warned: $(head -c 300 "$tmp/err")"
cp "$asl/madt-2s-ht.aml" "$tmp/cks-madt.aml"
printf '\x77' | dd of="$tmp/cks-madt.aml" bs=1 seek=9 conv=notrunc 2>/dev/null
expect_rc 0 "$numem" info --srat "$asl/srat-2s-ht.aml" --madt "$tmp/cks-madt.aml"
expect_grep "$tmp/err" "APIC table, offset 9: invalid checksum 0x77"
expect_rc 1 "$numem" info --srat "$asl/srat-2s-ht.aml" --madt "$tmp/cks-madt.aml" --strict
expect_grep "$tmp/err" "APIC table, offset 9"
expect_rc 1 "$numem" topo --srat "$tmp/cks.aml" --strict --json
expect_grep "$tmp/out" '"error": "checksum"'
expect_grep "$tmp/out" '"error_offset": 9'
# Issue 9 item 3: each single-node reason has its own name.
expect_rc 0 "$numem" topo p4 --json
expect_grep "$tmp/out" '"single_node_reason": "no-srat"'
expect_rc 0 "$numem" topo x445 --numa-off --json
expect_grep "$tmp/out" '"single_node_reason": "numa-off"'
expect_rc 0 "$numem" topo --srat "$asl/srat-overlap.aml" --json
expect_grep "$tmp/out" '"single_node_reason": "overlap"'
# An invalid SRAT: one node by default, an error with --strict.
expect_rc 0 "$numem" topo --srat "$asl/srat-overlap.aml"
expect_grep "$tmp/out" "NUMA turned off, one node"
expect_rc 1 "$numem" topo --srat "$asl/srat-overlap.aml" --strict

# Issue 9 item 1: QEMU's SRAT with an NVDIMM inside the hot-plug window
# keeps both nodes (Linux's rule), and says which ranges overlap.
expect_rc 0 "$numem" topo --srat "$asl/srat-qemu-nvdimm.aml" --strict
expect_grep "$tmp/out" "^available: 2 nodes (0-1)$"
expect_grep "$tmp/out" "non-volatile overlaps another node's range"
expect_grep "$tmp/out" "hotpluggable overlaps another node's range"
expect_grep "$tmp/out" "^note: 2 non-RAM range(s) overlap ranges of other nodes"
expect_rc 0 "$numem" topo --srat "$asl/srat-qemu-nvdimm.aml" --json
expect_grep "$tmp/out" '"overlapping_ranges": 2'
expect_grep "$tmp/out" '"overlap": true'
grep -q single_node_reason "$tmp/out" && bad "QEMU nvdimm SRAT fell back to one node" || ok

# Issue 9 item 6: CPU topology from the MADT and the PPTT; unknown without.
expect_rc 0 "$numem" info --srat "$asl/srat-2s-ht.aml" --madt "$asl/madt-2s-ht.aml" --pptt "$asl/pptt-2s-ht.aml"
expect_grep "$tmp/out" "^nr_cpus                : 40$"
expect_grep "$tmp/out" "^cores_per_socket       : 10$"
expect_grep "$tmp/out" "^threads_per_core       : 2$"
expect_grep "$tmp/out" "^ 10:       0        1        1$"
expect_grep "$tmp/out" "^ 20:       0        0        0$"
expect_rc 0 "$numem" info --srat "$asl/srat-2s-ht.aml" --madt "$asl/madt-2s-ht.aml"
expect_grep "$tmp/out" "^cores_per_socket       : unknown$"
expect_grep "$tmp/out" "^threads_per_core       : unknown$"
expect_grep "$tmp/out" "^  0:    unknown     unknown        0$"
expect_rc 0 "$numem" topo --srat "$asl/srat-2s-ht.aml" --madt "$asl/madt-2s-ht.aml" --pptt "$asl/pptt-2s-ht.aml" --json
expect_grep "$tmp/out" '"threads_per_core": 2'
expect_grep "$tmp/out" '"source": "pptt"'
expect_rc 0 "$numem" topo --srat "$asl/srat-2s-nocpu.aml" --madt "$asl/madt-2s-ht.aml"
expect_grep "$tmp/out" "^MADT: 40 CPU(s) no SRAT entry names (on node 0), 2 online-capable$"
expect_rc 0 "$numem" topo --srat "$asl/srat-arm64.aml" --madt "$asl/madt-arm64.aml" --pptt "$asl/pptt-arm64.aml"
expect_grep "$tmp/out" "^cpu topology (pptt): 1 socket(s), 8 core(s) per socket, 1 thread(s) per core$"
expect_rc 2 "$numem" topo --madt "$asl/madt-2s-ht.aml"
expect_rc 3 "$numem" topo --srat "$asl/srat-2s-ht.aml" --madt /nonexistent/APIC.bin
cp "$asl/madt-h8qg6.aml" "$tmp/madt.aml"
printf '\x00' | dd of="$tmp/madt.aml" bs=1 seek=53 conv=notrunc 2>/dev/null
expect_rc 1 "$numem" topo --srat "$asl/srat-2s-ht.aml" --madt "$tmp/madt.aml" --json
expect_grep "$tmp/err" "APIC table, offset 52"
expect_grep "$tmp/out" '"error_table": "APIC"'
# A corpus machine's directory with APIC.bin and PPTT.bin beside its tables:
# the Supermicro H8QG6 (its real MADT, an ASL PPTT) is 4 packages of 16
# cores, not 8 sockets.
tables_dir="$(dirname "$0")/tables"
mkdir -p "$tmp/h8"
cp "$corpus/supermicro-h8qg6-a/SRAT.bin" "$corpus/supermicro-h8qg6-a/SLIT.bin" "$tmp/h8/"
cp "$tables_dir/supermicro-h8qg6-a-APIC.bin" "$tmp/h8/APIC.bin"
cp "$asl/pptt-h8qg6-6200.aml" "$tmp/h8/PPTT.bin"
expect_rc 0 "$numem" info "$tmp/h8"
expect_grep "$tmp/out" "^nr_cpus                : 64$"
expect_grep "$tmp/out" "^cores_per_socket       : 16$"
expect_grep "$tmp/out" "^threads_per_core       : 1$"
expect_grep "$tmp/out" "^ 63:      15        3        7$"
rm "$tmp/h8/PPTT.bin"
expect_rc 0 "$numem" info "$tmp/h8"
expect_grep "$tmp/out" "^nr_cpus                : 64$"
expect_grep "$tmp/out" "^cores_per_socket       : unknown$"
# The issue's 2-socket Intel server: the Supermicro X10DAi's real MADT says
# Hyper-Threading in its APIC ids, but only a PPTT (ASL here) says so in a
# form numem reads; without one the figures are unknown, not 20 x 1.
x10="$corpus/supermicro-x10dai"
expect_rc 0 "$numem" info --srat "$x10/SRAT.bin" --slit "$x10/SLIT.bin" --madt "$tables_dir/supermicro-x10dai-APIC.bin"
expect_grep "$tmp/out" "^nr_cpus                : 40$"
expect_grep "$tmp/out" "^threads_per_core       : unknown$"
expect_rc 0 "$numem" info --srat "$x10/SRAT.bin" --slit "$x10/SLIT.bin" --madt "$tables_dir/supermicro-x10dai-APIC.bin" --pptt "$asl/pptt-x10dai.aml"
expect_grep "$tmp/out" "^cores_per_socket       : 10$"
expect_grep "$tmp/out" "^threads_per_core       : 2$"
expect_grep "$tmp/out" "^ 20:       0        0        0$"
expect_grep "$tmp/out" "^ 39:       9        1        1$"
# The 48-core Opteron 6100 variant written in ASL.
expect_rc 0 "$numem" info --srat "$corpus/supermicro-h8qg6-a/SRAT.bin" --madt "$asl/madt-h8qg6.aml" --pptt "$asl/pptt-h8qg6.aml"
expect_grep "$tmp/out" "^nr_cpus                : 48$"
expect_grep "$tmp/out" "^cores_per_socket       : 12$"
expect_grep "$tmp/out" "^ 47:      11        3        7$"
expect_rc 0 "$numem" info "$corpus/supermicro-h8qg6-a"
expect_grep "$tmp/out" "^cores_per_socket       : unknown$"
# A preset's explicit cpus_per_socket is kept.
expect_rc 0 "$numem" info epyc-2s8n
expect_grep "$tmp/out" "^cores_per_socket       : 128$"

# tables: write, disassemble, read back the same numactl view.
for m in x445 cxl epyc-2s8n p4 "$corpus/supermicro-h8qg6-a"; do
  rm -rf "$tmp/t"
  expect_rc 0 "$numem" tables "$m" -o "$tmp/t"
  (cd "$tmp/t" && iasl -d *.bin >/dev/null 2>&1) && ok || bad "iasl -d failed for $m"
  "$numem" topo "$m" | sed -n '1,/^$/p' | grep -v free > "$tmp/a"
  "$numem" topo "$tmp/t" | sed -n '1,/^$/p' | grep -v free > "$tmp/b"
  cmp -s "$tmp/a" "$tmp/b" && ok || bad "tables for $m read back differently: $(diff "$tmp/a" "$tmp/b" | head -5)"
done
# The MADT and the PPTT written by `tables` disassemble cleanly and read
# back to the same CPUs, nodes and CPU topology (`numem info`).
for args in "--srat $asl/srat-2s-ht.aml --madt $asl/madt-2s-ht.aml --pptt $asl/pptt-2s-ht.aml" \
            "--srat $asl/srat-arm64.aml --madt $asl/madt-arm64.aml --pptt $asl/pptt-arm64.aml" \
            "--srat $corpus/supermicro-h8qg6-a/SRAT.bin --slit $corpus/supermicro-h8qg6-a/SLIT.bin --madt $asl/madt-h8qg6.aml --pptt $asl/pptt-h8qg6.aml" \
            "epyc-2s8n"; do
  rm -rf "$tmp/c"
  expect_rc 0 "$numem" tables $args -o "$tmp/c"
  [ -s "$tmp/c/APIC.bin" ] && [ -s "$tmp/c/PPTT.bin" ] && ok || bad "tables $args: no APIC.bin/PPTT.bin"
  (cd "$tmp/c" && iasl -d APIC.bin PPTT.bin >/dev/null 2>&1 && ! grep -qi "warning\|error" APIC.dsl PPTT.dsl) &&
    ok || bad "iasl -d complains about the MADT/PPTT of $args"
  "$numem" info $args | grep -v free > "$tmp/a"
  "$numem" info "$tmp/c" | grep -v free > "$tmp/b"
  cmp -s "$tmp/a" "$tmp/b" && ok || bad "info for $args read back differently: $(diff "$tmp/a" "$tmp/b" | head -5)"
done
# No topology known: a MADT but no PPTT (numem writes no guess).
rm -rf "$tmp/c"
expect_rc 0 "$numem" tables --srat "$asl/srat-2s-ht.aml" --madt "$asl/madt-2s-ht.aml" -o "$tmp/c"
[ -s "$tmp/c/APIC.bin" ] && [ ! -e "$tmp/c/PPTT.bin" ] && ok || bad "tables wrote a PPTT without a known topology"

expect_rc 0 "$numem" tables --numa node,cpus=0-1,mem=2G --numa node,cpus=2-3,mem=2G \
  --numa dist,src=0,dst=1,val=21 -o "$tmp/q"
[ -s "$tmp/q/SRAT.bin" ] && [ -s "$tmp/q/SLIT.bin" ] && ok || bad "tables --numa wrote nothing"
expect_rc 0 "$numem" topo "$tmp/q" --json
expect_grep "$tmp/out" '"distances_from_slit": true'
# Issue 9 item 5: a machine without a SLIT gets none written, and read back
# it does not claim SLIT distances.
rm -rf "$tmp/q"
expect_rc 0 "$numem" tables --numa node,cpus=0-1,mem=2G --numa node,cpus=2-3,mem=2G -o "$tmp/q"
[ -s "$tmp/q/SRAT.bin" ] && [ ! -e "$tmp/q/SLIT.bin" ] && ok || bad "tables wrote a SLIT for a machine without one"
expect_rc 0 "$numem" topo "$tmp/q" --json
expect_grep "$tmp/out" '"distances_from_slit": false'
rm -rf "$tmp/q"
expect_rc 0 "$numem" tables "$corpus/hp-proliant-dl380e-gen8" -o "$tmp/q"
[ ! -e "$tmp/q/SLIT.bin" ] && ok || bad "tables wrote a SLIT for hp-proliant-dl380e-gen8 (none)"
rm -rf "$tmp/q"
expect_rc 0 "$numem" tables "$corpus/supermicro-h8qg6-a" -o "$tmp/q"
[ -s "$tmp/q/SLIT.bin" ] && ok || bad "tables dropped the SLIT of a machine that has one"

# stress and dump.
expect_rc 0 "$numem" stress --help
expect_rc 0 "$numem" stress x445 --threads 2 --ops 200000 --seed 5
expect_grep "$tmp/out" "^numa_hit "
expect_grep "$tmp/out" "^                           node0           node1"
expect_grep "$tmp/out" "^Node 0, zone      DMA "
expect_grep "$tmp/out" "^verifier: ok"
expect_rc 0 "$numem" stress p4 --threads 1 --ops 100000 --strategy xen --policy local --dump
expect_grep "$tmp/out" "strategy xen"
expect_grep "$tmp/out" "free blocks by order"
expect_rc 2 "$numem" stress --policy nonsense
expect_rc 2 "$numem" stress --strategy bsd
expect_rc 2 "$numem" stress p4 --threads 3
expect_rc 0 "$numem" dump cxl
expect_grep "$tmp/out" "^node 3: present 0 pages"
expect_grep "$tmp/out" "zone Normal "

# sim and trace.
expect_rc 0 "$numem" sim --help
expect_rc 0 "$numem" sim --ops 20000 --no-report --trace "$tmp/t.trc"
expect_grep "$tmp/out" "^== strategy linux"
expect_grep "$tmp/out" "^Domain 1 (db, total: "
expect_grep "$tmp/out" "^checks: heap and slab verified"
expect_grep "$tmp/out" "^trace: $tmp/t-linux.trc (linux run: "
expect_grep "$tmp/out" "^trace: $tmp/t-xen.trc (xen run: "
head -c 1000 "$tmp/t-linux.trc" >"$tmp/cut.trc"
expect_rc 0 "$numem" trace "$tmp/cut.trc" --summary
expect_grep "$tmp/err" "partial record after record 30 ignored"
expect_rc 0 "$numem" sim --ops 5000 --no-report --json --trace "$tmp/j.trc"
expect_grep "$tmp/out" '"lost": '
[ -s "$tmp/j-linux.trc" ] && [ -s "$tmp/j-xen.trc" ] && ok || bad "sim --json --trace wrote no files"
for run in linux xen; do
  expect_rc 0 "$numem" trace "$tmp/t-$run.trc" --summary
  expect_grep "$tmp/out" "^alloc "
  expect_grep "$tmp/out" ", run $run$"
  expect_grep "$tmp/out" "^lost: [0-9]* records overwritten"
  expect_grep "$tmp/out" "^numa_hit "
  expect_grep "$tmp/out" "^numa_miss "
  expect_grep "$tmp/out" "^numa_foreign "
done
expect_rc 0 "$numem" sim --ops 20000 --json --report "$tmp/rep"
expect_grep "$tmp/out" '"strategy": "xen"'
[ -s "$tmp/rep/index.html" ] && [ -s "$tmp/rep/memmap.svg" ] && ok || bad "no report written"
expect_rc 2 "$numem" sim --bogus

# The built-in simulation (the README's main job) runs tmem guests: the
# full machine of its pressure phase makes the shrinker evict tmem's
# ephemeral pages; hit rates, memory per node and compression reported.
expect_rc 0 "$numem" sim --no-report --json
python3 - "$tmp/out" <<'PY' && ok || bad "sim: the built-in scenario's tmem figures"
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["runs"]:
    t = r["tmem"]
    assert r["checks"] == "ok" and t["verify"] == "ok", r["checks"]
    assert [g["frontend"] for g in t["guests"]] == ["cleancache", "frontswap", "mixed"]
    press = [p for p in t["phases"] if p["kind"] == "pressure"]
    assert press and press[0]["evictions"] > 0 and press[0]["shrinker_freed"] > 0, press
    assert sum(g["tmem_hits"] for g in t["guests"]) == t["stats"]["hits"]
    assert sum(g["wrong"] + g["errors"] for g in t["guests"]) == 0
    assert sum(t["pages_on_node"]) == t["heap_pages"] > 0
    assert float(t["stats"]["compression_ratio"]) > 1.0
    assert all(g["tmem_hits"] > 0 for g in t["guests"])
    assert len(r["samples"][-1]["tmem"]["pages"]) == len(t["sampled_pools"]) == 4
PY

# numem tmem: guests with and without tmem, the control plane's listing.
expect_rc 0 "$numem" tmem opteron-2n --guests 2 --workload cleancache --memory 16 \
  --accesses 30000 --pressure 100 --stats
expect_grep "$tmp/out" "^numem tmem: 2 guests (cleancache, 16 MB each, working set 24 MB) on "
expect_grep "$tmp/out" "^disk reads avoided  *- *[0-9]* ([0-9.]*%)$"
expect_grep "$tmp/out" "^tmem hit rate (of faults) "
expect_grep "$tmp/out" "^evictions: [1-9][0-9]* (the heap's shrinker: "
expect_grep "$tmp/out" "^compression: [0-9.]* bytes stored per byte held"
expect_grep "$tmp/out" "^memory tmem holds: "
expect_grep "$tmp/out" "^tmem clients (the control plane's listing"
expect_grep "$tmp/out" "^ *1 *0 ephemeral "
expect_grep "$tmp/out" "^checks: tmem verified, no wrong data"
expect_rc 0 "$numem" tmem opteron-2n --guests 3 --workload frontswap --compress zstd \
  --memory 16 --accesses 20000 --json
python3 - "$tmp/out" <<'PY' && ok || bad "tmem --json: figures do not add up"
import json, sys
d = json.load(open(sys.argv[1]))
w, o, t = d["with_tmem"], d["without_tmem"], d["tmem"]
assert d["checks"] == "ok" and d["compression"] == "zstd" and d["guests"] == 3
assert w["faults"] == o["faults"] == o["disk_reads"] and w["accesses"] == o["accesses"]
assert d["disk_reads_avoided"] == o["disk_reads"] - w["disk_reads"] == w["tmem_hits"] > 0
assert t["stats"]["hits"] == w["tmem_hits"] and t["stats"]["puts"] == w["puts"]
assert t["stats"]["pages_persistent"] == t["stats"]["pages"] > 0
assert "clients" not in t
PY
expect_rc 0 "$numem" tmem p4 --guests 1 --memory 8 --accesses 5000 --json --stats
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tmem"]; sys.exit(0 if len(t["clients"]) == 2 and len(t["pools"]) == 2 else 1)' "$tmp/out" && ok || bad "tmem --json --stats: no listing"
expect_rc 2 "$numem" tmem --guests 0
expect_grep "$tmp/err" "guests"
expect_rc 2 "$numem" tmem --guests 17
expect_rc 2 "$numem" tmem --guests
expect_rc 2 "$numem" tmem --workload zswap
expect_grep "$tmp/err" "cleancache, frontswap or mixed, not 'zswap'"
expect_rc 2 "$numem" tmem --workload none
expect_rc 2 "$numem" tmem --compress gzip
expect_grep "$tmp/err" "lz4, zstd or off"
expect_rc 2 "$numem" tmem --accesses -3
expect_rc 2 "$numem" tmem --pressure 101
expect_rc 2 "$numem" tmem --bogus
expect_rc 2 "$numem" tmem x445 p4
expect_rc 1 "$numem" tmem no-such-machine --accesses 10
expect_grep "$tmp/err" "no-such-machine"
expect_rc 1 "$numem" tmem no-such-machine --accesses 10 --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["error"] == "invalid" else 1)' "$tmp/out" && ok || bad "tmem --json error form"
expect_rc 1 "$numem" tmem p4 --memory 4096 --accesses 10
expect_grep "$tmp/err" "guest1: memory 4096 MB is more than the machine's RAM"
expect_rc 3 "$numem" sim --scenario /nonexistent.json
expect_rc 1 "$numem" sim --machine no-such-machine --no-report
expect_rc 2 "$numem" trace
# stress --trace: the rings drained while the threads run, losses counted.
expect_rc 0 "$numem" stress x445 --ops 100000 --trace "$tmp/s.trc"
expect_grep "$tmp/out" "^trace: $tmp/s.trc ([0-9]* events, [0-9]* lost"
expect_rc 0 "$numem" trace "$tmp/s.trc" --summary
expect_grep "$tmp/out" ", run stress$"
expect_grep "$tmp/out" "^numa_hit "
expect_rc 3 "$numem" stress x445 --ops 10 --trace /nonexistent/dir/s.trc
expect_grep "$tmp/err" "No such file"

# --host works on this machine, whatever it is.
expect_rc 0 "$numem" topo --host
expect_grep "$tmp/out" "^available: "
# --host takes the CPU topology from sysfs: a fake tree, 1 package of 2
# cores x 2 threads (Linux numbers the siblings 0,2 and 1,3).
fs="$tmp/sysfs"
mkdir -p "$fs/devices/system/node/node0/memory0" "$fs/devices/system/node/node0/memory1" \
  "$fs/devices/system/memory"
echo 8000000 > "$fs/devices/system/memory/block_size_bytes"
echo 0-3 > "$fs/devices/system/node/node0/cpulist"
echo 10 > "$fs/devices/system/node/node0/distance"
for c in 0 1 2 3; do
  d="$fs/devices/system/cpu/cpu$c/topology"
  mkdir -p "$d"
  echo 0 > "$d/physical_package_id"
  echo $((c % 2)) > "$d/core_id"
  echo "$((c % 2)),$((c % 2 + 2))" > "$d/thread_siblings_list"
done
expect_rc 0 "$numem" info --host --sysfs "$fs"
expect_grep "$tmp/out" "^cores_per_socket       : 2$"
expect_grep "$tmp/out" "^threads_per_core       : 2$"
expect_grep "$tmp/out" "^  3:       1        0        0$"
expect_rc 0 "$numem" topo --host --sysfs "$fs" --json
expect_grep "$tmp/out" '"source": "sysfs"'
rm -rf "$fs/devices/system/cpu"
expect_rc 0 "$numem" info --host --sysfs "$fs"
expect_grep "$tmp/out" "^threads_per_core       : unknown$"

# Issue 7 item 8: an SRAT declaring 128 TiB (two nodes of 64 TiB, 160
# bytes).  Boot must touch memory in proportion to what is needed, not to
# what is declared: topo/info/tables build no frame table and no heap, and
# dump's heap initialises a bounded first helping per zone (it used to
# initialise the descriptors of every all-reserved section, 8 GB here).
# Each run gets 60 s; peak RSS is checked where /usr/bin/time exists, and
# topo/info run under a 1 GiB address-space cap unless sanitized (ASan
# reserves terabytes of shadow).
big="$(dirname "$0")/tables/srat-128tib.bin"
asan=0
grep -q __asan_init "$numem" && asan=1
rss_limit_kb=$((asan ? 2097152 : 524288))
for c in "topo --json" "info" "tables -o $tmp/big" "dump"; do
  if [ -x /usr/bin/time ]; then
    ( [ "$asan" -eq 1 ] || [ "$c" = dump ] || ulimit -v 1048576
      exec timeout 60 /usr/bin/time -f "%M" -o "$tmp/rss" "$numem" $c --srat "$big" ) \
      >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ "$rc" -eq 0 ] && ok || bad "numem $c on a 128 TiB SRAT: exit $rc ($(head -c 300 "$tmp/err"))"
    rss=$(tail -1 "$tmp/rss" 2>/dev/null || echo 0)
    [ "${rss:-0}" -lt "$rss_limit_kb" ] 2>/dev/null && ok ||
      bad "numem $c on a 128 TiB SRAT: peak RSS ${rss} KiB, limit $rss_limit_kb KiB"
  else
    expect_rc 0 timeout 60 "$numem" $c --srat "$big"
  fi
done
expect_rc 0 timeout 60 "$numem" topo --srat "$big"
expect_grep "$tmp/out" "^node 0 size: 67108864 MB"
expect_rc 0 timeout 60 "$numem" dump --srat "$big"
expect_grep "$tmp/out" "^node 1: present 17179869184 pages"

# The frame table is placed top-down (as Linux's memblock allocates): on the
# small Opteron it used to take all but 160 of ZONE_DMA's 4000 pages.
expect_rc 0 "$numem" dump opteron-2n
expect_grep "$tmp/out" "zone DMA     pfn \[0x0-0x1000) present 4000 free 4000 "
expect_grep "$tmp/out" "^node 0: present 524192 pages, free 520096, allocated 0, reserved 4096"

# QEMU's machine options next to --numa (issue 9 item 4).
expect_rc 0 "$numem" topo --object memory-backend-ram,id=ram0,size=128M --numa node --numa node,memdev=ram0
expect_grep "$tmp/out" "^node 0 size: 0 MB$"
expect_grep "$tmp/out" "^node 1 size: 127 MB$"
expect_rc 0 "$numem" topo --mem 128,slots=3,maxmem=1G --numa node --numa node
expect_grep "$tmp/out" "3968 MiB (not RAM) hotpluggable"
expect_rc 0 "$numem" topo --mem 512 --maxmem 1G --slots 1 --numa node,mem=256 --numa node,mem=256
expect_grep "$tmp/out" "^node 1 size: 256 MB$"
expect_grep "$tmp/out" "1536 MiB (not RAM) hotpluggable"
expect_rc 0 "$numem" topo --smp 4,sockets=2,cores=2 --numa node --numa node
expect_grep "$tmp/out" "^node 0 cpus: 0 1$"
expect_grep "$tmp/out" "^node 1 cpus: 2 3$"
expect_rc 1 "$numem" topo --numa node,memdev=m0
expect_grep "$tmp/err" "memdev=m0 names no --object"
expect_rc 1 "$numem" topo --smp 3,sockets=2 --numa node
expect_grep "$tmp/err" "must equal maxcpus (3)"
expect_rc 1 "$numem" topo --qemu-machine isa --numa node
expect_grep "$tmp/err" "wants pc or q35"
expect_rc 1 "$numem" topo --mem 1G --numa node,mem=2G
expect_grep "$tmp/err" "but --mem says 1024 MiB"
expect_rc 2 "$numem" topo x445 --smp 2
expect_grep "$tmp/err" "shape a --numa machine"
expect_rc 0 "$numem" topo --numa node,mem=64 --numa node,mem=64,initiator=0 --numa cpu,node-id=0 --numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=200
expect_grep "$tmp/out" "^memory domain 1 is attached to initiator domain 0$"

# topo --host: the host's view as numactl prints it (nodeN/meminfo), then
# the simulated machine, labelled.  A fake sysfs tree gives exact figures.
fs="$tmp/sysfs"
mkdir -p "$fs/devices/system/memory" "$fs/devices/system/node/node0/memory0" \
  "$fs/devices/system/node/node0/memory1" "$fs/devices/system/node/node1/memory2"
echo 8000000 >"$fs/devices/system/memory/block_size_bytes"
echo 0-1 >"$fs/devices/system/node/node0/cpulist"
echo 2-3 >"$fs/devices/system/node/node1/cpulist"
echo "10 21" >"$fs/devices/system/node/node0/distance"
echo "21 10" >"$fs/devices/system/node/node1/distance"
printf 'Node 0 MemTotal:         204800 kB\nNode 0 MemFree:          102400 kB\n' \
  >"$fs/devices/system/node/node0/meminfo"
printf 'Node 1 MemTotal:          99999 kB\nNode 1 MemFree:            1024 kB\n' \
  >"$fs/devices/system/node/node1/meminfo"
expect_rc 0 "$numem" topo --host --sysfs "$fs"
expect_grep "$tmp/out" "^host (numactl --hardware: size = MemTotal, free = MemFree"
expect_grep "$tmp/out" "^node 0 size: 200 MB$"
expect_grep "$tmp/out" "^node 1 size: 97 MB$"
expect_grep "$tmp/out" "^node 1 free: 1 MB$"
expect_grep "$tmp/out" "^simulated machine (size = RAM in the node's memory blocks"
expect_grep "$tmp/out" "^node 0 size: 256 MB$"
expect_rc 0 "$numem" topo --host --sysfs "$fs" --json
expect_grep "$tmp/out" '"mem_total_kb": 99999'
# ... and against numactl itself where this host has it (free drifts: the
# other lines must be identical).
if command -v numactl >/dev/null && numactl --hardware >"$tmp/numactl" 2>/dev/null &&
   [ -d /sys/devices/system/node/node0 ]; then
  expect_rc 0 "$numem" topo --host
  awk '/^simulated machine/ {exit} NR > 1 && !/^$/' "$tmp/out" | grep -v ' free: ' >"$tmp/ours"
  grep -v ' free: ' "$tmp/numactl" >"$tmp/theirs"
  diff "$tmp/ours" "$tmp/theirs" >"$tmp/diff" && ok || bad "topo --host differs from numactl --hardware: $(cat "$tmp/diff")"
else
  echo "skip: no numactl --hardware or no /sys/devices/system/node on this host"
fi

# What the library does, reachable from the CLI (issue 9 item 12).
expect_rc 0 "$numem" topo x445 --frametable vmemmap
expect_grep "$tmp/out" "^frame table (vmemmap): "
expect_rc 0 "$numem" topo x445 --frametable vmemmap --json
expect_grep "$tmp/out" '"layout": "vmemmap"'
expect_rc 2 "$numem" dump x445 --frametable flat
expect_grep "$tmp/err" "wants sections or vmemmap, not 'flat'"
expect_rc 0 "$numem" dump x445 --frametable vmemmap --movable 8G
expect_grep "$tmp/out" "zone Movable pfn \[0x1a0000-0x220000) present 524288"
expect_rc 1 "$numem" dump x445 --movable 40G
expect_grep "$tmp/err" "10240 MiB per node is not below node 0's RAM"
expect_rc 2 "$numem" dump x445 --movable lots
expect_rc 0 "$numem" stress x445 --ops 20000 --frametable vmemmap --movable 4G
expect_grep "$tmp/out" "^verifier: ok"
expect_rc 0 "$numem" stress x445 --ops 50000 --cpuset 1,3
expect_grep "$tmp/out" "cpuset 1,3$"
expect_grep "$tmp/out" "^numa_hit                       0 *[0-9]*               0 "
expect_rc 2 "$numem" stress x445 --cpuset 7
expect_grep "$tmp/err" "want node ids 0..3"
expect_rc 1 "$numem" stress cxl --ops 10 --cpuset 3
expect_grep "$tmp/err" "holds no node with memory"
printf 'machine = x445\ncpuset = 1\nphases = boot, churn:5000\n[a]\nmemory = 512\n' >"$tmp/cs.cfg"
expect_rc 0 "$numem" sim --scenario "$tmp/cs.cfg" --no-report --json
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["runs"][0]["domains"][0]["pages_on_node"]; sys.exit(0 if r[0]==r[2]==r[3]==0 and r[1]>0 else 1)' "$tmp/out" && ok || bad "sim cpuset 1: pages outside node 1"
printf 'cpuset = 9\nphases = boot\n[a]\nmemory = 512\n' >"$tmp/cs9.cfg"
expect_rc 1 "$numem" sim --scenario "$tmp/cs9.cfg" --no-report
expect_grep "$tmp/err" "cpuset: node 9 is not one of the machine's 4"
printf 'cpuset = 1-x\nphases = boot\n[a]\nmemory = 512\n' >"$tmp/csx.cfg"
expect_rc 1 "$numem" sim --scenario "$tmp/csx.cfg" --no-report
expect_grep "$tmp/err" "cpuset '1-x' is not a node list"
expect_rc 0 "$numem" sim --ops 5000 --no-report --guest-tables "$tmp/guests"
expect_grep "$tmp/out" "^guest tables: $tmp/guests (1 vNUMA domains"
expect_rc 0 "$numem" topo "$tmp/guests/numa-guest"
expect_grep "$tmp/out" "^available: 2 nodes (0-1)$"
expect_grep "$tmp/out" "^node 1 size: 2048 MB$"

# Item 10 of issue 9: every bad input gets a message and its exit code.
expect_rc 2 "$numem" stress x445 --threads 0
expect_grep "$tmp/err" "threads: 0 is out of range (want 1..1024)"
expect_rc 2 "$numem" stress x445 --threads -1
expect_grep "$tmp/err" "threads: \"-1\" is not an unsigned number"
expect_rc 2 "$numem" stress x445 --max-order 11
expect_grep "$tmp/err" "max-order: 11 is out of range (want 0..10)"
expect_rc 2 "$numem" stress x445 --hold 0
expect_grep "$tmp/err" "hold: 0 is out of range"
expect_rc 2 "$numem" stress x445 --seed -5
expect_grep "$tmp/err" "seed: \"-5\" is not an unsigned number"
expect_rc 2 "$numem" stress x445 --ops 99999999999999999999999
expect_grep "$tmp/err" "ops: 99999999999999999999999 is out of range"
expect_rc 2 "$numem" sim --seed -5
expect_grep "$tmp/err" "seed: \"-5\" is not an unsigned number"
expect_rc 2 "$numem" sim --ops 99999999999999999999999
expect_grep "$tmp/err" "ops: 99999999999999999999999 is out of range"
printf 'phases = boot\n[a]\nmemory = 1024\nplacement = bogus\n' >"$tmp/bogus.cfg"
expect_rc 1 "$numem" sim --scenario "$tmp/bogus.cfg" --no-report
expect_grep "$tmp/err" "placement 'bogus' unknown"
printf 'phases = boot\n[big]\nmemory = 100000\n' >"$tmp/big.cfg"
expect_rc 1 "$numem" sim --scenario "$tmp/big.cfg" --no-report
expect_grep "$tmp/err" "domain big: memory 100000 MB is more than the machine's RAM (32767 MB)"
printf 'phases = boot\n[a]\nmemory = 20000\n[b]\nmemory = 20000\n' >"$tmp/two.cfg"
expect_rc 1 "$numem" sim --scenario "$tmp/two.cfg" --no-report
expect_grep "$tmp/err" "domain b: only .* of its 20000 MB fit"
printf 'phases = boot\n[a]\nmemory = 256\n' >"$tmp/noname.cfg"
expect_rc 0 "$numem" sim --scenario "$tmp/noname.cfg" --no-report
expect_grep "$tmp/out" 'scenario "noname"'
expect_rc 0 "$numem" tables x445 -o "$tmp/new/deeper/dir"
[ -f "$tmp/new/deeper/dir/SRAT.bin" ] && ok || bad "tables -o did not create the parents"
touch "$tmp/afile"
expect_rc 3 "$numem" tables x445 -o "$tmp/afile/sub"
expect_grep "$tmp/err" "Not a directory"
# The built-in scenario adapts to the machine it runs on.
for m in p4 opteron-2n x460-2n; do
  expect_rc 0 timeout 120 "$numem" sim --machine $m --no-report --ops 5000
done
expect_rc 0 timeout 120 "$numem" sim --machine opteron-2n --no-report --ops 5000 --json
expect_grep "$tmp/out" '"machine": "opteron-2n"'
# A table file is capped (16 MiB) and a directory is an I/O error.
expect_rc 3 timeout 20 "$numem" topo --srat /dev/zero
expect_grep "$tmp/err" "at most 16 MiB"
expect_rc 3 timeout 20 "$numem" topo --srat /dev/zero --json
expect_grep "$tmp/out" '"error": "io"'
expect_rc 3 "$numem" trace "$tmp"
expect_grep "$tmp/err" "Is a directory"
expect_rc 3 "$numem" topo --srat "$tmp"
expect_grep "$tmp/err" "Is a directory"
# --json: every failure prints the error form, its strings valid UTF-8.
cp "$asl/srat-memoryless.aml" "$tmp/garbage.aml"
printf '\xff\xfe\x80Z' | dd of="$tmp/garbage.aml" bs=1 seek=0 conv=notrunc 2>/dev/null
expect_rc 1 "$numem" topo --srat "$tmp/garbage.aml" --json
expect_grep "$tmp/out" '"error": "signature"'
expect_grep "$tmp/out" '\\\\xff\\\\xfe\\\\x80Z'
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" && ok || bad "garbage signature: --json output is not JSON"
expect_rc 1 "$numem" topo --numa node,nodeid=0 --numa dist,src=0,dst=5,val=20 --json
expect_grep "$tmp/out" '"error": "invalid-description"'

# The views in the layouts of this host's own tools: numastat's rows and
# column widths (%-16s then %16 per node) and /proc/buddyinfo's line shape
# ("Node N, zone %8s " then 11 counts of %6lu and a space), compared with
# what numastat(8) and the kernel print here, where this host has them.
expect_rc 0 "$numem" stress p4 --threads 1 --ops 1000
awk '/^ +node0$/ {p = 1} p && NF == 0 {exit} p' "$tmp/out" >"$tmp/our_numastat"
awk '/^Node [0-9]+, zone / {print}' "$tmp/out" >"$tmp/our_buddy"
buddy_shape() { # file: prints a line per bad line
  awk '{ head = substr($0, 1, 22); rest = substr($0, 23);
         if (head !~ /^Node [0-9], zone +[A-Za-z0-9]+ $/) print "head: " $0;
         n = split(rest, f, " "); if (n != 11) print "counts: " $0;
         for (i = 0; i < 11; i++) { c = substr(rest, 7 * i + 1, 7);
           if (length(c) < 7 || c !~ /^ *[0-9]+ $/) { print "widths: " $0; break } } }' "$1"
}
[ -s "$tmp/our_buddy" ] && [ -z "$(buddy_shape "$tmp/our_buddy")" ] && ok ||
  bad "numem buddyinfo lines: $(buddy_shape "$tmp/our_buddy")"
if [ -r /proc/buddyinfo ] && grep -q '^Node 0, zone' /proc/buddyinfo; then
  [ -z "$(buddy_shape /proc/buddyinfo)" ] && ok ||
    bad "this host's /proc/buddyinfo is not in the layout numem follows: $(buddy_shape /proc/buddyinfo)"
else
  echo "skip: no /proc/buddyinfo on this host"
fi
if command -v numastat >/dev/null && numastat >"$tmp/host_numastat" 2>/dev/null &&
   [ "$(awk 'NR == 1 {print NF}' "$tmp/host_numastat")" = 1 ]; then
  # One node here and in the p4 machine: same row names in the same order,
  # and every line the same length (fixed-width columns).
  awk '{print $1, length($0)}' "$tmp/host_numastat" >"$tmp/theirs_shape"
  awk '{print $1, length($0)}' "$tmp/our_numastat" >"$tmp/ours_shape"
  diff "$tmp/ours_shape" "$tmp/theirs_shape" >"$tmp/diff" && ok ||
    bad "numastat layout differs from this host's numastat: $(cat "$tmp/diff")"
else
  echo "skip: no numastat(8) for a one-node host here"
fi

# relayout: stripe, push to a new node, from a new SRAT, each under churn; JSON;
# the report; invalid layouts (exit 1, the core's message) and usage (exit 2).
expect_rc 0 "$numem" relayout x445 stripe --nodes 0,1,2 --block 256 --ms 10
expect_grep "$tmp/out" "moved at once"
expect_grep "$tmp/out" "pending per node"
expect_grep "$tmp/out" "verify: heap, slab and domains: ok"
expect_grep "$tmp/out" "^after:"
expect_grep "$tmp/out" "node 3 size: 0 MB"
expect_grep "$tmp/out" "guest (262144 pages) per node: 0:262144->87040 1:0->87552 2:0->87552"
expect_rc 0 "$numem" relayout opteron-2n stripe --nodes 0-1 --block 256 --json --ms 10 --guest 0 --report "$tmp/rep"
python3 -m json.tool "$tmp/out" >/dev/null && ok || bad "relayout --json does not parse"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); c=o["commit"]; sys.exit(0 if o["mode"]=="stripe" and c["pages_changed"]>0 and c["pages_moved"]>0 and o["verify"]=="ok" and sum(o["pending"]["after_churn"])==0 and len(o["after"]["nodes"])==2 else 1)' "$tmp/out" && ok || bad "relayout --json figures: $(head -c 300 "$tmp/out")"
[ -s "$tmp/rep/layout.svg" ] && [ -s "$tmp/rep/index.html" ] && ok || bad "relayout --report wrote no pictures"
expect_grep "$tmp/rep/layout.svg" "after"
expect_rc 0 "$numem" relayout opteron-2n stripe --nodes 0,1 --block 256 --ms 10 --guest 512 --migrate --json
python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["guest"]; sys.exit(0 if g["pending"]==0 and g["migrated"]==65536 and g["pages_on_node_after"]==[65536, 65536] else 1)' "$tmp/out" && ok || bad "relayout --migrate: $(head -c 300 "$tmp/out")"
expect_rc 0 "$numem" relayout opteron-2n push --node 3 --range 0x80000-0x120000 --ms 10
expect_grep "$tmp/out" "node 3 size: 2048 MB"
"$numem" tables x460-2n -o "$tmp/srat2" >/dev/null 2>&1
expect_rc 0 "$numem" relayout opteron-2n from-srat "$tmp/srat2/SRAT.bin" --ms 10 --threads 1
expect_grep "$tmp/out" "cpu map changed"
expect_rc 1 "$numem" relayout opteron-2n push --node 0 --range 0xa0-0x100
expect_grep "$tmp/err" "no RAM inside \[0xa0, 0x100)"
expect_rc 1 "$numem" relayout opteron-2n stripe --nodes 0,1 --range 0x120000-0x130000
expect_grep "$tmp/err" "no RAM inside"
expect_rc 1 "$numem" relayout opteron-2n stripe --nodes 0,1 --range 0xa0-0x100 --json
python3 -m json.tool "$tmp/out" >/dev/null && ok || bad "relayout --json error form does not parse"
expect_rc 1 "$numem" relayout opteron-2n from-srat /etc/hostname
expect_rc 0 "$numem" relayout opteron-2n stripe --nodes 0,5 --ms 5 --threads 1
expect_grep "$tmp/out" "node 5 size: 2048 MB"
expect_rc 3 "$numem" relayout opteron-2n from-srat /nonexistent/SRAT.bin
expect_rc 2 "$numem" relayout opteron-2n
expect_rc 2 "$numem" relayout opteron-2n stripe
expect_rc 2 "$numem" relayout opteron-2n push
expect_rc 2 "$numem" relayout opteron-2n stripe --nodes 0,1 --block 0
expect_rc 2 "$numem" relayout opteron-2n stripe --nodes 0,1 --range 5-3
expect_rc 2 "$numem" relayout opteron-2n push --node 64
expect_rc 2 "$numem" relayout opteron-2n push --node 1 --slit x
expect_rc 2 "$numem" relayout opteron-2n stripe --nodes
expect_rc 2 "$numem" relayout opteron-2n stripe --nodes 0,1 --guest -5
expect_rc 1 "$numem" relayout opteron-2n stripe --nodes 0,1 --guest 20000
expect_grep "$tmp/err" "guest of 20000 MiB on node 0"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
