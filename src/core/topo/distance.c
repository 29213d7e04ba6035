/*
 * distance.c - distances, nearest memory node, fallback order, summaries.
 *
 * The SLIT is indexed by proximity domain.  It is used only when valid in
 * the sense Linux checks (slit_valid()): every diagonal entry is 10 and every
 * other entry is greater than 10 (0xff, unreachable, included).  Node pairs
 * whose domains lie beyond the SLIT's locality count, and every pair when the
 * SLIT is missing or invalid, get 10 local / 20 remote.
 *
 * Fallback order (the zonelist's node order): the nodes with RAM sorted by
 * (distance from this node, node id), unreachable nodes left out.  Linux's
 * find_next_best_node() differs on ties: it adds a penalty to nodes that
 * have CPUs and spreads equal-distance choices by a running load; numem
 * keeps the plain, reproducible order and leaves spreading to policies.
 */
#include "topo_internal.h"

static bool slit_valid(const struct numem_slit *slit)
{
	uint64_t n = slit->localities;
	for (uint64_t i = 0; i < n; i++)
		for (uint64_t j = 0; j < n; j++) {
			uint8_t d = numem_slit_distance(slit, i, j);
			if (i == j ? d != NUMEM_LOCAL_DISTANCE : d <= NUMEM_LOCAL_DISTANCE)
				return false;
		}
	return true;
}

void numem__topo_distances(struct numem_topo *t, const struct numem_slit *slit)
{
	bool use = slit && slit->localities && slit_valid(slit);
	if (slit && slit->localities && !use)
		numem__log(t->plat, NUMEM_LOG_WARN,
		           "SLIT: invalid (a diagonal entry is not 10 or another entry is <= "
		           "10); using default distances");
	t->distance_from_slit = use;
	for (uint32_t i = 0; i < t->nr_nodes; i++)
		for (uint32_t j = 0; j < t->nr_nodes; j++) {
			uint32_t pi = t->node[i].pxm, pj = t->node[j].pxm;
			uint8_t d = i == j ? NUMEM_LOCAL_DISTANCE : NUMEM_REMOTE_DISTANCE;
			if (use && pi < slit->localities && pj < slit->localities)
				d = numem_slit_distance(slit, pi, pj);
			t->distance[i][j] = d;
		}
}

static void fill_fallback(struct numem_topo *t, numem_nid_t n)
{
	struct numem_node *node = &t->node[n];
	node->nr_fallback = 0;
	/* Insertion sort by (distance, id): at most NUMEM_MAX_NODES entries. */
	for (numem_nid_t m = 0; m < t->nr_nodes; m++) {
		uint8_t d = t->distance[n][m];
		if (!t->node[m].ram_pages || d == NUMEM_UNREACHABLE)
			continue;
		uint32_t k = node->nr_fallback++;
		while (k > 0 && t->distance[n][node->fallback[k - 1]] > d) {
			node->fallback[k] = node->fallback[k - 1];
			k--;
		}
		node->fallback[k] = m;
	}
}

enum numem_err numem__topo_finalize(struct numem_topo *t, struct numem_diag *diag)
{
	t->total_ram_pages = 0;
	t->max_pfn = 0;
	t->span_end_pfn = 0;
	for (uint32_t n = 0; n < t->nr_nodes; n++) {
		t->node[n].ram_pages = 0;
		t->node[n].start_pfn = 0;
		t->node[n].end_pfn = 0;
		t->node[n].nr_cpus = 0;
		if (!t->emulated_from)
			t->node[n].phys_node = (numem_nid_t)n;
	}
	for (uint32_t i = 0; i < t->nr_ranges; i++) {
		const struct numem_mem_range *r = &t->range[i];
		uint64_t end_pfn = (r->end + NUMEM_PAGE_SIZE - 1) >> NUMEM_PAGE_SHIFT;
		t->span_end_pfn = NUMEM_MAX(t->span_end_pfn, end_pfn);
		uint64_t pages = numem__range_pages(r->base, r->end);
		if (!(r->flags & NUMEM_RANGE_RAM) || !pages)
			continue;
		struct numem_node *node = &t->node[r->node];
		uint64_t first = (r->base + NUMEM_PAGE_SIZE - 1) >> NUMEM_PAGE_SHIFT;
		uint64_t last = r->end >> NUMEM_PAGE_SHIFT;
		if (!node->ram_pages || first < node->start_pfn)
			node->start_pfn = first;
		node->end_pfn = NUMEM_MAX(node->end_pfn, last);
		node->ram_pages += pages;
		t->total_ram_pages += pages;
		t->max_pfn = NUMEM_MAX(t->max_pfn, last);
	}
	if (!t->total_ram_pages)
		return numem__fail(diag, NUMEM_E_NO_MEMORY, 0, 0,
		                   "no whole page of RAM in any memory range");

	t->cpumask_words = (t->nr_cpus + 63) / 64;
	if (!t->cpumask_words)
		t->cpumask_words = 1;
	size_t mask_bytes = (size_t)t->cpumask_words * sizeof(uint64_t) * NUMEM_MAX_NODES;
	if (!t->cpumask)
		t->cpumask = numem__meta_alloc(t->plat, mask_bytes, NUMEM_NID_NONE);
	if (!t->cpumask)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0, "no metadata memory for cpumasks");
	memset(t->cpumask, 0, mask_bytes);
	for (uint32_t c = 0; c < t->nr_cpus; c++) {
		struct numem_cpu_desc *cpu = &t->cpu[c];
		t->node[cpu->node].nr_cpus++;
		t->cpumask[(size_t)cpu->node * t->cpumask_words + c / 64] |= 1ull << (c % 64);
	}

	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		fill_fallback(t, n);
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		struct numem_node *node = &t->node[n];
		if (node->ram_pages) {
			node->nearest_mem = n;
		} else if (node->nr_fallback) {
			node->nearest_mem = node->fallback[0];
		} else {
			/* Nothing reachable has RAM: take the lowest node with RAM. */
			node->nearest_mem = 0;
			while (!t->node[node->nearest_mem].ram_pages)
				node->nearest_mem++;
			numem__log(t->plat, NUMEM_LOG_WARN,
			           "node %u reaches no node with memory; using node %u", n,
			           node->nearest_mem);
		}
	}
	return NUMEM_OK;
}
