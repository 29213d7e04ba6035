/*
 * report_heap.c - the heap in the layouts people read: numastat
 * (compatibility mode, numastat.c), /proc/buddyinfo (mm/vmstat.c), and a
 * debug dump in the spirit of Xen's dump_heap.
 */
#include <numem/relayout.h>
#include <numem/report.h>
#include <numem/slab.h>

void numem_report_numastat(FILE *out, const struct numem_heap *h)
{
	const struct numem_topo *t = h->topo;
	char name[16];
	fprintf(out, "%16s", "");
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		snprintf(name, sizeof(name), "node%u", n);
		fprintf(out, "%16s", name);
	}
	fprintf(out, "\n");
	uint64_t st[NUMEM_MAX_NODES][NUMEM_NR_STATS];
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		numem_heap_node_stats(h, n, st[n]);
	for (unsigned s = 0; s < NUMEM_NR_NUMASTAT; s++) {
		fprintf(out, "%-16s", numem_stat_name((enum numem_stat)s));
		for (numem_nid_t n = 0; n < t->nr_nodes; n++)
			fprintf(out, "%16llu", (unsigned long long)st[n][s]);
		fprintf(out, "\n");
	}
}

void numem_report_buddyinfo(FILE *out, const struct numem_heap *h)
{
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		const struct numem_zone *z = &h->zone[zi];
		if (!z->populated)
			continue;
		fprintf(out, "Node %u, zone %8s ", z->node,
		        numem_zone_name((enum numem_zone_type)z->type));
		for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++)
			fprintf(out, "%6llu ", (unsigned long long)z->area[o].nr);
		fprintf(out, "\n");
	}
}

void numem_report_free_pages(const struct numem_heap *h, uint64_t *out)
{
	for (numem_nid_t n = 0; n < h->topo->nr_nodes; n++)
		out[n] = numem_heap_node_free(h, n);
}

void numem_report_heap_dump(FILE *out, const struct numem_heap *h)
{
	const struct numem_topo *t = h->topo;
	fprintf(out,
	        "heap: strategy %s, zonelists in %s order, %u cpus, max order %u, pcp "
	        "batch %u high %u\n",
	        h->strategy == NUMEM_STRATEGY_XEN ? "xen" : "linux",
	        h->zone_order ? "zone" : "node", h->nr_cpus, NUMEM_MAX_ORDER, h->pcp_batch,
	        h->pcp_high);
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		uint64_t present = 0, reserved = 0, deferred = 0;
		for (unsigned ty = 0; ty < NUMEM_NR_ZONE_TYPES; ty++) {
			const struct numem_zone *z =
			    numem_heap_zone(h, n, (enum numem_zone_type)ty);
			present += z->present_pages;
			reserved += z->reserved_pages;
			deferred += atomic_load_explicit(&z->deferred_pages, memory_order_relaxed);
		}
		fprintf(out,
		        "node %u: present %llu pages, free %llu, allocated %llu, reserved %llu, "
		        "deferred %llu\n",
		        n, (unsigned long long)present,
		        (unsigned long long)numem_heap_node_free(h, n),
		        (unsigned long long)numem_heap_node_allocated(h, n),
		        (unsigned long long)reserved, (unsigned long long)deferred);
		if (numem_relayout_generation(h)) /* relayout.h: pages coming to this node */
			fprintf(out, "  relayout generation %llu: %s, pending %llu pages\n",
			        (unsigned long long)numem_relayout_generation(h),
			        numem_relayout_node_online(h, n) ? "online" : "offline",
			        (unsigned long long)numem_relayout_pending(h, n));
		for (unsigned ty = 0; ty < NUMEM_NR_ZONE_TYPES; ty++) {
			const struct numem_zone *z =
			    numem_heap_zone(h, n, (enum numem_zone_type)ty);
			if (!z->populated)
				continue;
			uint64_t cached = 0, thp = 0;
			for (uint32_t c = 0; c < h->nr_cpus; c++) {
				const struct numem_pcp *pcp =
				    &h->cpu[c].pcp[n * NUMEM_NR_ZONE_TYPES + ty];
				cached += numem_pcp_cached_pages(pcp);
				thp += __atomic_load_n(&pcp->count[NUMEM_PCP_THP_LIST],
				                       __ATOMIC_RELAXED);
			}
			fprintf(
			    out,
			    "  zone %-7s pfn [0x%llx-0x%llx) present %llu free %llu cached %llu "
			    "(order-%u blocks %llu) marks %llu/%llu/%llu splits %llu\n",
			    numem_zone_name((enum numem_zone_type)ty),
			    (unsigned long long)z->start_pfn, (unsigned long long)z->end_pfn,
			    (unsigned long long)z->present_pages,
			    (unsigned long long)__atomic_load_n(&z->free_pages, __ATOMIC_RELAXED),
			    (unsigned long long)cached, NUMEM_PCP_THP_ORDER,
			    (unsigned long long)thp, (unsigned long long)z->wmark_min,
			    (unsigned long long)z->wmark_low, (unsigned long long)z->wmark_high,
			    (unsigned long long)z->splits);
			fprintf(out, "    free blocks by order:");
			for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++)
				fprintf(out, " %llu", (unsigned long long)z->area[o].nr);
			fprintf(out, "\n    unusable index (per mille) by order:");
			for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++)
				fprintf(out, " %u", numem_zone_unusable_index(z, o));
			fprintf(out, "\n");
		}
		uint64_t st[NUMEM_NR_STATS];
		numem_heap_node_stats(h, n, st);
		fprintf(out, "  counters:");
		for (unsigned s = 0; s < NUMEM_NR_STATS; s++)
			fprintf(out, " %s %llu", numem_stat_name((enum numem_stat)s),
			        (unsigned long long)st[s]);
		fprintf(out, "\n");
	}
	uint64_t steps = 0;
	for (uint32_t c = 0; c < h->nr_cpus; c++)
		steps += h->cpu[c].fallback_steps;
	fprintf(out, "fallback: %llu zones tried past the first, over all allocations\n",
	        (unsigned long long)steps);
	for (struct numem_shrinker *s = h->shrinkers; s; s = s->next)
		fprintf(out, "shrinker %p: %llu calls, %llu pages freed\n", (void *)s,
		        (unsigned long long)s->calls, (unsigned long long)s->freed);
}

void numem_report_slabinfo_header(FILE *out)
{
	fprintf(out, "slabinfo - version: 2.1\n");
	fprintf(out, "# name            <active_objs> <num_objs> <objsize> <objperslab> "
	             "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata "
	             "<active_slabs> <num_slabs> <sharedavail>\n");
}

void numem_report_slabinfo_line(FILE *out, const char *name, const struct numem_slab_info *i)
{
	fprintf(out,
	        "%-17s %6llu %6llu %6u %4u %4u : tunables %4u %4u %4u : slabdata %6llu %6llu "
	        "%6u\n",
	        name, (unsigned long long)i->active_objs, (unsigned long long)i->num_objs,
	        i->objsize, i->objperslab, i->pagesperslab, NUMEM_SLAB_MAG, NUMEM_SLAB_MAG / 2, 0,
	        (unsigned long long)i->active_slabs, (unsigned long long)i->num_slabs, 0);
}
