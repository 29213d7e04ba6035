/* QEMU q35 "memhp": -numa dist,src=0,dst=1,val=21 (the reverse follows) */
Signature : "SLIT"
Table Length : 00000000
Revision : 01
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "MEMHP   "
Oem Revision : 00000001
Asl Compiler ID : "INTL"
Asl Compiler Revision : 20200925
Localities : 0000000000000002
Locality   0 : 0A 15
Locality   0 : 15 0A
