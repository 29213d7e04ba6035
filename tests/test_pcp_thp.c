/*
 * test_pcp_thp.c - the per-CPU lists of the THP order (NUMEM_PCP_THP_ORDER,
 * order 9): allocation and free through the cache with no zone lock, its
 * high mark and drains, every check of the free (double free of a cached
 * block, wrong order, wrong pfn, another owner), poisoning, the watermark
 * as Linux decides it (cached blocks are not free pages; the watermark
 * gates the pop), pressure, exhaustion (a failing allocation drains its
 * CPU's caches first), free counts and the dump, the verifier (including
 * corrupted lists), a relayout commit with blocks cached (pending, then
 * diverted), and two CPUs at once (also under TSan).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "helpers.h"

#include <numem/relayout.h>
#include <numem/report.h>

#define THP NUMEM_PCP_THP_ORDER

static struct numem_system sys;
static struct numem_diag d;

static void boot(const char *preset, const struct numem_system_opts *o)
{
	memset(&d, 0, sizeof(d));
	if (numem_system_boot_preset(&sys, preset, o, &d))
		fail_msg("boot %s: %s", preset, d.msg);
	numem_host_set_log(sys.m.host, NULL, NUMEM_LOG_ERROR);
}

/* One node of 128 MiB (zones DMA and DMA32), two CPUs. */
static void boot_small(const struct numem_system_opts *o)
{
	static const char *const a[] = {"node,nodeid=0,cpus=0-1,mem=128M"};
	memset(&d, 0, sizeof(d));
	boot_numa_args(&sys, a, 1, o, &d);
	numem_host_set_log(sys.m.host, NULL, NUMEM_LOG_ERROR);
}

static void verify(const char *when)
{
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("verify %s: %s", when, d.msg);
}

static void verify_and_shutdown(void)
{
	verify("at the end");
	numem_heap_drain_all(&sys.heap);
	verify("after drain");
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
		assert_int_equal(numem_heap_node_allocated(&sys.heap, n), 0);
	numem_system_shutdown(&sys);
}

static struct numem_cpu *cpu_(uint32_t i)
{
	return numem_heap_cpu(&sys.heap, i);
}

/* The zone a CPU's local fast path serves (its first zone) and its index. */
static uint32_t fast_zi(const struct numem_cpu *c)
{
	return (uint32_t)(c->fast_pcp - c->pcp);
}

/* x445 (4 nodes, 32 CPUs); cpu 0 and the index of its first zone. */
static struct numem_cpu *boot_x445(uint32_t *zi)
{
	boot("x445", NULL);
	*zi = fast_zi(cpu_(0));
	return cpu_(0);
}

static uint32_t thp_cached(const struct numem_cpu *c, uint32_t zi)
{
	return c->pcp[zi].count[NUMEM_PCP_THP_LIST];
}

static numem_pfn_t must_alloc(struct numem_cpu *c, unsigned order, unsigned flags)
{
	numem_pfn_t pfn;
	if (numem_alloc(c, order, flags, NULL, &pfn, &d))
		fail_msg("alloc order %u flags 0x%x: %s", order, flags, d.msg);
	return pfn;
}

static void must_free(struct numem_cpu *c, numem_pfn_t pfn, unsigned order)
{
	if (numem_free(c, pfn, order, &d))
		fail_msg("free 0x%llx order %u: %s", (unsigned long long)pfn.v, order, d.msg);
}

static enum numem_page_state state_of(numem_pfn_t pfn)
{
	uint16_t owner;
	return numem_heap_pfn_owner(&sys.heap, pfn, &owner);
}

/* The index of the zone that holds pfn. */
static uint32_t zone_of(numem_pfn_t pfn)
{
	numem_nid_t n = numem_page_node(numem_frametable_lookup(&sys.ft, pfn));
	for (unsigned t = 0; t < NUMEM_NR_ZONE_TYPES; t++) {
		const struct numem_zone *z = numem_heap_zone(&sys.heap, n, (enum numem_zone_type)t);
		if (z->populated && pfn.v >= z->start_pfn && pfn.v < z->end_pfn)
			return n * NUMEM_NR_ZONE_TYPES + t;
	}
	fail_msg("pfn 0x%llx is in no zone", (unsigned long long)pfn.v);
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "test_pcp_thp: the THP fast path waited for a zone lock\n";
	(void)!write(2, m, sizeof(m) - 1);
	_exit(1);
}

/* Alloc and free through the cache: the second pair takes no zone lock,
 * counts a local hit, and leaves the zone's free pages alone. */
static void test_thp_through_cache(void **state)
{
	(void)state;
	uint32_t zi;
	struct numem_cpu *c = boot_x445(&zi);
	struct numem_heap *h = &sys.heap;
	struct numem_zone *z = &h->zone[zi];
	uint64_t node_free = numem_heap_node_free(h, z->node);
	/* The first allocation refills one block (a batch of one) and takes it. */
	numem_pfn_t a = must_alloc(c, THP, 0);
	assert_int_equal(a.v & ((1u << THP) - 1), 0);
	assert_int_equal(thp_cached(c, zi), 0);
	assert_int_equal(numem_heap_node_free(h, z->node), node_free - 512);
	must_free(c, a, THP);
	assert_int_equal(thp_cached(c, zi), 1);
	assert_int_equal(state_of(a), NUMEM_PS_PCP);
	/* Cached pages are free for numastat and placement, not for the zone. */
	assert_int_equal(numem_heap_node_free(h, z->node), node_free);
	uint64_t zone_free = z->free_pages;
	verify("one block cached");
	/* Another CPU holds the zone lock: the pair must not wait for it. */
	uint64_t st0[NUMEM_NR_STATS], st1[NUMEM_NR_STATS];
	numem_heap_node_stats(h, z->node, st0);
	signal(SIGALRM, on_alarm);
	alarm(5);
	atomic_store(&z->lock, 1);
	numem_pfn_t b = must_alloc(c, THP, 0);
	must_free(c, b, THP);
	b = must_alloc(c, THP, 0);
	atomic_store(&z->lock, 0);
	alarm(0);
	assert_int_equal(b.v, a.v); /* LIFO */
	assert_int_equal(state_of(b), NUMEM_PS_ALLOCATED);
	assert_int_equal(z->free_pages, zone_free);
	numem_heap_node_stats(h, z->node, st1);
	assert_int_equal(st1[NUMEM_STAT_NUMA_HIT] - st0[NUMEM_STAT_NUMA_HIT], 2);
	assert_int_equal(st1[NUMEM_STAT_LOCAL_NODE] - st0[NUMEM_STAT_LOCAL_NODE], 2);
	assert_int_equal(st1[NUMEM_STAT_LOCAL_PAGES] - st0[NUMEM_STAT_LOCAL_PAGES], 1024);
	/* The high mark: three frees leave NUMEM_PCP_THP_HIGH cached. */
	numem_pfn_t more[2] = {must_alloc(c, THP, 0), must_alloc(c, THP, 0)};
	must_free(c, b, THP);
	must_free(c, more[0], THP);
	assert_int_equal(thp_cached(c, zi), 2);
	must_free(c, more[1], THP);
	assert_int_equal(thp_cached(c, zi), NUMEM_PCP_THP_HIGH);
	verify("high mark");
	/* Other orders never enter the THP list, and it never trips the small
	 * orders' high mark: an order-0 pair leaves both lists as they were. */
	numem_pfn_t p0 = must_alloc(c, 0, 0);
	must_free(c, p0, 0);
	assert_int_equal(thp_cached(c, zi), NUMEM_PCP_THP_HIGH);
	assert_true(c->pcp[zi].pages > 0 && c->pcp[zi].pages <= h->pcp_high);
	numem_pfn_t p8 = must_alloc(c, 8, 0), p10 = must_alloc(c, 10, 0);
	must_free(c, p8, 8);
	must_free(c, p10, 10);
	assert_int_equal(thp_cached(c, zi), NUMEM_PCP_THP_HIGH);
	verify_and_shutdown();
}

/* Drains: one CPU, all CPUs; the blocks merge back into order 10. */
static void test_thp_drain(void **state)
{
	(void)state;
	boot("x445", NULL);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *c0 = cpu_(0), *c1 = cpu_(1);
	uint32_t zi = fast_zi(c0);
	assert_int_equal(fast_zi(c1), zi); /* same node */
	struct numem_zone *z = &h->zone[zi];
	uint64_t top = z->area[NUMEM_MAX_ORDER].nr, zone_free = z->free_pages;
	numem_pfn_t a = must_alloc(c0, THP, 0), b = must_alloc(c0, THP, 0),
	            c = must_alloc(c1, THP, 0);
	must_free(c0, a, THP);
	must_free(c0, b, THP);
	must_free(c1, c, THP);
	assert_int_equal(thp_cached(c0, zi), 2);
	assert_int_equal(thp_cached(c1, zi), 1);
	assert_int_equal(z->free_pages, zone_free - 3 * 512);
	numem_heap_drain_cpu(c0);
	assert_int_equal(thp_cached(c0, zi), 0);
	assert_int_equal(thp_cached(c1, zi), 1);
	assert_int_equal(z->free_pages, zone_free - 512);
	assert_int_equal(state_of(a), NUMEM_PS_FREE);
	verify("cpu 0 drained");
	numem_heap_drain_all(h);
	assert_int_equal(thp_cached(c1, zi), 0);
	assert_int_equal(z->free_pages, zone_free);
	assert_int_equal(z->area[NUMEM_MAX_ORDER].nr, top); /* merged again */
	assert_int_equal(z->area[THP].nr, 0);
	verify_and_shutdown();
}

/* Every check of the free, on a cached block and on an allocated one; a
 * rejected free changes nothing. */
static void test_thp_bad_frees(void **state)
{
	(void)state;
	uint32_t zi;
	struct numem_cpu *c = boot_x445(&zi);
	struct numem_heap *h = &sys.heap;
	numem_pfn_t a = must_alloc(c, THP, 0);
	must_free(c, a, THP);
	assert_int_equal(thp_cached(c, zi), 1);
	uint64_t node_free = numem_heap_node_free(h, 0);
	/* Double free of the cached block: on this CPU and on another. */
	assert_int_equal(numem_free(c, a, THP, &d), NUMEM_E_DOUBLE_FREE);
	assert_non_null(strstr(d.msg, "already free"));
	assert_int_equal(numem_free(cpu_(1), a, THP, &d), NUMEM_E_DOUBLE_FREE);
	/* A page inside it. */
	assert_int_equal(numem_free(c, numem_pfn(a.v + 8), 3, &d), NUMEM_E_DOUBLE_FREE);
	assert_non_null(strstr(d.msg, "inside the free block"));
	assert_int_equal(thp_cached(c, zi), 1);
	assert_int_equal(numem_heap_node_free(h, 0), node_free);
	verify("after the double frees");
	/* An allocated block: wrong order, misaligned, a tail, another owner. */
	numem_pfn_t b = must_alloc(c, THP, 0);
	assert_int_equal(b.v, a.v);
	numem_pfn_t o;
	assert_int_equal(numem_alloc_owned(c, THP, 0, NULL, 7, &o, &d), NUMEM_OK);
	struct {
		numem_pfn_t pfn;
		unsigned order;
		uint16_t owner;
		enum numem_err err;
	} cases[] = {
	    {b, THP - 1, NUMEM_OWNER_HEAP, NUMEM_E_BAD_ORDER},
	    {numem_pfn(b.v + 1), THP, NUMEM_OWNER_HEAP, NUMEM_E_MISALIGNED},
	    {numem_pfn(b.v + 256), THP - 1, NUMEM_OWNER_HEAP, NUMEM_E_NOT_ALLOCATED},
	    {o, THP, NUMEM_OWNER_HEAP, NUMEM_E_OWNER},
	    {b, THP, 7, NUMEM_E_OWNER},
	    {numem_pfn(1ull << 40), THP, NUMEM_OWNER_HEAP, NUMEM_E_RANGE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum numem_err e =
		    numem_free_owned(c, cases[i].pfn, cases[i].order, cases[i].owner, &d);
		if (e != cases[i].err)
			fail_msg("case %zu: got %s (%s), want %s", i, numem_err_name(e), d.msg,
			         numem_err_name(cases[i].err));
		assert_true(strlen(d.msg) > 20);
		assert_int_equal(thp_cached(c, zi), 0);
	}
	assert_int_equal(state_of(b), NUMEM_PS_ALLOCATED);
	verify("after the rejected frees");
	assert_int_equal(numem_free_owned(c, o, THP, 7, &d), NUMEM_OK);
	must_free(c, b, THP);
	assert_int_equal(thp_cached(c, zi), 2);
	/* No cpu: refused, nothing changed. */
	assert_int_equal(numem_free(NULL, b, THP, &d), NUMEM_E_INVAL);
	verify_and_shutdown();
}

/* Poisoning: the fast paths are off; the slow free poisons the block and
 * caches it, the allocation checks all 512 pages of the poison. */
static void test_thp_poison(void **state)
{
	(void)state;
	struct numem_system_opts o = {.back_memory = true, .heap.poison = 1};
	boot("p4", &o);
	const struct numem_platform *plat = numem_host_platform(sys.m.host);
	struct numem_cpu *c = cpu_(0);
	numem_pfn_t p = must_alloc(c, THP, 0);
	uint32_t zi = zone_of(p);
	uint8_t *v = plat->phys_to_virt(plat->ctx, numem_pfn_to_paddr(p));
	memset(v, 0xee, 512 * 4096);
	must_free(c, p, THP);
	assert_int_equal(thp_cached(c, zi), 1);
	assert_int_equal(v[511 * 4096 + 100], 0x6b); /* poisoned, the last page too */
	numem_pfn_t q = must_alloc(c, THP, 0);
	assert_int_equal(q.v, p.v);
	/* A write after free into the cached block is caught when it is handed
	 * out again, and the block is not lost. */
	must_free(c, q, THP);
	v[300 * 4096 + 5] = 1;
	numem_pfn_t again;
	assert_int_equal(numem_alloc(c, THP, 0, NULL, &again, &d), NUMEM_E_CORRUPT);
	assert_non_null(strstr(d.msg, "byte 5"));
	verify_and_shutdown();
}

/* Fill zone memory with order-0 pages from cpu 1 (no reclaim, no cache)
 * until it refuses; returns how many (kept in `held`). */
static uint64_t fill(struct numem_cpu *c, unsigned flags, numem_pfn_t *held, uint64_t max)
{
	uint64_t n = 0;
	numem_pfn_t pfn;
	while (n < max && numem_alloc(c, 0, NUMEM_ALLOC_NORECLAIM | NUMEM_ALLOC_NOPCP | flags, NULL,
	                              &pfn, &d) == NUMEM_OK)
		held[n++] = pfn;
	return n;
}

/* The watermark as Linux decides it: a cached block is not a free page for
 * it, and the zone's watermark gates the pop.  On two nodes: with node 0
 * down to its min mark, a local THP request goes to node 1 although cpu 0
 * holds a node-0 block (Linux's get_page_from_freelist skips the zone
 * before rmqueue_pcplist); the block stays cached.  Then pressure: a THP
 * free into a zone below its low mark goes to the buddy lists and takes
 * the zone's cached blocks with it. */
static void test_thp_watermark(void **state)
{
	(void)state;
	static const char *const a[] = {"node,nodeid=0,cpus=0-1,mem=128M",
	                                "node,nodeid=1,cpus=2,mem=128M"};
	memset(&d, 0, sizeof(d));
	boot_numa_args(&sys, a, 2, NULL, &d);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *c0 = cpu_(0), *c1 = cpu_(1);
	uint32_t zi = fast_zi(c0), zi1 = fast_zi(cpu_(2));
	struct numem_zone *z = &h->zone[zi];
	numem_pfn_t a0 = must_alloc(c0, THP, 0), l = must_alloc(c0, THP, 0);
	must_free(c0, a0, THP);
	assert_int_equal(thp_cached(c0, zi), 1);
	/* Node 0 down to its min mark (exact node, no reclaim, no cache). */
	static numem_pfn_t held[65536];
	struct numem_policy p0;
	numem_policy_init(&p0, NUMEM_POLICY_PREFERRED);
	p0.node = 0;
	uint64_t n = 0;
	numem_pfn_t pfn;
	while (n < 65536 &&
	       numem_alloc(c1, 0,
	                   NUMEM_ALLOC_NORECLAIM | NUMEM_ALLOC_NOPCP | NUMEM_ALLOC_EXACT_NODE, &p0,
	                   &pfn, &d) == NUMEM_OK)
		held[n++] = pfn;
	assert_true(n < 65536);
	assert_true(z->free_pages < z->wmark_low);
	/* The cached block does not make the zone pass: node 1 serves, on the
	 * slow path (a flag) and on the fast path (none). */
	numem_pfn_t b = must_alloc(c0, THP, NUMEM_ALLOC_NORECLAIM);
	assert_int_equal(numem_topo_pfn_to_node(sys.m.topo, b), 1);
	numem_pfn_t b2 = must_alloc(c0, THP, 0);
	assert_int_equal(numem_topo_pfn_to_node(sys.m.topo, b2), 1);
	assert_int_equal(thp_cached(c0, zi), 1);
	verify("node 0 at its min mark");
	/* Node 1 is not under pressure: its blocks are cached (in cpu 0's
	 * cache of node 1's zone). */
	must_free(c0, b, THP);
	must_free(c0, b2, THP);
	assert_int_equal(thp_cached(c0, zi1), 2);
	/* Node 0 is: the freed block and the cached one go to its buddy lists. */
	uint64_t before = z->free_pages;
	must_free(c0, l, THP);
	assert_int_equal(thp_cached(c0, zi), 0);
	assert_int_equal(z->free_pages, before + 1024);
	assert_int_equal(state_of(l), NUMEM_PS_FREE);
	verify("pressure");
	for (uint64_t i = 0; i < n; i++)
		must_free(c1, held[i], 0);
	verify_and_shutdown();
}

/* Exhaustion: the cache does not hide memory from its own CPU.  Two cached
 * buddies (an order-10 block split in two, freed through the THP fast
 * path) and a machine otherwise full down to min/2: an order-10 request
 * of their CPU drains them and gets the merged block (round 0); an
 * order-9 request that bypasses the cache (NOPCP) drains them too
 * (round 1).  Another CPU's request does not reach them (they drain at
 * their CPU's slow path or in numem_heap_drain_all): its failure says
 * so. */
static void test_thp_exhaustion(void **state)
{
	(void)state;
	boot_small(NULL);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *c0 = cpu_(0), *c1 = cpu_(1);
	uint32_t zi = fast_zi(c0);
	static numem_pfn_t held[40000];
	for (int round = 0; round < 2; round++) {
		numem_pfn_t g = must_alloc(c0, NUMEM_MAX_ORDER, 0);
		assert_int_equal(zone_of(g), zi);
		assert_int_equal(numem_heap_split(h, g, NUMEM_MAX_ORDER, THP, NUMEM_OWNER_HEAP, &d),
		                 NUMEM_OK);
		must_free(c0, g, THP);
		must_free(c0, numem_pfn(g.v + 512), THP);
		assert_int_equal(thp_cached(c0, zi), 2);
		uint64_t n = fill(c1, NUMEM_ALLOC_HIGH, held, 40000);
		assert_true(n > 0 && n < 40000);
		numem_pfn_t pfn;
		unsigned order = round == 0 ? NUMEM_MAX_ORDER : THP;
		unsigned flags =
		    NUMEM_ALLOC_NORECLAIM | NUMEM_ALLOC_HIGH | (round == 0 ? 0 : NUMEM_ALLOC_NOPCP);
		assert_int_equal(numem_alloc(c1, order, flags, NULL, &pfn, &d), NUMEM_E_NO_PAGES);
		assert_int_equal(thp_cached(c0, zi), 2);
		/* the caller is told where the memory is and how to get it */
		if (!strstr(d.msg, "high priority); 1024 pages cached by other CPUs"))
			fail_msg("the failure does not name cpu 0's cached blocks: %s", d.msg);
		numem_pfn_t got = must_alloc(c0, order, flags);
		assert_int_equal(got.v & ~1023ull, g.v);
		assert_int_equal(thp_cached(c0, zi), 0);
		verify(round == 0 ? "order 10 through the drain"
		                  : "NOPCP order 9 through the drain");
		must_free(c0, got, order);
		for (uint64_t i = 0; i < n; i++)
			must_free(c1, held[i], 0);
		numem_heap_drain_all(h);
		verify("round done");
	}
	verify_and_shutdown();
}

/* numastat's free count and the dump see cached blocks; buddyinfo (the
 * buddy lists) does not, as Linux's /proc/buddyinfo leaves out pcp pages. */
static void test_thp_views(void **state)
{
	(void)state;
	uint32_t zi;
	struct numem_cpu *c = boot_x445(&zi);
	struct numem_heap *h = &sys.heap;
	uint64_t free0 = numem_heap_node_free(h, 0), alloc0 = numem_heap_node_allocated(h, 0);
	numem_pfn_t a = must_alloc(c, THP, 0), b = must_alloc(c, THP, 0);
	must_free(c, a, THP);
	must_free(c, b, THP);
	assert_int_equal(numem_heap_node_free(h, 0), free0);
	assert_int_equal(numem_heap_node_allocated(h, 0), alloc0);
	assert_int_equal(numem_pcp_cached_pages(&c->pcp[zi]), 1024);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	numem_report_heap_dump(f, h);
	fclose(f);
	assert_non_null(strstr(buf, "cached 1024 (order-9 blocks 2)"));
	free(buf);
	verify_and_shutdown();
}

/* The verifier checks the THP list: a count that disagrees, a block of
 * another order on it, a list above its high mark. */
static void test_thp_verifier(void **state)
{
	(void)state;
	uint32_t zi;
	struct numem_cpu *c = boot_x445(&zi);
	numem_pfn_t a = must_alloc(c, THP, 0);
	must_free(c, a, THP);
	verify("one cached");
	struct numem_pcp *pcp = &c->pcp[zi];
	pcp->count[NUMEM_PCP_THP_LIST] = 2;
	assert_int_equal(numem_heap_verify(&sys.heap, &d), NUMEM_E_CORRUPT);
	assert_non_null(strstr(d.msg, "order 9: expected 2 blocks, found 1"));
	pcp->count[NUMEM_PCP_THP_LIST] = 1;
	/* An order-0 cached page moved onto the THP list. */
	numem_pfn_t p = must_alloc(c, 0, 0);
	must_free(c, p, 0);
	struct numem_page *pg = pcp->list[0];
	pcp->list[0] = pg->next;
	pcp->count[0]--;
	pcp->pages--;
	pg->next = pcp->list[NUMEM_PCP_THP_LIST];
	pcp->list[NUMEM_PCP_THP_LIST] = pg;
	pcp->count[NUMEM_PCP_THP_LIST]++;
	assert_int_equal(numem_heap_verify(&sys.heap, &d), NUMEM_E_CORRUPT);
	assert_non_null(strstr(d.msg, "is not a cached head of that order"));
	pcp->list[NUMEM_PCP_THP_LIST] = pg->next;
	pcp->count[NUMEM_PCP_THP_LIST]--;
	pg->next = pcp->list[0];
	pcp->list[0] = pg;
	pcp->count[0]++;
	pcp->pages++;
	verify("restored");
	/* Three blocks on one list (as a broken high mark would leave): cpu
	 * 1's cached block of the same zone moved onto cpu 0's list. */
	struct numem_cpu *c1 = cpu_(1);
	assert_int_equal(fast_zi(c1), zi);
	numem_pfn_t x = must_alloc(c, THP, 0), x2 = must_alloc(c, THP, 0),
	            y = must_alloc(c1, THP, 0);
	must_free(c, x, THP);
	must_free(c, x2, THP);
	must_free(c1, y, THP);
	assert_int_equal(pcp->count[NUMEM_PCP_THP_LIST], 2);
	struct numem_pcp *pcp1 = &c1->pcp[zi];
	struct numem_page *yp = pcp1->list[NUMEM_PCP_THP_LIST];
	pcp1->list[NUMEM_PCP_THP_LIST] = yp->next;
	pcp1->count[NUMEM_PCP_THP_LIST]--;
	yp->next = pcp->list[NUMEM_PCP_THP_LIST];
	pcp->list[NUMEM_PCP_THP_LIST] = yp;
	pcp->count[NUMEM_PCP_THP_LIST]++;
	assert_int_equal(numem_heap_verify(&sys.heap, &d), NUMEM_E_CORRUPT);
	assert_non_null(strstr(d.msg, "above its high mark"));
	pcp->list[NUMEM_PCP_THP_LIST] = yp->next;
	pcp->count[NUMEM_PCP_THP_LIST]--;
	yp->next = pcp1->list[NUMEM_PCP_THP_LIST];
	pcp1->list[NUMEM_PCP_THP_LIST] = yp;
	pcp1->count[NUMEM_PCP_THP_LIST]++;
	verify_and_shutdown();
}

/* Two nodes of 64 MiB, a CPU each (the relayout tests). */
static void boot_two_nodes_opts(const struct numem_system_opts *o)
{
	static const char *const a[] = {"node,nodeid=0,cpus=0,mem=64M",
	                                "node,nodeid=1,cpus=1,mem=64M"};
	memset(&d, 0, sizeof(d));
	boot_numa_args(&sys, a, 2, o, &d);
}

static void boot_two_nodes(void)
{
	boot_two_nodes_opts(NULL);
}

/* Commit a layout that gives [lo, lo + 512) to node 1. */
static void push_to_node1(uint64_t lo)
{
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	if (numem_memlayout_push(&l, &sys.heap, lo, lo + 512, 1, &d) ||
	    numem_relayout_commit(&sys.heap, &l, NULL, &d))
		fail_msg("push 0x%llx: %s", (unsigned long long)lo, d.msg);
	numem_memlayout_release(&l);
}

/* A relayout commit with THP blocks cached: a cached block of a moved range
 * is pending for its new node (the verifier counts it as cached) until its
 * CPU catches up, which diverts it there; an allocated block of a moved
 * range freed after the catch-up goes to its new node at once. */
static void test_thp_relayout(void **state)
{
	(void)state;
	boot_two_nodes();
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *c0 = cpu_(0);
	uint32_t zi = fast_zi(c0);
	numem_pfn_t moved = must_alloc(c0, THP, 0), kept = must_alloc(c0, THP, 0),
	            held = must_alloc(c0, THP, 0);
	must_free(c0, moved, THP);
	must_free(c0, kept, THP);
	assert_int_equal(thp_cached(c0, zi), 2);
	uint64_t free1 = numem_heap_node_free(h, 1);
	/* Two commits: the cached block's range and the held block's range to
	 * node 1. */
	numem_pfn_t r[2] = {moved, held};
	for (int i = 0; i < 2; i++) {
		push_to_node1(r[i].v);
		verify("after the commit");
	}
	/* Both are pending for node 1: one cached, one allocated. */
	assert_int_equal(numem_relayout_pending(h, 1), 1024);
	assert_int_equal(thp_cached(c0, zi), 2);
	assert_int_equal(numem_page_node(numem_frametable_lookup(&sys.ft, moved)), 0);
	/* cpu 0's catch-up (its next quiescent point) diverts the moved block
	 * and keeps the other. */
	numem_relayout_quiescent(c0);
	assert_int_equal(thp_cached(c0, zi), 1);
	assert_int_equal(c0->pcp[zi].list[NUMEM_PCP_THP_LIST],
	                 numem_frametable_lookup(&sys.ft, kept));
	assert_int_equal(numem_relayout_pending(h, 1), 512);
	assert_int_equal(state_of(moved), NUMEM_PS_FREE);
	assert_int_equal(numem_page_node(numem_frametable_lookup(&sys.ft, moved)), 1);
	assert_int_equal(numem_heap_node_free(h, 1), free1 + 512);
	verify("after the catch-up");
	/* The held block, freed by cpu 0 now that it has caught up, goes to
	 * node 1 at once, not into cpu 0's cache of its old zone (its head
	 * still says node 0), where the next order-9 allocation of node 0
	 * would take it. */
	must_free(c0, held, THP);
	assert_int_equal(thp_cached(c0, zi), 1);
	assert_int_equal(numem_relayout_pending(h, 1), 0);
	verify("held block freed");
	numem_heap_drain_cpu(c0);
	assert_int_equal(numem_page_node(numem_frametable_lookup(&sys.ft, held)), 1);
	assert_int_equal(numem_heap_node_free(h, 1), free1 + 1024);
	verify_and_shutdown();
}

/*
 * The free fast forms are taken: a THP free (free_thp) and an order-0 free
 * of another zone's head (the fast path's second compare) return before the
 * checked path, whose first act is a quiescent point (numem__relayout_sync).
 * So, after a commit a CPU has not caught up with, such frees leave its
 * catch-up undone: the cached block of a moved range stays cached and
 * pending.  Had either compare stopped matching (98a79ae: free_want's zone
 * bits made every THP free take the checked path, and no test saw it),
 * the free would catch up and divert the block.
 */
static void test_free_fast_forms_taken(void **state)
{
	(void)state;
	boot_two_nodes();
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *c0 = cpu_(0);
	uint32_t zi = fast_zi(c0);
	numem_pfn_t moved = must_alloc(c0, THP, 0), kept = must_alloc(c0, THP, 0);
	/* An order-0 page of node 1 (another zone than c0's first) */
	struct numem_policy bind;
	numem_policy_init(&bind, NUMEM_POLICY_BIND);
	numem_nodemask_set(&bind.nodes, 1);
	numem_pfn_t other;
	if (numem_alloc(c0, 0, 0, &bind, &other, &d))
		fail_msg("alloc on node 1: %s", d.msg);
	uint32_t ozi = zone_of(other);
	assert_int_not_equal(ozi, zi);
	must_free(c0, moved, THP);
	assert_int_equal(thp_cached(c0, zi), 1);
	push_to_node1(moved.v);
	assert_int_equal(numem_relayout_pending(h, 1), 512);
	/* The THP free's fast form: on c0's THP list, no catch-up. */
	uint32_t pages = c0->pcp[ozi].pages;
	must_free(c0, kept, THP);
	assert_int_equal(thp_cached(c0, zi), 2);
	assert_int_equal(numem_relayout_pending(h, 1), 512);
	/* The order-0 free of another zone's head: on c0's cache of that
	 * zone, no catch-up. */
	must_free(c0, other, 0);
	assert_int_equal(c0->pcp[ozi].pages, pages + 1);
	assert_int_equal(c0->pcp[ozi].list[0], numem_frametable_lookup(&sys.ft, other));
	assert_int_equal(numem_relayout_pending(h, 1), 512);
	/* The checked path catches up: the moved block goes to node 1. */
	numem_relayout_quiescent(c0);
	assert_int_equal(numem_relayout_pending(h, 1), 0);
	assert_int_equal(thp_cached(c0, zi), 1);
	verify_and_shutdown();
}

/*
 * A pending page freed by a CPU that has caught up with the commit goes to
 * its new node (relayout.h), through the fast path's free as through the
 * checked one, not into the CPU's cache of its old zone, from which the
 * next local or BIND allocation of the old node would hand it out as that
 * node's memory while the layout says it is the new node's (and its pending
 * count would stay up while it circulates).
 */
static void pending_free_after_catch_up(bool poison)
{
	/* poisoning: every free takes the checked path */
	struct numem_system_opts o = {.back_memory = poison, .heap.poison = poison ? 1 : -1};
	boot_two_nodes_opts(&o);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *c0 = cpu_(0);
	numem_pfn_t p[4];
	unsigned order[4] = {0, 0, 1, 3};
	for (int i = 0; i < 4; i++)
		p[i] = must_alloc(c0, order[i], 0);
	uint64_t lo = p[0].v & ~511ull;
	push_to_node1(lo);
	assert_true(numem_relayout_pending(h, 1) >= 1);
	numem_relayout_quiescent(c0);
	struct numem_policy bind;
	numem_policy_init(&bind, NUMEM_POLICY_BIND);
	numem_nodemask_set(&bind.nodes, 0);
	for (int i = 0; i < 4; i++) {
		bool moved = p[i].v >= lo && p[i].v < lo + 512;
		uint64_t before = numem_relayout_pending(h, 1);
		must_free(c0, p[i], order[i]);
		if (!moved)
			continue;
		assert_int_equal(numem_relayout_pending(h, 1), before - (1u << order[i]));
		/* in node 1's buddy lists (a free head, or merged into one) */
		struct numem_heap_block b;
		assert_int_equal(numem_heap_block_of(h, p[i], &b), NUMEM_PS_FREE);
		assert_int_equal(numem_page_node(numem_frametable_lookup(&sys.ft, b.head)), 1);
		numem_pfn_t q;
		if (numem_alloc(c0, order[i], 0, i % 2 ? &bind : NULL, &q, &d) == NUMEM_OK) {
			assert_int_not_equal(q.v, p[i].v);
			must_free(c0, q, order[i]);
		}
	}
	verify("after the frees");
	/* Nothing pending: the next checked path ends the tail. */
	assert_int_equal(numem_relayout_pending(h, 1), 0);
	numem_pfn_t r = must_alloc(c0, 2, NUMEM_ALLOC_NOPCP);
	must_free(c0, r, 2);
	if (!poison)
		assert_int_equal(c0->free_tail_above, h->pcp_high);
	verify_and_shutdown();
}

static void test_pending_free_after_catch_up(void **state)
{
	(void)state;
	pending_free_after_catch_up(false);
	pending_free_after_catch_up(true);
}

/* Two CPUs at once: each allocates and frees THP blocks through its own
 * cache, frees blocks the other allocated (into its own cache of the
 * other's zone), while a third thread reads the free counts as placement
 * does.  Run under TSan by scripts/test-all.sh. */
enum { PAIR_ROUNDS = 20000 };

struct worker {
	struct numem_cpu *cpu;
	_Atomic uint64_t *mail; /* blocks for the other CPU to free (0: empty) */
	_Atomic uint64_t *inbox;
	uint64_t pairs, remote;
	pthread_barrier_t *bar;
};

static atomic_bool stop_reader;

static void *thp_worker(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < PAIR_ROUNDS; i++) {
		if (i % 256 == 0) /* meet often, so the two really overlap */
			pthread_barrier_wait(w->bar);
		numem_pfn_t p;
		if (numem_alloc(w->cpu, THP, 0, NULL, &p, NULL))
			continue;
		if (i % 4 == 0 && atomic_load(w->mail) == 0) {
			atomic_store(w->mail, p.v + 1); /* +1: pfn 0 is a valid block */
		} else {
			assert_int_equal(numem_free(w->cpu, p, THP, NULL), NUMEM_OK);
			w->pairs++;
		}
		uint64_t in = atomic_exchange(w->inbox, 0);
		if (in) {
			assert_int_equal(numem_free(w->cpu, numem_pfn(in - 1), THP, NULL),
			                 NUMEM_OK);
			w->remote++;
		}
	}
	return NULL;
}

static void *free_reader(void *arg)
{
	struct numem_heap *h = arg;
	uint64_t sum = 0;
	while (!atomic_load(&stop_reader))
		for (numem_nid_t n = 0; n < 2; n++)
			sum += numem_heap_node_free(h, n);
	return (void *)(uintptr_t)(sum & 1);
}

static void test_thp_two_cpus(void **state)
{
	(void)state;
	boot("x445", NULL);
	struct numem_heap *h = &sys.heap;
	_Atomic uint64_t box[2] = {0, 0};
	struct worker w[2] = {{.cpu = cpu_(0), .mail = &box[1], .inbox = &box[0]},
	                      {.cpu = cpu_(8), .mail = &box[0], .inbox = &box[1]}};
	assert_int_not_equal(w[0].cpu->node, w[1].cpu->node);
	pthread_t t[2], r;
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, 2);
	w[0].bar = w[1].bar = &bar;
	atomic_store(&stop_reader, false);
	pthread_create(&r, NULL, free_reader, h);
	for (int k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, thp_worker, &w[k]);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	atomic_store(&stop_reader, true);
	pthread_join(r, NULL);
	pthread_barrier_destroy(&bar);
	for (int k = 0; k < 2; k++) {
		uint64_t left = atomic_exchange(&box[k], 0);
		if (left)
			must_free(w[k].cpu, numem_pfn(left - 1), THP);
		assert_true(w[k].pairs > PAIR_ROUNDS / 2);
		assert_true(w[k].remote > 0);
	}
	print_message("two cpus: %llu + %llu pairs, %llu + %llu remote frees\n",
	              (unsigned long long)w[0].pairs, (unsigned long long)w[1].pairs,
	              (unsigned long long)w[0].remote, (unsigned long long)w[1].remote);
	/* Remote frees went into each CPU's cache of the other's zone. */
	verify("after the threads");
	verify_and_shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thp_through_cache),
	    cmocka_unit_test(test_thp_drain),
	    cmocka_unit_test(test_thp_bad_frees),
	    cmocka_unit_test(test_thp_poison),
	    cmocka_unit_test(test_thp_watermark),
	    cmocka_unit_test(test_thp_exhaustion),
	    cmocka_unit_test(test_thp_views),
	    cmocka_unit_test(test_thp_verifier),
	    cmocka_unit_test(test_thp_relayout),
	    cmocka_unit_test(test_free_fast_forms_taken),
	    cmocka_unit_test(test_pending_free_after_catch_up),
	    cmocka_unit_test(test_thp_two_cpus),
	};
	if (getenv("NUMEM_TEST_FILTER"))
		cmocka_set_test_filter(getenv("NUMEM_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
