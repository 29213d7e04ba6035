/*
 * domain.c - the domain manager: init, create, destroy, ids and references
 * (the model and the rules are in numem/domain.h; which lock protects which
 * field is written there, under "Locks").
 *
 * Every page a domain holds is an allocated heap block whose head
 * descriptor carries the domain id in its owner field and whose frames are
 * in the domain's p2m; tot_pages and pages_on_node[] count them
 * (numem_domain_verify proves it).
 *
 * Ids come from a bitmap of the ids 1..NUMEM_OWNER_DOMAIN_MAX, searched
 * from a cursor that moves past each id handed out, so ids rotate: never 0
 * (the heap's own owner), never a reserved owner, never a live domain's.
 * An id is returned to the bitmap only after every frame it owned has gone
 * back to the heap, so no new domain ever finds blocks of its id it did not
 * allocate; the id of a domain whose destroy found its p2m corrupt is
 * retired for good (blocks of that id may remain).
 */
#include "domain_internal.h"

static void mgr_lock(struct numem_domains *d)
{
	numem__lock(&d->lock);
}

static void mgr_unlock(struct numem_domains *d)
{
	numem__unlock(&d->lock);
}

static bool id_used(const struct numem_domains *d, uint32_t id)
{
	return d->id_used[id / 64] >> (id % 64) & 1;
}

static void id_mark(struct numem_domains *d, uint32_t id, bool used)
{
	if (used)
		d->id_used[id / 64] |= 1ull << (id % 64);
	else
		d->id_used[id / 64] &= ~(1ull << (id % 64));
}

/* A free id from the cursor on, or 0 when all are live.  Manager lock held. */
static uint16_t id_alloc(struct numem_domains *d)
{
	uint32_t id = d->next_id;
	for (uint32_t k = 0; k < NUMEM_OWNER_DOMAIN_MAX; k++) {
		if (id < 1 || id > NUMEM_OWNER_DOMAIN_MAX)
			id = 1;
		if (!id_used(d, id)) {
			id_mark(d, id, true);
			d->next_id = (uint16_t)(id == NUMEM_OWNER_DOMAIN_MAX ? 1 : id + 1);
			return (uint16_t)id;
		}
		id++;
	}
	return 0;
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
	numem__dom_relayout_subscribe(d);
	return NUMEM_OK;
}

struct numem_domain *numem_domain_find(struct numem_domains *d, uint16_t id)
{
	mgr_lock(d);
	struct numem_domain *dom = d->list;
	while (dom && dom->id != id)
		dom = dom->next;
	if (dom)
		dom->refs++;
	mgr_unlock(d);
	return dom;
}

void numem_domain_put(struct numem_domain *dom)
{
	struct numem_domains *d = dom->mgr;
	mgr_lock(d);
	uint32_t refs = dom->refs;
	if (refs)
		dom->refs--;
	mgr_unlock(d);
	/* A put without a reference: the caller's count is off by one, and
	 * with another holder it would have let destroy free a domain still in
	 * use.  (It used to be ignored silently.) */
	NUMEM_ASSERT(d->heap->plat, refs > 0,
	             "domain %u: numem_domain_put without a reference from numem_domain_find "
	             "(put twice?)",
	             dom->id);
}

/* ---- create ---------------------------------------------------------------- */

static enum numem_err check_config(struct numem_domains *d, const struct numem_domain_config *c,
                                   struct numem_diag *diag)
{
	const struct numem_topo *t = numem_heap_topo(d->heap);
	char name[sizeof(c->name) + 1]; /* the caller's may fill all 32 bytes */
	memcpy(name, c->name, sizeof(c->name));
	name[sizeof(c->name)] = '\0';
	if (!c->max_pages || !c->nr_vcpus || c->nr_vcpus > NUMEM_MAX_VCPUS)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_domain_create: domain %s: max_pages must be > 0 and "
		                   "vcpus 1..%u (got %llu, %u)",
		                   name, NUMEM_MAX_VCPUS, (unsigned long long)c->max_pages,
		                   c->nr_vcpus);
	if (c->max_pages > NUMEM_DOMAIN_MAX_PAGES)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_domain_create: domain %s: max_pages %llu is above "
		                   "%llu, the most a p2m root of one max-order block maps",
		                   name, (unsigned long long)c->max_pages,
		                   (unsigned long long)NUMEM_DOMAIN_MAX_PAGES);
	for (uint32_t i = 0; c->pinned && i < c->nr_vcpus; i++)
		if (c->pin[i] >= (int32_t)t->nr_cpus || c->pin[i] < -1)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "numem_domain_create: domain %s: vcpu %u pinned to cpu "
			                   "%d, the machine has cpus 0..%u",
			                   name, i, c->pin[i], t->nr_cpus - 1);
	for (uint32_t w = 0; w < NUMEM_NODEMASK_WORDS; w++)
		for (uint32_t b = 0; b < 64; b++)
			if ((c->nodes.w[w] >> b & 1) && w * 64 + b >= t->nr_nodes)
				return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
				                   "numem_domain_create: domain %s: node %u in "
				                   "its affinity is outside the machine (%u nodes)",
				                   name, w * 64 + b, t->nr_nodes);
	if (c->nr_vnodes > NUMEM_MAX_VNODES)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_domain_create: domain %s: %u vnodes, at most %u", name,
		                   c->nr_vnodes, NUMEM_MAX_VNODES);
	uint64_t pages = 0;
	uint32_t vcpus = 0;
	for (uint32_t v = 0; v < c->nr_vnodes; v++) {
		if (c->vnode[v].pnode >= t->nr_nodes || !t->node[c->vnode[v].pnode].ram_pages)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "numem_domain_create: domain %s: vnode %u backed by "
			                   "node %u, which is outside the machine or has no memory",
			                   name, v, c->vnode[v].pnode);
		/* Caller numbers: sums checked against the limits they must meet. */
		if (c->vnode[v].pages > c->max_pages - pages ||
		    c->vnode[v].nr_vcpus > NUMEM_MAX_VCPUS - vcpus)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "numem_domain_create: domain %s: vnodes 0..%u hold "
			                   "more than the domain's %llu pages or %u vcpus "
			                   "(vnode %u: %llu pages, %u vcpus)",
			                   name, v, (unsigned long long)c->max_pages, c->nr_vcpus,
			                   v, (unsigned long long)c->vnode[v].pages,
			                   c->vnode[v].nr_vcpus);
		pages += c->vnode[v].pages;
		vcpus += c->vnode[v].nr_vcpus;
	}
	if (c->nr_vnodes && (pages != c->max_pages || vcpus != c->nr_vcpus))
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "numem_domain_create: domain %s: vnodes hold %llu pages and "
		                   "%u vcpus, the domain %llu and %u",
		                   name, (unsigned long long)pages, vcpus,
		                   (unsigned long long)c->max_pages, c->nr_vcpus);
	return NUMEM_OK;
}

static void free_shell(struct numem_domains *d, struct numem_cpu *cpu, struct numem_domain *dom)
{
	for (uint64_t l = 0; dom->p2m && l < dom->p2m_leaves; l++) {
		numem_p2m_entry_t *leaf = atomic_load_explicit(&dom->p2m[l], memory_order_relaxed);
		if (leaf)
			numem_kfree(d->slab, cpu, leaf, 0);
	}
	if (dom->p2m)
		numem_kfree(d->slab, cpu, (void *)dom->p2m, 0);
	numem_kfree(d->slab, cpu, dom, 0);
}

enum numem_err numem_domain_create(struct numem_domains *d, const struct numem_domain_config *c,
                                   struct numem_cpu *cpu, struct numem_domain **out,
                                   struct numem_diag *diag)
{
	enum numem_err err = check_config(d, c, diag);
	if (err)
		return err;
	const struct numem_topo *t = numem_heap_topo(d->heap);
	struct numem_domain *dom = numem_kmalloc(d->slab, cpu, sizeof(*dom), diag);
	if (!dom)
		return NUMEM_E_NO_PAGES;
	memset(dom, 0, sizeof(*dom));
	dom->mgr = d;
	dom->max_pages = c->max_pages;
	dom->nr_vcpus = c->nr_vcpus;
	memcpy(dom->name, c->name, sizeof(dom->name));
	dom->name[sizeof(dom->name) - 1] = '\0';
	/* max_pages <= NUMEM_DOMAIN_MAX_PAGES: the root fits one max-order block. */
	dom->p2m_leaves = (c->max_pages + NUMEM_P2M_LEAF - 1) / NUMEM_P2M_LEAF;
	size_t root = (size_t)dom->p2m_leaves * sizeof(*dom->p2m);
	dom->p2m = numem_kmalloc(d->slab, cpu, root, diag);
	if (!dom->p2m) {
		numem_kfree(d->slab, cpu, dom, 0);
		return NUMEM_E_NO_PAGES;
	}
	for (uint64_t l = 0; l < dom->p2m_leaves; l++)
		atomic_init(&dom->p2m[l], NULL);
	dom->nr_vnodes = c->nr_vnodes;
	memcpy(dom->vnode, c->vnode, sizeof(dom->vnode));
	for (uint32_t v = 1; v < c->nr_vnodes; v++)
		dom->vnode_start[v] = dom->vnode_start[v - 1] + c->vnode[v - 1].pages;

	mgr_lock(d);
	uint16_t id = id_alloc(d);
	if (!id) {
		mgr_unlock(d);
		numem__fail(diag, NUMEM_E_BUSY, 0, 0,
		            "numem_domain_create: domain %s: all domain ids 1..%u are in use",
		            dom->name, NUMEM_OWNER_DOMAIN_MAX);
		free_shell(d, cpu, dom);
		return NUMEM_E_BUSY;
	}
	dom->id = id;
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
		numem__dom_place(d, c->max_pages, &dom->node_affinity);
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
			vc->pcpu = numem__dom_pick_cpu(d, &one);
		} else {
			vc->pcpu = numem__dom_pick_cpu(d, &dom->node_affinity);
		}
		vc->node = t->cpu[vc->pcpu].node;
		vc->vnode = (uint8_t)v;
		if (left)
			left--;
		if (vc->pcpu < 4096)
			d->vcpus_on_cpu[vc->pcpu]++;
		d->vcpus_on_node[vc->node]++;
	}
	dom->next = d->list;
	d->list = dom;
	d->nr_domains++;
	mgr_unlock(d);
	*out = dom;
	return NUMEM_OK;
}

/* ---- destroy --------------------------------------------------------------- */

/* Give back every extent; frames the domain no longer holds are unmapped
 * and uncounted, and the first is reported. */
static enum numem_err free_all(struct numem_domain *dom, struct numem_cpu *cpu,
                               struct numem_diag *diag)
{
	const char *fn = "numem_domain_destroy";
	enum numem_err first = NUMEM_OK;
	uint64_t mfn;
	for (uint64_t gpfn = numem__p2m_next(dom, 0, &mfn); gpfn < dom->max_pages;
	     gpfn = numem__p2m_next(dom, gpfn, &mfn)) {
		struct numem__extent ext;
		struct numem_diag tmp;
		enum numem_err e = numem__p2m_extent(dom, fn, gpfn, mfn, &ext, first ? &tmp : diag);
		bool freed = false;
		if (!e)
			e = numem__dom_free_extent(dom, cpu, &ext, &freed, first ? &tmp : diag);
		if (e) {
			if (!first)
				first = e;
			/* Not ours any more: forget it, never free it. */
			numem__p2m_take(dom, gpfn);
			dom->tot_pages--;
			numem_nid_t n =
			    numem_topo_pfn_to_node(numem_heap_topo(dom->mgr->heap), numem_pfn(mfn));
			if (n < NUMEM_MAX_NODES && dom->pages_on_node[n])
				dom->pages_on_node[n]--;
			gpfn++;
			continue;
		}
		gpfn = ext.gpfn + (1ull << ext.order);
	}
	return first;
}

static enum numem_err destroy(struct numem_domains *d, struct numem_cpu *cpu, uint16_t id,
                              bool force, struct numem_diag *diag)
{
again:
	mgr_lock(d);
	struct numem_domain **pp = &d->list;
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	struct numem_domain *dom = *pp;
	if (dom && dom->pins) {
		/* A relayout recount is at work on it (under its lock only, for a
		 * bounded walk of its p2m): wait for it rather than refuse. */
		mgr_unlock(d);
		numem__cpu_relax();
		goto again;
	}
	if (!dom) {
		mgr_unlock(d);
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0, "numem_domain_destroy: no domain %u",
		                   id);
	}
	if (dom->refs && !force) {
		uint32_t refs = dom->refs;
		mgr_unlock(d);
		return numem__fail(diag, NUMEM_E_BUSY, 0, 0,
		                   "numem_domain_destroy: domain %u is in use: %u references from "
		                   "numem_domain_find not yet dropped with numem_domain_put",
		                   id, refs);
	}
	*pp = dom->next;
	d->nr_domains--;
	for (uint32_t i = 0; i < dom->nr_vcpus; i++) {
		if (dom->vcpu[i].pcpu < 4096)
			d->vcpus_on_cpu[dom->vcpu[i].pcpu]--;
		d->vcpus_on_node[dom->vcpu[i].node]--;
	}
	mgr_unlock(d);
	/* Layers above (tmem) drop their state of the domain first: it is off
	 * the list, so nothing new can start for it. */
	for (struct numem_domain_hook *h = d->hooks; h; h = h->next)
		h->destroy(h->ctx, cpu, id);
	/* Unreachable now: nobody else takes its lock; taken for the
	 * lock-protected fields' sake all the same. */
	numem__dom_lock(dom);
	enum numem_err e = free_all(dom, cpu, diag);
	numem__dom_unlock(dom);
	free_shell(d, cpu, dom);
	/* Only now, and only if its frames are all back: after NUMEM_E_CORRUPT
	 * the heap may still hold blocks with this id that the p2m lost track
	 * of, and a new domain given the id would seem to own them.  Such an id
	 * is retired (never handed out again) and numem_domain_verify names the
	 * blocks as owned by a domain that does not exist. */
	if (!e) {
		mgr_lock(d);
		id_mark(d, id, false);
		mgr_unlock(d);
	}
	return e;
}

enum numem_err numem_domain_destroy(struct numem_domains *d, struct numem_cpu *cpu, uint16_t id,
                                    struct numem_diag *diag)
{
	return destroy(d, cpu, id, false, diag);
}

void numem_domains_release(struct numem_domains *d, struct numem_cpu *cpu)
{
	while (d->list)
		destroy(d, cpu, d->list->id, true, 0);
	numem_relayout_unregister(d->heap, &d->relayout);
}

void numem_domains_add_hook(struct numem_domains *d, struct numem_domain_hook *h)
{
	mgr_lock(d);
	struct numem_domain_hook **pp = &d->hooks;
	while (*pp && *pp != h)
		pp = &(*pp)->next;
	if (!*pp) {
		h->next = 0;
		*pp = h;
	}
	mgr_unlock(d);
}

void numem_domains_remove_hook(struct numem_domains *d, struct numem_domain_hook *h)
{
	mgr_lock(d);
	struct numem_domain_hook **pp = &d->hooks;
	while (*pp && *pp != h)
		pp = &(*pp)->next;
	if (*pp)
		*pp = h->next;
	mgr_unlock(d);
}
