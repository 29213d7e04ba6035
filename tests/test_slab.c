/*
 * test_slab.c - the small-object allocator: size classes, named caches,
 * node placement, magazines, bad frees, large allocations, giving empty
 * slabs back under pressure, statistics and the verifier; and a threaded
 * run checked against the objects' own contents.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include <numem/slab.h>

#include "helpers.h"

static struct numem_system sys;
static struct numem_slab *slab;
static struct numem_diag d;

static void boot(const char *preset)
{
	struct numem_system_opts o = {.back_memory = true};
	if (numem_system_boot_preset(&sys, preset, &o, &d))
		fail_msg("boot: %s", d.msg);
	numem_host_set_log(sys.m.host, NULL, NUMEM_LOG_ERROR);
	slab = calloc(1, sizeof(*slab));
	assert_int_equal(numem_slab_init(slab, &sys.heap, &d), NUMEM_OK);
}

static void shutdown(void)
{
	if (numem_slab_verify(slab, &d))
		fail_msg("slab verify: %s", d.msg);
	numem_slab_release(slab);
	free(slab);
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("heap verify: %s", d.msg);
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
		assert_int_equal(numem_heap_node_allocated(&sys.heap, n), 0);
	numem_system_shutdown(&sys);
}

static numem_nid_t node_of_ptr(const void *p)
{
	const struct numem_platform *plat = numem_host_platform(sys.m.host);
	const uint8_t *base = plat->phys_to_virt(plat->ctx, numem_paddr(0));
	return numem_topo_pfn_to_node(sys.m.topo,
	                              numem_pfn((uint64_t)((const uint8_t *)p - base) >> 12));
}

static void test_kmalloc_classes(void **state)
{
	(void)state;
	boot("x445");
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 17); /* node 2 */
	static void *p[3000];
	size_t sizes[] = {1, 8, 16, 17, 64, 100, 500, 2048, 4000, 4032, 4033, 20000, 1 << 20};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (int i = 0; i < 200; i++) {
			p[i] = numem_kmalloc(slab, cpu, sizes[k], &d);
			assert_non_null(p[i]);
			memset(p[i], (int)(i + k), sizes[k]);
			assert_int_equal(node_of_ptr(p[i]), 2);
		}
		for (int i = 0; i < 200; i++) {
			const uint8_t *b = p[i];
			assert_int_equal(b[0], (uint8_t)(i + k));
			assert_int_equal(b[sizes[k] - 1], (uint8_t)(i + k));
		}
		assert_int_equal(numem_slab_verify(slab, &d), NUMEM_OK);
		for (int i = 0; i < 200; i++)
			assert_int_equal(numem_kfree(slab, cpu, p[i], &d), NUMEM_OK);
	}
	assert_int_equal(numem_slab_verify(slab, &d), NUMEM_OK);
	assert_int_equal(numem_kfree(slab, cpu, NULL, &d), NUMEM_OK);
	shutdown();
}

static void test_named_cache_and_info(void **state)
{
	(void)state;
	boot("opteron-2n");
	struct numem_cache *c = numem_cache_create(slab, "domain", 200, 64, &d);
	assert_non_null(c);
	assert_int_equal(c->size, 256);
	assert_int_equal((uintptr_t)c->offset % 64, 0);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 1);
	static void *p[1000];
	for (int i = 0; i < 1000; i++) {
		p[i] = numem_cache_alloc(cpu, c, &d);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 64, 0);
	}
	struct numem_slab_info info;
	numem_slab_cache_info(slab, c, &info);
	assert_int_equal(info.active_objs, 1000);
	assert_int_equal(info.objperslab, c->per_slab);
	assert_true(info.num_slabs >= 1000 / c->per_slab);
	assert_int_equal(info.pagesperslab, 4);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(numem_kfree(slab, cpu, p[i], &d), NUMEM_OK);
	numem_slab_drain_cpu(slab, cpu);
	numem_slab_cache_info(slab, c, &info);
	assert_int_equal(info.active_objs, 0);
	assert_true(info.num_slabs <= NUMEM_SLAB_KEEP * 2); /* the rest went back */
	/* Bad arguments. */
	assert_null(numem_cache_create(slab, "huge", 5000, 0, &d));
	assert_int_equal(d.code, NUMEM_E_INVAL);
	assert_null(numem_cache_create(slab, "odd", 64, 3, &d));
	/* No name: a cache all the same (it used to read through NULL), and
	 * its refusal message is printable too. */
	struct numem_cache *anon = numem_cache_create(slab, NULL, 32, 0, &d);
	assert_non_null(anon);
	assert_string_equal(anon->name, "(unnamed)");
	assert_null(numem_cache_create(slab, NULL, 0, 0, &d));
	assert_non_null(strstr(d.msg, "(unnamed)"));
	assert_null(numem_cache_alloc(cpu, NULL, &d));
	assert_null(numem_cache_alloc(NULL, anon, &d));
	shutdown();
}

static void test_bad_kfree(void **state)
{
	(void)state;
	boot("p4");
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	uint8_t *a = numem_kmalloc(slab, cpu, 64, &d);
	uint8_t *big = numem_kmalloc(slab, cpu, 10000, &d);
	assert_non_null(a);
	assert_non_null(big);
	assert_int_equal(numem_kfree(slab, cpu, a + 8, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "not at the start"));
	/* No cpu (numem_heap_cpu of an id beyond the heap's gives NULL): an
	 * error, as numem_free says, not a NULL dereference. */
	assert_null(numem_heap_cpu(&sys.heap, sys.heap.nr_cpus));
	assert_int_equal(numem_kfree(slab, numem_heap_cpu(&sys.heap, sys.heap.nr_cpus), a, &d),
	                 NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "no cpu"));
	assert_null(numem_kmalloc(slab, NULL, 64, &d));
	assert_null(numem_kmalloc(slab, NULL, 10000, &d));
	/* Pointers nowhere near a slab are refused without being read. */
	static int on_stack_or_data;
	assert_int_equal(numem_kfree(slab, cpu, &on_stack_or_data, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "outside every slab"));
	assert_int_equal(numem_kfree(slab, cpu, (void *)(uintptr_t)0x10, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_kfree(slab, cpu, big + 64, &d), NUMEM_E_INVAL);
	/* Page-aligned memory of a page allocation is no slab. */
	numem_pfn_t pfn;
	assert_int_equal(numem_alloc(cpu, 2, 0, NULL, &pfn, &d), NUMEM_OK);
	const struct numem_platform *plat = numem_host_platform(sys.m.host);
	uint8_t *raw = plat->phys_to_virt(plat->ctx, numem_pfn_to_paddr(pfn));
	memset(raw, 0, 16384);
	assert_int_equal(numem_kfree(slab, cpu, raw + 128, &d), NUMEM_E_INVAL);
	assert_int_equal(numem_free(cpu, pfn, 2, &d), NUMEM_OK);
	assert_int_equal(numem_kfree(slab, cpu, a, &d), NUMEM_OK);
	assert_int_equal(numem_kfree(slab, cpu, a, &d), NUMEM_E_DOUBLE_FREE);
	assert_int_equal(numem_kfree(slab, cpu, big, &d), NUMEM_OK);
	assert_int_equal(numem_slab_verify(slab, &d), NUMEM_OK);
	shutdown();
}

/* Issue 7 item 2: a size beyond the largest block is refused before any
 * rounding: SIZE_MAX used to wrap to a 16-byte object and SIZE_MAX - 40 to a
 * 16 KiB block. */
static void test_kmalloc_limits(void **state)
{
	(void)state;
	boot("p4");
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	const size_t largest = ((size_t)NUMEM_PAGE_SIZE << NUMEM_MAX_ORDER) - 64;
	assert_int_equal(NUMEM_KMALLOC_MAX, largest);
	size_t bad[] = {SIZE_MAX, SIZE_MAX - 40, SIZE_MAX - 15, largest + 1};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&d, 0, sizeof(d));
		void *p = numem_kmalloc(slab, cpu, bad[i], &d);
		if (p)
			numem_kfree(slab, cpu, p, NULL);
		assert_null(p);
		assert_int_equal(d.code, NUMEM_E_INVAL);
		char want[64];
		snprintf(want, sizeof(want), "%zu bytes", bad[i]);
		assert_non_null(strstr(d.msg, want));
		snprintf(want, sizeof(want), "largest allocation, %zu", largest);
		assert_non_null(strstr(d.msg, want));
	}
	assert_int_equal(atomic_load(&slab->large_blocks), 0);
	uint8_t *big = numem_kmalloc(slab, cpu, largest, &d);
	assert_non_null(big);
	big[0] = 1;
	big[largest - 1] = 2;
	assert_int_equal(atomic_load(&slab->large_blocks), 1);
	assert_int_equal(numem_kfree(slab, cpu, big, &d), NUMEM_OK);
	/* Size 0: the smallest object, which kfree takes back. */
	void *zero = numem_kmalloc(slab, cpu, 0, &d);
	assert_non_null(zero);
	assert_int_equal(numem_kfree(slab, cpu, zero, &d), NUMEM_OK);
	shutdown();
}

/* The header layout slab.c writes at a large block's start (mirrored here
 * to forge one). */
struct forged_hdr {
	uint32_t magic;
	numem_nid_t node;
	uint16_t order;
	void *cache;
	uint64_t pfn;
};
#define LARGE_MAGIC_FOR_TEST 0x4c415247u

static uint64_t pfn_of_large(void *p)
{
	return ((struct forged_hdr *)((uint8_t *)p - 64))->pfn;
}

/*
 * Issue 8: numem_kfree's fast path makes every check of the slow one, as
 * one chain that hands any failure to the slow path: each refusal below
 * must still come with its own error, and nothing may reach a magazine.
 */
static void test_kfree_fast_path_guards(void **state)
{
	(void)state;
	boot("p4");
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	uint8_t *a = numem_kmalloc(slab, cpu, 64, &d);
	assert_non_null(a);
	uint8_t *hd = (uint8_t *)((uintptr_t)a & ~(uintptr_t)(NUMEM_SLAB_BYTES - 1));
	struct forged_hdr *h = (struct forged_hdr *)hd;
	struct numem_cache *c = h->cache;
	/* Inside the header (below the large header's size), and between the
	 * header and the first object. */
	assert_int_equal(numem_kfree(slab, cpu, hd + 16, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "not an object"));
	assert_true(c->offset > 64);
	assert_int_equal(numem_kfree(slab, cpu, hd + 64, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "not at the start"));
	/* A header whose cache word was overwritten (an overflow from the
	 * object before it): refused as corrupt, for both cache ends. */
	h->cache = slab->cache + slab->nr_caches;
	assert_int_equal(numem_kfree(slab, cpu, a, &d), NUMEM_E_CORRUPT);
	assert_non_null(strstr(d.msg, "names no cache"));
	h->cache = (struct numem_cache *)((uint8_t *)slab->cache - 8);
	assert_int_equal(numem_kfree(slab, cpu, a, &d), NUMEM_E_CORRUPT);
	h->cache = c;
	/* A slab header whose pfn names another block: forged or stale. */
	uint64_t pfn = h->pfn;
	h->pfn = pfn + 1; /* a tail of the slab's own block */
	assert_int_equal(numem_kfree(slab, cpu, a, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "forged or stale"));
	h->pfn = pfn;
	/* None of it reached the magazine: the object is still held. */
	struct numem_slab_info info;
	numem_slab_cache_info(slab, c, &info);
	assert_int_equal(info.active_objs, 1);
	assert_int_equal(numem_kfree(slab, cpu, a, &d), NUMEM_OK);
	assert_int_equal(numem_kfree(slab, cpu, a, &d), NUMEM_E_DOUBLE_FREE);
	numem_slab_cache_info(slab, c, &info);
	assert_int_equal(info.active_objs, 0);
	assert_int_equal(numem_slab_verify(slab, &d), NUMEM_OK);
	shutdown();
}

/* Issue 7 item 5: a header forged inside the caller's own large block used
 * to free any pfn and order it named (here: another live large block). */
static void test_forged_large_header(void **state)
{
	(void)state;
	boot("p4");
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	uint8_t *a = numem_kmalloc(slab, cpu, 100000, &d); /* order 5 */
	uint8_t *victim = numem_kmalloc(slab, cpu, 100000, &d);
	assert_non_null(a);
	assert_non_null(victim);
	memset(victim, 0x5a, 100000);
	uint64_t vpfn = pfn_of_large(victim);
	uint16_t owner;
	assert_int_equal(numem_heap_pfn_owner(&sys.heap, numem_pfn(vpfn), &owner),
	                 NUMEM_PS_ALLOCATED);
	/* A forged header at the 16 KiB boundary inside a. */
	struct forged_hdr *f = (struct forged_hdr *)(a - 64 + 16384);
	*f = (struct forged_hdr){.magic = LARGE_MAGIC_FOR_TEST, .order = 5, .pfn = vpfn};
	uint64_t blocks = atomic_load(&slab->large_blocks);
	uint64_t allocated = numem_heap_node_allocated(&sys.heap, 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(numem_kfree(slab, cpu, (uint8_t *)f + 64, &d), NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "forged or stale"));
	assert_int_equal(f->magic, LARGE_MAGIC_FOR_TEST); /* nothing written */
	assert_int_equal(atomic_load(&slab->large_blocks), blocks);
	assert_int_equal(numem_heap_node_allocated(&sys.heap, 0), allocated);
	assert_int_equal(numem_heap_pfn_owner(&sys.heap, numem_pfn(vpfn), &owner),
	                 NUMEM_PS_ALLOCATED);
	assert_int_equal(owner, NUMEM_OWNER_SLAB_LARGE);
	/* The forged header naming its own (tail) pfn is refused too. */
	f->pfn = pfn_of_large(a) + 4;
	assert_int_equal(numem_kfree(slab, cpu, (uint8_t *)f + 64, &d), NUMEM_E_INVAL);
	/* A forged slab header inside a (a fake cache object) is refused. */
	f->magic = 0x534c4142u;
	f->pfn = pfn_of_large(a);
	assert_int_equal(numem_kfree(slab, cpu, (uint8_t *)f + 2048, &d), NUMEM_E_INVAL);
	f->magic = 0;
	numem_heap_drain_all(&sys.heap);
	assert_int_equal(numem_heap_verify(&sys.heap, &d), NUMEM_OK);
	assert_int_equal(victim[99999], 0x5a);
	assert_int_equal(numem_kfree(slab, cpu, victim, &d), NUMEM_OK);
	assert_int_equal(numem_kfree(slab, cpu, a, &d), NUMEM_OK);
	assert_int_equal(atomic_load(&slab->large_blocks), 0);
	shutdown();
}

/* A forged large header at the start of a numem_alloc'd block (owner: the
 * heap's user) used to clear the header and the counter before the heap
 * refused the free. */
static void test_forged_header_on_heap_page(void **state)
{
	(void)state;
	boot("p4");
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	numem_pfn_t pfn;
	assert_int_equal(numem_alloc(cpu, 5, 0, NULL, &pfn, &d), NUMEM_OK);
	const struct numem_platform *plat = numem_host_platform(sys.m.host);
	uint8_t *raw = plat->phys_to_virt(plat->ctx, numem_pfn_to_paddr(pfn));
	/* Large allocations around it, until the slab's address span covers
	 * it (so kfree reads the forged header rather than refusing early). */
	static void *keep[256];
	int nkeep = 0;
	while (nkeep < 256 && ((uintptr_t)raw < atomic_load(&slab->lo) ||
	                       (uintptr_t)raw >= atomic_load(&slab->hi)))
		assert_non_null(keep[nkeep++] = numem_kmalloc(slab, cpu, 100000, &d));
	assert_true(nkeep < 256);
	struct forged_hdr *f = (struct forged_hdr *)raw;
	*f = (struct forged_hdr){.magic = LARGE_MAGIC_FOR_TEST, .order = 5, .pfn = pfn.v};
	uint64_t blocks = atomic_load(&slab->large_blocks);
	memset(&d, 0, sizeof(d));
	enum numem_err err = numem_kfree(slab, cpu, raw + 64, &d);
	assert_int_equal(err, NUMEM_E_INVAL);
	assert_non_null(strstr(d.msg, "forged or stale"));
	assert_int_equal(f->magic, LARGE_MAGIC_FOR_TEST);
	assert_int_equal(atomic_load(&slab->large_blocks), blocks);
	uint16_t owner;
	assert_int_equal(numem_heap_pfn_owner(&sys.heap, pfn, &owner), NUMEM_PS_ALLOCATED);
	assert_int_equal(owner, NUMEM_OWNER_HEAP);
	assert_int_equal(numem_free(cpu, pfn, 5, &d), NUMEM_OK);
	for (int i = 0; i < nkeep; i++)
		assert_int_equal(numem_kfree(slab, cpu, keep[i], &d), NUMEM_OK);
	/* A large allocation freed twice is a double free. */
	void *twice = numem_kmalloc(slab, cpu, 20000, &d);
	assert_int_equal(numem_kfree(slab, cpu, twice, &d), NUMEM_OK);
	assert_int_not_equal(numem_kfree(slab, cpu, twice, &d), NUMEM_OK);
	shutdown();
}

static void test_shrink_under_pressure(void **state)
{
	(void)state;
	boot("p4");
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	/* Fill slabs with 50 MB of objects, free them all: empty slabs stay
	 * cached only up to NUMEM_SLAB_KEEP per node; push them out by pressure. */
	static void *p[200000];
	int n = 0;
	for (; n < 200000; n++)
		if (!(p[n] = numem_kmalloc(slab, cpu, 256, &d)))
			break;
	assert_true(n > 150000);
	for (int i = 0; i < n; i += 2)
		numem_kfree(slab, cpu, p[i], &d); /* half-empty slabs remain */
	/* Exhaust pages: the heap's shrinker asks the slab allocator, which can
	 * give back nothing (all slabs are half full): allocation fails cleanly. */
	numem_pfn_t pfn;
	uint64_t held = 0;
	while (numem_alloc(cpu, 0, 0, NULL, &pfn, &d) == NUMEM_OK)
		held++;
	assert_true(slab->shrinker.calls >= 1);
	for (int i = 1; i < n; i += 2)
		numem_kfree(slab, cpu, p[i], &d);
	numem_slab_drain_cpu(slab, cpu);
	uint64_t back = numem_slab_shrink(slab, cpu);
	assert_true(back <= NUMEM_SLAB_KEEP * 4 * 16);
	(void)held;
	assert_int_equal(numem_slab_verify(slab, &d), NUMEM_OK);
	numem_heap_drain_all(&sys.heap);
	/* Free the pages taken above: walk the heap's allocated pfns is not
	 * possible from here, so re-boot is the test's way out: just check. */
	assert_int_equal(numem_heap_verify(&sys.heap, &d), NUMEM_OK);
	numem_slab_release(slab);
	free(slab);
	numem_system_shutdown(&sys);
}

struct worker {
	uint32_t cpu;
	uint64_t seed;
	int failures;
};

static void *slab_thread(void *arg)
{
	struct worker *w = arg;
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, w->cpu);
	enum { N = 2000 };
	static _Thread_local uint8_t *held[N];
	static _Thread_local size_t size[N];
	for (int i = 0; i < N; i++)
		held[i] = NULL;
	for (int op = 0; op < 200000; op++) {
		w->seed ^= w->seed << 13;
		w->seed ^= w->seed >> 7;
		w->seed ^= w->seed << 17;
		int k = (int)(w->seed % N);
		if (held[k]) {
			/* Contents must be ours: no other thread got this object. */
			if (held[k][0] != (uint8_t)k || held[k][size[k] - 1] != (uint8_t)w->cpu)
				w->failures++;
			if (numem_kfree(slab, cpu, held[k], NULL))
				w->failures++;
			held[k] = NULL;
		} else {
			size[k] = 2 + (w->seed >> 20) % 600;
			held[k] = numem_kmalloc(slab, cpu, size[k], NULL);
			if (!held[k]) {
				w->failures++;
				continue;
			}
			held[k][0] = (uint8_t)k;
			held[k][size[k] - 1] = (uint8_t)w->cpu;
		}
	}
	for (int i = 0; i < N; i++)
		if (held[i] && numem_kfree(slab, cpu, held[i], NULL))
			w->failures++;
	numem_slab_drain_cpu(slab, cpu);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	boot("x445");
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){.cpu = (uint32_t)i * 8 + 1, .seed = 99 + (uint64_t)i};
		pthread_create(&t[i], NULL, slab_thread, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	for (uint32_t c = 0; c < sys.heap.nr_cpus; c++)
		numem_heap_drain_cpu(&sys.heap.cpu[c]);
	shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kmalloc_classes),
	    cmocka_unit_test(test_named_cache_and_info),
	    cmocka_unit_test(test_bad_kfree),
	    cmocka_unit_test(test_shrink_under_pressure),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_kmalloc_limits),
	    cmocka_unit_test(test_forged_large_header),
	    cmocka_unit_test(test_kfree_fast_path_guards),
	    cmocka_unit_test(test_forged_header_on_heap_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
