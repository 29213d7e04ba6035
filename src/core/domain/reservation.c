/*
 * reservation.c - giving a domain frames: increase_reservation (append
 * extents), populate_physmap (at given guest frames) and the balancing of
 * NUMEM_RES_BALANCED (rule in numem/domain.h).
 *
 * Balancing counts what landed.  The next extent goes to the node n that
 * maximises on[n] * (tot_pages + 2^order) - pages_on_node[n] * vcpus, the
 * node furthest behind its share after this extent, where pages_on_node[]
 * counts where the frames really are (the head descriptor's node), not the
 * node that was asked for.  The extent is first asked of that node alone
 * (NUMEM_ALLOC_EXACT_NODE): with the Xen strategy a preferred-node request
 * takes an exact-order block from any node before splitting a local one, so
 * without it extents land wherever an order-9 block happens to be free.
 * Only when the node has no block does the request fall back as the heap
 * does.  While every share node has a block, each extent lowers the largest
 * deficit and no node drifts beyond one extent of its share.
 *
 * Every function here runs with the domain lock held (the public calls take
 * it); the heap and slab take their own locks inside.
 */
#include "domain_internal.h"

uint32_t numem__dom_vcpu_share(const struct numem_domain *dom, uint32_t on[NUMEM_MAX_NODES])
{
	const struct numem_topo *t = numem_heap_topo(dom->mgr->heap);
	uint32_t total = 0;
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
		on[n] = 0;
	for (uint32_t i = 0; i < dom->nr_vcpus; i++) {
		numem_nid_t m = t->node[dom->vcpu[i].node].nearest_mem;
		if (m < t->nr_nodes) {
			on[m]++;
			total++;
		}
	}
	return total;
}

/* Node for the next balanced extent of 2^order pages (see the top). */
static numem_nid_t balance_next(const struct numem_domain *dom, unsigned order)
{
	uint32_t on[NUMEM_MAX_NODES];
	uint32_t vcpus = numem__dom_vcpu_share(dom, on);
	const struct numem_topo *t = numem_heap_topo(dom->mgr->heap);
	numem_nid_t best = NUMEM_NID_NONE;
	/* Pages are below 2^40 and vcpus below 2^9: no overflow in 128 bits,
	 * nor in 64 (max_pages <= NUMEM_DOMAIN_MAX_PAGES < 2^28). */
	int64_t best_deficit = INT64_MIN;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		if (!on[n])
			continue;
		int64_t deficit = (int64_t)on[n] * (int64_t)(dom->tot_pages + (1ull << order)) -
		                  (int64_t)dom->pages_on_node[n] * (int64_t)vcpus;
		if (deficit > best_deficit) {
			best_deficit = deficit;
			best = n;
		}
	}
	return best;
}

static enum numem_err populate_one(struct numem_domain *dom, struct numem_cpu *cpu, uint64_t gpfn,
                                   unsigned order, const struct numem_res *res,
                                   struct numem_diag *diag)
{
	struct numem_heap *h = dom->mgr->heap;
	struct numem_policy pol;
	unsigned flags = res ? res->flags : 0;
	bool balanced = false;
	enum numem_res_mode mode = res ? res->mode : NUMEM_RES_BALANCED;
	if (dom->nr_vnodes && mode == NUMEM_RES_BALANCED) {
		uint32_t v = 0;
		while (v + 1 < dom->nr_vnodes && gpfn >= dom->vnode_start[v + 1])
			v++;
		numem_policy_init(&pol, NUMEM_POLICY_PREFERRED);
		pol.node = dom->vnode[v].pnode;
		flags |= NUMEM_ALLOC_EXACT_NODE;
	} else if (mode == NUMEM_RES_NODE) {
		numem_policy_init(&pol, NUMEM_POLICY_PREFERRED);
		pol.node = res->node;
		flags |= NUMEM_ALLOC_EXACT_NODE;
	} else if (mode == NUMEM_RES_MASK) {
		numem_policy_init(&pol, NUMEM_POLICY_BIND);
		pol.nodes = res->nodes;
	} else {
		numem_policy_init(&pol, NUMEM_POLICY_PREFERRED);
		pol.node = balance_next(dom, order);
		balanced = pol.node != NUMEM_NID_NONE;
		if (!balanced)
			numem_policy_init(&pol, NUMEM_POLICY_LOCAL);
	}
	/* Leaves first: a failure here leaves nothing to undo (a leaf left
	 * empty is reused by the next populate and freed at destroy). */
	for (uint64_t i = 0; i < (1ull << order); i += NUMEM_P2M_LEAF) {
		enum numem_err e = numem__p2m_leaf(dom, cpu, gpfn + i, diag);
		if (e)
			return e;
	}
	numem_pfn_t pfn;
	enum numem_err e = NUMEM_E_NO_PAGES;
	if (balanced) /* the intended node first, whatever the strategy */
		e = numem_alloc_owned(cpu, order, flags | NUMEM_ALLOC_EXACT_NODE, &pol, dom->id,
		                      &pfn, 0);
	if (e)
		e = numem_alloc_owned(cpu, order, flags, &pol, dom->id, &pfn, diag);
	if (e)
		return e;
	struct numem_page *pg = numem_pfn_to_page(h->ft, pfn);
	pg->private = gpfn; /* the owner's word: the extent's guest frame */
	for (uint64_t i = 0; i < (1ull << order); i++)
		numem__p2m_set(dom, gpfn + i, pfn.v + i);
	dom->tot_pages += 1ull << order;
	/* Where it landed, as the layout in force says (relayout.c). */
	numem__dom_count(dom, numem_heap_topo(h), pfn.v, 1ull << order, true);
	return NUMEM_OK;
}

static enum numem_err check_res(const struct numem_domain *dom, const char *fn, unsigned order,
                                const struct numem_res *res, struct numem_diag *diag)
{
	const struct numem_topo *t = numem_heap_topo(dom->mgr->heap);
	if (order > NUMEM_MAX_ORDER)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "%s: domain %u: order %u above %u",
		                   fn, dom->id, order, NUMEM_MAX_ORDER);
	if (!res)
		return NUMEM_OK;
	if ((unsigned)res->mode > NUMEM_RES_MASK)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "%s: domain %u: unknown mode %u", fn,
		                   dom->id, (unsigned)res->mode);
	if (res->flags & ~NUMEM_ALLOC_FLAGS_ALL)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "%s: domain %u: unknown allocation flags 0x%x (known: 0x%x)", fn,
		                   dom->id, res->flags & ~NUMEM_ALLOC_FLAGS_ALL,
		                   NUMEM_ALLOC_FLAGS_ALL);
	if (res->mode == NUMEM_RES_NODE) {
		if (res->node >= t->nr_nodes)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "%s: domain %u: node %u is outside the machine (%u "
			                   "nodes)",
			                   fn, dom->id, res->node, t->nr_nodes);
		if (!t->node[res->node].ram_pages)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "%s: domain %u: node %u has no memory; NUMEM_RES_NODE "
			                   "takes frames from that node only (its nearest node "
			                   "with memory is %u)",
			                   fn, dom->id, res->node, t->node[res->node].nearest_mem);
	}
	if (res->mode == NUMEM_RES_MASK) {
		bool mem = false;
		for (uint32_t n = 0; n < NUMEM_NODEMASK_WORDS * 64; n++) {
			if (!numem_nodemask_test(&res->nodes, (numem_nid_t)n))
				continue;
			if (n >= t->nr_nodes)
				return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
				                   "%s: domain %u: node %u in the mask is outside "
				                   "the machine (%u nodes)",
				                   fn, dom->id, n, t->nr_nodes);
			mem |= t->node[n].ram_pages != 0;
		}
		if (!mem)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "%s: domain %u: no node in the mask has memory", fn,
			                   dom->id);
	}
	return NUMEM_OK;
}

enum numem_err numem__dom_increase(struct numem_domain *dom, struct numem_cpu *cpu, uint64_t nr,
                                   unsigned order, const struct numem_res *res, uint64_t *done,
                                   struct numem_diag *diag)
{
	*done = 0;
	enum numem_err e = check_res(dom, "numem_domain_increase_reservation", order, res, diag);
	if (e)
		return e;
	/* next_gpfn <= max_pages <= NUMEM_DOMAIN_MAX_PAGES: no overflow. */
	uint64_t start = (dom->next_gpfn + (1ull << order) - 1) & ~((1ull << order) - 1);
	if (nr > (dom->max_pages - NUMEM_MIN(start, dom->max_pages)) >> order)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_domain_increase_reservation: domain %u: %llu extents of "
		                   "order %u from frame %llu exceed max_pages %llu",
		                   dom->id, (unsigned long long)nr, order,
		                   (unsigned long long)start, (unsigned long long)dom->max_pages);
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t gpfn = start + (i << order);
		e = populate_one(dom, cpu, gpfn, order, res, diag);
		if (e)
			return e;
		dom->next_gpfn = gpfn + (1ull << order);
		(*done)++;
	}
	return NUMEM_OK;
}

static int cmp_u64(const void *a, const void *b, void *arg)
{
	(void)arg;
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Two extents of one order, both aligned, overlap only when equal. */
static enum numem_err check_duplicates(const struct numem_domain *dom, struct numem_cpu *cpu,
                                       const uint64_t *gpfn, uint64_t nr, struct numem_diag *diag)
{
	const char *fn = "numem_domain_populate_physmap";
	if (nr <= 32) {
		for (uint64_t i = 1; i < nr; i++)
			for (uint64_t j = 0; j < i; j++)
				if (gpfn[i] == gpfn[j])
					return numem__fail(
					    diag, NUMEM_E_INVAL, 0, 0,
					    "%s: domain %u: frame %llu is named twice "
					    "(entries %llu and %llu)",
					    fn, dom->id, (unsigned long long)gpfn[i],
					    (unsigned long long)j, (unsigned long long)i);
		return NUMEM_OK;
	}
	/* A sorted copy, from the slab: this runs at a guest's request, with
	 * a guest-chosen count, so it must not take platform metadata (a boot
	 * allocator on many embedders, and shared by every CPU).  nr <=
	 * NUMEM_DOMAIN_POPULATE_MAX (the caller checked): one slab object. */
	size_t bytes = (size_t)nr * sizeof(uint64_t);
	struct numem_slab *slab = dom->mgr->slab;
	uint64_t *s = numem_kmalloc(slab, cpu, bytes, diag);
	if (!s)
		return numem__fail(diag, NUMEM_E_NO_PAGES, 0, 0,
		                   "%s: domain %u: no memory to check %llu extents for duplicates",
		                   fn, dom->id, (unsigned long long)nr);
	memcpy(s, gpfn, bytes);
	numem__sort(s, (size_t)nr, sizeof(uint64_t), cmp_u64, 0);
	enum numem_err e = NUMEM_OK;
	for (uint64_t i = 1; i < nr && !e; i++)
		if (s[i] == s[i - 1])
			e = numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                "%s: domain %u: frame %llu is named twice", fn, dom->id,
			                (unsigned long long)s[i]);
	numem_kfree(slab, cpu, s, 0);
	return e;
}

enum numem_err numem__dom_populate(struct numem_domain *dom, struct numem_cpu *cpu,
                                   const uint64_t *gpfn, uint64_t nr, unsigned order,
                                   const struct numem_res *res, uint64_t *done,
                                   struct numem_diag *diag)
{
	const char *fn = "numem_domain_populate_physmap";
	*done = 0;
	enum numem_err e = check_res(dom, fn, order, res, diag);
	if (e)
		return e;
	if (nr && !gpfn)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "%s: domain %u: no frame list", fn,
		                   dom->id);
	if (nr > NUMEM_DOMAIN_POPULATE_MAX)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "%s: domain %u: %llu extents in one call; at most %llu "
		                   "(NUMEM_DOMAIN_POPULATE_MAX)",
		                   fn, dom->id, (unsigned long long)nr,
		                   (unsigned long long)NUMEM_DOMAIN_POPULATE_MAX);
	for (uint64_t i = 0; i < nr; i++) { /* validate everything first */
		e = numem__dom_check_frame(dom, fn, gpfn, i, order, diag);
		if (e)
			return e;
		for (uint64_t k = 0; k < (1ull << order); k++)
			if (numem_domain_p2m(dom, gpfn[i] + k) != NUMEM_P2M_NONE)
				return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
				                   "%s: domain %u: frame %llu (entry %llu) is "
				                   "already populated",
				                   fn, dom->id, (unsigned long long)(gpfn[i] + k),
				                   (unsigned long long)i);
	}
	e = check_duplicates(dom, cpu, gpfn, nr, diag);
	if (e)
		return e;
	for (uint64_t i = 0; i < nr; i++) {
		e = populate_one(dom, cpu, gpfn[i], order, res, diag);
		if (e)
			return e;
		if (gpfn[i] + (1ull << order) > dom->next_gpfn)
			dom->next_gpfn = gpfn[i] + (1ull << order);
		(*done)++;
	}
	return NUMEM_OK;
}

enum numem_err numem_domain_increase_reservation(struct numem_domain *dom, struct numem_cpu *cpu,
                                                 uint64_t nr, unsigned order,
                                                 const struct numem_res *res, uint64_t *done,
                                                 struct numem_diag *diag)
{
	numem__dom_lock(dom);
	enum numem_err e = numem__dom_increase(dom, cpu, nr, order, res, done, diag);
	numem__dom_unlock(dom);
	return e;
}

enum numem_err numem_domain_populate_physmap(struct numem_domain *dom, struct numem_cpu *cpu,
                                             const uint64_t *gpfn, uint64_t nr, unsigned order,
                                             const struct numem_res *res, uint64_t *done,
                                             struct numem_diag *diag)
{
	numem__dom_lock(dom);
	enum numem_err e = numem__dom_populate(dom, cpu, gpfn, nr, order, res, done, diag);
	numem__dom_unlock(dom);
	return e;
}
