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

DEFINE_TEST_HOST;

static struct numem_machine m;

static void load(const char *srat, const char *slit, const char *hmat, unsigned flags)
{
	char a[512], b[512], c[512], err[256] = "";
	snprintf(a, sizeof(a), "%s/%s.aml", ASL_DIR, srat);
	if (slit)
		snprintf(b, sizeof(b), "%s/%s.aml", ASL_DIR, slit);
	if (hmat)
		snprintf(c, sizeof(c), "%s/%s.aml", ASL_DIR, hmat);
	struct numem_machine_src src;
	if (numem_machine_src_files(&src, a, slit ? b : NULL, hmat ? c : NULL, err, sizeof(err)))
		fail_msg("%s", err);
	struct numem_machine_opts o = {.acpi_flags = flags,
	                               .topo.flags = flags ? NUMEM_TOPO_STRICT : 0};
	struct numem_diag d = {0};
	if (numem_machine_load(&m, &src, &o, &d) != NUMEM_OK)
		fail_msg("%s: %s", srat, d.msg);
	numem_host_set_log(m.host, NULL, NUMEM_LOG_ERROR);
}

static void unload(void)
{
	numem_machine_unload(&m);
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
