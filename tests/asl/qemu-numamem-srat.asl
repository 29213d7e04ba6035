/* QEMU q35 "numamem" (tests/qtest/bios-tables-test.c):
 *   -object memory-backend-ram,id=ram0,size=128M -numa node -numa node,memdev=ram0
 * -m 128M and -smp 1 by default.  CPU 0 (APIC id 0) goes to node 0 (socket 0
 * mod 2 nodes: no CPU was mapped); node 0 has no memory; node 1 has all of
 * it from address 0, less the 640 KiB - 1 MiB hole; two disabled zero
 * entries make nodes + 2 memory entries; no hot-plug window (maxmem = RAM) */
Signature : "SRAT"
Table Length : 00000000
Revision : 01
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "NUMAMEM "
Oem Revision : 00000001
Asl Compiler ID : "INTL"
Asl Compiler Revision : 20200925
Table Revision : 00000001
Reserved : 0000000000000000

Subtable Type : 00
Length : 10
Proximity Domain Low(8) : 00
Apic ID : 00
Flags (decoded below) : 00000001
Enabled : 1
Local Sapic EID : 00
Proximity Domain High(24) : 000000
Clock Domain : 00000000

Subtable Type : 01
Length : 28
Proximity Domain : 00000001
Reserved1 : 0000
Base Address : 0000000000000000
Address Length : 00000000000A0000
Reserved2 : 00000000
Flags (decoded below) : 00000001
Enabled : 1
Hot Pluggable : 0
Non-Volatile : 0
Reserved3 : 0000000000000000

Subtable Type : 01
Length : 28
Proximity Domain : 00000001
Reserved1 : 0000
Base Address : 0000000000100000
Address Length : 0000000007F00000
Reserved2 : 00000000
Flags (decoded below) : 00000001
Enabled : 1
Hot Pluggable : 0
Non-Volatile : 0
Reserved3 : 0000000000000000

Subtable Type : 01
Length : 28
Proximity Domain : 00000000
Reserved1 : 0000
Base Address : 0000000000000000
Address Length : 0000000000000000
Reserved2 : 00000000
Flags (decoded below) : 00000000
Enabled : 0
Hot Pluggable : 0
Non-Volatile : 0
Reserved3 : 0000000000000000

Subtable Type : 01
Length : 28
Proximity Domain : 00000000
Reserved1 : 0000
Base Address : 0000000000000000
Address Length : 0000000000000000
Reserved2 : 00000000
Flags (decoded below) : 00000000
Enabled : 0
Hot Pluggable : 0
Non-Volatile : 0
Reserved3 : 0000000000000000
