/*
 * test_relayout.c - live NUMA relayout (relayout.h): free pages end on
 * their target node at commit, allocated (pending) pages when freed; a
 * reference model of every pfn (nothing lost, nothing counted twice) and
 * the verifier; cpu->node and distances reach the next allocation; every
 * validation check rejects with nothing changed; a commit whose metadata
 * is refused half-way leaves the old layout; new nodes online, empty nodes
 * offline; notifiers; deferred sections follow; commits under churn from
 * two threads and the verifier during commits.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "helpers.h"

#include <numem/relayout.h>
#include <numem/report.h>

static struct numem_system sys;
static struct numem_diag d;

static void boot_args(const char *const *args, size_t n, const struct numem_system_opts *o)
{
	memset(&d, 0, sizeof(d));
	boot_numa_args(&sys, args, n, o, &d);
}

/* Three nodes of 64 MiB, one CPU each (and a fourth CPU on node 2). */
static void boot3(const struct numem_system_opts *o)
{
	static const char *const a[] = {"node,nodeid=0,cpus=0,mem=64M",
	                                "node,nodeid=1,cpus=1,mem=64M",
	                                "node,nodeid=2,cpus=2-3,mem=64M"};
	boot_args(a, 3, o);
}

/* Two nodes of `mem` (QEMU's size syntax), one CPU each. */
static void boot2(const char *mem, const struct numem_system_opts *o)
{
	char a0[64], a1[64];
	snprintf(a0, sizeof(a0), "node,nodeid=0,cpus=0,mem=%s", mem);
	snprintf(a1, sizeof(a1), "node,nodeid=1,cpus=1,mem=%s", mem);
	const char *const a[] = {a0, a1};
	boot_args(a, 2, o);
}

/* Commit "RAM of [start, end) to `node`" (push declares a new node). */
static void push_commit(uint64_t start, uint64_t end, numem_nid_t node)
{
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	if (numem_memlayout_push(&l, &sys.heap, start, end, node, &d) ||
	    numem_relayout_commit(&sys.heap, &l, NULL, &d))
		fail_msg("push [0x%llx, 0x%llx) to node %u: %s", (unsigned long long)start,
		         (unsigned long long)end, node, d.msg);
	numem_memlayout_release(&l);
}

static void verify(const char *when)
{
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("verify %s: %s", when, d.msg);
}

static struct numem_cpu *cpu_(uint32_t i)
{
	return numem_heap_cpu(&sys.heap, i);
}

static numem_nid_t layout_node(uint64_t pfn)
{
	return numem_topo_pfn_to_node(numem_heap_topo(&sys.heap), numem_pfn(pfn));
}

static numem_nid_t head_node(uint64_t pfn)
{
	return numem_page_node(numem_frametable_lookup(&sys.ft, numem_pfn(pfn)));
}

/* ---- the reference model ------------------------------------------------ */

struct held {
	numem_pfn_t pfn;
	unsigned order;
	uint32_t cpu;
};

/*
 * Walk every pfn of the machine through numem_heap_block_of: every RAM pfn
 * is in exactly one block or reserved; free (buddy) blocks sit wholly on
 * their layout node; blocks of `held` are allocated and nothing else is;
 * pending pages per node (allocated or cached pages whose head names
 * another node than the layout) equal numem_relayout_pending(); per node,
 * free + allocated + pending-out - pending-in = the layout's RAM.
 */
static void check_model(const struct held *held, size_t nr_held, bool pending_exact)
{
	const struct numem_topo *t = numem_heap_topo(&sys.heap);
	uint64_t max = t->max_pfn;
	uint8_t *mark = calloc(max, 1);
	assert_non_null(mark);
	for (size_t i = 0; i < nr_held; i++)
		for (uint64_t p = held[i].pfn.v; p < held[i].pfn.v + (1ull << held[i].order); p++) {
			assert_int_equal(mark[p], 0); /* two held blocks claim p */
			mark[p] = 1;
		}
	uint64_t pending[NUMEM_MAX_NODES] = {0};
	uint64_t ram = 0, seen = 0;
	for (uint64_t p = 0; p < max;) {
		struct numem_heap_block b;
		enum numem_page_state st = numem_heap_block_of(&sys.heap, numem_pfn(p), &b);
		if (st == NUMEM_PS_HOLE || st == NUMEM_PS_RESERVED || st == NUMEM_PS_UNINIT) {
			if (st != NUMEM_PS_HOLE)
				ram++;
			assert_int_equal(mark[p], 0);
			p++;
			continue;
		}
		assert_int_equal(b.head.v, p); /* walking block by block */
		uint64_t n = 1ull << b.order;
		numem_nid_t hn = head_node(p);
		for (uint64_t q = p; q < p + n; q++) {
			numem_nid_t ln = layout_node(q);
			if (st == NUMEM_PS_FREE && ln != hn)
				fail_msg("free block 0x%llx order %u on node %u, pfn 0x%llx is "
				         "node %u's",
				         (unsigned long long)p, b.order, hn, (unsigned long long)q,
				         ln);
			if (st != NUMEM_PS_FREE && ln != hn)
				pending[ln]++;
			assert_int_equal(mark[q], st == NUMEM_PS_ALLOCATED ? 1 : 0);
			mark[q] = 2;
		}
		ram += n;
		seen += n;
		p += n;
	}
	assert_int_equal(ram, t->total_ram_pages);
	for (size_t i = 0; i < nr_held; i++)
		assert_int_equal(mark[held[i].pfn.v], 2);
	if (pending_exact)
		for (numem_nid_t n = 0; n < sys.heap.max_nodes; n++)
			if (pending[n] != numem_relayout_pending(&sys.heap, n))
				fail_msg(
				    "node %u: %llu pages pending by the model, %llu by the heap", n,
				    (unsigned long long)pending[n],
				    (unsigned long long)numem_relayout_pending(&sys.heap, n));
	(void)seen;
	free(mark);
}

static size_t hold_some(struct held *h, size_t max, uint64_t seed)
{
	size_t n = 0;
	for (uint32_t c = 0; c < 3 && n < max; c++)
		for (int i = 0; i < 200 && n < max; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			unsigned order =
			    (seed >> 33) % 11 < 8 ? (seed >> 40) % 4 : 8 + (seed >> 40) % 3;
			numem_pfn_t pfn;
			if (numem_alloc(cpu_(c), order, 0, NULL, &pfn, &d))
				continue;
			h[n++] = (struct held){pfn, order, c};
		}
	return n;
}

static void free_all(struct held *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (numem_free(cpu_(h[i].cpu), h[i].pfn, h[i].order, &d))
			fail_msg("free 0x%llx order %u: %s", (unsigned long long)h[i].pfn.v,
			         h[i].order, d.msg);
}

static enum numem_err stripe_all(const numem_nid_t *nodes, uint32_t nr, uint64_t block,
                                 struct numem_relayout_result *res)
{
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	enum numem_err err =
	    numem_memlayout_stripe(&l, &sys.heap, 0, UINT64_MAX, nodes, nr, block, &d);
	if (!err)
		err = numem_relayout_commit(&sys.heap, &l, res, &d);
	numem_memlayout_release(&l);
	return err;
}

static void test_stripe_moves_free_and_marks_allocated(void **state)
{
	(void)state;
	boot3(NULL);
	/* The verifier between the commit's lock windows too (blocks in
	 * transit included): this test is single-threaded. */
	assert_true(numem_relayout_self_check(&sys.heap, true));
	static struct held held[700];
	size_t n = hold_some(held, 700, 42);
	assert_true(n > 100);
	verify("before");
	check_model(held, n, true);
	struct numem_relayout_result r;
	static const numem_nid_t nodes[] = {0, 1, 2};
	if (stripe_all(nodes, 3, 256, &r))
		fail_msg("commit: %s", d.msg);
	assert_int_equal(r.generation, 1);
	assert_true(r.pages_moved > 0 && r.pages_pending > 0 && r.blocks_moved > 0);
	assert_int_equal(numem_relayout_generation(&sys.heap), 1);
	verify("after");
	check_model(held, n, true);
	/* The views read the new layout at once: buddyinfo shows node 1's and
	 * node 2's DMA zones (all of DMA was node 0's at boot), the dump the
	 * pending counts. */
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	numem_report_buddyinfo(f, &sys.heap);
	numem_report_heap_dump(f, &sys.heap);
	fclose(f);
	assert_non_null(strstr(buf, "Node 1, zone      DMA"));
	assert_non_null(strstr(buf, "Node 2, zone      DMA"));
	char want[96];
	snprintf(want, sizeof(want), "relayout generation 1: online, pending %llu pages",
	         (unsigned long long)numem_relayout_pending(&sys.heap, 2));
	assert_non_null(strstr(buf, want));
	free(buf);
	/* Every node holds a third of the RAM now (each 256-page stripe). */
	const struct numem_topo *t = numem_heap_topo(&sys.heap);
	for (numem_nid_t k = 0; k < 3; k++)
		assert_true(t->node[k].ram_pages > t->total_ram_pages / 3 - 512 &&
		            t->node[k].ram_pages < t->total_ram_pages / 3 + 512);
	/* Every marked block lands on its target node when freed. */
	free_all(held, n);
	numem_heap_drain_all(&sys.heap);
	verify("after the frees");
	check_model(NULL, 0, true);
	for (numem_nid_t k = 0; k < 3; k++)
		assert_int_equal(numem_relayout_pending(&sys.heap, k), 0);
	/* Counts: free + allocated = the node's RAM. */
	for (numem_nid_t k = 0; k < 3; k++)
		assert_int_equal(numem_heap_node_free(&sys.heap, k) +
		                     numem_heap_node_allocated(&sys.heap, k),
		                 t->node[k].ram_pages);
	numem_system_shutdown(&sys);
}

/* Commit twice over the same ranges with pending pages between (dirty
 * sections), then back to the boot layout; the same layout twice is a
 * no-op. */
static void test_recommit_with_pending(void **state)
{
	(void)state;
	boot3(NULL);
	assert_true(numem_relayout_self_check(&sys.heap, true));
	static struct held held[700];
	size_t n = hold_some(held, 700, 7);
	static const numem_nid_t a[] = {0, 1, 2}, b[] = {2, 0}, one[] = {1};
	struct numem_relayout_result r;
	assert_int_equal(stripe_all(a, 3, 256, &r), NUMEM_OK);
	check_model(held, n, true);
	assert_int_equal(stripe_all(b, 2, 64, &r), NUMEM_OK);
	verify("second");
	check_model(held, n, true);
	assert_int_equal(stripe_all(b, 2, 64, &r), NUMEM_OK); /* the same again */
	assert_int_equal(r.nr_changes, 0);
	assert_int_equal(r.pages_moved, 0);
	check_model(held, n, true);
	/* Free half, then push everything to node 1. */
	free_all(held, n / 2);
	check_model(held + n / 2, n - n / 2, true);
	assert_int_equal(stripe_all(one, 1, 1, &r), NUMEM_OK);
	verify("push");
	check_model(held + n / 2, n - n / 2, true);
	free_all(held + n / 2, n - n / 2);
	numem_heap_drain_all(&sys.heap);
	check_model(NULL, 0, true);
	assert_int_equal(numem_heap_node_free(&sys.heap, 1) +
	                     numem_heap_node_allocated(&sys.heap, 1),
	                 numem_heap_topo(&sys.heap)->total_ram_pages);
	/* Nodes 0 and 2 keep their CPUs: online, no memory. */
	assert_true(numem_relayout_node_online(&sys.heap, 0));
	assert_int_equal(numem_heap_topo(&sys.heap)->node[0].ram_pages, 0);
	numem_pfn_t p;
	assert_int_equal(numem_alloc(cpu_(0), 0, 0, NULL, &p, &d), NUMEM_OK);
	assert_int_equal(layout_node(p.v), 1);
	assert_int_equal(numem_free(cpu_(0), p, 0, &d), NUMEM_OK);
	verify("end");
	numem_system_shutdown(&sys);
}

/* A block of order 10 straddling stripe edges splits to three nodes. */
static void test_straddling_block_splits(void **state)
{
	(void)state;
	boot3(NULL);
	numem_pfn_t big;
	assert_int_equal(numem_alloc(cpu_(1), 10, 0, NULL, &big, &d), NUMEM_OK);
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	static const numem_nid_t nodes[] = {0, 1, 2};
	assert_int_equal(
	    numem_memlayout_stripe(&l, &sys.heap, big.v, big.v + 1024, nodes, 3, 256, &d),
	    NUMEM_OK);
	assert_int_equal(numem_relayout_commit(&sys.heap, &l, NULL, &d), NUMEM_OK);
	numem_memlayout_release(&l);
	assert_int_equal(numem_relayout_pending(&sys.heap, 0), 512);
	assert_int_equal(numem_relayout_pending(&sys.heap, 2), 256);
	struct held h = {big, 10, 1};
	check_model(&h, 1, true);
	assert_int_equal(numem_free(cpu_(1), big, 10, &d), NUMEM_OK);
	check_model(NULL, 0, true);
	for (uint64_t p = big.v; p < big.v + 1024; p += 256) {
		struct numem_heap_block b;
		assert_int_equal(numem_heap_block_of(&sys.heap, numem_pfn(p), &b), NUMEM_PS_FREE);
		assert_int_equal(head_node(b.head.v), nodes[(p - big.v) / 256 % 3]);
	}
	verify("end");
	numem_system_shutdown(&sys);
}

/* ---- cpu->node and distances reach the next allocation ------------------- */

static void test_cpu_map_and_distances(void **state)
{
	(void)state;
	boot3(NULL);
	const struct numem_topo *t0 = numem_heap_topo(&sys.heap);
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	/* Node 0's memory to node 1; node 0 nearer to 2 than to 1; cpu 3 to 1. */
	assert_int_equal(
	    numem_memlayout_push(&l, &sys.heap, t0->node[0].start_pfn, t0->node[0].end_pfn, 1, &d),
	    NUMEM_OK);
	assert_int_equal(numem_memlayout_set_distance(&l, &sys.heap, 0, 2, 15, &d), NUMEM_OK);
	assert_int_equal(numem_memlayout_set_distance(&l, &sys.heap, 0, 1, 30, &d), NUMEM_OK);
	assert_int_equal(numem_memlayout_set_cpu_node(&l, &sys.heap, 3, 1, &d), NUMEM_OK);
	struct numem_relayout_result r;
	assert_int_equal(numem_relayout_commit(&sys.heap, &l, &r, &d), NUMEM_OK);
	numem_memlayout_release(&l);
	assert_true(r.cpu_nodes_changed && r.distances_changed);
	const struct numem_topo *t = numem_heap_topo(&sys.heap);
	assert_int_equal(t->distance[0][2], 15);
	assert_int_equal(t->node[0].nearest_mem, 2);
	assert_int_equal(t->cpu[3].node, 1);
	/* The handles catch up at their next slow path or quiescent point. */
	numem_relayout_quiescent(cpu_(0));
	numem_relayout_quiescent(cpu_(3));
	assert_int_equal(cpu_(0)->node, 0);
	assert_int_equal(cpu_(0)->mem_node, 2);
	assert_int_equal(cpu_(3)->node, 1);
	numem_pfn_t p;
	assert_int_equal(numem_alloc(cpu_(0), 0, 0, NULL, &p, &d), NUMEM_OK);
	assert_int_equal(layout_node(p.v), 2);
	assert_int_equal(head_node(p.v), 2);
	assert_int_equal(numem_free(cpu_(0), p, 0, &d), NUMEM_OK);
	/* A slow-path allocation (no quiescent call) sees it too: cpu 1 moves
	 * to node 0, which has no memory: its nearest is 2 (distance 15). */
	numem_memlayout_init(&l, sys.heap.plat);
	assert_int_equal(numem_memlayout_set_cpu_node(&l, &sys.heap, 1, 0, &d), NUMEM_OK);
	assert_int_equal(numem_relayout_commit(&sys.heap, &l, NULL, &d), NUMEM_OK);
	numem_memlayout_release(&l);
	assert_int_equal(numem_alloc(cpu_(1), 0, NUMEM_ALLOC_NOPCP, NULL, &p, &d), NUMEM_OK);
	assert_int_equal(cpu_(1)->node, 0);
	assert_int_equal(head_node(p.v), 2);
	assert_int_equal(numem_free(cpu_(1), p, 0, &d), NUMEM_OK);
	numem_heap_drain_all(&sys.heap);
	verify("end");
	numem_system_shutdown(&sys);
}

/* ---- validation: every check rejects with nothing changed ----------------- */

static void expect_rejected(struct numem_memlayout *l, enum numem_err want, const char *msg_part)
{
	const struct numem_topo *before = numem_heap_topo(&sys.heap);
	uint64_t free0 = numem_heap_node_free(&sys.heap, 0);
	memset(&d, 0, sizeof(d));
	enum numem_err err = numem_relayout_commit(&sys.heap, l, NULL, &d);
	if (err != want)
		fail_msg("expected %s, got %s: %s", numem_err_name(want), numem_err_name(err),
		         d.msg);
	if (!strstr(d.msg, msg_part))
		fail_msg("message \"%s\" lacks \"%s\"", d.msg, msg_part);
	assert_ptr_equal(numem_heap_topo(&sys.heap), before);
	assert_int_equal(numem_relayout_generation(&sys.heap), 0);
	assert_int_equal(numem_heap_node_free(&sys.heap, 0), free0);
	verify("after a rejected layout");
	numem_memlayout_release(l);
}

static void test_invalid_layouts(void **state)
{
	(void)state;
	boot3(NULL);
	const struct numem_topo *t = numem_heap_topo(&sys.heap);
	uint64_t s1 = t->node[1].start_pfn, e1 = t->node[1].end_pfn;
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	/* The builders' own checks. */
	assert_int_equal(numem_memlayout_add(&l, 5, 5, 0, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_memlayout_add(&l, 6, 5, 0, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_memlayout_add(&l, 5, 6, NUMEM_NID_NONE, &d), NUMEM_E_INVAL);
	numem_nid_t nodes[] = {0, 1};
	assert_int_equal(numem_memlayout_stripe(&l, &sys.heap, 0, UINT64_MAX, nodes, 0, 256, &d),
	                 NUMEM_E_INVAL);
	assert_int_equal(numem_memlayout_stripe(&l, &sys.heap, 0, UINT64_MAX, nodes, 2, 0, &d),
	                 NUMEM_E_INVAL);
	assert_int_equal(
	    numem_memlayout_stripe(&l, &sys.heap, t->max_pfn, UINT64_MAX, nodes, 2, 4, &d),
	    NUMEM_E_RANGE);
	assert_int_equal(
	    numem_memlayout_stripe(&l, &sys.heap, 0, UINT64_MAX, nodes, 2, UINT64_MAX - 2, &d),
	    NUMEM_E_INVAL); /* block ends overflow */
	assert_int_equal(numem_memlayout_set_cpu_node(&l, &sys.heap, 4, 0, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_memlayout_set_cpu_node(&l, &sys.heap, 0, 3, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_memlayout_set_distance(&l, &sys.heap, 0, 0, 20, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_memlayout_set_distance(&l, &sys.heap, 0, 1, 10, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_memlayout_set_distance(&l, &sys.heap, 0, 1, 9, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_memlayout_set_distance(&l, &sys.heap, 0, 3, 20, &d), NUMEM_E_INVAL);
	assert_int_equal(l.nr, 0);
	numem_memlayout_release(&l);

	/* Validation at commit. */
	numem_memlayout_add(&l, s1, s1 + 16, 3, &d); /* unknown, not declared */
	expect_rejected(&l, NUMEM_E_INVAL, "not below the heap's max_nodes");
	numem_memlayout_add(&l, s1, s1 + 16, 0, &d);
	numem_memlayout_declare_node(&l, 1, &d); /* declared new, exists */
	expect_rejected(&l, NUMEM_E_INVAL, "it is a node of this machine");
	numem_memlayout_add(&l, t->max_pfn, t->max_pfn + 1, 0, &d); /* beyond RAM */
	expect_rejected(&l, NUMEM_E_RANGE, "not inside RAM");
	numem_memlayout_add(&l, 0, t->max_pfn + 1, 0, &d); /* one page too many */
	expect_rejected(&l, NUMEM_E_RANGE, "not inside RAM");
	numem_memlayout_add(&l, s1 + 32, s1 + 64, 0, &d);
	numem_memlayout_add(&l, s1, s1 + 33, 2, &d); /* overlaps by one page */
	expect_rejected(&l, NUMEM_E_OVERLAP, "overlap");
	numem_memlayout_add(&l, s1, s1 + 16, 0, &d);
	numem_memlayout_add(&l, s1, s1 + 16, 0, &d); /* the same range twice */
	expect_rejected(&l, NUMEM_E_OVERLAP, "overlap");
	numem_memlayout_add(&l, s1, e1, 2, &d);
	assert_int_equal(numem_memlayout_set_cpu_node(&l, &sys.heap, 0, 2, &d), NUMEM_OK);
	l.cpu_node[0] = 7; /* edited behind the builder's back */
	expect_rejected(&l, NUMEM_E_INVAL, "cpu 0: node 7");
	numem_memlayout_release(&l);
	numem_system_shutdown(&sys);

	/* Declared new (room for it), but no range gives it memory; and the
	 * last node below max_nodes is accepted. */
	struct numem_system_opts o = {.heap.max_nodes = 5};
	boot3(&o);
	t = numem_heap_topo(&sys.heap);
	s1 = t->node[1].start_pfn;
	numem_memlayout_init(&l, sys.heap.plat);
	numem_memlayout_add(&l, s1, s1 + 16, 3, &d); /* room for it, not declared */
	expect_rejected(&l, NUMEM_E_INVAL, "not a node of this machine and not declared new");
	numem_memlayout_add(&l, s1, s1 + 16, 3, &d);
	numem_memlayout_declare_node(&l, 3, &d);
	numem_memlayout_declare_node(&l, 4, &d);
	expect_rejected(&l, NUMEM_E_NO_MEMORY, "node 4 is declared new");
	assert_int_equal(numem_relayout_commit(NULL, &l, NULL, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_relayout_commit(&sys.heap, NULL, NULL, &d), NUMEM_E_INVAL);
	struct numem_relayout_notifier stranger = {.call = NULL};
	numem_relayout_unregister(&sys.heap, &stranger); /* never registered: ignored */
	numem_memlayout_add(&l, s1, s1 + 16, 5, &d);
	numem_memlayout_declare_node(&l, 5, &d);
	expect_rejected(&l, NUMEM_E_INVAL, "declared new, but it is not below");
	numem_memlayout_add(&l, s1, s1 + 16, 4, &d);
	numem_memlayout_declare_node(&l, 4, &d);
	assert_int_equal(numem_relayout_commit(&sys.heap, &l, NULL, &d), NUMEM_OK);
	numem_memlayout_release(&l);
	assert_true(numem_relayout_node_online(&sys.heap, 4));
	assert_false(numem_relayout_node_online(&sys.heap, 3));
	verify("max-1");
	numem_system_shutdown(&sys);

	/* max_nodes itself is checked at init. */
	o.heap.max_nodes = NUMEM_MAX_NODES + 1;
	static const char *const a[] = {"node,nodeid=0,cpus=0,mem=64M"};
	static struct numem_spec spec;
	memset(&spec, 0, sizeof(spec));
	char err[256];
	assert_int_equal(numem_spec_add_numa_arg(&spec, a[0], err, sizeof(err)), 0);
	assert_int_equal(numem_spec_finish(&spec, err, sizeof(err)), 0);
	struct numem_machine_src src;
	assert_int_equal(numem_machine_src_spec(&src, &spec, err, sizeof(err)), 0);
	assert_int_equal(numem_system_boot(&sys, &src, &o, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "max_nodes"));
}

/* ---- a commit whose metadata is refused half-way ------------------------- */

static struct numem_platform failing;
static const struct numem_platform *real;
static int fail_countdown;

static void *failing_alloc(void *ctx, size_t bytes, size_t align, numem_nid_t nid)
{
	if (fail_countdown >= 0 && fail_countdown-- == 0)
		return NULL;
	return real->meta_alloc(ctx, bytes, align, nid);
}

static void test_failed_commit_keeps_old_layout(void **state)
{
	(void)state;
	boot3(NULL);
	static struct held held[300];
	size_t n = hold_some(held, 300, 3);
	real = sys.heap.plat;
	failing = *real;
	failing.meta_alloc = failing_alloc;
	uint64_t free_before[3];
	for (numem_nid_t k = 0; k < 3; k++)
		free_before[k] = numem_heap_node_free(&sys.heap, k);
	static const numem_nid_t nodes[] = {0, 1, 2};
	/* Allocation k of the commit fails, for every k until one succeeds:
	 * the relayout state, the scratch, the change list, the new version. */
	int k;
	for (k = 0;; k++) {
		const struct numem_topo *before = numem_heap_topo(&sys.heap);
		sys.heap.plat = &failing;
		fail_countdown = k;
		struct numem_memlayout l;
		numem_memlayout_init(&l, real);
		assert_int_equal(
		    numem_memlayout_stripe(&l, &sys.heap, 0, UINT64_MAX, nodes, 3, 256, &d),
		    NUMEM_OK);
		enum numem_err err = numem_relayout_commit(&sys.heap, &l, NULL, &d);
		numem_memlayout_release(&l);
		sys.heap.plat = real;
		if (fail_countdown >= 0) { /* nothing failed: committed */
			assert_int_equal(err, NUMEM_OK);
			break;
		}
		assert_int_equal(err, NUMEM_E_NOMEM);
		assert_non_null(strstr(d.msg, "no "));
		assert_ptr_equal(numem_heap_topo(&sys.heap), before);
		assert_int_equal(numem_relayout_generation(&sys.heap), 0);
		for (numem_nid_t j = 0; j < 3; j++) {
			assert_int_equal(numem_heap_node_free(&sys.heap, j), free_before[j]);
			assert_int_equal(numem_relayout_pending(&sys.heap, j), 0);
		}
		verify("after a refused commit");
		check_model(held, n, true);
	}
	assert_true(k >= 3);
	fail_countdown = -1;
	assert_int_equal(numem_relayout_generation(&sys.heap), 1);
	check_model(held, n, true);
	free_all(held, n);
	numem_heap_drain_all(&sys.heap);
	check_model(NULL, 0, true);
	verify("end");
	numem_system_shutdown(&sys);
}

/* ---- nodes online and offline; notifiers ----------------------------------- */

struct seen {
	int before, after;
	uint32_t changes;
	uint64_t moved, pending;
	bool found;
	numem_pfn_t probe;
	struct numem_cpu *cpu;
	numem_pfn_t migrate; /* a page to migrate now in AFTER */
	numem_pfn_t migrated;
};

static void on_relayout(void *ctx, struct numem_heap *h, const struct numem_relayout_event *ev)
{
	struct seen *s = ctx;
	(void)h;
	if (ev->phase == NUMEM_RELAYOUT_BEFORE) {
		s->before++;
		assert_ptr_equal(numem_heap_topo(h), ev->old_topo); /* nothing changed yet */
		return;
	}
	s->after++;
	assert_ptr_equal(numem_heap_topo(h), ev->new_topo);
	s->changes = ev->nr_changes;
	s->moved = ev->result->pages_moved;
	s->pending = ev->result->pages_pending;
	const struct numem_relayout_change *c = numem_relayout_event_find(ev, s->probe);
	s->found = c && c->new_node == 2;
	/* A domain migrating its frame now: allocate on the new node, copy,
	 * free the old page (which goes to the new node). */
	if (s->migrate.v && numem_relayout_event_find(ev, s->migrate)) {
		struct numem_policy p;
		numem_policy_init(&p, NUMEM_POLICY_PREFERRED);
		p.node = numem_relayout_event_find(ev, s->migrate)->new_node;
		assert_int_equal(
		    numem_alloc(s->cpu, 0, NUMEM_ALLOC_EXACT_NODE, &p, &s->migrated, &d), NUMEM_OK);
		assert_int_equal(numem_free(s->cpu, s->migrate, 0, &d), NUMEM_OK);
	}
}

static void test_new_node_notifiers_offline(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.max_nodes = 3};
	boot2("64M", &o);
	assert_int_equal(numem_heap_topo(&sys.heap)->nr_nodes, 2);
	assert_false(numem_relayout_node_online(&sys.heap, 2));
	struct seen s = {0};
	struct numem_relayout_notifier nt = {.call = on_relayout, .ctx = &s};
	numem_relayout_register(&sys.heap, &nt);
	numem_relayout_register(&sys.heap, &nt); /* twice: once on the list */
	const struct numem_topo *t = numem_heap_topo(&sys.heap);
	uint64_t s1 = t->node[1].start_pfn, e1 = t->node[1].end_pfn, half = s1 + (e1 - s1) / 2;
	/* A page of node 1 held, to be migrated by the notifier. */
	struct numem_policy p1;
	numem_policy_init(&p1, NUMEM_POLICY_PREFERRED);
	p1.node = 1;
	numem_pfn_t pg = {0};
	do
		assert_int_equal(numem_alloc(cpu_(0), 0, NUMEM_ALLOC_EXACT_NODE | NUMEM_ALLOC_NOPCP,
		                             &p1, &pg, &d),
		                 NUMEM_OK);
	while (pg.v < half); /* leak the ones below: held by the model below */
	s.cpu = cpu_(0);
	s.migrate = pg;
	s.probe = numem_pfn(half + 1);
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	static const numem_nid_t to2[] = {2};
	assert_int_equal(numem_memlayout_stripe(&l, &sys.heap, half, e1, to2, 1, 64, &d), NUMEM_OK);
	assert_true(numem_nodemask_test(&l.new_nodes, 2)); /* stripe (and push) declare it */
	struct numem_relayout_result r;
	assert_int_equal(numem_relayout_commit(&sys.heap, &l, &r, &d), NUMEM_OK);
	numem_memlayout_release(&l);
	assert_int_equal(s.before, 1);
	assert_int_equal(s.after, 1);
	assert_true(s.found);
	assert_int_equal(s.changes, r.nr_changes);
	assert_int_equal(s.moved, r.pages_moved);
	assert_true(numem_nodemask_test(&r.onlined, 2));
	assert_true(numem_relayout_node_online(&sys.heap, 2));
	assert_int_equal(head_node(s.migrated.v), 2);
	/* The old page went to node 2 when the notifier freed it (cpu 0 had
	 * caught up in the allocation before): not pending, not in cpu 0's
	 * cache of node 1's zone. */
	assert_int_equal(numem_relayout_pending(&sys.heap, 2), 0); /* migrated at once */
	numem_heap_drain_cpu(cpu_(0));
	assert_int_equal(numem_relayout_pending(&sys.heap, 2), 0);
	assert_int_equal(numem_heap_topo(&sys.heap)->nr_nodes, 3);
	/* The new node's zones serve allocations, and its free count is true. */
	assert_true(numem_heap_node_free(&sys.heap, 2) >= r.pages_moved);
	struct numem_policy p2;
	numem_policy_init(&p2, NUMEM_POLICY_PREFERRED);
	p2.node = 2;
	numem_pfn_t q;
	assert_int_equal(numem_alloc(cpu_(1), 3, NUMEM_ALLOC_EXACT_NODE, &p2, &q, &d), NUMEM_OK);
	assert_int_equal(layout_node(q.v), 2);
	assert_int_equal(numem_free(cpu_(1), q, 3, &d), NUMEM_OK);
	assert_int_equal(numem_free(cpu_(0), s.migrated, 0, &d), NUMEM_OK);
	numem_heap_drain_all(&sys.heap);
	verify("new node");
	/* Back to node 1: node 2 has no memory and no CPU, goes offline. */
	numem_relayout_unregister(&sys.heap, &nt);
	numem_memlayout_init(&l, sys.heap.plat);
	assert_int_equal(numem_memlayout_push(&l, &sys.heap, half, e1, 1, &d), NUMEM_OK);
	assert_int_equal(numem_relayout_commit(&sys.heap, &l, &r, &d), NUMEM_OK);
	numem_memlayout_release(&l);
	assert_int_equal(s.after, 1); /* unregistered */
	assert_true(numem_nodemask_test(&r.offlined, 2));
	assert_false(numem_relayout_node_online(&sys.heap, 2));
	assert_int_equal(numem_heap_node_free(&sys.heap, 2), 0);
	assert_false(numem_heap_zone(&sys.heap, 2, NUMEM_ZONE_NORMAL)->populated ||
	             numem_heap_zone(&sys.heap, 2, NUMEM_ZONE_DMA32)->populated);
	/* Preferring the memoryless node gives its nearest with memory. */
	assert_int_equal(numem_alloc(cpu_(1), 0, NUMEM_ALLOC_EXACT_NODE, &p2, &q, &d), NUMEM_OK);
	assert_int_not_equal(head_node(q.v), 2);
	assert_int_equal(head_node(q.v), layout_node(q.v));
	assert_int_equal(numem_free(cpu_(1), q, 0, &d), NUMEM_OK);
	verify("offline");
	numem_system_shutdown(&sys);
}

/* ---- deferred sections come up following the layout ---------------------- */

static void test_deferred_sections_follow(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.deferred = true, .ft.deferred = true};
	boot2("2G", &o);
	const struct numem_topo *t = numem_heap_topo(&sys.heap);
	uint64_t s0 = t->node[0].start_pfn, e0 = t->node[0].end_pfn;
	uint64_t top = e0 - (512ull << 20 >> NUMEM_PAGE_SHIFT); /* the top 512 MiB: deferred */
	assert_false(numem_section_online(&sys.ft, top >> sys.ft.pfn_section_shift));
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	assert_int_equal(numem_memlayout_push(&l, &sys.heap, top, e0, 1, &d), NUMEM_OK);
	struct numem_relayout_result r;
	assert_int_equal(numem_relayout_commit(&sys.heap, &l, &r, &d), NUMEM_OK);
	numem_memlayout_release(&l);
	assert_int_equal(r.pages_deferred, e0 - top);
	verify("after");
	/* Take every page of node 1: the deferred sections come up, the moved
	 * ones as node 1's. */
	struct numem_policy p;
	numem_policy_init(&p, NUMEM_POLICY_PREFERRED);
	p.node = 1;
	uint64_t got = 0, from_moved = 0;
	numem_pfn_t q;
	while (!numem_alloc(cpu_(1), 10, NUMEM_ALLOC_EXACT_NODE | NUMEM_ALLOC_HIGH, &p, &q, &d)) {
		assert_int_equal(layout_node(q.v), 1);
		got += 1024;
		if (q.v >= top && q.v < e0)
			from_moved += 1024;
	}
	assert_int_equal(from_moved, e0 - top);
	assert_true(got > (2ull << 30 >> NUMEM_PAGE_SHIFT));
	assert_true(s0 < top);
	verify("grown");
	numem_system_shutdown(&sys);
}

/*
 * A new node that takes all the RAM gets watermarks for its share of the
 * machine, not of what the old zones still hold: with a few pages pending
 * on the old nodes (allocated there), their present counts are tiny after
 * the commit, and a share computed against those gave node 2 a min above
 * its own size, so every allocation failed.
 */
static void test_new_node_takes_all_watermarks(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.max_nodes = 3};
	boot2("64M", &o);
	struct numem_heap *h = &sys.heap;
	numem_pfn_t held[2][16];
	for (uint32_t c = 0; c < 2; c++)
		for (int i = 0; i < 16; i++)
			assert_int_equal(
			    numem_alloc(cpu_(c), 0, NUMEM_ALLOC_NOPCP, NULL, &held[c][i], &d),
			    NUMEM_OK);
	push_commit(0, UINT64_MAX, 2);
	assert_int_equal(numem_relayout_pending(h, 2), 32);
	for (unsigned zt = 0; zt < NUMEM_NR_ZONE_TYPES; zt++) {
		const struct numem_zone *z = numem_heap_zone(h, 2, (enum numem_zone_type)zt);
		if (z->populated && z->wmark_min >= z->present_pages)
			fail_msg("node 2 zone %u: min %llu of %llu pages", zt,
			         (unsigned long long)z->wmark_min,
			         (unsigned long long)z->present_pages);
	}
	numem_pfn_t p;
	assert_int_equal(numem_alloc(cpu_(0), 2, 0, NULL, &p, &d), NUMEM_OK);
	assert_int_equal(head_node(p.v), 2);
	assert_int_equal(numem_free(cpu_(0), p, 2, &d), NUMEM_OK);
	for (uint32_t c = 0; c < 2; c++)
		for (int i = 0; i < 16; i++)
			assert_int_equal(numem_free(cpu_(c), held[c][i], 0, &d), NUMEM_OK);
	numem_heap_drain_all(h);
	assert_int_equal(numem_relayout_pending(h, 2), 0);
	verify("all RAM on a new node");
	numem_system_shutdown(&sys);
}

/*
 * A node that keeps only a sliver of its RAM gets watermarks for that
 * sliver: kept at its old size (64 MiB: a min of ~180 pages), a node left
 * with 128 pages refused every allocation although 128 pages were free
 * (test_relayout_subscribers' churn test failed so in about 1 run of 100).
 * The machine's min is redistributed, not lost.
 */
static void test_shrunk_node_watermarks(void **state)
{
	(void)state;
	boot2("64M", NULL);
	struct numem_heap *h = &sys.heap;
	const struct numem_node *n1 = &numem_heap_topo(h)->node[1];
	push_commit(n1->start_pfn, n1->end_pfn - 128, 0);
	assert_int_equal(numem_heap_topo(h)->node[1].ram_pages, 128);
	uint64_t sum = 0;
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		const struct numem_zone *z = &h->zone[zi];
		sum += z->wmark_min;
		if (z->populated && z->node == 1 && z->wmark_low >= z->present_pages)
			fail_msg("node 1 zone %u: low %llu of %llu pages", z->type,
			         (unsigned long long)z->wmark_low,
			         (unsigned long long)z->present_pages);
	}
	/* rounding down loses less than a page per zone */
	assert_true(sum <= h->min_free_pages && sum + h->nr_zones >= h->min_free_pages);
	numem_pfn_t p[64];
	for (int i = 0; i < 64; i++) {
		assert_int_equal(numem_alloc(cpu_(1), 0, NUMEM_ALLOC_EXACT_NODE, NULL, &p[i], &d),
		                 NUMEM_OK);
		assert_int_equal(layout_node(p[i].v), 1);
	}
	for (int i = 0; i < 64; i++)
		assert_int_equal(numem_free(cpu_(1), p[i], 0, &d), NUMEM_OK);
	numem_heap_drain_all(h);
	verify("a shrunk node");
	numem_system_shutdown(&sys);
}

/* ---- issue 8's fast paths after a commit --------------------------------- */

/* Per-node numastat counter, folded over the CPUs. */
static uint64_t stat_of(numem_nid_t n, unsigned which)
{
	uint64_t st[NUMEM_NR_STATS];
	numem_heap_node_stats(&sys.heap, n, st);
	return st[which];
}

/* The interleave fast path's tables (heap->mem_nodes, heap->node_zone)
 * against the topology in force: a node with RAM is in mem_nodes and its
 * node_zone is the first zone of its NORMAL zonelist, on that node. */
static void check_node_tables(void)
{
	const struct numem_heap *h = &sys.heap;
	const struct numem_topo *t = numem_heap_topo(h);
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++) {
		bool ram = n < t->nr_nodes && t->node[n].ram_pages;
		assert_int_equal(numem_nodemask_test(&h->mem_nodes, n), ram);
		if (!ram) {
			assert_int_equal(h->node_zone[n], UINT16_MAX);
			continue;
		}
		uint16_t first = h->zonelist[((size_t)n * NUMEM_NR_ZONE_TYPES + NUMEM_ZONE_NORMAL) *
		                             h->zonelist_len];
		assert_int_equal(h->node_zone[n], first);
		assert_int_equal(h->zone[first].node, n);
	}
}

/*
 * A commit, then perf's precomputed answers (issue 8): node 1's RAM goes to
 * a new node 2 and CPU 1 with it; node 1 keeps no memory.  The interleave
 * tables are rebuilt by the commit (node 2 in, node 1 out); CPU 1's fast
 * path (fast_pcp, fast_node, fast_near, free_want) is recomputed when it
 * catches up; order-0 allocations on CPU 1 come from node 2 and count
 * there; interleave over {0, 1, 2} from a rotor that last took node 1
 * rotates over the nodes with memory, 2 then 0, and counts true.
 */
static void test_fast_paths_after_commit(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.max_nodes = 3};
	boot2("64M", &o);
	struct numem_heap *h = &sys.heap;
	struct numem_cpu *c1 = cpu_(1);
	check_node_tables();
	/* Warm CPU 1's caches of nodes 0 and 1, its rotor left on node 1. */
	struct numem_policy il;
	numem_policy_init(&il, NUMEM_POLICY_INTERLEAVE);
	numem_nodemask_set(&il.nodes, 0);
	numem_nodemask_set(&il.nodes, 1);
	numem_nodemask_set(&il.nodes, 2);
	numem_pfn_t p[64];
	for (int i = 0; i < 4; i++)
		assert_int_equal(numem_alloc(c1, 0, 0, &il, &p[i], &d), NUMEM_OK);
	assert_int_equal(head_node(p[3].v), 1);
	assert_int_equal(c1->il_prev, 1);
	for (int i = 0; i < 4; i++)
		assert_int_equal(numem_free(c1, p[i], 0, &d), NUMEM_OK);
	assert_ptr_equal(c1->fast_pcp, &c1->pcp[h->node_zone[1]]);

	const struct numem_topo *t = numem_heap_topo(h);
	struct numem_memlayout l;
	numem_memlayout_init(&l, h->plat);
	assert_int_equal(
	    numem_memlayout_push(&l, h, t->node[1].start_pfn, t->node[1].end_pfn, 2, &d), NUMEM_OK);
	assert_int_equal(numem_memlayout_set_cpu_node(&l, h, 1, 2, &d), NUMEM_OK);
	assert_int_equal(numem_relayout_commit(h, &l, NULL, &d), NUMEM_OK);
	numem_memlayout_release(&l);
	/* The commit rebuilt the interleave tables with its zonelists. */
	check_node_tables();
	assert_false(numem_nodemask_test(&h->mem_nodes, 1));
	assert_true(numem_nodemask_test(&h->mem_nodes, 2));
	uint16_t z2 = h->node_zone[2];
	assert_int_equal(h->zone[z2].node, 2);

	/* CPU 1 catches up: its fast-path answers name node 2. */
	numem_relayout_quiescent(c1);
	assert_int_equal(c1->node, 2);
	assert_int_equal(c1->mem_node, 2);
	assert_ptr_equal(c1->fast_pcp, &c1->pcp[z2]);
	assert_int_equal(c1->fast_node, 2);
	assert_int_equal(c1->fast_near, NUMEM_STAT_LOCAL_NODE);
	assert_ptr_equal(c1->fast_allocs, c1->stat[h->max_nodes]);
	/* free_want names the fast zone: a free of node 2's heads goes on
	 * fast_pcp (issue 8, scale); while pages are pending it also holds a
	 * flag bit no head has (NUMEM__FREE_WANT_PENDING: such frees take the
	 * paths that send a pending block to its new node). */
	uint64_t pending = 0;
	for (numem_nid_t n = 0; n < 3; n++)
		pending += numem_relayout_pending(h, n);
	assert_int_equal(c1->free_want, (uint64_t)NUMEM_PS_ALLOCATED << NUMEM_PG_STATE_SHIFT |
	                                    (uint64_t)2 << NUMEM_PG_NODE_SHIFT |
	                                    (uint64_t)(z2 % NUMEM_NR_ZONE_TYPES)
	                                        << NUMEM_PG_ZONE_SHIFT |
	                                    (pending ? 1ull << (NUMEM_PG_FLAG_SHIFT + 3) : 0));

	/* Order-0 allocations on CPU 1: node 2's pages, counted on node 2. */
	uint64_t hit1 = stat_of(1, NUMEM_STAT_NUMA_HIT), hit2 = stat_of(2, NUMEM_STAT_NUMA_HIT);
	uint64_t loc2 = stat_of(2, NUMEM_STAT_LOCAL_NODE);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(numem_alloc(c1, 0, 0, NULL, &p[i], &d), NUMEM_OK);
		assert_int_equal(head_node(p[i].v), 2);
		assert_int_equal(layout_node(p[i].v), 2);
	}
	assert_int_equal(stat_of(2, NUMEM_STAT_NUMA_HIT), hit2 + 40);
	assert_int_equal(stat_of(2, NUMEM_STAT_LOCAL_NODE), loc2 + 40);
	assert_int_equal(stat_of(1, NUMEM_STAT_NUMA_HIT), hit1);
	for (int i = 0; i < 40; i++)
		assert_int_equal(numem_free(c1, p[i], 0, &d), NUMEM_OK);

	/* Interleave over {0, 1, 2}: the rotor (last on node 1, which has no
	 * memory now) takes 2, then 0, 2, 0... with both caches warm. */
	uint64_t il0 = stat_of(0, NUMEM_STAT_INTERLEAVE_HIT);
	uint64_t il1 = stat_of(1, NUMEM_STAT_INTERLEAVE_HIT);
	uint64_t il2 = stat_of(2, NUMEM_STAT_INTERLEAVE_HIT);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(numem_alloc(c1, 0, 0, &il, &p[i], &d), NUMEM_OK);
		numem_nid_t want = i % 2 ? 0 : 2;
		if (head_node(p[i].v) != want || layout_node(p[i].v) != want)
			fail_msg("interleave allocation %d: node %u (layout %u), expected %u", i,
			         head_node(p[i].v), layout_node(p[i].v), want);
	}
	assert_int_equal(stat_of(0, NUMEM_STAT_INTERLEAVE_HIT), il0 + 32);
	assert_int_equal(stat_of(2, NUMEM_STAT_INTERLEAVE_HIT), il2 + 32);
	assert_int_equal(stat_of(1, NUMEM_STAT_INTERLEAVE_HIT), il1);
	for (int i = 0; i < 64; i++)
		assert_int_equal(numem_free(c1, p[i], 0, &d), NUMEM_OK);
	check_model(NULL, 0, true);
	numem_heap_drain_all(h);
	verify("fast paths after a commit");
	numem_system_shutdown(&sys);
}

/*
 * The free fast path reads the heap's online map (issue 8): a deferred
 * section that a commit gave another node and that comes up after the
 * commit gets its map entry, so a free of its pages finds the descriptor
 * (the fast path), which names the new node; the page goes on that node's
 * cache of the freeing CPU.
 */
static void test_free_fast_path_grown_after_commit(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.deferred = true, .ft.deferred = true};
	boot2("2G", &o);
	struct numem_heap *h = &sys.heap;
	const struct numem_frametable *ft = &sys.ft;
	const struct numem_topo *t = numem_heap_topo(h);
	uint64_t e0 = t->node[0].end_pfn;
	uint64_t top = e0 - (512ull << 20 >> NUMEM_PAGE_SHIFT); /* deferred: not online */
	uint64_t sec = top >> ft->pfn_section_shift;
	assert_false(numem_section_online(ft, sec));
	assert_int_equal(atomic_load(&h->online_map[sec]), 0);
	push_commit(top, e0, 1);
	/* Node 1 grows into the moved sections: take pages until one is there. */
	struct numem_cpu *c1 = cpu_(1);
	numem_relayout_quiescent(c1);
	struct numem_policy p;
	numem_policy_init(&p, NUMEM_POLICY_PREFERRED);
	p.node = 1;
	enum { MAX_HELD = 2100 };
	numem_pfn_t *held = calloc(MAX_HELD, sizeof(*held));
	size_t n = 0;
	numem_pfn_t moved = {UINT64_MAX};
	while (n < MAX_HELD && moved.v == UINT64_MAX) {
		numem_pfn_t q;
		if (numem_alloc(c1, 9, NUMEM_ALLOC_EXACT_NODE | NUMEM_ALLOC_HIGH, &p, &q, &d))
			break;
		held[n++] = q;
		if (q.v >= top && q.v < e0)
			moved = q;
	}
	assert_true(moved.v != UINT64_MAX);
	uint64_t s = moved.v >> ft->pfn_section_shift;
	assert_true(numem_section_online(ft, s));
	/* The map entry the free fast path reads: this section's descriptors. */
	uintptr_t base = atomic_load(&h->online_map[s]);
	assert_true(base & 1);
	assert_ptr_equal((struct numem_page *)(base - 1 + moved.v * sizeof(struct numem_page)),
	                 numem_pfn_to_page(ft, moved));
	assert_int_equal(head_node(moved.v), 1);
	/* An order-0 page of it, freed by CPU 1: onto node 1's cache. */
	numem_pfn_t one;
	assert_int_equal(numem_heap_split(h, moved, 9, 0, NUMEM_OWNER_HEAP, &d), NUMEM_OK);
	one = numem_pfn(moved.v + 5);
	uint32_t before = 0, after = 0;
	for (uint32_t zi = 0; zi < h->nr_zones; zi++)
		before += c1->pcp[zi].count[0];
	assert_int_equal(numem_free(c1, one, 0, &d), NUMEM_OK);
	struct numem_pcp *pcp = 0;
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		after += c1->pcp[zi].count[0];
		if (c1->pcp[zi].list[0] == numem_pfn_to_page(ft, one)) {
			assert_int_equal(h->zone[zi].node, 1); /* node 1's zone (DMA32 here) */
			pcp = &c1->pcp[zi];
		}
	}
	assert_non_null(pcp);
	assert_int_equal(after, before + 1);
	assert_int_equal(numem_free(c1, one, 0, &d), NUMEM_E_DOUBLE_FREE); /* twice */
	for (uint64_t q = moved.v; q < moved.v + 512; q++)
		if (q != one.v)
			assert_int_equal(numem_free(c1, numem_pfn(q), 0, &d), NUMEM_OK);
	for (size_t i = 0; i < n; i++)
		if (held[i].v != moved.v)
			assert_int_equal(numem_free(c1, held[i], 9, &d), NUMEM_OK);
	free(held);
	numem_heap_drain_all(h);
	verify("grown after the commit");
	numem_system_shutdown(&sys);
}

/* ---- from a new SRAT and SLIT ------------------------------------------------ */

/* An 8-locality SLIT: 10 on the diagonal, `far` elsewhere. */
static void slit8(uint8_t matrix[8 * 8], uint8_t far)
{
	for (int a = 0; a < 8; a++)
		for (int b = 0; b < 8; b++)
			matrix[a * 8 + b] = a == b ? 10 : far;
}

/* A layout from the SRAT and SLIT, which must declare node 3 new,
 * committed. */
static void commit_srat_new3(const struct numem_srat *srat, const struct numem_slit *slit,
                             struct numem_relayout_result *r)
{
	struct numem_memlayout l;
	numem_memlayout_init(&l, sys.heap.plat);
	if (numem_memlayout_from_srat(&l, &sys.heap, srat, slit, &d))
		fail_msg("from_srat: %s", d.msg);
	assert_true(numem_nodemask_test(&l.new_nodes, 3));
	if (numem_relayout_commit(&sys.heap, &l, r, &d))
		fail_msg("commit: %s", d.msg);
	numem_memlayout_release(&l);
}

static void test_from_srat(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.max_nodes = 4};
	boot3(&o);
	const struct numem_topo *t = numem_heap_topo(&sys.heap);
	uint64_t b1 = t->node[1].start_pfn << NUMEM_PAGE_SHIFT;
	uint64_t b2 = t->node[2].start_pfn << NUMEM_PAGE_SHIFT;
	uint64_t e2 = t->node[2].end_pfn << NUMEM_PAGE_SHIFT, half = (e2 - b2) / 2;
	/* pxm 0 takes node 1's memory; a new pxm 7 the lower half of node 2's;
	 * a hot-pluggable entry is ignored; cpu 1 moves to pxm 7. */
	struct numem_srat_mem mem[] = {
	    {.pxm = 0, .base = 0, .length = b2, .flags = NUMEM_SRAT_MEM_ENABLED},
	    {.pxm = 7, .base = b2, .length = half, .flags = NUMEM_SRAT_MEM_ENABLED},
	    {.pxm = 2,
	     .base = b2 + half,
	     .length = e2 - b2 - half,
	     .flags = NUMEM_SRAT_MEM_ENABLED},
	    {.pxm = 5,
	     .base = b1,
	     .length = 4096 * 16,
	     .flags = NUMEM_SRAT_MEM_ENABLED | NUMEM_SRAT_MEM_HOTPLUGGABLE},
	};
	struct numem_srat_cpu cpu[] = {
	    {.type = t->cpu[1].type, .id = t->cpu[1].hw_id, .pxm = 7, .enabled = true}};
	struct numem_srat srat = {.nr_mem = 4, .mem = mem, .nr_cpu = 1, .cpu = cpu};
	uint8_t matrix[8 * 8];
	slit8(matrix, 20);
	matrix[0 * 8 + 7] = matrix[7 * 8 + 0] = 17;
	struct numem_slit slit = {.localities = 8, .matrix = matrix};
	struct numem_memlayout l;
	struct numem_relayout_result r;
	commit_srat_new3(&srat, &slit, &r);
	t = numem_heap_topo(&sys.heap);
	assert_int_equal(t->nr_nodes, 4);
	assert_int_equal(t->node[3].ram_pages, half >> NUMEM_PAGE_SHIFT);
	assert_int_equal(t->node[1].ram_pages, 0);
	assert_int_equal(t->cpu[1].node, 3);
	assert_int_equal(t->distance[0][3], 17);
	assert_int_equal(layout_node(b1 >> NUMEM_PAGE_SHIFT), 0);
	assert_true(numem_nodemask_test(&r.onlined, 3));
	assert_true(r.cpu_nodes_changed && r.distances_changed);
	/* Node 1 keeps no memory but no CPU either: offline. */
	assert_true(numem_nodemask_test(&r.offlined, 1));
	numem_pfn_t p;
	assert_int_equal(numem_alloc(cpu_(1), 0, NUMEM_ALLOC_NOPCP, NULL, &p, &d), NUMEM_OK);
	assert_int_equal(head_node(p.v), 3);
	assert_int_equal(numem_free(cpu_(1), p, 0, &d), NUMEM_OK);
	verify("from srat");
	check_model(NULL, 0, true);
	/* Too many new domains for max_nodes. */
	mem[1].pxm = 8;
	mem[2].pxm = 9;
	numem_memlayout_init(&l, sys.heap.plat);
	assert_int_equal(numem_memlayout_from_srat(&l, &sys.heap, &srat, NULL, &d),
	                 NUMEM_E_TOO_MANY_NODES);
	numem_memlayout_release(&l);
	numem_system_shutdown(&sys);
}

/* Issue 11 (review): an SRAT with a CPU-only proximity domain (a memoryless
 * node, as real SRATs have) commits: the new node comes online with no
 * memory, its CPU allocates from the nearest node with memory (by the
 * SLIT), the heap verifies.  A new node with neither memory nor CPUs is
 * still refused (NUMEM_E_NO_MEMORY, by validate and by commit). */
static void test_from_srat_memoryless_node(void **state)
{
	(void)state;
	struct numem_system_opts o = {.heap.max_nodes = 4};
	boot3(&o);
	const struct numem_topo *t = numem_heap_topo(&sys.heap);
	/* Every node's memory stays; cpu 3 (on node 2) goes to a new pxm 7,
	 * nearest to node 1. */
	struct numem_srat_mem mem[3];
	for (uint32_t n = 0; n < 3; n++)
		mem[n] = (struct numem_srat_mem){
		    .pxm = t->node[n].pxm,
		    .base = t->node[n].start_pfn << NUMEM_PAGE_SHIFT,
		    .length = (t->node[n].end_pfn - t->node[n].start_pfn) << NUMEM_PAGE_SHIFT,
		    .flags = NUMEM_SRAT_MEM_ENABLED};
	struct numem_srat_cpu cpu[] = {
	    {.type = t->cpu[3].type, .id = t->cpu[3].hw_id, .pxm = 7, .enabled = true}};
	struct numem_srat srat = {.nr_mem = 3, .mem = mem, .nr_cpu = 1, .cpu = cpu};
	uint8_t matrix[8 * 8];
	slit8(matrix, 30);
	matrix[t->node[1].pxm * 8 + 7] = matrix[7 * 8 + t->node[1].pxm] = 15;
	struct numem_slit slit = {.localities = 8, .matrix = matrix};
	struct numem_memlayout l;
	/* First a CPU entry that names no CPU of the machine: pxm 7 a new node
	 * with neither memory nor CPUs, refused, nothing changed. */
	cpu[0].id = 0xfffff;
	numem_memlayout_init(&l, sys.heap.plat);
	assert_int_equal(numem_memlayout_from_srat(&l, &sys.heap, &srat, &slit, &d), NUMEM_OK);
	assert_int_equal(numem_memlayout_validate(&sys.heap, &l, &d), NUMEM_E_NO_MEMORY);
	assert_int_equal(numem_relayout_commit(&sys.heap, &l, NULL, &d), NUMEM_E_NO_MEMORY);
	numem_memlayout_release(&l);
	assert_int_equal(numem_heap_topo(&sys.heap)->nr_nodes, 3);
	cpu[0].id = t->cpu[3].hw_id;
	struct numem_relayout_result r;
	commit_srat_new3(&srat, &slit, &r);
	t = numem_heap_topo(&sys.heap);
	assert_int_equal(t->nr_nodes, 4);
	assert_true(numem_nodemask_test(&r.onlined, 3));
	assert_true(numem_relayout_node_online(&sys.heap, 3));
	assert_int_equal(t->node[3].ram_pages, 0);
	assert_int_equal(t->cpu[3].node, 3);
	assert_int_equal(t->distance[3][1], 15);
	assert_int_equal(t->node[3].nearest_mem, 1);
	numem_relayout_quiescent(cpu_(3)); /* the handle catches up */
	assert_int_equal(cpu_(3)->node, 3);
	assert_int_equal(cpu_(3)->mem_node, 1);
	for (unsigned flags = 0; flags <= NUMEM_ALLOC_NOPCP; flags += NUMEM_ALLOC_NOPCP) {
		numem_pfn_t p;
		assert_int_equal(numem_alloc(cpu_(3), 0, flags, NULL, &p, &d), NUMEM_OK);
		assert_int_equal(head_node(p.v), 1);
		assert_int_equal(numem_free(cpu_(3), p, 0, &d), NUMEM_OK);
	}
	numem_heap_drain_all(&sys.heap);
	verify("memoryless node from srat");
	check_model(NULL, 0, true);
	numem_system_shutdown(&sys);
}

/* ---- concurrency ------------------------------------------------------------ */

static atomic_bool stop;

struct churn {
	uint32_t cpu;
	uint64_t seed;
	_Atomic uint64_t ops;
	char err[200];
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	struct numem_cpu *cpu = cpu_(c->cpu);
	enum { N = 256 };
	numem_pfn_t held[N];
	unsigned ord[N];
	uint32_t n = 0;
	struct numem_diag dd;
	/* The second thread interleaves now and then: zonelists built on the
	 * slow path from the zones' populated flags while commits change them. */
	struct numem_policy il;
	numem_policy_init(&il, NUMEM_POLICY_INTERLEAVE);
	for (numem_nid_t k = 0; k < 3; k++)
		numem_nodemask_set(&il.nodes, k);
	while (!atomic_load(&stop)) {
		c->seed = c->seed * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t r = (uint32_t)(c->seed >> 33);
		if (n < N && (r & 1 || !n)) {
			unsigned o = r % 16 == 0 ? 9 + (r >> 8) % 2 : (r >> 8) % 4;
			struct numem_policy *p = c->cpu == 2 && r % 5 == 0 ? &il : NULL;
			if (!numem_alloc(cpu, o, r % 7 == 0 ? NUMEM_ALLOC_NOPCP : 0, p, &held[n],
			                 &dd))
				ord[n++] = o;
		} else {
			uint32_t i = (r >> 4) % n;
			if (numem_free(cpu, held[i], ord[i], &dd)) {
				snprintf(c->err, sizeof(c->err), "free: %s", dd.msg);
				break;
			}
			held[i] = held[--n];
			ord[i] = ord[n];
		}
		atomic_fetch_add(&c->ops, 1);
	}
	while (n) {
		n--;
		if (numem_free(cpu, held[n], ord[n], &dd))
			snprintf(c->err, sizeof(c->err), "final free: %s", dd.msg);
	}
	numem_heap_drain_cpu(cpu);
	return NULL;
}

static void test_commits_under_churn(void **state)
{
	(void)state;
	boot3(NULL);
	struct churn c[2] = {{.cpu = 1, .seed = 1}, {.cpu = 2, .seed = 2}};
	pthread_t th[2];
	atomic_store(&stop, false);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, churn_thread, &c[i]), 0);
	static const numem_nid_t orders[4][3] = {{0, 1, 2}, {2, 1, 0}, {1, 1, 1}, {0, 2, 1}};
	static const uint64_t blocks[4] = {256, 64, 1, 1024};
	uint64_t seen[2] = {0, 0};
	for (int k = 0; k < 24; k++) {
		/* Each commit while both threads churn: wait for new operations. */
		for (int i = 0; i < 2; i++) {
			while (atomic_load(&c[i].ops) < seen[i] + 200)
				sched_yield();
			seen[i] = atomic_load(&c[i].ops);
		}
		struct numem_relayout_result r;
		if (stripe_all(orders[k % 4], k % 4 == 2 ? 1 : 3, blocks[k % 4], &r))
			fail_msg("commit %d: %s", k, d.msg);
		numem_relayout_quiescent(cpu_(0));
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		if (c[i].err[0])
			fail_msg("cpu %u: %s", c[i].cpu, c[i].err);
		assert_true(c[i].ops > 0);
	}
	numem_heap_drain_all(&sys.heap);
	verify("after the churn");
	check_model(NULL, 0, true);
	for (numem_nid_t n = 0; n < 3; n++)
		assert_int_equal(numem_relayout_pending(&sys.heap, n), 0);
	numem_system_shutdown(&sys);
}

static void *verify_thread(void *arg)
{
	char *err = arg;
	struct numem_diag dd;
	while (!atomic_load(&stop))
		if (numem_heap_verify(&sys.heap, &dd)) {
			snprintf(err, 200, "%s", dd.msg);
			break;
		}
	return NULL;
}

/* The hosted platform's metadata calls are not thread-safe; the verifier's
 * scratch and a commit's allocations meet here, so serialise them. */
static pthread_mutex_t meta_mu = PTHREAD_MUTEX_INITIALIZER;
static struct numem_platform locked;

static void *locked_alloc(void *ctx, size_t bytes, size_t align, numem_nid_t nid)
{
	pthread_mutex_lock(&meta_mu);
	void *p = real->meta_alloc(ctx, bytes, align, nid);
	pthread_mutex_unlock(&meta_mu);
	return p;
}

static void locked_free(void *ctx, void *ptr, size_t bytes)
{
	pthread_mutex_lock(&meta_mu);
	real->meta_free(ctx, ptr, bytes);
	pthread_mutex_unlock(&meta_mu);
}

static void test_verify_during_commits(void **state)
{
	(void)state;
	boot3(NULL);
	real = sys.heap.plat;
	locked = *real;
	locked.meta_alloc = locked_alloc;
	locked.meta_free = locked_free;
	sys.heap.plat = &locked;
	static struct held held[8192 + 200];
	size_t n = 0;
	/* Fragment: single pages, every other one given back, so a commit has
	 * thousands of free blocks in transit, cut over many lock windows. */
	for (int i = 0; i < 16384; i++) {
		numem_pfn_t p;
		if (numem_alloc(cpu_(i % 3), 0, NUMEM_ALLOC_NOPCP, NULL, &p, &d))
			break;
		if (i & 1)
			assert_int_equal(numem_free(cpu_(i % 3), p, 0, &d), NUMEM_OK);
		else
			held[n++] = (struct held){p, 0, (uint32_t)(i % 3)};
	}
	n += hold_some(held + n, 200, 11);
	numem_heap_drain_all(&sys.heap);
	char err[200] = "";
	pthread_t th;
	atomic_store(&stop, false);
	assert_int_equal(pthread_create(&th, NULL, verify_thread, err), 0);
	static const numem_nid_t a[] = {0, 1, 2}, b[] = {2, 0, 1};
	for (int k = 0; k < 16; k++)
		if (stripe_all(k & 1 ? b : a, 3, k & 2 ? 256 : 32, NULL))
			fail_msg("commit %d: %s", k, d.msg);
	atomic_store(&stop, true);
	pthread_join(th, NULL);
	if (err[0])
		fail_msg("verify during a commit: %s", err);
	check_model(held, n, true);
	free_all(held, n);
	numem_heap_drain_all(&sys.heap);
	check_model(NULL, 0, true);
	sys.heap.plat = real;
	numem_system_shutdown(&sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stripe_moves_free_and_marks_allocated),
	    cmocka_unit_test(test_recommit_with_pending),
	    cmocka_unit_test(test_straddling_block_splits),
	    cmocka_unit_test(test_cpu_map_and_distances),
	    cmocka_unit_test(test_invalid_layouts),
	    cmocka_unit_test(test_failed_commit_keeps_old_layout),
	    cmocka_unit_test(test_new_node_notifiers_offline),
	    cmocka_unit_test(test_deferred_sections_follow),
	    cmocka_unit_test(test_from_srat),
	    cmocka_unit_test(test_from_srat_memoryless_node),
	    cmocka_unit_test(test_new_node_takes_all_watermarks),
	    cmocka_unit_test(test_shrunk_node_watermarks),
	    cmocka_unit_test(test_fast_paths_after_commit),
	    cmocka_unit_test(test_free_fast_path_grown_after_commit),
	    cmocka_unit_test(test_commits_under_churn),
	    cmocka_unit_test(test_verify_during_commits),
	};
	if (getenv("NUMEM_TEST_FILTER")) /* NUMEM_TEST_FILTER=name runs one test */
		cmocka_set_test_filter(getenv("NUMEM_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
