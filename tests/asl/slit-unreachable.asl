/* SLIT for srat-pxm-gaps: 6 localities, 1/3/4 unused, 5 cannot reach 0 */
Signature : "SLIT"
Table Length : 00000000
Revision : 01
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "PXMGAPS"
Oem Revision : 00000001
Asl Compiler ID : "INTL"
Asl Compiler Revision : 20200925
Localities : 0000000000000006
Locality   0 : 0A 14 15 14 14 FF
Locality   1 : 14 0A 14 14 14 14
Locality   2 : 15 14 0A 14 14 1F
Locality   3 : 14 14 14 0A 14 14
Locality   4 : 14 14 14 14 0A 14
Locality   5 : FF 14 1F 14 14 0A
