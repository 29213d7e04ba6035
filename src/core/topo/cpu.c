/*
 * cpu.c - CPU topology from the firmware: ACPI processor UIDs from the MADT,
 * packages, clusters, cores and threads from the PPTT.
 *
 * A logical CPU is matched to the MADT by its hardware id (APIC and x2APIC
 * ids share one space; a GICC CPU's id is its UID already), and to the PPTT
 * by UID: its node is the one whose ACPI processor id is the UID and that is
 * a leaf (the Leaf flag, or, in tables older than ACPI 6.3 without it, no
 * other node names it as parent), as Linux's PPTT code finds it.  Then:
 *   - a leaf flagged as a thread is a thread; its parent is the core;
 *     otherwise the leaf is the core and the CPU its only thread;
 *   - the package is the first node up from the core flagged Physical
 *     Package (the root when none is);
 *   - the cluster is the core's parent when that is not the package.
 * Sockets are numbered densely in order of their first CPU; clusters, cores
 * within their socket and threads within their core the same way.  CPUs the
 * tables do not place keep NUMEM_CPU_UNKNOWN: numem does not guess.
 */
#include "topo_internal.h"

static uint32_t cpu_uid(const struct numem_cpu_desc *c, const struct numem_madt *madt)
{
	if (c->type == NUMEM_SRAT_GICC || c->type == NUMEM_SRAT_RINTC)
		return c->hw_id;
	for (uint32_t i = 0; madt && i < madt->nr_cpu; i++) {
		const struct numem_madt_cpu *m = &madt->cpu[i];
		if (m->type != NUMEM_MADT_GICC && m->id == c->hw_id)
			return m->uid;
	}
	return NUMEM_CPU_UNKNOWN;
}

static int32_t pptt_leaf(const struct numem_pptt *p, uint32_t uid)
{
	for (uint32_t i = 0; i < p->nr_node; i++) {
		const struct numem_pptt_node *n = &p->node[i];
		if (n->acpi_id == uid && ((n->flags & NUMEM_PPTT_LEAF) || !n->is_parent))
			return (int32_t)i;
	}
	return -1;
}

void numem__topo_cpu_topology(struct numem_topo *t, const struct numem_madt *madt,
                              const struct numem_pptt *pptt)
{
	for (uint32_t c = 0; c < t->nr_cpus; c++)
		t->cpu[c].uid = cpu_uid(&t->cpu[c], madt);
	if (!pptt || !pptt->nr_node)
		return; /* without a MADT only GICC/RINTC CPUs (UID = hw id) match */
	/* map[node]: the dense index given to a PPTT node; next[node]: the next
	 * thread index of a core node; per-socket counters of cores and
	 * clusters. */
	uint32_t nn = pptt->nr_node, nc = t->nr_cpus;
	size_t bytes = (2 * (size_t)nn + 2 * (size_t)nc) * sizeof(uint32_t);
	uint32_t *map = numem__meta_alloc(t->plat, bytes, NUMEM_NID_NONE);
	if (!map) {
		numem__log(t->plat, NUMEM_LOG_WARN,
		           "PPTT: no metadata memory to number %u nodes; CPU topology unknown", nn);
		return;
	}
	uint32_t *next = map + nn, *cores = next + nn, *clusters = cores + nc;
	for (uint32_t i = 0; i < nn; i++)
		map[i] = NUMEM_CPU_UNKNOWN, next[i] = 0;
	for (uint32_t i = 0; i < nc; i++)
		cores[i] = clusters[i] = 0;
	uint32_t sockets = 0;
	for (uint32_t c = 0; c < nc; c++) {
		struct numem_cpu_desc *cpu = &t->cpu[c];
		if (cpu->uid == NUMEM_CPU_UNKNOWN)
			continue;
		int32_t leaf = pptt_leaf(pptt, cpu->uid);
		if (leaf < 0)
			continue;
		int32_t core = leaf;
		bool thread = pptt->node[leaf].flags & NUMEM_PPTT_THREAD;
		if (thread && pptt->node[leaf].parent >= 0)
			core = pptt->node[leaf].parent;
		int32_t pkg = core;
		while (!(pptt->node[pkg].flags & NUMEM_PPTT_PHYSICAL_PACKAGE) &&
		       pptt->node[pkg].parent >= 0)
			pkg = pptt->node[pkg].parent;
		int32_t cluster = pptt->node[core].parent;
		if (map[pkg] == NUMEM_CPU_UNKNOWN)
			map[pkg] = sockets++;
		cpu->socket = map[pkg];
		if (core != pkg && map[core] == NUMEM_CPU_UNKNOWN)
			map[core] = cores[cpu->socket]++;
		cpu->core = core != pkg ? map[core] : 0;
		if (cluster >= 0 && cluster != pkg && core != pkg) {
			if (map[cluster] == NUMEM_CPU_UNKNOWN)
				map[cluster] = clusters[cpu->socket]++;
			cpu->cluster = map[cluster];
		}
		cpu->thread = thread ? next[core]++ : 0;
		t->cpu_topo_source = NUMEM_CPU_TOPO_PPTT;
	}
	numem__meta_free(t->plat, map, bytes);
}
