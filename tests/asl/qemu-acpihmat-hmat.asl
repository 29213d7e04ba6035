/* QEMU "acpihmat"'s HMAT (hw/acpi/hmat.c): an attributes structure per
 * node (node 1 attached to initiator 0); access latency 1 and 65534 ns
 * (base unit 1 ns = 1000 ps); access bandwidth 65534M and 32767M bytes/s
 * (base: the lowest bit set, 1 MiB/s, written as 1 MB/s); initiators: the
 * nodes with CPUs (0); targets: every node; a 10 KiB direct-mapped
 * write-back level-1 cache with 8-byte lines on each node */
Signature : "HMAT"
Table Length : 00000000
Revision : 02
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "ACPIHMAT"
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
Attached Initiator Proximity Domain : 00000000
Memory Proximity Domain : 00000001
Reserved2 : 00000000
Reserved3 : 0000000000000000
Reserved4 : 0000000000000000

Structure Type : 0001
Reserved : 0000
Length : 00000030
Flags (decoded below) : 00
Memory Hierarchy : 0
Data Type : 00
Reserved1 : 0000
Initiator Proximity Domains # : 00000001
Target Proximity Domains # : 00000002
Reserved2 : 00000000
Entry Base Unit : 00000000000003E8
Initiator Proximity Domain List : 00000000
Target Proximity Domain List : 00000000
Target Proximity Domain List : 00000001
Entry : 0001
Entry : FFFE

Structure Type : 0001
Reserved : 0000
Length : 00000030
Flags (decoded below) : 00
Memory Hierarchy : 0
Data Type : 03
Reserved1 : 0000
Initiator Proximity Domains # : 00000001
Target Proximity Domains # : 00000002
Reserved2 : 00000000
Entry Base Unit : 0000000000000001
Initiator Proximity Domain List : 00000000
Target Proximity Domain List : 00000000
Target Proximity Domain List : 00000001
Entry : FFFE
Entry : 7FFF

Structure Type : 0002
Reserved : 0000
Length : 00000020
Memory Proximity Domain : 00000000
Reserved1 : 00000000
Memory Side Cache Size : 0000000000002800
Cache Attributes (decoded below) : 00081111
Total Cache Levels : 1
Cache Level : 1
Cache Associativity : 1
Write Policy : 1
Cache Line Size : 0008
Reserved2 : 0000
SMBIOS Handle # : 0000

Structure Type : 0002
Reserved : 0000
Length : 00000020
Memory Proximity Domain : 00000001
Reserved1 : 00000000
Memory Side Cache Size : 0000000000002800
Cache Attributes (decoded below) : 00081111
Total Cache Levels : 1
Cache Level : 1
Cache Associativity : 1
Write Policy : 1
Cache Line Size : 0008
Reserved2 : 0000
SMBIOS Handle # : 0000
