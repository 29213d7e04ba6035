/*
 * test_domain.c - domains: balanced and confined reservations, automatic
 * placement, vNUMA (with the guest's tables through iasl and numem's own
 * parser), ballooning, destruction returning every page, bad input.
 */
#include <numem/domain.h>

#include "helpers.h"
#include "run_cmd.h"

static struct numem_system sys;
static struct numem_slab *slab;
static struct numem_domains *doms;
static struct numem_cpu *cpu0;
static struct numem_diag d;

static void boot(const char *preset)
{
	/* Poisoning off even in debug builds: these guests hold gigabytes, and
	 * poisoning them on free would touch all of it. */
	struct numem_system_opts o = {.back_memory = true, .heap.poison = -1};
	if (numem_system_boot_preset(&sys, preset, &o, &d))
		fail_msg("boot: %s", d.msg);
	numem_host_set_log(sys.m.host, NULL, NUMEM_LOG_ERROR);
	slab = calloc(1, sizeof(*slab));
	doms = calloc(1, sizeof(*doms));
	assert_int_equal(numem_slab_init(slab, &sys.heap, &d), NUMEM_OK);
	assert_int_equal(numem_domains_init(doms, &sys.heap, slab, &d), NUMEM_OK);
	cpu0 = numem_heap_cpu(&sys.heap, 0);
}

static void shutdown(void)
{
	numem_domains_release(doms, cpu0);
	for (uint32_t c = 0; c < sys.heap.nr_cpus; c++)
		numem_slab_drain_cpu(slab, &sys.heap.cpu[c]);
	assert_int_equal(numem_slab_verify(slab, &d), NUMEM_OK);
	numem_slab_release(slab);
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("verify: %s", d.msg);
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
		assert_int_equal(numem_heap_node_allocated(&sys.heap, n), 0);
	free(slab);
	free(doms);
	numem_system_shutdown(&sys);
}

static struct numem_domain *create(const char *name, uint64_t pages, uint32_t vcpus,
                                   const int32_t *pin)
{
	struct numem_domain_config c = {.max_pages = pages, .nr_vcpus = vcpus};
	snprintf(c.name, sizeof(c.name), "%s", name);
	if (pin) {
		c.pinned = true;
		for (uint32_t i = 0; i < vcpus; i++)
			c.pin[i] = pin[i];
	}
	struct numem_domain *dom;
	if (numem_domain_create(doms, &c, cpu0, &dom, &d))
		fail_msg("create %s: %s", name, d.msg);
	return dom;
}

static numem_nid_t node_of_gpfn(const struct numem_domain *dom, uint64_t gpfn)
{
	return numem_topo_pfn_to_node(sys.m.topo, numem_pfn(numem_domain_p2m(dom, gpfn)));
}

static void test_balanced_reservation(void **state)
{
	(void)state;
	boot("x445");
	/* 3 vcpus on node 1, 1 on node 3: extents split 3:1. */
	const int32_t pin[4] = {8, 9, 10, 24};
	struct numem_domain *dom = create("spread", 1u << 20, 4, pin);
	uint64_t done;
	for (uint64_t total = 0; total < 1001; total += 77) {
		assert_int_equal(
		    numem_domain_increase_reservation(dom, cpu0, 77, 0, NULL, &done, &d), NUMEM_OK);
		assert_int_equal(done, 77);
		uint64_t n = dom->tot_pages;
		/* Within one extent per node of the vcpu distribution. */
		assert_true(llabs((long long)dom->pages_on_node[1] * 4 - (long long)n * 3) <= 4);
		assert_true(llabs((long long)dom->pages_on_node[3] * 4 - (long long)n * 1) <= 4);
		assert_int_equal(dom->pages_on_node[0] + dom->pages_on_node[2], 0);
	}
	/* Order-9 extents balance the same way. */
	struct numem_domain *big = create("big", 1u << 21, 2, (const int32_t[]){0, 16});
	assert_int_equal(numem_domain_increase_reservation(big, cpu0, 11, 9, NULL, &done, &d),
	                 NUMEM_OK);
	assert_true(big->pages_on_node[0] == 6 * 512 || big->pages_on_node[0] == 5 * 512);
	assert_int_equal(big->pages_on_node[0] + big->pages_on_node[2], 11 * 512);
	/* p2m: every frame maps, owner set, extents contiguous. */
	for (uint64_t g = 0; g < 11 * 512; g++) {
		uint64_t mfn = numem_domain_p2m(big, g);
		assert_true(mfn != NUMEM_P2M_NONE);
		if (g % 512)
			assert_int_equal(mfn, numem_domain_p2m(big, g - 1) + 1);
	}
	struct numem_page *pg = numem_pfn_to_page(&sys.ft, numem_pfn(numem_domain_p2m(big, 0)));
	assert_int_equal((pg->flags >> NUMEM_PG_OWNER_SHIFT) & NUMEM_PG_OWNER_MASK, big->id);
	shutdown();
}

static void test_confined(void **state)
{
	(void)state;
	boot("x445");
	struct numem_domain *dom = create("confined", 1u << 20, 2, NULL);
	struct numem_res r = {.mode = NUMEM_RES_NODE, .node = 3};
	uint64_t done;
	assert_int_equal(numem_domain_increase_reservation(dom, cpu0, 300, 2, &r, &done, &d),
	                 NUMEM_OK);
	for (uint64_t g = 0; g < 1200; g++)
		assert_int_equal(node_of_gpfn(dom, g), 3);
	struct numem_res m = {.mode = NUMEM_RES_MASK};
	numem_nodemask_set(&m.nodes, 1);
	numem_nodemask_set(&m.nodes, 2);
	assert_int_equal(numem_domain_increase_reservation(dom, cpu0, 100, 0, &m, &done, &d),
	                 NUMEM_OK);
	for (uint64_t g = 1200; g < 1300; g++) {
		numem_nid_t n = node_of_gpfn(dom, g);
		assert_true(n == 1 || n == 2);
	}
	/* A node with no room left: exact fails and says so; nothing leaks. */
	struct numem_domain *hog = create("hog", 3u << 20, 1, NULL);
	uint64_t before = numem_heap_node_allocated(&sys.heap, 3);
	assert_int_equal(numem_domain_increase_reservation(hog, cpu0, 3u << 11, 9, &r, &done, &d),
	                 NUMEM_E_NO_PAGES);
	assert_true(done > 0);
	assert_int_equal(numem_heap_node_allocated(&sys.heap, 3), before + done * 512);
	assert_int_equal(hog->tot_pages, done * 512);
	shutdown();
}

static void test_auto_placement(void **state)
{
	(void)state;
	boot("x445");
	/* Empty machine: each 4 GiB domain fits one node; equal free memory on
	 * nodes 1-3 (node 0 has less), fewest vcpus placed first. */
	numem_nid_t expect[4] = {1, 2, 3, 0};
	for (int i = 0; i < 4; i++) {
		char name[16];
		snprintf(name, sizeof(name), "auto%d", i);
		struct numem_domain *dom = create(name, 1u << 20, 2, NULL);
		assert_true(dom->auto_placed);
		numem_nodemask_t want = {{0}};
		numem_nodemask_set(&want, expect[i]);
		assert_memory_equal(&dom->node_affinity, &want, sizeof(want));
		assert_int_equal(dom->vcpu[0].node, expect[i]);
		uint64_t done;
		assert_int_equal(
		    numem_domain_increase_reservation(dom, cpu0, 1u << 20, 0, NULL, &done, &d),
		    NUMEM_OK);
		assert_int_equal(dom->pages_on_node[expect[i]], 1u << 20);
	}
	/* A 12 GiB domain needs two nodes. */
	struct numem_domain *wide = create("wide", 3u << 20, 4, NULL);
	uint32_t nodes = 0;
	for (numem_nid_t n = 0; n < 4; n++)
		nodes += numem_nodemask_test(&wide->node_affinity, n);
	/* Each node has at most 4 GiB left (node 0 a little less, and every
	 * candidate set meets node 0 among its nearest): 4 nodes. */
	assert_int_equal(nodes, 4);
	shutdown();
}

static void test_vnuma(void **state)
{
	(void)state;
	boot("x445");
	struct numem_domain_config c = {.max_pages = 2u << 18, .nr_vcpus = 4, .nr_vnodes = 2};
	snprintf(c.name, sizeof(c.name), "vnuma");
	c.vnode[0] = (struct numem_vnode_config){
	    .pages = 1u << 18, .pnode = 1, .nr_vcpus = 2, .distance = {10, 25}};
	c.vnode[1] = (struct numem_vnode_config){
	    .pages = 1u << 18, .pnode = 3, .nr_vcpus = 2, .distance = {25, 10}};
	struct numem_domain *dom;
	assert_int_equal(numem_domain_create(doms, &c, cpu0, &dom, &d), NUMEM_OK);
	assert_int_equal(dom->vcpu[0].node, 1);
	assert_int_equal(dom->vcpu[3].node, 3);
	uint64_t done;
	assert_int_equal(numem_domain_increase_reservation(dom, cpu0, 2u << 18, 0, NULL, &done, &d),
	                 NUMEM_OK);
	assert_int_equal(node_of_gpfn(dom, 0), 1);
	assert_int_equal(node_of_gpfn(dom, (1u << 18) - 1), 1);
	assert_int_equal(node_of_gpfn(dom, 1u << 18), 3);
	assert_int_equal(dom->pages_on_node[1], 1u << 18);
	/* The guest's tables: iasl disassembles them, numem parses them back. */
	uint8_t srat[4096], slit[256];
	size_t sl, ll;
	assert_int_equal(
	    numem_domain_vnuma_tables(dom, srat, sizeof(srat), &sl, slit, sizeof(slit), &ll),
	    NUMEM_OK);
	char dir[] = "/tmp/numem-vnuma-XXXXXX", path[256], cmd[512];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/SRAT.bin", dir);
	assert_int_equal(numem_write_file(path, srat, sl), 0);
	snprintf(path, sizeof(path), "%s/SLIT.bin", dir);
	assert_int_equal(numem_write_file(path, slit, ll), 0);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d SRAT.bin SLIT.bin >/dev/null 2>&1", dir);
	assert_int_equal(run_cmd(cmd, NULL), 0);
	struct numem_machine_src src;
	char err[256];
	assert_int_equal(numem_machine_src_dir(&src, dir, err, sizeof(err)), 0);
	struct numem_machine guest;
	struct numem_machine_opts strict = {.acpi_flags = NUMEM_ACPI_STRICT,
	                                    .topo.flags = NUMEM_TOPO_STRICT};
	assert_int_equal(numem_machine_load(&guest, &src, &strict, &d), NUMEM_OK);
	assert_int_equal(guest.topo->nr_nodes, 2);
	assert_int_equal(guest.topo->nr_cpus, 4);
	assert_int_equal(guest.topo->cpu[2].node, 1);
	assert_int_equal(guest.topo->node[1].ram_pages, 1u << 18);
	assert_int_equal(guest.topo->distance[0][1], 25);
	numem_machine_unload(&guest);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(run_cmd(cmd, NULL), 0);
	shutdown();
}

static void test_balloon(void **state)
{
	(void)state;
	boot("opteron-2n");
	struct numem_domain *dom = create("balloon", 1u << 18, 2, NULL);
	assert_int_equal(numem_domain_set_target(dom, cpu0, 100000, &d), NUMEM_OK);
	assert_int_equal(dom->tot_pages, 100000);
	assert_int_equal(numem_domain_set_target(dom, cpu0, 40000, &d), NUMEM_OK);
	assert_int_equal(dom->tot_pages, 40000);
	assert_int_equal(numem_domain_set_target(dom, cpu0, 70000, &d), NUMEM_OK);
	assert_int_equal(dom->tot_pages, 70000);
	uint64_t held = 0;
	for (numem_nid_t n = 0; n < 2; n++)
		held += numem_heap_node_allocated(&sys.heap, n);
	assert_true(held >= 70000); /* plus the p2m and domain structs */
	assert_int_equal(numem_domain_set_target(dom, cpu0, 1u << 19, &d), NUMEM_E_INVAL);
	shutdown();
}

static void test_bad_input(void **state)
{
	(void)state;
	boot("x445");
	struct numem_domain *dom = create("d", 1000, 1, NULL);
	uint64_t done;
	uint64_t free_before = numem_heap_node_free(&sys.heap, 1);
	assert_int_equal(numem_domain_increase_reservation(dom, cpu0, 1001, 0, NULL, &done, &d),
	                 NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "max_pages"));
	struct numem_res r = {.mode = NUMEM_RES_NODE, .node = 9};
	assert_int_equal(numem_domain_increase_reservation(dom, cpu0, 1, 0, &r, &done, &d),
	                 NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "outside the machine"));
	assert_int_equal(numem_heap_node_free(&sys.heap, 1), free_before);
	assert_int_equal(dom->tot_pages, 0);
	assert_int_equal(numem_domain_destroy(doms, cpu0, 77, &d), NUMEM_E_INVAL);
	struct numem_domain_config c = {
	    .max_pages = 10, .nr_vcpus = 2, .pinned = true, .pin = {0, 99}};
	struct numem_domain *bad;
	assert_int_equal(numem_domain_create(doms, &c, cpu0, &bad, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "pinned to cpu 99"));
	struct numem_domain_config c2 = {.max_pages = 10, .nr_vcpus = 1};
	numem_nodemask_set(&c2.nodes, 7);
	assert_int_equal(numem_domain_create(doms, &c2, cpu0, &bad, &d), NUMEM_E_INVAL);
	uint64_t g[2] = {4, 4};
	assert_int_equal(numem_domain_populate_physmap(dom, cpu0, g, 1, 0, NULL, &done, &d),
	                 NUMEM_OK);
	assert_int_equal(numem_domain_populate_physmap(dom, cpu0, g + 1, 1, 0, NULL, &done, &d),
	                 NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "already populated"));
	assert_int_equal(doms->nr_domains, 1);
	shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_balanced_reservation),
	    cmocka_unit_test(test_confined),
	    cmocka_unit_test(test_auto_placement),
	    cmocka_unit_test(test_vnuma),
	    cmocka_unit_test(test_balloon),
	    cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
