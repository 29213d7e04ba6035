/*
 * test_roundtrip.c - `numem tables` output is firmware-grade:
 *   1. iasl -d disassembles every table without an error, and its listing
 *      has no "Incorrect"/"Invalid" note;
 *   2. iasl compiles that listing back to the same bytes (but for the
 *      compiler id and revision iasl stamps, and so the checksum);
 *   3. numem parses the tables back to the same topology.
 * For every preset, for QEMU -numa descriptions, for an emulated machine,
 * and for every machine of the ACPI corpus.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "run_cmd.h"

static char tmpdir[256];

static void compare_topo(const char *name, const struct numem_topo *a, const struct numem_topo *b)
{
	if (a->nr_nodes != b->nr_nodes || a->nr_cpus != b->nr_cpus || a->nr_ranges != b->nr_ranges)
		fail_msg("%s: nodes %u/%u cpus %u/%u ranges %u/%u", name, a->nr_nodes, b->nr_nodes,
		         a->nr_cpus, b->nr_cpus, a->nr_ranges, b->nr_ranges);
	for (uint32_t n = 0; n < a->nr_nodes; n++) {
		const struct numem_node *x = &a->node[n], *y = &b->node[n];
		if (!a->emulated_from && x->pxm != y->pxm)
			fail_msg("%s: node %u pxm %u vs %u", name, n, x->pxm, y->pxm);
		if (x->ram_pages != y->ram_pages || x->nr_cpus != y->nr_cpus ||
		    x->nearest_mem != y->nearest_mem || x->nr_fallback != y->nr_fallback ||
		    x->generic_initiator != y->generic_initiator)
			fail_msg("%s: node %u differs", name, n);
		assert_memory_equal(x->fallback, y->fallback,
		                    x->nr_fallback * sizeof(x->fallback[0]));
		for (uint32_t m = 0; m < a->nr_nodes; m++)
			if (a->distance[n][m] != b->distance[n][m])
				fail_msg("%s: distance %u->%u %u vs %u", name, n, m,
				         a->distance[n][m], b->distance[n][m]);
	}
	for (uint32_t c = 0; c < a->nr_cpus; c++)
		if (a->cpu[c].hw_id != b->cpu[c].hw_id || a->cpu[c].node != b->cpu[c].node)
			fail_msg("%s: cpu %u differs", name, c);
	for (uint32_t i = 0; i < a->nr_ranges; i++) {
		const struct numem_mem_range *x = &a->range[i], *y = &b->range[i];
		if (x->base != y->base || x->end != y->end || x->node != y->node ||
		    (x->flags & ~NUMEM_RANGE_HOTPLUG) != (y->flags & ~NUMEM_RANGE_HOTPLUG))
			fail_msg("%s: range %u [%llx-%llx) n%u f%x vs [%llx-%llx) n%u f%x", name, i,
			         (unsigned long long)x->base, (unsigned long long)x->end, x->node,
			         x->flags, (unsigned long long)y->base, (unsigned long long)y->end,
			         y->node, y->flags);
	}
}

/* iasl -d, then iasl back; compare with our bytes. */
static void check_iasl(const char *name, const char *table, const uint8_t *ours, size_t len)
{
	char cmd[1024], *out = NULL, path[512];
	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -d %s.bin 2>&1", tmpdir, table);
	int rc = run_cmd(cmd, &out);
	if (rc != 0)
		fail_msg("%s: iasl -d %s failed (%d):\n%s", name, table, rc, out);
	free(out);
	snprintf(path, sizeof(path), "%s/%s.dsl", tmpdir, table);
	uint8_t *dsl;
	size_t dlen;
	assert_int_equal(numem_read_file(path, &dsl, &dlen), 0);
	dsl = realloc(dsl, dlen + 1);
	dsl[dlen] = 0;
	if (strstr((char *)dsl, "Incorrect") || strstr((char *)dsl, "Invalid") ||
	    strstr((char *)dsl, "**** "))
		fail_msg("%s: iasl -d %s complains:\n%.2000s", name, table, dsl);
	free(dsl);
	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -p re-%s %s.dsl 2>&1", tmpdir, table, table);
	rc = run_cmd(cmd, &out);
	if (rc != 0)
		fail_msg("%s: iasl %s.dsl failed:\n%s", name, table, out);
	free(out);
	snprintf(path, sizeof(path), "%s/re-%s.aml", tmpdir, table);
	uint8_t *re;
	size_t rlen;
	assert_int_equal(numem_read_file(path, &re, &rlen), 0);
	assert_int_equal(rlen, len);
	for (size_t i = 0; i < len; i++)
		if (re[i] != ours[i] && i != 9 && !(i >= 28 && i < 36))
			fail_msg("%s: %s byte %zu: iasl 0x%02x, numem 0x%02x", name, table, i,
			         re[i], ours[i]);
	free(re);
}

static void roundtrip(const char *name, struct numem_machine_src *src,
                      const struct numem_machine_opts *opts)
{
	struct numem_machine a, b;
	struct numem_diag d = {0};
	if (numem_machine_load(&a, src, opts, &d) != NUMEM_OK)
		fail_msg("%s: %s", name, d.msg);
	numem_host_set_log(a.host, NULL, NUMEM_LOG_ERROR);
	uint8_t *srat, *slit, *hmat;
	size_t sl, ll, hl;
	assert_int_equal(numem_machine_export_tables(&a, &srat, &sl, &slit, &ll, &hmat, &hl), 0);
	char path[512];
	snprintf(path, sizeof(path), "%s/SRAT.bin", tmpdir);
	assert_int_equal(numem_write_file(path, srat, sl), 0);
	check_iasl(name, "SRAT", srat, sl);
	snprintf(path, sizeof(path), "%s/SLIT.bin", tmpdir);
	unlink(path);
	if (slit) {
		assert_int_equal(numem_write_file(path, slit, ll), 0);
		check_iasl(name, "SLIT", slit, ll);
	}
	snprintf(path, sizeof(path), "%s/HMAT.bin", tmpdir);
	unlink(path);
	if (hmat) {
		assert_int_equal(numem_write_file(path, hmat, hl), 0);
		check_iasl(name, "HMAT", hmat, hl);
	}
	char err[256] = "";
	struct numem_machine_src back;
	assert_int_equal(numem_machine_src_dir(&back, tmpdir, err, sizeof(err)), 0);
	struct numem_machine_opts strict = {.acpi_flags = NUMEM_ACPI_STRICT,
	                                    .topo.flags = NUMEM_TOPO_STRICT};
	if (numem_machine_load(&b, &back, &strict, &d) != NUMEM_OK)
		fail_msg("%s: reading back: %s", name, d.msg);
	compare_topo(name, a.topo, b.topo);
	if (hmat) {
		assert_int_equal(b.hmat.nr_lbi, a.hmat.nr_lbi);
		assert_int_equal(b.hmat.nr_mpda, a.hmat.nr_mpda);
	}
	free(srat);
	free(slit);
	free(hmat);
	numem_machine_unload(&a);
	numem_machine_unload(&b);
}

static void test_presets(void **state)
{
	(void)state;
	size_t n;
	const struct numem_preset_info *p = numem_presets(&n);
	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++) {
		struct numem_spec spec;
		struct numem_machine_src src;
		char err[256];
		assert_int_equal(numem_spec_preset(&spec, p[i].name), 0);
		assert_int_equal(numem_machine_src_spec(&src, &spec, err, sizeof(err)), 0);
		roundtrip(p[i].name, &src, NULL);
	}
}

static void numa_roundtrip(const char *name, const char *const *args, size_t n)
{
	static struct numem_spec spec;
	memset(&spec, 0, sizeof(spec));
	char err[256];
	for (size_t i = 0; i < n; i++)
		if (numem_spec_add_numa_arg(&spec, args[i], err, sizeof(err)))
			fail_msg("%s: %s", args[i], err);
	if (numem_spec_finish(&spec, err, sizeof(err)))
		fail_msg("%s", err);
	struct numem_machine_src src;
	assert_int_equal(numem_machine_src_spec(&src, &spec, err, sizeof(err)), 0);
	roundtrip(name, &src, NULL);
}

static void test_numa_descriptions(void **state)
{
	(void)state;
	const char *const simple[] = {"node,nodeid=0,cpus=0-3,mem=4G",
	                              "node,nodeid=1,cpus=4-7,mem=4G", "dist,src=0,dst=1,val=21"};
	numa_roundtrip("numa-simple", simple, 3);
	/* Gaps, split CPU lists, a memoryless node and a CPU-less node,
	 * asymmetric distances. */
	const char *const odd[] = {"node,nodeid=0,cpus=0-1,cpus=6,mem=2G",
	                           "node,nodeid=2,cpus=2-3",
	                           "node,nodeid=5,mem=1G",
	                           "node,nodeid=3,cpus=4-5,mem=3G",
	                           "dist,src=0,dst=2,val=15",
	                           "dist,src=2,dst=0,val=17",
	                           "dist,src=3,dst=5,val=40"};
	numa_roundtrip("numa-odd", odd, 7);
}

static void test_emulated(void **state)
{
	(void)state;
	struct numem_spec spec;
	struct numem_machine_src src;
	char err[256];
	assert_int_equal(numem_spec_preset(&spec, "x445"), 0);
	assert_int_equal(numem_machine_src_spec(&src, &spec, err, sizeof(err)), 0);
	struct numem_machine_opts o = {.topo.emulate_nodes = 8};
	roundtrip("x445 emulated as 8", &src, &o);
}

static void test_corpus(void **state)
{
	(void)state;
	DIR *d = opendir(CORPUS_DIR);
	assert_non_null(d);
	struct dirent *e;
	int count = 0;
	while ((e = readdir(d))) {
		char dir[512], err[256];
		struct stat st;
		snprintf(dir, sizeof(dir), "%s/%s/SRAT.bin", CORPUS_DIR, e->d_name);
		if (e->d_name[0] == '.' || stat(dir, &st) != 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", CORPUS_DIR, e->d_name);
		struct numem_machine_src src;
		assert_int_equal(numem_machine_src_dir(&src, dir, err, sizeof(err)), 0);
		roundtrip(e->d_name, &src, NULL);
		count++;
	}
	closedir(d);
	assert_true(count >= 17);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/numem-roundtrip-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_presets),
	    cmocka_unit_test(test_numa_descriptions),
	    cmocka_unit_test(test_emulated),
	    cmocka_unit_test(test_corpus),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
