/* QEMU q35 "memhp": -m 128,slots=3,maxmem=1G, two 64M backends,
 *   -numa node,memdev=ram0 -numa node,memdev=ram1 -numa dist,src=0,dst=1,val=21
 * RAM node after node from 0 (hole cut out); one disabled filler; the
 * device-memory window at 4 GiB (the first 1 GiB boundary above RAM above
 * 4 GiB, none here), maxmem - RAM + 1 GiB per slot = 896 MiB + 3 GiB, on
 * the last node, enabled and hot-pluggable */
Signature : "SRAT"
Table Length : 00000000
Revision : 01
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "MEMHP   "
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
Proximity Domain : 00000000
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
Proximity Domain : 00000000
Reserved1 : 0000
Base Address : 0000000000100000
Address Length : 0000000003F00000
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
Base Address : 0000000004000000
Address Length : 0000000004000000
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
Proximity Domain : 00000001
Reserved1 : 0000
Base Address : 0000000100000000
Address Length : 00000000F8000000
Reserved2 : 00000000
Flags (decoded below) : 00000003
Enabled : 1
Hot Pluggable : 1
Non-Volatile : 0
Reserved3 : 0000000000000000
