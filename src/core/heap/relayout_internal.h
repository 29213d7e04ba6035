/*
 * relayout_internal.h - the heap's relayout state and the hooks the heap's
 * slow paths call (core-internal; relayout.c, layout.c, and one line each
 * in alloc.c, free.c, pcp.c, cpu.c).
 *
 * Source of truth: the heap's topology (heap->topo, an atomic pointer) is
 * the layout in force; numem_topo_pfn_to_node() on it answers "which node
 * owns pfn P".  A commit publishes a new version (struct numem__version:
 * the topology with its ranges, CPUs, cpumasks, and the zonelists built
 * from it) and bumps the generation.  Derived from it, and updated by the
 * commit (relayout.c, "what a commit updates"): the frame table's topology
 * pointer (deferred sections come up following it), zone spans, present,
 * reserved and deferred counts, the node bits of free heads (blocks move)
 * and of reserved descriptors, zonelists, per-node pending counts, the
 * online nodes; each CPU's node, nearest memory node and fast path (by the
 * CPU, at its next slow path or quiescent call).  Not derived: the node
 * bits of allocated and per-CPU cached heads (pending: they change when
 * the block is freed to the buddy lists), the frame table's section_node
 * (where a section's descriptors live, not who owns its pages) and
 * movable_start (per node, fixed at init; new nodes have no MOVABLE zone).
 *
 * Marking: sec_moved[s] is set for every section a commit changed, and
 * zone_moved[z] for every zone it took pages from, before the new layout
 * is published; neither is ever cleared.  Only the buddy-insert slow paths
 * read them (a pcp drain reads its zone's byte once, then each block's
 * section byte; a direct high-order free both), under the zone lock: a block of a marked section whose head names another node than
 * the layout goes to its new node (numem__relayout_divert).  The free fast
 * path reads nothing new.
 */
#ifndef NUMEM_CORE_RELAYOUT_INTERNAL_H
#define NUMEM_CORE_RELAYOUT_INTERNAL_H

#include <numem/relayout.h>

#include "heap_internal.h"

/* One published version: everything in one metadata block. */
struct numem__version {
	struct numem__version *next; /* on the retired list */
	size_t bytes;
	uint64_t retire_gen; /* freeable once every CPU has seen this generation */
	struct numem_topo topo;
	uint16_t *zonelist;
};

/* An 8-aligned 64-bit word: atomics on i686 need the alignment (its
 * uint64_t is 4-aligned), as the descriptor's flags have it. */
typedef uint64_t numem__u64a __attribute__((aligned(8)));

struct numem__relayout {
	_Atomic int commit_lock;  /* lock order 0 */
	_Atomic int apply_lock;   /* lock order 1d */
	numem__u64a gen;          /* the generation in force (__atomic) */
	size_t bytes;             /* this block */
	numem__u64a *cpu_gen;     /* [nr_cpus]: the generation each CPU has seen */
	uint8_t *sec_moved;       /* [nr_sections]: a commit changed this section */
	uint8_t *zone_moved;      /* [nr_zones]: a commit took pages from this zone */
	uint8_t *zone_seen;       /* [nr_zones]: populated once, so maybe in a zonelist a CPU
	                     * still reads (commit mutex) */
	numem__u64a *sec_pending; /* [nr_sections]: pending pages in it */
	numem__u64a pending[NUMEM_MAX_NODES]; /* __atomic accesses, like the arrays */
	const struct numem_topo *boot_topo;   /* the caller's, given at heap init */
	uint32_t boot_nodes;
	struct numem__version *current; /* NULL: the boot topology and zonelists */
	struct numem__version *retired;
	struct numem_relayout_notifier *notifiers;
	/* Free blocks a commit took off their lists and has not cut yet (state
	 * PCP, linked through `next`); changed and read with every zone lock
	 * held, so the verifier counts them (numem__relayout_transit). */
	struct numem_page *transit;
	bool self_check;          /* numem_relayout_self_check */
	uint64_t win_t0, win_max; /* a commit's zone-lock windows (apply lock) */
};

/* For the verifier (every zone lock held): add the pages of each block in
 * transit to transit[zone index]; NUMEM_E_CORRUPT if one is not a cached
 * head of its order inside its zone. */
enum numem_err numem__relayout_transit(struct numem_heap *h, uint64_t *transit,
                                       struct numem_diag *diag);

/* The relayout state, created on first use (NULL on no memory). */
struct numem__relayout *numem__relayout_get(struct numem_heap *h);

/* Free every version and the state (numem_heap_release). */
void numem__relayout_release(struct numem_heap *h);

/* The CPU's catch-up with a new generation (relayout.c). */
void numem__relayout_catch_up(struct numem_cpu *cpu);

/* Give a detached block (head state PCP, node bits of zone `zi`) to the
 * nodes the layout names, split at range edges; the caller holds no lock. */
void numem__relayout_divert(struct numem_heap *h, uint32_t zi, uint64_t pfn, unsigned order);

/* Does the layout give any page of [pfn, pfn + 2^order) to another node
 * than `node`? */
bool numem__relayout_moved(const struct numem_heap *h, numem_nid_t node, uint64_t pfn,
                           unsigned order);

static inline struct numem__relayout *numem__relayout_of(const struct numem_heap *h)
{
	return __atomic_load_n(&h->relayout, __ATOMIC_ACQUIRE);
}

/* The slow-path check of a block about to enter zone `node`'s buddy lists
 * (zone lock held): a marked section whose layout moved it. */
static inline bool numem__relayout_check(const struct numem_heap *h, numem_nid_t node, uint64_t pfn,
                                         unsigned order)
{
#ifdef NUMEM_NO_RELAYOUT
	(void)h, (void)node, (void)pfn, (void)order;
	return false;
#else
	struct numem__relayout *rl = numem__relayout_of(h);
	if (__builtin_expect(!rl, 1))
		return false;
	if (!__atomic_load_n(&rl->sec_moved[pfn >> h->ft->pfn_section_shift], __ATOMIC_RELAXED))
		return false;
	return numem__relayout_moved(h, node, pfn, order);
#endif
}

/* Before a batch of buddy inserts into zone zi: can any of them need
 * numem__relayout_check()?  (Only zones a commit took pages from.) */
static inline bool numem__relayout_zone_marked(const struct numem_heap *h, uint32_t zi)
{
#ifdef NUMEM_NO_RELAYOUT
	(void)h, (void)zi;
	return false;
#else
	struct numem__relayout *rl = numem__relayout_of(h);
	return __builtin_expect(rl != 0, 0) &&
	       __atomic_load_n(&rl->zone_moved[zi], __ATOMIC_RELAXED);
#endif
}

/* Does any block wait to go to its new node (a pending page anywhere)?
 * While one does, a CPU that caught up frees through the fast path's
 * out-of-line tail (cpu->free_tail_above 0) and the checked THP free
 * (NUMEM__FREE_WANT_PENDING), which send a pending block to its new node
 * instead of its old zone's cache. */
static inline bool numem__relayout_has_pending(const struct numem_heap *h)
{
#ifndef NUMEM_NO_RELAYOUT
	struct numem__relayout *rl = numem__relayout_of(h);
	if (__builtin_expect(!rl, 1))
		return false;
	for (numem_nid_t n = 0; n < h->max_nodes; n++)
		if (__atomic_load_n(&rl->pending[n], __ATOMIC_RELAXED))
			return true;
#else
	(void)h;
#endif
	return false;
}

/* A CPU's frees leave the pending paths once no page is pending (pages
 * become pending only at a commit, which every CPU catches up with). */
static inline void numem__relayout_pending_end(struct numem_cpu *cpu)
{
	if ((cpu->free_want & NUMEM__FREE_WANT_PENDING) &&
	    !numem__relayout_has_pending(cpu->heap)) {
		cpu->free_want &= ~NUMEM__FREE_WANT_PENDING;
		cpu->free_tail_above = cpu->trace ? 0 : cpu->heap->pcp_high;
	}
}

/* A CPU's slow path: has a new generation been published since it looked?
 * Also where its frees leave the pending paths (above). */
static inline void numem__relayout_sync(struct numem_cpu *cpu)
{
#ifndef NUMEM_NO_RELAYOUT
	struct numem__relayout *rl = numem__relayout_of(cpu->heap);
	if (__builtin_expect(rl != 0, 0)) {
		if (__atomic_load_n(&rl->cpu_gen[cpu->id], __ATOMIC_RELAXED) !=
		    __atomic_load_n(&rl->gen, __ATOMIC_ACQUIRE))
			numem__relayout_catch_up(cpu);
		else
			numem__relayout_pending_end(cpu);
	}
#else
	(void)cpu;
#endif
}

#endif
