/*
 * placement.c - automatic node affinity and vcpu placement (the rule is in
 * numem/domain.h: xl's candidate sets of nearest nodes).  Called with the
 * manager's lock held (it reads and the caller updates the vcpu counters).
 */
#include "domain_internal.h"

/* Choose node affinity for a domain of `pages`. */
void numem__dom_place(struct numem_domains *d, uint64_t pages, numem_nodemask_t *out)
{
	const struct numem_topo *t = numem_heap_topo(d->heap);
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
uint32_t numem__dom_pick_cpu(struct numem_domains *d, const numem_nodemask_t *set)
{
	const struct numem_topo *t = numem_heap_topo(d->heap);
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
