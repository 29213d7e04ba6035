/*
 * balloon.c - giving frames back: decrease_reservation (from the top, exact
 * to the page), decrease_reservation_at (given guest frames) and
 * set_target.
 *
 * Exactness.  When fewer pages are asked for than the top extent holds,
 * the extent's block is split (numem_heap_split, same owner) into pieces of
 * the largest order that fits what is left, and only the top pieces go
 * back; the rest stay the domain's as smaller extents, mapped as before.
 * So a balloon target of 1023 pages over two order-9 extents leaves 1023.
 *
 * Every walk is bounded: down from next_gpfn to 0 over the p2m (never
 * below), and the block lookup of p2m.c looks at NUMEM_MAX_ORDER + 1
 * candidates at most; a frame the domain no longer holds is reported
 * (NUMEM_E_CORRUPT with gpfn and mfn), never walked past.
 *
 * Functions named numem__dom_* run with the domain lock held.
 * decrease_reservation_at() takes it per extent, so concurrent callers
 * interleave; the p2m exchange in numem__dom_free_extent() decides which of
 * them frees a frame.
 */
#include "domain_internal.h"

enum numem_err numem__dom_split_to(struct numem_domain *dom, struct numem__extent *ext, unsigned p,
                                   uint64_t g, struct numem_diag *diag)
{
	struct numem_heap *h = dom->mgr->heap;
	enum numem_err e = numem_heap_split(h, numem_pfn(ext->mfn), ext->order, p, dom->id, diag);
	if (e)
		return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                   "domain %u: splitting its extent at gpfn 0x%llx (mfn 0x%llx, "
		                   "order %u) to order %u was refused by the heap",
		                   dom->id, (unsigned long long)ext->gpfn,
		                   (unsigned long long)ext->mfn, ext->order, p);
	for (uint64_t i = 0; i < (1ull << ext->order); i += 1ull << p)
		numem_pfn_to_page(h->ft, numem_pfn(ext->mfn + i))->private = ext->gpfn + i;
	uint64_t off = (g - ext->gpfn) & ~((1ull << p) - 1);
	ext->gpfn += off;
	ext->mfn += off;
	ext->order = p;
	return NUMEM_OK;
}

static unsigned floor_log2(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

static void trim_next_gpfn(struct numem_domain *dom)
{
	while (dom->next_gpfn && numem_domain_p2m(dom, dom->next_gpfn - 1) == NUMEM_P2M_NONE)
		dom->next_gpfn--;
}

enum numem_err numem__dom_decrease(struct numem_domain *dom, struct numem_cpu *cpu, uint64_t nr,
                                   unsigned order, uint64_t *done, struct numem_diag *diag)
{
	const char *fn = "numem_domain_decrease_reservation";
	*done = 0;
	if (order > NUMEM_MAX_ORDER)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "%s: domain %u: order %u above %u",
		                   fn, dom->id, order, NUMEM_MAX_ORDER);
	uint64_t extents = NUMEM_MIN(nr, dom->tot_pages >> order);
	uint64_t want = extents << order, given = 0;
	enum numem_err e = NUMEM_OK;
	uint64_t g = dom->next_gpfn;
	while (given < want) {
		if (!g) {
			e = numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
			                "%s: domain %u: counts %llu pages but its p2m maps only "
			                "%llu below frame %llu",
			                fn, dom->id, (unsigned long long)dom->tot_pages,
			                (unsigned long long)given,
			                (unsigned long long)dom->next_gpfn);
			break;
		}
		g--;
		if (!numem__p2m_slot(dom, g)) { /* a leaf never populated */
			g -= g % NUMEM_P2M_LEAF;
			continue;
		}
		uint64_t mfn = numem_domain_p2m(dom, g);
		if (mfn == NUMEM_P2M_NONE)
			continue;
		struct numem__extent ext;
		e = numem__p2m_extent(dom, fn, g, mfn, &ext, diag);
		if (e)
			break;
		uint64_t left = want - given;
		if ((1ull << ext.order) > left) {
			e = numem__dom_split_to(dom, &ext, floor_log2(left), g, diag);
			if (e)
				break;
		}
		bool freed;
		e = numem__dom_free_extent(dom, cpu, &ext, &freed, diag);
		if (e)
			break;
		given += 1ull << ext.order;
		g = ext.gpfn;
	}
	*done = given >> order;
	trim_next_gpfn(dom);
	return e;
}

enum numem_err numem_domain_decrease_reservation(struct numem_domain *dom, struct numem_cpu *cpu,
                                                 uint64_t nr, unsigned order, uint64_t *done,
                                                 struct numem_diag *diag)
{
	numem__dom_lock(dom);
	enum numem_err e = numem__dom_decrease(dom, cpu, nr, order, done, diag);
	numem__dom_unlock(dom);
	return e;
}

/* Give back what the domain holds in [s, s + 2^order).  Domain lock held. */
static enum numem_err release_range(struct numem_domain *dom, struct numem_cpu *cpu, uint64_t s,
                                    unsigned order, bool *any, struct numem_diag *diag)
{
	const char *fn = "numem_domain_decrease_reservation_at";
	*any = false;
	for (uint64_t g = s; g < s + (1ull << order); g++) {
		uint64_t mfn = numem_domain_p2m(dom, g);
		if (mfn == NUMEM_P2M_NONE)
			continue;
		struct numem__extent ext;
		enum numem_err e = numem__p2m_extent(dom, fn, g, mfn, &ext, diag);
		if (!e && ext.order > order)
			e = numem__dom_split_to(dom, &ext, order, g, diag);
		bool freed = false;
		if (!e)
			e = numem__dom_free_extent(dom, cpu, &ext, &freed, diag);
		if (e)
			return e;
		*any |= freed;
		g = ext.gpfn + (1ull << ext.order) - 1; /* aligned: inside the range */
	}
	return NUMEM_OK;
}

enum numem_err numem_domain_decrease_reservation_at(struct numem_domain *dom, struct numem_cpu *cpu,
                                                    const uint64_t *gpfn, uint64_t nr,
                                                    unsigned order, uint64_t *done,
                                                    struct numem_diag *diag)
{
	const char *fn = "numem_domain_decrease_reservation_at";
	*done = 0;
	if (order > NUMEM_MAX_ORDER)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "%s: domain %u: order %u above %u",
		                   fn, dom->id, order, NUMEM_MAX_ORDER);
	if (nr && !gpfn)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "%s: domain %u: no frame list", fn,
		                   dom->id);
	for (uint64_t i = 0; i < nr; i++) {
		enum numem_err e = numem__dom_check_frame(dom, fn, gpfn, i, order, diag);
		if (e)
			return e;
	}
	enum numem_err e = NUMEM_OK;
	for (uint64_t i = 0; i < nr && !e; i++) {
		bool any;
		numem__dom_lock(dom);
		e = release_range(dom, cpu, gpfn[i], order, &any, diag);
		if (i + 1 == nr || e)
			trim_next_gpfn(dom);
		numem__dom_unlock(dom);
		*done += any;
	}
	return e;
}

enum numem_err numem_domain_set_target(struct numem_domain *dom, struct numem_cpu *cpu,
                                       uint64_t pages, struct numem_diag *diag)
{
	if (pages > dom->max_pages)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_domain_set_target: domain %u: target %llu pages above "
		                   "max_pages %llu",
		                   dom->id, (unsigned long long)pages,
		                   (unsigned long long)dom->max_pages);
	uint64_t done;
	enum numem_err e = NUMEM_OK;
	numem__dom_lock(dom);
	if (pages > dom->tot_pages) {
		/* Fill holes left by ballooning first, then append. */
		uint64_t want = pages - dom->tot_pages;
		for (uint64_t g = 0; g < dom->next_gpfn && want && !e; g++)
			if (numem_domain_p2m(dom, g) == NUMEM_P2M_NONE) {
				e = numem__dom_populate(dom, cpu, &g, 1, 0, 0, &done, diag);
				want -= done;
			}
		if (!e && want)
			e = numem__dom_increase(dom, cpu, want, 0, 0, &done, diag);
	} else if (pages < dom->tot_pages) {
		e = numem__dom_decrease(dom, cpu, dom->tot_pages - pages, 0, &done, diag);
	}
	numem__dom_unlock(dom);
	return e;
}
