/* SLIT for srat-memoryless: 3 is closest to 2 */
Signature : "SLIT"
Table Length : 00000000
Revision : 01
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "MEMLESS"
Oem Revision : 00000001
Asl Compiler ID : "INTL"
Asl Compiler Revision : 20200925
Localities : 0000000000000004
Locality   0 : 0A 10 20 20
Locality   1 : 10 0A 20 20
Locality   2 : 20 20 0A 10
Locality   3 : 20 20 10 0A
