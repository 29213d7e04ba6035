/*
 * alloc.c - numem_alloc(): the zonelist walk, the two fallback strategies,
 * watermarks, zeroing, numastat accounting.  (Frees: free.c; per-CPU cache
 * refill and drain: pcp.c; shrinkers: reclaim.c; poisoning: debug.c.)
 *
 * Fast path (a local request of order <= NUMEM_PCP_MAX_ORDER with no flags,
 * a page in the CPU's cache of its first zone): pop it, mark it allocated,
 * count it.  No lock, no indirect call, no shared write (numem_alloc at the
 * end of this file).  The THP order (NUMEM_PCP_THP_ORDER) has its own fast
 * path out of line (thp_fast: the same, once the zone passes its low
 * watermark).  Otherwise the walk:
 *
 *   1. zonelist: the local policy uses the node's precomputed list; other
 *      policies build one from their node order (policy.c, zonelist.c);
 *   2. pass "exact" (Xen strategy only): every zone in order, a block of
 *      exactly the order, per-CPU cache or buddy list, above the low mark;
 *   3. pass "split": every zone in order, any block of the order or larger;
 *      a zone that still has deferred sections initialises one and is
 *      tried again before the walk moves on;
 *   4. unless NUMEM_ALLOC_NORECLAIM: ask the shrinkers, then retry against
 *      the min mark (min/2 with NUMEM_ALLOC_HIGH).
 * A failed call changes nothing and says why.
 */
#include "alloc_internal.h"
#include "relayout_internal.h"

#include <numem/trace.h>

static unsigned zone_limit(unsigned flags)
{
	switch (flags & NUMEM_ALLOC_ZONE_MASK) {
	case NUMEM_ALLOC_DMA:
		return NUMEM_ZONE_DMA;
	case NUMEM_ALLOC_DMA32:
		return NUMEM_ZONE_DMA32;
	default:
		return flags & NUMEM_ALLOC_MOVABLE ? NUMEM_ZONE_MOVABLE : NUMEM_ZONE_NORMAL;
	}
}

/* NUMEM_ALLOC_ZERO: clear every page of the block.  A page the platform
 * cannot map cannot be zeroed: the caller must not get it as if it were. */
static enum numem_err zero_block(struct numem_heap *h, uint64_t pfn, unsigned order,
                                 struct numem_diag *diag)
{
	for (uint64_t i = 0; i < (1ull << order); i++)
		if (!h->plat->phys_to_virt(h->plat->ctx, numem_pfn_to_paddr(numem_pfn(pfn + i))))
			return numem__fail(diag, NUMEM_E_UNSUPPORTED, 0, 0,
			                   "numem_alloc: NUMEM_ALLOC_ZERO: pfn 0x%llx has no "
			                   "mapping (phys_to_virt gave NULL), cannot be zeroed",
			                   (unsigned long long)(pfn + i));
	for (uint64_t i = 0; i < (1ull << order); i++)
		memset(h->plat->phys_to_virt(h->plat->ctx, numem_pfn_to_paddr(numem_pfn(pfn + i))),
		       0, NUMEM_PAGE_SIZE);
	return NUMEM_OK;
}

/* Every transition to ALLOCATED writes the owner (state and owner in one
 * store): a page a domain gave back never reaches another user still
 * naming that domain. */
static inline __attribute__((always_inline)) struct numem_page *
pcp_pop_flags(struct numem_pcp *pcp, unsigned order, uint16_t owner, uint64_t *flags)
{
	struct numem_page *pg = pcp->list[order];
	if (pg) {
		uint64_t f = numem__pg_flags(pg);
		pcp->list[order] = pg->next;
		pg->next = 0;
		pcp->count[order]--;
		numem__pcp_pages_sub(pcp, numem__pcp_order_pages(order));
		numem__pg_store(pg, numem__pg_with(f, NUMEM_PS_ALLOCATED, owner));
		*flags = f; /* as read: the section bits a pfn lookup needs */
	}
	return pg;
}

static inline struct numem_page *pcp_pop(struct numem_pcp *pcp, unsigned order, uint16_t owner)
{
	uint64_t f;
	return pcp_pop_flags(pcp, order, owner, &f);
}

/* pcp_pop for the THP list (its count is not in `pages`). */
static inline struct numem_page *pcp_pop_thp(struct numem_pcp *pcp, uint16_t owner)
{
	struct numem_page *pg = pcp->list[NUMEM_PCP_THP_LIST];
	if (pg) {
		pcp->list[NUMEM_PCP_THP_LIST] = pg->next;
		pg->next = 0;
		numem__pcp_thp_add(pcp, -1);
		numem__pg_set_state_owner(pg, NUMEM_PS_ALLOCATED, owner);
	}
	return pg;
}

/* A cached block of `order`, or NULL. */
static inline struct numem_page *cache_pop(struct numem_pcp *pcp, unsigned order, uint16_t owner)
{
	return order <= NUMEM_PCP_MAX_ORDER ? pcp_pop(pcp, order, owner) : pcp_pop_thp(pcp, owner);
}

/* One zone, one attempt. */
static struct numem_page *try_zone(struct numem_cpu *cpu, uint32_t zi, unsigned order,
                                   unsigned flags, uint16_t owner, uint64_t mark_num,
                                   uint64_t mark_den, bool exact)
{
	struct numem_heap *h = cpu->heap;
	struct numem_zone *z = &h->zone[zi];
	/* marks read without the zone lock: a relayout commit may rewrite them */
	uint64_t mark = __atomic_load_n(&z->wmark_low, __ATOMIC_RELAXED);
	if (mark_den) /* min watermark scaled: min * num / den */
		mark = __atomic_load_n(&z->wmark_min, __ATOMIC_RELAXED) * mark_num / mark_den;
	if (numem__pcp_order_cached(order) && !(flags & NUMEM_ALLOC_NOPCP)) {
		struct numem_pcp *pcp = &cpu->pcp[zi];
		/* A THP-order block: the zone's watermark decides before its
		 * cache is popped, as the buddy path's (heap_internal.h).  Small
		 * orders: the refill tested it. */
		if (order > NUMEM_PCP_MAX_ORDER && !numem__watermark_ok_unlocked(z, order, mark))
			return 0;
		struct numem_page *pg = cache_pop(pcp, order, owner);
		if (pg)
			return pg;
		if (numem__pcp_refill(cpu, z, zi, order, mark, exact))
			return cache_pop(pcp, order, owner);
		return 0;
	}
	struct numem_page *pg = 0;
	numem__lock(&z->lock);
	if (numem__watermark_ok(z, order, mark))
		pg = numem__buddy_take(h, z, order, exact);
	if (pg)
		numem__pg_set_state_owner(pg, NUMEM_PS_ALLOCATED, owner);
	numem__unlock(&z->lock);
	return pg;
}

/* Walk the zonelist once. */
static struct numem_page *walk(struct numem_cpu *cpu, const uint16_t *zl, unsigned order,
                               unsigned flags, uint16_t owner, uint64_t mark_num, uint64_t mark_den,
                               uint32_t *step)
{
	struct numem_heap *h = cpu->heap;
	bool xen = h->strategy == NUMEM_STRATEGY_XEN;
	for (int pass = xen ? 0 : 1; pass < 2; pass++)
		for (uint32_t i = 0; zl[i] != UINT16_MAX; i++) {
			struct numem_page *pg;
			/* A zone with deferred sections grows before we go further
			 * down the list (splitting pass only: new sections bring
			 * large blocks). */
			while (!(pg = try_zone(cpu, zl[i], order, flags, owner, mark_num, mark_den,
			                       pass == 0)) &&
			       pass == 1 && h->zone[zl[i]].deferred_pages &&
			       numem__grow_zone(h, &h->zone[zl[i]]))
				;
			if (pg) {
				*step = i;
				return pg;
			}
		}
	return 0;
}

static void account(struct numem_cpu *cpu, numem_nid_t node, numem_nid_t intended, bool il,
                    uint32_t step, unsigned order)
{
	uint64_t(*st)[NUMEM_NR_STATS] = cpu->stat;
	if (node == intended) {
		st[node][NUMEM_STAT_NUMA_HIT]++;
		if (il)
			st[node][NUMEM_STAT_INTERLEAVE_HIT]++;
	} else {
		st[node][NUMEM_STAT_NUMA_MISS]++;
		st[intended][NUMEM_STAT_NUMA_FOREIGN]++;
	}
	bool local = node == cpu->node;
	st[node][local ? NUMEM_STAT_LOCAL_NODE : NUMEM_STAT_OTHER_NODE]++;
	st[node][local ? NUMEM_STAT_LOCAL_PAGES : NUMEM_STAT_OTHER_PAGES] += 1ull << order;
	cpu->fallback_steps += step;
}

static void describe_failure(struct numem_cpu *cpu, const uint16_t *zl, unsigned order,
                             unsigned flags, numem_nid_t intended, struct numem_diag *diag)
{
	if (!diag)
		return;
	struct numem_heap *h = cpu->heap;
	char nodes[96];
	size_t len = 0;
	nodes[0] = '\0';
	numem_nid_t last = NUMEM_NID_NONE;
	uint64_t cached = 0; /* free pages of these zones in other CPUs' caches */
	for (uint32_t i = 0; zl[i] != UINT16_MAX; i++) {
		numem_nid_t n = h->zone[zl[i]].node;
		if (n != last && len + 8 < sizeof(nodes))
			len +=
			    numem__fmt(nodes + len, sizeof(nodes) - len, "%s%u", len ? "," : "", n);
		last = n;
		for (uint32_t c = 0; c < h->nr_cpus; c++)
			if (&h->cpu[c] != cpu)
				cached += numem_pcp_cached_pages(&h->cpu[c].pcp[zl[i]]);
	}
	char held[48];
	held[0] = '\0';
	if (cached) /* only their owners or numem_heap_drain_all give them back
	             * (short: the whole line fits numem_diag.msg) */
		numem__fmt(held, sizeof(held), "; %llu pages cached by other CPUs",
		           (unsigned long long)cached);
	numem__fail(diag, NUMEM_E_NO_PAGES, 0, 0,
	            "numem_alloc: cpu %u: no free block of order %u in node(s) {%s} (intended %u, "
	            "zone limit %s%s%s)%s",
	            cpu->id, order, zl[0] == UINT16_MAX ? "none with a zone in the limit" : nodes,
	            intended, numem_zone_name((enum numem_zone_type)zone_limit(flags)),
	            flags & NUMEM_ALLOC_NORECLAIM ? ", no reclaim" : ", after reclaim",
	            flags & NUMEM_ALLOC_HIGH ? ", high priority" : "", held);
}

/* Does this CPU's cache hold any block? */
static bool cpu_cached(const struct numem_cpu *cpu)
{
	for (uint32_t zi = 0; zi < cpu->heap->nr_zones; zi++)
		if (cpu->pcp[zi].pages || cpu->pcp[zi].count[NUMEM_PCP_THP_LIST])
			return true;
	return false;
}

__attribute__((noinline)) static enum numem_err
alloc_slow(struct numem_cpu *cpu, unsigned order, uint64_t flags_owner, struct numem_policy *policy,
           numem_pfn_t *pfn, struct numem_diag *diag)
{
	/* Flags and owner travel in one argument: six fit in registers, so the
	 * fast path jumps here without a frame of its own. */
	unsigned flags = (unsigned)flags_owner;
	uint16_t owner = (uint16_t)(flags_owner >> 32);
	if (!cpu || !pfn)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_alloc: no cpu or result");
	if (order > NUMEM_MAX_ORDER)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_alloc: order %u above NUMEM_MAX_ORDER %u", order,
		                   NUMEM_MAX_ORDER);
	if ((flags & ~NUMEM_ALLOC_FLAGS_ALL) || (flags & NUMEM_ALLOC_ZONE_MASK) == 3)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_alloc: unknown flags 0x%x",
		                   flags);
	struct numem_heap *h = cpu->heap;
	numem__relayout_sync(cpu); /* a quiescent point: a new layout is picked up */
	if ((flags & NUMEM_ALLOC_ZERO) && !h->plat->phys_to_virt)
		return numem__fail(diag, NUMEM_E_UNSUPPORTED, 0, 0,
		                   "numem_alloc: NUMEM_ALLOC_ZERO needs the platform's "
		                   "phys_to_virt, which this platform lacks");
	unsigned limit = zone_limit(flags);
	struct numem__plan plan;
	uint16_t dyn[4 * NUMEM_MAX_NODES + 1];
	const uint16_t *zl;
	numem_nid_t intended;
	bool il = false;
	bool local = (!policy || policy->mode == NUMEM_POLICY_LOCAL) &&
	             !(flags & NUMEM_ALLOC_EXACT_NODE) &&
	             numem_nodemask_test(&cpu->allowed, cpu->mem_node);
	if (local) {
		zl = &__atomic_load_n(
		    &h->zonelist,
		    __ATOMIC_ACQUIRE)[((size_t)cpu->node * NUMEM_NR_ZONE_TYPES + limit) *
		                      h->zonelist_len];
		intended = cpu->mem_node;
		/* Slow path: respect the cpuset, drop zones of nodes not allowed. */
		uint32_t k = 0;
		for (uint32_t i = 0; zl[i] != UINT16_MAX; i++)
			if (numem_nodemask_test(&cpu->allowed, h->zone[zl[i]].node))
				dyn[k++] = zl[i];
		dyn[k] = UINT16_MAX;
		zl = dyn;
	} else {
		enum numem_err err = numem__policy_nodes(cpu, policy, flags, &plan, diag);
		if (err) {
			numem__trace(cpu, NUMEM_EV_ALLOC_FAIL, order, flags, cpu->mem_node);
			return err;
		}
		numem__zonelist_build(h, plan.node, plan.nr_nodes, limit, dyn);
		zl = dyn;
		intended = plan.intended;
		il = plan.interleave;
	}

	uint32_t step = 0;
	struct numem_page *pg = walk(cpu, zl, order, flags, owner, 0, 0, &step);
	if (!pg) {
		if (!(flags & NUMEM_ALLOC_NORECLAIM) &&
		    numem__run_shrinkers(cpu, intended, NUMEM_MAX(32ull, 1ull << order)))
			numem_heap_drain_cpu(cpu); /* shrinkers' frees may sit in our caches */
		uint64_t den = flags & NUMEM_ALLOC_HIGH ? 2 : 1;
		pg = walk(cpu, zl, order, flags, owner, 1, 1, &step);
		if (!pg && den == 2)
			pg = walk(cpu, zl, order, flags, owner, 1, 2, &step);
		if (!pg && cpu_cached(cpu)) {
			/* Our own caches must not hide what this request needs (a
			 * THP block the watermark kept, blocks that merge into a
			 * larger one): back to the buddy lists, and a last walk, as
			 * Linux drains the per-CPU lists before it gives up. */
			numem_heap_drain_cpu(cpu);
			pg = walk(cpu, zl, order, flags, owner, 1, den, &step);
		}
	}
	if (!pg) {
		describe_failure(cpu, zl, order, flags, intended, diag);
		numem__trace(cpu, NUMEM_EV_ALLOC_FAIL, order, flags, intended);
		return NUMEM_E_NO_PAGES;
	}
	*pfn = numem_page_to_pfn(h->ft, pg);
	enum numem_err err = NUMEM_OK;
	if (h->poison)
		err = numem__check_poison(h, pfn->v, order, diag);
	if (!err && (flags & NUMEM_ALLOC_ZERO))
		err = zero_block(h, pfn->v, order, diag);
	if (err) { /* give the block back (poisoned again) and report */
		numem_free_owned(cpu, *pfn, order, owner, 0);
		numem__trace(cpu, NUMEM_EV_ALLOC_FAIL, order, flags, intended);
		return err;
	}
	numem_nid_t node = numem_page_node(pg);
	if (step)
		numem__trace(cpu, NUMEM_EV_FALLBACK, zl[step], node, step);
	account(cpu, node, intended, il, step, order);
	numem__trace(cpu, NUMEM_EV_ALLOC, pfn->v, order, node | (uint64_t)intended << 16);
	return NUMEM_OK;
}

/*
 * The interleave fast path: the CPU's rotor gives the next node of the
 * policy's mask with memory (the slow path's choice, policy.c); if that
 * node is allowed and its first zone's cache on this CPU holds a block,
 * pop it and count an interleave hit.  Otherwise nothing changed (the
 * rotor included) and the slow path decides.
 */
static inline bool interleave_fast(struct numem_cpu *cpu, unsigned order,
                                   const struct numem_policy *policy, uint16_t owner,
                                   numem_pfn_t *pfn)
{
	const struct numem_heap *h = cpu->heap;
#if NUMEM_NODEMASK_WORDS != 1
	/* The rotor scans one word: machines built for more than 64 nodes take
	 * the slow path, which follows the same rotor. */
	(void)h, (void)order, (void)policy, (void)owner, (void)pfn;
	return false;
#else
	uint64_t m = policy->nodes.w[0] & __atomic_load_n(&h->mem_nodes.w[0], __ATOMIC_RELAXED);
	uint64_t after = m & (~1ull << cpu->il_prev); /* nodes above the last one */
	if (!m)
		return false;
	numem_nid_t node = (numem_nid_t)__builtin_ctzll(after ? after : m);
	uint16_t zi = __atomic_load_n(&h->node_zone[node], __ATOMIC_RELAXED); /* relayout */
	if (zi == UINT16_MAX || !numem_nodemask_test(&cpu->allowed, node))
		return false;
	/* The block must be on that node (numastat counts it there): true by
	 * node_zone's construction, tested so that a table older than the
	 * topology can cost a slow path, never a wrong count. */
	struct numem_pcp *pcp = &cpu->pcp[zi];
	const struct numem_page *head = pcp->list[order];
	if (!head || numem_page_node(head) != node)
		return false;
	struct numem_page *pg = pcp_pop(pcp, order, owner);
	cpu->il_prev = node;
	*pfn = numem_page_to_pfn(cpu->ft, pg);
	uint64_t *st = cpu->stat[node];
	st[NUMEM_STAT_NUMA_HIT]++;
	st[NUMEM_STAT_INTERLEAVE_HIT]++;
	unsigned near = node == cpu->node ? NUMEM_STAT_LOCAL_NODE : NUMEM_STAT_OTHER_NODE;
	st[near]++;
	st[near + (NUMEM_STAT_LOCAL_PAGES - NUMEM_STAT_LOCAL_NODE)] += 1u << order; /* pcp_pop's */
	numem__trace(cpu, NUMEM_EV_ALLOC, pfn->v, order, node | (uint64_t)node << 16);
	return true;
#endif
}

/* The local fast path's event, out of line, for a CPU with a trace ring:
 * the heap's switch is read here, so that a CPU without a ring loads
 * nothing but cpu->trace for it. */
__attribute__((noinline)) static void trace_fast_alloc(struct numem_cpu *cpu, numem_pfn_t pfn,
                                                       unsigned order)
{
	if (numem__tracing(cpu))
		numem__trace_emit(cpu, NUMEM_EV_ALLOC, pfn.v, order,
		                  cpu->fast_node | (uint64_t)cpu->fast_node << 16);
}

/*
 * The THP-order fast path: a local request with no flags pops the THP list
 * of the CPU's first zone (fast_pcp, as the local fast path) if that zone
 * passes its low watermark (heap_internal.h: cached blocks do not count as
 * free, as in Linux), and counts a local hit as the local fast path does.
 * Otherwise nothing changed and the slow path decides.  The zone is the
 * cache's: fast_pcp is a CPU's cache of zone (fast_pcp - cpu->pcp) when
 * its THP list holds a block (no_fast_pcp's lists are always empty).
 */
static inline bool thp_fast(struct numem_cpu *cpu, uint16_t owner, numem_pfn_t *pfn)
{
	struct numem_pcp *pcp = cpu->fast_pcp;
	if (!pcp->list[NUMEM_PCP_THP_LIST] ||
	    !numem__watermark_ok_unlocked(
	        &cpu->heap->zone[pcp - cpu->pcp], NUMEM_PCP_THP_ORDER,
	        __atomic_load_n(&cpu->heap->zone[pcp - cpu->pcp].wmark_low, __ATOMIC_RELAXED)))
		return false;
	struct numem_page *pg = pcp_pop_thp(pcp, owner);
	*pfn = numem_page_to_pfn(cpu->ft, pg);
	/* counted on the fast node's row directly (fast_allocs covers the
	 * orders of the order-0..3 caches only) */
	uint64_t *row = cpu->stat[cpu->fast_node];
	row[NUMEM_STAT_NUMA_HIT]++;
	row[cpu->fast_near]++;
	row[cpu->fast_near + (NUMEM_STAT_LOCAL_PAGES - NUMEM_STAT_LOCAL_NODE)] +=
	    1u << NUMEM_PCP_THP_ORDER;
	if (__builtin_expect(numem__tracing(cpu), 0))
		trace_fast_alloc(cpu, *pfn, NUMEM_PCP_THP_ORDER);
	return true;
}

/* Whatever the local fast path does not serve: the THP-order and the
 * interleave fast paths, else the slow path.  Out of line, so that the
 * local fast path stays as short as it was. */
__attribute__((noinline)) static enum numem_err
alloc_other(struct numem_cpu *cpu, unsigned order, uint64_t flags_owner,
            struct numem_policy *policy, numem_pfn_t *pfn, struct numem_diag *diag)
{
	if (cpu && pfn && ((flags_owner & UINT32_MAX) << 32 | order) == NUMEM_PCP_THP_ORDER &&
	    (!policy || policy->mode == NUMEM_POLICY_LOCAL) &&
	    thp_fast(cpu, (uint16_t)(flags_owner >> 32), pfn))
		return NUMEM_OK;
	if (cpu && pfn && policy && policy->mode == NUMEM_POLICY_INTERLEAVE &&
	    ((flags_owner & UINT32_MAX) << 32 | order) <= NUMEM_PCP_MAX_ORDER &&
	    interleave_fast(cpu, order, policy, (uint16_t)(flags_owner >> 32), pfn))
		return NUMEM_OK;
	return alloc_slow(cpu, order, flags_owner, policy, pfn, diag);
}

/*
 * The fast path: a local request of a small order with no flags pops the
 * CPU's cache of its first zone (precomputed at init and on cpuset
 * changes).  Anything else, and every error, takes the slow path, which
 * validates and explains.
 */
static inline __attribute__((always_inline)) enum numem_err
alloc_fast(struct numem_cpu *cpu, unsigned order, unsigned flags, struct numem_policy *policy,
           uint16_t owner, numem_pfn_t *pfn, struct numem_diag *diag)
{
	if (__builtin_expect(cpu && pfn && order <= NUMEM_PCP_MAX_ORDER && !flags &&
	                         (!policy || policy->mode == NUMEM_POLICY_LOCAL),
	                     1)) {
		uint64_t f;
		struct numem_page *pg = pcp_pop_flags(cpu->fast_pcp, order, owner, &f);
		if (__builtin_expect(pg != 0, 1)) {
			/* From the flags pcp_pop read: reading them again would
			 * wait for its own store (a store-forwarding round trip
			 * on the pair's critical path). */
			*pfn = numem_page_to_pfn_flags(cpu->ft, pg, f);
			/* numa_hit, local_node (or other_node) and its pages, in
			 * one count that numem_heap_node_stats() folds */
			cpu->fast_allocs[order]++;
			if (__builtin_expect(cpu->trace != 0, 0)) /* it reads the heap's switch */
				trace_fast_alloc(cpu, *pfn, order);
			return NUMEM_OK;
		}
	}
	return alloc_other(cpu, order, (uint64_t)owner << 32 | flags, policy, pfn, diag);
}

enum numem_err numem_alloc(struct numem_cpu *cpu, unsigned order, unsigned flags,
                           struct numem_policy *policy, numem_pfn_t *pfn, struct numem_diag *diag)
{
	return alloc_fast(cpu, order, flags, policy, NUMEM_OWNER_HEAP, pfn, diag);
}

enum numem_err numem_alloc_owned(struct numem_cpu *cpu, unsigned order, unsigned flags,
                                 struct numem_policy *policy, uint16_t owner, numem_pfn_t *pfn,
                                 struct numem_diag *diag)
{
	if (__builtin_expect(!numem_owner_valid(owner), 0))
		return numem__fail(
		    diag, NUMEM_E_INVAL, 0, 0,
		    "numem_alloc_owned: owner 0x%x is nobody's: neither the heap (0), "
		    "a domain (1..0x%x) nor a core layer (>= 0x%x)",
		    owner, NUMEM_OWNER_DOMAIN_MAX, NUMEM_OWNER_SLAB);
	return alloc_fast(cpu, order, flags, policy, owner, pfn, diag);
}
