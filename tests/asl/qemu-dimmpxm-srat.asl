/* QEMU "dimmpxm" without its two devices: -smp 4,sockets=4,
 * -m 128M,slots=3,maxmem=1G, four 32M backends on nodes 0-3, -numa cpu,node-id=N,socket-id=N.
 * One core and thread per socket: APIC id = socket id.  The pc-dimm and
 * nvdimm devices are left out (numem has no -device): their ranges lie in
 * the window and QEMU describes the nvdimm by an extra entry */
Signature : "SRAT"
Table Length : 00000000
Revision : 01
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "DIMMPXM "
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
Proximity Domain Low(8) : 01
Apic ID : 01
Flags (decoded below) : 00000001
Enabled : 1
Local Sapic EID : 00
Proximity Domain High(24) : 000000
Clock Domain : 00000000

Subtable Type : 00
Length : 10
Proximity Domain Low(8) : 02
Apic ID : 02
Flags (decoded below) : 00000001
Enabled : 1
Local Sapic EID : 00
Proximity Domain High(24) : 000000
Clock Domain : 00000000

Subtable Type : 00
Length : 10
Proximity Domain Low(8) : 03
Apic ID : 03
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
Address Length : 0000000001F00000
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
Base Address : 0000000002000000
Address Length : 0000000002000000
Reserved2 : 00000000
Flags (decoded below) : 00000001
Enabled : 1
Hot Pluggable : 0
Non-Volatile : 0
Reserved3 : 0000000000000000

Subtable Type : 01
Length : 28
Proximity Domain : 00000002
Reserved1 : 0000
Base Address : 0000000004000000
Address Length : 0000000002000000
Reserved2 : 00000000
Flags (decoded below) : 00000001
Enabled : 1
Hot Pluggable : 0
Non-Volatile : 0
Reserved3 : 0000000000000000

Subtable Type : 01
Length : 28
Proximity Domain : 00000003
Reserved1 : 0000
Base Address : 0000000006000000
Address Length : 0000000002000000
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
Proximity Domain : 00000003
Reserved1 : 0000
Base Address : 0000000100000000
Address Length : 00000000F8000000
Reserved2 : 00000000
Flags (decoded below) : 00000003
Enabled : 1
Hot Pluggable : 1
Non-Volatile : 0
Reserved3 : 0000000000000000
