/*
 * relayout.c - the simulator's relayout phase: one domain's memory (the
 * physical span its frames occupy) striped over nodes in blocks or pushed
 * to another node with numem_relayout_commit(), between two operations of
 * the run, while every guest and the host keep what they hold: their
 * frames in the span become pending and move to their new node when freed
 * by the churn that follows (the samples' pending series drains), or at
 * once when the phase asks the domain to migrate.  The record of the
 * commit (figures, free memory and the domain's pages per node, the
 * address space by node and by owner, before and after) goes to the run.
 * Deterministic: the commit runs on the simulation's one thread, and its
 * clock is the simulated one.
 */
#include <string.h>

#include "engine_internal.h"

/* The physical span of a domain's frames: [*lo, *hi). */
static bool domain_span(const struct numem_domain *d, uint64_t *lo, uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (uint64_t g = 0; g < d->max_pages; g++) {
		uint64_t mfn = numem_domain_p2m(d, g);
		if (mfn == NUMEM_P2M_NONE)
			continue;
		*lo = mfn < *lo ? mfn : *lo;
		*hi = mfn + 1 > *hi ? mfn + 1 : *hi;
	}
	return *hi > *lo;
}

static void node_figures(struct engine *e, const struct numem_domain *d, uint64_t *free_pages,
                         uint64_t *dom_pages)
{
	for (numem_nid_t n = 0; n < numem_heap_topo(&e->sys.heap)->nr_nodes; n++) {
		free_pages[n] = numem_heap_node_free(&e->sys.heap, n);
		dom_pages[n] = d->pages_on_node[n];
	}
}

static void layout_bar(struct engine *e, numem_nid_t *out, uint64_t end)
{
	struct sim_layout_bar b;
	sim_layout_bar_fill(&b, "", numem_heap_topo(&e->sys.heap), end);
	memcpy(out, b.node, sizeof(b.node));
}

int engine_relayout(struct engine *e, const struct sim_phase *p, char *err, size_t errlen)
{
	struct numem_heap *h = &e->sys.heap;
	int i = engine_find_domain(e, p->domain);
	if (i < 0 || !e->dom[i]) {
		snprintf(err, errlen, "relayout: no live domain '%s'", p->domain);
		return -1;
	}
	struct numem_domain *d = e->dom[i];
	const struct numem_topo *t = numem_heap_topo(h);
	for (uint32_t k = 0; k < p->nr_nodes; k++)
		if (p->nodes[k] >= t->nr_nodes || !numem_relayout_node_online(h, p->nodes[k])) {
			snprintf(err, errlen,
			         "relayout %s: node %u is not a node of the machine (nodes 0..%u)",
			         d->name, p->nodes[k], t->nr_nodes - 1);
			return -1;
		}
	struct sim_run *r = e->run;
	struct sim_relayout *rec = r->nr_relayouts < SIM_MAX_RELAYOUTS
	                               ? &r->relayout[r->nr_relayouts]
	                               : NULL; /* beyond the records: run, not recorded */
	struct sim_relayout scratch;
	if (!rec)
		rec = &scratch;
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->domain, sizeof(rec->domain), "%s", d->name);
	rec->stripe = p->stripe;
	rec->migrate = p->migrate;
	rec->nr_nodes = p->nr_nodes;
	memcpy(rec->nodes, p->nodes, sizeof(rec->nodes));
	rec->block_pages = p->stripe ? p->block_pages : 0;
	if (!domain_span(d, &rec->start_pfn, &rec->end_pfn)) {
		snprintf(err, errlen, "relayout %s: the domain holds no memory", d->name);
		return -1;
	}
	rec->bar_end = t->max_pfn;
	engine_sample(e);
	node_figures(e, d, rec->free_before, rec->dom_before);
	layout_bar(e, rec->bar_before, rec->bar_end);
	engine_address_map(e, rec->map_before, rec->map_start[0], rec->map_end[0]);

	struct numem_memlayout l;
	struct numem_diag diag = {0};
	struct numem_relayout_result res;
	numem_memlayout_init(&l, h->plat);
	enum numem_err er =
	    p->stripe
	        ? numem_memlayout_stripe(&l, h, rec->start_pfn, rec->end_pfn, p->nodes, p->nr_nodes,
	                                 p->block_pages, &diag)
	        : numem_memlayout_push(&l, h, rec->start_pfn, rec->end_pfn, p->nodes[0], &diag);
	if (!er)
		er = numem_relayout_commit(h, &l, &res, &diag);
	numem_memlayout_release(&l);
	if (er) {
		snprintf(err, errlen, "relayout %s: %s", d->name, diag.msg);
		return -1;
	}
	rec->op = e->op;
	rec->pages_changed = res.pages_changed;
	rec->pages_moved = res.pages_moved;
	rec->blocks_moved = res.blocks_moved;
	rec->pages_pending = res.pages_pending;
	if (p->migrate) {
		uint64_t left;
		er = numem_domain_migrate(d, engine_dom_cpu(e, d), 0, &rec->migrated, &left, &diag);
		if (er && er != NUMEM_E_NO_PAGES) {
			snprintf(err, errlen, "relayout %s: migrate: %s", d->name, diag.msg);
			return -1;
		}
	}
	t = numem_heap_topo(h);
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		rec->ram_after[n] = t->node[n].ram_pages;
	node_figures(e, d, rec->free_after, rec->dom_after);
	layout_bar(e, rec->bar_after, rec->bar_end);
	engine_address_map(e, rec->map_after, rec->map_start[1], rec->map_end[1]);
	if (rec != &scratch)
		r->nr_relayouts++;
	engine_tick(e);
	if (r->nr_samples && r->sample[r->nr_samples - 1].op != e->op)
		engine_sample(e); /* right after the commit, unless the tick took it */
	return 0;
}
