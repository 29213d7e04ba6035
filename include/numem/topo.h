/*
 * numem/topo.h - NUMA topology: nodes, cpu <-> node, distances, memory ranges.
 *
 * Built once at boot from the firmware view (numem/acpi.h) and, optionally, an
 * e820-style list of RAM ranges.  The result is read-only afterwards; the
 * fields are public because every later layer (frame table, heap, domains)
 * reads them on its own paths.
 *
 * Rules (docs/ARCHITECTURE.md has the long form):
 *  - Node ids are dense, given in order of first appearance of a proximity
 *    domain, in Linux's pass order: enabled processor entries (table order),
 *    then enabled memory entries, then enabled generic initiators/ports.
 *  - RAM is the e820 list when given, else the SRAT's enabled memory ranges
 *    that are neither hot-pluggable nor non-volatile.  Hot-pluggable and
 *    non-volatile ranges stay in the node's range list, marked, as not RAM.
 *  - Distances come from the SLIT when it is valid (diagonal 10, others > 10
 *    or 0xff), else 10 local / 20 remote.  0xff means unreachable.
 *  - Every node has nearest_mem: itself when it has RAM, else the reachable
 *    node with RAM at the least distance (ties: lowest id).
 *  - Fallback order per node: nodes with RAM, by distance then node id,
 *    unreachable ones left out.
 *  - Overlap follows Linux: only ranges holding RAM that overlap across
 *    domains invalidate the SRAT; overlapping hot-pluggable / non-volatile
 *    ranges are kept and flagged NUMEM_RANGE_OVERLAP.
 *  - No SRAT, or one that fails validation (overlapping RAM of different
 *    domains, RAM not covered, too many domains, no memory entries), gives one
 *    node holding all CPUs and RAM; single_node, fallback_reason and
 *    fallback_msg say why.
 *    With NUMEM_TOPO_STRICT those are errors instead.
 */
#ifndef NUMEM_TOPO_H
#define NUMEM_TOPO_H

#include <numem/acpi.h>
#include <numem/platform.h>
#include <numem/types.h>

#define NUMEM_LOCAL_DISTANCE  10
#define NUMEM_REMOTE_DISTANCE 20
#define NUMEM_UNREACHABLE     0xff

/* Options for numem_topo_build(). */
#define NUMEM_TOPO_STRICT          0x1u /* validation failures are errors */
#define NUMEM_TOPO_HIDE_MEMORYLESS 0x2u /* x86 way: CPUs of memoryless nodes join nearest */
#define NUMEM_TOPO_NUMA_OFF        0x4u /* ignore the SRAT: one node */

/* Range flags. */
#define NUMEM_RANGE_RAM         0x1u
#define NUMEM_RANGE_HOTPLUG     0x2u
#define NUMEM_RANGE_NONVOLATILE 0x4u
/* A non-RAM (hot-pluggable or non-volatile) range that overlapped a range of
 * another node in the SRAT.  As Linux does, such ranges do not invalidate
 * the SRAT; the overlapped part goes to one of them (RAM first, then the
 * shorter range, then the earlier entry) and both keep the flag. */
#define NUMEM_RANGE_OVERLAP 0x8u

/* A CPU's socket, core, thread or cluster when nothing says. */
#define NUMEM_CPU_UNKNOWN 0xffffffffu

/* One physical range owned by a node.  [base, end) in bytes. */
struct numem_mem_range {
	uint64_t base, end;
	numem_nid_t node;
	uint8_t flags; /* NUMEM_RANGE_* */
};

/* The whole pages of a range, [*first, *last) in pfns (a partial page at
 * either end is not RAM the allocator can use).  False for a range that is
 * not RAM or holds no whole page. */
static inline bool numem_range_pfns(const struct numem_mem_range *r, uint64_t *first,
                                    uint64_t *last)
{
	*first = (r->base + NUMEM_PAGE_SIZE - 1) >> NUMEM_PAGE_SHIFT;
	*last = r->end >> NUMEM_PAGE_SHIFT;
	return (r->flags & NUMEM_RANGE_RAM) && *first < *last;
}

/* Where a CPU came from in the firmware.  socket, cluster, core and thread
 * are NUMEM_CPU_UNKNOWN unless a table (PPTT), the host (sysfs) or the
 * machine's description says; numem never derives them from nodes. */
struct numem_cpu_desc {
	uint32_t hw_id;   /* APIC id, x2APIC id or ACPI processor UID */
	uint8_t type;     /* enum numem_srat_type (APIC when there is no SRAT) */
	numem_nid_t node; /* cpu_to_node */
	uint32_t uid;     /* ACPI processor UID (MADT), or NUMEM_CPU_UNKNOWN */
	uint32_t socket;  /* package: dense index (PPTT) or the host's package id */
	uint32_t cluster; /* PPTT: index of the cluster within the socket */
	uint32_t core;    /* index of the core within the socket (PPTT), host core id */
	uint32_t thread;  /* index of the thread within the core */
};

/* Where the CPU topology (socket/core/thread) came from. */
enum numem_cpu_topo_source {
	NUMEM_CPU_TOPO_NONE = 0, /* unknown */
	NUMEM_CPU_TOPO_PPTT = 1, /* the PPTT, CPUs matched through the MADT */
	NUMEM_CPU_TOPO_HOST = 2, /* sysfs cpu topology of this host */
	NUMEM_CPU_TOPO_SPEC = 3, /* the machine description (cpus_per_socket) */
};

/* Why the machine is one node (fallback_reason says the error when the
 * SRAT was rejected). */
enum numem_single_node {
	NUMEM_SINGLE_NONE = 0,     /* NUMA in use */
	NUMEM_SINGLE_NO_SRAT = 1,  /* no SRAT given */
	NUMEM_SINGLE_NUMA_OFF = 2, /* NUMEM_TOPO_NUMA_OFF */
	NUMEM_SINGLE_INVALID = 3,  /* the SRAT failed validation */
};

struct numem_node {
	uint32_t pxm;            /* proximity domain (for emulated nodes: the parent's) */
	numem_nid_t phys_node;   /* emulated nodes: the node it was cut from; else itself */
	numem_nid_t nearest_mem; /* numa_mem_id(): where this node's CPUs allocate */
	uint32_t nr_cpus;
	uint64_t ram_pages; /* present RAM in pages */
	uint64_t start_pfn; /* lowest RAM pfn (0 when no RAM) */
	uint64_t end_pfn;   /* one past the highest RAM pfn */
	uint32_t nr_fallback;
	numem_nid_t fallback[NUMEM_MAX_NODES]; /* nodes with RAM, nearest first */
	bool generic_initiator;                /* an SRAT type 5/6 entry names this domain */
};

/* Why a machine fell back to a single node (NUMEM_OK: it did not). */
struct numem_topo {
	uint32_t nr_nodes;
	struct numem_node node[NUMEM_MAX_NODES];
	uint8_t distance[NUMEM_MAX_NODES][NUMEM_MAX_NODES];
	bool distance_from_slit;
	bool have_srat; /* an SRAT was given and used */

	uint32_t nr_cpus;
	struct numem_cpu_desc *cpu; /* logical cpu id -> description */
	uint32_t cpumask_words;     /* 64-bit words per node cpumask */
	uint64_t *cpumask;          /* nr_nodes * cpumask_words: node_to_cpumask */

	uint32_t nr_ranges;
	struct numem_mem_range *range; /* sorted by base, disjoint */
	uint64_t total_ram_pages;
	uint64_t max_pfn;      /* one past the highest RAM pfn */
	uint64_t span_end_pfn; /* one past the highest pfn of any range (RAM or not) */

	enum numem_err fallback_reason; /* NUMEM_OK unless one node was forced */
	enum numem_single_node single_node;
	char fallback_msg[200];
	uint32_t nr_overlap_ranges; /* ranges flagged NUMEM_RANGE_OVERLAP */

	enum numem_cpu_topo_source cpu_topo_source;
	uint32_t nr_madt_cpus;      /* CPUs the MADT added that no SRAT entry names */
	uint32_t nr_online_capable; /* MADT: disabled but online-capable CPUs */
	uint32_t emulated_from;     /* NUMA emulation: physical node count, else 0 */

	/* Private to topo.c: capacities of the arrays above. */
	const struct numem_platform *plat;
	uint32_t cpu_cap, range_cap;
};

/* A RAM range of an e820-style memory map, in bytes. */
struct numem_ram_range {
	uint64_t base, length;
};

struct numem_topo_input {
	const struct numem_srat *srat;     /* NULL: no SRAT */
	const struct numem_slit *slit;     /* NULL: no SLIT */
	const struct numem_ram_range *ram; /* NULL: RAM from the SRAT */
	uint32_t nr_ram;
	/* CPUs when there is no SRAT (or it is ignored): hardware ids, or NULL
	 * for ids 0..nr_cpus-1. */
	uint32_t nr_cpus;
	const uint32_t *cpu_ids;
	/* Optional.  With an MADT the CPUs are its enabled processors in MADT
	 * order, as Linux numbers them; the SRAT gives only their nodes, and
	 * a processor no SRAT entry names is on the first node, as in Linux.
	 * The MADT also gives ACPI processor UIDs, through which the PPTT
	 * gives sockets, clusters, cores and threads. */
	const struct numem_madt *madt;
	const struct numem_pptt *pptt;
};

struct numem_topo_opts {
	unsigned flags;         /* NUMEM_TOPO_* */
	uint32_t emulate_nodes; /* 0: off; N: split RAM into N fake nodes */
};

/*
 * Build a topology.  *out is allocated through plat and released with
 * numem_topo_release().  Returns NUMEM_OK (possibly with fallback_reason set
 * in lenient mode) or an error with diag filled and nothing allocated.
 */
enum numem_err numem_topo_build(const struct numem_platform *plat,
                                const struct numem_topo_input *in,
                                const struct numem_topo_opts *opts, struct numem_topo **out,
                                struct numem_diag *diag);
void numem_topo_release(struct numem_topo *topo);

static inline numem_nid_t numem_topo_cpu_to_node(const struct numem_topo *t, uint32_t cpu)
{
	return t->cpu[cpu].node;
}

static inline bool numem_topo_node_has_cpu(const struct numem_topo *t, numem_nid_t n, uint32_t cpu)
{
	return (t->cpumask[(size_t)n * t->cpumask_words + cpu / 64] >> (cpu % 64)) & 1;
}

/*
 * Recompute what derives from a topology's ranges, CPUs and distances:
 * per-node RAM pages, pfn spans and CPU counts, max_pfn, cpumasks (written
 * into t->cpumask when it is set, else allocated), fallback orders and
 * nearest_mem.  For a copy the caller edited (a relayout's new version).
 * NUMEM_E_NO_MEMORY when no range holds RAM; NUMEM_E_NOMEM when a cpumask
 * cannot be allocated.
 */
enum numem_err numem_topo_refresh(struct numem_topo *t, struct numem_diag *diag);

/* The node whose range holds pfn, or NUMEM_NID_NONE for a hole. O(log n). */
numem_nid_t numem_topo_pfn_to_node(const struct numem_topo *t, numem_pfn_t pfn);

/* Index of the range holding pa, or -1. */
int64_t numem_topo_find_range(const struct numem_topo *t, numem_paddr_t pa);

#endif /* NUMEM_TOPO_H */
