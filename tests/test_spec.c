/*
 * test_spec.c - QEMU command lines from QEMU's own ACPI tests
 * (tests/qtest/bios-tables-test.c), translated into numem's --numa, --mem,
 * --smp and --object, give the tables QEMU gives for them: the expected
 * SRAT, SLIT and HMAT are written in ASL (tests/asl/qemu-*.asl, from the
 * ACPI specification and QEMU's layout in hw/i386/acpi-build.c and
 * hw/acpi/hmat.c) and compared, parsed, entry by entry with what numem
 * writes.  Then QEMU's -smp arithmetic and APIC id packing, mem= in MiB,
 * the even split, and every refusal with its message.
 */
#include "helpers.h"

static struct numem_spec spec;

/* Parse a command line of "--numa X", "--mem X", "--smp X", "--object X"
 * pairs into spec (reset first) and finish it. */
static int build(const char *const *argv, char *err, size_t errlen)
{
	memset(&spec, 0, sizeof(spec));
	for (int i = 0; argv[i]; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		int rc = !strcmp(o, "--numa")     ? numem_spec_add_numa_arg(&spec, v, err, errlen)
		         : !strcmp(o, "--mem")    ? numem_spec_set_mem(&spec, v, err, errlen)
		         : !strcmp(o, "--smp")    ? numem_spec_set_smp(&spec, v, err, errlen)
		         : !strcmp(o, "--object") ? numem_spec_add_object(&spec, v, err, errlen)
		                                  : -1;
		if (!strcmp(o, "--q35")) {
			spec.qemu.q35 = true;
			rc = 0;
		}
		if (rc)
			return rc;
	}
	return numem_spec_finish(&spec, err, errlen);
}

static void load_spec(struct numem_machine *m, const char *const *argv)
{
	char err[512] = "";
	if (build(argv, err, sizeof(err)))
		fail_msg("%s", err);
	struct numem_machine_src src;
	if (numem_machine_src_spec(&src, &spec, err, sizeof(err)))
		fail_msg("%s", err);
	struct numem_machine_opts o = {.acpi_flags = NUMEM_ACPI_STRICT};
	struct numem_diag d = {0};
	if (numem_machine_load(m, &src, &o, &d) != NUMEM_OK)
		fail_msg("spec: %s", d.msg);
	numem_host_set_log(m->host, NULL, NUMEM_LOG_ERROR);
}

static void load_asl(struct numem_machine *m, const char *srat, const char *slit, const char *hmat)
{
	load_asl_machine(m, srat, slit, hmat, NUMEM_ACPI_STRICT, 0);
}

/* Every parsed entry of the two machines' tables, in table order. */
static void compare(const struct numem_machine *got, const struct numem_machine *want)
{
	const struct numem_srat *g = &got->srat, *w = &want->srat;
	assert_int_equal(g->nr_cpu, w->nr_cpu);
	for (uint32_t i = 0; i < w->nr_cpu; i++) {
		assert_int_equal(g->cpu[i].type, w->cpu[i].type);
		assert_int_equal(g->cpu[i].pxm, w->cpu[i].pxm);
		assert_int_equal(g->cpu[i].id, w->cpu[i].id);
		assert_int_equal(g->cpu[i].enabled, w->cpu[i].enabled);
	}
	assert_int_equal(g->nr_mem, w->nr_mem);
	for (uint32_t i = 0; i < w->nr_mem; i++) {
		assert_int_equal(g->mem[i].pxm, w->mem[i].pxm);
		assert_int_equal(g->mem[i].base, w->mem[i].base);
		assert_int_equal(g->mem[i].length, w->mem[i].length);
		assert_int_equal(g->mem[i].flags, w->mem[i].flags);
	}
	assert_int_equal(got->has_slit, want->has_slit);
	if (want->has_slit) {
		uint32_t n = want->slit.localities;
		assert_int_equal(got->slit.localities, n);
		assert_memory_equal(got->slit.matrix, want->slit.matrix, (size_t)n * n);
	}
	assert_int_equal(got->has_hmat, want->has_hmat);
	if (!want->has_hmat)
		return;
	const struct numem_hmat *gh = &got->hmat, *wh = &want->hmat;
	assert_int_equal(gh->nr_mpda, wh->nr_mpda);
	for (uint32_t i = 0; i < wh->nr_mpda; i++) {
		assert_int_equal(gh->mpda[i].flags, wh->mpda[i].flags);
		assert_int_equal(gh->mpda[i].initiator_pxm, wh->mpda[i].initiator_pxm);
		assert_int_equal(gh->mpda[i].memory_pxm, wh->mpda[i].memory_pxm);
	}
	assert_int_equal(gh->nr_lbi, wh->nr_lbi);
	for (uint32_t i = 0; i < wh->nr_lbi; i++) {
		const struct numem_hmat_lbi *a = &gh->lbi[i], *b = &wh->lbi[i];
		assert_int_equal(a->flags, b->flags);
		assert_int_equal(a->data_type, b->data_type);
		assert_int_equal(a->base_unit, b->base_unit);
		assert_int_equal(a->nr_initiators, b->nr_initiators);
		assert_int_equal(a->nr_targets, b->nr_targets);
		assert_memory_equal(a->initiator_pxm, b->initiator_pxm, 4 * b->nr_initiators);
		assert_memory_equal(a->target_pxm, b->target_pxm, 4 * b->nr_targets);
		assert_memory_equal(a->entry, b->entry, 2 * b->nr_initiators * b->nr_targets);
	}
	assert_int_equal(gh->nr_cache, wh->nr_cache);
	for (uint32_t i = 0; i < wh->nr_cache; i++) {
		assert_int_equal(gh->cache[i].memory_pxm, wh->cache[i].memory_pxm);
		assert_int_equal(gh->cache[i].size, wh->cache[i].size);
		assert_int_equal(gh->cache[i].attributes, wh->cache[i].attributes);
	}
}

static void check(const char *const *argv, const char *srat, const char *slit, const char *hmat)
{
	static struct numem_machine got, want;
	load_spec(&got, argv);
	load_asl(&want, srat, slit, hmat);
	compare(&got, &want);
	numem_machine_unload(&got);
	numem_machine_unload(&want);
}

/* acpi/q35/numamem: a memoryless node 0 (with the CPU) and node 1. */
static void test_qemu_numamem(void **state)
{
	(void)state;
	const char *const argv[] = {"--object", "memory-backend-ram,id=ram0,size=128M",
	                            "--numa",   "node",
	                            "--numa",   "node,memdev=ram0",
	                            "--q35",    "",
	                            NULL};
	check(argv, "qemu-numamem-srat", NULL, NULL);
}

/* acpi/q35/memhp: two nodes, a distance, the hot-plug window. */
static void test_qemu_memhp(void **state)
{
	(void)state;
	const char *const argv[] = {"--mem",    "128,slots=3,maxmem=1G",
	                            "--object", "memory-backend-ram,id=ram0,size=64M",
	                            "--object", "memory-backend-ram,id=ram1,size=64M",
	                            "--numa",   "node,memdev=ram0",
	                            "--numa",   "node,memdev=ram1",
	                            "--numa",   "dist,src=0,dst=1,val=21",
	                            NULL};
	check(argv, "qemu-memhp-srat", "qemu-memhp-slit", NULL);
}

/* acpi/q35/dimmpxm without its devices: -numa cpu by socket. */
static void test_qemu_dimmpxm(void **state)
{
	(void)state;
	const char *const argv[] = {"--smp",    "4,sockets=4",
	                            "--mem",    "128M,slots=3,maxmem=1G",
	                            "--object", "memory-backend-ram,id=ram0,size=32M",
	                            "--object", "memory-backend-ram,id=ram1,size=32M",
	                            "--object", "memory-backend-ram,id=ram2,size=32M",
	                            "--object", "memory-backend-ram,id=ram3,size=32M",
	                            "--numa",   "node,memdev=ram0,nodeid=0",
	                            "--numa",   "node,memdev=ram1,nodeid=1",
	                            "--numa",   "node,memdev=ram2,nodeid=2",
	                            "--numa",   "node,memdev=ram3,nodeid=3",
	                            "--numa",   "cpu,node-id=0,socket-id=0",
	                            "--numa",   "cpu,node-id=1,socket-id=1",
	                            "--numa",   "cpu,node-id=2,socket-id=2",
	                            "--numa",   "cpu,node-id=3,socket-id=3",
	                            NULL};
	check(argv, "qemu-dimmpxm-srat", NULL, NULL);
}

/* acpi/q35/acpihmat: initiator=, hmat-lb latency and bandwidth, hmat-cache. */
static void test_qemu_acpihmat(void **state)
{
	(void)state;
	const char *const argv[] = {
	    "--smp",
	    "2,sockets=2",
	    "--mem",
	    "128M,slots=2,maxmem=1G",
	    "--object",
	    "memory-backend-ram,size=64M,id=m0",
	    "--object",
	    "memory-backend-ram,size=64M,id=m1",
	    "--numa",
	    "node,nodeid=0,memdev=m0",
	    "--numa",
	    "node,nodeid=1,memdev=m1,initiator=0",
	    "--numa",
	    "cpu,node-id=0,socket-id=0",
	    "--numa",
	    "cpu,node-id=0,socket-id=1",
	    "--numa",
	    "hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,"
	    "latency=1",
	    "--numa",
	    "hmat-lb,initiator=0,target=0,hierarchy=memory,"
	    "data-type=access-bandwidth,bandwidth=65534M",
	    "--numa",
	    "hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,"
	    "latency=65534",
	    "--numa",
	    "hmat-lb,initiator=0,target=1,hierarchy=memory,"
	    "data-type=access-bandwidth,bandwidth=32767M",
	    "--numa",
	    "hmat-cache,node-id=0,size=10K,level=1,associativity=direct,"
	    "policy=write-back,line=8",
	    "--numa",
	    "hmat-cache,node-id=1,size=10K,level=1,associativity=direct,"
	    "policy=write-back,line=8",
	    NULL};
	check(argv, "qemu-acpihmat-srat", NULL, "qemu-acpihmat-hmat");
}

/* -smp: QEMU's arithmetic, APIC ids packed from thread, core, die and
 * socket ids (ceil(log2(count)) bits each), all maxcpus in the SRAT. */
static void test_smp_apic_ids(void **state)
{
	(void)state;
	static struct numem_machine m;
	const char *const a1[] = {"--smp", "12,sockets=2,cores=3,threads=2", "--numa", "node",
	                          NULL};
	load_spec(&m, a1);
	const uint32_t want1[12] = {0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13};
	assert_int_equal(m.srat.nr_cpu, 12);
	for (int i = 0; i < 12; i++)
		assert_int_equal(m.srat.cpu[i].id, want1[i]);
	numem_machine_unload(&m);
	/* dies: thread 1 bit, core 0 bits, die 1 bit, then socket */
	const char *const a2[] = {"--smp", "8,sockets=2,dies=2,cores=1,threads=2", "--numa", "node",
	                          NULL};
	load_spec(&m, a2);
	const uint32_t want2[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	for (int i = 0; i < 8; i++)
		assert_int_equal(m.srat.cpu[i].id, want2[i]);
	numem_machine_unload(&m);
	const char *const a3[] = {"--smp", "6,sockets=2,cores=3", "--numa", "node", NULL};
	load_spec(&m, a3); /* 3 cores: 2 bits */
	const uint32_t want3[6] = {0, 1, 2, 4, 5, 6};
	for (int i = 0; i < 6; i++)
		assert_int_equal(m.srat.cpu[i].id, want3[i]);
	numem_machine_unload(&m);
	/* maxcpus: every possible CPU is in the SRAT, enabled (as QEMU) */
	const char *const a4[] = {"--smp", "2,maxcpus=4", "--numa", "node", "--numa", "node", NULL};
	load_spec(&m, a4);
	assert_int_equal(m.srat.nr_cpu, 4);
	for (int i = 0; i < 4; i++) {
		assert_true(m.srat.cpu[i].enabled);
		assert_int_equal(m.srat.cpu[i].pxm, 0); /* 1 socket: socket 0 % 2 = node 0 */
	}
	numem_machine_unload(&m);
	/* no mapping at all: socket % nodes */
	const char *const a5[] = {"--smp", "4,sockets=4", "--numa", "node", "--numa", "node", NULL};
	load_spec(&m, a5);
	for (int i = 0; i < 4; i++)
		assert_int_equal(m.srat.cpu[i].pxm, (uint32_t)i % 2);
	numem_machine_unload(&m);
	/* a partial mapping: the rest go to node 0 */
	const char *const a6[] = {"--smp",  "4,sockets=4", "--numa", "node",
	                          "--numa", "node",        "--numa", "cpu,node-id=1,socket-id=3",
	                          NULL};
	load_spec(&m, a6);
	assert_int_equal(m.srat.cpu[0].pxm, 0);
	assert_int_equal(m.srat.cpu[1].pxm, 0);
	assert_int_equal(m.srat.cpu[3].pxm, 1);
	numem_machine_unload(&m);
	/* the implied key may be left out: -smp sockets=2,cores=2 (4 CPUs) */
	const char *const a8[] = {"--smp", "sockets=2,cores=2", "--numa", "node", NULL};
	load_spec(&m, a8);
	assert_int_equal(m.srat.nr_cpu, 4);
	assert_int_equal(m.srat.cpu[2].id, 2);
	numem_machine_unload(&m);
	/* 300 CPUs: ids from 255 on are x2APIC entries */
	const char *const a7[] = {"--smp", "300", "--numa", "node", NULL};
	load_spec(&m, a7);
	assert_int_equal(m.srat.nr_cpu, 300);
	assert_int_equal(m.srat.cpu[254].type, NUMEM_SRAT_APIC);
	assert_int_equal(m.srat.cpu[299].type, NUMEM_SRAT_X2APIC);
	assert_int_equal(m.srat.cpu[299].id, 299);
	numem_machine_unload(&m);
}

/* mem= without suffix is MiB; no mem= at all splits -m evenly in 8 MiB
 * steps with the rest on the last node (QEMU's auto split); default -m 128M. */
static void test_mem_units_and_split(void **state)
{
	(void)state;
	char err[512] = "";
	const char *const a1[] = {"--numa", "node,mem=512", "--numa", "node,mem=1G", NULL};
	assert_int_equal(build(a1, err, sizeof(err)), 0);
	assert_int_equal(spec.node[0].mem_bytes, 512ull << 20);
	assert_int_equal(spec.node[1].mem_bytes, 1ull << 30);
	const char *const a2[] = {"--mem", "1000",   "--numa", "node", "--numa",
	                          "node",  "--numa", "node",   NULL};
	assert_int_equal(build(a2, err, sizeof(err)), 0);
	/* 1000 MiB / 3 = 333.33 MiB: 328, 336 (the carry), rest 336 */
	assert_int_equal(spec.node[0].mem_bytes, 328ull << 20);
	assert_int_equal(spec.node[1].mem_bytes, 336ull << 20);
	assert_int_equal(spec.node[2].mem_bytes, (1000ull - 328 - 336) << 20);
	const char *const a3[] = {"--numa", "node", "--numa", "node", NULL};
	assert_int_equal(build(a3, err, sizeof(err)), 0);
	assert_int_equal(spec.node[0].mem_bytes + spec.node[1].mem_bytes, 128ull << 20);
	const char *const a4[] = {"--mem", "size=2G", NULL}; /* no -numa, no hot-plug: no SRAT */
	assert_int_equal(build(a4, err, sizeof(err)), 0);
	assert_true(spec.no_srat);
	const char *const a6[] = {"--mem", "slots=1,maxmem=4G,size=2G", NULL};
	assert_int_equal(build(a6, err, sizeof(err)), 0);
	assert_int_equal(spec.qemu.ram, 2ull << 30);
	assert_int_equal(spec.qemu.maxmem, 4ull << 30);
	const char *const a5[] = {"--mem", "2G,slots=1,maxmem=4G", NULL}; /* QEMU adds a node */
	assert_int_equal(build(a5, err, sizeof(err)), 0);
	assert_false(spec.no_srat);
	assert_int_equal(spec.nr_nodes, 1);
}

static void expect_error(const char *const *argv, const char *needle)
{
	char err[512] = "";
	assert_int_equal(build(argv, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("message \"%s\" lacks \"%s\"", err, needle);
}

/* Every refusal names what was wrong. */
static void test_refusals(void **state)
{
	(void)state;
	const char *const e1[] = {"--numa", "node,memdev=nope", NULL};
	expect_error(e1, "memdev=nope names no --object memory-backend-ram,id=nope");
	const char *const e2[] = {"--object", "memory-backend-ram,id=a,size=1G",
	                          "--numa",   "node,memdev=a",
	                          "--numa",   "node,memdev=a",
	                          NULL};
	expect_error(e2, "memdev=a is node 0's already");
	const char *const e3[] = {"--numa", "node,mem=1G,memdev=a", NULL};
	expect_error(e3, "mem= and memdev= both given");
	const char *const e4[] = {"--mem", "1G", "--numa", "node,mem=2G", NULL};
	expect_error(e4, "adds up to 2048 MiB but --mem says 1024 MiB");
	const char *const e5[] = {"--smp", "5,sockets=2", "--numa", "node", NULL};
	expect_error(e5, "must equal maxcpus (5)");
	const char *const e6[] = {"--smp", "4,maxcpus=2", "--numa", "node", NULL};
	expect_error(e6, "maxcpus (2) is below cpus (4)");
	const char *const e7[] = {"--smp", "2", "--numa", "node,cpus=0-3", NULL};
	expect_error(e7, "cpu 3 is not below --smp maxcpus (2)");
	const char *const e8[] = {
	    "--smp", "2,sockets=2", "--numa", "node", "--numa", "cpu,node-id=0,socket-id=2", NULL};
	expect_error(e8, "socket-id 2 is not below the machine's 2");
	const char *const e9[] = {"--numa", "node", "--numa", "cpu,node-id=3,socket-id=0", NULL};
	expect_error(e9, "node-id 3 names no -numa node");
	const char *const e10[] = {"--numa",
	                           "node,mem=1G",
	                           "--numa",
	                           "node,mem=1G",
	                           "--numa",
	                           "hmat-lb,initiator=0,target=1,hierarchy=memory,"
	                           "data-type=access-latency,latency=5",
	                           NULL};
	expect_error(e10, "node 1 has no CPUs: with an HMAT it needs initiator=N");
	const char *const e11[] = {"--numa",
	                           "hmat-lb,initiator=0,target=1,hierarchy=memory,"
	                           "data-type=access-latency,bandwidth=5",
	                           NULL};
	expect_error(e11, "data-type access-latency wants latency=");
	const char *const e12[] = {"--numa",
	                           "hmat-lb,initiator=0,target=1,hierarchy=l4,"
	                           "data-type=access-latency,latency=5",
	                           NULL};
	expect_error(e12, "hierarchy \"l4\" unknown");
	const char *const e13[] = {"--numa",
	                           "hmat-cache,node-id=0,size=1K,level=2,"
	                           "associativity=direct,policy=write-back,line=8",
	                           "--numa", "node,mem=1G", NULL};
	expect_error(e13, "the level above it is not given");
	const char *const e14[] = {"--mem", "1G,maxmem=2G", "--numa", "node", NULL};
	expect_error(e14, "--maxmem given without --slots");
	const char *const e15[] = {"--mem", "1G,maxmem=512M,slots=1", "--numa", "node", NULL};
	expect_error(e15, "--maxmem: 512 MiB is below the RAM (1024 MiB)");
	const char *const e16[] = {"--object", "memory-backend-epc,id=a,size=1G", NULL};
	expect_error(e16, "type \"memory-backend-epc\" not supported");
	const char *const e17[] = {"--numa", "node,mem=-1", NULL};
	expect_error(e17, "mem: \"-1\" is not an unsigned number");
	const char *const e18[] = {"--numa", "node,mem=1Q", NULL};
	expect_error(e18, "a size: digits and an optional B, K, M, G, T, P or E");
	const char *const e19[] = {"--smp", "2,bogus=1", NULL};
	expect_error(e19, "unknown option \"bogus\"");
	const char *const e20[] = {"--numa", "node,mem=1G", "--numa", "node,initiator=0", NULL};
	expect_error(e20, "node 1 has neither CPUs nor memory"); /* no hot-plug window */
	const char *const e22[] = {"--numa", "node,mem=1G,cpus=0", "--numa",
	                           "hmat-lb,initiator=0,target=0,hierarchy=memory,"
	                           "data-type=read-bandwidth,bandwidth=1K",
	                           NULL};
	expect_error(e22, "bandwidth granularity 1024 bytes/s is below 1 MiB/s");
	const char *const e23[] = {"--numa",
	                           "node,mem=1G,cpus=0",
	                           "--numa",
	                           "node,mem=1G,cpus=1",
	                           "--numa",
	                           "hmat-lb,initiator=0,target=0,hierarchy=memory,"
	                           "data-type=access-latency,latency=1",
	                           "--numa",
	                           "hmat-lb,initiator=0,target=1,hierarchy=memory,"
	                           "data-type=access-latency,latency=65535",
	                           NULL};
	expect_error(e23, "values up to 65535 over a base unit of 1 do not fit 16-bit entries");
	const char *const e21[] = {"--numa", "mem,nodeid=0", NULL};
	expect_error(e21, "kind \"mem\" unknown (node, dist, cpu, hmat-lb, hmat-cache)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qemu_numamem), cmocka_unit_test(test_qemu_memhp),
	    cmocka_unit_test(test_qemu_dimmpxm), cmocka_unit_test(test_qemu_acpihmat),
	    cmocka_unit_test(test_smp_apic_ids), cmocka_unit_test(test_mem_units_and_split),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
