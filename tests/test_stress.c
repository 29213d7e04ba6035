/*
 * test_stress.c - millions of random operations on several threads, checked
 * against the reference model (src/host/stress.c) with the verifier run
 * periodically and at the end.  NUMEM_STRESS_OPS scales the runs (the TSan
 * build runs fewer).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include <numem/slab.h>

#include "helpers.h"

static uint64_t scaled(uint64_t ops)
{
	const char *env = getenv("NUMEM_STRESS_OPS");
	return env ? strtoull(env, NULL, 10) * ops / 10000000ull : ops;
}

static void run(const char *preset, const struct numem_system_opts *so,
                const struct numem_stress_opts *o)
{
	struct numem_system sys;
	struct numem_diag d = {0};
	if (numem_system_boot_preset(&sys, preset, so, &d))
		fail_msg("boot: %s", d.msg);
	struct numem_stress_result r;
	enum numem_err err = numem_stress_run(&sys, o, &r);
	if (err)
		fail_msg("%s: %s (after %llu allocs, %llu frees)", preset, r.msg,
		         (unsigned long long)r.allocs, (unsigned long long)r.frees);
	print_message("%s: %llu allocs, %llu frees, %llu failed allocs, %llu invalid frees "
	              "rejected, %llu verifier runs\n",
	              preset, (unsigned long long)r.allocs, (unsigned long long)r.frees,
	              (unsigned long long)r.alloc_failures, (unsigned long long)r.rejected,
	              (unsigned long long)r.verifies);
	assert_true(r.verifies >= 2);
	assert_true(r.allocs + r.frees + r.alloc_failures >= o->ops * 9 / 10);
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
		assert_int_equal(numem_heap_node_allocated(&sys.heap, n), 0);
	numem_system_shutdown(&sys);
}

/* 10 million operations, 4 threads over the x445's 32 CPUs, every policy. */
static void test_stress_x445_mixed(void **state)
{
	(void)state;
	struct numem_stress_opts o = {.threads = 4,
	                              .ops = scaled(10000000),
	                              .seed = 1,
	                              .policy = -1,
	                              .max_order = NUMEM_MAX_ORDER,
	                              .hold = 4096,
	                              .verify_every = scaled(10000000) / 4 / 4 + 1,
	                              .invalid_frees = true};
	run("x445", NULL, &o);
}

/* Memory pressure: a 1 GB machine held nearly full, Xen strategy. */
static void test_stress_pressure_xen(void **state)
{
	(void)state;
	struct numem_system_opts so = {.heap.strategy = NUMEM_STRATEGY_XEN};
	struct numem_stress_opts o = {.threads = 2,
	                              .ops = scaled(2000000),
	                              .seed = 7,
	                              .policy = -1,
	                              .max_order = 6,
	                              .hold = 80000,
	                              .verify_every = scaled(2000000) / 2 / 3 + 1,
	                              .invalid_frees = true};
	struct numem_system sys;
	(void)sys;
	/* p4 has one CPU: give the heap two handles. */
	so.heap.nr_cpus = 2;
	run("p4", &so, &o);
}

/* Deferred initialisation under concurrency: sections come online while
 * threads allocate. */
static void test_stress_deferred(void **state)
{
	(void)state;
	struct numem_system_opts so = {.heap.deferred = true};
	struct numem_stress_opts o = {.threads = 2,
	                              .ops = scaled(1000000),
	                              .seed = 3,
	                              .policy = NUMEM_POLICY_LOCAL,
	                              .max_order = NUMEM_MAX_ORDER,
	                              .hold = 30000,
	                              .verify_every = scaled(1000000) / 2 / 2 + 1};
	run("epyc-2s8n", &so, &o);
}

/* ---- issue 7 item 20: section state read lock-free while sections come
 * online.  Run under TSan: the OR that set ONLINE used to be a plain
 * read-modify-write of a byte every lookup reads, and lookups read the
 * descriptors deferred init was still writing. */

struct grower {
	struct numem_system *sys;
	_Atomic int done;
	uint64_t first_pfn, last_pfn;
	uint64_t lookups;
};

static void *grow_thread(void *arg)
{
	struct grower *g = arg;
	struct numem_cpu *cpu = numem_heap_cpu(&g->sys->heap, 40); /* node 1 */
	static numem_pfn_t got[512];
	int n = 0;
	for (; n < 512; n++)
		if (numem_alloc(cpu, NUMEM_MAX_ORDER, 0, NULL, &got[n], NULL))
			break;
	for (int i = 0; i < n; i++)
		numem_free(cpu, got[i], NUMEM_MAX_ORDER, NULL);
	atomic_store(&g->done, 1);
	return NULL;
}

static void *lookup_thread(void *arg)
{
	struct grower *g = arg;
	struct numem_cpu *cpu = numem_heap_cpu(&g->sys->heap, 41);
	uint64_t step = 1ull << 12;
	while (!atomic_load(&g->done)) {
		for (uint64_t p = g->first_pfn; p < g->last_pfn && !atomic_load(&g->done);
		     p += step) {
			uint16_t owner;
			struct numem_heap_block b;
			numem_heap_pfn_owner(&g->sys->heap, numem_pfn(p), &owner);
			numem_heap_block_of(&g->sys->heap, numem_pfn(p + 1), &b);
			/* A stray free of a pfn nobody holds: refused, nothing read
			 * of a section still being written. */
			if (numem_free(cpu, numem_pfn(p + 2), 0, NULL) == NUMEM_OK)
				fail_msg("stray free of pfn 0x%llx accepted",
				         (unsigned long long)(p + 2));
			g->lookups++;
		}
	}
	return NULL;
}

static void test_section_online_vs_lookups(void **state)
{
	(void)state;
	struct numem_system sys;
	struct numem_system_opts so = {.heap.deferred = true};
	struct numem_diag d = {0};
	if (numem_system_boot_preset(&sys, "epyc-2s8n", &so, &d))
		fail_msg("boot: %s", d.msg);
	struct grower g = {.sys = &sys};
	/* Node 1's span. */
	g.first_pfn = UINT64_MAX;
	for (uint32_t i = 0; i < sys.m.topo->nr_ranges; i++) {
		const struct numem_mem_range *r = &sys.m.topo->range[i];
		if (r->node != 1 || !(r->flags & NUMEM_RANGE_RAM))
			continue;
		if (r->base >> 12 < g.first_pfn)
			g.first_pfn = r->base >> 12;
		if (r->end >> 12 > g.last_pfn)
			g.last_pfn = r->end >> 12;
	}
	uint64_t before = sys.ft.init_sections;
	pthread_t a, b;
	pthread_create(&b, NULL, lookup_thread, &g);
	pthread_create(&a, NULL, grow_thread, &g);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert_true(sys.ft.init_sections >= before + 16);
	assert_true(g.lookups > 0);
	numem_heap_drain_all(&sys.heap);
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("verify: %s", d.msg);
	numem_system_shutdown(&sys);
}

/* ---- issue 7 item 19: shrinkers run with no heap lock held.  A shrinker
 * that takes its own lock and allocates (NORECLAIM), two threads allocating
 * under pressure so it runs on both at once, and a third thread that holds
 * the shrinker's lock while it registers and unregisters another shrinker:
 * with the shrinker lock held across scans (the old code) that is an AB-BA
 * deadlock (scan: shrinker lock -> pool lock; registrar: pool lock ->
 * shrinker lock).  A watchdog turns a deadlock into a failure. */

struct pool {
	pthread_mutex_t lock;
	numem_pfn_t pfn[8192];
	uint32_t n;
	_Atomic uint64_t scans, self_allocs;
};

static uint64_t pool_scan(void *ctx, struct numem_cpu *cpu, numem_nid_t node, uint64_t pages)
{
	struct pool *p = ctx;
	(void)node;
	uint64_t got = 0;
	pthread_mutex_lock(&p->lock);
	numem_pfn_t tmp;
	if (numem_alloc(cpu, 0, NUMEM_ALLOC_NORECLAIM, NULL, &tmp, NULL) == NUMEM_OK) {
		atomic_fetch_add(&p->self_allocs, 1);
		numem_free(cpu, tmp, 0, NULL);
	}
	while (got < pages && p->n)
		if (numem_free(cpu, p->pfn[--p->n], 0, NULL) == NUMEM_OK)
			got++;
	pthread_mutex_unlock(&p->lock);
	atomic_fetch_add(&p->scans, 1);
	return got;
}

static uint64_t idle_scan(void *ctx, struct numem_cpu *cpu, numem_nid_t node, uint64_t pages)
{
	(void)ctx;
	(void)cpu;
	(void)node;
	(void)pages;
	return 0;
}

struct pressure {
	struct numem_system *sys;
	struct pool *pool;
	uint32_t cpu;
	int rounds;
	_Atomic int *stop;
	uint64_t allocs;
};

static void *pressure_thread(void *arg)
{
	struct pressure *w = arg;
	struct numem_cpu *cpu = numem_heap_cpu(&w->sys->heap, w->cpu);
	numem_pfn_t *held = malloc(sizeof(numem_pfn_t) << 18);
	for (int r = 0; r < w->rounds; r++) {
		size_t n = 0;
		while (n < (1u << 18) && numem_alloc(cpu, 0, 0, NULL, &held[n], NULL) == NUMEM_OK)
			n++;
		w->allocs += n;
		/* Refill the shrinker's pool from what we hold, free the rest. */
		pthread_mutex_lock(&w->pool->lock);
		while (n && w->pool->n < 4096)
			w->pool->pfn[w->pool->n++] = held[--n];
		pthread_mutex_unlock(&w->pool->lock);
		while (n)
			numem_free(cpu, held[--n], 0, NULL);
		numem_heap_drain_cpu(cpu);
	}
	free(held);
	return NULL;
}

static void *registrar_thread(void *arg)
{
	struct pressure *w = arg;
	struct numem_shrinker idle = {.scan = idle_scan};
	while (!atomic_load(w->stop)) {
		pthread_mutex_lock(&w->pool->lock);
		numem_heap_register_shrinker(&w->sys->heap, &idle);
		pthread_mutex_unlock(&w->pool->lock);
		sched_yield();
		pthread_mutex_lock(&w->pool->lock);
		numem_heap_unregister_shrinker(&w->sys->heap, &idle);
		pthread_mutex_unlock(&w->pool->lock);
		w->allocs++;
	}
	return NULL;
}

static void *watchdog_thread(void *arg)
{
	_Atomic int *stop = arg;
	for (int i = 0; i < 600 && !atomic_load(stop); i++)
		usleep(200000);
	if (!atomic_load(stop)) {
		fprintf(stderr, "test_shrinkers_concurrent: deadlock (not done after 120 s)\n");
		abort();
	}
	return NULL;
}

static void test_shrinkers_concurrent(void **state)
{
	(void)state;
	struct numem_system sys;
	struct numem_system_opts so = {.heap.nr_cpus = 3};
	struct numem_diag d = {0};
	if (numem_system_boot_preset(&sys, "p4", &so, &d)) /* 1 GiB */
		fail_msg("boot: %s", d.msg);
	static struct pool pool;
	memset(&pool, 0, sizeof(pool));
	pthread_mutex_init(&pool.lock, NULL);
	struct numem_shrinker sh = {.scan = pool_scan, .ctx = &pool};
	numem_heap_register_shrinker(&sys.heap, &sh);
	_Atomic int stop = 0;
	int rounds = (int)(scaled(10000000) / 1000000) + 2;
	struct pressure w[3] = {{&sys, &pool, 0, rounds, &stop, 0},
	                        {&sys, &pool, 1, rounds, &stop, 0},
	                        {&sys, &pool, 2, 0, &stop, 0}};
	pthread_t t[3], dog;
	pthread_create(&dog, NULL, watchdog_thread, &stop);
	pthread_create(&t[2], NULL, registrar_thread, &w[2]);
	pthread_create(&t[0], NULL, pressure_thread, &w[0]);
	pthread_create(&t[1], NULL, pressure_thread, &w[1]);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	atomic_store(&stop, 1);
	pthread_join(t[2], NULL);
	pthread_join(dog, NULL);
	numem_heap_unregister_shrinker(&sys.heap, &sh);
	print_message("shrinkers: %llu scans (%llu allocated inside), %llu + %llu pages taken, "
	              "%llu register/unregister pairs\n",
	              (unsigned long long)atomic_load(&pool.scans),
	              (unsigned long long)atomic_load(&pool.self_allocs),
	              (unsigned long long)w[0].allocs, (unsigned long long)w[1].allocs,
	              (unsigned long long)w[2].allocs);
	assert_true(atomic_load(&pool.scans) >= 2);
	assert_int_equal(sh.calls, atomic_load(&pool.scans));
	while (pool.n)
		assert_int_equal(numem_free(&sys.heap.cpu[0], pool.pfn[--pool.n], 0, &d), NUMEM_OK);
	numem_heap_drain_all(&sys.heap);
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("verify: %s", d.msg);
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
		assert_int_equal(numem_heap_node_allocated(&sys.heap, n), 0);
	numem_system_shutdown(&sys);
}

/* ---- issue 7 item 18: two CPUs freeing the same blocks at the same
 * moment.  In builds whose free claims a block with a compare-and-swap
 * (numem_heap_free_is_atomic(): debug builds, NUMEM_FREE_CAS), exactly one
 * free per block wins and the other is a double free; the heap stays
 * consistent.  Release builds without it are told it is the caller's bug
 * (heap.h) and skip this test. */

enum { RACE_BLOCKS = 4000 };

struct racer {
	struct numem_system *sys;
	uint32_t cpu;
	const numem_pfn_t *pfn;
	enum numem_err res[RACE_BLOCKS];
	pthread_barrier_t *bar;
};

static unsigned race_order(int i)
{
	/* 0..3 and 9 (NUMEM_PCP_THP_ORDER) per-CPU caches, 4 the buddy lists */
	static const unsigned order[6] = {0, 1, 2, 3, 4, NUMEM_PCP_THP_ORDER};
	return order[i % 6];
}

static void *free_racer(void *arg)
{
	struct racer *r = arg;
	struct numem_cpu *cpu = numem_heap_cpu(&r->sys->heap, r->cpu);
	for (int i = 0; i < RACE_BLOCKS; i++) {
		if (i % 64 == 0) /* meet often, so the frees really overlap */
			pthread_barrier_wait(r->bar);
		r->res[i] = numem_free(cpu, r->pfn[i], race_order(i), NULL);
	}
	numem_heap_drain_cpu(cpu);
	return NULL;
}

static void test_racing_frees(void **state)
{
	(void)state;
	/* NUMEM_RACE_FORCE=1 runs it anyway (to watch it fail without the CAS). */
	if (!numem_heap_free_is_atomic() && !getenv("NUMEM_RACE_FORCE")) {
		print_message("test_racing_frees: skipped: this build's free does not claim blocks "
		              "atomically (release without NUMEM_FREE_CAS; debug builds do)\n");
		skip();
	}
	struct numem_system sys;
	struct numem_diag d = {0};
	if (numem_system_boot_preset(&sys, "x445", NULL, &d))
		fail_msg("boot: %s", d.msg);
	static numem_pfn_t pfn[RACE_BLOCKS];
	static struct racer r[2];
	pthread_barrier_t bar;
	uint64_t won[2] = {0, 0};
	for (int round = 0; round < 3; round++) {
		struct numem_cpu *c0 = numem_heap_cpu(&sys.heap, 0);
		for (int i = 0; i < RACE_BLOCKS; i++)
			if (numem_alloc(c0, race_order(i), 0, NULL, &pfn[i], &d))
				fail_msg("alloc: %s", d.msg);
		pthread_barrier_init(&bar, NULL, 2);
		pthread_t t[2];
		for (int k = 0; k < 2; k++) {
			r[k].sys = &sys;
			r[k].cpu = 1 + (uint32_t)k;
			r[k].pfn = pfn;
			r[k].bar = &bar;
			pthread_create(&t[k], NULL, free_racer, &r[k]);
		}
		for (int k = 0; k < 2; k++)
			pthread_join(t[k], NULL);
		pthread_barrier_destroy(&bar);
		for (int i = 0; i < RACE_BLOCKS; i++) {
			/* Exactly one wins.  The loser is refused: a double free, or
			 * "not allocated" when it looked while the winner's drain
			 * was merging the block into a larger free one. */
			enum numem_err lost = r[0].res[i] == NUMEM_OK ? r[1].res[i] : r[0].res[i];
			int ok = (r[0].res[i] == NUMEM_OK) + (r[1].res[i] == NUMEM_OK);
			if (ok != 1 ||
			    (lost != NUMEM_E_DOUBLE_FREE && lost != NUMEM_E_NOT_ALLOCATED))
				fail_msg("block %d (pfn 0x%llx order %u): results %d and %d", i,
				         (unsigned long long)pfn[i].v, race_order(i), r[0].res[i],
				         r[1].res[i]);
			won[r[0].res[i] == NUMEM_OK ? 0 : 1]++;
		}
		numem_heap_drain_all(&sys.heap);
		if (numem_heap_verify(&sys.heap, &d))
			fail_msg("verify after round %d: %s", round, d.msg);
	}
	print_message("racing frees: cpu 1 won %llu, cpu 2 won %llu\n", (unsigned long long)won[0],
	              (unsigned long long)won[1]);
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
		assert_int_equal(numem_heap_node_allocated(&sys.heap, n), 0);
	numem_system_shutdown(&sys);
}

/* The same for the slab: two CPUs kfree the same objects (small ones,
 * claimed by an atomic exchange of their held byte in these builds) and the
 * same large allocations (claimed by a compare-and-swap of the header's
 * magic, in every build).  Exactly one free of each wins; the loser is a
 * double free and writes nothing (the old large-block path put its magic
 * back into the page the winner had already given to the heap).  Poisoning
 * is off: the loser reads the header of a block the winner may be freeing,
 * which a poisoning free would be writing at that moment (a stale kfree
 * reads what its pointer points at; TSan would rightly call that a race). */
enum { KRACE_OBJS = 3000 };

struct kracer {
	struct numem_slab *slab;
	struct numem_cpu *cpu;
	void **obj;
	enum numem_err res[KRACE_OBJS];
	pthread_barrier_t *bar;
};

static void *kfree_racer(void *arg)
{
	struct kracer *r = arg;
	for (int i = 0; i < KRACE_OBJS; i++) {
		if (i % 32 == 0)
			pthread_barrier_wait(r->bar);
		r->res[i] = numem_kfree(r->slab, r->cpu, r->obj[i], NULL);
	}
	numem_slab_drain_cpu(r->slab, r->cpu);
	numem_heap_drain_cpu(r->cpu);
	return NULL;
}

static void test_racing_kfrees(void **state)
{
	(void)state;
	if (!numem_heap_free_is_atomic() && !getenv("NUMEM_RACE_FORCE")) {
		print_message("test_racing_kfrees: skipped: this build's frees do not claim "
		              "atomically (release without NUMEM_FREE_CAS; debug builds do)\n");
		skip();
	}
	struct numem_system sys;
	struct numem_diag d = {0};
	struct numem_system_opts so = {.back_memory = true, .heap.poison = -1};
	if (numem_system_boot_preset(&sys, "x445", &so, &d))
		fail_msg("boot: %s", d.msg);
	struct numem_slab *slab = calloc(1, sizeof(*slab));
	assert_int_equal(numem_slab_init(slab, &sys.heap, &d), NUMEM_OK);
	static void *obj[KRACE_OBJS];
	static struct kracer r[2];
	pthread_barrier_t bar;
	struct numem_cpu *c0 = numem_heap_cpu(&sys.heap, 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < KRACE_OBJS; i++) {
			/* every 8th a large allocation (16 KiB or 32 KiB) */
			size_t size = i % 8 == 7 ? 5000u + (size_t)(i % 3) * 8192u
			                         : 16u + (size_t)(i % 5) * 48u;
			obj[i] = numem_kmalloc(slab, c0, size, &d);
			if (!obj[i])
				fail_msg("kmalloc %zu: %s", size, d.msg);
		}
		pthread_barrier_init(&bar, NULL, 2);
		pthread_t t[2];
		for (int k = 0; k < 2; k++) {
			r[k] = (struct kracer){.slab = slab,
			                       .cpu = numem_heap_cpu(&sys.heap, 1 + (uint32_t)k),
			                       .obj = obj,
			                       .bar = &bar};
			pthread_create(&t[k], NULL, kfree_racer, &r[k]);
		}
		for (int k = 0; k < 2; k++)
			pthread_join(t[k], NULL);
		pthread_barrier_destroy(&bar);
		for (int i = 0; i < KRACE_OBJS; i++) {
			int ok = (r[0].res[i] == NUMEM_OK) + (r[1].res[i] == NUMEM_OK);
			enum numem_err lost = r[0].res[i] == NUMEM_OK ? r[1].res[i] : r[0].res[i];
			/* The loser of a large block may also find the header
			 * already gone (the winner finished first): INVAL. */
			if (ok != 1 || (lost != NUMEM_E_DOUBLE_FREE && lost != NUMEM_E_INVAL))
				fail_msg("object %d (%p): results %d and %d", i, obj[i],
				         r[0].res[i], r[1].res[i]);
		}
		/* Nobody wrote into a freed large block: its header's magic is
		 * still the 0 the winner's claim left. */
		for (int i = 7; i < KRACE_OBJS; i += 8)
			if (*(const uint32_t *)((const uint8_t *)obj[i] - NUMEM_SLAB_LARGE_HDR))
				fail_msg(
				    "large block %d (%p): a magic word was written back into it "
				    "after it was freed",
				    i, obj[i]);
		if (numem_slab_verify(slab, &d))
			fail_msg("slab verify after round %d: %s", round, d.msg);
		numem_heap_drain_all(&sys.heap);
		if (numem_heap_verify(&sys.heap, &d))
			fail_msg("heap verify after round %d: %s", round, d.msg);
	}
	numem_slab_drain_cpu(slab, c0);
	numem_slab_release(slab);
	free(slab);
	numem_heap_drain_all(&sys.heap);
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
		assert_int_equal(numem_heap_node_allocated(&sys.heap, n), 0);
	numem_system_shutdown(&sys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stress_x445_mixed),
	    cmocka_unit_test(test_stress_pressure_xen),
	    cmocka_unit_test(test_stress_deferred),
	    cmocka_unit_test(test_section_online_vs_lookups),
	    cmocka_unit_test(test_shrinkers_concurrent),
	    cmocka_unit_test(test_racing_frees),
	    cmocka_unit_test(test_racing_kfrees),
	};
	/* NUMEM_TEST_FILTER=name runs one test (the TSan stage's CAS build). */
	if (getenv("NUMEM_TEST_FILTER"))
		cmocka_set_test_filter(getenv("NUMEM_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
