/*
 * test_relayout_subscribers.c - the layers that subscribe to live NUMA
 * relayout (relayout.h): a domain's per-node counts follow every commit
 * (push, stripe cutting its extents, a commit and back), and
 * numem_domain_migrate() moves its pending frames at once (contents kept,
 * straddling extents split, a limit, a full target node, bad arguments);
 * the slab's per-node lists follow too (objects freed after the commit go
 * to the slab's new node, the slab to the new node's free lists).  Each
 * check would fail without the subscriber: the verifiers count by the
 * layout in force.  Commits under domain and slab churn from another
 * thread (TSan stage of scripts/test-all.sh).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "helpers.h"

#include <numem/domain.h>
#include <numem/relayout.h>
#include <numem/slab.h>

static struct numem_system sys;
static struct numem_diag d;
static struct numem_slab *slab;
static struct numem_domains *doms;

/* Three nodes of 64 MiB, one CPU each (a fourth on node 2), with memory
 * behind phys_to_virt. */
static void boot3(void)
{
	static const char *const a[] = {"node,nodeid=0,cpus=0,mem=64M",
	                                "node,nodeid=1,cpus=1,mem=64M",
	                                "node,nodeid=2,cpus=2-3,mem=64M"};
	struct numem_system_opts o = {.back_memory = true};
	memset(&d, 0, sizeof(d));
	boot_numa_args(&sys, a, 3, &o, &d);
	slab = calloc(1, sizeof(*slab));
	doms = calloc(1, sizeof(*doms));
	assert_int_equal(numem_slab_init(slab, &sys.heap, &d), NUMEM_OK);
	assert_int_equal(numem_domains_init(doms, &sys.heap, slab, &d), NUMEM_OK);
}

static struct numem_cpu *cpu_(uint32_t i)
{
	return numem_heap_cpu(&sys.heap, i);
}

static void shutdown(void)
{
	numem_domains_release(doms, cpu_(0));
	for (uint32_t i = 0; i < sys.heap.nr_cpus; i++)
		numem_slab_drain_cpu(slab, cpu_(i));
	numem_slab_release(slab);
	free(slab);
	free(doms);
	numem_system_shutdown(&sys);
}

static void verify_all(const char *when)
{
	numem_heap_drain_all(&sys.heap);
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("heap verify %s: %s", when, d.msg);
	if (numem_domain_verify(doms, &d))
		fail_msg("domain verify %s: %s", when, d.msg);
	if (numem_slab_verify(slab, &d))
		fail_msg("slab verify %s: %s", when, d.msg);
}

static numem_nid_t layout_node(uint64_t pfn)
{
	return numem_topo_pfn_to_node(numem_heap_topo(&sys.heap), numem_pfn(pfn));
}

static numem_nid_t head_node(uint64_t pfn)
{
	return numem_page_node(numem_frametable_lookup(&sys.ft, numem_pfn(pfn)));
}

static const struct numem_node *node_(numem_nid_t n)
{
	return &numem_heap_topo(&sys.heap)->node[n];
}

/* Everything RAM of node `from` goes to node `to`. */
static void push(numem_nid_t from, numem_nid_t to)
{
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	if (numem_memlayout_push(&l, &sys.heap, node_(from)->start_pfn, node_(from)->end_pfn, to,
	                         &d) ||
	    numem_relayout_commit(&sys.heap, &l, NULL, &d))
		fail_msg("push %u -> %u: %s", from, to, d.msg);
	numem_memlayout_release(&l);
}

static void stripe(const numem_nid_t *nodes, uint32_t nr, uint64_t block)
{
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	if (numem_memlayout_stripe(&l, &sys.heap, 0, UINT64_MAX, nodes, nr, block, &d) ||
	    numem_relayout_commit(&sys.heap, &l, NULL, &d))
		fail_msg("stripe: %s", d.msg);
	numem_memlayout_release(&l);
}

/* A domain with `pages` frames of order `order`, all on node `node`. */
static struct numem_domain *guest(const char *name, uint64_t pages, unsigned order,
                                  numem_nid_t node)
{
	struct numem_domain_config cfg = {.max_pages = pages, .nr_vcpus = 1};
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	numem_nodemask_set(&cfg.nodes, node);
	struct numem_domain *dom;
	assert_int_equal(numem_domain_create(doms, &cfg, cpu_(0), &dom, &d), NUMEM_OK);
	struct numem_res res = {.mode = NUMEM_RES_NODE, .node = node};
	uint64_t done;
	if (numem_domain_increase_reservation(dom, cpu_(0), pages >> order, order, &res, &done, &d))
		fail_msg("populate: %s", d.msg);
	assert_int_equal(dom->pages_on_node[node], pages);
	return dom;
}

/* pages_on_node[] as the layout in force says, from the p2m. */
static void expect_counts(const struct numem_domain *dom)
{
	uint64_t on[NUMEM_MAX_NODES] = {0};
	for (uint64_t g = 0; g < dom->max_pages; g++) {
		uint64_t mfn = numem_domain_p2m(dom, g);
		if (mfn != NUMEM_P2M_NONE)
			on[layout_node(mfn)]++;
	}
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
		if (on[n] != dom->pages_on_node[n])
			fail_msg(
			    "domain %u node %u: p2m holds %llu frames there, pages_on_node %llu",
			    dom->id, n, (unsigned long long)on[n],
			    (unsigned long long)dom->pages_on_node[n]);
}

/* A word at each end of every frame, written (or, when `check`, checked)
 * through phys_to_virt: the guest's data. */
static void stamp_(const struct numem_domain *dom, bool check)
{
	for (uint64_t g = 0; g < dom->max_pages; g++) {
		uint64_t mfn = numem_domain_p2m(dom, g);
		if (mfn == NUMEM_P2M_NONE)
			continue;
		uint64_t *p = sys.heap.plat->phys_to_virt(sys.heap.plat->ctx,
		                                          numem_pfn_to_paddr(numem_pfn(mfn)));
		if (!check) {
			p[0] = g * 0x9e3779b97f4a7c15ull;
			p[511] = ~g;
		} else if (p[0] != g * 0x9e3779b97f4a7c15ull || p[511] != ~g) {
			fail_msg("gpfn 0x%llx (mfn 0x%llx): contents lost", (unsigned long long)g,
			         (unsigned long long)mfn);
		}
	}
}
#define stamp(dom)       stamp_(dom, false)
#define check_stamp(dom) stamp_(dom, true)

/* ---- domains ------------------------------------------------------------- */

/* A push moves a guest's counts to the new node (the recount), and back;
 * destroy afterwards uncounts by the layout (nothing underflows). */
static void test_domain_counts_follow_push(void **state)
{
	(void)state;
	boot3();
	struct numem_domain *a = guest("a", 4096, 0, 0), *b = guest("b", 8192, 9, 1);
	verify_all("before");
	uint64_t recounts = atomic_load(&doms->recounts);
	push(0, 2);
	assert_int_equal(atomic_load(&doms->recounts), recounts + 2);
	assert_int_equal(a->pages_on_node[0], 0);
	assert_int_equal(a->pages_on_node[2], 4096);
	assert_int_equal(b->pages_on_node[1], 8192);
	expect_counts(a);
	verify_all("after the push");
	/* The frames are pending: still on their old node's blocks. */
	assert_int_equal(numem_domain_pending(a), 4096);
	assert_int_equal(numem_domain_pending(b), 0);
	/* A decrease after the commit uncounts from the new node. */
	uint64_t done;
	assert_int_equal(numem_domain_decrease_reservation(a, cpu_(0), 96, 0, &done, &d), NUMEM_OK);
	assert_int_equal(a->pages_on_node[2], 4000);
	/* New frames on node 2 come from node 0's old memory too. */
	struct numem_res res = {.mode = NUMEM_RES_NODE, .node = 2};
	assert_int_equal(numem_domain_increase_reservation(a, cpu_(0), 96, 0, &res, &done, &d),
	                 NUMEM_OK);
	assert_int_equal(a->pages_on_node[2], 4096);
	verify_all("after decrease and increase");
	assert_int_equal(numem_domain_destroy(doms, cpu_(0), a->id, &d), NUMEM_OK);
	assert_int_equal(numem_domain_destroy(doms, cpu_(0), b->id, &d), NUMEM_OK);
	verify_all("after destroy");
	shutdown();
}

/* A stripe of 256 pages cuts every order-9 extent across two nodes: each
 * is counted page by page. */
static void test_domain_counts_straddling_stripe(void **state)
{
	(void)state;
	boot3();
	struct numem_domain *a = guest("a", 8192, 9, 0);
	static const numem_nid_t nodes[] = {0, 1, 2};
	stripe(nodes, 3, 256);
	expect_counts(a);
	uint64_t sum = 0;
	for (numem_nid_t n = 0; n < 3; n++) {
		sum += a->pages_on_node[n];
		/* A third each, within a stripe. */
		assert_true(a->pages_on_node[n] + 512 > 8192 / 3 &&
		            a->pages_on_node[n] < 8192 / 3 + 512);
	}
	assert_int_equal(sum, 8192);
	/* Pending: exactly the pages the stripe gave away, not whole extents. */
	assert_int_equal(numem_domain_pending(a), a->pages_on_node[1] + a->pages_on_node[2]);
	verify_all("after the stripe");
	shutdown();
}

/* Migrate: every frame lands on the node the layout gives it (its block's
 * head says so), contents kept, nothing pending; the pending counts of the
 * heap drop; a second call has nothing to do. */
static void test_domain_migrate(void **state)
{
	(void)state;
	boot3();
	struct numem_domain *a = guest("a", 8192, 9, 0), *b = guest("b", 2048, 0, 0);
	stamp(a);
	stamp(b);
	static const numem_nid_t nodes[] = {1, 2};
	stripe(nodes, 2, 256); /* node 0 gives everything away, cutting extents */
	uint64_t pending =
	    numem_relayout_pending(&sys.heap, 1) + numem_relayout_pending(&sys.heap, 2);
	assert_int_equal(numem_domain_pending(a), 8192);
	uint64_t moved, left;
	assert_int_equal(numem_domain_migrate(a, cpu_(0), 0, &moved, &left, &d), NUMEM_OK);
	assert_int_equal(moved, 8192);
	assert_int_equal(left, 0);
	assert_int_equal(numem_domain_pending(a), 0);
	for (uint64_t g = 0; g < 8192; g++) {
		uint64_t mfn = numem_domain_p2m(a, g);
		assert_int_equal(layout_node(mfn), head_node(mfn & ~255ull));
		assert_true(layout_node(mfn) == 1 || layout_node(mfn) == 2);
	}
	check_stamp(a);
	expect_counts(a);
	numem_heap_drain_all(&sys.heap);
	assert_true(numem_relayout_pending(&sys.heap, 1) + numem_relayout_pending(&sys.heap, 2) <=
	            pending - 8192);
	verify_all("after migrating a");
	/* A limit: whole extents until it is reached. */
	assert_int_equal(numem_domain_migrate(b, cpu_(0), 10, &moved, &left, &d), NUMEM_OK);
	assert_int_equal(moved, 10);
	assert_int_equal(left, 2038);
	assert_int_equal(numem_domain_migrate(b, cpu_(0), 0, &moved, &left, &d), NUMEM_OK);
	assert_int_equal(moved, 2038);
	assert_int_equal(numem_domain_migrate(b, cpu_(0), 0, &moved, &left, &d), NUMEM_OK);
	assert_int_equal(moved + left, 0); /* nothing left to do */
	check_stamp(b);
	verify_all("after migrating b");
	shutdown();
}

/* The target node has no free block: NUMEM_E_NO_PAGES, nothing of the
 * extent changed, the rest pending; after memory comes back it goes. */
static void test_domain_migrate_target_full(void **state)
{
	(void)state;
	boot3();
	struct numem_domain *a = guest("a", 1024, 0, 0);
	stamp(a);
	push(0, 1);
	/* Take every page node 1 has. */
	static numem_pfn_t taken[1 << 16];
	size_t nt = 0;
	struct numem_policy p;
	numem_policy_init(&p, NUMEM_POLICY_PREFERRED);
	p.node = 1;
	while (nt < (sizeof(taken) / sizeof(taken[0])) &&
	       !numem_alloc(cpu_(1), 0,
	                    NUMEM_ALLOC_EXACT_NODE | NUMEM_ALLOC_NOPCP | NUMEM_ALLOC_NORECLAIM |
	                        NUMEM_ALLOC_HIGH,
	                    &p, &taken[nt], 0))
		nt++;
	assert_true(nt > 1000 && nt < (sizeof(taken) / sizeof(taken[0])));
	uint64_t moved, left;
	assert_int_equal(numem_domain_migrate(a, cpu_(0), 0, &moved, &left, &d), NUMEM_E_NO_PAGES);
	assert_int_equal(moved, 0);
	assert_int_equal(left, 1024);
	expect_counts(a);
	check_stamp(a);
	for (size_t i = 0; i < nt; i++)
		assert_int_equal(numem_free(cpu_(1), taken[i], 0, &d), NUMEM_OK);
	verify_all("after a refused migration");
	assert_int_equal(numem_domain_migrate(a, cpu_(0), 0, &moved, &left, &d), NUMEM_OK);
	assert_int_equal(moved, 1024);
	check_stamp(a);
	verify_all("after the migration");
	shutdown();
}

static void test_domain_migrate_bad_args(void **state)
{
	(void)state;
	boot3();
	struct numem_domain *a = guest("a", 64, 0, 0);
	uint64_t moved = 7, left = 7;
	assert_int_equal(numem_domain_migrate(a, NULL, 0, &moved, &left, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "no domain or cpu"));
	assert_int_equal(moved + left, 0);
	assert_int_equal(numem_domain_migrate(NULL, cpu_(0), 0, NULL, NULL, &d), NUMEM_E_INVAL);
	/* Nothing moved: nothing pending. */
	assert_int_equal(numem_domain_migrate(a, cpu_(0), 0, &moved, &left, &d), NUMEM_OK);
	assert_int_equal(moved + left, 0);
	/* A frame freed behind the domain's back is named, nothing else done. */
	push(0, 2);
	uint64_t mfn = numem_domain_p2m(a, 5);
	assert_int_equal(numem_free_owned(cpu_(0), numem_pfn(mfn), 0, a->id, &d), NUMEM_OK);
	assert_int_equal(numem_domain_migrate(a, cpu_(0), 0, &moved, &left, &d), NUMEM_E_CORRUPT);
	assert_non_null(strstr(d.msg, "gpfn 0x5"));
	assert_int_equal(numem_domain_p2m(a, 5), mfn); /* the p2m is left as it was */
	shutdown();
}

/* ---- slab ---------------------------------------------------------------- */

/* Objects allocated on node 0, node 0 pushed to node 2: the slabs go to
 * node 2's lists with their counts; frees after the commit reach them
 * there; the emptied slabs go back to node 2's free lists. */
static void test_slab_lists_follow(void **state)
{
	(void)state;
	boot3();
	struct numem_cache *c = numem_cache_create(slab, "test-256", 256, 0, &d);
	assert_non_null(c);
	static void *obj[2000];
	for (int i = 0; i < 2000; i++)
		assert_non_null(obj[i] = numem_cache_alloc(cpu_(0), c, &d));
	uint64_t slabs0 = c->node[0].nr_slabs, out0 = c->node[0].objs_in_slabs;
	assert_true(slabs0 > 20);
	assert_int_equal(c->node[2].nr_slabs, 0);
	verify_all("before");
	push(0, 2);
	assert_int_equal(c->node[0].nr_slabs, 0);
	assert_int_equal(c->node[0].objs_in_slabs, 0);
	assert_int_equal(c->node[2].nr_slabs, slabs0);
	assert_int_equal(c->node[2].objs_in_slabs, out0);
	assert_true(atomic_load(&slab->slabs_relaid) >= slabs0);
	verify_all("after the push");
	/* cpu 0 is on node 0, which has no memory now: it allocates on its
	 * nearest node; its frees reach the slabs where they are. */
	for (int i = 0; i < 2000; i++)
		assert_int_equal(numem_kfree(slab, cpu_(i % 2 ? 0 : 3), obj[i], &d), NUMEM_OK);
	verify_all("after the frees");
	numem_slab_drain_cpu(slab, cpu_(0));
	numem_slab_drain_cpu(slab, cpu_(3));
	numem_slab_shrink(slab, cpu_(0));
	assert_int_equal(c->node[2].nr_slabs, 0);
	numem_heap_drain_all(&sys.heap);
	assert_int_equal(numem_relayout_pending(&sys.heap, 2), 0);
	verify_all("after the shrink");
	shutdown();
}

/* ---- concurrency --------------------------------------------------------- */

static atomic_bool stop;

/* On CPU 1: a guest growing and shrinking, slab objects coming and going. */
static void *churn(void *arg)
{
	struct numem_domain *dom = arg;
	struct numem_cpu *cpu = cpu_(1);
	void *keep[64] = {0};
	uint64_t x = 1, turn = 0;
	while (!atomic_load(&stop)) {
		if (++turn % 32 ==
		    0) { /* a short-lived guest: its destroy may wait for a recount */
			struct numem_domain_config cfg = {.max_pages = 64, .nr_vcpus = 1};
			snprintf(cfg.name, sizeof(cfg.name), "short");
			/* Affinity given: automatic placement reads zone counts
			 * without their locks (a race of its own, not relayout's). */
			numem_nodemask_set(&cfg.nodes, 1);
			struct numem_domain *s;
			uint64_t done;
			if (!numem_domain_create(doms, &cfg, cpu, &s, 0)) {
				numem_domain_increase_reservation(s, cpu, 64, 0, NULL, &done, 0);
				assert_int_equal(numem_domain_destroy(doms, cpu, s->id, 0),
				                 NUMEM_OK);
			}
		}
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t done;
		if (x >> 63)
			numem_domain_increase_reservation(dom, cpu, 16, 0, NULL, &done, 0);
		else
			numem_domain_decrease_reservation(dom, cpu, 16, 0, &done, 0);
		unsigned k = (unsigned)(x >> 20) % 64;
		if (keep[k]) {
			assert_int_equal(numem_kfree(slab, cpu, keep[k], 0), NUMEM_OK);
			keep[k] = 0;
		} else {
			keep[k] = numem_kmalloc(slab, cpu, 16 + (x >> 40) % 2000, 0);
		}
		numem_relayout_quiescent(cpu);
	}
	for (int k = 0; k < 64; k++)
		numem_kfree(slab, cpu, keep[k], 0);
	return 0;
}

/* Commits back and forth while another CPU churns a guest and the slab;
 * a third domain is created and destroyed meanwhile (its destroy waits
 * for a recount that holds it).  Counts true after each commit. */
static void test_commits_under_domain_churn(void **state)
{
	(void)state;
	boot3();
	struct numem_domain_config cfg = {.max_pages = 1 << 12, .nr_vcpus = 1};
	snprintf(cfg.name, sizeof(cfg.name), "churn");
	numem_nodemask_set(&cfg.nodes, 1);
	struct numem_domain *dom;
	assert_int_equal(numem_domain_create(doms, &cfg, cpu_(1), &dom, &d), NUMEM_OK);
	atomic_store(&stop, false);
	pthread_t th;
	pthread_create(&th, NULL, churn, dom);
	static const numem_nid_t nodes[] = {1, 2, 0};
	for (int round = 0; round < 12; round++) {
		numem_nid_t most = 0; /* a push moves a node's whole span: stripes too */
		for (numem_nid_t q = 1; q < 3; q++)
			if (node_(q)->ram_pages > node_(most)->ram_pages)
				most = q;
		struct numem_domain *tmp = guest("tmp", 256, 0, most);
		if (round % 3 == 0)
			push(0, 1);
		else if (round % 3 == 1)
			stripe(nodes, 3, 128);
		else
			push(1, 0);
		assert_int_equal(numem_domain_destroy(doms, cpu_(0), tmp->id, &d), NUMEM_OK);
		numem_relayout_quiescent(cpu_(0));
	}
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	expect_counts(dom);
	verify_all("after the churn");
	uint64_t moved, left;
	enum numem_err e = numem_domain_migrate(dom, cpu_(0), 0, &moved, &left, &d);
	if (e)
		fail_msg(
		    "migrate: %s (%s); free pages per node %llu %llu %llu, ram %llu %llu %llu, "
		    "domain pending %llu",
		    d.msg, numem_err_name(e),
		    (unsigned long long)numem_heap_node_free(&sys.heap, 0),
		    (unsigned long long)numem_heap_node_free(&sys.heap, 1),
		    (unsigned long long)numem_heap_node_free(&sys.heap, 2),
		    (unsigned long long)node_(0)->ram_pages,
		    (unsigned long long)node_(1)->ram_pages,
		    (unsigned long long)node_(2)->ram_pages,
		    (unsigned long long)numem_domain_pending(dom));
	assert_int_equal(left, 0);
	verify_all("after migrating");
	shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_domain_counts_follow_push),
	    cmocka_unit_test(test_domain_counts_straddling_stripe),
	    cmocka_unit_test(test_domain_migrate),
	    cmocka_unit_test(test_domain_migrate_target_full),
	    cmocka_unit_test(test_domain_migrate_bad_args),
	    cmocka_unit_test(test_slab_lists_follow),
	    cmocka_unit_test(test_commits_under_domain_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
