/* SRAT: Arm GICC entries, GIC ITS and a generic initiator domain */
Signature : "SRAT"
Table Length : 00000000
Revision : 03
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "GICC"
Oem Revision : 00000001
Asl Compiler ID : "INTL"
Asl Compiler Revision : 20200925
Table Revision : 00000001
Reserved : 0000000000000000

Subtable Type : 03
Length : 12
Proximity Domain : 00000000
Acpi Processor UID : 00000000
Flags (decoded below) : 00000001
Enabled : 1
Clock Domain : 00000000

Subtable Type : 03
Length : 12
Proximity Domain : 00000000
Acpi Processor UID : 00000001
Flags (decoded below) : 00000001
Enabled : 1
Clock Domain : 00000000

Subtable Type : 03
Length : 12
Proximity Domain : 00000001
Acpi Processor UID : 00000100
Flags (decoded below) : 00000001
Enabled : 1
Clock Domain : 00000000

Subtable Type : 03
Length : 12
Proximity Domain : 00000001
Acpi Processor UID : 00000101
Flags (decoded below) : 00000001
Enabled : 1
Clock Domain : 00000000

Subtable Type : 04
Length : 0C
Proximity Domain : 00000000
Reserved : 0000
ITS ID : 00000000

Subtable Type : 04
Length : 0C
Proximity Domain : 00000001
Reserved : 0000
ITS ID : 00000001

Subtable Type : 05
Length : 20
Reserved1 : 00
Device Handle Type : 01
Proximity Domain : 00000002
Device Handle : 00 00 21 00 00 00 00 00 00 00 00 00 00 00 00 00
Flags (decoded below) : 00000001
Enabled : 1
Reserved2 : 00000000

Subtable Type : 01
Length : 28
Proximity Domain : 00000000
Reserved1 : 0000
Base Address : 0000000080000000
Address Length : 0000000100000000
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
Base Address : 0000008000000000
Address Length : 0000000100000000
Reserved2 : 00000000
Flags (decoded below) : 00000001
Enabled : 1
Hot Pluggable : 0
Non-Volatile : 0
Reserved3 : 0000000000000000
