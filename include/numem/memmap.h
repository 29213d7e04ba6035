/*
 * numem/memmap.h - the sparse frame table: one page descriptor per present
 * page frame, none for holes.
 *
 * Physical memory is cut into sections (a power of two, default 128 MiB).  A
 * section that holds any RAM is "present" and has descriptors for all its
 * pages (the pages of a partial section that are not RAM are marked HOLE); a
 * section without RAM costs nothing but its entry in the section table.
 *
 * Two layouts sit behind one lookup, chosen at init:
 *  - NUMEM_FT_SECTIONS (SPARSEMEM-style): a table of per-section descriptor
 *    arrays, each allocated on the section's own node.  pfn -> page is two
 *    array reads; page -> pfn reads the section number kept in the
 *    descriptor.
 *  - NUMEM_FT_VMEMMAP (VIRTUAL_MEM_MAP-style): the platform reserves virtual
 *    space for max_pfn descriptors and backs only present sections, each on
 *    its node.  pfn -> page and back are one add or subtract.
 *
 * Deferred initialisation: with `deferred` set, init writes no descriptor;
 * each section is initialised by numem_frametable_init_section() when the
 * heap first needs it (Linux's deferred struct-page init, at section
 * granularity).  Until then its descriptors read as zero (state UNINIT),
 * which the platform's zero-reading metadata guarantees without touching it.
 */
#ifndef NUMEM_MEMMAP_H
#define NUMEM_MEMMAP_H

#include <numem/platform.h>
#include <numem/topo.h>
#include <numem/types.h>

/* Page states (flags bits 0..3). */
enum numem_page_state {
	NUMEM_PS_UNINIT = 0,     /* descriptor not written yet (deferred init) */
	NUMEM_PS_HOLE = 1,       /* no RAM at this pfn: never usable */
	NUMEM_PS_RESERVED = 2,   /* RAM not (yet) given to the heap */
	NUMEM_PS_FREE = 3,       /* head of a free block */
	NUMEM_PS_FREE_TAIL = 4,  /* inside a free block */
	NUMEM_PS_ALLOCATED = 5,  /* head of an allocated block */
	NUMEM_PS_ALLOC_TAIL = 6, /* inside an allocated block */
	NUMEM_PS_PCP = 7,        /* head of a free block held in a per-CPU cache */
};

/*
 * Descriptor flags word:
 *   bits  0..3   state (enum numem_page_state)
 *   bits  4..8   order of the block this descriptor heads
 *   bits  9..11  zone index
 *   bits 12..15  spare flag bits for later layers
 *   bits 16..25  node id
 *   bits 26..41  owner (domain id; 0 = the heap's user)
 *   bits 42..63  section number (page -> pfn for the section layout)
 */
#define NUMEM_PG_STATE_SHIFT   0
#define NUMEM_PG_STATE_MASK    0xfull
#define NUMEM_PG_ORDER_SHIFT   4
#define NUMEM_PG_ORDER_MASK    0x1full
#define NUMEM_PG_ZONE_SHIFT    9
#define NUMEM_PG_ZONE_MASK     0x7ull
#define NUMEM_PG_FLAG_SHIFT    12
#define NUMEM_PG_NODE_SHIFT    16
#define NUMEM_PG_NODE_MASK     0x3ffull
#define NUMEM_PG_OWNER_SHIFT   26
#define NUMEM_PG_OWNER_MASK    0xffffull
#define NUMEM_PG_SECTION_SHIFT 42
#define NUMEM_PG_SECTION_BITS  22

/* A page descriptor: 32 bytes (24 on 32-bit targets).  Once the heap runs,
 * `flags` is read and written with (relaxed) atomic accesses only, as the
 * accessors below do: other CPUs look at a head while its holder changes
 * it. */
struct numem_page {
	_Alignas(8) uint64_t flags; /* see above; 8-aligned for 64-bit atomics on i686 */
	uint64_t private;           /* owner's word (a guest pfn, a tmem handle, ...) */
	struct numem_page *next;    /* free-list or owner-list links */
	struct numem_page *prev;
};

static inline enum numem_page_state numem_page_state(const struct numem_page *pg)
{
	return (enum numem_page_state)(
	    (__atomic_load_n(&pg->flags, __ATOMIC_RELAXED) >> NUMEM_PG_STATE_SHIFT) &
	    NUMEM_PG_STATE_MASK);
}

static inline unsigned numem_page_order(const struct numem_page *pg)
{
	return (unsigned)((__atomic_load_n(&pg->flags, __ATOMIC_RELAXED) >> NUMEM_PG_ORDER_SHIFT) &
	                  NUMEM_PG_ORDER_MASK);
}

static inline numem_nid_t numem_page_node(const struct numem_page *pg)
{
	return (
	    numem_nid_t)((__atomic_load_n(&pg->flags, __ATOMIC_RELAXED) >> NUMEM_PG_NODE_SHIFT) &
	                 NUMEM_PG_NODE_MASK);
}

enum numem_ft_layout {
	NUMEM_FT_SECTIONS = 0,
	NUMEM_FT_VMEMMAP = 1,
};

/*
 * Section table states.  PRESENT is written by numem_frametable_init()
 * before the table is used and never changes.  INIT and ONLINE are each
 * set once, later, by deferred initialisation (under the heap's grow lock)
 * while other CPUs read the byte lock-free in every lookup: they are set
 * with a release store (one writer at a time) that releases the
 * descriptor writes before it, and read with atomic loads
 * (numem_section_state(); numem_section_online() acquires, for a reader
 * that goes on to read the section's descriptors).
 */
#define NUMEM_SECTION_PRESENT 0x1u /* holds RAM: has descriptors */
#define NUMEM_SECTION_INIT    0x2u /* descriptors written */
#define NUMEM_SECTION_ONLINE  0x4u /* the heap has taken its pages (heap.h) */

struct numem_frametable_opts {
	enum numem_ft_layout layout;
	unsigned section_shift; /* log2 of section bytes; 0: 27 (128 MiB) */
	bool deferred;          /* leave descriptors to numem_frametable_init_section() */
};

struct numem_frametable {
	enum numem_ft_layout layout;
	unsigned pfn_section_shift; /* log2 of pages per section */
	uint64_t nr_sections;       /* covering [0, max_pfn) */
	uint64_t max_pfn;
	struct numem_page *vmemmap;      /* VMEMMAP: descriptor of pfn p is vmemmap[p] */
	struct numem_page **section_map; /* SECTIONS: biased, map[s] + pfn; NULL for holes */
	uint8_t *section_state;          /* NUMEM_SECTION_* per section */
	numem_nid_t *section_node;       /* node of the section's first RAM page */

	/* Statistics. */
	uint64_t present_sections;
	uint64_t init_sections;
	uint64_t descriptor_bytes; /* descriptors allocated (present sections) */
	uint64_t table_bytes;      /* section table and per-section arrays */
	uint64_t vmemmap_reserved; /* VMEMMAP: virtual bytes reserved */

	const struct numem_topo *topo;
	const struct numem_platform *plat;
};

/*
 * Build the frame table for `topo`.  Descriptor arrays come from
 * plat->meta_alloc on each section's node (SECTIONS) or from
 * plat->vmap_reserve/vmap_populate (VMEMMAP; NUMEM_E_UNSUPPORTED without
 * them).  On failure everything allocated is given back.
 */
enum numem_err numem_frametable_init(const struct numem_platform *plat,
                                     const struct numem_topo *topo,
                                     const struct numem_frametable_opts *opts,
                                     struct numem_frametable *ft, struct numem_diag *diag);
void numem_frametable_release(struct numem_frametable *ft);
/*
 * What numem_frametable_init would build for `topo`, without allocating or
 * touching anything: ft gets the sizing and statistics fields (layout,
 * pfn_section_shift, nr_sections, max_pfn, present_sections,
 * descriptor_bytes, table_bytes, vmemmap_reserved) and no tables (it must
 * not be looked up or released); node_bytes, when given, gets each node's
 * descriptor bytes (NUMEM_MAX_NODES entries).  For views of a machine that
 * need no frame table; the cost is proportional to the topology's ranges,
 * not to the memory they declare.
 */
enum numem_err numem_frametable_plan(const struct numem_topo *topo,
                                     const struct numem_frametable_opts *opts,
                                     struct numem_frametable *ft, uint64_t *node_bytes,
                                     struct numem_diag *diag);

/* Write the descriptors of section `sec` (no-op if already written).
 * Returns NUMEM_E_RANGE for a section that is not present.  Calls are
 * serialised by the caller (one CPU at boot; the heap's grow lock after). */
enum numem_err numem_frametable_init_section(struct numem_frametable *ft, uint64_t sec);

/* A section's state bits.  Relaxed: enough for PRESENT (fixed before the
 * table is shared) and for a reader that holds the grow lock. */
static inline uint8_t numem_section_state(const struct numem_frametable *ft, uint64_t sec)
{
	return __atomic_load_n(&ft->section_state[sec], __ATOMIC_RELAXED);
}

/* Is the section online?  Acquire: a true answer makes the descriptors
 * written before the section went online visible to the caller. */
static inline bool numem_section_online(const struct numem_frametable *ft, uint64_t sec)
{
	return __atomic_load_n(&ft->section_state[sec], __ATOMIC_ACQUIRE) & NUMEM_SECTION_ONLINE;
}

/* Set state bits of a section (release: what the caller wrote before is
 * visible to whoever sees the bits with an acquire load).  One writer at a
 * time (boot, or the heap's grow lock; numem_frametable_init_section() is
 * no more concurrent than that), so a load and a release store, not an
 * atomic OR: a byte-sized read-modify-write is a libatomic call on riscv64
 * (__atomic_fetch_or_1), outside the core's four symbols, while byte loads
 * and stores are native everywhere. */
static inline void numem_section_set(struct numem_frametable *ft, uint64_t sec, uint8_t bits)
{
	uint8_t old = __atomic_load_n(&ft->section_state[sec], __ATOMIC_RELAXED);
	__atomic_store_n(&ft->section_state[sec], (uint8_t)(old | bits), __ATOMIC_RELEASE);
}

/* Section number of a pfn. */
static inline uint64_t numem_pfn_to_section(const struct numem_frametable *ft, numem_pfn_t pfn)
{
	return pfn.v >> ft->pfn_section_shift;
}

/* pfn -> descriptor.  The pfn must be in a present section (see
 * numem_frametable_lookup() for the checked form).  No call, no lock. */
static inline struct numem_page *numem_pfn_to_page(const struct numem_frametable *ft,
                                                   numem_pfn_t pfn)
{
	if (ft->layout == NUMEM_FT_VMEMMAP)
		return ft->vmemmap + pfn.v;
	return ft->section_map[pfn.v >> ft->pfn_section_shift] + pfn.v;
}

/* descriptor -> pfn, given the descriptor's flags as just read (a fast
 * path that has them saves a load that waits on its own store). */
static inline numem_pfn_t numem_page_to_pfn_flags(const struct numem_frametable *ft,
                                                  const struct numem_page *pg, uint64_t flags)
{
	if (ft->layout == NUMEM_FT_VMEMMAP)
		return numem_pfn((uint64_t)(pg - ft->vmemmap));
	return numem_pfn((uint64_t)(pg - ft->section_map[flags >> NUMEM_PG_SECTION_SHIFT]));
}

/* descriptor -> pfn.  The descriptor must have been initialised. */
static inline numem_pfn_t numem_page_to_pfn(const struct numem_frametable *ft,
                                            const struct numem_page *pg)
{
	return numem_page_to_pfn_flags(ft, pg, __atomic_load_n(&pg->flags, __ATOMIC_RELAXED));
}

/* Checked lookup: NULL when pfn is beyond max_pfn or in a section with no RAM. */
static inline struct numem_page *numem_frametable_lookup(const struct numem_frametable *ft,
                                                         numem_pfn_t pfn)
{
	if (pfn.v >= ft->max_pfn)
		return 0;
	if (!(numem_section_state(ft, pfn.v >> ft->pfn_section_shift) & NUMEM_SECTION_PRESENT))
		return 0;
	return numem_pfn_to_page(ft, pfn);
}

#endif /* NUMEM_MEMMAP_H */
