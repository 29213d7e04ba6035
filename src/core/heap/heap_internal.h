/*
 * heap_internal.h - shared by the heap's files (core-internal).
 *
 * Descriptor discipline: only the head descriptor of a block carries its
 * state (FREE, PCP or ALLOCATED), order, zone and node; a descriptor that
 * stops being a head (two buddies merge) is cleared to FREE_TAIL at that
 * moment.  So a descriptor says FREE/PCP/ALLOCATED if and only if it heads
 * such a block now, which is what makes double-free and wrong-pfn detection
 * exact without writing every tail.
 */
#ifndef NUMEM_CORE_HEAP_INTERNAL_H
#define NUMEM_CORE_HEAP_INTERNAL_H

#include <numem/heap.h>

#include "../lib/internal.h"
#include "../lib/list.h"
#include "../lib/spinlock.h"

/* ---- counters read across CPUs ------------------------------------------ */

/*
 * A zone's free_pages (written under its lock) and a CPU cache's pages
 * (written by its CPU) are read with no lock by numem_heap_node_free(), so
 * by automatic placement on any CPU (heap.h states the rule).  Their
 * writers store with these, the unlocked readers load with relaxed atomics:
 * plain moves on x86 and arm64 (free_pages is 8-aligned for i686).  The
 * writer's own read of the old value needs nothing: every other writer is
 * ordered with it by the zone lock or is the same CPU.  A reader sees some
 * recent value of each counter, not a consistent sum: all placement asks.
 */
static inline uint32_t numem__pcp_pages_add(struct numem_pcp *pcp, uint32_t n)
{
	uint32_t pages = pcp->pages + n;
	__atomic_store_n(&pcp->pages, pages, __ATOMIC_RELAXED);
	return pages; /* the new count, so that the caller does not reload it */
}

static inline void numem__pcp_pages_sub(struct numem_pcp *pcp, uint32_t n)
{
	__atomic_store_n(&pcp->pages, pcp->pages - n, __ATOMIC_RELAXED);
}

/* 2^order pages for a per-CPU order (order <= NUMEM_PCP_MAX_ORDER, which
 * the caller has checked), by a table: a shift by a variable count needs
 * the count in cl on x86 (and takes 2 uops there), which costs the fast
 * paths register moves around it. */
static inline uint32_t numem__pcp_order_pages(unsigned order)
{
	_Static_assert(NUMEM_PCP_MAX_ORDER == 3, "one entry per per-CPU order");
	static const uint8_t pages[NUMEM_PCP_MAX_ORDER + 1] = {1, 2, 4, 8};
	return pages[order];
}

/* The THP list's block count, read unlocked like `pages` (heap.h). */
static inline uint32_t numem__pcp_thp_add(struct numem_pcp *pcp, int32_t n)
{
	uint32_t count = pcp->count[NUMEM_PCP_THP_LIST] + (uint32_t)n;
	__atomic_store_n(&pcp->count[NUMEM_PCP_THP_LIST], count, __ATOMIC_RELAXED);
	return count;
}

/* Does a per-CPU cache hold blocks of this order?  Its list; back. */
static inline bool numem__pcp_order_cached(unsigned order)
{
	return order <= NUMEM_PCP_MAX_ORDER || order == NUMEM_PCP_THP_ORDER;
}

static inline unsigned numem__pcp_list(unsigned order)
{
	return order <= NUMEM_PCP_MAX_ORDER ? order : NUMEM_PCP_THP_LIST;
}

static inline unsigned numem__pcp_list_order(unsigned list)
{
	return list <= NUMEM_PCP_MAX_ORDER ? list : NUMEM_PCP_THP_ORDER;
}

/* `n` blocks (negative: taken) into list `list` of a cache: its count and
 * the cache's page count (`pages`, or the THP list's count alone). */
static inline void numem__pcp_account(struct numem_pcp *pcp, unsigned list, int32_t n)
{
	if (list == NUMEM_PCP_THP_LIST) {
		numem__pcp_thp_add(pcp, n);
		return;
	}
	pcp->count[list] += (uint32_t)n;
	__atomic_store_n(&pcp->pages, pcp->pages + ((uint32_t)n << list), __ATOMIC_RELAXED);
}

/* Zone lock held. */
static inline void numem__zone_free_add(struct numem_zone *z, uint64_t n)
{
	__atomic_store_n(&z->free_pages, z->free_pages + n, __ATOMIC_RELAXED);
}

/* Zone lock held. */
static inline void numem__zone_free_sub(struct numem_zone *z, uint64_t n)
{
	__atomic_store_n(&z->free_pages, z->free_pages - n, __ATOMIC_RELAXED);
}

/* ---- descriptors -------------------------------------------------------- */

/* Flag bits (NUMEM_PG_FLAG_SHIFT..+3). */
#define NUMEM_PG_POISONED (1ull << NUMEM_PG_FLAG_SHIFT) /* contents poisoned on free */

/* Bits a head update keeps: the section number and the poison mark. */
#define PG_KEEP_MASK ((~0ull << NUMEM_PG_SECTION_SHIFT) | NUMEM_PG_POISONED)

/*
 * A head descriptor's flags may be read by another CPU that holds a zone
 * lock and looks at it as a buddy while its owner changes it without that
 * lock (a per-CPU free or allocation).  The reader only needs "is this a
 * free head of order k in zone z", which no such write makes true, so
 * relaxed atomic loads and stores suffice; on x86 and arm64 they are plain
 * moves.
 */
static inline uint64_t numem__pg_flags(const struct numem_page *pg)
{
	return __atomic_load_n(&pg->flags, __ATOMIC_RELAXED);
}

static inline void numem__pg_store(struct numem_page *pg, uint64_t flags)
{
	__atomic_store_n(&pg->flags, flags, __ATOMIC_RELAXED);
}

static inline enum numem_page_state numem__pg_state(const struct numem_page *pg)
{
	return (enum numem_page_state)((numem__pg_flags(pg) >> NUMEM_PG_STATE_SHIFT) &
	                               NUMEM_PG_STATE_MASK);
}

static inline void numem__pg_set(struct numem_page *pg, enum numem_page_state st, unsigned order,
                                 unsigned zone_type, numem_nid_t node)
{
	numem__pg_store(pg, (numem__pg_flags(pg) & PG_KEEP_MASK) |
	                        (uint64_t)st << NUMEM_PG_STATE_SHIFT |
	                        (uint64_t)order << NUMEM_PG_ORDER_SHIFT |
	                        (uint64_t)zone_type << NUMEM_PG_ZONE_SHIFT |
	                        (uint64_t)node << NUMEM_PG_NODE_SHIFT);
}

static inline void numem__pg_set_state(struct numem_page *pg, enum numem_page_state st)
{
	numem__pg_store(pg, (numem__pg_flags(pg) & ~(NUMEM_PG_STATE_MASK << NUMEM_PG_STATE_SHIFT)) |
	                        (uint64_t)st << NUMEM_PG_STATE_SHIFT);
}

#define NUMEM__PG_STATE_BITS (NUMEM_PG_STATE_MASK << NUMEM_PG_STATE_SHIFT)
#define NUMEM__PG_OWNER_BITS (NUMEM_PG_OWNER_MASK << NUMEM_PG_OWNER_SHIFT)

/* A head's state and owner in one store (owner 0 for free states). */
static inline uint64_t numem__pg_with(uint64_t flags, enum numem_page_state st, uint16_t owner)
{
	return (flags & ~(NUMEM__PG_STATE_BITS | NUMEM__PG_OWNER_BITS)) |
	       (uint64_t)st << NUMEM_PG_STATE_SHIFT | (uint64_t)owner << NUMEM_PG_OWNER_SHIFT;
}

static inline void numem__pg_set_state_owner(struct numem_page *pg, enum numem_page_state st,
                                             uint16_t owner)
{
	numem__pg_store(pg, numem__pg_with(numem__pg_flags(pg), st, owner));
}

static inline uint16_t numem__pg_owner(const struct numem_page *pg)
{
	return (uint16_t)((numem__pg_flags(pg) >> NUMEM_PG_OWNER_SHIFT) & NUMEM_PG_OWNER_MASK);
}

static inline unsigned numem__pg_order(const struct numem_page *pg)
{
	return (unsigned)((numem__pg_flags(pg) >> NUMEM_PG_ORDER_SHIFT) & NUMEM_PG_ORDER_MASK);
}

/* Index of the zone a head descriptor names. */
static inline uint32_t numem__pg_zone_index(const struct numem_page *pg)
{
	uint64_t f = numem__pg_flags(pg);
	return (uint32_t)((f >> NUMEM_PG_NODE_SHIFT) & NUMEM_PG_NODE_MASK) * NUMEM_NR_ZONE_TYPES +
	       (uint32_t)((f >> NUMEM_PG_ZONE_SHIFT) & NUMEM_PG_ZONE_MASK);
}

static inline uint32_t numem__zone_index(const struct numem_heap *h, const struct numem_zone *z)
{
	return (uint32_t)(z - h->zone);
}

/*
 * The descriptor of an arbitrary pfn for a lookup that may run beside
 * deferred initialisation (a free's checks, the owner queries): NULL with
 * *st = HOLE when no RAM section covers it, NULL with *st = UNINIT when its
 * section is not online yet (its descriptors may be being written).  The
 * acquire in numem_section_online() pairs with the release that set ONLINE,
 * so the descriptors returned are the initialised ones.
 */
static inline struct numem_page *numem__lookup_online(const struct numem_frametable *ft,
                                                      numem_pfn_t pfn, enum numem_page_state *st)
{
	uint8_t ss = 0;
	if (pfn.v < ft->max_pfn) /* one load tests PRESENT and ONLINE */
		ss = __atomic_load_n(&ft->section_state[numem_pfn_to_section(ft, pfn)],
		                     __ATOMIC_ACQUIRE);
	*st = ss & NUMEM_SECTION_PRESENT ? NUMEM_PS_UNINIT : NUMEM_PS_HOLE;
	if (!(ss & NUMEM_SECTION_ONLINE))
		return 0;
	return numem_pfn_to_page(ft, pfn);
}

/* The heap's topology, the layout in force: a relayout publishes a new one
 * (relayout_internal.h), so lock-free readers load it atomically. */
static inline const struct numem_topo *numem__topo(const struct numem_heap *h)
{
	return __atomic_load_n(&h->topo, __ATOMIC_ACQUIRE);
}

/* ---- buddy lists (zone lock held) --------------------------------------- */

/* Put a free block into the buddy lists, merging with free buddies.
 * The block's pages must belong to `z`. */
void numem__buddy_free(struct numem_heap *h, struct numem_zone *z, uint64_t pfn, unsigned order);

/* Free [s, e) of one zone in maximal aligned blocks (each merging). */
void numem__buddy_free_range(struct numem_heap *h, struct numem_zone *z, uint64_t s, uint64_t e);

/* Take a block of `order` from the zone: exactly that order when `exact`,
 * else the smallest order available, split.  NULL if none. */
struct numem_page *numem__buddy_take(struct numem_heap *h, struct numem_zone *z, unsigned order,
                                     bool exact);

/* First range of t whose end is above pfn's address (binary search;
 * ranges are sorted and disjoint): where a walk over [pfn, ...) starts. */
uint32_t numem__topo_first_range(const struct numem_topo *t, uint64_t pfn);

/* Zone type of a pfn on a node (by address and the node's movable start). */
enum numem_zone_type numem__zone_type_of(const struct numem_heap *h, numem_nid_t node,
                                         uint64_t pfn);

/* The zone geometry init.c computes, for deferred.c: call fn for each run
 * of RAM pfns of one zone type inside [lo, hi), reserved ranges cut out;
 * the zone of a pfn; the next pfn where the zone type may change. */
typedef void (*numem__run_fn)(struct numem_heap *h, numem_nid_t node, uint64_t start, uint64_t end,
                              bool reserved, void *arg);
void numem__for_each_run(struct numem_heap *h, uint64_t lo, uint64_t hi, numem__run_fn fn,
                         void *arg);
struct numem_zone *numem__zone_of(struct numem_heap *h, numem_nid_t node, uint64_t pfn);
uint64_t numem__zone_boundary_after(const struct numem_heap *h, numem_nid_t node, uint64_t pfn);

/* Ask the shrinkers for `pages` pages (reclaim.c); whether any ran.  No
 * heap lock may be held. */
bool numem__run_shrinkers(struct numem_cpu *cpu, numem_nid_t node, uint64_t pages);

/* Initialise one deferred section and free its RAM into the zones.
 * Takes zone locks one at a time; the caller holds none. */
void numem__grow_section(struct numem_heap *h, uint64_t sec);

/* Grow a zone by one deferred section.  False if none is left. */
bool numem__grow_zone(struct numem_heap *h, struct numem_zone *z);

/* Per zone: RAM pages (not reserved / reserved) in sections not yet
 * initialised.  Arrays of nr_zones. */
void numem__count_deferred(struct numem_heap *h, uint64_t *deferred, uint64_t *reserved);

/* Poison helpers (debug). */
void numem__poison_block(struct numem_heap *h, uint64_t pfn, unsigned order);
enum numem_err numem__check_poison(struct numem_heap *h, uint64_t pfn, unsigned order,
                                   struct numem_diag *diag);

/* Would taking 2^order pages leave the zone at least `mark` free pages? */
static inline bool numem__watermark_ok(const struct numem_zone *z, unsigned order, uint64_t mark)
{
	return z->free_pages >= mark + (1ull << order);
}

/*
 * The same test with no zone lock held (free_pages read with a relaxed
 * load): the gate of a THP-list pop.  As Linux's, cached blocks are not
 * free pages for the watermark (NR_FREE_PAGES leaves out the per-CPU
 * lists) and the zone's watermark decides before its per-CPU list is
 * popped (get_page_from_freelist tests zone_watermark_fast before
 * rmqueue_pcplist), against the mark of the pass (low, then min, min/2).
 */
static inline bool numem__watermark_ok_unlocked(const struct numem_zone *z, unsigned order,
                                                uint64_t mark)
{
	return __atomic_load_n(&z->free_pages, __ATOMIC_RELAXED) >= mark + (1ull << order);
}

/* Per-CPU cache: take up to a batch of `order` blocks from the zone's
 * buddy lists while it stays above `mark` (pcp.c).  Returns blocks added. */
uint32_t numem__pcp_refill(struct numem_cpu *cpu, struct numem_zone *z, uint32_t zi, unsigned order,
                           uint64_t mark, bool exact);

/* Per-CPU cache: give `count` blocks of `order` back to the zone. */
void numem__pcp_drain(struct numem_cpu *cpu, uint32_t zone_index, unsigned order, uint32_t count);

/* Record an event on this CPU's ring (tracing on). */
void numem__trace_emit(struct numem_cpu *cpu, unsigned event, uint64_t a, uint64_t b, uint64_t c);

/* Is this CPU recording events?  Without a ring, a load and a branch. */
static inline bool numem__tracing(const struct numem_cpu *cpu)
{
	return __builtin_expect(cpu->trace != 0, 0) &&
	       atomic_load_explicit(&cpu->heap->tracing, memory_order_relaxed);
}

/* Trace an event: with tracing off, a load and a predicted branch. */
static inline void numem__trace(struct numem_cpu *cpu, unsigned event, uint64_t a, uint64_t b,
                                uint64_t c)
{
	if (numem__tracing(cpu))
		numem__trace_emit(cpu, event, a, b, c);
}

/*
 * The checks every operation on an allocated block makes before it changes
 * anything (free, split, hand-over): pfn in RAM, aligned, the head of an
 * allocated block of `order` held by `owner`.  `who` names the caller in
 * the message.  Returns the head's descriptor, or NULL with *err set and
 * diag filled (also for a NULL heap).
 */
struct numem_page *numem__check_allocated(struct numem_heap *h, const char *who, numem_pfn_t pfn,
                                          unsigned order, uint16_t owner, enum numem_err *err,
                                          struct numem_diag *diag);

/*
 * Write into zl the zones of `nodes` (in that order) up to zone type
 * `limit`, best first, as the heap's order says (node order: each node's
 * zones high to low; zone order: each zone type high to low over the
 * nodes); only populated zones; UINT16_MAX after the last.  zl needs
 * nr * NUMEM_NR_ZONE_TYPES + 1 entries.  Returns the count.  The one
 * builder: init's per-node lists and the policy path both use it.
 */
uint32_t numem__zonelist_build(const struct numem_heap *h, const numem_nid_t *nodes, uint32_t nr,
                               unsigned limit, uint16_t *zl);
/* The precomputed local zonelists, per node and zone limit (init). */
void numem__build_zonelists(struct numem_heap *h);
/* The same lists for topology t into `zonelist` (a relayout's new version). */
void numem__build_zonelists_into(const struct numem_heap *h, const struct numem_topo *t,
                                 uint16_t *zonelist);
/* heap->mem_nodes and heap->node_zone[] for topology t and its zonelists
 * (init, and a relayout commit before it publishes those zonelists):
 * relaxed atomic stores, the interleave fast path reads them lock-free.
 * A node_zone entry is only ever UINT16_MAX or a zone of its own node. */
void numem__build_node_zones(struct numem_heap *h, const struct numem_topo *t,
                             const uint16_t *zonelist);

/* A numem_cpu.free_want that no head's state bits equal (state 15 does not
 * exist): every free takes the slow path. */
#define NUMEM__FREE_WANT_NONE (NUMEM_PG_STATE_MASK << NUMEM_PG_STATE_SHIFT)
/* A head's zone in its flags: node and zone type. */
#define NUMEM__PG_ZONE_BITS                                                                        \
	(NUMEM_PG_NODE_MASK << NUMEM_PG_NODE_SHIFT | NUMEM_PG_ZONE_MASK << NUMEM_PG_ZONE_SHIFT)
/* A flag bit of numem_cpu.free_want that no descriptor has (the flag bits
 * above NUMEM_PG_POISONED are unused): set while pages are pending after a
 * relayout, it fails the free fast path's compare of the CPU's own zone
 * (FREE_MASK_ZONE keeps it in `want`) and free_thp's, so that such frees
 * take paths that send a pending block to its new node (free.c). */
#define NUMEM__FREE_WANT_PENDING (1ull << (NUMEM_PG_FLAG_SHIFT + 3))
_Static_assert(NUMEM__FREE_WANT_PENDING != NUMEM_PG_POISONED, "an unused flag bit");

/* Zone bits of numem_cpu.free_want when the CPU has no fast zone: a zone
 * type no head has (types are 0..NUMEM_NR_ZONE_TYPES-1). */
#define NUMEM__FREE_ZONE_NONE (NUMEM_PG_ZONE_MASK << NUMEM_PG_ZONE_SHIFT)

/* Recompute a CPU's fast-path answers (after init or a cpuset change). */
void numem__cpu_fast_path(struct numem_cpu *cpu);

#define POISON_BYTE 0x6b

#endif
