/*
 * numem/acpi.h - the firmware view: SRAT, SLIT, HMAT, MADT and PPTT exactly as
 * parsed.
 *
 * Parsing never trusts a length or a count.  Each parser validates the whole
 * table first (header, checksum, every subtable's bounds) and only then asks
 * the platform for memory and decodes, so a rejected table leaves nothing
 * behind.  Entries are kept in table order, disabled ones included; each
 * entry records its byte offset so diagnostics and tools can point at it.
 *
 * Checksum: a mismatch is an error (NUMEM_E_CHECKSUM) when `strict` is set,
 * and otherwise a warning recorded in the parsed table (checksum_ok = false),
 * as Linux and Xen accept such tables.
 *
 * The writers build tables a firmware would publish (used by `numem tables`
 * and, later, for a guest's vNUMA tables) into a caller buffer.
 */
#ifndef NUMEM_ACPI_H
#define NUMEM_ACPI_H

#include <numem/platform.h>
#include <numem/types.h>

#define NUMEM_ACPI_HEADER_LEN 36

/* The common ACPI system description table header. */
struct numem_acpi_header {
	char signature[5];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[7];
	char oem_table_id[9];
	uint32_t oem_revision;
	char creator_id[5];
	uint32_t creator_revision;
};

/* SRAT subtable types. */
enum numem_srat_type {
	NUMEM_SRAT_APIC = 0,
	NUMEM_SRAT_MEMORY = 1,
	NUMEM_SRAT_X2APIC = 2,
	NUMEM_SRAT_GICC = 3,
	NUMEM_SRAT_GIC_ITS = 4,
	NUMEM_SRAT_GENERIC_INITIATOR = 5,
	NUMEM_SRAT_GENERIC_PORT = 6,
	NUMEM_SRAT_RINTC = 7,
};

/* Memory affinity flag bits (bits 0, 1, 2 of the table's flags). */
#define NUMEM_SRAT_MEM_ENABLED      0x1u
#define NUMEM_SRAT_MEM_HOTPLUGGABLE 0x2u
#define NUMEM_SRAT_MEM_NONVOLATILE  0x4u

/* A processor entry: types 0 (apic), 2 (x2apic), 3 (gicc), 7 (rintc). */
struct numem_srat_cpu {
	uint8_t type;          /* enum numem_srat_type */
	bool enabled;          /* flags bit 0 */
	uint32_t pxm;          /* proximity domain, see numem_srat_parse() */
	uint32_t id;           /* APIC id (apic, x2apic) or ACPI processor UID */
	uint8_t sapic_eid;     /* type 0 only */
	uint32_t clock_domain; /* types 0, 2, 3, 7 */
	uint32_t offset;       /* byte offset of the subtable in the SRAT */
};

/* A memory affinity entry (type 1). */
struct numem_srat_mem {
	uint32_t pxm;
	uint64_t base;   /* bytes */
	uint64_t length; /* bytes */
	uint32_t flags;  /* NUMEM_SRAT_MEM_* */
	uint32_t offset;
};

/* Any other subtable: GIC ITS (4), generic initiator/port (5, 6), unknown. */
struct numem_srat_other {
	uint8_t type;
	uint8_t length;
	uint32_t pxm;               /* types 4, 5, 6 */
	uint32_t its_id;            /* type 4 */
	uint8_t device_handle_type; /* types 5, 6 */
	uint8_t device_handle[16];  /* types 5, 6 */
	bool enabled;               /* types 5, 6: flags bit 0 */
	uint32_t offset;
};

struct numem_srat {
	struct numem_acpi_header header;
	bool checksum_ok;
	uint32_t table_revision; /* the 4-byte field after the header */
	uint32_t nr_cpu, nr_mem, nr_other;
	struct numem_srat_cpu *cpu;     /* table order */
	struct numem_srat_mem *mem;     /* table order */
	struct numem_srat_other *other; /* table order */
	size_t alloc_bytes;             /* one meta_alloc block holds all three */
};

/* SLIT: `localities` x `localities` distances, row i = from locality i. */
struct numem_slit {
	struct numem_acpi_header header;
	bool checksum_ok;
	uint64_t localities;
	uint8_t *matrix; /* localities * localities bytes; 0xff = unreachable */
	size_t alloc_bytes;
};

static inline uint8_t numem_slit_distance(const struct numem_slit *s, uint64_t from, uint64_t to)
{
	return s->matrix[from * s->localities + to];
}

/* HMAT structure types. */
enum numem_hmat_type {
	NUMEM_HMAT_MPDA = 0,  /* memory proximity domain attributes */
	NUMEM_HMAT_LBI = 1,   /* system locality latency and bandwidth information */
	NUMEM_HMAT_CACHE = 2, /* memory side cache information */
};

/* LBI data types (the table's Data Type field). */
enum numem_hmat_data_type {
	NUMEM_HMAT_ACCESS_LATENCY = 0,
	NUMEM_HMAT_READ_LATENCY = 1,
	NUMEM_HMAT_WRITE_LATENCY = 2,
	NUMEM_HMAT_ACCESS_BANDWIDTH = 3,
	NUMEM_HMAT_READ_BANDWIDTH = 4,
	NUMEM_HMAT_WRITE_BANDWIDTH = 5,
};

struct numem_hmat_mpda {
	uint16_t flags; /* bit 0: initiator_pxm is valid */
	uint32_t initiator_pxm;
	uint32_t memory_pxm;
	uint32_t offset;
};

struct numem_hmat_lbi {
	uint8_t flags;     /* bits 0-3: memory hierarchy (0 = memory, 1..3 = cache level) */
	uint8_t data_type; /* enum numem_hmat_data_type */
	uint8_t min_transfer_size;
	uint32_t nr_initiators, nr_targets;
	uint64_t base_unit; /* entry * base_unit = picoseconds or MB/s */
	uint32_t *initiator_pxm;
	uint32_t *target_pxm;
	uint16_t *entry; /* nr_initiators * nr_targets, row = initiator */
	uint32_t offset;
};

struct numem_hmat_cache {
	uint32_t memory_pxm;
	uint64_t size;       /* bytes */
	uint32_t attributes; /* levels, associativity, write policy, line size */
	uint16_t nr_smbios;
	uint32_t offset;
};

struct numem_hmat {
	struct numem_acpi_header header;
	bool checksum_ok;
	uint32_t nr_mpda, nr_lbi, nr_cache, nr_unknown;
	struct numem_hmat_mpda *mpda;
	struct numem_hmat_lbi *lbi;
	struct numem_hmat_cache *cache;
	size_t alloc_bytes;
};

/* ---- MADT ("APIC"): the processors the firmware brings up ---------------- */

/* MADT interrupt controller structure types numem decodes. */
enum numem_madt_type {
	NUMEM_MADT_LOCAL_APIC = 0x0,   /* Processor Local APIC, 8 bytes */
	NUMEM_MADT_LOCAL_X2APIC = 0x9, /* Processor Local x2APIC, 16 bytes */
	NUMEM_MADT_GICC = 0xb,         /* GIC CPU Interface, 76 (ACPI 5.1) to 82 bytes */
};

/* Processor flags.  Local APIC and x2APIC: Enabled bit 0, Online Capable
 * bit 1; GICC: Enabled bit 0, Online Capable bit 3 (both ACPI 6.5).  Decoded
 * into the two booleans below whatever the entry type. */
#define NUMEM_MADT_ENABLED             0x1u
#define NUMEM_MADT_APIC_ONLINE_CAPABLE 0x2u
#define NUMEM_MADT_GICC_ONLINE_CAPABLE 0x8u

/* One processor entry of the MADT. */
struct numem_madt_cpu {
	uint8_t type;        /* enum numem_madt_type */
	bool enabled;        /* present and usable at boot */
	bool online_capable; /* disabled now, may be brought online later */
	uint32_t id;         /* APIC id (types 0, 9); GICC: the ACPI processor UID */
	uint32_t uid;        /* ACPI processor UID (type 0: one byte) */
	uint64_t mpidr;      /* GICC only */
	uint32_t offset;     /* byte offset of the entry in the MADT */
};

struct numem_madt {
	struct numem_acpi_header header;
	bool checksum_ok;
	uint32_t local_apic_address; /* the 4-byte field after the header */
	uint32_t flags;              /* bit 0: PC-AT compatible 8259s */
	uint32_t nr_cpu;             /* processor entries, table order */
	uint32_t nr_other;           /* every other interrupt controller entry */
	struct numem_madt_cpu *cpu;
	size_t alloc_bytes;
};

/* ---- PPTT: the processor hierarchy -------------------------------------- */

enum numem_pptt_type {
	NUMEM_PPTT_PROCESSOR = 0, /* Processor Hierarchy Node, 20 + 4 * private bytes */
	NUMEM_PPTT_CACHE = 1,     /* Cache Type Structure, 24 bytes (28 from ACPI 6.4) */
	NUMEM_PPTT_ID = 2,        /* ID Structure (ACPI 6.2, later withdrawn), 30 bytes */
};

/* Processor Hierarchy Node flags (ACPI 6.5, table 5.158). */
#define NUMEM_PPTT_PHYSICAL_PACKAGE 0x01u
#define NUMEM_PPTT_ID_VALID         0x02u /* acpi_id is an ACPI processor UID/container id */
#define NUMEM_PPTT_THREAD           0x04u /* the node is a hardware thread */
#define NUMEM_PPTT_LEAF             0x08u
#define NUMEM_PPTT_IDENTICAL        0x10u

struct numem_pptt_node {
	uint32_t flags;         /* NUMEM_PPTT_* */
	uint32_t parent_offset; /* byte offset of the parent node, 0: none */
	int32_t parent;         /* index of the parent in numem_pptt.node, -1: none */
	uint32_t acpi_id;       /* ACPI processor UID of a leaf, container id above */
	uint32_t nr_private;    /* private resources (cache structures) */
	bool is_parent;         /* some node names this one as parent */
	uint32_t offset;        /* byte offset of the node in the PPTT */
};

struct numem_pptt {
	struct numem_acpi_header header;
	bool checksum_ok;
	uint32_t nr_node, nr_cache, nr_other;
	struct numem_pptt_node *node; /* processor hierarchy nodes, table order */
	size_t alloc_bytes;
};

/* Parse options. */
#define NUMEM_ACPI_STRICT 0x1u /* a checksum mismatch is an error */

/*
 * Check the header of any ACPI table: enough bytes for a header, the header's
 * length within `len`, the signature `sig` (4 chars), and the checksum.
 * Fills `hdr`.  Used by all three parsers.
 */
enum numem_err numem_acpi_check_header(const void *table, size_t len, const char *sig,
                                       unsigned flags, struct numem_acpi_header *hdr,
                                       bool *checksum_ok, struct numem_diag *diag);

/*
 * Parse an SRAT.  On success *out is filled (arrays from plat->meta_alloc)
 * and must be released with numem_srat_release().  On failure nothing is
 * allocated and diag says which byte offset was wrong.
 *
 * Proximity domains follow Linux and Xen: in an SRAT of revision 1, type 0
 * and type 1 entries define only the low 8 bits; from revision 2 on, type 0
 * is Low(8) | High(24) << 8 and type 1 uses all 32 bits.
 */
enum numem_err numem_srat_parse(const void *table, size_t len, unsigned flags,
                                const struct numem_platform *plat, struct numem_srat *out,
                                struct numem_diag *diag);
void numem_srat_release(const struct numem_platform *plat, struct numem_srat *srat);

enum numem_err numem_slit_parse(const void *table, size_t len, unsigned flags,
                                const struct numem_platform *plat, struct numem_slit *out,
                                struct numem_diag *diag);
void numem_slit_release(const struct numem_platform *plat, struct numem_slit *slit);

enum numem_err numem_hmat_parse(const void *table, size_t len, unsigned flags,
                                const struct numem_platform *plat, struct numem_hmat *out,
                                struct numem_diag *diag);
void numem_hmat_release(const struct numem_platform *plat, struct numem_hmat *hmat);

/*
 * Parse an MADT.  Processor entries (types 0, 9, 0xB) are decoded and kept in
 * table order, disabled ones included; the other interrupt controller
 * structures are only bounds-checked and counted.  Same error discipline as
 * numem_srat_parse(): nothing allocated on failure, diag names the offset.
 */
enum numem_err numem_madt_parse(const void *table, size_t len, unsigned flags,
                                const struct numem_platform *plat, struct numem_madt *out,
                                struct numem_diag *diag);
void numem_madt_release(const struct numem_platform *plat, struct numem_madt *madt);

/*
 * Parse a PPTT.  Processor hierarchy nodes are decoded in table order; cache
 * and ID structures are bounds-checked and counted.  Each node's parent must
 * be 0 or the offset of another processor hierarchy node, and following
 * parents must end (no cycle); a node's private resources must lie inside
 * the table.  The parent check runs on the decoded array, which is freed
 * again when it fails: on failure nothing stays allocated.
 */
enum numem_err numem_pptt_parse(const void *table, size_t len, unsigned flags,
                                const struct numem_platform *plat, struct numem_pptt *out,
                                struct numem_diag *diag);
void numem_pptt_release(const struct numem_platform *plat, struct numem_pptt *pptt);

/*
 * Table writers.  Each writes a complete table (header with OEM ids "NUMEM ",
 * checksum set) into buf and stores its length in *len_out.  With buf NULL
 * (or too small: NUMEM_E_NOSPACE) only the needed length is stored.
 */
enum numem_err numem_srat_write(const struct numem_srat *srat, void *buf, size_t cap,
                                size_t *len_out);
enum numem_err numem_slit_write(const struct numem_slit *slit, void *buf, size_t cap,
                                size_t *len_out);
enum numem_err numem_hmat_write(const struct numem_hmat *hmat, void *buf, size_t cap,
                                size_t *len_out);
/* A MADT of the processor entries only (local APIC 8 bytes, x2APIC 16, GICC
 * 80), revision 5; other interrupt controllers are not written.  An entry of
 * another type: NUMEM_E_INVAL. */
enum numem_err numem_madt_write(const struct numem_madt *madt, void *buf, size_t cap,
                                size_t *len_out);
/* A PPTT of processor hierarchy nodes only (20 bytes each, no private
 * resources), revision 2, in array order; each node's parent is written as
 * the byte offset of node[parent] (-1: 0).  A parent index out of range or
 * naming the node itself: NUMEM_E_INVAL. */
enum numem_err numem_pptt_write(const struct numem_pptt *pptt, void *buf, size_t cap,
                                size_t *len_out);

#endif /* NUMEM_ACPI_H */
