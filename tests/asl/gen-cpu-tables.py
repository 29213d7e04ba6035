#!/usr/bin/env python3
"""gen-cpu-tables.py - writes the MADT/PPTT/SRAT test tables of issue 9 as
ASL data tables (tests/asl/*.asl), which iasl compiles at build time.

The tables are long and regular (one entry per CPU), so they are generated;
the generated .asl files are committed and are what the build uses.  Run
from tests/asl/ after changing this script.  Layouts from ACPI 6.5: MADT
5.2.12 (Processor Local APIC 0, Processor Local x2APIC 9, GICC 0xB; Enabled
bit 0, Online Capable bit 1, GICC Online Capable bit 3), PPTT 5.2.30
(Processor Hierarchy Node: Physical Package bit 0, ACPI Processor ID valid
bit 1, Processor is a Thread bit 2, Node is a Leaf bit 3, Identical bit 4;
Parent = byte offset of the parent node).
"""

HDR = """/* {title} */
Signature : "{sig}"
Table Length : 00000000
Revision : {rev:02X}
Checksum : 00
Oem ID : "NUMEM "
Oem Table ID : "{tid}"
Oem Revision : 00000001
Asl Compiler ID : "INTL"
Asl Compiler Revision : 20200925
"""


def madt_header(title, tid):
    return HDR.format(title=title, sig="APIC", rev=5, tid=tid) + (
        "\nLocal Apic Address : FEE00000\nFlags (decoded below) : 00000001\n"
        "PC-AT Compatibility : 1\n")


def lapic(uid, apic, flags):
    return (f"\nSubtable Type : 00\nLength : 08\nProcessor ID : {uid:02X}\n"
            f"Local Apic ID : {apic:02X}\nFlags (decoded below) : {flags:08X}\n"
            f"Processor Enabled : {flags & 1}\nRuntime Online Capable : {flags >> 1 & 1}\n")


def x2apic(uid, apic, flags):
    return (f"\nSubtable Type : 09\nLength : 10\nReserved : 0000\n"
            f"Processor x2Apic ID : {apic:08X}\nFlags (decoded below) : {flags:08X}\n"
            f"Processor Enabled : {flags & 1}\nProcessor UID : {uid:08X}\n")


def ioapic():
    return ("\nSubtable Type : 01\nLength : 0C\nI/O Apic ID : 00\nReserved : 00\n"
            "Address : FEC00000\nInterrupt : 00000000\n")


def gicc(uid, mpidr, flags):
    return (f"\nSubtable Type : 0B\nLength : 50\nReserved : 0000\n"
            f"CPU Interface Number : {uid:08X}\nProcessor UID : {uid:08X}\n"
            f"Flags (decoded below) : {flags:08X}\nProcessor Enabled : {flags & 1}\n"
            "Performance Interrupt Trigger Mode : 0\nVirtual GIC Interrupt Trigger Mode : 0\n"
            "Parking Protocol Version : 00000000\nPerformance Interrupt : 00000017\n"
            "Parked Address : 0000000000000000\nBase Address : 0000000000000000\n"
            "Virtual GIC Base Address : 0000000000000000\n"
            "Hypervisor GIC Base Address : 0000000000000000\nVirtual GIC Interrupt : 00000019\n"
            f"Redistributor Base Address : 0000000000000000\nARM MPIDR : {mpidr:016X}\n"
            "Efficiency Class : 00\nReserved : 00\nSPE Overflow Interrupt : 0000\n")


def gicd():
    return ("\nSubtable Type : 0C\nLength : 18\nReserved : 0000\n"
            "Local GIC Hardware ID : 00000000\nBase Address : 000000002F000000\n"
            "Interrupt Base : 00000000\nVersion : 03\nReserved : 000000\n")


class Pptt:
    """Processor hierarchy nodes (and caches) laid out at known offsets."""

    def __init__(self, title, tid):
        self.text = HDR.format(title=title, sig="PPTT", rev=2, tid=tid)
        self.off = 36

    def node(self, flags, parent, acpi_id, private=()):
        off = self.off
        names = ["Physical package", "ACPI Processor ID valid", "Processor is a thread",
                 "Node is a leaf", "Identical Implementation"]
        self.text += (f"\nSubtable Type : 00\nLength : {20 + 4 * len(private):02X}\n"
                      f"Reserved : 0000\nFlags (decoded below) : {flags:08X}\n")
        for i, n in enumerate(names):
            self.text += f"{n} : {flags >> i & 1}\n"
        self.text += (f"Parent : {parent:08X}\nACPI Processor ID : {acpi_id:08X}\n"
                      f"Private Resource Number : {len(private):08X}\n")
        for p in private:
            self.text += f"Private Resource : {p:08X}\n"
        self.off += 20 + 4 * len(private)
        return off

    def cache(self, size):
        off = self.off
        self.text += ("\nSubtable Type : 01\nLength : 18\nReserved : 0000\n"
                      "Flags (decoded below) : 0000007F\nSize valid : 1\n"
                      "Number of Sets valid : 1\nAssociativity valid : 1\n"
                      "Allocation Type valid : 1\nCache Type valid : 1\n"
                      "Write Policy valid : 1\nLine Size valid : 1\n"
                      f"Next Level of Cache : 00000000\nSize : {size:08X}\n"
                      f"Number of Sets : {size // 64 // 16:08X}\nAssociativity : 10\n"
                      "Attributes : 0A\nAllocation Type : 2\nCache Type : 2\n"
                      "Write Policy : 0\nLine Size : 0040\n")
        self.off += 24
        return off


PACKAGE, ID_VALID, THREAD, LEAF = 1, 2, 4, 8


def srat_header(title, tid, rev=3):
    return HDR.format(title=title, sig="SRAT", rev=rev, tid=tid) + (
        "Table Revision : 00000001\nReserved : 0000000000000000\n")


def srat_x2apic(pxm, apic):
    return (f"\nSubtable Type : 02\nLength : 18\nReserved1 : 0000\n"
            f"Proximity Domain : {pxm:08X}\nApic ID : {apic:08X}\n"
            "Flags (decoded below) : 00000001\nEnabled : 1\nClock Domain : 00000000\n"
            "Reserved2 : 00000000\n")


def srat_apic(pxm, apic):
    return (f"\nSubtable Type : 00\nLength : 10\nProximity Domain Low(8) : {pxm:02X}\n"
            f"Apic ID : {apic:02X}\nFlags (decoded below) : 00000001\nEnabled : 1\n"
            "Local Sapic EID : 00\nProximity Domain High(24) : 000000\n"
            "Clock Domain : 00000000\n")


def srat_gicc(pxm, uid):
    return (f"\nSubtable Type : 03\nLength : 12\nProximity Domain : {pxm:08X}\n"
            f"Acpi Processor UID : {uid:08X}\nFlags (decoded below) : 00000001\n"
            "Enabled : 1\nClock Domain : 00000000\n")


def srat_mem(pxm, base, length, flags=1):
    return (f"\nSubtable Type : 01\nLength : 28\nProximity Domain : {pxm:08X}\n"
            f"Reserved1 : 0000\nBase Address : {base:016X}\nAddress Length : {length:016X}\n"
            f"Reserved2 : 00000000\nFlags (decoded below) : {flags:08X}\n"
            f"Enabled : {flags & 1}\nHot Pluggable : {flags >> 1 & 1}\n"
            f"Non-Volatile : {flags >> 2 & 1}\nReserved3 : 0000000000000000\n")


G = 1 << 30


def two_socket_ht():
    """2 sockets x 10 cores x 2 threads, Intel-style APIC ids
    (package << 5 | core << 1 | thread), firmware order: the first thread of
    every core, then the second threads; plus 2 online-capable spares."""
    cpus = []  # (uid, apic, socket, core, thread)
    uid = 0
    for t in range(2):
        for s in range(2):
            for c in range(10):
                cpus.append((uid, s << 5 | c << 1 | t, s, c, t))
                uid += 1
    madt = madt_header("MADT: 2 sockets x 10 cores x 2 threads, x2APIC entries, "
                       "2 online-capable spares", "2SHT")
    for u, a, *_ in cpus:
        madt += x2apic(u, a, 1)
    # iasl 20200925 has no Online Capable bit for x2APIC entries: the spares
    # are local APIC entries, which it has.
    madt += lapic(40, 0x40, 2) + lapic(41, 0x41, 2) + ioapic()
    p = Pptt("PPTT: 2 packages x 10 cores x 2 threads, an L3 per package", "2SHT")
    for s in range(2):
        l3 = p.cache(32 << 20)
        pkg = p.node(PACKAGE, 0, s, [l3])
        for c in range(10):
            core = p.node(0, pkg, c)
            for u, a, s2, c2, t in cpus:
                if s2 == s and c2 == c:
                    p.node(THREAD | LEAF | ID_VALID, core, u)
    srat = srat_header("SRAT: 2 sockets with Hyper-Threading, x2APIC affinity", "2SHT")
    for u, a, s, c, t in sorted(cpus, key=lambda x: x[1]):
        srat += srat_x2apic(s, a)
    srat += srat_mem(0, 0, 16 * G) + srat_mem(1, 16 * G, 16 * G)
    nocpu = srat_header("SRAT: the 2-socket machine's memory, no processor entries", "NOCPU")
    nocpu += srat_mem(0, 0, 16 * G) + srat_mem(1, 16 * G, 16 * G)
    return madt, p.text, srat, nocpu


def h8qg6():
    """A 4-package Opteron 6100 machine like the corpus Supermicro H8QG6: 2
    dies of 6 cores per package; each die is a node whose SRAT (the corpus
    one) lists APIC ids base..base+7, of which the 6 cores base..base+5
    exist here.  (The corpus board itself has Opteron 6200s, 8 cores per
    die: its real MADT is tests/tables/supermicro-h8qg6-a-APIC.bin.)"""
    bases = [32, 40, 64, 72, 96, 104, 128, 136]
    madt = madt_header("MADT: Supermicro H8QG6, 4 packages x 2 dies x 6 cores, local APIC",
                       "H8QG6")
    uid = 0
    for b in bases:
        for i in range(6):
            madt += lapic(uid, b + i, 1)
            uid += 1
    madt += ioapic()
    p = Pptt("PPTT: Supermicro H8QG6, 4 packages x 2 dies (clusters) x 6 cores", "H8QG6")
    uid = 0
    for pk in range(4):
        pkg = p.node(PACKAGE | ID_VALID, 0, pk)
        for d in range(2):
            die = p.node(ID_VALID, pkg, pk * 2 + d)
            for i in range(6):
                p.node(LEAF | ID_VALID, die, uid)
                uid += 1
    return madt, p.text


def h8qg6_6200():
    """The PPTT the corpus Supermicro H8QG6 would have with its real MADT
    (tests/tables/supermicro-h8qg6-a-APIC.bin: 64 enabled local APICs, UIDs
    1..64, APIC ids 0x20-0x2F, 0x40-0x4F, 0x60-0x6F, 0x80-0x8F, one die of 8
    per SRAT node): 4 Opteron 6200 packages x 2 dies (clusters) x 8 cores.
    The firmware (2011) has no PPTT; this one is written for the test."""
    p = Pptt("PPTT: Supermicro H8QG6 with Opteron 6200, 4 packages x 2 dies x 8 cores",
             "H8QG62")
    uid = 1
    for pk in range(4):
        pkg = p.node(PACKAGE | ID_VALID, 0, pk)
        for d in range(2):
            die = p.node(ID_VALID, pkg, pk * 2 + d)
            for i in range(8):
                p.node(LEAF | ID_VALID, die, uid)
                uid += 1
    return p.text


def x10dai():
    """The PPTT the corpus Supermicro X10DAi would have with its real MADT
    (tests/tables/supermicro-x10dai-APIC.bin: 40 local APICs whose UID is
    the APIC id; package << 5 | core << 1 | thread, the 10 cores of a
    Haswell-EP package at core ids 0-4 and 8-12): 2 packages x 10 cores x 2
    threads.  The firmware has no PPTT; this one is written for the test."""
    p = Pptt("PPTT: Supermicro X10DAi, 2 packages x 10 cores x 2 threads", "X10DAI")
    for s in range(2):
        pkg = p.node(PACKAGE | ID_VALID, 0, s)
        for c in [0, 1, 2, 3, 4, 8, 9, 10, 11, 12]:
            core = p.node(ID_VALID, pkg, c)
            for t in range(2):
                p.node(THREAD | LEAF | ID_VALID, core, s << 5 | c << 1 | t)
    return p.text


def arm64():
    """An arm64 machine: 1 package, 2 clusters of 4 cores, GICC; each cluster
    one node; one more GICC disabled but online-capable."""
    madt = madt_header("MADT: arm64, 8 GICC (2 clusters x 4) + 1 online-capable", "ARM64")
    for u in range(8):
        madt += gicc(u, (u // 4) << 8 | (u % 4), 1)
    # Disabled; iasl 20200925 cannot set the GICC Online Capable bit (3), so
    # test_acpi sets it in the compiled bytes.
    madt += gicc(8, 2 << 8, 0) + gicd()
    p = Pptt("PPTT: arm64, 1 package x 2 clusters x 4 cores", "ARM64")
    pkg = p.node(PACKAGE, 0, 0)
    for cl in range(2):
        l2 = p.cache(1 << 20)
        cluster = p.node(0, pkg, cl, [l2])
        for i in range(4):
            p.node(LEAF | ID_VALID, cluster, cl * 4 + i)
    srat = srat_header("SRAT: arm64, one node per cluster, GICC affinity", "ARM64")
    for u in range(8):
        srat += srat_gicc(u // 4, u)
    srat += srat_mem(0, 0x80000000, 4 * G) + srat_mem(1, 0x180000000, 4 * G)
    return madt, p.text, srat


def qemu_nvdimm():
    """QEMU's SRAT (hw/i386/acpi-build.c build_srat) for
      -machine pc,nvdimm=on -m 2G,slots=3,maxmem=8G -smp 2
      -numa node,nodeid=0,cpus=0,mem=1G -numa node,nodeid=1,cpus=1,mem=1G
      -object memory-backend-ram,id=m0,size=512M -device nvdimm,memdev=m0,node=0
      -object memory-backend-ram,id=m1,size=1G -device pc-dimm,memdev=m1,node=1
    Layout: a processor entry per CPU; node 0's RAM split around the
    640 KiB - 1 MiB hole; node 1's RAM; disabled zero entries padding the
    memory entries to nodes + 2; an NV entry for the NVDIMM (node 0) at the
    start of the device-memory window; last the hot-plug window on the last
    node: base 4 GiB (RAM all below 4 GiB), size maxmem - ram + 1 GiB per slot
    = 9 GiB.  The pc-dimm has no SRAT entry of its own (its node comes from
    _PXM); it sits in the window after the NVDIMM, at 5 GiB."""
    s = srat_header("SRAT: QEMU pc, nvdimm=on, pc-dimm and NVDIMM on different nodes "
                    "inside the hot-plug window", "QEMUNVD", rev=1)
    s += srat_apic(0, 0) + srat_apic(1, 1)
    s += srat_mem(0, 0, 0xA0000) + srat_mem(0, 0x100000, G - 0x100000) + srat_mem(1, G, G)
    s += srat_mem(0, 0, 0, 0)
    s += srat_mem(0, 4 * G, G // 2, 5)
    s += srat_mem(1, 4 * G, 9 * G, 3)
    return s


def write(name, text):
    with open(name, "w") as f:
        f.write("/* generated by gen-cpu-tables.py; edit that and run it again */\n" + text)


madt, pptt, srat, nocpu = two_socket_ht()
write("madt-2s-ht.asl", madt)
write("pptt-2s-ht.asl", pptt)
write("srat-2s-ht.asl", srat)
write("srat-2s-nocpu.asl", nocpu)
write("pptt-h8qg6-6200.asl", h8qg6_6200())
write("pptt-x10dai.asl", x10dai())
madt, pptt = h8qg6()
write("madt-h8qg6.asl", madt)
write("pptt-h8qg6.asl", pptt)
madt, pptt, srat = arm64()
write("madt-arm64.asl", madt)
write("pptt-arm64.asl", pptt)
write("srat-arm64.asl", srat)
write("srat-qemu-nvdimm.asl", qemu_nvdimm())
