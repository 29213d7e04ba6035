/*
 * verify.c - the ownership invariant of the domain layer, and the balance
 * measure the simulator reports.
 *
 * numem_domain_verify walks the frame table once (each block's head, then
 * past the block) and every domain's p2m once.  It proves, with the first
 * violation named:
 *   - every allocated block's owner is NUMEM_OWNER_HEAP, a reserved core
 *     owner (>= NUMEM_OWNER_SLAB, 0xfff0) or a live domain;
 *   - every frame a p2m maps lies in an allocated block owned by that
 *     domain, whose head the p2m maps at the matching aligned guest frame,
 *     and no machine frame is mapped twice (by one domain or two);
 *   - tot_pages and pages_on_node[] equal what the p2m maps (each frame on
 *     the node the layout in force gives it), and tot_pages equals the
 *     pages of the blocks the heap says the domain owns.
 * Metadata for the walk (a bit per machine frame, a counter per id) comes
 * from the platform and is given back.  The walk skips sections without
 * RAM whole and touches the bitmap only where a p2m maps a frame, so its
 * cost follows the RAM and the domains, not the address space a table
 * declares (a 2 GiB machine with a node at 64 TiB took ~20 s).  Needs the heap and the domains
 * quiescent; takes the manager's lock for the list.
 */
#include "domain_internal.h"

struct vscratch {
	uint64_t *mapped; /* bit per machine frame */
	size_t mapped_bytes;
	uint64_t held[NUMEM_OWNER_DOMAIN_MAX + 1]; /* pages the heap says each id owns */
	uint8_t live[NUMEM_OWNER_DOMAIN_MAX + 1];
};

static enum numem_err verify_frames(struct numem_domains *d, struct vscratch *v,
                                    struct numem_diag *diag)
{
	const struct numem_frametable *ft = d->heap->ft;
	for (uint64_t pfn = 0; pfn < ft->max_pfn;) {
		const struct numem_page *pg = numem_frametable_lookup(ft, numem_pfn(pfn));
		if (!pg) { /* a section without RAM: skip it whole */
			pfn = ((pfn >> ft->pfn_section_shift) + 1) << ft->pfn_section_shift;
			continue;
		}
		uint64_t f = numem__dom_pg_flags(pg);
		enum numem_page_state s =
		    (enum numem_page_state)((f >> NUMEM_PG_STATE_SHIFT) & NUMEM_PG_STATE_MASK);
		unsigned order = (unsigned)((f >> NUMEM_PG_ORDER_SHIFT) & NUMEM_PG_ORDER_MASK);
		if (s == NUMEM_PS_ALLOCATED) {
			uint16_t owner = numem__dom_pg_owner(f);
			if (owner != NUMEM_OWNER_HEAP && owner <= NUMEM_OWNER_DOMAIN_MAX &&
			    !v->live[owner])
				return numem__fail(
				    diag, NUMEM_E_CORRUPT, 0, 0,
				    "numem_domain_verify: the order-%u block at pfn "
				    "0x%llx is owned by domain %u, which does not exist",
				    order, (unsigned long long)pfn, owner);
			if (owner > NUMEM_OWNER_DOMAIN_MAX && owner < NUMEM_OWNER_SLAB)
				return numem__fail(
				    diag, NUMEM_E_CORRUPT, 0, 0,
				    "numem_domain_verify: the order-%u block at pfn "
				    "0x%llx has owner 0x%x: neither the heap, a "
				    "domain (1..0x%x) nor a reserved owner (>= 0x%x)",
				    order, (unsigned long long)pfn, owner, NUMEM_OWNER_DOMAIN_MAX,
				    NUMEM_OWNER_SLAB);
			if (owner <= NUMEM_OWNER_DOMAIN_MAX)
				v->held[owner] += 1ull << order;
		}
		if ((s == NUMEM_PS_ALLOCATED || s == NUMEM_PS_FREE || s == NUMEM_PS_PCP) &&
		    order <= NUMEM_MAX_ORDER && !(pfn & ((1ull << order) - 1)))
			pfn += 1ull << order;
		else
			pfn++;
	}
	return NUMEM_OK;
}

static enum numem_err verify_domain(struct numem_domain *dom, struct vscratch *v,
                                    struct numem_diag *diag)
{
	const char *fn = "numem_domain_verify";
	const struct numem_topo *t = numem_heap_topo(dom->mgr->heap);
	uint64_t total = 0, on[NUMEM_MAX_NODES] = {0};
	uint64_t mfn;
	for (uint64_t gpfn = numem__p2m_next(dom, 0, &mfn); gpfn < dom->max_pages;
	     gpfn = numem__p2m_next(dom, gpfn + 1, &mfn)) {
		struct numem__extent ext;
		enum numem_err e = numem__p2m_extent(dom, fn, gpfn, mfn, &ext, diag);
		if (e)
			return e;
		if (v->mapped[mfn / 64] >> (mfn % 64) & 1)
			return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                   "%s: domain %u: gpfn 0x%llx maps mfn 0x%llx, which is "
			                   "mapped already",
			                   fn, dom->id, (unsigned long long)gpfn,
			                   (unsigned long long)mfn);
		v->mapped[mfn / 64] |= 1ull << (mfn % 64);
		total++;
		numem_nid_t n = numem_topo_pfn_to_node(t, numem_pfn(mfn));
		if (n < NUMEM_MAX_NODES)
			on[n]++;
	}
	if (total != dom->tot_pages || total != v->held[dom->id])
		return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                   "%s: domain %u: its p2m maps %llu frames, tot_pages says %llu, "
		                   "the heap has %llu pages owned by it",
		                   fn, dom->id, (unsigned long long)total,
		                   (unsigned long long)dom->tot_pages,
		                   (unsigned long long)v->held[dom->id]);
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
		if (on[n] != dom->pages_on_node[n])
			return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                   "%s: domain %u: its p2m maps %llu frames on node %u, "
			                   "pages_on_node says %llu",
			                   fn, dom->id, (unsigned long long)on[n], n,
			                   (unsigned long long)dom->pages_on_node[n]);
	return NUMEM_OK;
}

enum numem_err numem_domain_verify(struct numem_domains *d, struct numem_diag *diag)
{
	const struct numem_platform *plat = d->heap->plat;
	struct vscratch *v = numem__meta_alloc(plat, sizeof(*v), NUMEM_NID_NONE);
	if (!v)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "numem_domain_verify: no metadata memory for the walk");
	memset(v, 0, sizeof(*v));
	/* A bit per frame below max_pfn: on a 32-bit target a table may
	 * declare more than a size_t counts (truncated, the bitmap would be
	 * too small for the frames the walk marks). */
	uint64_t bitmap = (d->heap->ft->max_pfn + 63) / 64 * 8;
	if (bitmap > SIZE_MAX) {
		numem__meta_free(plat, v, sizeof(*v));
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "numem_domain_verify: a bitmap of %llu bytes for max_pfn 0x%llx "
		                   "is more than a size_t holds here",
		                   (unsigned long long)bitmap,
		                   (unsigned long long)d->heap->ft->max_pfn);
	}
	v->mapped_bytes = (size_t)bitmap;
	v->mapped = numem__meta_alloc(plat, v->mapped_bytes, NUMEM_NID_NONE);
	if (!v->mapped) {
		numem__meta_free(plat, v, sizeof(*v));
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "numem_domain_verify: no metadata memory for the frame bitmap");
	}
	/* No memset: metadata reads as zero (platform.h), and the walk touches
	 * only the words of frames a p2m maps, so a sparse machine declaring
	 * terabytes costs what its domains hold, not what its tables declare. */
	numem__lock(&d->lock);
	enum numem_err e = NUMEM_OK;
	for (struct numem_domain *dom = d->list; dom && !e; dom = dom->next) {
		if (!dom->id || dom->id > NUMEM_OWNER_DOMAIN_MAX || v->live[dom->id])
			e = numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                "numem_domain_verify: domain id %u is 0, reserved or used "
			                "twice",
			                dom->id);
		else
			v->live[dom->id] = 1;
	}
	if (!e)
		e = verify_frames(d, v, diag);
	for (struct numem_domain *dom = d->list; dom && !e; dom = dom->next)
		e = verify_domain(dom, v, diag);
	numem__unlock(&d->lock);
	numem__meta_free(plat, v->mapped, v->mapped_bytes);
	numem__meta_free(plat, v, sizeof(*v));
	return e;
}

/* ---- balance ------------------------------------------------------------------ */

uint64_t numem_domain_imbalance(const struct numem_domain *dom, numem_nid_t *worst)
{
	/* share(n) = want[n] / scale, deviations compared scaled. */
	uint64_t want[NUMEM_MAX_NODES] = {0}, scale = 1;
	if (dom->nr_vnodes) {
		for (uint32_t v = 0; v < dom->nr_vnodes; v++) {
			uint64_t populated = 0;
			for (uint64_t g = dom->vnode_start[v];
			     g < dom->vnode_start[v] + dom->vnode[v].pages; g++)
				populated += numem_domain_p2m(dom, g) != NUMEM_P2M_NONE;
			want[dom->vnode[v].pnode] += populated;
		}
	} else {
		uint32_t on[NUMEM_MAX_NODES];
		scale = numem__dom_vcpu_share(dom, on);
		if (!scale)
			scale = 1;
		for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
			want[n] = dom->tot_pages * on[n];
	}
	uint64_t dev = 0;
	numem_nid_t at = NUMEM_NID_NONE;
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++) {
		uint64_t have = dom->pages_on_node[n] * scale;
		uint64_t diff = have > want[n] ? have - want[n] : want[n] - have;
		uint64_t pages = (diff + scale - 1) / scale;
		if (pages > dev || (at == NUMEM_NID_NONE && (want[n] || have))) {
			dev = pages;
			at = n;
		}
	}
	if (worst)
		*worst = at;
	return dev;
}
