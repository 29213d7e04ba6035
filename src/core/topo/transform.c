/*
 * transform.c - reshaping a built topology: hiding memoryless nodes, and
 * NUMA emulation.
 *
 * Hiding memoryless nodes is what x86 Linux does for CPUs whose node has no
 * memory: the CPUs (and any hot-plug or NV ranges of the node) join the
 * nearest node with RAM, and the node disappears; the remaining nodes keep
 * their order and are renumbered densely.
 *
 * NUMA emulation cuts RAM into N fake nodes.  Each physical node with RAM
 * gets a share of the N in proportion to its RAM (at least one; greedily
 * giving the next fake node to the physical node whose fake nodes would
 * otherwise be largest), and its RAM, in address order, is cut into that
 * many pieces of equal size (rounded to 4 MiB, the last taking the rest).
 * A physical node's CPUs are dealt round-robin over its fake nodes.
 * Distances: fake nodes keep their parents' distance; siblings cut from one
 * node are 11 apart, so they rank before any remote node and a SLIT written
 * for the emulated machine is still valid.  Memoryless nodes pass through.
 */
#include "topo_internal.h"

#define EMU_SIBLING_DISTANCE 11
#define EMU_ALIGN_PAGES      1024 /* 4 MiB */

static void node_ram(const struct numem_topo *t, uint64_t *pages)
{
	for (uint32_t n = 0; n < t->nr_nodes; n++)
		pages[n] = 0;
	for (uint32_t i = 0; i < t->nr_ranges; i++)
		if (t->range[i].flags & NUMEM_RANGE_RAM)
			pages[t->range[i].node] +=
			    numem__range_pages(t->range[i].base, t->range[i].end);
}

void numem__topo_hide_memoryless(struct numem_topo *t)
{
	uint64_t ram[NUMEM_MAX_NODES];
	numem_nid_t map[NUMEM_MAX_NODES], nearest[NUMEM_MAX_NODES];
	node_ram(t, ram);
	uint32_t kept = 0;
	for (uint32_t n = 0; n < t->nr_nodes; n++)
		map[n] = ram[n] ? (numem_nid_t)kept++ : NUMEM_NID_NONE;
	if (kept == 0 || kept == t->nr_nodes)
		return;
	for (uint32_t n = 0; n < t->nr_nodes; n++) {
		nearest[n] = (numem_nid_t)n;
		if (ram[n])
			continue;
		unsigned best = 0x100;
		for (uint32_t m = 0; m < t->nr_nodes; m++)
			if (ram[m] && t->distance[n][m] < best) {
				best = t->distance[n][m];
				nearest[n] = (numem_nid_t)m;
			}
	}
	for (uint32_t c = 0; c < t->nr_cpus; c++)
		t->cpu[c].node = map[nearest[t->cpu[c].node]];
	for (uint32_t i = 0; i < t->nr_ranges; i++)
		t->range[i].node = map[nearest[t->range[i].node]];
	for (uint32_t n = 0; n < t->nr_nodes; n++) {
		if (map[n] == NUMEM_NID_NONE)
			continue;
		t->node[map[n]] = t->node[n];
		for (uint32_t m = 0; m < t->nr_nodes; m++)
			if (map[m] != NUMEM_NID_NONE)
				t->distance[map[n]][map[m]] = t->distance[n][m];
	}
	for (uint32_t n = 0; n < t->nr_nodes; n++)
		numem__log(t->plat, NUMEM_LOG_INFO,
		           map[n] == NUMEM_NID_NONE ? "hiding memoryless domain %u: its CPUs join "
		                                      "node %u"
		                                    : "domain %u is node %u",
		           t->node[n].pxm, map[nearest[n]]);
	t->nr_nodes = kept;
}

enum numem_err numem__topo_emulate(struct numem_topo *t, uint32_t n, struct numem_diag *diag)
{
	uint64_t ram[NUMEM_MAX_NODES];
	uint32_t count[NUMEM_MAX_NODES], first[NUMEM_MAX_NODES];
	node_ram(t, ram);
	uint32_t with_ram = 0, memless = 0;
	for (uint32_t p = 0; p < t->nr_nodes; p++) {
		count[p] = ram[p] ? 1 : 0;
		with_ram += ram[p] ? 1 : 0;
		memless += ram[p] ? 0 : 1;
	}
	if (n < with_ram || n + memless > NUMEM_MAX_NODES)
		return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
		                   "NUMA emulation: %u fake nodes for %u nodes with memory (and %u "
		                   "without): need at least %u and at most %u in all",
		                   n, with_ram, memless, with_ram, (unsigned)NUMEM_MAX_NODES);
	for (uint32_t extra = n - with_ram; extra; extra--) {
		uint32_t best = 0;
		uint64_t best_size = 0;
		for (uint32_t p = 0; p < t->nr_nodes; p++)
			if (ram[p] && ram[p] / (count[p] + 1) > best_size) {
				best_size = ram[p] / (count[p] + 1);
				best = p;
			}
		if (!best_size)
			return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
			                   "NUMA emulation: %u fake nodes is more than there are "
			                   "pages of RAM",
			                   n);
		count[best]++;
	}

	/* New node table, parents in order.  The old tables go to scratch
	 * metadata, not the stack (16 KiB would overflow a hypervisor's). */
	struct scratch {
		struct numem_node node[NUMEM_MAX_NODES];
		uint8_t dist[NUMEM_MAX_NODES][NUMEM_MAX_NODES];
		uint64_t used[NUMEM_MAX_NODES]; /* pages given to the current fake node */
	} *old = numem__meta_alloc(t->plat, sizeof(struct scratch), NUMEM_NID_NONE);
	if (!old)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "NUMA emulation: no metadata memory for %zu bytes of scratch",
		                   sizeof(struct scratch));
	uint32_t nr_old = t->nr_nodes, nr_new = 0;
	numem_nid_t parent[NUMEM_MAX_NODES];
	memcpy(old->node, t->node, sizeof(old->node));
	memcpy(old->dist, t->distance, sizeof(old->dist));
	for (uint32_t p = 0; p < nr_old; p++) {
		first[p] = nr_new;
		uint32_t k = count[p] ? count[p] : 1;
		for (uint32_t i = 0; i < k; i++, nr_new++) {
			t->node[nr_new] = old->node[p];
			t->node[nr_new].phys_node = (numem_nid_t)p;
			parent[nr_new] = (numem_nid_t)p;
		}
	}
	for (uint32_t i = 0; i < nr_new; i++)
		for (uint32_t j = 0; j < nr_new; j++)
			t->distance[i][j] = i == j ? NUMEM_LOCAL_DISTANCE
			                    : parent[i] == parent[j]
			                        ? EMU_SIBLING_DISTANCE
			                        : old->dist[parent[i]][parent[j]];

	/* CPUs, round-robin over each parent's fake nodes. */
	uint32_t dealt[NUMEM_MAX_NODES] = {0};
	for (uint32_t c = 0; c < t->nr_cpus; c++) {
		numem_nid_t p = t->cpu[c].node;
		uint32_t k = count[p] ? count[p] : 1;
		t->cpu[c].node = (numem_nid_t)(first[p] + dealt[p]++ % k);
	}

	/* Ranges: originals move to the top of the array, cuts go below. */
	uint32_t nr = t->nr_ranges;
	struct numem_mem_range *src = t->range + t->range_cap - nr;
	memmove(src, t->range, nr * sizeof(*src));
	t->nr_ranges = 0;
	uint32_t cur[NUMEM_MAX_NODES] = {0};
	uint64_t *used = old->used;
	memset(used, 0, sizeof(old->used));
	for (uint32_t i = 0; i < nr; i++) {
		struct numem_mem_range r = src[i];
		numem_nid_t p = r.node;
		if (!(r.flags & NUMEM_RANGE_RAM) || !count[p]) {
			numem__topo_add_range(t, r.base, r.end, (numem_nid_t)first[p], r.flags);
			continue;
		}
		uint64_t quota = ram[p] / count[p];
		if (quota >= EMU_ALIGN_PAGES)
			quota -= quota % EMU_ALIGN_PAGES;
		uint64_t base = r.base;
		uint64_t pfn = (r.base + NUMEM_PAGE_SIZE - 1) >> NUMEM_PAGE_SHIFT;
		uint64_t last = r.end >> NUMEM_PAGE_SHIFT;
		while (base < r.end) {
			bool is_last_fake = cur[p] + 1 == count[p];
			uint64_t room = is_last_fake ? UINT64_MAX : quota - used[p];
			uint64_t avail = last > pfn ? last - pfn : 0;
			uint64_t take = NUMEM_MIN(room, avail);
			uint64_t end = take == avail ? r.end : (pfn + take) << NUMEM_PAGE_SHIFT;
			numem__topo_add_range(t, base, end, (numem_nid_t)(first[p] + cur[p]),
			                      r.flags);
			used[p] += take;
			pfn += take;
			base = end;
			if (!is_last_fake && used[p] == quota) {
				cur[p]++;
				used[p] = 0;
			}
		}
	}
	t->emulated_from = nr_old;
	t->nr_nodes = nr_new;
	numem__meta_free(t->plat, old, sizeof(struct scratch));
	return NUMEM_OK;
}
