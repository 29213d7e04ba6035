/*
 * p2m.c - a domain's guest-physical -> machine frame map.
 *
 * Two levels: dom->p2m[gpfn / NUMEM_P2M_LEAF][gpfn % NUMEM_P2M_LEAF].  The
 * root is allocated at create for max_pages (at most NUMEM_P2M_MAX_LEAVES
 * entries, checked there), leaves as frames are populated, both from the
 * slab.  Root entries are published with a release store under the domain
 * lock and read with acquire loads; leaf entries are atomics: set with a
 * release store when a frame is populated, cleared with an exchange when it
 * is given back, so of two callers clearing the same entry exactly one gets
 * the frame.
 *
 * Invariant (checked by numem_domain_verify): every extent the domain holds
 * is one allocated heap block of 2^o pages owned by the domain, mapped
 * whole at 2^o consecutive guest frames aligned to 2^o (buddy blocks are
 * aligned in machine frames too), so the head of the block covering any
 * mapped frame is one of the NUMEM_MAX_ORDER + 1 aligned frames at or below
 * it: finding it is a bounded walk.
 */
#include "domain_internal.h"

numem_p2m_entry_t *numem__p2m_slot(const struct numem_domain *dom, uint64_t gpfn)
{
	if (gpfn >= dom->max_pages || !dom->p2m)
		return 0;
	numem_p2m_entry_t *leaf =
	    atomic_load_explicit(&dom->p2m[gpfn / NUMEM_P2M_LEAF], memory_order_acquire);
	return leaf ? &leaf[gpfn % NUMEM_P2M_LEAF] : 0;
}

uint64_t numem_domain_p2m(const struct numem_domain *dom, uint64_t gpfn)
{
	numem_p2m_entry_t *e = numem__p2m_slot(dom, gpfn);
	return e ? atomic_load_explicit(e, memory_order_acquire) : NUMEM_P2M_NONE;
}

enum numem_err numem__p2m_leaf(struct numem_domain *dom, struct numem_cpu *cpu, uint64_t gpfn,
                               struct numem_diag *diag)
{
	uint64_t i = gpfn / NUMEM_P2M_LEAF;
	if (atomic_load_explicit(&dom->p2m[i], memory_order_relaxed))
		return NUMEM_OK;
	numem_p2m_entry_t *l =
	    numem_kmalloc(dom->mgr->slab, cpu, NUMEM_P2M_LEAF * sizeof(numem_p2m_entry_t), diag);
	if (!l)
		return NUMEM_E_NO_PAGES;
	for (uint32_t k = 0; k < NUMEM_P2M_LEAF; k++)
		atomic_init(&l[k], NUMEM_P2M_NONE);
	atomic_store_explicit(&dom->p2m[i], l, memory_order_release);
	return NUMEM_OK;
}

void numem__p2m_set(struct numem_domain *dom, uint64_t gpfn, uint64_t mfn)
{
	atomic_store_explicit(numem__p2m_slot(dom, gpfn), mfn, memory_order_release);
}

uint64_t numem__p2m_take(struct numem_domain *dom, uint64_t gpfn)
{
	numem_p2m_entry_t *e = numem__p2m_slot(dom, gpfn);
	return e ? atomic_exchange_explicit(e, NUMEM_P2M_NONE, memory_order_acq_rel)
	         : NUMEM_P2M_NONE;
}

enum numem_err numem__p2m_extent(const struct numem_domain *dom, const char *fn, uint64_t gpfn,
                                 uint64_t mfn, struct numem__extent *ext, struct numem_diag *diag)
{
	const struct numem_frametable *ft = dom->mgr->heap->ft;
	if (!numem_frametable_lookup(ft, numem_pfn(mfn)))
		return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                   "%s: domain %u: gpfn 0x%llx maps mfn 0x%llx, which is not RAM",
		                   fn, dom->id, (unsigned long long)gpfn, (unsigned long long)mfn);
	/* Only a head descriptor is current (tails are not rewritten when a
	 * block is allocated): the first head at or below mfn, among the
	 * aligned candidates, is the only block that can cover it. */
	for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++) {
		uint64_t h = mfn & ~((1ull << o) - 1);
		const struct numem_page *hp = numem_frametable_lookup(ft, numem_pfn(h));
		if (!hp)
			break;
		uint64_t f = numem__dom_pg_flags(hp);
		enum numem_page_state s =
		    (enum numem_page_state)((f >> NUMEM_PG_STATE_SHIFT) & NUMEM_PG_STATE_MASK);
		if (s != NUMEM_PS_ALLOCATED && s != NUMEM_PS_FREE && s != NUMEM_PS_PCP)
			continue; /* not a head: its block's head is further down */
		unsigned po = (unsigned)((f >> NUMEM_PG_ORDER_SHIFT) & NUMEM_PG_ORDER_MASK);
		if (s != NUMEM_PS_ALLOCATED || mfn - h >= (1ull << po))
			return numem__fail(
			    diag, NUMEM_E_CORRUPT, 0, 0,
			    "%s: domain %u: gpfn 0x%llx maps mfn 0x%llx, which is %s, "
			    "not in a block the domain holds (freed behind its back?)",
			    fn, dom->id, (unsigned long long)gpfn, (unsigned long long)mfn,
			    s != NUMEM_PS_ALLOCATED ? "free" : "in no allocated block");
		uint16_t owner = numem__dom_pg_owner(f);
		if (owner != dom->id) {
			char buf[32];
			return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                   "%s: domain %u: gpfn 0x%llx maps mfn 0x%llx, held by %s",
			                   fn, dom->id, (unsigned long long)gpfn,
			                   (unsigned long long)mfn,
			                   numem_owner_name(owner, buf, sizeof(buf)));
		}
		uint64_t off = mfn - h;
		if (off > gpfn || ((gpfn - off) & ((1ull << po) - 1)) ||
		    numem_domain_p2m(dom, gpfn - off) != h)
			return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                   "%s: domain %u: gpfn 0x%llx maps mfn 0x%llx of the "
			                   "order-%u block at mfn 0x%llx, but gpfn 0x%llx does not "
			                   "map that block's head",
			                   fn, dom->id, (unsigned long long)gpfn,
			                   (unsigned long long)mfn, po, (unsigned long long)h,
			                   (unsigned long long)(gpfn - NUMEM_MIN(off, gpfn)));
		ext->gpfn = gpfn - off;
		ext->mfn = h;
		ext->order = po;
		/* The node it was allocated on (a relayout may since have given
		 * its pages to another: pages_on_node[] follows the layout). */
		ext->node = (numem_nid_t)((f >> NUMEM_PG_NODE_SHIFT) & NUMEM_PG_NODE_MASK);
		return NUMEM_OK;
	}
	return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
	                   "%s: domain %u: gpfn 0x%llx maps mfn 0x%llx, inside no block of "
	                   "order <= %u",
	                   fn, dom->id, (unsigned long long)gpfn, (unsigned long long)mfn,
	                   NUMEM_MAX_ORDER);
}

enum numem_err numem__dom_free_extent(struct numem_domain *dom, struct numem_cpu *cpu,
                                      const struct numem__extent *ext, bool *freed,
                                      struct numem_diag *diag)
{
	*freed = false;
	/* The head's exchange is the claim: only its winner goes on. */
	if (numem__p2m_take(dom, ext->gpfn) != ext->mfn)
		return NUMEM_OK;
	uint64_t n = 1ull << ext->order;
	for (uint64_t i = 1; i < n; i++)
		numem__p2m_take(dom, ext->gpfn + i);
	enum numem_err e = numem_free_owned(cpu, numem_pfn(ext->mfn), ext->order, dom->id, diag);
	if (e) {
		char why[sizeof(diag->msg)];
		numem__fmt(why, sizeof(why), "%s", diag ? diag->msg : numem_err_name(e));
		/* Put the mapping back: the domain still holds what the heap
		 * refused to take. */
		for (uint64_t i = 0; i < n; i++)
			numem__p2m_set(dom, ext->gpfn + i, ext->mfn + i);
		return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                   "domain %u: giving back gpfn 0x%llx (mfn 0x%llx, order %u): %s",
		                   dom->id, (unsigned long long)ext->gpfn,
		                   (unsigned long long)ext->mfn, ext->order, why);
	}
	dom->tot_pages -= n;
	numem__dom_count(dom, numem_heap_topo(dom->mgr->heap), ext->mfn, n, false);
	*freed = true;
	return NUMEM_OK;
}

uint64_t numem__p2m_next(const struct numem_domain *dom, uint64_t gpfn, uint64_t *mfn)
{
	while (gpfn < dom->max_pages) {
		if (!numem__p2m_slot(dom, gpfn)) { /* a whole leaf never populated */
			gpfn += NUMEM_P2M_LEAF - gpfn % NUMEM_P2M_LEAF;
			continue;
		}
		*mfn = numem_domain_p2m(dom, gpfn);
		if (*mfn != NUMEM_P2M_NONE)
			return gpfn;
		gpfn++;
	}
	return dom->max_pages;
}

enum numem_err numem__dom_check_frame(const struct numem_domain *dom, const char *fn,
                                      const uint64_t *gpfn, uint64_t i, unsigned order,
                                      struct numem_diag *diag)
{
	if (!(gpfn[i] & ((1ull << order) - 1)) && gpfn[i] < dom->max_pages &&
	    (1ull << order) <= dom->max_pages - gpfn[i])
		return NUMEM_OK;
	return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
	                   "%s: domain %u: frame %llu (entry %llu, order %u) is misaligned or "
	                   "beyond max_pages %llu",
	                   fn, dom->id, (unsigned long long)gpfn[i], (unsigned long long)i, order,
	                   (unsigned long long)dom->max_pages);
}

enum numem_err numem_domain_frame_of(const struct numem_domain *dom, uint64_t gpfn,
                                     numem_pfn_t *pfn, struct numem_diag *diag)
{
	const char *fn = "numem_domain_frame_of";
	if (!dom || gpfn >= dom->max_pages)
		return numem__fail(
		    diag, NUMEM_E_RANGE, 0, 0,
		    "%s: domain %u: gpfn 0x%llx is beyond the guest (max_pages %llu)", fn,
		    dom ? dom->id : 0, (unsigned long long)gpfn,
		    (unsigned long long)(dom ? dom->max_pages : 0));
	uint64_t mfn = numem_domain_p2m(dom, gpfn);
	if (mfn == NUMEM_P2M_NONE)
		return numem__fail(diag, NUMEM_E_RANGE, 0, 0,
		                   "%s: domain %u: gpfn 0x%llx is not populated", fn, dom->id,
		                   (unsigned long long)gpfn);
	struct numem__extent ext;
	struct numem_diag tmp;
	if (numem__p2m_extent(dom, fn, gpfn, mfn, &ext, &tmp) != NUMEM_OK)
		return numem__fail(diag, NUMEM_E_OWNER, 0, 0, "%s", tmp.msg);
	*pfn = numem_pfn(mfn);
	return NUMEM_OK;
}

enum numem_err numem_domain_frame_access(struct numem_domain *dom, uint64_t gpfn,
                                         int (*fn)(void *ctx, numem_pfn_t pfn), void *ctx, int *ret,
                                         struct numem_diag *diag)
{
	numem_pfn_t pfn;
	numem__dom_lock(dom);
	enum numem_err e = numem_domain_frame_of(dom, gpfn, &pfn, diag);
	if (!e)
		*ret = fn(ctx, pfn);
	numem__dom_unlock(dom);
	return e;
}
