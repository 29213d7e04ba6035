/*
 * test_meta.c - the metadata contract of numem/platform.h: the calls that
 * take meta_alloc scratch at run time (the verifier, NUMA emulation, the
 * vNUMA tables) give every byte back with meta_free before they return, on
 * success and on failure; everything else is given back by the release
 * functions.  A counting platform around the host's checks it.
 */
#include <numem/domain.h>
#include <numem/relayout.h>
#include <numem/slab.h>

#include "helpers.h"

DEFINE_TEST_HOST;

static struct numem_platform plat;
static const struct numem_platform *inner;
static struct {
	uint64_t allocs, frees;
	int64_t live;         /* bytes allocated, not freed */
	size_t largest_freed; /* largest block given back */
} c;

static void *count_alloc(void *ctx, size_t bytes, size_t align, numem_nid_t nid)
{
	void *p = inner->meta_alloc(ctx, bytes, align, nid);
	if (p) {
		c.allocs++;
		c.live += (int64_t)bytes;
	}
	return p;
}

static void count_free(void *ctx, void *ptr, size_t bytes)
{
	c.frees++;
	c.live -= (int64_t)bytes;
	if (bytes > c.largest_freed)
		c.largest_freed = bytes;
	inner->meta_free(ctx, ptr, bytes);
}

static void counting(const struct numem_platform *p)
{
	inner = p;
	plat = *p;
	plat.meta_alloc = count_alloc;
	plat.meta_free = count_free;
	memset(&c, 0, sizeof(c));
}

/* NUMA emulation's scratch (the old node and distance tables) comes back
 * inside numem_topo_build;
 * the topology's own arrays come back at numem_topo_release. */
static void test_emulation_scratch(void **state)
{
	(void)state;
	counting(test_plat);
	struct numem_srat_cpu cpus[] = {cpu_apic(0, 0, true), cpu_apic(1, 1, true)};
	struct numem_srat_mem mems[] = {mem_range(0, 0, 4 * GIB, 1),
	                                mem_range(1, 4 * GIB, 4 * GIB, 1)};
	struct numem_srat in = {.nr_cpu = 2, .cpu = cpus, .nr_mem = 2, .mem = mems};
	size_t len;
	uint8_t *t = make_srat(&in, &len);
	struct numem_srat s;
	assert_int_equal(numem_srat_parse(t, len, 0, &plat, &s, NULL), NUMEM_OK);
	free(t);
	struct numem_topo_input ti = {.srat = &s};
	struct numem_topo_opts o = {.emulate_nodes = 8};
	struct numem_topo *topo;
	struct numem_diag d = {0};
	int64_t before = c.live;
	uint64_t frees = c.frees;
	assert_int_equal(numem_topo_build(&plat, &ti, &o, &topo, &d), NUMEM_OK);
	assert_int_equal(topo->nr_nodes, 8);
	assert_true(c.frees > frees); /* scratch was given back ... */
	/* ... the old node tables, with their NUMEM_MAX_NODES^2 distances */
	assert_true(c.largest_freed >= NUMEM_MAX_NODES * NUMEM_MAX_NODES);
	assert_true(c.live > before); /* the topology itself stays */
	numem_topo_release(topo);
	numem_srat_release(&plat, &s);
	assert_int_equal(c.live, 0);
	assert_int_equal(c.allocs, c.frees);
}

static struct numem_system sys;

/* numem_heap_verify and numem_domain_vnuma_tables on a booted system whose
 * heap goes through the counting platform: each call allocates scratch and
 * leaves the live byte count as it found it. */
static void test_verify_and_vnuma_scratch(void **state)
{
	(void)state;
	struct numem_diag d = {0};
	struct numem_system_opts so = {.back_memory = true, .heap.poison = -1};
	if (numem_system_boot_preset(&sys, "x445", &so, &d))
		fail_msg("boot: %s", d.msg);
	numem_host_set_log(sys.m.host, NULL, NUMEM_LOG_ERROR);
	/* The heap's relayout state (taken at the first notifier registration,
	 * which the slab's and domains' inits make; given back at heap release)
	 * comes from the real platform, before the counting starts. */
	struct numem_relayout_notifier first = {0};
	numem_relayout_register(&sys.heap, &first);
	counting(sys.heap.plat);
	sys.heap.plat = &plat;
	struct numem_slab *slab = calloc(1, sizeof(*slab));
	struct numem_domains *doms = calloc(1, sizeof(*doms));
	assert_int_equal(numem_slab_init(slab, &sys.heap, &d), NUMEM_OK);
	assert_int_equal(numem_domains_init(doms, &sys.heap, slab, &d), NUMEM_OK);
	struct numem_cpu *cpu0 = numem_heap_cpu(&sys.heap, 0);

	for (int i = 0; i < 3; i++) {
		int64_t live = c.live;
		uint64_t allocs = c.allocs;
		assert_int_equal(numem_heap_verify(&sys.heap, &d), NUMEM_OK);
		assert_int_equal(c.allocs, allocs + 1); /* it does take scratch */
		assert_int_equal(c.live, live);         /* and gives it all back */
	}

	struct numem_domain_config cfg = {.max_pages = 1024, .nr_vcpus = 2, .nr_vnodes = 2};
	snprintf(cfg.name, sizeof(cfg.name), "meta");
	cfg.vnode[0] = (struct numem_vnode_config){
	    .pages = 512, .pnode = 0, .nr_vcpus = 1, .distance = {10, 20}};
	cfg.vnode[1] = (struct numem_vnode_config){
	    .pages = 512, .pnode = 1, .nr_vcpus = 1, .distance = {20, 10}};
	struct numem_domain *dom;
	assert_int_equal(numem_domain_create(doms, &cfg, cpu0, &dom, &d), NUMEM_OK);
	uint8_t srat[4096], slit[256];
	size_t sl, ll;
	int64_t live = c.live;
	uint64_t allocs = c.allocs;
	assert_int_equal(
	    numem_domain_vnuma_tables(dom, srat, sizeof(srat), &sl, slit, sizeof(slit), &ll),
	    NUMEM_OK);
	assert_int_equal(c.allocs, allocs + 1);
	assert_int_equal(c.live, live);
	/* The failure path (no room for the SRAT) gives it back too. */
	allocs = c.allocs;
	assert_int_not_equal(numem_domain_vnuma_tables(dom, srat, 8, &sl, slit, sizeof(slit), &ll),
	                     NUMEM_OK);
	assert_int_equal(c.allocs, allocs + 1);
	assert_int_equal(c.live, live);

	/* A guest's populate_physmap with many extents (the sorted duplicate
	 * check) takes no platform metadata: its count is the guest's, and an
	 * embedder's meta_alloc may be a boot allocator. */
	uint64_t many[40], done;
	for (int i = 0; i < 40; i++)
		many[i] = (uint64_t)i * 2;
	allocs = c.allocs;
	assert_int_equal(numem_domain_populate_physmap(dom, cpu0, many, 40, 0, NULL, &done, &d),
	                 NUMEM_OK);
	assert_int_equal(done, 40);
	many[39] = 0;
	for (int i = 0; i < 39; i++)
		many[i] = (uint64_t)i * 2 + 1;
	assert_int_equal(numem_domain_populate_physmap(dom, cpu0, many, 40, 0, NULL, &done, &d),
	                 NUMEM_E_INVAL);
	many[39] = 101;
	many[20] = 101;
	assert_int_equal(numem_domain_populate_physmap(dom, cpu0, many, 40, 0, NULL, &done, &d),
	                 NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "frame 101 is named twice"));
	assert_int_equal(c.allocs, allocs);
	/* The ownership verifier's scratch comes back (platform.h lists it). */
	live = c.live;
	numem_heap_drain_all(&sys.heap);
	assert_int_equal(numem_domain_verify(doms, &d), NUMEM_OK);
	assert_true(c.allocs > allocs);
	assert_int_equal(c.live, live);

	assert_int_equal(numem_domain_destroy(doms, cpu0, dom->id, &d), NUMEM_OK);
	numem_domains_release(doms, cpu0);
	for (uint32_t i = 0; i < sys.heap.nr_cpus; i++)
		numem_slab_drain_cpu(slab, &sys.heap.cpu[i]);
	numem_slab_release(slab);
	free(slab);
	free(doms);
	/* Everything taken through the counting platform came back. */
	assert_int_equal(c.live, 0);
	assert_int_equal(c.allocs, c.frees);
	sys.heap.plat = inner;
	numem_relayout_unregister(&sys.heap, &first);
	numem_system_shutdown(&sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    HOST_TEST(test_emulation_scratch),
	    cmocka_unit_test(test_verify_and_vnuma_scratch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
