/* QEMU "acpihmat": -machine hmat=on -smp 2,sockets=2
 * -m 128M,slots=2,maxmem=1G, 64M backends m0 and m1, -numa node,nodeid=0,memdev=m0
 * -numa node,nodeid=1,memdev=m1,initiator=0, both sockets on node 0.
 * APIC ids 0 and 1 (one core, one thread per socket); window 896 MiB + 2 GiB */
Signature : "SRAT"
Table Length : 00000000
Revision : 01
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "ACPIHMAT"
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

Subtable Type : 00
Length : 10
Proximity Domain Low(8) : 00
Apic ID : 01
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
Address Length : 00000000B8000000
Reserved2 : 00000000
Flags (decoded below) : 00000003
Enabled : 1
Hot Pluggable : 1
Non-Volatile : 0
Reserved3 : 0000000000000000
