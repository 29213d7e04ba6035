/*
 * test_heap.c - the page allocator on the preset machines: every flag,
 * policy and both strategies, memoryless nodes, zone limits, watermarks and
 * shrinkers, bad input, zeroing, poisoning, deferred initialisation; the
 * verifier after every test.
 */
#include <stdatomic.h>

#include "helpers.h"

static struct numem_system sys;
static struct numem_diag d;

static void boot(const char *preset, const struct numem_system_opts *o)
{
	memset(&d, 0, sizeof(d));
	if (numem_system_boot_preset(&sys, preset, o, &d))
		fail_msg("boot %s: %s", preset, d.msg);
	numem_host_set_log(sys.m.host, NULL, NUMEM_LOG_ERROR);
}

static void boot_numa(const char *const *args, size_t n, const struct numem_system_opts *o)
{
	boot_numa_args(&sys, args, n, o, &d);
}

static void verify_and_shutdown(void)
{
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("verify: %s", d.msg);
	numem_heap_drain_all(&sys.heap);
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("verify after drain: %s", d.msg);
	numem_system_shutdown(&sys);
}

static numem_nid_t node_of(numem_pfn_t pfn)
{
	return numem_topo_pfn_to_node(sys.m.topo, pfn);
}

static numem_pfn_t must_alloc(struct numem_cpu *c, unsigned order, unsigned flags,
                              struct numem_policy *p)
{
	numem_pfn_t pfn;
	if (numem_alloc(c, order, flags, p, &pfn, &d))
		fail_msg("alloc order %u flags 0x%x: %s", order, flags, d.msg);
	assert_int_equal(pfn.v & ((1ull << order) - 1), 0);
	return pfn;
}

static void test_boot_accounting(void **state)
{
	(void)state;
	boot("x445", NULL);
	struct numem_heap *h = &sys.heap;
	assert_int_equal(h->nr_cpus, 32);
	for (numem_nid_t n = 0; n < 4; n++) {
		assert_int_equal(numem_heap_node_free(h, n), sys.m.topo->node[n].ram_pages);
		assert_int_equal(numem_heap_node_allocated(h, n), 0);
	}
	/* Node 0 has DMA, DMA32 and Normal; the others Normal only. */
	assert_true(numem_heap_zone(h, 0, NUMEM_ZONE_DMA)->populated);
	assert_true(numem_heap_zone(h, 0, NUMEM_ZONE_DMA32)->populated);
	assert_false(numem_heap_zone(h, 1, NUMEM_ZONE_DMA32)->populated);
	const struct numem_zone *z = numem_heap_zone(h, 1, NUMEM_ZONE_NORMAL);
	assert_true(z->wmark_min > 0 && z->wmark_low > z->wmark_min &&
	            z->wmark_high > z->wmark_low);
	assert_int_equal(z->area[NUMEM_MAX_ORDER].nr, (8ull << 30) >> 22);
	verify_and_shutdown();
}

static void test_local_every_order(void **state)
{
	(void)state;
	boot("x445", NULL);
	for (uint32_t c = 0; c < 32; c += 9) {
		struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, c);
		numem_pfn_t p[NUMEM_NR_ORDERS];
		for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++) {
			p[o] = must_alloc(cpu, o, 0, NULL);
			assert_int_equal(node_of(p[o]), cpu->node);
		}
		assert_int_equal(numem_heap_verify(&sys.heap, &d), NUMEM_OK);
		for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++)
			assert_int_equal(numem_free(cpu, p[o], o, &d), NUMEM_OK);
	}
	uint64_t st[NUMEM_NR_STATS];
	numem_heap_node_stats(&sys.heap, 1, st);
	/* numastat counts allocations (one per order, as Linux's
	 * zone_statistics does); the page-weighted twin counts pages. */
	assert_int_equal(st[NUMEM_STAT_NUMA_HIT], NUMEM_NR_ORDERS);
	assert_int_equal(st[NUMEM_STAT_LOCAL_NODE], NUMEM_NR_ORDERS);
	assert_int_equal(st[NUMEM_STAT_LOCAL_PAGES], (1u << 11) - 1);
	assert_int_equal(st[NUMEM_STAT_OTHER_PAGES], 0);
	assert_int_equal(st[NUMEM_STAT_NUMA_MISS], 0);
	verify_and_shutdown();
}

/* Fill node `n` with exact-node allocations of order 9; return how many. */
static uint32_t fill_node(struct numem_cpu *cpu, numem_nid_t n, numem_pfn_t *out, uint32_t max)
{
	struct numem_policy p;
	numem_policy_init(&p, NUMEM_POLICY_PREFERRED);
	p.node = n;
	uint32_t k = 0;
	for (unsigned o = 9;;) {
		numem_pfn_t pfn;
		if (numem_alloc(cpu, o, NUMEM_ALLOC_EXACT_NODE | NUMEM_ALLOC_HIGH, &p, &pfn, &d)) {
			if (o == 0)
				break;
			o--;
			continue;
		}
		assert_int_equal(node_of(pfn), n);
		if (k < max)
			out[k] = pfn;
		k++;
	}
	return k;
}

static void test_exact_node_never_elsewhere(void **state)
{
	(void)state;
	boot("opteron-2n", NULL);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	uint32_t k = fill_node(cpu, 1, NULL, 0);
	assert_true(k > 1000);
	/* Node 1 is exhausted: exact fails, and says so; plain preferred goes to 0. */
	struct numem_policy p;
	numem_policy_init(&p, NUMEM_POLICY_PREFERRED);
	p.node = 1;
	numem_pfn_t pfn;
	assert_int_equal(
	    numem_alloc(cpu, 0, NUMEM_ALLOC_EXACT_NODE | NUMEM_ALLOC_HIGH, &p, &pfn, &d),
	    NUMEM_E_NO_PAGES);
	assert_non_null(strstr(d.msg, "node(s) {1}"));
	pfn = must_alloc(cpu, 0, 0, &p);
	assert_int_equal(node_of(pfn), 0);
	uint64_t st0[NUMEM_NR_STATS], st1[NUMEM_NR_STATS];
	numem_heap_node_stats(&sys.heap, 0, st0);
	numem_heap_node_stats(&sys.heap, 1, st1);
	assert_int_equal(st0[NUMEM_STAT_NUMA_MISS], 1);
	assert_int_equal(st1[NUMEM_STAT_NUMA_FOREIGN], 1);
	assert_true(st1[NUMEM_STAT_OTHER_NODE] > 0); /* cpu 0 is on node 0 */
	numem_system_shutdown(&sys);
}

static void test_bind_stays_in_mask(void **state)
{
	(void)state;
	boot("x445", NULL);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	struct numem_policy p;
	numem_policy_init(&p, NUMEM_POLICY_BIND);
	numem_nodemask_set(&p.nodes, 2);
	numem_nodemask_set(&p.nodes, 3);
	uint64_t n2 = 0, n3 = 0;
	for (;;) {
		numem_pfn_t pfn;
		if (numem_alloc(cpu, 9, NUMEM_ALLOC_HIGH, &p, &pfn, &d))
			break;
		numem_nid_t n = node_of(pfn);
		assert_true(n == 2 || n == 3);
		n2 += n == 2;
		n3 += n == 3;
	}
	assert_int_equal(d.code, NUMEM_E_NO_PAGES);
	assert_true(n2 > 4000 && n3 > 4000); /* both filled: 4096 blocks each */
	assert_int_equal(numem_heap_node_free(&sys.heap, 0), sys.m.topo->node[0].ram_pages);
	/* An empty mask is refused. */
	numem_policy_init(&p, NUMEM_POLICY_BIND);
	numem_pfn_t pfn;
	assert_int_equal(numem_alloc(cpu, 0, 0, &p, &pfn, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "bind"));
	numem_system_shutdown(&sys);
}

static void test_interleave(void **state)
{
	(void)state;
	boot("x445", NULL);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	struct numem_policy p;
	numem_policy_init(&p, NUMEM_POLICY_INTERLEAVE);
	for (numem_nid_t n = 0; n < 4; n++)
		numem_nodemask_set(&p.nodes, n);
	for (int i = 0; i < 40; i++)
		assert_int_equal(node_of(must_alloc(cpu, 0, 0, &p)), i % 4);
	uint64_t st[NUMEM_NR_STATS];
	numem_heap_node_stats(&sys.heap, 3, st);
	assert_int_equal(st[NUMEM_STAT_INTERLEAVE_HIT], 10);
	assert_int_equal(st[NUMEM_STAT_NUMA_HIT], 10);
	assert_int_equal(st[NUMEM_STAT_OTHER_NODE], 10);
	/* The rotor is per CPU: another CPU sharing the policy starts at the
	 * lowest node; this one goes on where it was. */
	struct numem_cpu *other = numem_heap_cpu(&sys.heap, 1);
	assert_int_equal(node_of(must_alloc(other, 0, 0, &p)), 0);
	assert_int_equal(node_of(must_alloc(cpu, 0, 0, &p)), 0);
	assert_int_equal(node_of(must_alloc(other, 0, 0, &p)), 1);
	/* Empty caches: the slow path refills and the rotor still advances
	 * once per allocation (the fast path's miss does not move it). */
	numem_heap_drain_cpu(cpu);
	for (int i = 1; i < 9; i++)
		assert_int_equal(node_of(must_alloc(cpu, i & 1, 0, &p)), i % 4);
	/* A node outside the cpuset: its turn is a miss served elsewhere (the
	 * fast path must not pop the excluded node's cache); the others hit. */
	numem_nodemask_t allowed = {{0}};
	for (numem_nid_t n = 0; n < 3; n++)
		numem_nodemask_set(&allowed, n);
	assert_int_equal(numem_cpu_set_allowed(cpu, &allowed, &d), NUMEM_OK);
	numem_heap_node_stats(&sys.heap, 3, st);
	uint64_t foreign3 = st[NUMEM_STAT_NUMA_FOREIGN];
	for (int i = 1; i < 9; i++) {
		numem_nid_t got = node_of(must_alloc(cpu, 0, 0, &p));
		if (i % 4 == 3)
			assert_true(got < 3);
		else
			assert_int_equal(got, i % 4);
	}
	numem_heap_node_stats(&sys.heap, 3, st);
	assert_int_equal(st[NUMEM_STAT_NUMA_FOREIGN], foreign3 + 2);
	numem_nodemask_set(&allowed, 3);
	assert_int_equal(numem_cpu_set_allowed(cpu, &allowed, &d), NUMEM_OK);
	/* By index (a guest pfn): node = mask[index % 4]. */
	numem_policy_init(&p, NUMEM_POLICY_INTERLEAVE_INDEX);
	numem_nodemask_set(&p.nodes, 1);
	numem_nodemask_set(&p.nodes, 3);
	for (uint64_t i = 0; i < 10; i++) {
		p.index = i;
		assert_int_equal(node_of(must_alloc(cpu, 0, 0, &p)), i % 2 ? 3 : 1);
	}
	/* Weighted: node 0 three turns, node 2 one. */
	numem_policy_init(&p, NUMEM_POLICY_WEIGHTED_INTERLEAVE);
	numem_nodemask_set(&p.nodes, 0);
	numem_nodemask_set(&p.nodes, 2);
	p.weight[0] = 3;
	p.weight[2] = 1;
	const numem_nid_t want[8] = {0, 0, 0, 2, 0, 0, 0, 2};
	for (int i = 0; i < 8; i++)
		assert_int_equal(node_of(must_alloc(cpu, 0, 0, &p)), want[i]);
	verify_and_shutdown();
}

static void test_preferred_many_and_cpuset(void **state)
{
	(void)state;
	boot("epyc-2s8n", NULL);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0); /* node 0 */
	struct numem_policy p;
	numem_policy_init(&p, NUMEM_POLICY_PREFERRED_MANY);
	numem_nodemask_set(&p.nodes, 6);
	numem_nodemask_set(&p.nodes, 2);
	/* Nearest of the mask to node 0: 2 (same socket, 12) before 6 (32). */
	assert_int_equal(node_of(must_alloc(cpu, 0, 0, &p)), 2);
	/* A cpuset of {5}: local allocation goes there; policies too. */
	numem_nodemask_t m = {{0}};
	numem_nodemask_set(&m, 5);
	assert_int_equal(numem_cpu_set_allowed(cpu, &m, &d), NUMEM_OK);
	assert_int_equal(node_of(must_alloc(cpu, 0, 0, NULL)), 5);
	/* Preferred-many may fall back to node 5; bind to {2, 6} may not. */
	assert_int_equal(node_of(must_alloc(cpu, 0, 0, &p)), 5);
	p.mode = NUMEM_POLICY_BIND;
	numem_pfn_t pfn;
	assert_int_equal(numem_alloc(cpu, 0, 0, &p, &pfn, &d), NUMEM_E_NO_PAGES);
	assert_non_null(strstr(d.msg, "allowed"));
	numem_nodemask_t empty = {{0}};
	assert_int_equal(numem_cpu_set_allowed(cpu, &empty, &d), NUMEM_E_INVAL);
	verify_and_shutdown();
}

static void test_memoryless_cpu(void **state)
{
	(void)state;
	const char *const args[] = {"node,nodeid=0,cpus=0-1,mem=1G", "node,nodeid=1,cpus=2-3",
	                            "node,nodeid=2,cpus=4,mem=1G",   "dist,src=1,dst=2,val=15",
	                            "dist,src=0,dst=1,val=25",       "dist,src=0,dst=2,val=30"};
	boot_numa(args, 6, NULL);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 2);
	assert_int_equal(cpu->node, 1);
	assert_int_equal(cpu->mem_node, 2);
	numem_pfn_t pfn = must_alloc(cpu, 0, 0, NULL);
	assert_int_equal(node_of(pfn), 2);
	uint64_t st[NUMEM_NR_STATS];
	numem_heap_node_stats(&sys.heap, 2, st);
	assert_int_equal(st[NUMEM_STAT_NUMA_HIT], 1);
	assert_int_equal(st[NUMEM_STAT_OTHER_NODE], 1); /* the CPU is not on node 2 */
	/* Fast-path allocations (its cache is warm now) count the same way. */
	for (int i = 0; i < 5; i++)
		must_alloc(cpu, i & 1, 0, NULL);
	numem_heap_node_stats(&sys.heap, 2, st);
	assert_int_equal(st[NUMEM_STAT_NUMA_HIT], 6);
	assert_int_equal(st[NUMEM_STAT_OTHER_NODE], 6);
	assert_int_equal(st[NUMEM_STAT_OTHER_PAGES], 1 + 3 + 2 * 2);
	assert_int_equal(st[NUMEM_STAT_LOCAL_NODE], 0);
	assert_int_equal(st[NUMEM_STAT_LOCAL_PAGES], 0);
	/* Preferring the memoryless node means its nearest node with memory. */
	struct numem_policy p;
	numem_policy_init(&p, NUMEM_POLICY_PREFERRED);
	p.node = 1;
	assert_int_equal(node_of(must_alloc(numem_heap_cpu(&sys.heap, 0), 0, 0, &p)), 2);
	p.node = 9;
	assert_int_equal(numem_alloc(cpu, 0, 0, &p, &pfn, &d), NUMEM_E_INVAL);
	verify_and_shutdown();
}

/*
 * Issue 8 (scale): the fast path counts an allocation once, in
 * cpu->fast_allocs[order]; numem_heap_node_stats() folds those counts into
 * numa_hit, local_node and local_pages of the CPU's fast node, and a
 * recompute (here a cpuset change) moves them into the CPU's counters
 * without losing or doubling any.
 */
static void test_fast_counts_fold(void **state)
{
	(void)state;
	boot("x445", NULL);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *cpu = numem_heap_cpu(h, 9); /* node 1 */
	assert_int_equal(cpu->fast_node, 1);
	uint64_t st[NUMEM_NR_STATS], other[NUMEM_NR_STATS];
	for (unsigned o = 0; o <= NUMEM_PCP_MAX_ORDER; o++)
		for (int i = 0; i < 10; i++)
			must_alloc(cpu, o, 0, NULL);
	uint64_t fast = 0;
	for (unsigned o = 0; o <= NUMEM_PCP_MAX_ORDER; o++)
		fast += cpu->fast_allocs[o];
	assert_true(fast >= 30); /* all but each order's first (a refill) */
	numem_heap_node_stats(h, 1, st);
	assert_int_equal(st[NUMEM_STAT_NUMA_HIT], 40);
	assert_int_equal(st[NUMEM_STAT_LOCAL_NODE], 40);
	assert_int_equal(st[NUMEM_STAT_LOCAL_PAGES], 10 * (1 + 2 + 4 + 8));
	assert_int_equal(st[NUMEM_STAT_OTHER_NODE], 0);
	numem_heap_node_stats(h, 0, other);
	assert_int_equal(other[NUMEM_STAT_NUMA_HIT], 0);
	/* A cpuset change recomputes the fast path: the counts move into
	 * stat[1], the figures stay. */
	numem_nodemask_t m = {0};
	numem_nodemask_set(&m, 1);
	numem_nodemask_set(&m, 2);
	assert_int_equal(numem_cpu_set_allowed(cpu, &m, &d), NUMEM_OK);
	for (unsigned o = 0; o <= NUMEM_PCP_MAX_ORDER; o++)
		assert_int_equal(cpu->fast_allocs[o], 0);
	assert_int_equal(cpu->stat[1][NUMEM_STAT_NUMA_HIT], 40);
	uint64_t again[NUMEM_NR_STATS];
	numem_heap_node_stats(h, 1, again);
	assert_memory_equal(st, again, sizeof(st));
	/* CPU 9 allowed node 2 only: no fast path (its own node is out of the
	 * cpuset; fast_pcp is the empty one), the slow path counts a miss on
	 * node 2 and a foreign allocation on node 1, and node 1's folded
	 * counts stay as they were. */
	numem_nodemask_t only2 = {0};
	numem_nodemask_set(&only2, 2);
	assert_int_equal(numem_cpu_set_allowed(cpu, &only2, &d), NUMEM_OK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(node_of(must_alloc(cpu, 0, 0, NULL)), 2);
	numem_heap_node_stats(h, 1, again);
	st[NUMEM_STAT_NUMA_FOREIGN] += 5;
	assert_memory_equal(st, again, sizeof(st));
	numem_heap_node_stats(h, 2, other);
	assert_int_equal(other[NUMEM_STAT_NUMA_MISS], 5);
	assert_int_equal(other[NUMEM_STAT_OTHER_NODE], 5);
	assert_int_equal(other[NUMEM_STAT_OTHER_PAGES], 5);
	verify_and_shutdown();
}

static void test_zone_limits(void **state)
{
	(void)state;
	boot("x445", NULL);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 31); /* node 3: no low memory */
	for (int i = 0; i < 200; i++) {
		numem_pfn_t p32 = must_alloc(cpu, i % 4, NUMEM_ALLOC_DMA32, NULL);
		assert_true(p32.v < (4ull << 30) >> 12);
		numem_pfn_t p16 = must_alloc(cpu, 0, NUMEM_ALLOC_DMA, NULL);
		assert_true(p16.v < (16ull << 20) >> 12);
	}
	/* Only node 0 has low memory: those were all misses for node 3. */
	uint64_t st[NUMEM_NR_STATS];
	numem_heap_node_stats(&sys.heap, 3, st);
	assert_int_equal(st[NUMEM_STAT_NUMA_FOREIGN], 400); /* allocations, not pages */
	/* Exhaust DMA: then a DMA request fails and names the limit. */
	numem_pfn_t pfn;
	while (numem_alloc(cpu, 0, NUMEM_ALLOC_DMA | NUMEM_ALLOC_HIGH, NULL, &pfn, &d) == NUMEM_OK)
		assert_true(pfn.v < 4096);
	assert_int_equal(d.code, NUMEM_E_NO_PAGES);
	assert_non_null(strstr(d.msg, "zone limit DMA"));
	verify_and_shutdown();
}

/* The two strategies: node 0 has only large blocks, node 1 an order-0 one. */
static void strategy_case(enum numem_strategy strat, numem_nid_t expect)
{
	const char *const args[] = {"node,nodeid=0,cpus=0,mem=64M", "node,nodeid=1,cpus=1,mem=64M"};
	struct numem_system_opts o = {.heap.strategy = strat};
	boot_numa(args, 2, &o);
	struct numem_cpu *c0 = numem_heap_cpu(&sys.heap, 0), *c1 = numem_heap_cpu(&sys.heap, 1);
	numem_pfn_t a = must_alloc(c1, 0, NUMEM_ALLOC_NOPCP, NULL);
	numem_pfn_t b = must_alloc(c1, 0, NUMEM_ALLOC_NOPCP, NULL);
	assert_int_equal(numem_free(c1, a, 0, &d), NUMEM_OK);
	numem_heap_drain_cpu(c1); /* a goes back to node 1's buddy lists as order 0 */
	numem_pfn_t got = must_alloc(c0, 0, NUMEM_ALLOC_NOPCP, NULL);
	assert_int_equal(node_of(got), expect);
	if (strat == NUMEM_STRATEGY_XEN)
		assert_int_equal(got.v, a.v);
	(void)b;
	verify_and_shutdown();
}

static void test_strategy_linux_splits_local(void **state)
{
	(void)state;
	strategy_case(NUMEM_STRATEGY_LINUX, 0);
}

static void test_strategy_xen_takes_exact_remote(void **state)
{
	(void)state;
	strategy_case(NUMEM_STRATEGY_XEN, 1);
}

static uint64_t shrink_pages_held;
static numem_pfn_t shrink_pool[4096];
static struct numem_cpu *shrink_cpu;

static uint64_t test_shrink(void *ctx, struct numem_cpu *cpu, numem_nid_t node, uint64_t pages)
{
	(void)ctx;
	(void)node;
	uint64_t freed = 0;
	while (shrink_pages_held && freed < pages) {
		shrink_pages_held--;
		assert_int_equal(numem_free(cpu, shrink_pool[shrink_pages_held], 0, NULL),
		                 NUMEM_OK);
		freed++;
	}
	return freed;
}

static void test_watermarks_and_shrinkers(void **state)
{
	(void)state;
	const char *const args[] = {"node,nodeid=0,cpus=0-1,mem=128M"};
	boot_numa(args, 1, NULL);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	shrink_cpu = numem_heap_cpu(&sys.heap, 1);
	struct numem_shrinker s = {.scan = test_shrink};
	numem_heap_register_shrinker(&sys.heap, &s);
	/* A cache takes 4096 pages. */
	for (shrink_pages_held = 0; shrink_pages_held < 4096; shrink_pages_held++)
		shrink_pool[shrink_pages_held] = must_alloc(shrink_cpu, 0, 0, NULL);
	/* Fill the rest without reclaim down to the low mark. */
	numem_pfn_t pfn;
	uint64_t n = 0;
	while (numem_alloc(cpu, 0, NUMEM_ALLOC_NORECLAIM, NULL, &pfn, &d) == NUMEM_OK)
		n++;
	assert_int_equal(s.calls, 0);
	const struct numem_zone *z = numem_heap_zone(&sys.heap, 0, NUMEM_ZONE_DMA32);
	assert_true(z->free_pages <= z->wmark_low + 1 + sys.heap.pcp_batch);
	/* With reclaim: the shrinker is asked and the allocation succeeds. */
	assert_int_equal(numem_alloc(cpu, 0, 0, NULL, &pfn, &d), NUMEM_OK);
	assert_true(s.calls >= 1 && s.freed >= 1);
	/* High priority may go below min. */
	numem_heap_unregister_shrinker(&sys.heap, &s);
	while (numem_alloc(cpu, 0, 0, NULL, &pfn, &d) == NUMEM_OK)
		;
	uint64_t before = z->free_pages;
	assert_int_equal(numem_alloc(cpu, 0, NUMEM_ALLOC_HIGH | NUMEM_ALLOC_NOPCP, NULL, &pfn, &d),
	                 NUMEM_OK);
	assert_true(before <= z->wmark_min + 1);
	(void)n;
	verify_and_shutdown();
}

static void test_bad_frees(void **state)
{
	(void)state;
	const struct numem_ram_range res[] = {{(1ull << 30), 64 * 4096}};
	struct numem_system_opts o = {.heap = {.reserved = res, .nr_reserved = 1}};
	boot("opteron-2n", &o);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *cpu = numem_heap_cpu(h, 0);
	numem_pfn_t p = must_alloc(cpu, 3, 0, NULL);
	numem_pfn_t q = must_alloc(cpu, 0, 0, NULL);
	uint64_t free0 = numem_heap_node_free(h, 0);
	struct {
		numem_pfn_t pfn;
		unsigned order;
		enum numem_err err;
	} cases[] = {
	    {numem_pfn(p.v + 1), 0, NUMEM_E_NOT_ALLOCATED}, /* inside an allocated block */
	    {p, 2, NUMEM_E_BAD_ORDER},
	    {numem_pfn(p.v + 4), 2, NUMEM_E_NOT_ALLOCATED},
	    {numem_pfn(p.v + 1), 1, NUMEM_E_MISALIGNED},
	    {numem_pfn(1ull << 40), 0, NUMEM_E_RANGE},
	    {numem_pfn(0xa0), 0, NUMEM_E_RANGE},                       /* the PC hole */
	    {numem_pfn((1ull << 30) >> 12), 0, NUMEM_E_NOT_ALLOCATED}, /* reserved */
	    {p, 11, NUMEM_E_INVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum numem_err e = numem_free(cpu, cases[i].pfn, cases[i].order, &d);
		if (e != cases[i].err)
			fail_msg("case %zu: got %s (%s), want %s", i, numem_err_name(e), d.msg,
			         numem_err_name(cases[i].err));
		assert_true(strlen(d.msg) > 20);
	}
	assert_int_equal(numem_heap_node_free(h, 0), free0);
	assert_int_equal(numem_heap_verify(h, &d), NUMEM_OK);
	/* Double frees: of a cached page, of a merged block. */
	assert_int_equal(numem_free(cpu, q, 0, &d), NUMEM_OK);
	assert_int_equal(numem_free(cpu, q, 0, &d), NUMEM_E_DOUBLE_FREE);
	assert_int_equal(numem_free(cpu, p, 3, &d), NUMEM_OK);
	numem_heap_drain_all(h);
	assert_int_equal(numem_free(cpu, p, 3, &d), NUMEM_E_DOUBLE_FREE);
	assert_int_equal(numem_free(cpu, numem_pfn(p.v + 2), 1, &d), NUMEM_E_DOUBLE_FREE);
	/* Bad allocation arguments. */
	numem_pfn_t pfn;
	assert_int_equal(numem_alloc(cpu, 11, 0, NULL, &pfn, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_alloc(cpu, 0, 0x100, NULL, &pfn, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_alloc(cpu, 0, 3, NULL, &pfn, &d), NUMEM_E_INVAL);
	struct numem_policy bad;
	numem_policy_init(&bad, (enum numem_policy_mode)77);
	assert_int_equal(numem_alloc(cpu, 0, 0, &bad, &pfn, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "unknown policy"));
	/* The reserved range was never handed out. */
	assert_int_equal(numem_heap_zone(h, 0, NUMEM_ZONE_DMA32)->reserved_pages +
	                     numem_heap_zone(h, 1, NUMEM_ZONE_DMA32)->reserved_pages,
	                 64);
	verify_and_shutdown();
}

static void test_zero_and_poison(void **state)
{
	(void)state;
	struct numem_system_opts o = {.back_memory = true, .heap.poison = 1};
	boot("p4", &o);
	const struct numem_platform *plat = numem_host_platform(sys.m.host);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	numem_pfn_t p = must_alloc(cpu, 1, 0, NULL);
	uint8_t *v = plat->phys_to_virt(plat->ctx, numem_pfn_to_paddr(p));
	memset(v, 0xee, 2 * 4096);
	assert_int_equal(numem_free(cpu, p, 1, &d), NUMEM_OK);
	assert_int_equal(v[100], 0x6b); /* poisoned */
	numem_pfn_t z = must_alloc(cpu, 1, NUMEM_ALLOC_ZERO, NULL);
	assert_int_equal(z.v, p.v); /* LIFO cache */
	for (int i = 0; i < 2 * 4096; i++)
		assert_int_equal(v[i], 0);
	/* A write after free is caught when the page is handed out again. */
	assert_int_equal(numem_free(cpu, z, 1, &d), NUMEM_OK);
	v[4096 + 77] = 1;
	numem_pfn_t again;
	assert_int_equal(numem_alloc(cpu, 1, 0, NULL, &again, &d), NUMEM_E_CORRUPT);
	assert_non_null(strstr(d.msg, "byte 77"));
	verify_and_shutdown();
}

/* NUMEM_ALLOC_ZERO never returns unzeroed pages with NUMEM_OK: without
 * phys_to_virt it is refused up front, on unbacked pages after the fact,
 * and either way nothing is lost. */
static void *no_mapping(void *ctx, numem_paddr_t pa)
{
	(void)ctx;
	(void)pa;
	return NULL;
}

static void test_zero_needs_mapping(void **state)
{
	(void)state;
	boot("p4", NULL);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *cpu = numem_heap_cpu(h, 0);
	uint64_t free0 = numem_heap_node_free(h, 0);
	const struct numem_platform *saved = h->plat;
	struct numem_platform plat = *h->plat;
	h->plat = &plat;
	numem_pfn_t pfn = numem_pfn(12345);
	/* Unbacked pages: phys_to_virt exists but answers NULL. */
	plat.phys_to_virt = no_mapping;
	assert_int_equal(numem_alloc(cpu, 0, NUMEM_ALLOC_ZERO, NULL, &pfn, &d),
	                 NUMEM_E_UNSUPPORTED);
	assert_non_null(strstr(d.msg, "cannot be zeroed"));
	assert_int_equal(numem_heap_node_free(h, 0), free0);
	/* No phys_to_virt at all: refused before anything is taken. */
	plat.phys_to_virt = NULL;
	assert_int_equal(numem_alloc(cpu, 2, NUMEM_ALLOC_ZERO, NULL, &pfn, &d),
	                 NUMEM_E_UNSUPPORTED);
	assert_non_null(strstr(d.msg, "phys_to_virt"));
	h->plat = saved;
	assert_int_equal(numem_heap_node_free(h, 0), free0);
	verify_and_shutdown();
}

/* Every allocated block has exactly one owner; only that owner frees,
 * splits or hands it over; a block given back never reaches its next user
 * still naming the previous owner. */
static void test_owners(void **state)
{
	(void)state;
	boot("p4", NULL);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *cpu = numem_heap_cpu(h, 0);
	uint16_t who;
	numem_pfn_t g;
	/* A domain's page (owner 7), freed by the heap's user: refused. */
	assert_int_equal(numem_alloc_owned(cpu, 0, 0, NULL, 7, &g, &d), NUMEM_OK);
	assert_int_equal(numem_heap_pfn_owner(h, g, &who), NUMEM_PS_ALLOCATED);
	assert_int_equal(who, 7);
	uint64_t free0 = numem_heap_node_free(h, 0);
	assert_int_equal(numem_free(cpu, g, 0, &d), NUMEM_E_OWNER);
	assert_non_null(strstr(d.msg, "domain 7"));
	assert_int_equal(numem_free_owned(cpu, g, 0, 8, &d), NUMEM_E_OWNER);
	assert_int_equal(numem_heap_node_free(h, 0), free0);
	assert_int_equal(numem_heap_pfn_owner(h, g, &who), NUMEM_PS_ALLOCATED);
	assert_int_equal(who, 7);
	/* The owner frees it; the per-CPU cache hands the same page to the
	 * heap's user next, with owner 0 (fast path and slow path alike). */
	assert_int_equal(numem_free_owned(cpu, g, 0, 7, &d), NUMEM_OK);
	numem_pfn_t u = must_alloc(cpu, 0, 0, NULL);
	assert_int_equal(u.v, g.v);
	assert_int_equal(numem_heap_pfn_owner(h, u, &who), NUMEM_PS_ALLOCATED);
	assert_int_equal(who, 0);
	assert_int_equal(numem_free(cpu, u, 0, &d), NUMEM_OK);
	assert_int_equal(numem_alloc_owned(cpu, 0, NUMEM_ALLOC_NOPCP, NULL, 9, &g, &d), NUMEM_OK);
	assert_int_equal(numem_free_owned(cpu, g, 0, 9, &d), NUMEM_OK);
	u = must_alloc(cpu, 0, NUMEM_ALLOC_DMA32, NULL);
	assert_int_equal(numem_heap_pfn_owner(h, u, &who), NUMEM_PS_ALLOCATED);
	assert_int_equal(who, 0);
	assert_int_equal(numem_free(cpu, u, 0, &d), NUMEM_OK);
	/* Hand-over checks the giver. */
	numem_pfn_t b = must_alloc(cpu, 2, 0, NULL);
	assert_int_equal(numem_heap_set_owner(h, b, 2, 3, 4, &d), NUMEM_E_OWNER);
	assert_int_equal(numem_heap_set_owner(h, b, 1, 0, 4, &d), NUMEM_E_BAD_ORDER);
	assert_int_equal(numem_heap_set_owner(h, b, 2, 0, 4, &d), NUMEM_OK);
	assert_int_equal(numem_free(cpu, b, 2, &d), NUMEM_E_OWNER);
	assert_int_equal(numem_free_owned(cpu, b, 2, 4, &d), NUMEM_OK);
	/* Slab-owned pages are refused to the heap's user. */
	assert_int_equal(numem_alloc_owned(cpu, 0, 0, NULL, NUMEM_OWNER_SLAB, &g, &d), NUMEM_OK);
	assert_int_equal(numem_free(cpu, g, 0, &d), NUMEM_E_OWNER);
	assert_non_null(strstr(d.msg, "slab"));
	assert_int_equal(numem_free_owned(cpu, g, 0, NUMEM_OWNER_SLAB, &d), NUMEM_OK);
	/* Owner ids between the domains' and the core layers' are nobody's
	 * (numem_domain_verify calls a block holding one corrupt): neither an
	 * allocation nor a hand-over may create one, and a refused hand-over
	 * leaves the block with its holder. */
	uint64_t freeb = 0, freea = 0;
	for (numem_nid_t n = 0; n < h->topo->nr_nodes; n++)
		freeb += numem_heap_node_free(h, n);
	for (uint32_t bad = NUMEM_OWNER_DOMAIN_MAX + 1; bad < NUMEM_OWNER_SLAB; bad += 0x7ff) {
		assert_int_equal(numem_alloc_owned(cpu, 0, 0, NULL, (uint16_t)bad, &g, &d),
		                 NUMEM_E_INVAL);
		assert_non_null(strstr(d.msg, "nobody's"));
	}
	assert_int_equal(numem_alloc_owned(cpu, 0, 0, NULL, NUMEM_OWNER_SLAB - 1, &g, &d),
	                 NUMEM_E_INVAL);
	assert_int_equal(numem_alloc_owned(cpu, 3, 0, NULL, 0x8000, &g, &d), NUMEM_E_INVAL);
	for (numem_nid_t n = 0; n < h->topo->nr_nodes; n++)
		freea += numem_heap_node_free(h, n);
	assert_int_equal(freea, freeb);
	b = must_alloc(cpu, 2, 0, NULL);
	assert_int_equal(numem_heap_set_owner(h, b, 2, 0, NUMEM_OWNER_DOMAIN_MAX + 1, &d),
	                 NUMEM_E_INVAL);
	assert_int_equal(numem_heap_set_owner(h, b, 2, 0, 0x8000, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_heap_pfn_owner(h, b, &who), NUMEM_PS_ALLOCATED);
	assert_int_equal(who, 0);
	/* Per-node figures of a node the machine does not have are zero (they
	 * read past the zone array). */
	for (uint32_t n = h->topo->nr_nodes; n < NUMEM_MAX_NODES; n += 7) {
		assert_int_equal(numem_heap_node_free(h, (numem_nid_t)n), 0);
		assert_int_equal(numem_heap_node_allocated(h, (numem_nid_t)n), 0);
	}
	assert_int_equal(numem_heap_node_free(h, NUMEM_NID_NONE), 0);
	assert_int_equal(numem_heap_node_allocated(h, NUMEM_NID_NONE), 0);
	/* A block nested inside another (a frame two owners claim) is caught
	 * by the verifier: every count still adds up, but the walk now checks
	 * that nothing inside a block heads a block. */
	numem_pfn_t outer = must_alloc(cpu, 3, NUMEM_ALLOC_NOPCP, NULL);
	struct numem_page *inner = numem_pfn_to_page(h->ft, numem_pfn(outer.v + 2));
	uint64_t saved = atomic_load((_Atomic uint64_t *)&inner->flags);
	uint64_t keep = saved & ~(NUMEM_PG_STATE_MASK << NUMEM_PG_STATE_SHIFT |
	                          NUMEM_PG_ORDER_MASK << NUMEM_PG_ORDER_SHIFT |
	                          NUMEM_PG_OWNER_MASK << NUMEM_PG_OWNER_SHIFT);
	atomic_store((_Atomic uint64_t *)&inner->flags,
	             keep | (uint64_t)NUMEM_PS_ALLOCATED << NUMEM_PG_STATE_SHIFT |
	                 1ull << NUMEM_PG_ORDER_SHIFT | 5ull << NUMEM_PG_OWNER_SHIFT);
	numem_heap_drain_all(h);
	assert_int_equal(numem_heap_verify(h, &d), NUMEM_E_CORRUPT);
	assert_non_null(strstr(d.msg, "two blocks claim it"));
	atomic_store((_Atomic uint64_t *)&inner->flags, saved);
	assert_int_equal(numem_heap_verify(h, &d), NUMEM_OK);
	assert_int_equal(numem_free(cpu, outer, 3, &d), NUMEM_OK);
	assert_int_equal(numem_heap_set_owner(h, b, 2, 0, NUMEM_OWNER_DOMAIN_MAX, &d), NUMEM_OK);
	assert_int_equal(numem_free_owned(cpu, b, 2, NUMEM_OWNER_DOMAIN_MAX, &d), NUMEM_OK);
	verify_and_shutdown();
}

/* split_page: an order-9 block becomes 512 order-0 blocks of the same owner,
 * each freed on its own; bad splits change nothing. */
static void test_split(void **state)
{
	(void)state;
	boot("p4", NULL);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *cpu = numem_heap_cpu(h, 0);
	uint64_t free0 = numem_heap_node_free(h, 0);
	numem_pfn_t b;
	assert_int_equal(numem_alloc_owned(cpu, 9, 0, NULL, 5, &b, &d), NUMEM_OK);
	assert_int_equal(numem_heap_split(NULL, b, 9, 0, 5, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "no heap"));
	assert_int_equal(numem_heap_set_owner(NULL, b, 9, 5, 6, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_heap_split(h, b, 9, 9, 5, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_heap_split(h, b, 9, 10, 5, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_heap_split(h, b, 9, 0, 6, &d), NUMEM_E_OWNER);
	assert_int_equal(numem_heap_split(h, b, 8, 0, 5, &d), NUMEM_E_BAD_ORDER);
	assert_int_equal(numem_heap_split(h, numem_pfn(b.v + 1), 9, 0, 5, &d), NUMEM_E_MISALIGNED);
	assert_int_equal(numem_heap_split(h, numem_pfn(b.v + 2), 1, 0, 5, &d),
	                 NUMEM_E_NOT_ALLOCATED);
	assert_int_equal(numem_heap_verify(h, &d), NUMEM_OK);
	/* Split into order 3, then one of those into order 0. */
	assert_int_equal(numem_heap_split(h, b, 9, 3, 5, &d), NUMEM_OK);
	assert_int_equal(numem_free_owned(cpu, b, 9, 5, &d), NUMEM_E_BAD_ORDER);
	assert_int_equal(numem_heap_split(h, numem_pfn(b.v + 8), 3, 0, 5, &d), NUMEM_OK);
	assert_int_equal(numem_heap_verify(h, &d), NUMEM_OK);
	uint16_t who;
	assert_int_equal(numem_heap_pfn_owner(h, numem_pfn(b.v + 13), &who), NUMEM_PS_ALLOCATED);
	assert_int_equal(who, 5);
	/* Free the pieces one by one, in an order that makes merges happen
	 * late: odd order-0 pieces, then the order-3 blocks, then the rest. */
	for (uint64_t i = 8; i < 16; i += 2)
		assert_int_equal(numem_free_owned(cpu, numem_pfn(b.v + i + 1), 0, 5, &d), NUMEM_OK);
	for (uint64_t i = 16; i < 512; i += 8)
		assert_int_equal(numem_free_owned(cpu, numem_pfn(b.v + i), 3, 5, &d), NUMEM_OK);
	assert_int_equal(numem_free_owned(cpu, b, 3, 5, &d), NUMEM_OK);
	assert_int_equal(numem_heap_verify(h, &d), NUMEM_OK);
	for (uint64_t i = 8; i < 16; i += 2)
		assert_int_equal(numem_free_owned(cpu, numem_pfn(b.v + i), 0, 5, &d), NUMEM_OK);
	numem_heap_drain_all(h);
	assert_int_equal(numem_heap_node_free(h, 0), free0);
	/* Everything merged back: an order-9 block is there again. */
	numem_pfn_t again;
	assert_int_equal(numem_alloc(cpu, 9, 0, NULL, &again, &d), NUMEM_OK);
	assert_int_equal(numem_free(cpu, again, 9, &d), NUMEM_OK);
	verify_and_shutdown();
}

static void test_deferred_growth(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.deferred = true};
	boot("epyc-2s8n", &o);
	struct numem_heap *h = &sys.heap;
	uint64_t touched = numem_host_touched_bytes(sys.m.host);
	assert_true(sys.ft.init_sections < 64); /* of 4097 */
	assert_true(touched < 200ull << 20);
	assert_int_equal(numem_heap_verify(h, &d), NUMEM_OK);
	/* Node 1's free memory counts its deferred sections. */
	assert_int_equal(numem_heap_node_free(h, 1), sys.m.topo->node[1].ram_pages);
	/* Allocate 2 GiB on node 1: sections come online as needed. */
	struct numem_cpu *cpu = numem_heap_cpu(h, 40);
	assert_int_equal(cpu->node, 1);
	uint64_t before = sys.ft.init_sections;
	for (int i = 0; i < 512; i++)
		assert_int_equal(node_of(must_alloc(cpu, 10, 0, NULL)), 1);
	assert_true(sys.ft.init_sections >= before + 16);
	assert_int_equal(numem_heap_node_allocated(h, 1), 512ull << 10);
	verify_and_shutdown();
}

/*
 * The free fast path's guards (issue 8): it finds descriptors through the
 * heap's online map, so a pfn of a section not online yet (its descriptors
 * unwritten) must still be refused by the slow path with its reason, and
 * the map must agree with the frame table for every online section.  A
 * free whose order does not match, and a misaligned one, are the slow
 * path's too (the fast path has no alignment test: only an aligned pfn can
 * head an allocated block of that order).  The platform's direct map is
 * the address phys_to_virt gives.
 */
static void test_free_fast_path_guards(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.deferred = true, .back_memory = true};
	boot("epyc-2s8n", &o);
	struct numem_heap *h = &sys.heap;
	const struct numem_frametable *ft = &sys.ft;
	struct numem_cpu *cpu = numem_heap_cpu(h, 0);
	uint64_t offline = UINT64_MAX, online = 0;
	for (uint64_t s = 0; s < ft->nr_sections; s++) {
		uint8_t st = numem_section_state(ft, s);
		uintptr_t base = atomic_load(&h->online_map[s]);
		if (st & NUMEM_SECTION_ONLINE) {
			numem_pfn_t first = numem_pfn(s << ft->pfn_section_shift);
			assert_true(base & 1);
			assert_ptr_equal((struct numem_page *)(base - 1 + first.v * 32),
			                 numem_pfn_to_page(ft, first));
			online++;
		} else {
			assert_int_equal(base, 0);
			if ((st & NUMEM_SECTION_PRESENT) && offline == UINT64_MAX)
				offline = s;
		}
	}
	assert_true(online > 0);
	assert_true(offline != UINT64_MAX);
	numem_pfn_t stray = numem_pfn(offline << ft->pfn_section_shift);
	assert_int_equal(numem_free(cpu, stray, 0, &d), NUMEM_E_NOT_ALLOCATED);
	assert_non_null(strstr(d.msg, "not initialised yet"));
	/* Order and alignment mismatches on an allocated pfn. */
	numem_pfn_t p = must_alloc(cpu, 1, 0, NULL);
	assert_int_equal(numem_free(cpu, p, 0, &d), NUMEM_E_BAD_ORDER);
	assert_int_equal(numem_free(cpu, numem_pfn(p.v + 1), 1, &d), NUMEM_E_MISALIGNED);
	assert_int_equal(numem_free(cpu, numem_pfn(p.v + 1), 0, &d), NUMEM_E_NOT_ALLOCATED);
	/* The direct map: one add, the same address as phys_to_virt. */
	const struct numem_platform *plat = h->plat;
	assert_non_null(plat->direct_map);
	numem_paddr_t pa = numem_pfn_to_paddr(p);
	assert_ptr_equal(numem_phys_to_virt(plat, pa), plat->phys_to_virt(plat->ctx, pa));
	assert_ptr_equal(numem_phys_to_virt(plat, pa), (char *)plat->direct_map + pa.v);
	assert_int_equal(numem_free(cpu, p, 1, &d), NUMEM_OK);
	verify_and_shutdown();
}

/*
 * Issue 8 (scale): a free's fast path pushes a head of the CPU's first zone
 * on cpu->fast_pcp without computing the cache from the head's flags; the
 * zone bits in cpu->free_want are what make that right.  A head of another
 * node's zone, or of the DMA32 zone, must still go on the cache of its own
 * zone, and a CPU whose cpuset leaves it no fast zone frees every head
 * through the general path (and never pushes on the shared empty cache).
 */
static uint32_t zone_index_of(numem_pfn_t pfn)
{
	const struct numem_page *pg = numem_pfn_to_page(&sys.ft, pfn);
	uint64_t f = atomic_load_explicit((_Atomic uint64_t *)&pg->flags, memory_order_relaxed);
	return (uint32_t)((f >> NUMEM_PG_NODE_SHIFT) & NUMEM_PG_NODE_MASK) * NUMEM_NR_ZONE_TYPES +
	       (uint32_t)((f >> NUMEM_PG_ZONE_SHIFT) & NUMEM_PG_ZONE_MASK);
}

static void test_free_fast_zone(void **state)
{
	(void)state;
	boot("x445", NULL);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *cpu = numem_heap_cpu(h, 0);
	struct numem_pcp *fast = cpu->fast_pcp;
	assert_int_equal(cpu->free_tail_above, h->pcp_high); /* no trace ring */
	assert_ptr_equal(fast, &cpu->pcp[zone_index_of(must_alloc(cpu, 0, 0, NULL))]);
	/* The fast zone's own head: on fast_pcp. */
	numem_pfn_t p = must_alloc(cpu, 0, 0, NULL);
	uint32_t before = fast->count[0];
	assert_int_equal(numem_free(cpu, p, 0, &d), NUMEM_OK);
	assert_int_equal(fast->count[0], before + 1);
	assert_int_equal(numem_free(cpu, p, 0, &d), NUMEM_E_DOUBLE_FREE);
	/* Another node's head (preferred node 1), then a DMA32 head of node 0:
	 * each on the cache of its zone, fast_pcp untouched. */
	struct numem_policy pref;
	numem_policy_init(&pref, NUMEM_POLICY_PREFERRED);
	pref.node = 1;
	numem_pfn_t q[2] = {must_alloc(cpu, 1, 0, &pref),
	                    must_alloc(cpu, 0, NUMEM_ALLOC_DMA32, NULL)};
	unsigned order[2] = {1, 0};
	assert_int_equal(node_of(q[0]), 1);
	assert_int_equal(zone_index_of(q[1]) % NUMEM_NR_ZONE_TYPES, NUMEM_ZONE_DMA32);
	for (int i = 0; i < 2; i++) {
		struct numem_pcp *own = &cpu->pcp[zone_index_of(q[i])];
		assert_ptr_not_equal(own, fast);
		uint32_t own_before = own->count[order[i]], fast_before = fast->count[order[i]];
		assert_int_equal(numem_free(cpu, q[i], order[i], &d), NUMEM_OK);
		assert_int_equal(own->count[order[i]], own_before + 1);
		assert_ptr_equal(own->list[order[i]], numem_pfn_to_page(&sys.ft, q[i]));
		assert_int_equal(fast->count[order[i]], fast_before);
		/* and a second free of it is still refused */
		assert_int_equal(numem_free(cpu, q[i], order[i], &d), NUMEM_E_DOUBLE_FREE);
	}
	/* No fast zone: CPU 0 allowed node 1 only. */
	numem_nodemask_t only1 = {0};
	numem_nodemask_set(&only1, 1);
	assert_int_equal(numem_cpu_set_allowed(cpu, &only1, &d), NUMEM_OK);
	struct numem_pcp *none = cpu->fast_pcp;
	assert_ptr_not_equal(none, fast);
	for (int i = 0; i < 40; i++) {
		numem_pfn_t r = must_alloc(cpu, 0, 0, NULL);
		assert_int_equal(node_of(r), 1);
		struct numem_pcp *own = &cpu->pcp[zone_index_of(r)];
		uint32_t own_before = own->count[0];
		assert_int_equal(numem_free(cpu, r, 0, &d), NUMEM_OK);
		assert_int_equal(own->count[0], own_before + 1);
		assert_null(none->list[0]);
		assert_int_equal(none->count[0], 0);
	}
	verify_and_shutdown();
}

/*
 * Issue 8 (scale): two CPUs' fast paths share no cache line that either
 * writes.  Each CPU writes its caches (pcp), its counters (stat) and the
 * descriptors of its own blocks; it reads its handle, the heap's cpu array
 * and frame-table fields and the online map.  Every line of one CPU's
 * handle, caches and counters must be apart from every other CPU's, and
 * from the heap's and the frame table's structs (read on every call).
 */
static bool lines_meet(const void *a, size_t alen, const void *b, size_t blen)
{
	uintptr_t a0 = (uintptr_t)a / 64, a1 = ((uintptr_t)a + alen - 1) / 64;
	uintptr_t b0 = (uintptr_t)b / 64, b1 = ((uintptr_t)b + blen - 1) / 64;
	return a0 <= b1 && b0 <= a1;
}

static void test_cpu_lines_private(void **state)
{
	(void)state;
	static const char *const presets[] = {"x445", "epyc-2s8n"};
	for (int k = 0; k < 2; k++) {
		struct numem_system_opts o = {.heap.deferred = true}; /* quicker boot */
		boot(presets[k], &o);
		struct numem_heap *h = &sys.heap;
		size_t pcp_bytes = h->nr_zones * sizeof(struct numem_pcp);
		size_t stat_bytes = (h->max_nodes + 1) * sizeof(uint64_t[NUMEM_NR_STATS]);
		for (uint32_t a = 0; a < h->nr_cpus; a++) {
			const struct numem_cpu *ca = &h->cpu[a];
			const void *wa[3] = {ca, ca->pcp, ca->stat};
			size_t la[3] = {sizeof(*ca), pcp_bytes, stat_bytes};
			for (int i = 0; i < 3; i++) {
				if (lines_meet(wa[i], la[i], h, sizeof(*h)) ||
				    lines_meet(wa[i], la[i], &sys.ft, sizeof(sys.ft)))
					fail_msg(
					    "%s: cpu %u: its data %d shares a line with the heap "
					    "or frame table",
					    presets[k], a, i);
				for (uint32_t b = a + 1; b < h->nr_cpus; b++) {
					const struct numem_cpu *cb = &h->cpu[b];
					const void *wb[3] = {cb, cb->pcp, cb->stat};
					for (int j = 0; j < 3; j++)
						if (lines_meet(wa[i], la[i], wb[j], la[j]))
							fail_msg("%s: cpus %u and %u share a line "
							         "(%d, %d)",
							         presets[k], a, b, i, j);
				}
			}
			/* The fast path's answers point inside the CPU's own data. */
			assert_true((const char *)ca->fast_pcp >= (const char *)ca->pcp &&
			            (const char *)ca->fast_pcp < (const char *)ca->pcp + pcp_bytes);
			assert_true((const char *)ca->fast_allocs >= (const char *)ca->stat &&
			            (const char *)(ca->fast_allocs + NUMEM_PCP_MAX_ORDER) <
			                (const char *)ca->stat + stat_bytes);
		}
		verify_and_shutdown();
	}
}

/*
 * Issue 7, item 8: on a machine declaring 128 TiB (two nodes of 64 TiB)
 * with each node's frame-table bytes reserved at its start, the first
 * 512 GiB of each node are reserve; the first helping used to initialise
 * sections until each zone held 2 * high + 1024 free pages, i.e. all 4096
 * all-reserved sections per node (8 GB of descriptors touched).  Now it is
 * bounded whatever the tables declare, also with a huge min_free_kbytes,
 * and the watermark shares do not overflow.
 */
static void test_deferred_first_helping_bounded(void **state)
{
	(void)state;
	static const char *const big[] = {"node,nodeid=0,cpus=0,mem=64T",
	                                  "node,nodeid=1,cpus=1,mem=64T"};
	for (int k = 0; k < 2; k++) {
		struct numem_system_opts o = {.heap.deferred = true, .reserve_metadata = true};
		if (k)
			o.heap.min_free_kbytes = UINT32_MAX; /* 4 TiB: not clamped when given */
		boot_numa(big, 2, &o);
		struct numem_heap *h = &sys.heap;
		uint64_t touched = numem_host_touched_bytes(sys.m.host);
		assert_true(sys.ft.init_sections <= 2u * 4 * (2 + 8)); /* of 1M sections */
		if (touched >= 256ull << 20)
			fail_msg("boot touched %llu MiB", (unsigned long long)(touched >> 20));
		for (uint32_t i = 0; i < h->nr_zones; i++) {
			const struct numem_zone *z = &h->zone[i];
			assert_true(z->wmark_min <= z->present_pages - z->reserved_pages);
			assert_true(z->wmark_min <= z->wmark_low && z->wmark_low <= z->wmark_high);
		}
		uint64_t sum = 0;
		for (uint32_t i = 0; i < h->nr_zones; i++)
			sum += h->zone[i].wmark_min;
		/* default: Linux's clamp, 262144 KiB; given: the given share */
		uint64_t want = k ? (uint64_t)UINT32_MAX >> 2 : 262144 >> 2;
		assert_true(sum <= want && sum + h->nr_zones * 2 + (want >> 16) >= want);
		/* Free memory still counts every deferred page. */
		uint64_t reserved = 0;
		for (unsigned t = 0; t < NUMEM_NR_ZONE_TYPES; t++)
			reserved += numem_heap_zone(h, 1, (enum numem_zone_type)t)->reserved_pages;
		assert_true(reserved > 0);
		assert_int_equal(numem_heap_node_free(h, 1),
		                 sys.m.topo->node[1].ram_pages - reserved);
		numem_system_shutdown(&sys);
	}
}

static void test_zonelist_orders(void **state)
{
	(void)state;
	boot("x445", NULL);
	struct numem_heap *h = &sys.heap;
	/* Node order, node 1, limit DMA32: node 1 has no DMA32: first zone is
	 * node 0's DMA32. Normal limit: node 1 Normal first. */
	const uint16_t *zl =
	    &h->zonelist[((size_t)1 * NUMEM_NR_ZONE_TYPES + NUMEM_ZONE_NORMAL) * h->zonelist_len];
	assert_int_equal(h->zone[zl[0]].node, 1);
	assert_int_equal(h->zone[zl[1]].node, 0);
	assert_int_equal(h->zone[zl[1]].type, NUMEM_ZONE_NORMAL);
	assert_int_equal(h->zone[zl[2]].type, NUMEM_ZONE_DMA32);
	numem_system_shutdown(&sys);
	struct numem_system_opts o = {.heap.zone_order = true};
	boot("x445", &o);
	h = &sys.heap;
	zl = &h->zonelist[((size_t)1 * NUMEM_NR_ZONE_TYPES + NUMEM_ZONE_NORMAL) * h->zonelist_len];
	/* Zone order: every node's Normal before anyone's DMA32. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(h->zone[zl[i]].type, NUMEM_ZONE_NORMAL);
	assert_int_equal(h->zone[zl[4]].type, NUMEM_ZONE_DMA32);
	verify_and_shutdown();
}

static void test_movable_zone(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.movable_pages = (2ull << 30) >> 12};
	boot("x460-2n", &o);
	struct numem_heap *h = &sys.heap;
	assert_int_equal(numem_heap_zone(h, 1, NUMEM_ZONE_MOVABLE)->present_pages,
	                 (2ull << 30) >> 12);
	struct numem_cpu *cpu = numem_heap_cpu(h, 20);
	numem_pfn_t pfn;
	uint64_t n = 0;
	/* Without MOVABLE, node 1's movable 2 GiB is never used. */
	struct numem_policy p;
	numem_policy_init(&p, NUMEM_POLICY_BIND);
	numem_nodemask_set(&p.nodes, 1);
	while (numem_alloc(cpu, 9, NUMEM_ALLOC_HIGH, &p, &pfn, &d) == NUMEM_OK)
		n++;
	/* 7168 blocks of 2 MiB, less the few the watermark keeps free. */
	assert_true(n <= (14ull << 30) >> 21 && n >= ((14ull << 30) >> 21) - 4);
	assert_int_equal(numem_alloc(cpu, 9, NUMEM_ALLOC_MOVABLE, &p, &pfn, &d), NUMEM_OK);
	assert_true(pfn.v >= h->movable_start[1]);
	verify_and_shutdown();
}

/*
 * A free of a head of each zone type (DMA, DMA32, MOVABLE of the CPU's own
 * node and of another) from a CPU whose fast zone is NORMAL: each goes on
 * the cache of its own zone, found from the head's node and type bits
 * (free_zone_pcp), orders 0 and 2 through the fast path's second compare,
 * order 9 through free_thp (its compare leaves the zone bits out).
 */
static void test_free_fast_zone_types(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.movable_pages = (2ull << 30) >> 12};
	boot("x460-2n", &o);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *cpu = numem_heap_cpu(h, 0);
	numem_nid_t home = cpu->fast_node;
	assert_int_equal(h->zone[cpu->fast_pcp - cpu->pcp].type, NUMEM_ZONE_NORMAL);
	struct numem_policy bind[2];
	for (int b = 0; b < 2; b++) {
		numem_policy_init(&bind[b], NUMEM_POLICY_BIND);
		numem_nodemask_set(&bind[b].nodes, (numem_nid_t)(b ? !home : home));
	}
	static const struct {
		unsigned flags;
		int bind; /* 0: the CPU's node, 1: the other */
		enum numem_zone_type type;
	} c[] = {{NUMEM_ALLOC_DMA, 0, NUMEM_ZONE_DMA},
	         {NUMEM_ALLOC_DMA32, 0, NUMEM_ZONE_DMA32},
	         {NUMEM_ALLOC_MOVABLE, 0, NUMEM_ZONE_MOVABLE},
	         {NUMEM_ALLOC_MOVABLE, 1, NUMEM_ZONE_MOVABLE}};
	static const unsigned orders[] = {0, 2, NUMEM_PCP_THP_ORDER};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		for (size_t k = 0; k < sizeof(orders) / sizeof(orders[0]); k++) {
			unsigned order = orders[k];
			if (c[i].type == NUMEM_ZONE_DMA && order == NUMEM_PCP_THP_ORDER)
				continue; /* 16 MiB of DMA: keep the test about the free */
			numem_pfn_t p = must_alloc(cpu, order, c[i].flags, &bind[c[i].bind]);
			uint32_t zi = zone_index_of(p);
			assert_int_equal(zi % NUMEM_NR_ZONE_TYPES, c[i].type);
			assert_int_equal(zi / NUMEM_NR_ZONE_TYPES, c[i].bind ? !home : home);
			struct numem_pcp *own = &cpu->pcp[zi];
			unsigned li = order <= NUMEM_PCP_MAX_ORDER ? order : NUMEM_PCP_THP_LIST;
			uint32_t before = own->count[li], fast = cpu->fast_pcp->count[li];
			assert_int_equal(numem_free(cpu, p, order, &d), NUMEM_OK);
			assert_int_equal(own->count[li], before + 1);
			assert_ptr_equal(own->list[li], numem_pfn_to_page(&sys.ft, p));
			assert_int_equal(cpu->fast_pcp->count[li], fast);
			assert_int_equal(numem_free(cpu, p, order, &d), NUMEM_E_DOUBLE_FREE);
		}
	verify_and_shutdown();
}

static void test_unusable_index(void **state)
{
	(void)state;
	boot("p4", NULL);
	const struct numem_zone *z = numem_heap_zone(&sys.heap, 0, NUMEM_ZONE_DMA32);
	assert_int_equal(numem_zone_unusable_index(z, 0), 0);
	uint32_t u10 = numem_zone_unusable_index(z, 10);
	assert_true(u10 < 50); /* almost all in 4 MiB blocks */
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	numem_pfn_t p[2000];
	for (int i = 0; i < 2000; i++)
		p[i] = must_alloc(cpu, 0, NUMEM_ALLOC_NOPCP, NULL);
	for (int i = 0; i < 2000; i += 2)
		numem_free(cpu, p[i], 0, &d);
	numem_heap_drain_all(&sys.heap);
	assert_true(numem_zone_unusable_index(z, 1) > 0);
	verify_and_shutdown();
}

static void test_trace_ring(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.trace_entries = 64};
	boot("x445", &o);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	struct numem_trace_event ev[128];
	must_alloc(cpu, 0, 0, NULL);
	assert_int_equal(numem_trace_drain(cpu->trace, ev, 128), 0); /* off */
	atomic_store(&sys.heap.tracing, true);
	numem_pfn_t p = must_alloc(cpu, 2, 0, NULL);
	assert_int_equal(numem_free(cpu, p, 2, &d), NUMEM_OK);
	uint32_t n = numem_trace_drain(cpu->trace, ev, 128);
	assert_true(n >= 3); /* refill, alloc, free */
	assert_int_equal(ev[n - 1].event, NUMEM_EV_FREE);
	assert_int_equal(ev[n - 1].a, (uint32_t)p.v);
	assert_int_equal(ev[n - 1].b, 2);
	assert_string_equal(numem_trace_event_name(ev[n - 2].event), "alloc");
	for (int i = 0; i < 200; i++)
		numem_free(cpu, must_alloc(cpu, 0, 0, NULL), 0, &d);
	n = numem_trace_drain(cpu->trace, ev, 128);
	assert_int_equal(n, 64);
	assert_true(cpu->trace->lost > 0);
	/* A CPU with a ring takes the free's tail every time (free_tail_above
	 * 0): its caches still drain at the heap's high mark. */
	assert_int_equal(cpu->free_tail_above, 0);
	static numem_pfn_t many[400];
	for (int i = 0; i < 400; i++)
		many[i] = must_alloc(cpu, 0, 0, NULL);
	for (int i = 0; i < 400; i++)
		assert_int_equal(numem_free(cpu, many[i], 0, &d), NUMEM_OK);
	assert_true(cpu->fast_pcp->pages <= sys.heap.pcp_high);
	verify_and_shutdown();

	/* Boot touches what it uses, not the rings it may fill: 1024 CPUs of
	 * 65536 events are 2 GiB of metadata (lazily backed here), which
	 * heap init used to clear byte by byte. */
	o = (struct numem_system_opts){
	    .heap = {.trace_entries = 65536, .nr_cpus = 1024, .poison = -1}};
	boot("opteron-2n", &o);
	uint64_t meta = numem_host_meta_bytes(sys.m.host);
	uint64_t touched = numem_host_touched_bytes(sys.m.host);
	assert_true(meta > (2ull << 30));
	if (touched > (256ull << 20))
		fail_msg("boot touched %llu of %llu metadata bytes", (unsigned long long)touched,
		         (unsigned long long)meta);
	cpu = numem_heap_cpu(&sys.heap, 1023);
	atomic_store(&sys.heap.tracing, true);
	p = must_alloc(cpu, 0, 0, NULL);
	assert_int_equal(numem_free(cpu, p, 0, &d), NUMEM_OK);
	assert_true(numem_trace_drain(cpu->trace, ev, 128) >= 2);
	verify_and_shutdown();
}

/* A platform that counts meta_alloc calls (and forwards them). */
static const struct numem_platform *counted_base;
static unsigned counted_allocs;

static void *counted_meta_alloc(void *ctx, size_t bytes, size_t align, numem_nid_t nid)
{
	counted_allocs++;
	return counted_base->meta_alloc(ctx, bytes, align, nid);
}

/* Issue 7 item 4: sizes computed from the caller's numbers (trace_entries,
 * nr_cpus, reserved ranges) are checked before anything is allocated. */
static void test_init_rejects_overflowing_sizes(void **state)
{
	(void)state;
	boot("x445", NULL);
	counted_base = sys.heap.plat;
	struct numem_platform plat = *sys.heap.plat;
	plat.meta_alloc = counted_meta_alloc;
	static struct numem_heap h2;
	struct numem_heap_opts o;
	uint64_t meta = numem_host_meta_bytes(sys.m.host);

	memset(&o, 0, sizeof(o));
	o.trace_entries = 1u << 31; /* a power of two: 64 GiB per CPU */
	counted_allocs = 0;
	memset(&d, 0, sizeof(d));
	assert_int_equal(numem_heap_init(&h2, &plat, sys.m.topo, &sys.ft, &o, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "trace_entries 2147483648"));
	assert_int_equal(counted_allocs, 0);

	memset(&o, 0, sizeof(o));
	o.nr_cpus = UINT32_MAX;
	memset(&d, 0, sizeof(d));
	assert_int_equal(numem_heap_init(&h2, &plat, sys.m.topo, &sys.ft, &o, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "nr_cpus 4294967295"));
	assert_int_equal(counted_allocs, 0);

	/* Both at their limits: fine on 64 bits only if the total fits. */
	memset(&o, 0, sizeof(o));
	o.nr_cpus = NUMEM_HEAP_MAX_CPUS;
	o.trace_entries = NUMEM_HEAP_MAX_TRACE;
	memset(&d, 0, sizeof(d));
	if (sizeof(size_t) < 8) {
		assert_int_equal(numem_heap_init(&h2, &plat, sys.m.topo, &sys.ft, &o, &d),
		                 NUMEM_E_INVAL);
		assert_non_null(strstr(d.msg, "overflows"));
		assert_int_equal(counted_allocs, 0);
	}

	struct numem_ram_range wrap[2] = {{.base = 1ull << 20, .length = 4096},
	                                  {.base = UINT64_MAX - 4095, .length = 8192}};
	memset(&o, 0, sizeof(o));
	o.reserved = wrap;
	o.nr_reserved = 2;
	memset(&d, 0, sizeof(d));
	assert_int_equal(numem_heap_init(&h2, &plat, sys.m.topo, &sys.ft, &o, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "reserved range 1"));
	assert_non_null(strstr(d.msg, "wraps"));
	assert_int_equal(counted_allocs, 0);
	/* One whose end only wraps when rounded up to a page. */
	wrap[1] = (struct numem_ram_range){.base = UINT64_MAX - 4095, .length = 4095};
	assert_int_equal(numem_heap_init(&h2, &plat, sys.m.topo, &sys.ft, &o, &d), NUMEM_E_INVAL);
	assert_int_equal(counted_allocs, 0);
	assert_int_equal(numem_host_meta_bytes(sys.m.host), meta);
	verify_and_shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_boot_accounting),
	    cmocka_unit_test(test_local_every_order),
	    cmocka_unit_test(test_exact_node_never_elsewhere),
	    cmocka_unit_test(test_bind_stays_in_mask),
	    cmocka_unit_test(test_interleave),
	    cmocka_unit_test(test_preferred_many_and_cpuset),
	    cmocka_unit_test(test_memoryless_cpu),
	    cmocka_unit_test(test_fast_counts_fold),
	    cmocka_unit_test(test_zone_limits),
	    cmocka_unit_test(test_strategy_linux_splits_local),
	    cmocka_unit_test(test_strategy_xen_takes_exact_remote),
	    cmocka_unit_test(test_watermarks_and_shrinkers),
	    cmocka_unit_test(test_bad_frees),
	    cmocka_unit_test(test_zero_and_poison),
	    cmocka_unit_test(test_zero_needs_mapping),
	    cmocka_unit_test(test_owners),
	    cmocka_unit_test(test_split),
	    cmocka_unit_test(test_deferred_growth),
	    cmocka_unit_test(test_free_fast_path_guards),
	    cmocka_unit_test(test_free_fast_zone),
	    cmocka_unit_test(test_cpu_lines_private),
	    cmocka_unit_test(test_deferred_first_helping_bounded),
	    cmocka_unit_test(test_zonelist_orders),
	    cmocka_unit_test(test_movable_zone),
	    cmocka_unit_test(test_free_fast_zone_types),
	    cmocka_unit_test(test_unusable_index),
	    cmocka_unit_test(test_trace_ring),
	    cmocka_unit_test(test_init_rejects_overflowing_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
