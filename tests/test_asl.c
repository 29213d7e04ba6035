/*
 * test_asl.c - tables written in ASL (tests/asl/NAME.asl), compiled with iasl
 * at build time, parsed by numem: the cases real firmware in the corpus does
 * not cover (proximity-domain gaps, disabled entries, hot-plug and NV
 * ranges, x2APIC ids above 255, GICC, generic initiators, memoryless nodes,
 * unreachable localities, an HMAT), and malformed variants of them: bad
 * checksum, truncated table, subtable length 0, subtable past the end, and a
 * length field larger than the file.  iasl refuses to emit those last ones,
 * so the test damages a compiled table byte by byte.
 */
#include "helpers.h"

#include <numem/report.h>

DEFINE_TEST_HOST;

static struct numem_machine m;

static void load(const char *srat, const char *slit, const char *hmat, unsigned flags)
{
	load_asl_machine(&m, srat, slit, hmat, flags, flags ? NUMEM_TOPO_STRICT : 0);
}

static void unload(void)
{
	numem_machine_unload(&m);
}

/* A compiled ASL table by name, or a path as given when it starts with '/'. */
static void table_path(char *out, size_t cap, const char *name)
{
	if (name[0] == '/')
		snprintf(out, cap, "%s", name);
	else
		snprintf(out, cap, "%s/%s.aml", ASL_DIR, name);
}

/* Load an SRAT (+ SLIT) with a MADT and a PPTT (either may be NULL), strict. */
static void load_cpu(const char *srat, const char *slit, const char *madt, const char *pptt)
{
	char a[512], b[512], c[512], d[512], err[256] = "";
	table_path(a, sizeof(a), srat);
	if (slit)
		table_path(b, sizeof(b), slit);
	if (madt)
		table_path(c, sizeof(c), madt);
	if (pptt)
		table_path(d, sizeof(d), pptt);
	struct numem_machine_src src;
	if (numem_machine_src_files(&src, a, slit ? b : NULL, NULL, err, sizeof(err)) ||
	    numem_machine_src_cpu_tables(&src, madt ? c : NULL, pptt ? d : NULL, err, sizeof(err)))
		fail_msg("%s", err);
	struct numem_machine_opts o = {.acpi_flags = NUMEM_ACPI_STRICT,
	                               .topo.flags = NUMEM_TOPO_STRICT};
	struct numem_diag dg = {0};
	if (numem_machine_load(&m, &src, &o, &dg) != NUMEM_OK)
		fail_msg("%s: %s", srat, dg.msg);
	numem_host_set_log(m.host, NULL, NUMEM_LOG_ERROR);
}

/* Issue 9 item 1: QEMU's SRAT for -machine nvdimm=on with an NVDIMM on node 0
 * and a pc-dimm on node 1 inside the hot-plug window (which QEMU gives to
 * the last node).  The NV range overlaps the window: neither holds RAM, so
 * as in Linux the SRAT stays valid (strict mode here) and both are kept,
 * flagged. */
static void test_qemu_nvdimm_overlap(void **state)
{
	(void)state;
	load("srat-qemu-nvdimm", NULL, NULL, NUMEM_ACPI_STRICT);
	const struct numem_topo *t = m.topo;
	assert_int_equal(t->nr_nodes, 2);
	assert_int_equal(t->fallback_reason, NUMEM_OK);
	assert_int_equal(t->single_node, NUMEM_SINGLE_NONE);
	assert_int_equal(t->node[0].ram_pages, (GIB - 0x60000) >> 12);
	assert_int_equal(t->node[1].ram_pages, GIB >> 12);
	assert_int_equal(t->nr_overlap_ranges, 2);
	int64_t i = numem_topo_find_range(t, numem_paddr(4 * GIB));
	assert_true(i >= 0);
	assert_int_equal(t->range[i].node, 0);
	assert_int_equal(t->range[i].flags, NUMEM_RANGE_NONVOLATILE | NUMEM_RANGE_OVERLAP);
	assert_int_equal(t->range[i].end, 4 * GIB + GIB / 2);
	i = numem_topo_find_range(t, numem_paddr(5 * GIB)); /* the pc-dimm's place */
	assert_true(i >= 0);
	assert_int_equal(t->range[i].node, 1);
	assert_int_equal(t->range[i].flags, NUMEM_RANGE_HOTPLUG | NUMEM_RANGE_OVERLAP);
	assert_int_equal(t->range[i].base, 4 * GIB + GIB / 2);
	assert_int_equal(t->range[i].end, 13 * GIB);
	/* Ranges stay sorted and disjoint. */
	for (uint32_t k = 1; k < t->nr_ranges; k++)
		assert_true(t->range[k - 1].end <= t->range[k].base);
	unload();
}

/* 2 sockets x 10 cores x 2 threads: MADT x2APIC entries, PPTT with threads. */
static void test_cpu_2s_ht(void **state)
{
	(void)state;
	load_cpu("srat-2s-ht", NULL, "madt-2s-ht", "pptt-2s-ht");
	const struct numem_topo *t = m.topo;
	assert_int_equal(m.madt.nr_cpu, 42);
	assert_int_equal(m.madt.nr_other, 1);
	assert_int_equal(m.pptt.nr_node, 2 + 20 + 40);
	assert_int_equal(m.pptt.nr_cache, 2);
	assert_int_equal(t->cpu_topo_source, NUMEM_CPU_TOPO_PPTT);
	assert_int_equal(t->nr_cpus, 40); /* MADT order: first threads, then second */
	assert_int_equal(t->nr_online_capable, 2);
	assert_int_equal(t->nr_madt_cpus, 0);
	assert_int_equal(t->cpu[0].hw_id, 0);
	assert_int_equal(t->cpu[10].hw_id, 0x20); /* socket 1, core 0, thread 0 */
	assert_int_equal(t->cpu[10].node, 1);
	assert_int_equal(t->cpu[10].socket, 1);
	assert_int_equal(t->cpu[10].core, 0);
	assert_int_equal(t->cpu[20].hw_id, 1); /* socket 0, core 0, thread 1 */
	assert_int_equal(t->cpu[20].uid, 20);
	assert_int_equal(t->cpu[20].socket, 0);
	assert_int_equal(t->cpu[20].core, 0);
	assert_int_equal(t->cpu[20].thread, 1);
	assert_int_equal(t->cpu[0].thread, 0);
	assert_int_equal(t->cpu[39].socket, 1);
	assert_int_equal(t->cpu[39].core, 9);
	struct numem_cpu_summary cs;
	numem_report_cpu_summary(t, &cs);
	assert_true(cs.known);
	assert_int_equal(cs.sockets, 2);
	assert_int_equal(cs.cores_per_socket, 10);
	assert_int_equal(cs.threads_per_core, 2);
	unload();
	/* Without the PPTT nothing says: unknown, not a guess. */
	load_cpu("srat-2s-ht", NULL, "madt-2s-ht", NULL);
	assert_int_equal(m.topo->cpu_topo_source, NUMEM_CPU_TOPO_NONE);
	assert_int_equal(m.topo->cpu[0].socket, NUMEM_CPU_UNKNOWN);
	assert_int_equal(m.topo->cpu[0].uid, 0);
	numem_report_cpu_summary(m.topo, &cs);
	assert_false(cs.known);
	unload();
}

/* An SRAT without processor entries: the MADT gives the CPUs, on node 0. */
static void test_cpu_from_madt(void **state)
{
	(void)state;
	load_cpu("srat-2s-nocpu", NULL, "madt-2s-ht", "pptt-2s-ht");
	const struct numem_topo *t = m.topo;
	assert_int_equal(t->nr_nodes, 2);
	assert_int_equal(t->nr_cpus, 40);
	assert_int_equal(t->nr_madt_cpus, 40);
	assert_int_equal(t->node[0].nr_cpus, 40);
	assert_int_equal(t->node[1].nr_cpus, 0);
	assert_int_equal(t->cpu[10].socket, 1);
	unload();
	/* Without the MADT such an SRAT has no CPUs but the boot CPU. */
	load("srat-2s-nocpu", NULL, NULL, NUMEM_ACPI_STRICT);
	assert_true(m.topo->nr_cpus <= 1);
	unload();
}

/* The corpus Supermicro H8QG6: 4 packages of 2 dies (nodes) of 6 cores.
 * Its SRAT names 8 APIC ids per die; the MADT's 48 processors are the CPUs. */
static void test_cpu_h8qg6(void **state)
{
	(void)state;
	load_cpu(CORPUS_DIR "/supermicro-h8qg6-a/SRAT.bin",
	         CORPUS_DIR "/supermicro-h8qg6-a/SLIT.bin", "madt-h8qg6", "pptt-h8qg6");
	const struct numem_topo *t = m.topo;
	assert_int_equal(m.srat.nr_cpu, 64);
	assert_int_equal(t->nr_nodes, 8);
	assert_int_equal(t->nr_cpus, 48);
	assert_int_equal(t->cpu[6].hw_id, 40);
	assert_int_equal(t->cpu[6].node, 1);
	assert_int_equal(t->cpu[6].socket, 0);
	assert_int_equal(t->cpu[6].cluster, 1);
	assert_int_equal(t->cpu[6].core, 6);
	assert_int_equal(t->cpu[47].socket, 3);
	assert_int_equal(t->cpu[47].node, 7);
	struct numem_cpu_summary cs;
	numem_report_cpu_summary(t, &cs);
	assert_int_equal(cs.sockets, 4);
	assert_int_equal(cs.cores_per_socket, 12);
	assert_int_equal(cs.threads_per_core, 1);
	unload();
}

/* arm64: GICC entries, a PPTT with clusters, no thread level. */
static void test_cpu_arm64(void **state)
{
	(void)state;
	load_cpu("srat-arm64", NULL, "madt-arm64", "pptt-arm64");
	const struct numem_topo *t = m.topo;
	assert_int_equal(m.madt.nr_cpu, 9);
	assert_int_equal(m.madt.cpu[5].mpidr, 0x101);
	assert_false(m.madt.cpu[8].enabled);
	assert_int_equal(t->nr_cpus, 8);
	assert_int_equal(t->cpu[5].type, NUMEM_SRAT_GICC);
	assert_int_equal(t->cpu[5].node, 1);
	assert_int_equal(t->cpu[5].socket, 0);
	assert_int_equal(t->cpu[5].cluster, 1);
	assert_int_equal(t->cpu[5].core, 5);
	assert_int_equal(t->cpu[5].thread, 0);
	unload();
}

/* The MADT and PPTT writers are the parsers' inverse for what the parsers
 * keep (PPTT: caches are not written, so offsets change but parents,
 * flags and ids do not). */
static void test_cpu_tables_write(void **state)
{
	(void)state;
	load_cpu("srat-2s-ht", NULL, "madt-2s-ht", "pptt-2s-ht");
	size_t len;
	assert_int_equal(numem_madt_write(&m.madt, NULL, 0, &len), NUMEM_OK);
	uint8_t *buf = malloc(len);
	assert_int_equal(numem_madt_write(&m.madt, buf, len - 1, &len), NUMEM_E_NOSPACE);
	assert_int_equal(numem_madt_write(&m.madt, buf, len, &len), NUMEM_OK);
	struct numem_madt md;
	assert_int_equal(
	    numem_madt_parse(buf, len, NUMEM_ACPI_STRICT, numem_host_platform(m.host), &md, NULL),
	    NUMEM_OK);
	assert_int_equal(md.nr_cpu, m.madt.nr_cpu);
	for (uint32_t i = 0; i < md.nr_cpu; i++) {
		assert_int_equal(md.cpu[i].type, m.madt.cpu[i].type);
		assert_int_equal(md.cpu[i].id, m.madt.cpu[i].id);
		assert_int_equal(md.cpu[i].uid, m.madt.cpu[i].uid);
		assert_int_equal(md.cpu[i].enabled, m.madt.cpu[i].enabled);
		assert_int_equal(md.cpu[i].online_capable, m.madt.cpu[i].online_capable);
	}
	free(buf);
	assert_int_equal(numem_pptt_write(&m.pptt, NULL, 0, &len), NUMEM_OK);
	buf = malloc(len);
	assert_int_equal(numem_pptt_write(&m.pptt, buf, len, &len), NUMEM_OK);
	struct numem_pptt pt;
	assert_int_equal(
	    numem_pptt_parse(buf, len, NUMEM_ACPI_STRICT, numem_host_platform(m.host), &pt, NULL),
	    NUMEM_OK);
	assert_int_equal(pt.nr_node, m.pptt.nr_node);
	assert_int_equal(pt.nr_cache, 0);
	for (uint32_t i = 0; i < pt.nr_node; i++) {
		assert_int_equal(pt.node[i].flags, m.pptt.node[i].flags);
		assert_int_equal(pt.node[i].parent, m.pptt.node[i].parent);
		assert_int_equal(pt.node[i].acpi_id, m.pptt.node[i].acpi_id);
	}
	free(buf);
	unload();
}

/* Malformed MADT and PPTT variants: each its own error, table name and
 * offset, and nothing left allocated. */
static void test_malformed_cpu_tables(void **state)
{
	(void)state;
	char path[512];
	uint8_t *madt, *pptt;
	size_t mlen, plen;
	snprintf(path, sizeof(path), "%s/madt-h8qg6.aml", ASL_DIR);
	assert_int_equal(numem_read_file(path, &madt, &mlen), 0);
	snprintf(path, sizeof(path), "%s/pptt-h8qg6.aml", ASL_DIR);
	assert_int_equal(numem_read_file(path, &pptt, &plen), 0);
	uint8_t *t = malloc(mlen > plen ? mlen : plen);
	struct {
		const char *what;
		bool is_pptt;
		enum numem_err err;
		uint32_t offset;
	} cases[] = {
	    {"MADT bad checksum", false, NUMEM_E_CHECKSUM, 9},
	    {"MADT entry length 0", false, NUMEM_E_ZERO_LENGTH_ENTRY, 52},
	    {"MADT local APIC of 6 bytes", false, NUMEM_E_BAD_ENTRY, 52},
	    {"MADT entry past the end", false, NUMEM_E_ENTRY_PAST_END, (uint32_t)mlen - 12},
	    {"MADT too short for its fields", false, NUMEM_E_TRUNCATE, 4},
	    {"PPTT bad parent", true, NUMEM_E_BAD_ENTRY, 56 + 8},
	    {"PPTT parent cycle", true, NUMEM_E_BAD_ENTRY, 36 + 8},
	    {"PPTT private count too large", true, NUMEM_E_BAD_ENTRY, 36 + 16},
	    {"PPTT node of 12 bytes", true, NUMEM_E_BAD_ENTRY, 36},
	    {"PPTT entry past the end", true, NUMEM_E_ENTRY_PAST_END, (uint32_t)plen - 20},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].is_pptt ? plen : mlen;
		memcpy(t, cases[i].is_pptt ? pptt : madt, len);
		switch (i) {
		case 0:
			t[9] ^= 1;
			break;
		case 1:
			t[53] = 0;
			break;
		case 2:
			t[53] = 6;
			break;
		case 3:
			t[mlen - 12 + 1] = 40;
			break;
		case 4:
			put32(t + 4, 40);
			break;
		case 5:
			put32(t + 56 + 8, 57); /* the first die's parent: not a node start */
			break;
		case 6:
			put32(t + 36 + 8, 56); /* package 0's parent: its own die */
			break;
		case 7:
			put32(t + 36 + 16, 0x40000001); /* 4 * count wraps 32 bits */
			break;
		case 8:
			t[37] = 12;
			break;
		case 9:
			t[plen - 20 + 1] = 24;
			break;
		}
		if (i)
			fix_checksum(t, i == 4 ? 40 : len);
		struct numem_diag d = {0};
		uint64_t before = numem_host_meta_bytes(test_host);
		enum numem_err e;
		if (cases[i].is_pptt) {
			struct numem_pptt p;
			e = numem_pptt_parse(t, len, NUMEM_ACPI_STRICT, test_plat, &p, &d);
			assert_string_equal(d.table, "PPTT");
		} else {
			struct numem_madt mt;
			e = numem_madt_parse(t, len, NUMEM_ACPI_STRICT, test_plat, &mt, &d);
			assert_string_equal(d.table, "APIC");
		}
		if (e != cases[i].err || d.offset != cases[i].offset)
			fail_msg("%s: got %s at %u (%s), want %s at %u", cases[i].what,
			         numem_err_name(e), d.offset, d.msg, numem_err_name(cases[i].err),
			         cases[i].offset);
		assert_int_equal(numem_host_meta_bytes(test_host), before);
	}
	/* GICC Online Capable is bit 3 (iasl 20200925 cannot write it). */
	snprintf(path, sizeof(path), "%s/madt-arm64.aml", ASL_DIR);
	uint8_t *arm;
	size_t alen;
	assert_int_equal(numem_read_file(path, &arm, &alen), 0);
	uint32_t spare = 44 + 8 * 80;
	assert_int_equal(arm[spare], NUMEM_MADT_GICC);
	put32(arm + spare + 12, NUMEM_MADT_GICC_ONLINE_CAPABLE);
	fix_checksum(arm, alen);
	struct numem_madt mt;
	struct numem_diag d = {0};
	assert_int_equal(numem_madt_parse(arm, alen, NUMEM_ACPI_STRICT, test_plat, &mt, &d),
	                 NUMEM_OK);
	assert_false(mt.cpu[8].enabled);
	assert_true(mt.cpu[8].online_capable);
	numem_madt_release(test_plat, &mt);
	free(arm);
	free(t);
	free(madt);
	free(pptt);
}

static void test_pxm_gaps_unreachable(void **state)
{
	(void)state;
	load("srat-pxm-gaps", "slit-unreachable", NULL, NUMEM_ACPI_STRICT);
	const struct numem_topo *t = m.topo;
	assert_int_equal(t->nr_nodes, 3);
	assert_int_equal(t->node[0].pxm, 0);
	assert_int_equal(t->node[1].pxm, 2);
	assert_int_equal(t->node[2].pxm, 5);
	assert_true(t->distance_from_slit);
	assert_int_equal(t->distance[0][1], 21);
	assert_int_equal(t->distance[1][2], 31);
	assert_int_equal(t->distance[0][2], 255);
	assert_int_equal(t->node[0].nr_fallback, 2); /* node 2 unreachable from 0 */
	assert_int_equal(t->node[2].fallback[1], 1);
	assert_int_equal(t->node[1].nr_cpus, 2);
	unload();
}

static void test_disabled_entries(void **state)
{
	(void)state;
	load("srat-disabled", NULL, NULL, NUMEM_ACPI_STRICT);
	assert_int_equal(m.srat.nr_cpu, 4);
	assert_false(m.srat.cpu[1].enabled);
	assert_int_equal(m.srat.nr_mem, 4);
	assert_false(m.srat.mem[2].flags & NUMEM_SRAT_MEM_ENABLED);
	assert_int_equal(m.srat.mem[3].length, 0);
	const struct numem_topo *t = m.topo;
	assert_int_equal(t->nr_nodes, 2); /* domain 7 has only disabled entries */
	assert_int_equal(t->nr_cpus, 2);
	assert_int_equal(t->cpu[1].hw_id, 2);
	assert_int_equal(t->total_ram_pages, (2 * GIB) >> 12);
	unload();
}

static void test_hotplug_nv(void **state)
{
	(void)state;
	load("srat-hotplug", NULL, NULL, NUMEM_ACPI_STRICT);
	const struct numem_topo *t = m.topo;
	assert_int_equal(t->node[0].ram_pages, (4 * GIB) >> 12);
	assert_int_equal(t->node[1].ram_pages, (4 * GIB) >> 12);
	int64_t i = numem_topo_find_range(t, numem_paddr(1ull << 40));
	assert_true(i >= 0);
	assert_int_equal(t->range[i].flags, NUMEM_RANGE_HOTPLUG);
	assert_int_equal(t->range[i].node, 0);
	i = numem_topo_find_range(t, numem_paddr(2ull << 40));
	assert_int_equal(t->range[i].flags, NUMEM_RANGE_NONVOLATILE);
	assert_int_equal(t->max_pfn, (8 * GIB) >> 12);
	assert_int_equal(t->span_end_pfn, ((2ull << 40) + 64 * GIB) >> 12);
	unload();
}

static void test_x2apic_above_255(void **state)
{
	(void)state;
	load("srat-x2apic", NULL, NULL, NUMEM_ACPI_STRICT);
	const struct numem_topo *t = m.topo;
	assert_int_equal(t->nr_nodes, 2);
	assert_int_equal(t->node[1].pxm, 300);
	assert_int_equal(t->nr_cpus, 4);
	assert_int_equal(t->cpu[1].hw_id, 256);
	assert_int_equal(t->cpu[1].type, NUMEM_SRAT_X2APIC);
	assert_int_equal(t->cpu[3].hw_id, 4095);
	assert_int_equal(t->cpu[3].node, 1);
	assert_int_equal(m.srat.cpu[5].pxm, 300); /* APIC entry: pxm high bytes */
	unload();
}

static void test_gicc_its_initiator(void **state)
{
	(void)state;
	load("srat-gicc", NULL, NULL, NUMEM_ACPI_STRICT);
	assert_int_equal(m.srat.cpu[2].type, NUMEM_SRAT_GICC);
	assert_int_equal(m.srat.cpu[2].id, 0x100);
	assert_int_equal(m.srat.nr_other, 3);
	assert_int_equal(m.srat.other[1].its_id, 1);
	assert_int_equal(m.srat.other[2].type, NUMEM_SRAT_GENERIC_INITIATOR);
	const struct numem_topo *t = m.topo;
	assert_int_equal(t->nr_nodes, 3);
	assert_true(t->node[2].generic_initiator);
	assert_int_equal(t->node[2].ram_pages, 0);
	assert_int_equal(t->node[2].nr_cpus, 0);
	assert_int_equal(t->node[2].nearest_mem, 0);
	unload();
}

static void test_memoryless(void **state)
{
	(void)state;
	load("srat-memoryless", "slit-memoryless", NULL, NUMEM_ACPI_STRICT);
	const struct numem_topo *t = m.topo;
	assert_int_equal(t->nr_nodes, 4);
	assert_int_equal(t->node[1].nearest_mem, 0);
	assert_int_equal(t->node[3].nearest_mem, 2);
	assert_int_equal(t->node[3].fallback[0], 2);
	unload();
}

static void test_overlap(void **state)
{
	(void)state;
	load("srat-overlap", NULL, NULL, 0);
	assert_int_equal(m.topo->nr_nodes, 1);
	assert_int_equal(m.topo->fallback_reason, NUMEM_E_OVERLAP);
	unload();
	char a[512], err[256];
	snprintf(a, sizeof(a), "%s/srat-overlap.aml", ASL_DIR);
	struct numem_machine_src src;
	assert_int_equal(numem_machine_src_files(&src, a, NULL, NULL, err, sizeof(err)), 0);
	struct numem_machine_opts o = {.topo.flags = NUMEM_TOPO_STRICT};
	struct numem_diag d = {0};
	assert_int_equal(numem_machine_load(&m, &src, &o, &d), NUMEM_E_OVERLAP);
}

static void test_hmat(void **state)
{
	(void)state;
	load("srat-pxm-gaps", NULL, "hmat-2node", NUMEM_ACPI_STRICT);
	assert_true(m.has_hmat);
	assert_int_equal(m.hmat.nr_mpda, 2);
	assert_int_equal(m.hmat.mpda[1].initiator_pxm, 1);
	assert_int_equal(m.hmat.nr_lbi, 1);
	assert_int_equal(m.hmat.lbi[0].base_unit, 1000);
	assert_int_equal(m.hmat.lbi[0].entry[1], 0xd2);
	assert_int_equal(m.hmat.nr_cache, 1);
	assert_int_equal(m.hmat.cache[0].size, GIB);
	assert_int_equal(m.hmat.cache[0].nr_smbios, 1);
	unload();
}

/* Malformed variants of a compiled SRAT: each gets its own error. */
static void test_malformed(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof(path), "%s/srat-memoryless.aml", ASL_DIR);
	uint8_t *orig;
	size_t len;
	assert_int_equal(numem_read_file(path, &orig, &len), 0);
	uint8_t *t = malloc(len);
	struct numem_srat s;
	struct numem_diag d;
	struct {
		const char *what;
		enum numem_err err;
		uint32_t offset;
		size_t len;
	} cases[5] = {
	    {"bad checksum", NUMEM_E_CHECKSUM, 9, len},
	    {"truncated table", NUMEM_E_TRUNCATE, 4, len - 10},
	    {"subtable length 0", NUMEM_E_ZERO_LENGTH_ENTRY, 48 + 16, len},
	    {"subtable past the end", NUMEM_E_ENTRY_PAST_END, (uint32_t)len - 40, len},
	    {"length field larger than the file", NUMEM_E_TRUNCATE, 4, len},
	};
	for (int i = 0; i < 5; i++) {
		memcpy(t, orig, len);
		switch (i) {
		case 0:
			t[9] ^= 1;
			break;
		case 2:
			t[48 + 16 + 1] = 0;
			fix_checksum(t, len);
			break;
		case 3:
			t[len - 40 + 1] = 48;
			fix_checksum(t, len);
			break;
		case 4:
			put32(t + 4, (uint32_t)len + 100);
			break;
		}
		memset(&d, 0, sizeof(d));
		uint64_t before = numem_host_meta_bytes(test_host);
		enum numem_err e =
		    numem_srat_parse(t, cases[i].len, NUMEM_ACPI_STRICT, test_plat, &s, &d);
		if (e != cases[i].err || d.offset != cases[i].offset)
			fail_msg("%s: got %s at %u (%s), want %s at %u", cases[i].what,
			         numem_err_name(e), d.offset, d.msg, numem_err_name(cases[i].err),
			         cases[i].offset);
		assert_string_equal(d.table, "SRAT");
		assert_int_equal(numem_host_meta_bytes(test_host), before);
	}
	free(t);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pxm_gaps_unreachable),
	    cmocka_unit_test(test_disabled_entries),
	    cmocka_unit_test(test_hotplug_nv),
	    cmocka_unit_test(test_x2apic_above_255),
	    cmocka_unit_test(test_gicc_its_initiator),
	    cmocka_unit_test(test_memoryless),
	    cmocka_unit_test(test_overlap),
	    cmocka_unit_test(test_hmat),
	    HOST_TEST(test_malformed),
	    cmocka_unit_test(test_qemu_nvdimm_overlap),
	    cmocka_unit_test(test_cpu_2s_ht),
	    cmocka_unit_test(test_cpu_from_madt),
	    cmocka_unit_test(test_cpu_h8qg6),
	    cmocka_unit_test(test_cpu_arm64),
	    cmocka_unit_test(test_cpu_tables_write),
	    HOST_TEST(test_malformed_cpu_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
