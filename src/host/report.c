/*
 * report.c - topology as text: numactl --hardware, xl info -n, and numem's
 * own layout view.  The layouts follow numactl 2.0.16 and xl_info.c
 * (shared/FORMATS-REFERENCE.md); sizes are MiB labelled "MB" as they do.
 */
#include <numem/host.h>
#include <numem/report.h>

#include <stdlib.h>
#include <string.h>

static uint64_t node_free(const struct numem_topo *t, const uint64_t *free_pages, numem_nid_t n)
{
	return free_pages ? free_pages[n] : t->node[n].ram_pages;
}

static uint64_t mib(uint64_t pages)
{
	return pages >> (20 - NUMEM_PAGE_SHIFT);
}

void numem_report_cpu_summary(const struct numem_topo *t, struct numem_cpu_summary *out)
{
	memset(out, 0, sizeof(*out));
	if (!t->nr_cpus || t->cpu[0].socket == NUMEM_CPU_UNKNOWN ||
	    t->cpu[0].core == NUMEM_CPU_UNKNOWN)
		return;
	out->known = true;
	const struct numem_cpu_desc *c0 = &t->cpu[0];
	for (uint32_t c = 0; c < t->nr_cpus; c++) {
		const struct numem_cpu_desc *a = &t->cpu[c];
		bool first_socket = a->socket != NUMEM_CPU_UNKNOWN, first_core = true;
		for (uint32_t d = 0; d < c; d++) {
			if (t->cpu[d].socket == a->socket)
				first_socket = false;
			if (t->cpu[d].socket == a->socket && t->cpu[d].core == a->core)
				first_core = false;
		}
		out->sockets += first_socket;
		if (a->socket == c0->socket && first_core)
			out->cores_per_socket++;
		if (a->socket == c0->socket && a->core == c0->core)
			out->threads_per_core++;
	}
}

const char *numem_report_cpu_source(const struct numem_topo *t)
{
	switch (t->cpu_topo_source) {
	case NUMEM_CPU_TOPO_PPTT:
		return "pptt";
	case NUMEM_CPU_TOPO_HOST:
		return "sysfs";
	case NUMEM_CPU_TOPO_SPEC:
		return "description";
	default:
		return "unknown";
	}
}

static void put_id(char *buf, size_t cap, uint32_t v)
{
	if (v == NUMEM_CPU_UNKNOWN)
		snprintf(buf, cap, "unknown");
	else
		snprintf(buf, cap, "%u", v);
}

void numem_report_numactl(FILE *out, const struct numem_topo *t, const uint64_t *free_pages)
{
	uint32_t ids[NUMEM_MAX_NODES];
	for (uint32_t n = 0; n < t->nr_nodes; n++)
		ids[n] = n;
	char list[512];
	numem_format_ranges(list, sizeof(list), ids, t->nr_nodes);
	fprintf(out, "available: %u nodes (%s)\n", t->nr_nodes, list);
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		fprintf(out, "node %u cpus:", n);
		for (uint32_t c = 0; c < t->nr_cpus; c++)
			if (t->cpu[c].node == n)
				fprintf(out, " %u", c);
		fprintf(out, "\nnode %u size: %llu MB\n", n,
		        (unsigned long long)mib(t->node[n].ram_pages));
		fprintf(out, "node %u free: %llu MB\n", n,
		        (unsigned long long)mib(node_free(t, free_pages, n)));
	}
	fprintf(out, "node distances:\nnode ");
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		fprintf(out, "%3u ", n);
	fprintf(out, "\n");
	for (numem_nid_t a = 0; a < t->nr_nodes; a++) {
		fprintf(out, "%3u: ", a);
		for (numem_nid_t b = 0; b < t->nr_nodes; b++)
			fprintf(out, "%3u ", t->distance[a][b]);
		fprintf(out, "\n");
	}
}

static void human(char *buf, size_t cap, uint64_t bytes)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	int u = 0;
	while (u < 5 && bytes >= 1024 && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	if (bytes >= 10240 && u < 5) {
		snprintf(buf, cap, "%.1f %s", (double)bytes / 1024, unit[u + 1]);
		return;
	}
	snprintf(buf, cap, "%llu %s", (unsigned long long)bytes, unit[u]);
}

void numem_report_layout(FILE *out, const struct numem_topo *t)
{
	fprintf(out, "\nmemory ranges:\n");
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		fprintf(out, "node %u (pxm %u):", n, t->node[n].pxm);
		bool any = false;
		for (uint32_t i = 0; i < t->nr_ranges; i++) {
			const struct numem_mem_range *r = &t->range[i];
			if (r->node != n)
				continue;
			char sz[32];
			human(sz, sizeof(sz), r->end - r->base);
			fprintf(out, "\n  [0x%012llx-0x%012llx) %10s%s%s%s",
			        (unsigned long long)r->base, (unsigned long long)r->end, sz,
			        r->flags & NUMEM_RANGE_RAM ? "" : " (not RAM)",
			        r->flags & NUMEM_RANGE_HOTPLUG       ? " hotpluggable"
			        : r->flags & NUMEM_RANGE_NONVOLATILE ? " non-volatile"
			                                             : "",
			        r->flags & NUMEM_RANGE_OVERLAP ? " overlaps another node's range"
			                                       : "");
			any = true;
		}
		fprintf(out, "%s\n", any ? "" : " none");
	}
	bool memless = false;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		if (!t->node[n].ram_pages) {
			if (!memless)
				fprintf(out, "\nmemoryless nodes:\n");
			memless = true;
			fprintf(out,
			        "node %u: %u cpus, nearest node with memory: %u (distance %u)%s\n",
			        n, t->node[n].nr_cpus, t->node[n].nearest_mem,
			        t->distance[n][t->node[n].nearest_mem],
			        t->node[n].generic_initiator ? ", generic initiator" : "");
		}
	fprintf(out, "\nfallback order:\n");
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		fprintf(out, "node %u:", n);
		for (uint32_t i = 0; i < t->node[n].nr_fallback; i++)
			fprintf(out, " %u", t->node[n].fallback[i]);
		fprintf(out, "\n");
	}
	if (t->emulated_from)
		fprintf(out, "\nNUMA emulation: %u nodes cut from %u physical nodes\n", t->nr_nodes,
		        t->emulated_from);
	struct numem_cpu_summary cs;
	numem_report_cpu_summary(t, &cs);
	if (cs.known)
		fprintf(
		    out,
		    "\ncpu topology (%s): %u socket(s), %u core(s) per socket, %u thread(s) per "
		    "core\n",
		    numem_report_cpu_source(t), cs.sockets, cs.cores_per_socket,
		    cs.threads_per_core);
	else
		fprintf(out,
		        "\ncpu topology: unknown (no PPTT, host topology or description says)\n");
	if (t->nr_madt_cpus || t->nr_online_capable)
		fprintf(out, "MADT: %u CPU(s) no SRAT entry names (on node 0), %u online-capable\n",
		        t->nr_madt_cpus, t->nr_online_capable);
	if (t->nr_overlap_ranges)
		fprintf(out,
		        "note: %u non-RAM range(s) overlap ranges of other nodes; kept, as Linux "
		        "keeps them (only overlapping RAM invalidates an SRAT)\n",
		        t->nr_overlap_ranges);
	if (t->fallback_reason)
		fprintf(out, "\nnote: %s\n", t->fallback_msg);
	else if (!t->distance_from_slit && t->nr_nodes > 1)
		fprintf(out, "\nnote: no valid SLIT, distances are the defaults 10/20\n");
}

void numem_report_xl_info(FILE *out, const struct numem_topo *t, const uint64_t *free_pages,
                          const struct numem_srat *srat)
{
	uint64_t free_total = 0;
	struct numem_cpu_summary cs;
	numem_report_cpu_summary(t, &cs);
	char cps[16], tpc[16], core[16], socket[16];
	put_id(cps, sizeof(cps), cs.known ? cs.cores_per_socket : NUMEM_CPU_UNKNOWN);
	put_id(tpc, sizeof(tpc), cs.known ? cs.threads_per_core : NUMEM_CPU_UNKNOWN);
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		free_total += node_free(t, free_pages, n);
#define KV(k, fmt, ...) fprintf(out, "%-23s: " fmt "\n", k, __VA_ARGS__)
	KV("nr_cpus", "%u", t->nr_cpus);
	KV("max_cpu_id", "%u", t->nr_cpus ? t->nr_cpus - 1 : 0);
	KV("nr_nodes", "%u", t->nr_nodes);
	KV("cores_per_socket", "%s", cps);
	KV("threads_per_core", "%s", tpc);
	KV("cpu_mhz", "%s", "0.000");
	KV("hw_caps", "%s",
	   "00000000:00000000:00000000:00000000:00000000:00000000:00000000:00000000");
	KV("virt_caps", "%s", "");
	KV("total_memory", "%llu", (unsigned long long)mib(t->total_ram_pages));
	KV("free_memory", "%llu", (unsigned long long)mib(free_total));
	KV("sharing_freed_memory", "%u", 0);
	KV("sharing_used_memory", "%u", 0);
	KV("outstanding_claims", "%u", 0);
	KV("free_cpus", "%u", 0);
#undef KV
	fprintf(out, "cpu_topology           :\n");
	fprintf(out, "cpu:    core    socket     node\n");
	for (uint32_t c = 0; c < t->nr_cpus; c++) {
		put_id(core, sizeof(core), t->cpu[c].core);
		put_id(socket, sizeof(socket), t->cpu[c].socket);
		fprintf(out, "%3u:    %4s     %4s     %4u\n", c, core, socket, t->cpu[c].node);
	}
	fprintf(out, "device topology        :\n");
	fprintf(out, "device           node\n");
	bool devices = false;
	for (uint32_t i = 0; srat && i < srat->nr_other; i++) {
		const struct numem_srat_other *o = &srat->other[i];
		if (o->type != NUMEM_SRAT_GENERIC_INITIATOR || !o->enabled ||
		    o->device_handle_type != 1)
			continue;
		for (numem_nid_t n = 0; n < t->nr_nodes; n++)
			if (t->node[n].pxm == o->pxm && !t->emulated_from) {
				const uint8_t *h = o->device_handle;
				fprintf(out, "%04x:%02x:%02x.%u      %4u\n", h[0] | h[1] << 8, h[2],
				        h[3] >> 3, h[3] & 7, n);
				devices = true;
			}
	}
	if (!devices)
		fprintf(out, "No device topology data available\n");
	fprintf(out, "numa_info              :\n");
	fprintf(out, "node:    memsize    memfree    distances\n");
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		fprintf(out, "%4u:    %6llu     %6llu      %u", n,
		        (unsigned long long)mib(t->node[n].ram_pages),
		        (unsigned long long)mib(node_free(t, free_pages, n)), t->distance[n][0]);
		for (numem_nid_t m = 1; m < t->nr_nodes; m++)
			fprintf(out, ",%u", t->distance[n][m]);
		fprintf(out, "\n");
	}
}

void numem_report_hmat(FILE *out, const struct numem_hmat *h)
{
	static const char *const kinds[] = {"access latency", "read latency",
	                                    "write latency",  "access bandwidth",
	                                    "read bandwidth", "write bandwidth"};
	fprintf(out, "\nHMAT:\n");
	for (uint32_t i = 0; i < h->nr_mpda; i++)
		if (h->mpda[i].flags & 1)
			fprintf(out, "memory domain %u is attached to initiator domain %u\n",
			        h->mpda[i].memory_pxm, h->mpda[i].initiator_pxm);
	for (uint32_t i = 0; i < h->nr_lbi; i++) {
		const struct numem_hmat_lbi *l = &h->lbi[i];
		bool lat = l->data_type <= NUMEM_HMAT_WRITE_LATENCY;
		fprintf(out, "%s (%s), initiator domain x target domain:\n     ",
		        l->data_type < 6 ? kinds[l->data_type] : "unknown", lat ? "ns" : "MB/s");
		for (uint32_t b = 0; b < l->nr_targets; b++)
			fprintf(out, " %8u", l->target_pxm[b]);
		fprintf(out, "\n");
		for (uint32_t a = 0; a < l->nr_initiators; a++) {
			fprintf(out, "%4u:", l->initiator_pxm[a]);
			for (uint32_t b = 0; b < l->nr_targets; b++) {
				uint64_t v = l->entry[(size_t)a * l->nr_targets + b] * l->base_unit;
				if (lat)
					fprintf(out, " %8.1f", (double)v / 1000.0);
				else
					fprintf(out, " %8llu", (unsigned long long)v);
			}
			fprintf(out, "\n");
		}
	}
}
