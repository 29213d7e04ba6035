/*
 * alloc.c - numem_alloc() and numem_free(): the zonelist walk, the two
 * fallback strategies, per-CPU caches, watermarks, shrinkers, statistics.
 *
 * Fast path (a local request of order <= NUMEM_PCP_MAX_ORDER with no flags,
 * a page in the CPU's cache of its first zone): pop it, mark it allocated,
 * count it.  No lock, no indirect call, no shared write (numem_alloc and
 * numem_free at the end of this file).  Otherwise the walk:
 *
 *   1. zonelist: the local policy uses the node's precomputed list; other
 *      policies build one from their node order (policy.c, zonelist.c);
 *   2. pass "exact" (Xen strategy only): every zone in order, a block of
 *      exactly the order, per-CPU cache or buddy list, above the low mark;
 *   3. pass "split": every zone in order, any block of the order or larger;
 *      a zone that still has deferred sections initialises one and is
 *      tried again before the walk moves on;
 *   5. unless NUMEM_ALLOC_NORECLAIM: ask the shrinkers, then retry against
 *      the min mark (min/2 with NUMEM_ALLOC_HIGH).
 * A failed call changes nothing and says why.
 */
#include "alloc_internal.h"

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

static inline bool watermark_ok(const struct numem_zone *z, unsigned order, uint64_t mark)
{
	return z->free_pages >= mark + (1ull << order);
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

/* Refill a per-CPU list from the buddy lists: up to `batch` blocks while the
 * zone stays above `mark`.  Returns blocks added. */
static uint32_t pcp_refill(struct numem_cpu *cpu, struct numem_zone *z, uint32_t zi, unsigned order,
                           uint64_t mark, bool exact)
{
	struct numem_heap *h = cpu->heap;
	struct numem_pcp *pcp = &cpu->pcp[zi];
	uint32_t want = NUMEM_MAX(1u, h->pcp_batch >> order), got = 0;
	numem__lock(&z->lock);
	while (got < want && watermark_ok(z, order, mark)) {
		struct numem_page *pg = numem__buddy_take(h, z, order, exact);
		if (!pg)
			break;
		numem__pg_set_state_owner(pg, NUMEM_PS_PCP, 0);
		pg->next = pcp->list[order];
		pcp->list[order] = pg;
		got++;
	}
	numem__unlock(&z->lock);
	pcp->count[order] += got;
	pcp->pages += got << order;
	if (got)
		numem__trace(cpu, NUMEM_EV_PCP_REFILL, zi, order, got);
	return got;
}

/* Every transition to ALLOCATED writes the owner (state and owner in one
 * store): a page a domain gave back never reaches another user still
 * naming that domain. */
static inline struct numem_page *pcp_pop(struct numem_pcp *pcp, unsigned order, uint16_t owner)
{
	struct numem_page *pg = pcp->list[order];
	if (pg) {
		pcp->list[order] = pg->next;
		pg->next = 0;
		pcp->count[order]--;
		pcp->pages -= 1u << order;
		numem__pg_set_state_owner(pg, NUMEM_PS_ALLOCATED, owner);
	}
	return pg;
}

/* One zone, one attempt. */
static struct numem_page *try_zone(struct numem_cpu *cpu, uint32_t zi, unsigned order,
                                   unsigned flags, uint16_t owner, uint64_t mark_num,
                                   uint64_t mark_den, bool exact)
{
	struct numem_heap *h = cpu->heap;
	struct numem_zone *z = &h->zone[zi];
	uint64_t mark = z->wmark_low;
	if (mark_den) /* min watermark scaled: min * num / den */
		mark = z->wmark_min * mark_num / mark_den;
	if (order <= NUMEM_PCP_MAX_ORDER && !(flags & NUMEM_ALLOC_NOPCP)) {
		struct numem_pcp *pcp = &cpu->pcp[zi];
		struct numem_page *pg = pcp_pop(pcp, order, owner);
		if (pg)
			return pg;
		if (pcp_refill(cpu, z, zi, order, mark, exact))
			return pcp_pop(pcp, order, owner);
		return 0;
	}
	struct numem_page *pg = 0;
	numem__lock(&z->lock);
	if (watermark_ok(z, order, mark))
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
	uint64_t n = 1ull << order;
	if (node == intended) {
		st[node][NUMEM_STAT_NUMA_HIT] += n;
		if (il)
			st[node][NUMEM_STAT_INTERLEAVE_HIT] += n;
	} else {
		st[node][NUMEM_STAT_NUMA_MISS] += n;
		st[intended][NUMEM_STAT_NUMA_FOREIGN] += n;
	}
	st[node][node == cpu->node ? NUMEM_STAT_LOCAL_NODE : NUMEM_STAT_OTHER_NODE] += n;
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
	for (uint32_t i = 0; zl[i] != UINT16_MAX && len + 8 < sizeof(nodes); i++) {
		numem_nid_t n = h->zone[zl[i]].node;
		if (n != last)
			len +=
			    numem__fmt(nodes + len, sizeof(nodes) - len, "%s%u", len ? "," : "", n);
		last = n;
	}
	numem__fail(diag, NUMEM_E_NO_PAGES, 0, 0,
	            "numem_alloc: cpu %u: no free block of order %u in node(s) {%s} (intended %u, "
	            "zone limit %s%s%s)",
	            cpu->id, order, zl[0] == UINT16_MAX ? "none with a zone in the limit" : nodes,
	            intended, numem_zone_name((enum numem_zone_type)zone_limit(flags)),
	            flags & NUMEM_ALLOC_NORECLAIM ? ", no reclaim" : ", after reclaim",
	            flags & NUMEM_ALLOC_HIGH ? ", high priority" : "");
}

__attribute__((noinline)) static enum numem_err
alloc_slow(struct numem_cpu *cpu, unsigned order, unsigned flags, struct numem_policy *policy,
           uint16_t owner, numem_pfn_t *pfn, struct numem_diag *diag)
{
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
		zl = &h->zonelist[((size_t)cpu->node * NUMEM_NR_ZONE_TYPES + limit) *
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
		pg = walk(cpu, zl, order, flags, owner, 1, 1, &step);
		if (!pg && (flags & NUMEM_ALLOC_HIGH))
			pg = walk(cpu, zl, order, flags, owner, 1, 2, &step);
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

static const char *const state_names[] = {"uninitialised",
                                          "a hole",
                                          "reserved",
                                          "free",
                                          "inside a free block",
                                          "allocated",
                                          "inside an allocated block",
                                          "free (per-CPU cache)"};

/*
 * A pfn that heads no allocated block: find the block that covers it (a
 * head at pfn rounded down to some order, whose order reaches pfn) to tell
 * a double free (inside a free block) from a stray pfn.  Error path only.
 */
static enum numem_err reject_not_head(struct numem_heap *h, const char *who, uint64_t pfn,
                                      enum numem_page_state st, struct numem_diag *diag)
{
	if (st == NUMEM_PS_HOLE)
		return numem__fail(diag, NUMEM_E_RANGE, 0, 0,
		                   "%s: pfn 0x%llx is in a hole (no RAM at that address)", who,
		                   (unsigned long long)pfn);
	for (unsigned o = 1; o <= NUMEM_MAX_ORDER; o++) {
		uint64_t head = pfn & ~((1ull << o) - 1);
		struct numem_page *hp = numem_frametable_lookup(h->ft, numem_pfn(head));
		if (!hp)
			break;
		enum numem_page_state hs = numem__pg_state(hp);
		if ((hs != NUMEM_PS_FREE && hs != NUMEM_PS_PCP && hs != NUMEM_PS_ALLOCATED) ||
		    numem__pg_order(hp) < o)
			continue;
		if (hs == NUMEM_PS_ALLOCATED)
			return numem__fail(diag, NUMEM_E_NOT_ALLOCATED, 0, 0,
			                   "%s: pfn 0x%llx lies inside the allocated block "
			                   "0x%llx of order %u; name that block",
			                   who, (unsigned long long)pfn, (unsigned long long)head,
			                   numem__pg_order(hp));
		return numem__fail(diag, NUMEM_E_DOUBLE_FREE, 0, 0,
		                   "%s: pfn 0x%llx is already free (inside the free block "
		                   "0x%llx of order %u)",
		                   who, (unsigned long long)pfn, (unsigned long long)head,
		                   numem__pg_order(hp));
	}
	return numem__fail(diag, NUMEM_E_NOT_ALLOCATED, 0, 0,
	                   "%s: pfn 0x%llx is not the head of an allocated block (it is %s)", who,
	                   (unsigned long long)pfn, state_names[st]);
}

struct numem_page *numem__check_allocated(struct numem_heap *h, const char *who, numem_pfn_t pfn,
                                          unsigned order, uint16_t owner, enum numem_err *err,
                                          struct numem_diag *diag)
{
	if (order > NUMEM_MAX_ORDER) {
		*err = numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "%s: pfn 0x%llx: order %u above NUMEM_MAX_ORDER %u", who,
		                   (unsigned long long)pfn.v, order, NUMEM_MAX_ORDER);
		return 0;
	}
	enum numem_page_state where;
	struct numem_page *pg = numem__lookup_online(h->ft, pfn, &where);
	if (!pg && where == NUMEM_PS_HOLE) {
		*err =
		    numem__fail(diag, NUMEM_E_RANGE, 0, 0,
		                "%s: pfn 0x%llx is not RAM of this machine (max_pfn 0x%llx)", who,
		                (unsigned long long)pfn.v, (unsigned long long)h->ft->max_pfn);
		return 0;
	}
	if (!pg) {
		*err = numem__fail(diag, NUMEM_E_NOT_ALLOCATED, 0, 0,
		                   "%s: pfn 0x%llx is in a section not initialised yet (deferred): "
		                   "never allocated",
		                   who, (unsigned long long)pfn.v);
		return 0;
	}
	if (pfn.v & ((1ull << order) - 1)) {
		*err = numem__fail(diag, NUMEM_E_MISALIGNED, 0, 0,
		                   "%s: pfn 0x%llx is not aligned to order %u", who,
		                   (unsigned long long)pfn.v, order);
		return 0;
	}
	uint64_t f = numem__pg_flags(pg);
	enum numem_page_state st = (enum numem_page_state)(f & NUMEM_PG_STATE_MASK);
	if (st == NUMEM_PS_FREE || st == NUMEM_PS_PCP) {
		*err = numem__fail(diag, NUMEM_E_DOUBLE_FREE, 0, 0,
		                   "%s: pfn 0x%llx (order %u) is already free", who,
		                   (unsigned long long)pfn.v, order);
		return 0;
	}
	if (st != NUMEM_PS_ALLOCATED) {
		*err = reject_not_head(h, who, pfn.v, st, diag);
		return 0;
	}
	unsigned got = (unsigned)((f >> NUMEM_PG_ORDER_SHIFT) & NUMEM_PG_ORDER_MASK);
	if (got != order) {
		*err = numem__fail(diag, NUMEM_E_BAD_ORDER, 0, 0,
		                   "%s: pfn 0x%llx was allocated with order %u, not order %u", who,
		                   (unsigned long long)pfn.v, got, order);
		return 0;
	}
	uint16_t holder = (uint16_t)((f >> NUMEM_PG_OWNER_SHIFT) & NUMEM_PG_OWNER_MASK);
	if (holder != owner) {
		char a[24], b[24];
		*err = numem__fail(
		    diag, NUMEM_E_OWNER, 0, 0, "%s: pfn 0x%llx (order %u) belongs to %s, not to %s",
		    who, (unsigned long long)pfn.v, order, numem_owner_name(holder, a, sizeof(a)),
		    numem_owner_name(owner, b, sizeof(b)));
		return 0;
	}
	*err = NUMEM_OK;
	return pg;
}

/*
 * Racing frees.  With NUMEM_FREE_CAS (on in debug builds, or by the build
 * option of that name) a free claims the block with one compare-and-swap
 * of its head descriptor, ALLOCATED (this order, this owner) -> PCP, before
 * it touches anything else, so of two CPUs freeing one block at the same
 * moment exactly one wins and the other gets NUMEM_E_DOUBLE_FREE
 * (mimalloc's cross-thread free works the same way).  Without it the check
 * and the store are separate (a plain store after a load): the caller's
 * bug goes unseen; docs/PERFORMANCE.md has what the CAS costs.
 */
#if defined(NUMEM_DEBUG) && !defined(NUMEM_FREE_CAS)
#define NUMEM_FREE_CAS 1
#endif

bool numem_heap_free_is_atomic(void)
{
#ifdef NUMEM_FREE_CAS
	return true;
#else
	return false;
#endif
}

/* The descriptor bits an allocated head of `order` held by `owner` has. */
#define FREE_WANT(order, owner)                                                                    \
	((uint64_t)NUMEM_PS_ALLOCATED << NUMEM_PG_STATE_SHIFT |                                    \
	 (uint64_t)(order) << NUMEM_PG_ORDER_SHIFT | (uint64_t)(owner) << NUMEM_PG_OWNER_SHIFT)
#define FREE_MASK                                                                                  \
	(NUMEM__PG_STATE_BITS | NUMEM__PG_OWNER_BITS | NUMEM_PG_ORDER_MASK << NUMEM_PG_ORDER_SHIFT)

/* Take a head whose flags were `f` (checked: allocated, order, owner) from
 * ALLOCATED to PCP with the owner cleared.  False: another CPU changed it
 * first (only with NUMEM_FREE_CAS; otherwise it always succeeds). */
static inline __attribute__((always_inline)) bool free_claim(struct numem_page *pg, uint64_t f)
{
#ifdef NUMEM_FREE_CAS
	return __atomic_compare_exchange_n(&pg->flags, &f, numem__pg_with(f, NUMEM_PS_PCP, 0),
	                                   false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
#else
	numem__pg_store(pg, numem__pg_with(f, NUMEM_PS_PCP, 0));
	return true;
#endif
}

__attribute__((noinline)) static enum numem_err free_slow(struct numem_cpu *cpu, numem_pfn_t pfn,
                                                          unsigned order, uint16_t owner,
                                                          struct numem_diag *diag)
{
	if (!cpu)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_free: no cpu");
	struct numem_heap *h = cpu->heap;
	enum numem_err err;
	struct numem_page *pg =
	    numem__check_allocated(h, "numem_free", pfn, order, owner, &err, diag);
	if (!pg)
		return err;
	/* Claim it (PCP, owner cleared) before anything else is written; a
	 * merge never takes a PCP head, so the block is ours until it goes on
	 * a list.  The flags must still be the ones just checked. */
	uint64_t f = numem__pg_flags(pg);
	if ((f & FREE_MASK) != FREE_WANT(order, owner) || !free_claim(pg, f))
		return numem__fail(diag, NUMEM_E_DOUBLE_FREE, 0, 0,
		                   "numem_free: pfn 0x%llx (order %u) was freed by another CPU at "
		                   "the same moment",
		                   (unsigned long long)pfn.v, order);
	if (h->poison)
		numem__poison_block(h, pfn.v, order);
	uint32_t zi = numem__pg_zone_index(pg);
	numem__trace(cpu, NUMEM_EV_FREE, pfn.v, order, numem_page_node(pg));
	if (order <= NUMEM_PCP_MAX_ORDER) {
		struct numem_pcp *pcp = &cpu->pcp[zi];
		pg->next = pcp->list[order];
		pcp->list[order] = pg;
		pcp->count[order]++;
		pcp->pages += 1u << order;
		if (pcp->pages > h->pcp_high)
			numem__pcp_drain(cpu, zi, order, NUMEM_MAX(1u, h->pcp_batch >> order));
		return NUMEM_OK;
	}
	struct numem_zone *z = &h->zone[zi];
	numem__lock(&z->lock);
	numem__buddy_free(h, z, pfn.v, order);
	numem__unlock(&z->lock);
	return NUMEM_OK;
}

/*
 * The fast paths.  Allocation: a local request of a small order with no
 * flags pops the CPU's cache of its first zone (precomputed at init and on
 * cpuset changes).  Free: a small block whose descriptor says "allocated,
 * this order" goes on the CPU's cache of its zone.  Anything else, and every
 * error, takes the slow path, which validates and explains.
 */
static inline __attribute__((always_inline)) enum numem_err
alloc_fast(struct numem_cpu *cpu, unsigned order, unsigned flags, struct numem_policy *policy,
           uint16_t owner, numem_pfn_t *pfn, struct numem_diag *diag)
{
	if (__builtin_expect(cpu && pfn && !flags && order <= NUMEM_PCP_MAX_ORDER &&
	                         (!policy || policy->mode == NUMEM_POLICY_LOCAL) &&
	                         cpu->fast_zone != UINT16_MAX,
	                     1)) {
		struct numem_page *pg = pcp_pop(&cpu->pcp[cpu->fast_zone], order, owner);
		if (pg) {
			*pfn = numem_page_to_pfn(cpu->ft, pg);
			uint64_t n = 1ull << order;
			cpu->stat[cpu->fast_node][NUMEM_STAT_NUMA_HIT] += n;
			cpu->stat[cpu->fast_node][cpu->fast_stat] += n;
			numem__trace(cpu, NUMEM_EV_ALLOC, pfn->v, order,
			             cpu->fast_node | (uint64_t)cpu->fast_node << 16);
			return NUMEM_OK;
		}
	}
	return alloc_slow(cpu, order, flags, policy, owner, pfn, diag);
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
	return alloc_fast(cpu, order, flags, policy, owner, pfn, diag);
}

/* The free fast path: one load of the head descriptor checks state, order
 * and owner at once (a constant mask); the store clears the owner.  The
 * lookup reads the section's state once (acquire): a pfn of a section not
 * yet online, whose descriptors deferred init may be writing, is left to
 * the slow path, which rejects it without reading them. */
static inline __attribute__((always_inline)) enum numem_err
free_fast(struct numem_cpu *cpu, numem_pfn_t pfn, unsigned order, uint16_t owner,
          struct numem_diag *diag)
{
	if (__builtin_expect(cpu && order <= NUMEM_PCP_MAX_ORDER, 1)) {
		enum numem_page_state where;
		struct numem_page *pg = numem__lookup_online(cpu->ft, pfn, &where);
		uint64_t f;
		if (pg && !(pfn.v & ((1u << order) - 1)) &&
		    ((f = numem__pg_flags(pg)) & FREE_MASK) == FREE_WANT(order, owner) &&
		    cpu->fast_free && free_claim(pg, f)) {
			uint32_t zi = (uint32_t)((f >> NUMEM_PG_NODE_SHIFT) & NUMEM_PG_NODE_MASK) *
			                  NUMEM_NR_ZONE_TYPES +
			              (uint32_t)((f >> NUMEM_PG_ZONE_SHIFT) & NUMEM_PG_ZONE_MASK);
			struct numem_pcp *pcp = &cpu->pcp[zi];
			pg->next = pcp->list[order];
			pcp->list[order] = pg;
			pcp->count[order]++;
			pcp->pages += 1u << order;
			numem__trace(cpu, NUMEM_EV_FREE, pfn.v, order,
			             (f >> NUMEM_PG_NODE_SHIFT) & NUMEM_PG_NODE_MASK);
			if (__builtin_expect(pcp->pages > cpu->pcp_high, 0))
				numem__pcp_drain(cpu, zi, order,
				                 NUMEM_MAX(1u, cpu->heap->pcp_batch >> order));
			return NUMEM_OK;
		}
	}
	return free_slow(cpu, pfn, order, owner, diag);
}

enum numem_err numem_free(struct numem_cpu *cpu, numem_pfn_t pfn, unsigned order,
                          struct numem_diag *diag)
{
	return free_fast(cpu, pfn, order, NUMEM_OWNER_HEAP, diag);
}

enum numem_err numem_free_owned(struct numem_cpu *cpu, numem_pfn_t pfn, unsigned order,
                                uint16_t owner, struct numem_diag *diag)
{
	return free_fast(cpu, pfn, order, owner, diag);
}

void numem__pcp_drain(struct numem_cpu *cpu, uint32_t zi, unsigned order, uint32_t count)
{
	struct numem_heap *h = cpu->heap;
	struct numem_pcp *pcp = &cpu->pcp[zi];
	struct numem_zone *z = &h->zone[zi];
	uint32_t done = 0;
	numem__lock(&z->lock);
	while (done < count && pcp->list[order]) {
		struct numem_page *pg = pcp->list[order];
		pcp->list[order] = pg->next;
		pg->next = 0;
		numem__buddy_free(h, z, numem_page_to_pfn(h->ft, pg).v, order);
		done++;
	}
	numem__unlock(&z->lock);
	pcp->count[order] -= done;
	pcp->pages -= done << order;
	if (done)
		numem__trace(cpu, NUMEM_EV_PCP_DRAIN, zi, order, done);
}

void numem_heap_drain_cpu(struct numem_cpu *cpu)
{
	struct numem_heap *h = cpu->heap;
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		if (!cpu->pcp[zi].pages)
			continue;
		for (unsigned o = 0; o <= NUMEM_PCP_MAX_ORDER; o++)
			if (cpu->pcp[zi].count[o])
				numem__pcp_drain(cpu, zi, o, cpu->pcp[zi].count[o]);
	}
}

void numem_heap_drain_all(struct numem_heap *h)
{
	for (uint32_t c = 0; c < h->nr_cpus; c++)
		numem_heap_drain_cpu(&h->cpu[c]);
}

/*
 * Poisoning (debug): a freed block's bytes are set to POISON_BYTE and each
 * page's descriptor gets NUMEM_PG_POISONED; an allocation checks the bytes
 * of every page so marked, so a write after free is caught when the page is
 * handed out again.  Pages never freed since boot carry no mark.
 */
void numem__poison_block(struct numem_heap *h, uint64_t pfn, unsigned order)
{
	for (uint64_t i = 0; i < (1ull << order); i++) {
		void *v =
		    h->plat->phys_to_virt(h->plat->ctx, numem_pfn_to_paddr(numem_pfn(pfn + i)));
		if (!v)
			continue;
		memset(v, POISON_BYTE, NUMEM_PAGE_SIZE);
		struct numem_page *pg = numem_pfn_to_page(h->ft, numem_pfn(pfn + i));
		numem__pg_store(pg, numem__pg_flags(pg) | NUMEM_PG_POISONED);
	}
}

/* A page of poison to compare with (memcmp is the embedder's fast one). */
static const uint8_t poison_page[NUMEM_PAGE_SIZE] = {
    [0 ... NUMEM_PAGE_SIZE - 1] = POISON_BYTE,
};

enum numem_err numem__check_poison(struct numem_heap *h, uint64_t pfn, unsigned order,
                                   struct numem_diag *diag)
{
	for (uint64_t i = 0; i < (1ull << order); i++) {
		struct numem_page *pg = numem_pfn_to_page(h->ft, numem_pfn(pfn + i));
		uint64_t f = numem__pg_flags(pg);
		if (!(f & NUMEM_PG_POISONED))
			continue;
		numem__pg_store(pg, f & ~NUMEM_PG_POISONED);
		const uint8_t *v =
		    h->plat->phys_to_virt(h->plat->ctx, numem_pfn_to_paddr(numem_pfn(pfn + i)));
		if (!v || memcmp(v, poison_page, NUMEM_PAGE_SIZE) == 0)
			continue;
		for (uint32_t b = 0; b < NUMEM_PAGE_SIZE; b++)
			if (v[b] != POISON_BYTE)
				return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
				                   "numem_alloc: pfn 0x%llx byte %u is 0x%02x, not "
				                   "the poison 0x%02x: written after it was freed",
				                   (unsigned long long)(pfn + i), b, v[b],
				                   POISON_BYTE);
	}
	return NUMEM_OK;
}
