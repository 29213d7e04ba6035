/*
 * test_topo.c - the topology builder: node ids, CPUs, ranges, distances,
 * memoryless nodes, fallback orders, validation and the one-node fallback,
 * hiding memoryless nodes and NUMA emulation.
 */
#include "helpers.h"

DEFINE_TEST_HOST;

struct fw {
	struct numem_srat srat;
	struct numem_slit slit;
	bool has_slit;
};

/* Parse an SRAT built from entries (through the writer, as firmware). */
static void build_fw(struct fw *fw, struct numem_srat_cpu *cpus, uint32_t nc,
                     struct numem_srat_mem *mems, uint32_t nm, const uint8_t *slit, uint32_t nl)
{
	struct numem_srat in = {.nr_cpu = nc, .cpu = cpus, .nr_mem = nm, .mem = mems};
	size_t len;
	uint8_t *t = make_srat(&in, &len);
	assert_int_equal(numem_srat_parse(t, len, NUMEM_ACPI_STRICT, test_plat, &fw->srat, NULL),
	                 NUMEM_OK);
	free(t);
	fw->has_slit = slit != NULL;
	if (slit) {
		uint8_t *s = make_slit(nl, slit, &len);
		assert_int_equal(numem_slit_parse(s, len, 0, test_plat, &fw->slit, NULL), NUMEM_OK);
		free(s);
	}
}

static struct numem_topo *topo_of(struct fw *fw, unsigned flags, uint32_t emulate)
{
	struct numem_topo_input in = {.srat = &fw->srat, .slit = fw->has_slit ? &fw->slit : NULL};
	struct numem_topo_opts o = {.flags = flags, .emulate_nodes = emulate};
	struct numem_topo *t = NULL;
	struct numem_diag d = {0};
	enum numem_err e = numem_topo_build(test_plat, &in, &o, &t, &d);
	if (e)
		fail_msg("numem_topo_build: %s: %s", numem_err_name(e), d.msg);
	return t;
}

static void test_node_ids_first_appearance(void **state)
{
	(void)state;
	struct fw fw;
	/* pxm 7 appears first among CPUs, then 3; pxm 9 is memory only. */
	struct numem_srat_cpu cpus[] = {cpu_apic(7, 0, true), cpu_apic(3, 1, true),
	                                cpu_apic(7, 2, true), cpu_apic(5, 3, false)};
	struct numem_srat_mem mems[] = {mem_range(9, 8 * GIB, GIB, 1), mem_range(3, 0, 4 * GIB, 1),
	                                mem_range(7, 4 * GIB, 4 * GIB, 1)};
	build_fw(&fw, cpus, 4, mems, 3, NULL, 0);
	struct numem_topo *t = topo_of(&fw, 0, 0);
	assert_int_equal(t->nr_nodes, 3);
	assert_int_equal(t->node[0].pxm, 7);
	assert_int_equal(t->node[1].pxm, 3);
	assert_int_equal(t->node[2].pxm, 9); /* disabled pxm 5 never becomes a node */
	assert_int_equal(t->nr_cpus, 3);
	assert_int_equal(numem_topo_cpu_to_node(t, 0), 0);
	assert_int_equal(numem_topo_cpu_to_node(t, 1), 1);
	assert_int_equal(numem_topo_cpu_to_node(t, 2), 0);
	assert_true(numem_topo_node_has_cpu(t, 0, 2));
	assert_false(numem_topo_node_has_cpu(t, 1, 2));
	assert_int_equal(t->node[2].nr_cpus, 0);
	assert_int_equal(t->node[1].ram_pages, (4 * GIB) >> 12);
	assert_int_equal(t->total_ram_pages, (9 * GIB) >> 12);
	assert_int_equal(numem_topo_pfn_to_node(t, numem_pfn((8 * GIB) >> 12)), 2);
	assert_int_equal(numem_topo_pfn_to_node(t, numem_pfn((9 * GIB) >> 12)), NUMEM_NID_NONE);
	assert_int_equal(t->distance[0][1], 20);
	assert_false(t->distance_from_slit);
	numem_topo_release(t);
}

static void test_memoryless_nearest_and_fallback(void **state)
{
	(void)state;
	struct fw fw;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(1, 1, true),
	                                cpu_apic(2, 2, true), cpu_apic(3, 3, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, 4 * GIB, 1),
	                                mem_range(2, 4 * GIB, 4 * GIB, 1)};
	const uint8_t slit[16] = {10, 16, 20, 20, 16, 10, 20, 20, 20, 20, 10, 16, 20, 20, 16, 10};
	build_fw(&fw, cpus, 4, mems, 2, slit, 4);
	struct numem_topo *t = topo_of(&fw, 0, 0);
	assert_int_equal(t->nr_nodes, 4);
	assert_true(t->distance_from_slit);
	assert_int_equal(t->node[1].ram_pages, 0);
	assert_int_equal(t->node[1].nearest_mem, 0);
	assert_int_equal(t->node[3].nearest_mem, 2);
	assert_int_equal(t->node[2].nearest_mem, 2);
	/* Fallback lists hold only nodes with memory, nearest first. */
	assert_int_equal(t->node[3].nr_fallback, 2);
	assert_int_equal(t->node[3].fallback[0], 2);
	assert_int_equal(t->node[3].fallback[1], 0);
	assert_int_equal(t->node[0].fallback[0], 0);
	assert_int_equal(t->node[0].fallback[1], 2);
	numem_topo_release(t);

	/* Hidden the x86 way: CPUs of 1 join 0, CPUs of 3 join 2 (now node 1). */
	t = topo_of(&fw, NUMEM_TOPO_HIDE_MEMORYLESS, 0);
	assert_int_equal(t->nr_nodes, 2);
	assert_int_equal(t->node[1].pxm, 2);
	assert_int_equal(numem_topo_cpu_to_node(t, 1), 0);
	assert_int_equal(numem_topo_cpu_to_node(t, 3), 1);
	assert_int_equal(t->node[0].nr_cpus, 2);
	assert_int_equal(t->distance[0][1], 20);
	numem_topo_release(t);
}

static void test_fallback_ties_and_unreachable(void **state)
{
	(void)state;
	struct fw fw;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, GIB, 1), mem_range(1, GIB, GIB, 1),
	                                mem_range(2, 2 * GIB, GIB, 1),
	                                mem_range(3, 3 * GIB, GIB, 1)};
	/* 0 sees 3 and 1 at 20 (tie, lower id first), 2 unreachable. */
	const uint8_t slit[16] = {10, 20, 255, 20, 20, 10, 20, 20, 255, 20, 10, 20, 20, 20, 20, 10};
	build_fw(&fw, cpus, 1, mems, 4, slit, 4);
	struct numem_topo *t = topo_of(&fw, 0, 0);
	assert_int_equal(t->node[0].nr_fallback, 3);
	assert_int_equal(t->node[0].fallback[0], 0);
	assert_int_equal(t->node[0].fallback[1], 1);
	assert_int_equal(t->node[0].fallback[2], 3);
	assert_int_equal(t->distance[0][2], 255);
	numem_topo_release(t);
}

static void test_invalid_slit_defaults(void **state)
{
	(void)state;
	struct fw fw;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(1, 1, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, GIB, 1), mem_range(1, GIB, GIB, 1)};
	const uint8_t bad[4] = {10, 10, 10, 10}; /* remote <= 10: invalid */
	build_fw(&fw, cpus, 2, mems, 2, bad, 2);
	struct numem_topo *t = topo_of(&fw, 0, 0);
	assert_false(t->distance_from_slit);
	assert_int_equal(t->distance[0][1], 20);
	numem_topo_release(t);
}

static void test_overlap_falls_back_or_fails(void **state)
{
	(void)state;
	struct fw fw;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(1, 1, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, 4 * GIB, 1),
	                                mem_range(1, 3 * GIB, 4 * GIB, 1)};
	build_fw(&fw, cpus, 2, mems, 2, NULL, 0);
	struct numem_topo *t = topo_of(&fw, 0, 0);
	assert_int_equal(t->nr_nodes, 1);
	assert_int_equal(t->fallback_reason, NUMEM_E_OVERLAP);
	assert_int_equal(t->single_node, NUMEM_SINGLE_INVALID);
	assert_non_null(strstr(t->fallback_msg, "overlaps"));
	assert_int_equal(t->nr_cpus, 2);
	assert_int_equal(t->total_ram_pages, (7 * GIB) >> 12);
	assert_int_equal(t->nr_ranges, 1);
	numem_topo_release(t);

	struct numem_topo_input in = {.srat = &fw.srat};
	struct numem_topo_opts o = {.flags = NUMEM_TOPO_STRICT};
	struct numem_diag d = {0};
	uint64_t before = numem_host_meta_bytes(test_host);
	assert_int_equal(numem_topo_build(test_plat, &in, &o, &t, &d), NUMEM_E_OVERLAP);
	assert_int_equal(d.code, NUMEM_E_OVERLAP);
	assert_int_equal(numem_host_meta_bytes(test_host), before);
}

/* Issue 9 item 1: overlap follows Linux.  Ranges without RAM (hot-plug, NV)
 * that overlap across nodes are kept and flagged; a hot-pluggable range of
 * another node laid over RAM still invalidates the SRAT (it holds RAM). */
static void test_overlap_non_ram_kept(void **state)
{
	(void)state;
	struct fw fw;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(1, 1, true)};
	/* RAM 0-2G on 0 and 2-4G on 1; a hot-plug window [8G, 16G) on 1 and a
	 * non-volatile range [10G, 11G) on 0 inside it. */
	struct numem_srat_mem mems[] = {
	    mem_range(0, 0, 2 * GIB, 1), mem_range(1, 2 * GIB, 2 * GIB, 1),
	    mem_range(0, 10 * GIB, GIB, 5), mem_range(1, 8 * GIB, 8 * GIB, 3)};
	build_fw(&fw, cpus, 2, mems, 4, NULL, 0);
	struct numem_topo *t = topo_of(&fw, NUMEM_TOPO_STRICT, 0);
	assert_int_equal(t->nr_nodes, 2);
	assert_int_equal(t->single_node, NUMEM_SINGLE_NONE);
	assert_int_equal(t->nr_overlap_ranges, 3); /* window cut in two around the NV range */
	assert_int_equal(numem_topo_pfn_to_node(t, numem_pfn((10 * GIB) >> 12)), 0);
	assert_int_equal(numem_topo_pfn_to_node(t, numem_pfn((9 * GIB) >> 12)), 1);
	assert_int_equal(numem_topo_pfn_to_node(t, numem_pfn((12 * GIB) >> 12)), 1);
	int64_t i = numem_topo_find_range(t, numem_paddr(11 * GIB));
	assert_int_equal(t->range[i].flags, NUMEM_RANGE_HOTPLUG | NUMEM_RANGE_OVERLAP);
	assert_int_equal(t->range[i].base, 11 * GIB);
	assert_int_equal(t->total_ram_pages, (4 * GIB) >> 12);
	for (uint32_t k = 1; k < t->nr_ranges; k++)
		assert_true(t->range[k - 1].end <= t->range[k].base);
	numem_topo_release(t);

	/* The same overlap with an e820 list that puts RAM in the window: both
	 * ranges now hold RAM, so the SRAT is invalid (strict: an error). */
	struct numem_ram_range ram[] = {{0, 4 * GIB}, {10 * GIB, GIB / 2}};
	struct numem_topo_input in = {.srat = &fw.srat, .ram = ram, .nr_ram = 2};
	struct numem_topo_opts o = {.flags = NUMEM_TOPO_STRICT};
	struct numem_diag d = {0};
	assert_int_equal(numem_topo_build(test_plat, &in, &o, &t, &d), NUMEM_E_OVERLAP);
	/* e820 RAM only below 4G: the window holds none, kept again. */
	in.nr_ram = 1;
	assert_int_equal(numem_topo_build(test_plat, &in, &o, &t, &d), NUMEM_OK);
	assert_int_equal(t->nr_nodes, 2);
	assert_true(t->nr_overlap_ranges > 0);
	numem_topo_release(t);
	numem_srat_release(test_plat, &fw.srat);

	/* A hot-pluggable range of node 1 over node 0's RAM holds RAM: invalid. */
	struct numem_srat_mem over[] = {mem_range(0, 0, 4 * GIB, 1), mem_range(1, 4 * GIB, GIB, 1),
	                                mem_range(1, 2 * GIB, GIB, 3)};
	build_fw(&fw, cpus, 2, over, 3, NULL, 0);
	t = topo_of(&fw, 0, 0);
	assert_int_equal(t->nr_nodes, 1);
	assert_int_equal(t->fallback_reason, NUMEM_E_OVERLAP);
	assert_int_equal(t->single_node, NUMEM_SINGLE_INVALID);
	numem_topo_release(t);
	numem_srat_release(test_plat, &fw.srat);
}

/* Issue 9 item 6: a MADT gives the CPUs (MADT order, SRAT only for nodes,
 * unnamed ones on node 0); without a PPTT the topology is unknown. */
static void test_madt_cpus(void **state)
{
	(void)state;
	struct fw fw;
	struct numem_srat_cpu cpus[] = {cpu_apic(1, 2, true), cpu_apic(0, 0, true),
	                                cpu_apic(0, 9, true)}; /* 9: not in the MADT */
	struct numem_srat_mem mems[] = {mem_range(0, 0, GIB, 1), mem_range(1, GIB, GIB, 1)};
	build_fw(&fw, cpus, 3, mems, 2, NULL, 0);
	struct numem_madt_cpu mc[] = {
	    {.type = NUMEM_MADT_LOCAL_APIC, .enabled = true, .id = 0, .uid = 0},
	    {.type = NUMEM_MADT_LOCAL_APIC, .enabled = true, .id = 2, .uid = 1},
	    {.type = NUMEM_MADT_LOCAL_APIC, .enabled = true, .id = 4, .uid = 2}, /* no SRAT entry */
	    {.type = NUMEM_MADT_LOCAL_APIC, .enabled = false, .online_capable = true, .id = 6},
	    {.type = NUMEM_MADT_LOCAL_APIC, .enabled = true, .id = 0xff}, /* broadcast */
	};
	struct numem_madt madt = {.nr_cpu = 5, .cpu = mc};
	struct numem_topo_input in = {.srat = &fw.srat, .madt = &madt};
	struct numem_topo *t;
	assert_int_equal(numem_topo_build(test_plat, &in, NULL, &t, NULL), NUMEM_OK);
	assert_int_equal(t->nr_cpus, 3);
	assert_int_equal(t->cpu[0].hw_id, 0);
	assert_int_equal(t->cpu[0].node, 1); /* pxm 0 is node 1: pxm 1 came first */
	assert_int_equal(t->cpu[1].hw_id, 2);
	assert_int_equal(t->cpu[1].node, 0);
	assert_int_equal(t->cpu[1].uid, 1);
	assert_int_equal(t->cpu[2].hw_id, 4);
	assert_int_equal(t->cpu[2].node, 0);
	assert_int_equal(t->nr_madt_cpus, 1);
	assert_int_equal(t->nr_online_capable, 1);
	assert_int_equal(t->cpu_topo_source, NUMEM_CPU_TOPO_NONE);
	assert_int_equal(t->cpu[0].socket, NUMEM_CPU_UNKNOWN);
	assert_int_equal(t->cpu[0].core, NUMEM_CPU_UNKNOWN);
	numem_topo_release(t);
	/* numa-off: the MADT's CPUs on the one node. */
	struct numem_topo_opts off = {.flags = NUMEM_TOPO_NUMA_OFF};
	assert_int_equal(numem_topo_build(test_plat, &in, &off, &t, NULL), NUMEM_OK);
	assert_int_equal(t->nr_cpus, 3);
	assert_int_equal(t->nr_online_capable, 1);
	assert_int_equal(t->single_node, NUMEM_SINGLE_NUMA_OFF);
	numem_topo_release(t);
	numem_srat_release(test_plat, &fw.srat);
}

static void test_too_many_domains(void **state)
{
	(void)state;
	enum { N = NUMEM_MAX_NODES + 1 };
	struct numem_srat_cpu cpus[N];
	struct numem_srat_mem mems[N];
	for (uint32_t i = 0; i < N; i++) {
		cpus[i] = cpu_apic(i, i, true);
		mems[i] = mem_range(i, i * GIB, GIB, 1);
	}
	struct fw fw;
	build_fw(&fw, cpus, N, mems, N, NULL, 0);
	struct numem_topo *t = topo_of(&fw, 0, 0);
	assert_int_equal(t->nr_nodes, 1);
	assert_int_equal(t->fallback_reason, NUMEM_E_TOO_MANY_NODES);
	assert_int_equal(t->nr_cpus, N);
	numem_topo_release(t);
}

static void test_e820_coverage(void **state)
{
	(void)state;
	struct fw fw;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(1, 1, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, 4 * GIB, 1),
	                                mem_range(1, 4 * GIB, 4 * GIB, 1),
	                                mem_range(1, 1ull << 40, 16 * GIB, 3)};
	build_fw(&fw, cpus, 2, mems, 3, NULL, 0);
	/* RAM with a PCI hole; part of the hot-plug range is populated. */
	struct numem_ram_range ram[] = {{0, 0x9fc00},
	                                {MIB, 3 * GIB + GIB / 2 - MIB},
	                                {4 * GIB, 4 * GIB},
	                                {1ull << 40, 2 * GIB}};
	struct numem_topo_input in = {.srat = &fw.srat, .ram = ram, .nr_ram = 4};
	struct numem_topo *t;
	struct numem_diag d = {0};
	assert_int_equal(numem_topo_build(test_plat, &in, NULL, &t, &d), NUMEM_OK);
	assert_int_equal(t->nr_nodes, 2);
	assert_int_equal(t->node[0].ram_pages, (0x9fc00 >> 12) + ((3 * GIB + GIB / 2 - MIB) >> 12));
	assert_int_equal(t->node[1].ram_pages, (6 * GIB) >> 12);
	/* The unpopulated hot-plug space is kept as a non-RAM range. */
	int64_t i = numem_topo_find_range(t, numem_paddr((1ull << 40) + 4 * GIB));
	assert_true(i >= 0);
	assert_false(t->range[i].flags & NUMEM_RANGE_RAM);
	assert_true(t->range[i].flags & NUMEM_RANGE_HOTPLUG);
	assert_int_equal(t->span_end_pfn, ((1ull << 40) + 16 * GIB) >> 12);
	assert_int_equal(t->max_pfn, ((1ull << 40) + 2 * GIB) >> 12);
	numem_topo_release(t);

	/* RAM outside every SRAT range: invalid. */
	struct numem_ram_range bad[] = {{0, 9 * GIB}};
	in.ram = bad;
	in.nr_ram = 1;
	assert_int_equal(numem_topo_build(test_plat, &in, NULL, &t, &d), NUMEM_OK);
	assert_int_equal(t->fallback_reason, NUMEM_E_UNCOVERED);
	assert_int_equal(t->total_ram_pages, (9 * GIB) >> 12);
	numem_topo_release(t);
	struct numem_topo_opts strict = {.flags = NUMEM_TOPO_STRICT};
	assert_int_equal(numem_topo_build(test_plat, &in, &strict, &t, &d), NUMEM_E_UNCOVERED);
	/* Overlapping e820 entries are the embedder's bug. */
	struct numem_ram_range ov[] = {{0, 2 * GIB}, {GIB, 2 * GIB}};
	in.ram = ov;
	in.nr_ram = 2;
	assert_int_equal(numem_topo_build(test_plat, &in, NULL, &t, &d), NUMEM_E_INVAL);
}

static void test_no_srat_single_node(void **state)
{
	(void)state;
	struct numem_ram_range ram[] = {{0, 0x9f000}, {MIB, 2 * GIB - MIB}};
	uint32_t ids[] = {0, 6};
	struct numem_topo_input in = {.ram = ram, .nr_ram = 2, .nr_cpus = 2, .cpu_ids = ids};
	struct numem_topo *t;
	assert_int_equal(numem_topo_build(test_plat, &in, NULL, &t, NULL), NUMEM_OK);
	assert_int_equal(t->nr_nodes, 1);
	assert_false(t->have_srat);
	assert_int_equal(t->fallback_reason, NUMEM_E_NO_MEMORY);
	assert_int_equal(t->single_node, NUMEM_SINGLE_NO_SRAT);
	assert_non_null(strstr(t->fallback_msg, "no SRAT"));
	assert_int_equal(t->nr_cpus, 2);
	assert_int_equal(t->cpu[1].hw_id, 6);
	assert_int_equal(t->node[0].nearest_mem, 0);
	assert_int_equal(t->node[0].nr_fallback, 1);
	numem_topo_release(t);
	/* No SRAT and no RAM: a hard error. */
	struct numem_topo_input empty = {.nr_cpus = 1};
	struct numem_diag d = {0};
	assert_int_equal(numem_topo_build(test_plat, &empty, NULL, &t, &d), NUMEM_E_NO_MEMORY);
}

static void test_numa_emulation(void **state)
{
	(void)state;
	struct fw fw;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(0, 1, true),
	                                cpu_apic(1, 2, true), cpu_apic(1, 3, true),
	                                cpu_apic(2, 4, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, 8 * GIB, 1),
	                                mem_range(1, 8 * GIB, 8 * GIB, 1)};
	const uint8_t slit[9] = {10, 21, 31, 21, 10, 31, 31, 31, 10};
	build_fw(&fw, cpus, 5, mems, 2, slit, 3);
	struct numem_topo *t = topo_of(&fw, 0, 4);
	/* 2 fake nodes per physical node, the memoryless node 2 passes through. */
	assert_int_equal(t->nr_nodes, 5);
	assert_int_equal(t->emulated_from, 3);
	for (int n = 0; n < 4; n++)
		assert_int_equal(t->node[n].ram_pages, (4 * GIB) >> 12);
	assert_int_equal(t->node[4].ram_pages, 0);
	assert_int_equal(t->node[1].phys_node, 0);
	assert_int_equal(t->node[2].phys_node, 1);
	assert_int_equal(t->distance[0][1], 11);
	assert_int_equal(t->distance[0][2], 21);
	assert_int_equal(t->distance[4][3], 31);
	/* CPUs dealt round-robin over a parent's fake nodes. */
	assert_int_equal(numem_topo_cpu_to_node(t, 0), 0);
	assert_int_equal(numem_topo_cpu_to_node(t, 1), 1);
	assert_int_equal(numem_topo_cpu_to_node(t, 3), 3);
	assert_int_equal(numem_topo_cpu_to_node(t, 4), 4);
	assert_int_equal(t->node[4].nearest_mem, 0);
	assert_int_equal(t->node[1].fallback[1], 0);
	numem_topo_release(t);

	/* Uneven: 3 fake nodes over 2 equal nodes, total preserved. */
	t = topo_of(&fw, 0, 3);
	uint64_t sum = 0;
	for (uint32_t n = 0; n < t->nr_nodes; n++)
		sum += t->node[n].ram_pages;
	assert_int_equal(sum, (16 * GIB) >> 12);
	assert_int_equal(t->nr_nodes, 4);
	numem_topo_release(t);

	/* Fewer fake nodes than nodes with memory: refused. */
	struct numem_topo_input in = {.srat = &fw.srat};
	struct numem_topo_opts o = {.emulate_nodes = 1};
	struct numem_diag d = {0};
	assert_int_equal(numem_topo_build(test_plat, &in, &o, &t, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "emulation"));
}

static void test_numa_off(void **state)
{
	(void)state;
	struct fw fw;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(1, 1, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, GIB, 1), mem_range(1, GIB, GIB, 1),
	                                mem_range(1, 2 * GIB, GIB, 3)};
	build_fw(&fw, cpus, 2, mems, 3, NULL, 0);
	struct numem_topo *t = topo_of(&fw, NUMEM_TOPO_NUMA_OFF, 0);
	assert_int_equal(t->nr_nodes, 1);
	assert_int_equal(t->single_node, NUMEM_SINGLE_NUMA_OFF);
	assert_int_equal(t->nr_cpus, 2);
	assert_int_equal(t->total_ram_pages, (2 * GIB) >> 12); /* hot-plug is not RAM */
	numem_topo_release(t);
}

static void test_unaligned_ranges(void **state)
{
	(void)state;
	struct fw fw;
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true)};
	/* 0x9fc00 bytes: 159 whole pages; a range within one page: none. */
	struct numem_srat_mem mems[] = {mem_range(0, 0, 0x9fc00, 1), mem_range(0, MIB + 10, 100, 1),
	                                mem_range(0, 2 * MIB, 2 * MIB, 1)};
	build_fw(&fw, cpus, 1, mems, 3, NULL, 0);
	struct numem_topo *t = topo_of(&fw, 0, 0);
	assert_int_equal(t->node[0].ram_pages, 159 + 512);
	assert_int_equal(t->node[0].start_pfn, 0);
	assert_int_equal(t->node[0].end_pfn, 1024);
	numem_topo_release(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    HOST_TEST(test_node_ids_first_appearance),
	    HOST_TEST(test_memoryless_nearest_and_fallback),
	    HOST_TEST(test_fallback_ties_and_unreachable),
	    HOST_TEST(test_invalid_slit_defaults),
	    HOST_TEST(test_overlap_falls_back_or_fails),
	    HOST_TEST(test_overlap_non_ram_kept),
	    HOST_TEST(test_madt_cpus),
	    HOST_TEST(test_too_many_domains),
	    HOST_TEST(test_e820_coverage),
	    HOST_TEST(test_no_srat_single_node),
	    HOST_TEST(test_numa_emulation),
	    HOST_TEST(test_numa_off),
	    HOST_TEST(test_unaligned_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
