/*
 * topo_internal.h - shared by the topology builder's files (core-internal).
 */
#ifndef NUMEM_CORE_TOPO_INTERNAL_H
#define NUMEM_CORE_TOPO_INTERNAL_H

#include <numem/topo.h>

#include "../lib/internal.h"

/* Append a range (capacity checked by the caller's sizing). */
static inline struct numem_mem_range *numem__topo_add_range(struct numem_topo *t, uint64_t base,
                                                            uint64_t end, numem_nid_t node,
                                                            uint8_t flags)
{
	struct numem_mem_range *r = &t->range[t->nr_ranges++];
	r->base = base;
	r->end = end;
	r->node = node;
	r->flags = flags;
	return r;
}

/* Sort ranges by base address. */
void numem__topo_sort_ranges(struct numem_topo *t);

/* Distances: from the SLIT when valid, else 10/20. */
void numem__topo_distances(struct numem_topo *t, const struct numem_slit *slit);

/* Per-node counts, pfn spans, nearest_mem, fallback lists, cpumasks.
 * Returns NUMEM_E_NOMEM if the cpumask cannot be allocated. */
enum numem_err numem__topo_finalize(struct numem_topo *t, struct numem_diag *diag);

/* Move CPUs (and non-RAM ranges) of memoryless nodes to their nearest
 * node with memory and drop those nodes (renumbering the rest). */
void numem__topo_hide_memoryless(struct numem_topo *t);

/* Split RAM into n fake nodes.  Needs n + nr_ranges free range slots. */
enum numem_err numem__topo_emulate(struct numem_topo *t, uint32_t n, struct numem_diag *diag);

/* ACPI processor UIDs from the MADT, and sockets, clusters, cores and
 * threads from the PPTT (cpu.c).  Leaves unknown what the tables do not say. */
void numem__topo_cpu_topology(struct numem_topo *t, const struct numem_madt *madt,
                              const struct numem_pptt *pptt);

/* RAM pages fully inside [base, end). */
static inline uint64_t numem__range_pages(uint64_t base, uint64_t end)
{
	uint64_t first = (base + NUMEM_PAGE_SIZE - 1) >> NUMEM_PAGE_SHIFT;
	uint64_t last = end >> NUMEM_PAGE_SHIFT;
	return last > first ? last - first : 0;
}

#endif
