/*
 * presets.c - built-in machines.
 *
 * The first six are the machines the 2006 Xen NUMA work was tested on
 * (dual Opteron, IBM x445 and x460, and two non-NUMA boxes without an SRAT);
 * the last two stand for current servers: a 2-socket, 8-node x2APIC machine
 * (4 nodes per socket, as an EPYC in NPS4 mode) and a machine with a
 * CPU-less CXL memory expander plus a memoryless accelerator node (an SRAT
 * generic initiator) and an HMAT.  Sizes are what the machines had; the
 * layout (PC holes, APIC ids) is what their firmware would publish.
 */
#include <numem/host.h>

#include <string.h>

#define GIB (1ull << 30)

static const struct numem_preset_info presets[] = {
    {"opteron-2n", "2-node dual Opteron: 2 CPUs, 4 GB, SRAT without SLIT"},
    {"x445", "IBM x445: 4 nodes, 32 CPUs, 32 GB (the default machine)"},
    {"x460-1n", "IBM x460, one chassis: 1 node, 8 CPUs, 16 GB"},
    {"x460-2n", "IBM x460, two chassis: 2 nodes, 32 CPUs, 32 GB"},
    {"xeon-2p", "dual Xeon, not NUMA: 2 CPUs, 2 GB, no SRAT"},
    {"p4", "Pentium 4, not NUMA: 1 CPU, 1 GB, no SRAT"},
    {"epyc-2s8n", "2 sockets x 4 nodes, x2APIC: 256 CPUs, 512 GB, SLIT 10/12/32"},
    {"cxl", "2 sockets + CPU-less CXL memory node + memoryless accelerator, HMAT"},
};

const struct numem_preset_info *numem_presets(size_t *count)
{
	*count = sizeof(presets) / sizeof(presets[0]);
	return presets;
}

static void uniform(struct numem_spec *s, uint32_t nodes, uint32_t cpus_per_node,
                    uint64_t mem_per_node)
{
	s->nr_nodes = nodes;
	for (uint32_t n = 0; n < nodes; n++) {
		s->node[n].pxm = n;
		s->node[n].nr_cpus = cpus_per_node;
		s->node[n].mem_bytes = mem_per_node;
		for (uint32_t m = 0; m < nodes; m++)
			s->distance[n][m] = n == m ? 10 : 20;
	}
}

int numem_spec_preset(struct numem_spec *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->pc_holes = true;
	size_t count;
	const struct numem_preset_info *p = numem_presets(&count);
	size_t i = 0;
	while (i < count && strcmp(p[i].name, name) != 0)
		i++;
	if (i == count)
		return -1;
	snprintf(s->name, sizeof(s->name), "%s", p[i].name);
	snprintf(s->description, sizeof(s->description), "%s", p[i].description);

	if (!strcmp(name, "opteron-2n")) {
		uniform(s, 2, 1, 2 * GIB);
	} else if (!strcmp(name, "x445")) {
		uniform(s, 4, 8, 8 * GIB);
	} else if (!strcmp(name, "x460-1n")) {
		uniform(s, 1, 8, 16 * GIB);
	} else if (!strcmp(name, "x460-2n")) {
		uniform(s, 2, 16, 16 * GIB);
	} else if (!strcmp(name, "xeon-2p")) {
		uniform(s, 1, 2, 2 * GIB);
		s->no_srat = true;
	} else if (!strcmp(name, "p4")) {
		uniform(s, 1, 1, 1 * GIB);
		s->no_srat = true;
	} else if (!strcmp(name, "epyc-2s8n")) {
		uniform(s, 8, 32, 64 * GIB);
		s->cpu_kind = NUMEM_CPU_X2APIC;
		s->cpus_per_socket = 128;
		s->has_slit = true;
		for (uint32_t a = 0; a < 8; a++)
			for (uint32_t b = 0; b < 8; b++)
				s->distance[a][b] = a == b ? 10 : a / 4 == b / 4 ? 12 : 32;
	} else { /* cxl */
		uniform(s, 4, 16, 64 * GIB);
		s->cpus_per_socket = 16;
		s->node[2].nr_cpus = 0;
		s->node[2].mem_bytes = 128 * GIB; /* CXL expander behind socket 0 */
		s->node[3].nr_cpus = 0;
		s->node[3].mem_bytes = 0; /* accelerator behind socket 1 */
		s->node[3].generic_initiator = true;
		s->node[1].hotplug_bytes = 256 * GIB;
		static const uint8_t d[4][4] = {
		    {10, 21, 24, 31}, {21, 10, 34, 15}, {24, 34, 10, 40}, {31, 15, 40, 10}};
		for (int a = 0; a < 4; a++)
			for (int b = 0; b < 4; b++)
				s->distance[a][b] = d[a][b];
		s->has_slit = true;
		s->hmat = true;
	}
	return 0;
}
