/* HMAT: two memory domains attached to initiators 0 and 1, access latency
 * and bandwidth matrices (2 initiators x 2 targets) and a memory-side cache. */
Signature : "HMAT"
Table Length : 00000000
Revision : 02
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "HMAT2N  "
Oem Revision : 00000001
Asl Compiler ID : "INTL"
Asl Compiler Revision : 20200925
Reserved : 00000000

Structure Type : 0000
Reserved : 0000
Length : 00000028
Flags (decoded below) : 0001
Processor Proximity Domain Valid : 1
Reserved1 : 0000
Attached Initiator Proximity Domain : 00000000
Memory Proximity Domain : 00000000
Reserved2 : 00000000
Reserved3 : 0000000000000000
Reserved4 : 0000000000000000

Structure Type : 0000
Reserved : 0000
Length : 00000028
Flags (decoded below) : 0001
Processor Proximity Domain Valid : 1
Reserved1 : 0000
Attached Initiator Proximity Domain : 00000001
Memory Proximity Domain : 00000001
Reserved2 : 00000000
Reserved3 : 0000000000000000
Reserved4 : 0000000000000000

Structure Type : 0001
Reserved : 0000
Length : 00000034
Flags (decoded below) : 00
Memory Hierarchy : 0
Data Type : 00
Reserved1 : 0000
Initiator Proximity Domains # : 00000002
Target Proximity Domains # : 00000002
Reserved2 : 00000000
Entry Base Unit : 00000000000003E8
Initiator Proximity Domain List : 00000000
Initiator Proximity Domain List : 00000001
Target Proximity Domain List : 00000000
Target Proximity Domain List : 00000001
Entry : 0064
Entry : 00D2
Entry : 00D2
Entry : 0064

Structure Type : 0002
Reserved : 0000
Length : 00000022
Memory Proximity Domain : 00000001
Reserved1 : 00000000
Memory Side Cache Size : 0000000040000000
Cache Attributes (decoded below) : 00401111
Total Cache Levels : 1
Cache Level : 1
Cache Associativity : 1
Write Policy : 1
Cache Line Size : 0040
Reserved2 : 0000
SMBIOS Handle # : 0001
SMBIOS Handle : 0000
