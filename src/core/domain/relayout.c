/*
 * relayout.c - the domain layer and live NUMA relayout (numem/relayout.h):
 * per-node counts that follow the layout in force, the notifier that keeps
 * them true after a commit, and numem_domain_migrate().
 *
 * Counting.  pages_on_node[] counts each frame on the node the heap's
 * layout in force (numem_heap_topo()) gives it, not on the node bits of its
 * block's head: a commit leaves allocated blocks where they are, pending,
 * and their head keeps the node they were allocated on until they are
 * freed.  Counting walks the layout's ranges, a run at a time, so a block a
 * commit cut in two is counted on both nodes.
 *
 * The notifier.  After a commit (NUMEM_RELAYOUT_AFTER, commit mutex held,
 * no heap lock) each live domain is pinned under the manager's lock (a
 * destroy waits for the pin to go: domain.c), then recounted from its p2m
 * under its own lock, one extent at a time.  An operation that counted
 * frames with the old layout while the commit published the new one holds
 * the domain's lock too, so it ends before the recount or starts after it,
 * when the new layout is visible: the recount leaves the counts true.
 *
 * Migration.  An extent is pending when the layout gives any of its pages
 * to another node than its head's.  numem_domain_migrate() splits an
 * extent that a range edge cuts (to the largest order no edge cuts), then
 * for each piece takes a block on the target node (exactly that node),
 * copies the frames through phys_to_virt, switches the p2m entries (the
 * new head's owner word gets the guest frame, as populate writes it), and
 * frees the old block, which the heap gives to its new node.
 */
#include "domain_internal.h"

numem_nid_t numem__dom_node_run(const struct numem_topo *t, uint64_t pfn, uint64_t *end)
{
	int64_t i = numem_topo_find_range(t, numem_pfn_to_paddr(numem_pfn(pfn)));
	if (i < 0) {
		*end = pfn + 1;
		return NUMEM_NID_NONE;
	}
	uint64_t last = t->range[i].end >> NUMEM_PAGE_SHIFT;
	*end = last > pfn ? last : pfn + 1;
	return t->range[i].node;
}

void numem__dom_count(struct numem_domain *dom, const struct numem_topo *t, uint64_t mfn,
                      uint64_t n, bool add)
{
	while (n) {
		uint64_t end;
		numem_nid_t node = numem__dom_node_run(t, mfn, &end);
		uint64_t k = NUMEM_MIN(end - mfn, n);
		if (node < NUMEM_MAX_NODES) {
			if (add)
				dom->pages_on_node[node] += k;
			else
				dom->pages_on_node[node] -= k;
		}
		mfn += k;
		n -= k;
	}
}

/* Recount a domain's pages_on_node[] from its p2m under the layout in
 * force.  Domain lock held. */
static void recount(struct numem_domain *dom)
{
	const struct numem_topo *t = numem_heap_topo(dom->mgr->heap);
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
		dom->pages_on_node[n] = 0;
	uint64_t mfn;
	for (uint64_t gpfn = numem__p2m_next(dom, 0, &mfn); gpfn < dom->max_pages;) {
		struct numem__extent ext;
		struct numem_diag tmp;
		uint64_t n = 1;
		/* A frame the domain no longer holds is counted alone: the
		 * verifier names it; the counts stay those of the p2m. */
		if (!numem__p2m_extent(dom, "relayout recount", gpfn, mfn, &ext, &tmp) &&
		    ext.gpfn == gpfn)
			n = 1ull << ext.order;
		numem__dom_count(dom, t, mfn, n, true);
		gpfn = numem__p2m_next(dom, gpfn + n, &mfn);
	}
}

static void relayout_notify(void *ctx, struct numem_heap *heap,
                            const struct numem_relayout_event *ev)
{
	struct numem_domains *d = ctx;
	(void)heap;
	if (ev->phase != NUMEM_RELAYOUT_AFTER || !ev->nr_changes)
		return;
	/* Ids in increasing order: each domain once, none held across the
	 * manager's lock and a domain's (never nested, domain.h). */
	uint32_t last = 0;
	for (;;) {
		numem__lock(&d->lock);
		struct numem_domain *dom = 0;
		for (struct numem_domain *x = d->list; x; x = x->next)
			if (x->id > last && (!dom || x->id < dom->id))
				dom = x;
		if (dom)
			dom->pins++;
		numem__unlock(&d->lock);
		if (!dom)
			break;
		last = dom->id;
		numem__dom_lock(dom);
		recount(dom);
		numem__dom_unlock(dom);
		atomic_fetch_add_explicit(&d->recounts, 1, memory_order_relaxed);
		numem__lock(&d->lock);
		dom->pins--;
		numem__unlock(&d->lock);
	}
}

void numem__dom_relayout_subscribe(struct numem_domains *d)
{
	d->relayout = (struct numem_relayout_notifier){.call = relayout_notify, .ctx = d};
	numem_relayout_register(d->heap, &d->relayout);
}

/* ---- migration ----------------------------------------------------------- */

/*
 * Where the extent's pages go: *node when the layout gives all of them one
 * node, and *cut = the largest order of pieces no range edge cuts.  Returns
 * the pages the layout gives another node than the head's (pending).
 */
static uint64_t extent_pending(const struct numem_topo *t, const struct numem__extent *ext,
                               numem_nid_t *node, unsigned *cut)
{
	uint64_t end = ext->mfn + (1ull << ext->order);
	numem_nid_t first = NUMEM_NID_NONE, prev = NUMEM_NID_NONE;
	uint64_t pending = 0;
	*cut = ext->order;
	for (uint64_t pfn = ext->mfn, run; pfn < end; pfn = NUMEM_MIN(run, end)) {
		numem_nid_t n = numem__dom_node_run(t, pfn, &run);
		if (pfn == ext->mfn)
			first = n;
		else if (n != prev) /* an edge inside an aligned block: ctz < order */
			*cut = NUMEM_MIN(*cut, (unsigned)__builtin_ctzll(pfn));
		if (n != ext->node)
			pending += NUMEM_MIN(run, end) - pfn;
		prev = n;
	}
	*node = *cut == ext->order ? first : NUMEM_NID_NONE;
	return pending;
}

/* Move one single-node pending extent to `node`.  Domain lock held. */
static enum numem_err move_extent(struct numem_domain *dom, struct numem_cpu *cpu,
                                  const struct numem__extent *ext, numem_nid_t node,
                                  struct numem_diag *diag)
{
	struct numem_heap *h = dom->mgr->heap;
	const struct numem_platform *plat = h->plat;
	struct numem_policy pol;
	numem_policy_init(&pol, NUMEM_POLICY_PREFERRED);
	pol.node = node;
	numem_pfn_t to;
	enum numem_err e =
	    numem_alloc_owned(cpu, ext->order, NUMEM_ALLOC_EXACT_NODE, &pol, dom->id, &to, diag);
	if (e)
		return e;
	uint64_t n = 1ull << ext->order;
	for (uint64_t i = 0; i < n; i++) {
		void *src =
		    plat->phys_to_virt(plat->ctx, numem_pfn_to_paddr(numem_pfn(ext->mfn + i)));
		void *dst = plat->phys_to_virt(plat->ctx, numem_pfn_to_paddr(numem_pfn(to.v + i)));
		if (!src || !dst) {
			numem_free_owned(cpu, to, ext->order, dom->id, 0);
			return numem__fail(diag, NUMEM_E_UNSUPPORTED, 0, 0,
			                   "numem_domain_migrate: domain %u: mfn 0x%llx has no "
			                   "mapping to copy through (phys_to_virt gave NULL)",
			                   dom->id,
			                   (unsigned long long)(src ? to.v + i : ext->mfn + i));
		}
		memcpy(dst, src, NUMEM_PAGE_SIZE);
	}
	numem_pfn_to_page(h->ft, to)->private = ext->gpfn;
	for (uint64_t i = 0; i < n; i++)
		numem__p2m_set(dom, ext->gpfn + i, to.v + i);
	const struct numem_topo *t = numem_heap_topo(h);
	numem__dom_count(dom, t, to.v, n, true);
	e = numem_free_owned(cpu, numem_pfn(ext->mfn), ext->order, dom->id, diag);
	if (e) {
		/* The heap refused the old block: keep the new one mapped (the
		 * guest's data is there) and say which frame was lost. */
		return numem__fail(diag, NUMEM_E_CORRUPT, 0, 0,
		                   "numem_domain_migrate: domain %u: the heap refused the old "
		                   "block at mfn 0x%llx (order %u) of gpfn 0x%llx",
		                   dom->id, (unsigned long long)ext->mfn, ext->order,
		                   (unsigned long long)ext->gpfn);
	}
	numem__dom_count(dom, t, ext->mfn, n, false);
	return NUMEM_OK;
}

/* Walk the p2m; migrate (when `migrate`) or just count pending pages. */
static enum numem_err walk_pending(struct numem_domain *dom, struct numem_cpu *cpu, bool migrate,
                                   uint64_t max_pages, uint64_t *moved, uint64_t *left,
                                   struct numem_diag *diag)
{
	const char *fn = "numem_domain_migrate";
	*moved = *left = 0;
	enum numem_err first = NUMEM_OK;
	uint64_t mfn;
	for (uint64_t gpfn = numem__p2m_next(dom, 0, &mfn); gpfn < dom->max_pages;) {
		struct numem__extent ext;
		enum numem_err e = numem__p2m_extent(dom, fn, gpfn, mfn, &ext, diag);
		if (e)
			return e;
		uint64_t next = ext.gpfn + (1ull << ext.order);
		const struct numem_topo *t = numem_heap_topo(dom->mgr->heap);
		numem_nid_t node;
		unsigned cut;
		uint64_t pend = extent_pending(t, &ext, &node, &cut);
		if (pend) {
			bool go = migrate && !first && (!max_pages || *moved < max_pages);
			if (go && cut < ext.order) {
				/* Cut at the edges; the next turn takes the first piece. */
				e = numem__dom_split_to(dom, &ext, cut, ext.gpfn, diag);
				if (e)
					return e;
				next = ext.gpfn;
			} else if (go) {
				e = move_extent(dom, cpu, &ext, node, diag);
				if (e == NUMEM_E_CORRUPT || e == NUMEM_E_UNSUPPORTED)
					return e;
				if (e)
					first = e;
				else
					*moved += 1ull << ext.order;
			}
			if (!go || e)
				*left += pend;
		}
		gpfn = numem__p2m_next(dom, next, &mfn);
	}
	return first;
}

enum numem_err numem_domain_migrate(struct numem_domain *dom, struct numem_cpu *cpu,
                                    uint64_t max_pages, uint64_t *moved, uint64_t *left,
                                    struct numem_diag *diag)
{
	uint64_t m = 0, l = 0;
	enum numem_err e = NUMEM_OK;
	if (!dom || !cpu)
		e = numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                "numem_domain_migrate: no domain or cpu");
	else if (!dom->mgr->heap->plat->phys_to_virt)
		e = numem__fail(diag, NUMEM_E_UNSUPPORTED, 0, 0,
		                "numem_domain_migrate: domain %u: the platform has no "
		                "phys_to_virt to copy frames through",
		                dom->id);
	if (!e) {
		numem__dom_lock(dom);
		e = walk_pending(dom, cpu, true, max_pages, &m, &l, diag);
		numem__dom_unlock(dom);
	}
	if (moved)
		*moved = m;
	if (left)
		*left = l;
	return e;
}

uint64_t numem_domain_pending(struct numem_domain *dom)
{
	uint64_t m, l;
	numem__dom_lock(dom);
	walk_pending(dom, 0, false, 0, &m, &l, 0);
	numem__dom_unlock(dom);
	return l;
}
