/*
 * domain.c - guests (see numem/domain.h for the model and the rules).
 *
 * Every page a domain holds is an allocated heap block whose head
 * descriptor carries the domain id in its owner field and whose frames are
 * in the domain's p2m; tot_pages and pages_on_node[] count them.  Creating
 * and destroying domains and changing the list take the manager's lock;
 * a domain's own reservations are made by one caller at a time.
 */
#include <numem/domain.h>

#include "../lib/internal.h"
#include "../lib/spinlock.h"

static void mgr_lock(struct numem_domains *d)
{
	numem__lock(&d->lock);
}

static void mgr_unlock(struct numem_domains *d)
{
	numem__unlock(&d->lock);
}

enum numem_err numem_domains_init(struct numem_domains *d, struct numem_heap *heap,
                                  struct numem_slab *slab, struct numem_diag *diag)
{
	if (!heap || !slab || slab->heap != heap)
		return numem__fail(
		    diag, NUMEM_E_INVAL, 0, 0,
		    "numem_domains_init: a heap and its slab allocator are required");
	memset(d, 0, sizeof(*d));
	d->heap = heap;
	d->slab = slab;
	d->next_id = 1; /* 0 is the heap's own user */
	return NUMEM_OK;
}

struct numem_domain *numem_domain_find(struct numem_domains *d, uint16_t id)
{
	mgr_lock(d);
	struct numem_domain *dom = d->list;
	while (dom && dom->id != id)
		dom = dom->next;
	mgr_unlock(d);
	return dom;
}

/* ---- p2m ------------------------------------------------------------------ */

uint64_t numem_domain_p2m(const struct numem_domain *dom, uint64_t gpfn)
{
	uint64_t leaf = gpfn / NUMEM_P2M_LEAF;
	if (gpfn >= dom->max_pages || !dom->p2m || !dom->p2m[leaf])
		return NUMEM_P2M_NONE;
	return dom->p2m[leaf][gpfn % NUMEM_P2M_LEAF];
}

static enum numem_err p2m_leaf(struct numem_domain *dom, struct numem_cpu *cpu, uint64_t gpfn,
                               struct numem_diag *diag)
{
	uint64_t leaf = gpfn / NUMEM_P2M_LEAF;
	if (dom->p2m[leaf])
		return NUMEM_OK;
	uint64_t *l = numem_kmalloc(dom->mgr->slab, cpu, NUMEM_P2M_LEAF * sizeof(uint64_t), diag);
	if (!l)
		return NUMEM_E_NO_PAGES;
	for (uint32_t i = 0; i < NUMEM_P2M_LEAF; i++)
		l[i] = NUMEM_P2M_NONE;
	dom->p2m[leaf] = l;
	return NUMEM_OK;
}

static void p2m_set(struct numem_domain *dom, uint64_t gpfn, uint64_t mfn)
{
	dom->p2m[gpfn / NUMEM_P2M_LEAF][gpfn % NUMEM_P2M_LEAF] = mfn;
}

/* ---- placement -------------------------------------------------------------- */

/* Choose node affinity for a domain of `pages` (rule in numem/domain.h). */
static void place(struct numem_domains *d, uint64_t pages, numem_nodemask_t *out)
{
	const struct numem_topo *t = d->heap->topo;
	uint32_t best_k = UINT32_MAX, best_vcpus = 0;
	uint64_t best_free = 0;
	numem_nodemask_t best = {{0}};
	for (numem_nid_t seed = 0; seed < t->nr_nodes; seed++) {
		if (!t->node[seed].ram_pages)
			continue;
		numem_nodemask_t set = {{0}};
		uint64_t free = 0;
		uint32_t vcpus = 0, k = 0;
		const struct numem_node *node = &t->node[seed];
		for (uint32_t i = 0; i < node->nr_fallback && free < pages; i++) {
			numem_nid_t n = node->fallback[i];
			numem_nodemask_set(&set, n);
			free += numem_heap_node_free(d->heap, n);
			vcpus += d->vcpus_on_node[n];
			k++;
		}
		if (free < pages)
			k = UINT32_MAX - 1; /* does not fit: only if nothing does */
		bool better = k < best_k || (k == best_k && vcpus < best_vcpus) ||
		              (k == best_k && vcpus == best_vcpus && free > best_free);
		if (better) {
			best_k = k;
			best_vcpus = vcpus;
			best_free = free;
			best = set;
		}
	}
	*out = best;
}

/* The CPU of `set`'s nodes with the fewest vcpus on it (lowest id first). */
static uint32_t pick_cpu(struct numem_domains *d, const numem_nodemask_t *set)
{
	const struct numem_topo *t = d->heap->topo;
	uint32_t best = UINT32_MAX;
	for (uint32_t c = 0; c < t->nr_cpus && c < 4096; c++)
		if (numem_nodemask_test(set, t->cpu[c].node) &&
		    (best == UINT32_MAX || d->vcpus_on_cpu[c] < d->vcpus_on_cpu[best]))
			best = c;
	if (best == UINT32_MAX) /* nodes without CPUs: any CPU */
		for (uint32_t c = 0; c < t->nr_cpus && c < 4096; c++)
			if (best == UINT32_MAX || d->vcpus_on_cpu[c] < d->vcpus_on_cpu[best])
				best = c;
	return best;
}

/* ---- create / destroy --------------------------------------------------------- */

static enum numem_err check_config(struct numem_domains *d, const struct numem_domain_config *c,
                                   struct numem_diag *diag)
{
	const struct numem_topo *t = d->heap->topo;
	if (!c->max_pages || !c->nr_vcpus || c->nr_vcpus > NUMEM_MAX_VCPUS)
		return numem__fail(
		    diag, NUMEM_E_INVAL, 0, 0,
		    "domain %s: max_pages must be > 0 and vcpus 1..%u (got %llu, %u)", c->name,
		    NUMEM_MAX_VCPUS, (unsigned long long)c->max_pages, c->nr_vcpus);
	for (uint32_t i = 0; c->pinned && i < c->nr_vcpus; i++)
		if (c->pin[i] >= (int32_t)t->nr_cpus || c->pin[i] < -1)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "domain %s: vcpu %u pinned to cpu %d, the machine has "
			                   "cpus 0..%u",
			                   c->name, i, c->pin[i], t->nr_cpus - 1);
	for (uint32_t w = 0; w < NUMEM_NODEMASK_WORDS; w++)
		for (uint32_t b = 0; b < 64; b++)
			if ((c->nodes.w[w] >> b & 1) && w * 64 + b >= t->nr_nodes)
				return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
				                   "domain %s: node %u in its affinity is outside "
				                   "the machine (%u nodes)",
				                   c->name, w * 64 + b, t->nr_nodes);
	if (c->nr_vnodes > NUMEM_MAX_VNODES)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "domain %s: %u vnodes, at most %u",
		                   c->name, c->nr_vnodes, NUMEM_MAX_VNODES);
	uint64_t pages = 0;
	uint32_t vcpus = 0;
	for (uint32_t v = 0; v < c->nr_vnodes; v++) {
		if (c->vnode[v].pnode >= t->nr_nodes || !t->node[c->vnode[v].pnode].ram_pages)
			return numem__fail(
			    diag, NUMEM_E_INVAL, 0, 0,
			    "domain %s: vnode %u backed by node %u, which is outside "
			    "the machine or has no memory",
			    c->name, v, c->vnode[v].pnode);
		pages += c->vnode[v].pages;
		vcpus += c->vnode[v].nr_vcpus;
	}
	if (c->nr_vnodes && (pages != c->max_pages || vcpus != c->nr_vcpus))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "domain %s: vnodes hold %llu pages and %u vcpus, the domain "
		                   "%llu and %u",
		                   c->name, (unsigned long long)pages, vcpus,
		                   (unsigned long long)c->max_pages, c->nr_vcpus);
	return NUMEM_OK;
}

enum numem_err numem_domain_create(struct numem_domains *d, const struct numem_domain_config *c,
                                   struct numem_cpu *cpu, struct numem_domain **out,
                                   struct numem_diag *diag)
{
	enum numem_err err = check_config(d, c, diag);
	if (err)
		return err;
	const struct numem_topo *t = d->heap->topo;
	struct numem_domain *dom = numem_kmalloc(d->slab, cpu, sizeof(*dom), diag);
	if (!dom)
		return NUMEM_E_NO_PAGES;
	memset(dom, 0, sizeof(*dom));
	dom->mgr = d;
	dom->max_pages = c->max_pages;
	dom->nr_vcpus = c->nr_vcpus;
	memcpy(dom->name, c->name, sizeof(dom->name));
	dom->name[sizeof(dom->name) - 1] = '\0';
	dom->p2m_leaves = (c->max_pages + NUMEM_P2M_LEAF - 1) / NUMEM_P2M_LEAF;
	dom->p2m = numem_kmalloc(d->slab, cpu, dom->p2m_leaves * sizeof(uint64_t *), diag);
	if (!dom->p2m) {
		numem_kfree(d->slab, cpu, dom, 0);
		return NUMEM_E_NO_PAGES;
	}
	memset(dom->p2m, 0, dom->p2m_leaves * sizeof(uint64_t *));
	dom->nr_vnodes = c->nr_vnodes;
	memcpy(dom->vnode, c->vnode, sizeof(dom->vnode));
	for (uint32_t v = 1; v < c->nr_vnodes; v++)
		dom->vnode_start[v] = dom->vnode_start[v - 1] + c->vnode[v - 1].pages;

	mgr_lock(d);
	/* Node affinity: given, from vnodes, from pinned vcpus, or placed. */
	bool any = false;
	for (uint32_t w = 0; w < NUMEM_NODEMASK_WORDS; w++)
		any |= c->nodes.w[w] != 0;
	if (any) {
		dom->node_affinity = c->nodes;
	} else if (c->nr_vnodes) {
		for (uint32_t v = 0; v < c->nr_vnodes; v++)
			numem_nodemask_set(&dom->node_affinity, c->vnode[v].pnode);
	} else if (c->pinned) {
		for (uint32_t i = 0; i < c->nr_vcpus; i++)
			if (c->pin[i] >= 0)
				numem_nodemask_set(&dom->node_affinity, t->cpu[c->pin[i]].node);
	}
	any = false;
	for (uint32_t w = 0; w < NUMEM_NODEMASK_WORDS; w++)
		any |= dom->node_affinity.w[w] != 0;
	if (!any) {
		place(d, c->max_pages, &dom->node_affinity);
		dom->auto_placed = true;
	}
	/* vcpus: pinned where asked, else on the affinity's (or vnode's) CPUs. */
	uint32_t v = 0, left = c->nr_vnodes ? c->vnode[0].nr_vcpus : c->nr_vcpus;
	for (uint32_t i = 0; i < c->nr_vcpus; i++) {
		while (c->nr_vnodes && !left && v + 1 < c->nr_vnodes)
			left = c->vnode[++v].nr_vcpus;
		struct numem_vcpu *vc = &dom->vcpu[i];
		if (c->pinned && c->pin[i] >= 0) {
			vc->pcpu = (uint32_t)c->pin[i];
			vc->pinned = true;
		} else if (c->nr_vnodes) {
			numem_nodemask_t one = {{0}};
			numem_nodemask_set(&one, c->vnode[v].pnode);
			vc->pcpu = pick_cpu(d, &one);
		} else {
			vc->pcpu = pick_cpu(d, &dom->node_affinity);
		}
		vc->node = t->cpu[vc->pcpu].node;
		vc->vnode = (uint8_t)v;
		if (left)
			left--;
		if (vc->pcpu < 4096)
			d->vcpus_on_cpu[vc->pcpu]++;
		d->vcpus_on_node[vc->node]++;
	}
	dom->id = d->next_id++;
	dom->next = d->list;
	d->list = dom;
	d->nr_domains++;
	mgr_unlock(d);
	*out = dom;
	return NUMEM_OK;
}

/* Free one populated extent (head frame gpfn). */
static void free_extent(struct numem_domain *dom, struct numem_cpu *cpu, uint64_t gpfn,
                        uint64_t mfn, unsigned order)
{
	struct numem_heap *h = dom->mgr->heap;
	numem_nid_t node = numem_page_node(numem_pfn_to_page(h->ft, numem_pfn(mfn)));
	for (uint64_t i = 0; i < (1ull << order); i++)
		p2m_set(dom, gpfn + i, NUMEM_P2M_NONE);
	numem_free_owned(cpu, numem_pfn(mfn), order, dom->id, 0);
	dom->tot_pages -= 1ull << order;
	dom->pages_on_node[node] -= 1ull << order;
}

/* Order of the heap block whose head is mfn (from its descriptor). */
static unsigned block_order(struct numem_domain *dom, uint64_t mfn)
{
	return numem_page_order(numem_pfn_to_page(dom->mgr->heap->ft, numem_pfn(mfn)));
}

enum numem_err numem_domain_destroy(struct numem_domains *d, struct numem_cpu *cpu, uint16_t id,
                                    struct numem_diag *diag)
{
	mgr_lock(d);
	struct numem_domain **pp = &d->list;
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	struct numem_domain *dom = *pp;
	if (!dom) {
		mgr_unlock(d);
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_domain_destroy: no domain %u",
		                   id);
	}
	*pp = dom->next;
	d->nr_domains--;
	for (uint32_t i = 0; i < dom->nr_vcpus; i++) {
		if (dom->vcpu[i].pcpu < 4096)
			d->vcpus_on_cpu[dom->vcpu[i].pcpu]--;
		d->vcpus_on_node[dom->vcpu[i].node]--;
	}
	mgr_unlock(d);
	/* Every extent: walk the p2m; an extent's head frame is the first
	 * frame mapping to the head of its block. */
	for (uint64_t gpfn = 0; gpfn < dom->max_pages && dom->tot_pages;) {
		if (!dom->p2m[gpfn / NUMEM_P2M_LEAF]) { /* a whole leaf never populated */
			gpfn += NUMEM_P2M_LEAF - gpfn % NUMEM_P2M_LEAF;
			continue;
		}
		uint64_t mfn = numem_domain_p2m(dom, gpfn);
		if (mfn == NUMEM_P2M_NONE) {
			gpfn++;
			continue;
		}
		unsigned order = block_order(dom, mfn);
		free_extent(dom, cpu, gpfn, mfn, order);
		gpfn += 1ull << order;
	}
	for (uint64_t l = 0; l < dom->p2m_leaves; l++)
		if (dom->p2m[l])
			numem_kfree(d->slab, cpu, dom->p2m[l], 0);
	numem_kfree(d->slab, cpu, dom->p2m, 0);
	numem_kfree(d->slab, cpu, dom, 0);
	return NUMEM_OK;
}

void numem_domains_release(struct numem_domains *d, struct numem_cpu *cpu)
{
	while (d->list)
		numem_domain_destroy(d, cpu, d->list->id, 0);
}

/* ---- reservations ----------------------------------------------------------- */

/* Node for the next balanced extent: the one furthest behind its share of
 * the vcpus (ties: lowest id). */
static numem_nid_t balance_next(struct numem_domain *dom)
{
	uint32_t on[NUMEM_MAX_NODES] = {0};
	const struct numem_topo *t = dom->mgr->heap->topo;
	for (uint32_t i = 0; i < dom->nr_vcpus; i++)
		on[t->node[dom->vcpu[i].node].nearest_mem]++;
	numem_nid_t best = NUMEM_NID_NONE;
	int64_t best_deficit = INT64_MIN;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		if (!on[n])
			continue;
		/* share * (total + 1) - given, scaled by nr_vcpus to stay integral */
		int64_t deficit = (int64_t)on[n] * (int64_t)(dom->balance_total + 1) -
		                  (int64_t)dom->balance_given[n] * (int64_t)dom->nr_vcpus;
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
	numem_nid_t balanced = NUMEM_NID_NONE;
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
		balanced = balance_next(dom);
		numem_policy_init(&pol, NUMEM_POLICY_PREFERRED);
		pol.node = balanced;
	}
	for (uint64_t i = 0; i < (1ull << order); i++) {
		enum numem_err e = p2m_leaf(dom, cpu, gpfn + i, diag);
		if (e)
			return e;
	}
	numem_pfn_t pfn;
	enum numem_err e = numem_alloc_owned(cpu, order, flags, &pol, dom->id, &pfn, diag);
	if (e)
		return e;
	struct numem_page *pg = numem_pfn_to_page(h->ft, pfn);
	pg->private = gpfn;
	for (uint64_t i = 0; i < (1ull << order); i++)
		p2m_set(dom, gpfn + i, pfn.v + i);
	numem_nid_t node = numem_page_node(pg);
	dom->tot_pages += 1ull << order;
	dom->pages_on_node[node] += 1ull << order;
	if (balanced != NUMEM_NID_NONE) {
		dom->balance_given[balanced]++;
		dom->balance_total++;
	}
	return NUMEM_OK;
}

static enum numem_err check_res(const struct numem_domain *dom, unsigned order,
                                const struct numem_res *res, struct numem_diag *diag)
{
	const struct numem_topo *t = dom->mgr->heap->topo;
	if (order > NUMEM_MAX_ORDER)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "domain %u: order %u above %u",
		                   dom->id, order, NUMEM_MAX_ORDER);
	if (res && res->mode == NUMEM_RES_NODE && res->node >= t->nr_nodes)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "domain %u: node %u is outside the machine (%u nodes)", dom->id,
		                   res->node, t->nr_nodes);
	if (res && res->mode > NUMEM_RES_MASK)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "domain %u: unknown mode %u", dom->id,
		                   (unsigned)res->mode);
	return NUMEM_OK;
}

enum numem_err numem_domain_increase_reservation(struct numem_domain *dom, struct numem_cpu *cpu,
                                                 uint64_t nr, unsigned order,
                                                 const struct numem_res *res, uint64_t *done,
                                                 struct numem_diag *diag)
{
	*done = 0;
	enum numem_err e = check_res(dom, order, res, diag);
	if (e)
		return e;
	uint64_t start = (dom->next_gpfn + (1ull << order) - 1) & ~((1ull << order) - 1);
	if (nr > (dom->max_pages - NUMEM_MIN(start, dom->max_pages)) >> order)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "domain %u: %llu extents of order %u from frame %llu exceed "
		                   "max_pages %llu",
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

enum numem_err numem_domain_populate_physmap(struct numem_domain *dom, struct numem_cpu *cpu,
                                             const uint64_t *gpfn, uint64_t nr, unsigned order,
                                             const struct numem_res *res, uint64_t *done,
                                             struct numem_diag *diag)
{
	*done = 0;
	enum numem_err e = check_res(dom, order, res, diag);
	if (e)
		return e;
	for (uint64_t i = 0; i < nr; i++) { /* validate everything first */
		if ((gpfn[i] & ((1ull << order) - 1)) || gpfn[i] >= dom->max_pages ||
		    (1ull << order) > dom->max_pages - gpfn[i])
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "domain %u: frame %llu (order %u) is misaligned or "
			                   "beyond max_pages %llu",
			                   dom->id, (unsigned long long)gpfn[i], order,
			                   (unsigned long long)dom->max_pages);
		for (uint64_t k = 0; k < (1ull << order); k++)
			if (numem_domain_p2m(dom, gpfn[i] + k) != NUMEM_P2M_NONE)
				return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
				                   "domain %u: frame %llu is already populated",
				                   dom->id, (unsigned long long)(gpfn[i] + k));
	}
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

enum numem_err numem_domain_decrease_reservation(struct numem_domain *dom, struct numem_cpu *cpu,
                                                 uint64_t nr, unsigned order, uint64_t *done,
                                                 struct numem_diag *diag)
{
	(void)diag;
	*done = 0;
	/* From the top: each populated extent met, whole blocks. */
	uint64_t gpfn = dom->next_gpfn;
	while (*done < nr && gpfn > 0 && dom->tot_pages) {
		gpfn--;
		uint64_t mfn = numem_domain_p2m(dom, gpfn);
		if (mfn == NUMEM_P2M_NONE)
			continue;
		/* Walk back to the extent's head frame. */
		struct numem_page *pg = numem_pfn_to_page(dom->mgr->heap->ft, numem_pfn(mfn));
		while (numem_page_state(pg) != NUMEM_PS_ALLOCATED) {
			gpfn--;
			mfn = numem_domain_p2m(dom, gpfn);
			pg = numem_pfn_to_page(dom->mgr->heap->ft, numem_pfn(mfn));
		}
		unsigned o = numem_page_order(pg);
		free_extent(dom, cpu, gpfn, mfn, o);
		*done += o >= order ? 1ull << (o - order) : 1;
	}
	while (dom->next_gpfn && numem_domain_p2m(dom, dom->next_gpfn - 1) == NUMEM_P2M_NONE)
		dom->next_gpfn--;
	return NUMEM_OK;
}

enum numem_err numem_domain_set_target(struct numem_domain *dom, struct numem_cpu *cpu,
                                       uint64_t pages, struct numem_diag *diag)
{
	if (pages > dom->max_pages)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "domain %u: target %llu pages above max_pages %llu", dom->id,
		                   (unsigned long long)pages, (unsigned long long)dom->max_pages);
	uint64_t done;
	if (pages > dom->tot_pages) {
		/* Fill holes left by ballooning first, then append. */
		uint64_t want = pages - dom->tot_pages;
		for (uint64_t g = 0; g < dom->next_gpfn && want; g++)
			if (numem_domain_p2m(dom, g) == NUMEM_P2M_NONE) {
				enum numem_err e = numem_domain_populate_physmap(dom, cpu, &g, 1, 0,
				                                                 0, &done, diag);
				if (e)
					return e;
				want--;
			}
		return want ? numem_domain_increase_reservation(dom, cpu, want, 0, 0, &done, diag)
		            : NUMEM_OK;
	}
	return numem_domain_decrease_reservation(dom, cpu, dom->tot_pages - pages, 0, &done, diag);
}

/* ---- vNUMA tables -------------------------------------------------------------- */

enum numem_err numem_domain_vnuma_tables(const struct numem_domain *dom, void *srat,
                                         size_t srat_cap, size_t *srat_len, void *slit,
                                         size_t slit_cap, size_t *slit_len)
{
	if (!dom->nr_vnodes)
		return NUMEM_E_INVAL;
	/* Entries in scratch metadata, not on the stack (7 KiB). */
	const struct numem_platform *plat = dom->mgr->heap->plat;
	struct scratch {
		struct numem_srat_cpu cpus[NUMEM_MAX_VCPUS];
		struct numem_srat_mem mems[NUMEM_MAX_VNODES];
		uint8_t m[NUMEM_MAX_VNODES * NUMEM_MAX_VNODES];
	} *sc = numem__meta_alloc(plat, sizeof(*sc), NUMEM_NID_NONE);
	if (!sc)
		return NUMEM_E_NOMEM;
	struct numem_srat_cpu *cpus = sc->cpus;
	struct numem_srat_mem *mems = sc->mems;
	for (uint32_t i = 0; i < dom->nr_vcpus; i++)
		cpus[i] =
		    (struct numem_srat_cpu){.type = i < 255 ? NUMEM_SRAT_APIC : NUMEM_SRAT_X2APIC,
		                            .enabled = true,
		                            .pxm = dom->vcpu[i].vnode,
		                            .id = i};
	for (uint32_t v = 0; v < dom->nr_vnodes; v++)
		mems[v] = (struct numem_srat_mem){.pxm = v,
		                                  .base = dom->vnode_start[v] << NUMEM_PAGE_SHIFT,
		                                  .length = dom->vnode[v].pages << NUMEM_PAGE_SHIFT,
		                                  .flags = NUMEM_SRAT_MEM_ENABLED};
	struct numem_srat s = {.header.revision = 3,
	                       .table_revision = 1,
	                       .nr_cpu = dom->nr_vcpus,
	                       .cpu = cpus,
	                       .nr_mem = dom->nr_vnodes,
	                       .mem = mems};
	enum numem_err e = numem_srat_write(&s, srat, srat_cap, srat_len);
	if (e) {
		numem__meta_free(plat, sc, sizeof(*sc));
		return e;
	}
	uint8_t *m = sc->m;
	uint32_t n = dom->nr_vnodes;
	for (uint32_t a = 0; a < n; a++)
		for (uint32_t b = 0; b < n; b++) {
			uint8_t d = dom->vnode[a].distance[b];
			m[a * n + b] = d        ? d
			               : a == b ? NUMEM_LOCAL_DISTANCE
			                        : NUMEM_REMOTE_DISTANCE;
		}
	struct numem_slit sl = {.localities = n, .matrix = m};
	e = numem_slit_write(&sl, slit, slit_cap, slit_len);
	numem__meta_free(plat, sc, sizeof(*sc));
	return e;
}
