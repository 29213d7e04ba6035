/*
 * free.c - numem_free(): the checks every operation on an allocated block
 * makes (numem__check_allocated, shared with split and hand-over in
 * owner.c), the free fast path and the slow path that validates and
 * explains, and the optional compare-and-swap that catches two CPUs
 * freeing one block at once.
 *
 * Fast path: a small block whose head descriptor says "allocated, this
 * order, this owner" (one load, one masked compare) goes on the CPU's cache
 * of its zone; a block of the THP order the same way at the head of the
 * slow path (free_thp), unless its zone is under pressure.  Anything else,
 * and every error, takes the slow path.
 */
#include "relayout_internal.h"

#include <numem/trace.h>

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
	if (!h) {
		*err = numem__fail(diag, NUMEM_E_INVAL, 0, 0, "%s: no heap", who);
		return 0;
	}
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
/* NUMEM_FREE_CAS itself is defined in lib/internal.h (the slab uses it too). */

bool numem_heap_free_is_atomic(void)
{
#ifdef NUMEM_FREE_CAS
	return true;
#else
	return false;
#endif
}

/* The descriptor bits an allocated head of `order` held by `owner` has:
 * FREE_ALLOCATED | FREE_WANT (the fast path takes the state from the CPU). */
#define FREE_WANT(order, owner)                                                                    \
	((uint64_t)(order) << NUMEM_PG_ORDER_SHIFT | (uint64_t)(owner) << NUMEM_PG_OWNER_SHIFT)
#define FREE_ALLOCATED ((uint64_t)NUMEM_PS_ALLOCATED << NUMEM_PG_STATE_SHIFT)
#define FREE_MASK                                                                                  \
	(NUMEM__PG_STATE_BITS | NUMEM__PG_OWNER_BITS | NUMEM_PG_ORDER_MASK << NUMEM_PG_ORDER_SHIFT)
/* FREE_MASK and the head's zone (node and type): the fast path's compare. */
#define FREE_MASK_ZONE (FREE_MASK | NUMEM__PG_ZONE_BITS)
/* free_thp's: FREE_MASK and the PENDING bit of cpu->free_want. */
#define FREE_MASK_THP (FREE_MASK | NUMEM__FREE_WANT_PENDING)

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

/* Is a THP-order free into zone z's cache allowed now?  Not while the zone
 * is below its low mark: under pressure such blocks go to the buddy lists,
 * where any CPU can take them (a relaxed load, no lock). */
static inline bool thp_cacheable(const struct numem_zone *z)
{
	return __atomic_load_n(&z->free_pages, __ATOMIC_RELAXED) >=
	       __atomic_load_n(&z->wmark_low, __ATOMIC_RELAXED);
}

/* A claimed THP-order head (state PCP) onto its zone's THP list; above
 * NUMEM_PCP_THP_HIGH blocks the list gives one back. */
static void thp_push(struct numem_cpu *cpu, struct numem_page *pg, uint32_t zi)
{
	struct numem_pcp *pcp = &cpu->pcp[zi];
	pg->next = pcp->list[NUMEM_PCP_THP_LIST];
	pcp->list[NUMEM_PCP_THP_LIST] = pg;
	if (numem__pcp_thp_add(pcp, 1) > NUMEM_PCP_THP_HIGH)
		numem__pcp_drain(cpu, zi, NUMEM_PCP_THP_ORDER, 1);
}

/*
 * The THP-order free's fast form, the order-0 fast path's checks in the
 * same order: the descriptor through the online map (a section not online
 * is left to the checks below), one masked compare of state, order and
 * owner against cpu->free_want (poisoning fails it for every head), the
 * claim (a compare-and-swap with NUMEM_FREE_CAS).  False, with nothing
 * changed, for anything else: a zone under pressure, an error, a racing
 * free; free_slow then checks again and explains.
 */
static bool free_thp(struct numem_cpu *cpu, numem_pfn_t pfn, uint16_t owner)
{
	uintptr_t base = numem__online_base(cpu->online_map, cpu->ft, pfn);
	if (!base)
		return false;
	struct numem_page *pg = numem__online_page(base, pfn);
	uint64_t f = numem__pg_flags(pg);
	/* free_want also names the CPU's first zone: a THP block of any zone
	 * goes on its own zone's list, so the compare leaves the zone out; it
	 * keeps the PENDING bit, which no head has: while pages are pending
	 * after a relayout every THP free takes free_slow, which sends a
	 * pending block to its new node */
	if ((f & FREE_MASK_THP) !=
	    ((cpu->free_want | FREE_WANT(NUMEM_PCP_THP_ORDER, owner)) & FREE_MASK_THP))
		return false;
	uint32_t zi = numem__pg_zone_index(pg);
	if (!thp_cacheable(&cpu->heap->zone[zi]) || !free_claim(pg, f))
		return false;
	numem__trace(cpu, NUMEM_EV_FREE, pfn.v, NUMEM_PCP_THP_ORDER,
	             (f >> NUMEM_PG_NODE_SHIFT) & NUMEM_PG_NODE_MASK);
	thp_push(cpu, pg, zi);
	return true;
}

__attribute__((noinline)) static enum numem_err free_slow(struct numem_cpu *cpu, numem_pfn_t pfn,
                                                          unsigned order, uint16_t owner,
                                                          struct numem_diag *diag)
{
	if (!cpu)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_free: no cpu");
	if (order == NUMEM_PCP_THP_ORDER && free_thp(cpu, pfn, owner))
		return NUMEM_OK;
	struct numem_heap *h = cpu->heap;
	enum numem_err err;
	numem__relayout_sync(cpu); /* a quiescent point: a new layout is picked up */
	struct numem_page *pg =
	    numem__check_allocated(h, "numem_free", pfn, order, owner, &err, diag);
	if (!pg)
		return err;
	/* Claim it (PCP, owner cleared) before anything else is written; a
	 * merge never takes a PCP head, so the block is ours until it goes on
	 * a list.  The flags must still be the ones just checked. */
	uint64_t f = numem__pg_flags(pg);
	if ((f & FREE_MASK) != (FREE_ALLOCATED | FREE_WANT(order, owner)) || !free_claim(pg, f))
		return numem__fail(diag, NUMEM_E_DOUBLE_FREE, 0, 0,
		                   "numem_free: pfn 0x%llx (order %u) was freed by another CPU at "
		                   "the same moment",
		                   (unsigned long long)pfn.v, order);
	if (h->poison)
		numem__poison_block(h, pfn.v, order);
	uint32_t zi = numem__pg_zone_index(pg);
	numem__trace(cpu, NUMEM_EV_FREE, pfn.v, order, numem_page_node(pg));
	if (__builtin_expect(numem__relayout_check(h, h->zone[zi].node, pfn.v, order), 0)) {
		/* Pending (its range moved): to its new node, not into the cache
		 * of its old zone, which would hand it out as that node's. */
		numem__relayout_divert(h, zi, pfn.v, order);
		return NUMEM_OK;
	}
	if (order <= NUMEM_PCP_MAX_ORDER) {
		struct numem_pcp *pcp = &cpu->pcp[zi];
		pg->next = pcp->list[order];
		pcp->list[order] = pg;
		pcp->count[order]++;
		if (numem__pcp_pages_add(pcp, 1u << order) > h->pcp_high)
			numem__pcp_drain(cpu, zi, order, NUMEM_MAX(1u, h->pcp_batch >> order));
		return NUMEM_OK;
	}
	struct numem_zone *z = &h->zone[zi];
	if (order == NUMEM_PCP_THP_ORDER) {
		if (thp_cacheable(z)) {
			thp_push(cpu, pg, zi);
			return NUMEM_OK;
		}
		/* Pressure: the zone's cached THP blocks go back with this one. */
		numem__pcp_drain(cpu, zi, order, cpu->pcp[zi].count[NUMEM_PCP_THP_LIST]);
	}
	numem__lock(&z->lock);
	if (__builtin_expect(numem__relayout_check(h, z->node, pfn.v, order), 0)) {
		numem__unlock(&z->lock); /* its range moved: to its new node */
		numem__relayout_divert(h, zi, pfn.v, order);
		return NUMEM_OK;
	}
	numem__buddy_free(h, z, pfn.v, order);
	numem__unlock(&z->lock);
	return NUMEM_OK;
}

/* A fast free while pages are pending after a relayout: a pending block
 * (its range moved) comes back off the cache it was just pushed on (its
 * list's head) and goes to its new node.  True when it did. */
__attribute__((noinline)) static bool free_pending(struct numem_cpu *cpu, uint32_t zi,
                                                   numem_pfn_t pfn, unsigned order)
{
	struct numem_heap *h = cpu->heap;
	if (!numem__relayout_check(h, h->zone[zi].node, pfn.v, order))
		return false;
	struct numem_pcp *pcp = &cpu->pcp[zi];
	struct numem_page *pg = pcp->list[order];
	pcp->list[order] = pg->next;
	pg->next = 0;
	numem__pcp_account(pcp, order, -1);
	numem__relayout_divert(h, zi, pfn.v, order);
	return true;
}

/* What a fast free does after the push when the CPU may trace, pages are
 * pending after a relayout (free_want's PENDING bit), or its cache went
 * over its high mark (cpu->free_tail_above is 0 on a CPU with a trace ring
 * and while pages are pending, so every free of such a CPU comes here):
 * out of line, so that the fast path itself saves no register and calls
 * nothing. */
__attribute__((noinline)) static enum numem_err
free_fast_tail(struct numem_cpu *cpu, numem_pfn_t pfn, unsigned order, uint64_t f)
{
	uint32_t zi =
	    (uint32_t)((f >> NUMEM_PG_NODE_SHIFT) & NUMEM_PG_NODE_MASK) * NUMEM_NR_ZONE_TYPES +
	    (uint32_t)((f >> NUMEM_PG_ZONE_SHIFT) & NUMEM_PG_ZONE_MASK);
	numem__trace(cpu, NUMEM_EV_FREE, pfn.v, order,
	             (f >> NUMEM_PG_NODE_SHIFT) & NUMEM_PG_NODE_MASK);
	if (__builtin_expect((cpu->free_want & NUMEM__FREE_WANT_PENDING) != 0, 0) &&
	    free_pending(cpu, zi, pfn, order))
		return NUMEM_OK;
	if (cpu->pcp[zi].pages > cpu->heap->pcp_high)
		numem__pcp_drain(cpu, zi, order, NUMEM_MAX(1u, cpu->heap->pcp_batch >> order));
	return NUMEM_OK;
}

/* Push a claimed head (flags f as read) on its zone's cache `pcp`. */
static inline __attribute__((always_inline)) enum numem_err
free_push(struct numem_cpu *cpu, struct numem_pcp *pcp, struct numem_page *pg, numem_pfn_t pfn,
          unsigned order, uint64_t f)
{
	pg->next = pcp->list[order];
	pcp->list[order] = pg;
	pcp->count[order]++;
	uint32_t pages = numem__pcp_pages_add(pcp, numem__pcp_order_pages(order));
	if (__builtin_expect(pages > cpu->free_tail_above, 0))
		return free_fast_tail(cpu, pfn, order, f);
	return NUMEM_OK;
}

/* The cache of a head's zone straight from its flags: zone index
 * node * NUMEM_NR_ZONE_TYPES + type, times 64 bytes. */
static inline struct numem_pcp *free_zone_pcp(struct numem_cpu *cpu, uint64_t f)
{
	_Static_assert(NUMEM_NR_ZONE_TYPES == 4 && sizeof(struct numem_pcp) == 64,
	               "cache offset = node << 8 | type << 6");
	uint64_t off = (f >> (NUMEM_PG_NODE_SHIFT - 8) & NUMEM_PG_NODE_MASK << 8) |
	               (f >> (NUMEM_PG_ZONE_SHIFT - 6) & NUMEM_PG_ZONE_MASK << 6);
	return (struct numem_pcp *)((char *)cpu->pcp + off);
}

/* The free fast path: one load of the head descriptor checks state, order,
 * owner and zone at once (a constant mask; cpu->free_want holds the
 * ALLOCATED state and the node and type of the CPU's first zone, or a state
 * no head has when frees must take the slow path): a head of that zone goes
 * on cpu->fast_pcp, an address known before the flags are read, so the
 * push does not wait for them.  A head of another zone passes the same
 * compare without the zone bits and goes on its zone's cache, found from
 * the flags; anything else goes to the slow path.  The store clears
 * the owner.  No alignment test: a head of order k is aligned to 2^k (the
 * buddy invariant), so a pfn whose descriptor says "allocated head of this
 * order" is aligned; the slow path tests it to name the error.  The lookup
 * reads the section's online-map entry once (acquire): a pfn of a section
 * not yet online, whose descriptors deferred init may be writing, is left
 * to the slow path, which rejects it without reading them. */
static inline __attribute__((always_inline)) enum numem_err
free_fast(struct numem_cpu *cpu, numem_pfn_t pfn, unsigned order, uint16_t owner,
          struct numem_diag *diag)
{
	if (__builtin_expect(cpu && order <= NUMEM_PCP_MAX_ORDER, 1)) {
		uintptr_t base = numem__online_base(cpu->online_map, cpu->ft, pfn);
		struct numem_page *pg = numem__online_page(base, pfn);
		uint64_t f;
		if (__builtin_expect(base != 0, 1)) {
			uint64_t want = cpu->free_want | FREE_WANT(order, owner);
			if (__builtin_expect(((f = numem__pg_flags(pg)) & FREE_MASK_ZONE) == want,
			                     1)) {
				if (!free_claim(pg, f))
					return free_slow(cpu, pfn, order, owner, diag);
				return free_push(cpu, cpu->fast_pcp, pg, pfn, order, f);
			}
			/* Another zone's head (the interleave policy's): its
			 * cache from the flags. */
			if ((f & FREE_MASK) == (want & FREE_MASK) && free_claim(pg, f))
				return free_push(cpu, free_zone_pcp(cpu, f), pg, pfn, order, f);
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
