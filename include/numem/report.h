/*
 * numem/report.h - text views in the layouts people already read
 * (hosted).  free_pages, when given, holds free pages per node; without it
 * the free column shows the node's size.
 */
#ifndef NUMEM_REPORT_H
#define NUMEM_REPORT_H

#include <numem/acpi.h>
#include <numem/topo.h>
#include <stdio.h>

/* `numactl --hardware`. */
void numem_report_numactl(FILE *out, const struct numem_topo *t, const uint64_t *free_pages);
/* Per-node memory ranges, memoryless nodes, fallback order. */
void numem_report_layout(FILE *out, const struct numem_topo *t);
/* `xl info -n`: physinfo, cpu_topology, device topology, numa_info. */
void numem_report_xl_info(FILE *out, const struct numem_topo *t, const uint64_t *free_pages,
                          const struct numem_srat *srat);
/* HMAT latency/bandwidth matrices. */
void numem_report_hmat(FILE *out, const struct numem_hmat *h);

#endif
