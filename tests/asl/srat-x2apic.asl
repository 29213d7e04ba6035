/* SRAT: x2APIC ids above 255 and a proximity domain above 255 */
Signature : "SRAT"
Table Length : 00000000
Revision : 03
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "X2APIC"
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

Subtable Type : 02
Length : 18
Reserved1 : 0000
Proximity Domain : 00000000
Apic ID : 00000100
Flags (decoded below) : 00000001
Enabled : 1
Clock Domain : 00000000
Reserved2 : 00000000

Subtable Type : 02
Length : 18
Reserved1 : 0000
Proximity Domain : 0000012C
Apic ID : 000001FF
Flags (decoded below) : 00000001
Enabled : 1
Clock Domain : 00000000
Reserved2 : 00000000

Subtable Type : 02
Length : 18
Reserved1 : 0000
Proximity Domain : 0000012C
Apic ID : 00000FFF
Flags (decoded below) : 00000001
Enabled : 1
Clock Domain : 00000000
Reserved2 : 00000000

Subtable Type : 02
Length : 18
Reserved1 : 0000
Proximity Domain : 0000012C
Apic ID : FFFFFFFF
Flags (decoded below) : 00000000
Enabled : 0
Clock Domain : 00000000
Reserved2 : 00000000

Subtable Type : 00
Length : 10
Proximity Domain Low(8) : 2C
Apic ID : FF
Flags (decoded below) : 00000000
Enabled : 0
Local Sapic EID : 00
Proximity Domain High(24) : 000001
Clock Domain : 00000000

Subtable Type : 01
Length : 28
Proximity Domain : 00000000
Reserved1 : 0000
Base Address : 0000000000000000
Address Length : 0000000080000000
Reserved2 : 00000000
Flags (decoded below) : 00000001
Enabled : 1
Hot Pluggable : 0
Non-Volatile : 0
Reserved3 : 0000000000000000

Subtable Type : 01
Length : 28
Proximity Domain : 0000012C
Reserved1 : 0000
Base Address : 0000000080000000
Address Length : 0000000080000000
Reserved2 : 00000000
Flags (decoded below) : 00000001
Enabled : 1
Hot Pluggable : 0
Non-Volatile : 0
Reserved3 : 0000000000000000
