/*
 * numem/report.h - text views in the layouts people already read
 * (hosted).  free_pages, when given, holds free pages per node; without it
 * the free column shows the node's size.
 */
#ifndef NUMEM_REPORT_H
#define NUMEM_REPORT_H

#include <numem/acpi.h>
#include <numem/heap.h>
#include <numem/topo.h>
#include <stdio.h>

/* `numactl --hardware`. */
/* The CPU topology as xl's physinfo counts it, from CPU 0: its socket's
 * cores, its core's threads; and the number of sockets.  known is false
 * (and the counts 0) when CPU 0's socket or core is unknown. */
struct numem_cpu_summary {
	bool known;
	uint32_t sockets, cores_per_socket, threads_per_core;
};
void numem_report_cpu_summary(const struct numem_topo *t, struct numem_cpu_summary *out);
const char *numem_report_cpu_source(const struct numem_topo *t); /* "pptt", ..., "unknown" */

void numem_report_numactl(FILE *out, const struct numem_topo *t, const uint64_t *free_pages);
/* Per-node memory ranges, memoryless nodes, fallback order. */
void numem_report_layout(FILE *out, const struct numem_topo *t);
/* `xl info -n`: physinfo, cpu_topology, device topology, numa_info. */
void numem_report_xl_info(FILE *out, const struct numem_topo *t, const uint64_t *free_pages,
                          const struct numem_srat *srat);
/* `numastat` (compatibility mode: pages, one column per node). */
void numem_report_numastat(FILE *out, const struct numem_heap *heap);
/* `/proc/buddyinfo`: free blocks per order, one line per node and zone. */
void numem_report_buddyinfo(FILE *out, const struct numem_heap *heap);
/* The heap debug dump (Xen's dump_heap / 'u' key idea). */
void numem_report_heap_dump(FILE *out, const struct numem_heap *heap);
/* Per node: free pages (buddy + caches + deferred) into out[node]. */
void numem_report_free_pages(const struct numem_heap *heap, uint64_t *out);

/* `/proc/slabinfo` (version 2.1 layout): the header lines, then one line
 * per cache. */
struct numem_slab_info;
void numem_report_slabinfo_header(FILE *out);
void numem_report_slabinfo_line(FILE *out, const char *name, const struct numem_slab_info *info);

/* HMAT latency/bandwidth matrices. */
void numem_report_hmat(FILE *out, const struct numem_hmat *h);

#endif
