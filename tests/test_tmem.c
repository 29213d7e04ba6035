/*
 * test_tmem.c - transcendent memory (issue 11): every rule of docs/TMEM.md,
 * isolation between clients, guest frames checked through the p2m, the
 * control plane, compression (lz4, zstd), zero pages, dedup, the shrinker
 * and eviction, domain destroy, save/restore, the op struct's checks, a
 * model check of random operations against a reference map
 * (NUMEM_TMEM_OPS, default 1000000) and two CPUs at once (run under TSan
 * by scripts/test-all.sh).  The heap, domain and tmem verifiers run after
 * every test.
 */
#include <numem/domain.h>
#include <numem/relayout.h>
#include <numem/tmem.h>
#include <pthread.h>

#include "helpers.h"
/* White box (test_verify_catches_corruption): the records and the arena. */
#include "../src/core/tmem/tmem_internal.h"

static struct numem_system sys;
static struct numem_slab *slab;
static struct numem_domains *doms;
static struct numem_tmem *tm;
static struct numem_cpu *cpu0;
static struct numem_diag d;
static struct numem_tmem_codec *lz4, *zstd;
static const struct numem_platform *plat;

#define HOST                NUMEM_TMEM_HOST
#define PAGE                4096
#define NUMEM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The page copy the next boot gives tmem (NULL: the host's,
 * numem_host_tmem_copy_page). */
static void (*boot_copy)(void *dst, const void *src);

/* A machine of two nodes of `mb` MiB each, two CPUs per node. */
/* max_nodes: the heap's room for nodes a relayout brings online (0: the
 * machine's two). */
static void boot_nodes(unsigned mb, uint64_t max_pages, uint32_t max_nodes)
{
	char a[96], b[96];
	snprintf(a, sizeof(a), "node,nodeid=0,cpus=0-1,mem=%uM", mb);
	snprintf(b, sizeof(b), "node,nodeid=1,cpus=2-3,mem=%uM", mb);
	const char *args[] = {a, b, NULL};
	struct numem_system_opts o = {
	    .back_memory = true, .heap.poison = -1, .heap.max_nodes = max_nodes};
	boot_numa_system(&sys, args, &o);
	numem_host_set_log(sys.m.host, NULL, NUMEM_LOG_ERROR);
	plat = numem_host_platform(sys.m.host);
	slab = calloc(1, sizeof(*slab));
	doms = calloc(1, sizeof(*doms));
	assert_int_equal(numem_slab_init(slab, &sys.heap, &d), NUMEM_OK);
	assert_int_equal(numem_domains_init(doms, &sys.heap, slab, &d), NUMEM_OK);
	cpu0 = numem_heap_cpu(&sys.heap, 0);
	lz4 = numem_host_tmem_codec_create(NUMEM_TMEM_CODEC_LZ4, sys.heap.nr_cpus);
	zstd = numem_host_tmem_codec_create(NUMEM_TMEM_CODEC_ZSTD, sys.heap.nr_cpus);
	assert_non_null(lz4);
	assert_non_null(zstd);
	struct numem_tmem_opts to = {.max_pages = max_pages};
	to.copy_page = boot_copy ? boot_copy : numem_host_tmem_copy_page();
	to.codec[NUMEM_TMEM_CODEC_LZ4] = lz4;
	to.codec[NUMEM_TMEM_CODEC_ZSTD] = zstd;
	if (numem_tmem_create(&sys.heap, slab, doms, &to, &tm, &d))
		fail_msg("tmem create: %s", d.msg);
}

static void boot_mb(unsigned mb, uint64_t max_pages)
{
	boot_nodes(mb, max_pages, 0);
}

static void boot(void)
{
	boot_mb(256, 0);
}

static void verify(void)
{
	if (numem_tmem_verify(tm, &d))
		fail_msg("numem_tmem_verify: %s", d.msg);
	numem_heap_drain_all(&sys.heap);
	if (numem_domain_verify(doms, &d))
		fail_msg("numem_domain_verify: %s", d.msg);
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("numem_heap_verify: %s", d.msg);
}

static void shutdown(void)
{
	verify();
	numem_tmem_release(tm, cpu0);
	numem_domains_release(doms, cpu0);
	for (uint32_t c = 0; c < sys.heap.nr_cpus; c++)
		numem_slab_drain_cpu(slab, &sys.heap.cpu[c]);
	assert_int_equal(numem_slab_verify(slab, &d), NUMEM_OK);
	numem_slab_release(slab);
	numem_heap_drain_all(&sys.heap);
	if (numem_heap_verify(&sys.heap, &d))
		fail_msg("verify: %s", d.msg);
	for (numem_nid_t n = 0; n < sys.m.topo->nr_nodes; n++)
		assert_int_equal(numem_heap_node_allocated(&sys.heap, n), 0);
	numem_host_tmem_codec_destroy(lz4);
	numem_host_tmem_codec_destroy(zstd);
	free(slab);
	free(doms);
	numem_system_shutdown(&sys);
}

static void *virt(uint64_t pfn)
{
	return plat->phys_to_virt(plat->ctx, numem_pfn_to_paddr(numem_pfn(pfn)));
}

/* A heap page of the host's (NUMEM_OWNER_HEAP): the host client's frames. */
static uint64_t host_frame(void)
{
	numem_pfn_t p;
	if (numem_alloc(cpu0, 0, 0, NULL, &p, &d))
		fail_msg("alloc: %s", d.msg);
	return p.v;
}

static struct numem_domain *guest(const char *name, uint64_t pages)
{
	struct numem_domain_config c = {.max_pages = pages, .nr_vcpus = 1};
	snprintf(c.name, sizeof(c.name), "%s", name);
	struct numem_domain *dom;
	if (numem_domain_create(doms, &c, cpu0, &dom, &d))
		fail_msg("create %s: %s", name, d.msg);
	uint64_t done;
	if (numem_domain_increase_reservation(dom, cpu0, pages, 0, NULL, &done, &d))
		fail_msg("populate %s: %s", name, d.msg);
	return dom;
}

static uint8_t *gpage(struct numem_domain *dom, uint64_t gfn)
{
	return virt(numem_domain_p2m(dom, gfn));
}

static void fill(uint8_t *p, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < PAGE; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

/* Compressible: a short pattern repeated. */
static void fill_text(uint8_t *p, uint64_t seed)
{
	for (int i = 0; i < PAGE; i++)
		p[i] = (uint8_t)("the quick brown fox "[(i + seed) % 20] + (i / 512));
}

static const struct numem_tmem_oid OID1 = {{1, 2, 3}};
static const struct numem_tmem_oid OID2 = {{4, 5, 6}};

static uint32_t new_pool(uint32_t client, uint32_t flags)
{
	uint32_t id = 99;
	int r = numem_tmem_new_pool(tm, cpu0, client, flags, NULL, &id, &d);
	if (r != NUMEM_TMEM_HIT)
		fail_msg("new pool: %d %s", r, d.msg);
	return id;
}

static struct numem_tmem_client_info client_info_of(uint32_t client)
{
	struct numem_tmem_client_info ci[64];
	uint32_t n = numem_tmem_list_clients(tm, ci, 64);
	for (uint32_t i = 0; i < n && i < 64; i++)
		if (ci[i].client == client)
			return ci[i];
	fail_msg("client %u not listed", client);
	return (struct numem_tmem_client_info){0};
}

static struct numem_tmem_stats client_stats(uint32_t client)
{
	return client_info_of(client).stats;
}

/* `times` gets of the host's (pool, oid, index) into frame g, each a hit
 * with the bytes of frame f. */
static void gets_hit(uint32_t pool, const struct numem_tmem_oid *oid, uint32_t index, uint64_t f,
                     uint64_t g, int times)
{
	for (int i = 0; i < times; i++) {
		memset(virt(g), 0, PAGE);
		assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, oid, index, g, &d),
		                 NUMEM_TMEM_HIT);
		assert_memory_equal(virt(f), virt(g), PAGE);
	}
}

/* ---- semantics ---- */

static void test_private_ephemeral_exclusive(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame(), g = host_frame();
	uint32_t pool = new_pool(HOST, 0);
	fill(virt(f), 1);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 7, f, &d), NUMEM_TMEM_HIT);
	memset(virt(g), 0xee, PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 7, g, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(virt(f), virt(g), PAGE);
	/* exclusive: the get removed it */
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 7, g, &d), NUMEM_TMEM_MISS);
	/* another index, another object: misses */
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 7, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 8, g, &d), NUMEM_TMEM_MISS);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID2, 7, g, &d), NUMEM_TMEM_MISS);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

static void test_persistent_get_keeps(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame(), g = host_frame();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	fill(virt(f), 2);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 0, f, &d), NUMEM_TMEM_HIT);
	gets_hit(pool, &OID1, 0, f, g, 3);
	/* never dropped by pressure */
	assert_int_equal(numem_tmem_shrink(tm, cpu0, NUMEM_NID_NONE, 1000), 0);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 0, g, &d), NUMEM_TMEM_HIT);
	/* after a flush, a get misses */
	assert_int_equal(numem_tmem_flush_page(tm, cpu0, HOST, pool, &OID1, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_flush_page(tm, cpu0, HOST, pool, &OID1, 0, &d),
	                 NUMEM_TMEM_MISS);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 0, g, &d), NUMEM_TMEM_MISS);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

static void test_overwrite_replaces(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame(), g = host_frame();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	fill(virt(f), 3);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 1, f, &d), NUMEM_TMEM_HIT);
	fill(virt(f), 4);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 1, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 1, g, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(virt(f), virt(g), PAGE);
	assert_int_equal(client_stats(HOST).pages, 1);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

/* Take every page the heap has left (tmem's pages come without reclaim;
 * without reclaim here too, or tmem's shrinker would evict ephemeral pages
 * now); *n of them, in the array returned for release_held. */
static uint64_t *exhaust_heap(size_t *n)
{
	numem_heap_drain_all(&sys.heap); /* nothing left in a per-CPU cache */
	uint64_t *held = calloc(1 << 16, sizeof(*held));
	numem_pfn_t p;
	*n = 0;
	while (*n < (1u << 16) &&
	       numem_alloc(cpu0, 0, NUMEM_ALLOC_HIGH | NUMEM_ALLOC_NOPCP | NUMEM_ALLOC_NORECLAIM,
	                   NULL, &p, 0) == NUMEM_OK)
		held[(*n)++] = p.v;
	return held;
}

static void release_held(uint64_t *held, size_t n)
{
	for (size_t i = 0; i < n; i++)
		numem_free(cpu0, numem_pfn(held[i]), 0, 0);
	free(held);
}

/*
 * With the heap exhausted: an overwrite reuses its old copy's page; a new
 * persistent page takes the page of the oldest ephemeral one (evicted); with
 * nothing left to evict a persistent put is ENOMEM and an ephemeral one a
 * miss; and a put that fails drops the old copy (a later get misses).
 */
static void test_failed_overwrite_drops_old(void **state)
{
	(void)state;
	boot_mb(32, 0);
	uint64_t f = host_frame(), g = host_frame();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT), eph = new_pool(HOST, 0);
	memset(virt(f), 0, PAGE);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 1, f, &d), NUMEM_TMEM_HIT);
	fill(virt(f), 5);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 2, f, &d), NUMEM_TMEM_HIT);
	for (uint32_t i = 0; i < 2; i++)
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, eph, &OID2, i, f, &d),
		                 NUMEM_TMEM_HIT);
	size_t n;
	uint64_t *held = exhaust_heap(&n);
	/* an overwrite reuses the old copy's page */
	fill(virt(f), 6);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 2, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 2, g, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(virt(f), virt(g), PAGE);
	/* new persistent pages evict the ephemeral ones, oldest first */
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 3, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, eph, &OID2, 0, g, &d), NUMEM_TMEM_MISS);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 4, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(client_stats(HOST).evictions, 2);
	/* nothing left to evict */
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 5, f, &d), NUMEM_TMEM_ENOMEM);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, eph, &OID2, 5, f, &d), NUMEM_TMEM_MISS);
	/* the zero page at key 1 is overwritten by a page that finds no
	 * memory: the put fails and the old copy is gone */
	int r = numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 1, f, &d);
	assert_int_equal(r, NUMEM_TMEM_ENOMEM);
	release_held(held, n);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 1, g, &d), NUMEM_TMEM_MISS);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 4, g, &d), NUMEM_TMEM_HIT);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

/*
 * CPU 0's spare: its preload filled by a put that stores nothing (a zero
 * page), its descriptor and object back in it with the flush; then a raw
 * page (frame f, filled from seed) stored from CPU `by` (on by's node) at
 * (OID1, 0) and flushed from CPU 0.
 */
static void make_spare(struct numem_cpu *by, uint32_t pool, uint64_t f, uint64_t seed)
{
	memset(virt(f), 0, PAGE);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID2, 0, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_flush_page(tm, cpu0, HOST, pool, &OID2, 0, &d), NUMEM_TMEM_HIT);
	fill(virt(f), seed);
	assert_int_equal(numem_tmem_put(tm, by, HOST, pool, &OID1, 0, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_flush_page(tm, cpu0, HOST, pool, &OID1, 0, &d), NUMEM_TMEM_HIT);
}

/*
 * A CPU's spare TMEM page (kept from the last page its ops freed) is on
 * another node than a put asks for and the heap is empty: the put takes
 * the spare rather than failing.
 */
static void test_spare_other_node(void **state)
{
	(void)state;
	boot_mb(32, 0);
	struct numem_cpu *cpu2 = numem_heap_cpu(&sys.heap, 2); /* node 1 */
	uint64_t f = host_frame(), g = host_frame();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	/* stored from node 1's CPU: on node 1; flushed from CPU 0: its spare */
	make_spare(cpu2, pool, f, 7);
	size_t n;
	uint64_t *held = exhaust_heap(&n);
	/* CPU 0 asks for node 0: none left; the node-1 spare serves */
	fill(virt(f), 8);
	int r = numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 1, f, &d);
	if (r != NUMEM_TMEM_HIT)
		fail_msg("put with a node-1 spare: %d %s", r, d.msg);
	struct numem_tmem_info info;
	numem_tmem_info(tm, &info);
	assert_int_equal(info.pages_on_node[0], 0);
	assert_int_equal(info.pages_on_node[1], 1);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 1, g, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(virt(f), virt(g), PAGE);
	/* no spare left, nothing to evict: a persistent put finds no memory */
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 2, f, &d), NUMEM_TMEM_ENOMEM);
	release_held(held, n);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

/* ---- the embedder's page copy (numem_tmem_opts.copy_page) ---- */

static unsigned copies;
static void counting_copy(void *dst, const void *src)
{
	assert_true(((uintptr_t)dst | (uintptr_t)src) % PAGE == 0);
	copies++;
	memcpy(dst, src, PAGE);
}

/* Every raw page's copy in and out goes through the embedder's routine,
 * and nothing else does (a zero page, a compressed page). */
static void test_copy_page_hook(void **state)
{
	(void)state;
	boot_copy = counting_copy;
	boot();
	boot_copy = NULL;
	uint64_t f = host_frame(), g = host_frame();
	uint32_t eph = new_pool(HOST, 0), pers = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	fill(virt(f), 11);
	/* private ephemeral: put copies in, the exclusive get copies out */
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, eph, &OID1, 0, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(copies, 1);
	memset(virt(g), 0x5a, PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, eph, &OID1, 0, g, &d), NUMEM_TMEM_HIT);
	assert_int_equal(copies, 2);
	assert_memory_equal(virt(f), virt(g), PAGE);
	/* persistent: each get copies out */
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pers, &OID1, 0, f, &d), NUMEM_TMEM_HIT);
	gets_hit(pers, &OID1, 0, f, g, 2);
	assert_int_equal(copies, 5);
	/* a miss copies nothing */
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, eph, &OID1, 0, g, &d), NUMEM_TMEM_MISS);
	/* a zero page is a flag; a compressed page goes through the codec */
	memset(virt(f), 0, PAGE);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, eph, &OID2, 0, f, &d), NUMEM_TMEM_HIT);
	memset(virt(g), 0x5a, PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, eph, &OID2, 0, g, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(virt(f), virt(g), PAGE);
	assert_int_equal(
	    numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, HOST, NUMEM_TMEM_CODEC_LZ4, NULL, &d),
	    NUMEM_TMEM_HIT);
	fill_text(virt(f), 3);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, eph, &OID2, 1, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, eph, &OID2, 1, g, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(virt(f), virt(g), PAGE);
	assert_int_equal(copies, 5);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

static uint8_t *save_client(uint32_t client, size_t *len);

/* The contract the hook is given (tmem.h): both pointers 4096-aligned.
 * Counts the calls that break it (and copies anyway). */
static unsigned misaligned_copies, aligned_copies;
static void strict_copy(void *dst, const void *src)
{
	if (((uintptr_t)dst | (uintptr_t)src) % PAGE)
		misaligned_copies++;
	else
		aligned_copies++;
	memmove(dst, src, PAGE);
}

/* Every path that copies a raw page keeps the hook's contract: a save
 * (into the caller's stream, records at byte 32 of each), a restore (out
 * of it).  Pointers not page-aligned take memcpy, never the hook (a
 * kernel's copy_page or aligned vector moves would fault on them). */
static void test_copy_page_alignment(void **state)
{
	(void)state;
	boot_copy = strict_copy;
	boot();
	boot_copy = NULL;
	misaligned_copies = aligned_copies = 0;
	struct numem_domain *a = guest("a", 8), *b = guest("b", 8);
	uint32_t pp = new_pool(a->id, NUMEM_TMEM_POOL_PERSISTENT);
	fill(gpage(a, 0), 61);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pp, &OID1, 0, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(aligned_copies, 1);
	numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_FREEZE, a->id, 0, NULL, &d);
	size_t len;
	uint8_t *buf = save_client(a->id, &len);
	assert_int_equal(misaligned_copies, 0);
	assert_int_equal(numem_tmem_restore(tm, cpu0, b->id, buf, len, &d), NUMEM_TMEM_HIT);
	assert_int_equal(misaligned_copies, 0);
	memset(gpage(b, 1), 0, PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, b->id, pp, &OID1, 0, 1, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(gpage(a, 0), gpage(b, 1), PAGE);
	free(buf);
	assert_int_equal(misaligned_copies, 0);
	assert_int_equal(aligned_copies, 2); /* the put, b's get */
	verify();
	shutdown();
}

/* The host's page copy: exactly the 4096 bytes, nothing around them, at
 * any alignment (unaligned pointers take memcpy); off by the environment. */
static void test_host_copy_page(void **state)
{
	(void)state;
	void (*cp)(void *, const void *) = numem_host_tmem_copy_page();
	if (!cp) {
		printf("  (no host page copy on this CPU: tmem uses memcpy)\n");
		return;
	}
	uint8_t *src = aligned_alloc(PAGE, 2 * PAGE), *dst = aligned_alloc(PAGE, 3 * PAGE);
	assert_non_null(src);
	assert_non_null(dst);
	size_t offs[] = {0, 64, 8, 1};
	for (size_t k = 0; k < NUMEM_ARRAY_SIZE(offs); k++) {
		fill(src, 20 + k);
		fill(src + PAGE, 30 + k);
		memset(dst, 0xa5, 3 * PAGE);
		cp(dst + PAGE + offs[k], src + offs[k]);
		assert_memory_equal(dst + PAGE + offs[k], src + offs[k], PAGE);
		for (size_t i = 0; i < PAGE + offs[k]; i++)
			if (dst[i] != 0xa5)
				fail_msg("offset %zu: byte %zu before the page written", offs[k],
				         i);
		for (size_t i = 2 * PAGE + offs[k]; i < 3 * PAGE; i++)
			if (dst[i] != 0xa5)
				fail_msg("offset %zu: byte %zu after the page written", offs[k], i);
	}
	free(src);
	free(dst);
	/* off by any value but "auto": a value meant to turn it off is never
	 * ignored */
	static const char *const off[] = {"memcpy", "off", "0", "MEMCPY", "memcpy "};
	for (size_t k = 0; k < NUMEM_ARRAY_SIZE(off); k++) {
		setenv("NUMEM_TMEM_COPY", off[k], 1);
		if (numem_host_tmem_copy_page())
			fail_msg("NUMEM_TMEM_COPY=\"%s\" left the AVX-512 copy on", off[k]);
	}
	setenv("NUMEM_TMEM_COPY", "auto", 1);
	assert_non_null(numem_host_tmem_copy_page());
	setenv("NUMEM_TMEM_COPY", "", 1);
	assert_non_null(numem_host_tmem_copy_page());
	unsetenv("NUMEM_TMEM_COPY");
	assert_non_null(numem_host_tmem_copy_page());
}

/* The pages of both nodes the heap has handed out. */
static uint64_t heap_allocated(void)
{
	return numem_heap_node_allocated(&sys.heap, 0) + numem_heap_node_allocated(&sys.heap, 1);
}

/* The one TMEM page of the heap (tmem holding nothing but a spare). */
static uint64_t only_tmem_page(void)
{
	uint64_t found = ~0ull, n = 0;
	for (uint64_t pfn = 0; pfn < sys.heap.ft->max_pfn; pfn++) {
		struct numem_heap_block b;
		if (numem_heap_block_of(&sys.heap, numem_pfn(pfn), &b) == NUMEM_PS_ALLOCATED &&
		    b.owner == NUMEM_OWNER_TMEM && b.head.v == pfn) {
			found = pfn;
			n++;
		}
	}
	assert_int_equal(n, 1);
	return found;
}

/* dom puts its frame gfn at (OID1, index) of its private ephemeral pool
 * on CPU 0, taking no page from the heap (CPU 0's spare serves), and gets
 * back exactly that into its frame 1. */
static void spare_round_trip(struct numem_domain *dom, uint32_t pool, uint32_t index, uint64_t gfn)
{
	uint64_t before = heap_allocated();
	assert_int_equal(numem_tmem_put(tm, cpu0, dom->id, pool, &OID1, index, gfn, &d),
	                 NUMEM_TMEM_HIT);
	assert_int_equal(heap_allocated(), before);
	verify();
	memset(gpage(dom, 1), 0, PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, dom->id, pool, &OID1, index, 1, &d),
	                 NUMEM_TMEM_HIT);
	assert_memory_equal(gpage(dom, gfn), gpage(dom, 1), PAGE);
	verify();
}

/* An exclusive get leaves the page in its CPU's spare; the next store on
 * that CPU takes it, for any client: as a raw page it is overwritten
 * whole, as a new compressed page only what is written is ever read, so
 * no byte of the first client's page reaches the second.  The verifier
 * accounts the spare: one that is not tmem's page any more is reported. */
static void test_spare_reuse(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 4), *b = guest("b", 4);
	uint32_t pa = new_pool(a->id, 0), pb = new_pool(b->id, 0);
	/* both clients' pages on CPU 0's node, as the spare is */
	fill(gpage(a, 0), 40);
	fill(gpage(b, 0), 41);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pa, &OID1, 0, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu0, b->id, pb, &OID1, 9, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, b->id, pb, &OID1, 9, 1, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pa, &OID1, 0, 1, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(gpage(a, 0), gpage(a, 1), PAGE);
	verify();
	/* a's page is CPU 0's spare: b's raw put takes it (no heap page) */
	spare_round_trip(b, pb, 0, 0);
	/* back in the spare (a's bytes under b's); b's compressed put makes
	 * a zpage of it */
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, b->id,
	                                NUMEM_TMEM_CODEC_LZ4, NULL, &d),
	                 NUMEM_TMEM_HIT);
	fill_text(gpage(b, 2), 5);
	spare_round_trip(b, pb, 1, 2);
	/* the spare handed to someone else behind tmem's back: reported */
	uint64_t spare = only_tmem_page();
	assert_int_equal(numem_heap_set_owner(&sys.heap, numem_pfn(spare), 0, NUMEM_OWNER_TMEM,
	                                      NUMEM_OWNER_HEAP, &d),
	                 NUMEM_OK);
	assert_int_equal(numem_tmem_verify(tm, &d), NUMEM_E_CORRUPT);
	assert_non_null(strstr(d.msg, "spare page"));
	assert_int_equal(numem_heap_set_owner(&sys.heap, numem_pfn(spare), 0, NUMEM_OWNER_HEAP,
	                                      NUMEM_OWNER_TMEM, &d),
	                 NUMEM_OK);
	shutdown();
}

static void test_zero_pages(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame(), g = host_frame();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	memset(virt(f), 0, PAGE);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 3, f, &d), NUMEM_TMEM_HIT);
	struct numem_tmem_stats s = client_stats(HOST);
	assert_int_equal(s.zero_pages, 1);
	assert_int_equal(s.bytes_used, 0);
	assert_int_equal(s.bytes_stored, PAGE);
	memset(virt(g), 0x5a, PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 3, g, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(virt(f), virt(g), PAGE);
	/* a page zero but for its last byte is not a zero page */
	((uint8_t *)virt(f))[PAGE - 1] = 1;
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 4, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 4, g, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(virt(f), virt(g), PAGE);
	assert_int_equal(client_stats(HOST).zero_pages, 1);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

static void compression(enum numem_tmem_codec_id codec)
{
	boot();
	uint64_t f = host_frame(), g = host_frame();
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, HOST, codec, NULL, &d),
	                 NUMEM_TMEM_HIT);
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	for (uint32_t i = 0; i < 200; i++) {
		fill_text(virt(f), i);
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, i, f, &d),
		                 NUMEM_TMEM_HIT);
	}
	/* incompressible: stored raw */
	fill(virt(f), 77);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID2, 0, f, &d), NUMEM_TMEM_HIT);
	struct numem_tmem_stats s = client_stats(HOST);
	assert_int_equal(s.compressed_pages, 200);
	assert_int_equal(s.pages, 201);
	assert_true(s.bytes_used < s.bytes_stored / 4);
	for (uint32_t i = 0; i < 200; i++) {
		fill_text(virt(f), i);
		assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, i, g, &d),
		                 NUMEM_TMEM_HIT);
		assert_memory_equal(virt(f), virt(g), PAGE);
	}
	fill(virt(f), 77);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID2, 0, g, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(virt(f), virt(g), PAGE);
	/* flush half (chunks freed inside shared zpages), the rest intact */
	for (uint32_t i = 0; i < 200; i += 2)
		assert_int_equal(numem_tmem_flush_page(tm, cpu0, HOST, pool, &OID1, i, &d),
		                 NUMEM_TMEM_HIT);
	for (uint32_t i = 1; i < 200; i += 2) {
		fill_text(virt(f), i);
		assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, i, g, &d),
		                 NUMEM_TMEM_HIT);
		assert_memory_equal(virt(f), virt(g), PAGE);
	}
	verify();
	assert_int_equal(numem_tmem_destroy_pool(tm, cpu0, HOST, pool, &d), NUMEM_TMEM_HIT);
	struct numem_tmem_info info;
	numem_tmem_info(tm, &info);
	assert_int_equal(info.heap_pages, 0);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

static void test_lz4(void **state)
{
	(void)state;
	compression(NUMEM_TMEM_CODEC_LZ4);
}

static void test_zstd(void **state)
{
	(void)state;
	compression(NUMEM_TMEM_CODEC_ZSTD);
}

static void test_flush_object_radix(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame(), g = host_frame();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	/* a tree of height 1 grown at once to the top (the most nodes one
	 * insert needs), then indexes across every level, 0 and the maximum */
	fill(virt(f), 5);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID2, 5, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID2, 0x80000000u, f, &d),
	                 NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID2, 5, g, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(virt(f), virt(g), PAGE);
	/* emptied low page first, then the high one: the whole path goes back
	 * to the CPU's preload and must come back empty (fuzz_tmem found the
	 * root's slot to the high path left set) */
	assert_int_equal(numem_tmem_flush_page(tm, cpu0, HOST, pool, &OID2, 5, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_flush_page(tm, cpu0, HOST, pool, &OID2, 0x80000000u, &d),
	                 NUMEM_TMEM_HIT);
	for (uint32_t k = 0; k < 3; k++)
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID2, 64u << (6 * k), f, &d),
		                 NUMEM_TMEM_HIT);
	verify();
	assert_int_equal(numem_tmem_flush_object(tm, cpu0, HOST, pool, &OID2, NULL, &d),
	                 NUMEM_TMEM_HIT);
	const uint32_t idx[] = {0,           1,           63,         64,        4095,
	                        4096,        262143,      262144u,    16777215u, 16777216u,
	                        0x7fffffffu, 0xfffffffeu, 0xffffffffu};
	for (size_t i = 0; i < NUMEM_ARRAY_SIZE(idx); i++) {
		fill(virt(f), idx[i]);
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, idx[i], f, &d),
		                 NUMEM_TMEM_HIT);
	}
	for (size_t i = 0; i < NUMEM_ARRAY_SIZE(idx); i++) {
		fill(virt(f), idx[i]);
		assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, idx[i], g, &d),
		                 NUMEM_TMEM_HIT);
		assert_memory_equal(virt(f), virt(g), PAGE);
	}
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, 2, g, &d), NUMEM_TMEM_MISS);
	verify();
	uint64_t flushed = 0;
	assert_int_equal(numem_tmem_flush_object(tm, cpu0, HOST, pool, &OID1, &flushed, &d),
	                 NUMEM_TMEM_HIT);
	assert_int_equal(flushed, NUMEM_ARRAY_SIZE(idx));
	for (size_t i = 0; i < NUMEM_ARRAY_SIZE(idx); i++)
		assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, idx[i], g, &d),
		                 NUMEM_TMEM_MISS);
	assert_int_equal(numem_tmem_flush_object(tm, cpu0, HOST, pool, &OID1, &flushed, &d),
	                 NUMEM_TMEM_MISS);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

/* An object's last page removed: the nodes on its path go back to the
 * preload, and a recycled node is reused with only its chain slot cleared,
 * so the path's child pointers must have been cleared too.  Index
 * 0xffffffff goes through slot 63 (3 at the top) at every level: a stale
 * pointer there links the next objects' trees to nodes still in the
 * preload, and one object's get returns another's page. */
static void test_radix_last_page_nodes_clean(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame(), g = host_frame();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	const struct numem_tmem_oid o3 = {{7, 8, 9}};
	const uint32_t top = 0xffffffffu;
	fill(virt(f), 1);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, top, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_flush_page(tm, cpu0, HOST, pool, &OID1, top, &d),
	                 NUMEM_TMEM_HIT);
	fill(virt(f), 2);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID2, top, f, &d), NUMEM_TMEM_HIT);
	fill(virt(f), 3);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &o3, top, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID2, top, g, &d), NUMEM_TMEM_HIT);
	fill(virt(f), 2);
	assert_memory_equal(virt(f), virt(g), PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &o3, top, g, &d), NUMEM_TMEM_HIT);
	fill(virt(f), 3);
	assert_memory_equal(virt(f), virt(g), PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID1, top, g, &d), NUMEM_TMEM_MISS);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &OID2, top - 1, g, &d),
	                 NUMEM_TMEM_MISS);
	verify();
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

/* Many objects: the pool's object table grows (4x, twice here) and every
 * object is found again after each rehash. */
static void test_object_table_grows(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame(), g = host_frame();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	const uint64_t n = 20000;
	for (uint64_t i = 0; i < n; i++) {
		struct numem_tmem_oid o = {{i, ~i, i * 3}};
		memset(virt(f), 0, PAGE);
		memcpy(virt(f), &i, sizeof(i));
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &o, 0, f, &d),
		                 NUMEM_TMEM_HIT);
	}
	verify();
	for (uint64_t i = 0; i < n; i++) {
		struct numem_tmem_oid o = {{i, ~i, i * 3}};
		assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pool, &o, 0, g, &d),
		                 NUMEM_TMEM_HIT);
		assert_memory_equal(virt(g), &i, sizeof(i));
	}
	struct numem_tmem_pool_info pi[16];
	assert_int_equal(numem_tmem_list_pools(tm, HOST, pi, 16), 1);
	assert_int_equal(pi[0].objects, n);
	/* the table (counted in the metadata) grew twice: 504 -> 8064 chains */
	struct numem_tmem_info info;
	numem_tmem_info(tm, &info);
	assert_true(info.metadata_bytes >= n * 56 + 8064 * 4);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

/* ---- isolation ---- */

static void test_isolation(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 16), *b = guest("b", 16);
	uint32_t pa = new_pool(a->id, 0);
	fill(gpage(a, 0), 9);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pa, &OID1, 0, 0, &d), NUMEM_TMEM_HIT);
	/* b cannot get, flush or destroy a's pool: for b it is an empty slot */
	assert_int_equal(numem_tmem_get(tm, cpu0, b->id, pa, &OID1, 0, 0, &d), NUMEM_TMEM_EEMPTY);
	assert_int_equal(numem_tmem_flush_page(tm, cpu0, b->id, pa, &OID1, 0, &d),
	                 NUMEM_TMEM_EEMPTY);
	assert_int_equal(numem_tmem_flush_object(tm, cpu0, b->id, pa, &OID1, NULL, &d),
	                 NUMEM_TMEM_EEMPTY);
	assert_int_equal(numem_tmem_destroy_pool(tm, cpu0, b->id, pa, &d), NUMEM_TMEM_EEMPTY);
	/* b's own pool 0 is another pool */
	uint32_t pb = new_pool(b->id, 0);
	assert_int_equal(pb, pa);
	assert_int_equal(numem_tmem_get(tm, cpu0, b->id, pb, &OID1, 0, 0, &d), NUMEM_TMEM_MISS);
	/* a's page is still there */
	memset(gpage(a, 1), 0, PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pa, &OID1, 0, 1, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(gpage(a, 0), gpage(a, 1), PAGE);
	/* frames: beyond the guest, not populated, another domain's, the
	 * host naming a guest's frame or a free page */
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pa, &OID1, 0, 16, &d), NUMEM_TMEM_EFRAME);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pa, &OID1, 0, ~0ull, &d),
	                 NUMEM_TMEM_EFRAME);
	uint64_t done;
	uint64_t g15 = 15;
	assert_int_equal(numem_domain_decrease_reservation_at(a, cpu0, &g15, 1, 0, &done, &d),
	                 NUMEM_OK);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pa, &OID1, 0, 15, &d), NUMEM_TMEM_EFRAME);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pa, &OID1, 0, 15, &d), NUMEM_TMEM_EFRAME);
	uint64_t bmfn = numem_domain_p2m(b, 0);
	uint32_t ph = new_pool(HOST, 0);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, ph, &OID1, 0, bmfn, &d), NUMEM_TMEM_EFRAME);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, ph, &OID1, 0, bmfn, &d), NUMEM_TMEM_EFRAME);
	uint64_t f = host_frame();
	numem_free(cpu0, numem_pfn(f), 0, &d);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, ph, &OID1, 0, f, &d), NUMEM_TMEM_EFRAME);
	/* destroy twice: the second finds an empty slot; a client twice */
	assert_int_equal(numem_tmem_destroy_pool(tm, cpu0, b->id, pb, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_destroy_pool(tm, cpu0, b->id, pb, &d), NUMEM_TMEM_EEMPTY);
	assert_int_equal(numem_tmem_client_destroy(tm, cpu0, b->id, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_client_destroy(tm, cpu0, b->id, &d), NUMEM_TMEM_ENOCLIENT);
	assert_int_equal(numem_tmem_client_destroy(tm, cpu0, HOST, &d), NUMEM_TMEM_EPERM);
	/* an op from a domain that does not exist */
	assert_int_equal(numem_tmem_put(tm, cpu0, 999, 0, &OID1, 0, 0, &d), NUMEM_TMEM_ENOCLIENT);
	/* control ops only from the host */
	struct numem_tmem_op op = {.cmd = NUMEM_TMEM_CTL_FREEZE, .client = b->id};
	assert_int_equal(numem_tmem_op(tm, cpu0, a->id, &op, &d), NUMEM_TMEM_EPERM);
	shutdown();
}

static void test_shared_pools(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 16), *b = guest("b", 16);
	struct numem_tmem_uuid u = {0x1111, 0x2222}, other = {0x3333, 0x4444};
	uint32_t id = 77;
	/* not authorised: an error, and no private pool in its stead */
	assert_int_equal(numem_tmem_new_pool(tm, cpu0, a->id, NUMEM_TMEM_POOL_SHARED, &u, &id, &d),
	                 NUMEM_TMEM_EPERM);
	assert_int_equal(id, 77);
	struct numem_tmem_pool_info pi[16];
	assert_int_equal(numem_tmem_list_pools(tm, a->id, pi, 16), 0);
	assert_int_equal(numem_tmem_authorise(tm, cpu0, a->id, &u, true, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_authorise(tm, cpu0, b->id, &u, true, &d), NUMEM_TMEM_HIT);
	uint32_t pa, pb;
	assert_int_equal(numem_tmem_new_pool(tm, cpu0, a->id, NUMEM_TMEM_POOL_SHARED, &u, &pa, &d),
	                 NUMEM_TMEM_HIT);
	/* b needs the authorised uuid: another uuid fails */
	assert_int_equal(
	    numem_tmem_new_pool(tm, cpu0, b->id, NUMEM_TMEM_POOL_SHARED, &other, &pb, &d),
	    NUMEM_TMEM_EPERM);
	assert_int_equal(numem_tmem_new_pool(tm, cpu0, b->id, NUMEM_TMEM_POOL_SHARED, &u, &pb, &d),
	                 NUMEM_TMEM_HIT);
	/* shared persistent refused; dedup without shared refused */
	assert_int_equal(numem_tmem_new_pool(tm, cpu0, a->id,
	                                     NUMEM_TMEM_POOL_SHARED | NUMEM_TMEM_POOL_PERSISTENT,
	                                     &u, &id, &d),
	                 NUMEM_TMEM_EINVAL);
	assert_int_equal(numem_tmem_new_pool(tm, cpu0, a->id, NUMEM_TMEM_POOL_DEDUP, NULL, &id, &d),
	                 NUMEM_TMEM_EINVAL);
	fill(gpage(a, 0), 11);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pa, &OID1, 5, 0, &d), NUMEM_TMEM_HIT);
	/* shared ephemeral: a get does not remove */
	for (int i = 0; i < 2; i++) {
		memset(gpage(b, 0), 0, PAGE);
		assert_int_equal(numem_tmem_get(tm, cpu0, b->id, pb, &OID1, 5, 0, &d),
		                 NUMEM_TMEM_HIT);
		assert_memory_equal(gpage(a, 0), gpage(b, 0), PAGE);
	}
	assert_int_equal(numem_tmem_list_pools(tm, a->id, pi, 16), 1);
	assert_int_equal(pi[0].sharers, 2);
	/* revoke: b cannot join again; a leaving drops a's pages only */
	assert_int_equal(numem_tmem_authorise(tm, cpu0, b->id, &u, false, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_destroy_pool(tm, cpu0, a->id, pa, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, b->id, pb, &OID1, 5, 0, &d), NUMEM_TMEM_MISS);
	fill(gpage(b, 1), 12);
	assert_int_equal(numem_tmem_put(tm, cpu0, b->id, pb, &OID1, 6, 1, &d), NUMEM_TMEM_HIT);
	/* authorisations: 16 per client, the 17th refused with its limit */
	for (uint64_t i = 0; i < NUMEM_TMEM_MAX_AUTH - 1; i++) {
		struct numem_tmem_uuid x = {100 + i, 1};
		assert_int_equal(numem_tmem_authorise(tm, cpu0, a->id, &x, true, &d),
		                 NUMEM_TMEM_HIT);
	}
	struct numem_tmem_uuid x17 = {99, 1};
	assert_int_equal(numem_tmem_authorise(tm, cpu0, a->id, &x17, true, &d), NUMEM_TMEM_ELIMIT);
	/* the same uuid again is no new entry */
	assert_int_equal(numem_tmem_authorise(tm, cpu0, a->id, &u, true, &d), NUMEM_TMEM_HIT);
	/* "all clients" only for flush and freeable */
	assert_int_equal(
	    numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_FREEZE, NUMEM_TMEM_ALL_CLIENTS, 0, NULL, &d),
	    NUMEM_TMEM_EINVAL);
	/* the limit of pools per client is reported */
	for (uint32_t i = 1; i < NUMEM_TMEM_MAX_POOLS; i++)
		new_pool(b->id, 0);
	assert_int_equal(numem_tmem_new_pool(tm, cpu0, b->id, 0, NULL, &id, &d), NUMEM_TMEM_ELIMIT);
	assert_non_null(strstr(d.msg, "16 pools"));
	shutdown();
}

/* At most NUMEM_TMEM_MAX_SHARED shared pools; the next is refused with
 * the limit in the message, and one comes free when its last sharer goes. */
static void test_shared_limit(void **state)
{
	(void)state;
	boot();
	struct numem_domain *g[5];
	uint32_t id;
	for (int k = 0; k < 5; k++) {
		char name[8];
		snprintf(name, sizeof(name), "s%d", k);
		g[k] = guest(name, 4);
		for (uint64_t i = 0; i < NUMEM_TMEM_MAX_AUTH; i++) {
			struct numem_tmem_uuid u = {(uint64_t)k * 100 + i + 1, 9};
			assert_int_equal(numem_tmem_authorise(tm, cpu0, g[k]->id, &u, true, &d),
			                 NUMEM_TMEM_HIT);
		}
	}
	for (int k = 0; k < 4; k++)
		for (uint64_t i = 0; i < NUMEM_TMEM_MAX_AUTH; i++) {
			struct numem_tmem_uuid u = {(uint64_t)k * 100 + i + 1, 9};
			assert_int_equal(numem_tmem_new_pool(tm, cpu0, g[k]->id,
			                                     NUMEM_TMEM_POOL_SHARED, &u, &id, &d),
			                 NUMEM_TMEM_HIT);
		}
	struct numem_tmem_info info;
	numem_tmem_info(tm, &info);
	assert_int_equal(info.nr_shared, NUMEM_TMEM_MAX_SHARED);
	struct numem_tmem_uuid u65 = {401, 9};
	assert_int_equal(
	    numem_tmem_new_pool(tm, cpu0, g[4]->id, NUMEM_TMEM_POOL_SHARED, &u65, &id, &d),
	    NUMEM_TMEM_ELIMIT);
	assert_non_null(strstr(d.msg, "64 shared pools"));
	/* one sharer goes: its 16 pools are free again */
	assert_int_equal(numem_domain_destroy(doms, cpu0, g[0]->id, &d), NUMEM_OK);
	assert_int_equal(
	    numem_tmem_new_pool(tm, cpu0, g[4]->id, NUMEM_TMEM_POOL_SHARED, &u65, &id, &d),
	    NUMEM_TMEM_HIT);
	shutdown();
}

static void test_dedup(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 16), *b = guest("b", 16);
	struct numem_tmem_uuid u = {7, 7};
	numem_tmem_authorise(tm, cpu0, a->id, &u, true, &d);
	numem_tmem_authorise(tm, cpu0, b->id, &u, true, &d);
	uint32_t fl = NUMEM_TMEM_POOL_SHARED | NUMEM_TMEM_POOL_DEDUP, pa, pb;
	assert_int_equal(numem_tmem_new_pool(tm, cpu0, a->id, fl, &u, &pa, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_new_pool(tm, cpu0, b->id, fl, &u, &pb, &d), NUMEM_TMEM_HIT);
	fill(gpage(a, 0), 21);
	fill(gpage(b, 0), 21);
	fill(gpage(b, 1), 22);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pa, &OID1, 0, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu0, b->id, pb, &OID2, 0, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu0, b->id, pb, &OID2, 1, 1, &d), NUMEM_TMEM_HIT);
	struct numem_tmem_info info;
	numem_tmem_info(tm, &info);
	assert_int_equal(info.heap_pages, 2); /* three pages, two different */
	assert_int_equal(info.stats.dedup_pages, 3);
	/* flush one sharer's copy: the other still reads it */
	assert_int_equal(numem_tmem_flush_page(tm, cpu0, a->id, pa, &OID1, 0, &d), NUMEM_TMEM_HIT);
	memset(gpage(a, 1), 0, PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pa, &OID2, 0, 1, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(gpage(a, 1), gpage(b, 0), PAGE);
	assert_int_equal(numem_tmem_flush_page(tm, cpu0, b->id, pb, &OID2, 0, &d), NUMEM_TMEM_HIT);
	numem_tmem_info(tm, &info);
	assert_int_equal(info.heap_pages, 1);
	shutdown();
}

/* ---- control plane, quota, eviction ---- */

static void test_control(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 16);
	uint32_t pe = new_pool(a->id, 0), pp = new_pool(a->id, NUMEM_TMEM_POOL_PERSISTENT);
	fill(gpage(a, 0), 31);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pp, &OID1, 0, 0, &d), NUMEM_TMEM_HIT);
	/* freeze: puts and new pools refused with their own code; gets work */
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_FREEZE, a->id, 0, NULL, &d),
	                 NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pp, &OID1, 1, 0, &d), NUMEM_TMEM_EFROZEN);
	uint32_t id;
	assert_int_equal(numem_tmem_new_pool(tm, cpu0, a->id, 0, NULL, &id, &d),
	                 NUMEM_TMEM_EFROZEN);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pp, &OID1, 0, 1, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_THAW, a->id, 0, NULL, &d),
	                 NUMEM_TMEM_HIT);
	/* an empty pool slot */
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, 9, &OID1, 1, 0, &d), NUMEM_TMEM_EEMPTY);
	/* weight and codec ranges */
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_WEIGHT, a->id, 0, NULL, &d),
	                 NUMEM_TMEM_EINVAL);
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_WEIGHT, a->id, 10001, NULL, &d),
	                 NUMEM_TMEM_EINVAL);
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_WEIGHT, a->id, 10000, NULL, &d),
	                 NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, a->id, 3, NULL, &d),
	                 NUMEM_TMEM_EINVAL);
	/* quota: a cap of 4 pages, one persistent held */
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_CAP, a->id, 4, NULL, &d),
	                 NUMEM_TMEM_HIT);
	for (uint32_t i = 0; i < 2; i++) {
		fill(gpage(a, i), 40 + i);
		assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pe, &OID2, i, i, &d),
		                 NUMEM_TMEM_HIT);
	}
	fill(gpage(a, 2), 50);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pp, &OID1, 1, 2, &d), NUMEM_TMEM_HIT);
	/* at the cap: a persistent put makes way by evicting an ephemeral page */
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pp, &OID1, 2, 2, &d), NUMEM_TMEM_HIT);
	struct numem_tmem_stats s = client_stats(a->id);
	assert_int_equal(s.pages, 4);
	assert_int_equal(s.pages_persistent, 3);
	assert_int_equal(s.evictions, 1);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pp, &OID1, 3, 2, &d), NUMEM_TMEM_HIT);
	/* cap reached with persistent pages only: refused, counted */
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pp, &OID1, 4, 2, &d), NUMEM_TMEM_EQUOTA);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pe, &OID2, 9, 2, &d), NUMEM_TMEM_MISS);
	assert_int_equal(client_stats(a->id).pages_persistent, 4);
	/* freeable, flush N */
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_CAP, a->id, 0, NULL, &d),
	                 NUMEM_TMEM_HIT);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pe, &OID2, 100 + i, 3, &d),
		                 NUMEM_TMEM_HIT);
	uint64_t out;
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_FREEABLE, a->id, 0, &out, &d),
	                 NUMEM_TMEM_HIT);
	assert_int_equal(out, 5);
	assert_int_equal(
	    numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_FLUSH, NUMEM_TMEM_ALL_CLIENTS, 3, &out, &d),
	    NUMEM_TMEM_HIT);
	assert_int_equal(out, 3);
	assert_int_equal(
	    numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_FREEABLE, NUMEM_TMEM_ALL_CLIENTS, 0, &out, &d),
	    NUMEM_TMEM_HIT);
	assert_int_equal(out, 2);
	/* the oldest went first (LRU) */
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pe, &OID2, 100, 4, &d), NUMEM_TMEM_MISS);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pe, &OID2, 104, 4, &d), NUMEM_TMEM_HIT);
	shutdown();
}

/*
 * A put at its client's cap whose eviction empties (and frees) the very
 * object the put goes to: the page lands in a new object, readable (the
 * put found the object before evicting: it must look again).
 */
static void test_cap_evicts_own_object(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 16);
	uint32_t pe = new_pool(a->id, 0);
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_CAP, a->id, 1, NULL, &d),
	                 NUMEM_TMEM_HIT);
	fill(gpage(a, 0), 60);
	fill(gpage(a, 1), 61);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pe, &OID1, 0, 0, &d), NUMEM_TMEM_HIT);
	/* OID1's only page is evicted to make room for OID1 index 1 */
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pe, &OID1, 1, 1, &d), NUMEM_TMEM_HIT);
	assert_int_equal(client_stats(a->id).evictions, 1);
	/* and again, the object's tree at height >= 1 the second time round */
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pe, &OID1, 200, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(client_stats(a->id).evictions, 2);
	memset(gpage(a, 2), 0xee, PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pe, &OID1, 200, 2, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(gpage(a, 0), gpage(a, 2), PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pe, &OID1, 1, 2, &d), NUMEM_TMEM_MISS);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pe, &OID1, 0, 2, &d), NUMEM_TMEM_MISS);
	/* a cap of 2 over a two-page object: the eviction leaves it alive */
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_CAP, a->id, 2, NULL, &d),
	                 NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pe, &OID1, 3, 1, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pe, &OID1, 4, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pe, &OID1, 5, 1, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pe, &OID1, 5, 2, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(gpage(a, 1), gpage(a, 2), PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pe, &OID1, 4, 2, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(gpage(a, 0), gpage(a, 2), PAGE);
	shutdown();
}

static void test_shrinker_and_node(void **state)
{
	(void)state;
	boot_mb(64, 0);
	uint64_t f = host_frame();
	/* a host pool filled from CPU 2 (node 1) lands on node 1 */
	struct numem_cpu *cpu2 = numem_heap_cpu(&sys.heap, 2);
	assert_int_equal(cpu2->mem_node, 1);
	uint32_t pool;
	assert_int_equal(numem_tmem_new_pool(tm, cpu2, HOST, 0, NULL, &pool, &d), NUMEM_TMEM_HIT);
	uint32_t stored = 0;
	for (uint32_t i = 0; i < 8192; i++) {
		fill(virt(f), i);
		int r = numem_tmem_put(tm, cpu2, HOST, pool, &OID1, i, f, &d);
		assert_true(r == NUMEM_TMEM_HIT || r == NUMEM_TMEM_MISS);
		stored += r == NUMEM_TMEM_HIT;
	}
	struct numem_tmem_info info;
	numem_tmem_info(tm, &info);
	assert_true(info.pages_on_node[1] > info.pages_on_node[0]);
	/* the heap running short on node 1 calls tmem's shrinker: allocate
	 * node 1 until it has to reclaim */
	struct numem_policy pol;
	numem_policy_init(&pol, NUMEM_POLICY_BIND);
	numem_nodemask_set(&pol.nodes, 1);
	uint64_t *held = calloc(1 << 15, sizeof(*held));
	size_t n = 0;
	numem_pfn_t p;
	while (n < (1u << 15) && numem_alloc(cpu2, 0, 0, &pol, &p, 0) == NUMEM_OK)
		held[n++] = p.v;
	numem_tmem_info(tm, &info);
	assert_true(info.shrinker_calls > 0);
	assert_true(info.stats.evictions > 0);
	assert_true(info.max_evict_batch <= 4096);
	for (size_t i = 0; i < n; i++)
		numem_free(cpu2, numem_pfn(held[i]), 0, 0);
	free(held);
	/* the survivors still read right */
	uint64_t g = host_frame();
	for (uint32_t i = 0; i < 8192; i += 97) {
		int r = numem_tmem_get(tm, cpu2, HOST, pool, &OID1, i, g, &d);
		if (r == NUMEM_TMEM_HIT) {
			fill(virt(f), i);
			assert_memory_equal(virt(f), virt(g), PAGE);
		}
	}
	/* an explicit shrink of everything */
	numem_tmem_shrink(tm, cpu0, NUMEM_NID_NONE, ~0ull >> 1);
	numem_tmem_info(tm, &info);
	assert_true(info.stats.pages_ephemeral <= 8192);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	(void)stored;
	shutdown();
}

static void test_max_pages_weighted(void **state)
{
	(void)state;
	boot_mb(256, 100);
	struct numem_domain *a = guest("a", 4), *b = guest("b", 4);
	uint32_t pa = new_pool(a->id, 0), pb = new_pool(b->id, 0);
	numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_WEIGHT, a->id, 300, NULL, &d);
	numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_WEIGHT, b->id, 100, NULL, &d);
	for (uint32_t i = 0; i < 400; i++) {
		fill(gpage(a, 0), i);
		fill(gpage(b, 0), i + 1000);
		assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pa, &OID1, i, 0, &d),
		                 NUMEM_TMEM_HIT);
		assert_int_equal(numem_tmem_put(tm, cpu0, b->id, pb, &OID1, i, 0, &d),
		                 NUMEM_TMEM_HIT);
	}
	struct numem_tmem_stats sa = client_stats(a->id), sb = client_stats(b->id);
	assert_int_equal(sa.pages + sb.pages, 100);
	/* shares 3:1 within a page or two */
	assert_true(sa.pages >= 73 && sa.pages <= 77);
	shutdown();
}

/* Relayout moved every frame to node 0: tmem re-accounts its pages. */
static void test_relayout_reaccount(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame();
	struct numem_cpu *cpu2 = numem_heap_cpu(&sys.heap, 2);
	uint32_t pe, pp;
	assert_int_equal(numem_tmem_new_pool(tm, cpu2, HOST, 0, NULL, &pe, &d), NUMEM_TMEM_HIT);
	assert_int_equal(
	    numem_tmem_new_pool(tm, cpu2, HOST, NUMEM_TMEM_POOL_PERSISTENT, NULL, &pp, &d),
	    NUMEM_TMEM_HIT);
	numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, HOST, NUMEM_TMEM_CODEC_LZ4, NULL, &d);
	for (uint32_t i = 0; i < 100; i++) {
		if (i % 2)
			fill(virt(f), i);
		else
			fill_text(virt(f), i);
		assert_int_equal(numem_tmem_put(tm, cpu2, HOST, pe, &OID1, i, f, &d),
		                 NUMEM_TMEM_HIT);
		assert_int_equal(numem_tmem_put(tm, cpu2, HOST, pp, &OID1, i, f, &d),
		                 NUMEM_TMEM_HIT);
	}
	struct numem_tmem_info before, after;
	numem_tmem_info(tm, &before);
	assert_true(before.pages_on_node[1] > 0);
	/* a range that covers nothing moves nothing; the node must exist */
	numem_tmem_relayout_reaccount(tm, numem_pfn(0), 1, 0);
	numem_tmem_relayout_reaccount(tm, numem_pfn(0), ~0ull, 7);
	numem_tmem_info(tm, &after);
	assert_memory_equal(before.pages_on_node, after.pages_on_node,
	                    sizeof(before.pages_on_node));
	numem_tmem_relayout_reaccount(tm, numem_pfn(0), ~0ull, 0);
	numem_tmem_info(tm, &after);
	assert_int_equal(after.pages_on_node[1], 0);
	assert_int_equal(after.pages_on_node[0], before.pages_on_node[0] + before.pages_on_node[1]);
	struct numem_tmem_client_info ci[4];
	numem_tmem_list_clients(tm, ci, 4);
	assert_int_equal(ci[0].pages_on_node[1], 0);
	verify(); /* every ephemeral page is on its new node's LRU */
	/* eviction on node 0 now finds them */
	assert_true(numem_tmem_shrink(tm, cpu0, 0, 10) > 0);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	shutdown();
}

/* Commit "all RAM to `node`" (a new node is declared by push). */
static void push_all(numem_nid_t node)
{
	struct numem_memlayout l;
	numem_memlayout_init(&l, plat);
	if (numem_memlayout_push(&l, &sys.heap, 0, UINT64_MAX, node, &d) ||
	    numem_relayout_commit(&sys.heap, &l, NULL, &d))
		fail_msg("relayout to node %u: %s", node, d.msg);
	numem_memlayout_release(&l);
}

/* tmem's per-node figures add up and match the clients' (the listing). */
static void check_pages_on_node(const struct numem_tmem_info *in, numem_nid_t only)
{
	uint64_t sum = 0;
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++) {
		sum += in->pages_on_node[n];
		if (n != only)
			assert_int_equal(in->pages_on_node[n], 0);
	}
	assert_int_equal(sum, in->heap_pages);
	struct numem_tmem_client_info ci[4];
	uint32_t nc = numem_tmem_list_clients(tm, ci, 4);
	for (uint32_t c = 0; c < nc && c < 4; c++)
		for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
			if (n != only)
				assert_int_equal(ci[c].pages_on_node[n], 0);
}

/* A real commit through the relayout notifier tmem subscribes at create:
 * node 1's pages pushed to node 0, then everything to a new node 2.  The
 * per-node statistics follow each commit, every page stays readable, the
 * verifiers pass, pages taken after a commit count on the layout's node,
 * eviction by node finds them, and release gives everything back (the
 * subscription goes with it: shutdown checks the heap). */
static void test_relayout_commit_reaccounts(void **state)
{
	(void)state;
	boot_nodes(256, 0, 3);
	uint64_t f = host_frame(), g = host_frame();
	struct numem_cpu *cpu2 = numem_heap_cpu(&sys.heap, 2);
	uint32_t pe, pp;
	assert_int_equal(numem_tmem_new_pool(tm, cpu2, HOST, 0, NULL, &pe, &d), NUMEM_TMEM_HIT);
	assert_int_equal(
	    numem_tmem_new_pool(tm, cpu2, HOST, NUMEM_TMEM_POOL_PERSISTENT, NULL, &pp, &d),
	    NUMEM_TMEM_HIT);
	numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, HOST, NUMEM_TMEM_CODEC_LZ4, NULL, &d);
	const uint32_t N = 100;
	for (uint32_t i = 0; i < N; i++) {
		(i % 2 ? fill : fill_text)(virt(f), i); /* raw and compressed (chunk) pages */
		assert_int_equal(numem_tmem_put(tm, cpu2, HOST, pe, &OID1, i, f, &d),
		                 NUMEM_TMEM_HIT);
		assert_int_equal(numem_tmem_put(tm, cpu2, HOST, pp, &OID1, i, f, &d),
		                 NUMEM_TMEM_HIT);
	}
	struct numem_tmem_info before, after;
	numem_tmem_info(tm, &before);
	assert_true(before.pages_on_node[1] > 0); /* cpu2 is on node 1 */
	/* Commit 1: everything to node 0. */
	push_all(0);
	numem_tmem_info(tm, &after);
	assert_int_equal(after.heap_pages, before.heap_pages);
	assert_int_equal(after.stats.pages, before.stats.pages);
	assert_int_equal(after.pages_on_node[0], before.pages_on_node[0] + before.pages_on_node[1]);
	check_pages_on_node(&after, 0);
	verify();
	/* Nothing lost: every persistent page reads back byte for byte. */
	for (uint32_t i = 0; i < N; i++) {
		(i % 2 ? fill : fill_text)(virt(f), i);
		assert_int_equal(numem_tmem_get(tm, cpu2, HOST, pp, &OID1, i, g, &d),
		                 NUMEM_TMEM_HIT);
		assert_memory_equal(virt(f), virt(g), PAGE);
	}
	/* Commit 2: everything to a new node 2; a put after it counts there
	 * although the heap's head of a pending page still names node 0. */
	push_all(2);
	for (uint32_t i = N; i < N + 20; i++) {
		fill(virt(f), i);
		int r = numem_tmem_put(tm, cpu0, HOST, pp, &OID2, i, f, &d);
		if (r != NUMEM_TMEM_HIT)
			fail_msg("put %u after the second commit: %d %s", i, r, d.msg);
	}
	numem_tmem_info(tm, &after);
	assert_int_equal(after.stats.pages, before.stats.pages + 20);
	check_pages_on_node(&after, 2);
	verify();
	/* Pressure on node 2 evicts the ephemeral pages; persistent ones stay. */
	assert_true(numem_tmem_shrink(tm, cpu0, 2, 1000) > 0);
	numem_tmem_info(tm, &after);
	assert_int_equal(after.stats.pages_ephemeral, 0);
	assert_int_equal(after.stats.pages_persistent, N + 20);
	check_pages_on_node(&after, 2);
	for (uint32_t i = 0; i < N; i += 7) {
		(i % 2 ? fill : fill_text)(virt(f), i);
		assert_int_equal(numem_tmem_get(tm, cpu0, HOST, pp, &OID1, i, g, &d),
		                 NUMEM_TMEM_HIT);
		assert_memory_equal(virt(f), virt(g), PAGE);
	}
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

/* A CPU's spare across a relayout commit: its recorded node is the one
 * the page had when it became the spare; after a commit moved its range,
 * a put asking for the page's new node takes it (no heap page; the old
 * code compared the recorded node and left the spare stuck). */
static void test_spare_after_relayout(void **state)
{
	(void)state;
	boot_nodes(256, 0, 3);
	uint64_t f = host_frame();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	make_spare(cpu0, pool, f, 71); /* CPU 0's spare, on node 0 */
	/* every range to a new node 2: the spare's page is node 2's now */
	push_all(2);
	numem_pfn_t q; /* CPU 0 at a quiescent point: it takes the new layout */
	assert_int_equal(numem_alloc(cpu0, 0, NUMEM_ALLOC_NOPCP, NULL, &q, &d), NUMEM_OK);
	assert_int_equal(numem_free(cpu0, q, 0, &d), NUMEM_OK);
	assert_int_equal(cpu0->mem_node, 2);
	uint64_t before = heap_allocated() + numem_heap_node_allocated(&sys.heap, 2);
	fill(virt(f), 72);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 1, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(heap_allocated() + numem_heap_node_allocated(&sys.heap, 2), before);
	struct numem_tmem_info info;
	numem_tmem_info(tm, &info);
	assert_int_equal(info.pages_on_node[2], 1);
	verify();
	numem_free(cpu0, numem_pfn(f), 0, &d);
	shutdown();
}

/* ---- lifecycle ---- */

static void test_domain_destroy(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 16);
	uint16_t id = a->id;
	uint32_t pe = new_pool(id, 0), pp = new_pool(id, NUMEM_TMEM_POOL_PERSISTENT);
	for (uint32_t i = 0; i < 50; i++) {
		fill(gpage(a, 0), i);
		assert_int_equal(numem_tmem_put(tm, cpu0, id, pe, &OID1, i, 0, &d), NUMEM_TMEM_HIT);
		assert_int_equal(numem_tmem_put(tm, cpu0, id, pp, &OID2, i, 0, &d), NUMEM_TMEM_HIT);
	}
	struct numem_tmem_info info;
	numem_tmem_info(tm, &info);
	assert_int_equal(info.heap_pages, 100);
	assert_int_equal(numem_domain_destroy(doms, cpu0, id, &d), NUMEM_OK);
	numem_tmem_info(tm, &info);
	assert_int_equal(info.heap_pages, 0);
	assert_int_equal(info.nr_clients, 1); /* the host */
	struct numem_tmem_pool_info pi[16];
	assert_int_equal(numem_tmem_list_pools(tm, id, pi, 16), NUMEM_TMEM_ENOCLIENT);
	/* the totals keep the destroyed client's op counts */
	assert_true(info.stats.puts >= 100);
	shutdown();
}

/* Client's save stream (malloc'd), its length in *len. */
static uint8_t *save_client(uint32_t client, size_t *len)
{
	assert_int_equal(numem_tmem_save(tm, cpu0, client, NULL, 0, len, &d), NUMEM_TMEM_HIT);
	uint8_t *buf = malloc(*len);
	assert_int_equal(numem_tmem_save(tm, cpu0, client, buf, *len, len, &d), NUMEM_TMEM_HIT);
	return buf;
}

static void test_save_restore(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 8), *b = guest("b", 8);
	numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, a->id, NUMEM_TMEM_CODEC_LZ4, NULL, &d);
	uint32_t p0 = new_pool(a->id, NUMEM_TMEM_POOL_PERSISTENT);
	uint32_t pe = new_pool(a->id, 0);
	uint32_t p2 = new_pool(a->id, NUMEM_TMEM_POOL_PERSISTENT);
	const uint32_t n = 300;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *g = gpage(a, 0);
		if (i % 3 == 0)
			fill(g, i);
		else if (i % 3 == 1)
			fill_text(g, i);
		else
			memset(g, 0, PAGE);
		struct numem_tmem_oid o = {{i % 7, i, 0xabc}};
		assert_int_equal(
		    numem_tmem_put(tm, cpu0, a->id, i % 2 ? p2 : p0, &o, i * 31, 0, &d),
		    NUMEM_TMEM_HIT);
		assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pe, &o, i, 0, &d), NUMEM_TMEM_HIT);
	}
	numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_FREEZE, a->id, 0, NULL, &d);
	size_t len = 0;
	assert_int_equal(numem_tmem_save(tm, cpu0, a->id, NULL, 0, &len, &d), NUMEM_TMEM_HIT);
	assert_int_equal(len, 32 + 2 * 16 + n * (32 + PAGE));
	uint8_t *buf = malloc(len);
	size_t got;
	assert_int_equal(numem_tmem_save(tm, cpu0, a->id, buf, len - 1, &got, &d),
	                 NUMEM_TMEM_ENOSPACE);
	assert_int_equal(numem_tmem_save(tm, cpu0, a->id, buf, len, &got, &d), NUMEM_TMEM_HIT);
	/* corrupt streams are refused whole, nothing created */
	buf[0] ^= 1;
	assert_int_equal(numem_tmem_restore(tm, cpu0, b->id, buf, len, &d), NUMEM_TMEM_ECORRUPT);
	buf[0] ^= 1;
	assert_int_equal(numem_tmem_restore(tm, cpu0, b->id, buf, len - 1, &d),
	                 NUMEM_TMEM_ECORRUPT);
	buf[32 + 4] ^= 2; /* pool flags: shared */
	assert_int_equal(numem_tmem_restore(tm, cpu0, b->id, buf, len, &d), NUMEM_TMEM_ECORRUPT);
	buf[32 + 4] ^= 2;
	struct numem_tmem_pool_info pi[16];
	assert_int_equal(numem_tmem_list_pools(tm, b->id, pi, 16), NUMEM_TMEM_ENOCLIENT);
	/* restore into b under another codec: every page byte-identical */
	numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, b->id, NUMEM_TMEM_CODEC_ZSTD, NULL, &d);
	assert_int_equal(numem_tmem_restore(tm, cpu0, b->id, buf, len, &d), NUMEM_TMEM_HIT);
	/* again: the pools exist */
	assert_int_equal(numem_tmem_restore(tm, cpu0, b->id, buf, len, &d), NUMEM_TMEM_EBUSY);
	assert_int_equal(numem_domain_destroy(doms, cpu0, a->id, &d), NUMEM_OK);
	uint8_t want[PAGE];
	for (uint32_t i = 0; i < n; i++) {
		if (i % 3 == 0)
			fill(want, i);
		else if (i % 3 == 1)
			fill_text(want, i);
		else
			memset(want, 0, PAGE);
		struct numem_tmem_oid o = {{i % 7, i, 0xabc}};
		memset(gpage(b, 1), 0xcc, PAGE);
		assert_int_equal(
		    numem_tmem_get(tm, cpu0, b->id, i % 2 ? p2 : p0, &o, i * 31, 1, &d),
		    NUMEM_TMEM_HIT);
		assert_memory_equal(gpage(b, 1), want, PAGE);
	}
	/* the ephemeral pool was not carried */
	assert_int_equal(numem_tmem_list_pools(tm, b->id, pi, 16), 2);
	free(buf);
	shutdown();
}

/* Restore honours the target client's cap (docs/TMEM.md rule 7): a stream
 * with more persistent pages than the cap leaves room for is refused with
 * EQUOTA before any pool is made; the client's own ephemeral pages make
 * way as for a put; at the cap exactly it fits. */
static void test_restore_respects_cap(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 8), *b = guest("b", 8);
	uint32_t pa = new_pool(a->id, NUMEM_TMEM_POOL_PERSISTENT);
	for (uint32_t i = 0; i < 6; i++) {
		fill(gpage(a, 0), 700 + i);
		assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pa, &OID1, i, 0, &d),
		                 NUMEM_TMEM_HIT);
	}
	size_t len;
	uint8_t *buf = save_client(a->id, &len);
	/* b: cap 5, one persistent page held in pool 0 (so the stream's pool 0
	 * would clash: b's pools take slots 0 and 1, the stream slot 2) */
	buf[32] = 2; /* the stream's pool id 0 -> 2 */
	uint32_t pb = new_pool(b->id, NUMEM_TMEM_POOL_PERSISTENT);
	assert_int_equal(pb, 0);
	fill(gpage(b, 0), 900);
	assert_int_equal(numem_tmem_put(tm, cpu0, b->id, pb, &OID2, 0, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_CAP, b->id, 6, NULL, &d),
	                 NUMEM_TMEM_HIT);
	/* 1 + 6 > 6: refused whole */
	assert_int_equal(numem_tmem_restore(tm, cpu0, b->id, buf, len, &d), NUMEM_TMEM_EQUOTA);
	struct numem_tmem_pool_info pi[16];
	assert_int_equal(numem_tmem_list_pools(tm, b->id, pi, 16), 1);
	assert_int_equal(client_stats(b->id).pages, 1);
	/* max-1 (cap 6 with one held) refused, max (cap 7) fits, with an
	 * ephemeral page of b's making way */
	uint32_t pe = new_pool(b->id, 0);
	assert_int_equal(numem_tmem_put(tm, cpu0, b->id, pe, &OID2, 1, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_CAP, b->id, 7, NULL, &d),
	                 NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_restore(tm, cpu0, b->id, buf, len, &d), NUMEM_TMEM_HIT);
	struct numem_tmem_stats s = client_stats(b->id);
	assert_int_equal(s.pages, 7);
	assert_int_equal(s.pages_persistent, 7);
	assert_int_equal(s.pages_ephemeral, 0);
	uint8_t want[PAGE];
	for (uint32_t i = 0; i < 6; i++) {
		fill(want, 700 + i);
		assert_int_equal(numem_tmem_get(tm, cpu0, b->id, 2, &OID1, i, 1, &d),
		                 NUMEM_TMEM_HIT);
		assert_memory_equal(gpage(b, 1), want, PAGE);
	}
	free(buf);
	shutdown();
}

/* Issue 11: a restore that fails partway undoes only the pools it made.
 * Here it fails on its second pool (a key named twice) with a persistent
 * pool of the same client in another slot: that pool and its page stay,
 * the restored ones go. */
static void test_restore_undo_keeps_other_pools(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 8), *b = guest("b", 8);
	assert_int_equal(new_pool(a->id, 0), 0); /* not saved: the stream names 1, 2 */
	uint32_t p1 = new_pool(a->id, NUMEM_TMEM_POOL_PERSISTENT);
	uint32_t p2 = new_pool(a->id, NUMEM_TMEM_POOL_PERSISTENT);
	for (uint32_t i = 0; i < 3; i++) {
		fill(gpage(a, 0), 500 + i);
		assert_int_equal(numem_tmem_put(tm, cpu0, a->id, p1, &OID1, i, 0, &d),
		                 NUMEM_TMEM_HIT);
		assert_int_equal(numem_tmem_put(tm, cpu0, a->id, p2, &OID1, i, 0, &d),
		                 NUMEM_TMEM_HIT);
	}
	size_t len;
	uint8_t *buf = save_client(a->id, &len);
	/* the last record names the key of the one before it */
	const size_t rec = 32 + PAGE;
	memcpy(buf + len - rec, buf + len - 2 * rec, 32);
	uint32_t pb = new_pool(b->id, NUMEM_TMEM_POOL_PERSISTENT);
	assert_int_equal(pb, 0);
	fill(gpage(b, 0), 900);
	assert_int_equal(numem_tmem_put(tm, cpu0, b->id, pb, &OID2, 9, 0, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_restore(tm, cpu0, b->id, buf, len, &d), NUMEM_TMEM_ECORRUPT);
	struct numem_tmem_pool_info pi[16];
	assert_int_equal(numem_tmem_list_pools(tm, b->id, pi, 16), 1);
	assert_int_equal(pi[0].pool_id, pb);
	assert_int_equal(client_stats(b->id).pages, 1);
	uint8_t want[PAGE];
	fill(want, 900);
	memset(gpage(b, 1), 0, PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, b->id, pb, &OID2, 9, 1, &d), NUMEM_TMEM_HIT);
	assert_memory_equal(gpage(b, 1), want, PAGE);
	free(buf);
	shutdown();
}

/* Issue 11, the race: the guest creates a pool in a slot the stream names
 * after the restore checked the slots and before it makes that pool.  The
 * restore fails (EBUSY) and must not destroy the guest's pool.  A thread
 * on another CPU creates the pool as soon as the restore has made its first
 * one (the stream's first pool holds many pages, its second one: the
 * window); an attempt where the restore made both first (the guest's pool
 * then lands in a third slot) is retried, up to 200 times, then the test
 * is skipped (on the old code it fails on the first attempt that meets). */
struct pool_racer {
	struct numem_domain *dom;
	struct numem_cpu *cpu;
	uint32_t pool;
	int made, put;
};

static void *race_new_pool(void *arg)
{
	struct pool_racer *r = arg;
	struct numem_tmem_pool_info pi[16];
	struct numem_diag rd;
	while (numem_tmem_list_pools(tm, r->dom->id, pi, 16) < 1)
		;
	r->made = numem_tmem_new_pool(tm, r->cpu, r->dom->id, NUMEM_TMEM_POOL_PERSISTENT, NULL,
	                              &r->pool, &rd);
	fill(gpage(r->dom, 3), 4242);
	if (r->made >= 0)
		r->put = numem_tmem_put(tm, r->cpu, r->dom->id, r->pool, &OID2, 7, 3, &rd);
	return NULL;
}

static void test_restore_undo_spares_racing_pool(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 8), *b = guest("b", 8);
	uint32_t p0 = new_pool(a->id, NUMEM_TMEM_POOL_PERSISTENT);
	uint32_t p1 = new_pool(a->id, NUMEM_TMEM_POOL_PERSISTENT);
	for (uint32_t i = 0; i < 400; i++) {
		fill(gpage(a, 0), i);
		assert_int_equal(numem_tmem_put(tm, cpu0, a->id, p0, &OID1, i, 0, &d),
		                 NUMEM_TMEM_HIT);
	}
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, p1, &OID1, 0, 0, &d), NUMEM_TMEM_HIT);
	size_t len;
	uint8_t *buf = save_client(a->id, &len);
	int raced = 0;
	for (int attempt = 0; attempt < 200 && !raced; attempt++) {
		struct pool_racer r = {.dom = b, .cpu = numem_heap_cpu(&sys.heap, 2)};
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, race_new_pool, &r), 0);
		int s = numem_tmem_restore(tm, cpu0, b->id, buf, len, &d);
		pthread_join(t, NULL);
		assert_int_equal(r.made, NUMEM_TMEM_HIT);
		assert_int_equal(r.put, NUMEM_TMEM_HIT);
		if (s == NUMEM_TMEM_HIT) { /* no race this time: start again */
			for (uint32_t i = 0; i < NUMEM_TMEM_MAX_POOLS; i++)
				numem_tmem_destroy_pool(tm, cpu0, b->id, i, 0);
			continue;
		}
		raced = 1;
		assert_int_equal(s, NUMEM_TMEM_EBUSY);
		assert_int_equal(r.pool, p1); /* the slot the stream names */
		struct numem_tmem_pool_info pi[16];
		assert_int_equal(numem_tmem_list_pools(tm, b->id, pi, 16), 1);
		assert_int_equal(pi[0].pool_id, r.pool);
		uint8_t want[PAGE];
		fill(want, 4242);
		memset(gpage(b, 1), 0, PAGE);
		assert_int_equal(numem_tmem_get(tm, cpu0, b->id, r.pool, &OID2, 7, 1, &d),
		                 NUMEM_TMEM_HIT);
		assert_memory_equal(gpage(b, 1), want, PAGE);
	}
	if (getenv("NUMEM_TEST_VERBOSE"))
		print_message("restore race: %s\n", raced ? "met" : "never met");
	free(buf);
	shutdown();
	if (!raced) /* the other thread never ran in the window (a loaded machine) */
		skip();
}

/* Frames at the edges: the host's pfns 0, max_pfn-1, max_pfn, ~0, a free
 * page and a page tmem holds; a guest's gfn max_pages-1 (unpopulated),
 * max_pages and ~0.  All refused with EFRAME, nothing stored. */
static void test_frames_at_edges(void **state)
{
	(void)state;
	boot();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	uint64_t max = numem_heap_topo(&sys.heap)->max_pfn;
	uint64_t freed = host_frame();
	numem_free(cpu0, numem_pfn(freed), 0, &d);
	numem_heap_drain_all(&sys.heap);
	const uint64_t bad[] = {max - 1, max, max + 1, ~0ull, ~0ull >> 12, freed};
	for (size_t i = 0; i < NUMEM_ARRAY_SIZE(bad); i++) {
		assert_int_equal(
		    numem_tmem_put(tm, cpu0, HOST, pool, &OID1, (uint32_t)i, bad[i], &d),
		    NUMEM_TMEM_EFRAME);
		assert_int_equal(
		    numem_tmem_get(tm, cpu0, HOST, pool, &OID1, (uint32_t)i, bad[i], &d),
		    NUMEM_TMEM_EFRAME);
	}
	/* a page tmem holds is not the host's */
	uint64_t f = host_frame();
	fill(virt(f), 4);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 100, f, &d), NUMEM_TMEM_HIT);
	struct numem_domain *a = guest("a", 4);
	uint32_t gp = new_pool(a->id, 0);
	const uint64_t gbad[] = {4, 5, ~0ull, f};
	for (size_t i = 0; i < NUMEM_ARRAY_SIZE(gbad); i++)
		assert_int_equal(numem_tmem_put(tm, cpu0, a->id, gp, &OID1, 0, gbad[i], &d),
		                 NUMEM_TMEM_EFRAME);
	assert_int_equal(client_stats(HOST).pages, 1);
	assert_int_equal(client_stats(a->id).pages, 0);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	shutdown();
}

/* ---- the op struct ---- */

static void test_op_checks(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame();
	uint32_t pool = new_pool(HOST, 0);
	struct numem_tmem_op ok = {.cmd = NUMEM_TMEM_PUT_PAGE, .pool_id = pool, .gfn = f};
	struct numem_tmem_op op = ok;
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_HIT);
	op = ok;
	op.cmd = 0;
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_ENOSYS);
	op = ok;
	op.cmd = 99;
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_ENOSYS);
	op = ok;
	op.reserved = 1;
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	assert_non_null(strstr(d.msg, "reserved"));
	op = ok;
	op.pad = 1;
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	op = ok;
	op.pool_id = NUMEM_TMEM_MAX_POOLS;
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	op.pool_id = NUMEM_TMEM_MAX_POOLS - 1;
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EEMPTY);
	op = ok;
	op.flags = 1;
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	op = ok;
	op.uuid[1] = 1;
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	op = ok;
	op.arg = 1;
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	op = (struct numem_tmem_op){.cmd = NUMEM_TMEM_FLUSH_PAGE, .pool_id = pool, .gfn = 1};
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	op = ok;
	assert_int_equal(numem_tmem_op(tm, cpu0, NUMEM_TMEM_MAX_CLIENTS, &op, &d),
	                 NUMEM_TMEM_ENOCLIENT);
	op = (struct numem_tmem_op){.cmd = NUMEM_TMEM_NEW_POOL, .flags = 1u << 16};
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	op = (struct numem_tmem_op){.cmd = NUMEM_TMEM_NEW_POOL, .flags = 1u << 8};
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	op = (struct numem_tmem_op){.cmd = NUMEM_TMEM_NEW_POOL, .uuid = {1, 0}};
	assert_int_equal(numem_tmem_op(tm, cpu0, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	assert_int_equal(numem_tmem_op(tm, NULL, HOST, &op, &d), NUMEM_TMEM_EINVAL);
	assert_string_equal(numem_tmem_status_name(NUMEM_TMEM_EFROZEN), "efrozen");
	assert_string_equal(numem_tmem_status_name(NUMEM_TMEM_EEMPTY), "eempty");
	assert_string_equal(numem_tmem_status_name(-100), "unknown");
	numem_free(cpu0, numem_pfn(f), 0, &d);
	shutdown();
}

/* ---- the model check ---- */

#define M_CLIENTS 4
#define M_POOLS   3
#define M_OIDS    8
#define M_INDEX   32
/* Reference: the content seed at each key, 0 for none. */
static uint32_t ref[M_CLIENTS][M_POOLS][M_OIDS][M_INDEX];

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Key slot -> page index: half dense (0..15), half spread over every
 * level of the radix tree (up to 2^32 - 1), so trees grow, shrink and give
 * their nodes back at every height. */
static uint32_t model_index(int x)
{
	return x < 16 ? (uint32_t)x : (uint32_t)((x - 15) * 0x11111111u);
}

static void content(uint8_t *p, uint32_t seed)
{
	if (seed % 16 == 0)
		memset(p, 0, PAGE);
	else if (seed % 3 == 0)
		fill_text(p, seed);
	else
		fill(p, seed);
}

static uint64_t model_env(const char *name, uint64_t dflt)
{
	const char *env = getenv(name);
	return env ? strtoull(env, NULL, 10) : dflt;
}

static void test_model(void **state)
{
	(void)state;
	/* knobs for a hostile review's seed loops (defaults: the CI run) */
	uint64_t mb = model_env("NUMEM_TMEM_MB", 64), seed = model_env("NUMEM_TMEM_SEED", 0);
	uint64_t every = model_env("NUMEM_TMEM_VERIFY", 100000);
	uint64_t oids = model_env("NUMEM_TMEM_OIDS", M_OIDS);
	uint64_t any_cpu = model_env("NUMEM_TMEM_ANYCPU", 0);
	uint64_t cap = model_env("NUMEM_TMEM_CAP", 0);
	uint64_t saves = model_env("NUMEM_TMEM_SAVES", 0); /* 1 in this many of kind 98 */
	if (!oids || oids > M_OIDS)
		oids = M_OIDS;
	if (!every)
		every = 100000;
	rng_state = 88172645463325252ull ^ seed * 0x9e3779b97f4a7c15ull;
	boot_mb((unsigned)mb, model_env("NUMEM_TMEM_MAXPAGES", 0));
	uint64_t ops = model_env("NUMEM_TMEM_OPS", 1000000);
	/* a persistent put may be refused (cap, memory, max_pages) */
	bool tight = cap || mb < 64 || model_env("NUMEM_TMEM_MAXPAGES", 0);
	struct numem_domain *dom[M_CLIENTS];
	uint32_t cid[M_CLIENTS];
	/* pools per client: 0 private ephemeral, 1 persistent, 2 shared
	 * ephemeral (one uuid for all; dedup) */
	struct numem_tmem_uuid u = {42, 42};
	uint32_t pid[M_CLIENTS][M_POOLS];
	for (int c = 0; c < M_CLIENTS; c++) {
		char name[8];
		snprintf(name, sizeof(name), "g%d", c);
		dom[c] = guest(name, 4);
		cid[c] = dom[c]->id;
		numem_tmem_authorise(tm, cpu0, cid[c], &u, true, &d);
		numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, cid[c], (uint64_t)c % 3, NULL,
		               &d);
	}
	memset(ref, 0, sizeof(ref));
	const uint32_t flags[M_POOLS] = {0, NUMEM_TMEM_POOL_PERSISTENT,
	                                 NUMEM_TMEM_POOL_SHARED | NUMEM_TMEM_POOL_DEDUP};
	for (int c = 0; c < M_CLIENTS; c++)
		for (int p = 0; p < M_POOLS; p++)
			assert_int_equal(numem_tmem_new_pool(tm, cpu0, cid[c], flags[p],
			                                     p == 2 ? &u : NULL, &pid[c][p], &d),
			                 NUMEM_TMEM_HIT);
	uint8_t want[PAGE];
	uint64_t wrong = 0, lost = 0, hits = 0, seeds = 1, puts = 0, radix = 0;
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t r = rnd();
		int c = (int)(r % M_CLIENTS), p = (int)((r >> 8) % M_POOLS);
		int o = (int)((r >> 16) % oids), x = (int)((r >> 24) % M_INDEX);
		/* (the CPU of this op: cpu 0 unless asked) */
		cpu0 =
		    numem_heap_cpu(&sys.heap, any_cpu ? (uint32_t)(r >> 60) % sys.heap.nr_cpus : 0);
		int kind = (int)((r >> 40) % 100);
		struct numem_tmem_oid oid = {{(uint64_t)o, 0, 0}};
		/* the shared pool: one reference for everybody, under client 0 */
		int rc = p == 2 ? 0 : c;
		uint32_t *slot = &ref[rc][p][o][x];
		if (kind < 45) { /* put */
			uint32_t cs = (uint32_t)++seeds;
			content(gpage(dom[c], 0), cs);
			int s = numem_tmem_put(tm, cpu0, cid[c], pid[c][p], &oid, model_index(x), 0,
			                       &d);
			puts++;
			radix += s == NUMEM_TMEM_EQUOTA && strstr(d.msg, "radix nodes");
			if (s == NUMEM_TMEM_HIT)
				*slot = cs;
			else if (p == 1 &&
			         !(tight && (s == NUMEM_TMEM_EQUOTA || s == NUMEM_TMEM_ENOMEM)) &&
			         /* the spread indexes reach the radix bound */
			         !(s == NUMEM_TMEM_EQUOTA && strstr(d.msg, "radix nodes")))
				fail_msg("persistent put failed: %d %s", s, d.msg);
			else
				*slot = 0;
		} else if (kind < 85) { /* get */
			memset(gpage(dom[c], 1), 0xa5, PAGE);
			int s = numem_tmem_get(tm, cpu0, cid[c], pid[c][p], &oid, model_index(x), 1,
			                       &d);
			if (s == NUMEM_TMEM_HIT) {
				hits++;
				content(want, *slot);
				if (!*slot || memcmp(want, gpage(dom[c], 1), PAGE))
					wrong++;
				if (p == 0)
					*slot = 0;
			} else {
				assert_int_equal(s, NUMEM_TMEM_MISS);
				if (p == 1 && *slot)
					lost++;
				if (p != 1)
					*slot = 0; /* evicted */
			}
		} else if (kind < 92) { /* flush page */
			numem_tmem_flush_page(tm, cpu0, cid[c], pid[c][p], &oid, model_index(x),
			                      &d);
			*slot = 0;
		} else if (kind < 93) { /* flush object */
			numem_tmem_flush_object(tm, cpu0, cid[c], pid[c][p], &oid, NULL, &d);
			memset(ref[rc][p][o], 0, sizeof(ref[rc][p][o]));
		} else if (kind < 94) { /* memory pressure */
			numem_tmem_shrink(tm, cpu0, (numem_nid_t)((r >> 50) % 2),
			                  1 + (r >> 52) % 8);
			/* ephemeral references may now be stale: a later hit is
			 * still checked against the last put */
		} else if (kind < 99 && p != 2 && (r >> 56) % 128 == 0) {
			/* destroy a pool and make it again */
			assert_int_equal(numem_tmem_destroy_pool(tm, cpu0, cid[c], pid[c][p], &d),
			                 NUMEM_TMEM_HIT);
			memset(ref[c][p], 0, sizeof(ref[c][p]));
			assert_int_equal(
			    numem_tmem_new_pool(tm, cpu0, cid[c], flags[p], NULL, &pid[c][p], &d),
			    NUMEM_TMEM_HIT);
		} else if (kind == 98 && saves && (r >> 56) % saves == 0 && c != 0) {
			/* migrate: save its persistent pages, destroy it, restore
			 * them (both record shapes), make its other pools again */
			size_t len = 0;
			assert_int_equal(numem_tmem_save(tm, cpu0, cid[c], NULL, 0, &len, &d),
			                 NUMEM_TMEM_HIT);
			uint8_t *buf = malloc(len);
			assert_non_null(buf);
			assert_int_equal(numem_tmem_save(tm, cpu0, cid[c], buf, len, &len, &d),
			                 NUMEM_TMEM_HIT);
			assert_int_equal(numem_tmem_client_destroy(tm, cpu0, cid[c], &d),
			                 NUMEM_TMEM_HIT);
			int s = numem_tmem_restore(tm, cpu0, cid[c], buf, len, &d);
			if (s != NUMEM_TMEM_HIT)
				fail_msg("restore: %d %s", s, d.msg);
			free(buf);
			memset(ref[c][0], 0, sizeof(ref[c][0]));
			numem_tmem_authorise(tm, cpu0, cid[c], &u, true, &d);
			numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, cid[c], (uint64_t)c % 3,
			               NULL, &d);
			for (int q = 0; q < M_POOLS; q += 2)
				assert_int_equal(numem_tmem_new_pool(tm, cpu0, cid[c], flags[q],
				                                     q == 2 ? &u : NULL, &pid[c][q],
				                                     &d),
				                 NUMEM_TMEM_HIT);
		} else if (kind == 99 && (r >> 56) % 64 == 0 && c != 0) {
			/* destroy the client; its next op makes a new one */
			assert_int_equal(numem_tmem_client_destroy(tm, cpu0, cid[c], &d),
			                 NUMEM_TMEM_HIT);
			memset(ref[c], 0, sizeof(ref[c]));
			numem_tmem_authorise(tm, cpu0, cid[c], &u, true, &d);
			numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, cid[c], (uint64_t)c % 3,
			               NULL, &d);
			for (int q = 0; q < M_POOLS; q++)
				assert_int_equal(numem_tmem_new_pool(tm, cpu0, cid[c], flags[q],
				                                     q == 2 ? &u : NULL, &pid[c][q],
				                                     &d),
				                 NUMEM_TMEM_HIT);
			/* its shared-pool pages went with it: the shared
			 * reference may now miss (ephemeral) */
		}
		if (cap && r % 4096 == 1)
			numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_CAP, cid[c],
			               (r >> 32) % 2 ? cap : 0, NULL, &d);
		if (i % every == every - 1)
			verify();
	}
	cpu0 = numem_heap_cpu(&sys.heap, 0);
	/* every persistent page is still there, byte for byte */
	for (int c = 0; c < M_CLIENTS; c++)
		for (int o = 0; o < M_OIDS; o++)
			for (int x = 0; x < M_INDEX; x++) {
				if (!ref[c][1][o][x])
					continue;
				struct numem_tmem_oid oid = {{(uint64_t)o, 0, 0}};
				int s = numem_tmem_get(tm, cpu0, cid[c], pid[c][1], &oid,
				                       model_index(x), 1, &d);
				content(want, ref[c][1][o][x]);
				if (s != NUMEM_TMEM_HIT)
					lost++;
				else if (memcmp(want, gpage(dom[c], 1), PAGE))
					wrong++;
			}
	for (int c = 0; c < M_CLIENTS; c++) {
		struct numem_tmem_stats st = client_stats(cid[c]);
		print_message("client %u: puts %llu stored %llu gets %llu hits %llu evictions %llu "
		              "pages %llu\n",
		              cid[c], (unsigned long long)st.puts,
		              (unsigned long long)st.puts_stored, (unsigned long long)st.gets,
		              (unsigned long long)st.hits, (unsigned long long)st.evictions,
		              (unsigned long long)st.pages);
	}
	print_message("model: %llu ops, %llu hits, %llu wrong, %llu persistent lost; %llu of %llu "
	              "puts refused at the radix bound (persistent)\n",
	              (unsigned long long)ops, (unsigned long long)hits, (unsigned long long)wrong,
	              (unsigned long long)lost, (unsigned long long)radix,
	              (unsigned long long)puts);
	assert_int_equal(wrong, 0);
	assert_int_equal(lost, 0);
	assert_true(tight || hits > ops / 20);
	shutdown();
}

/* ---- two CPUs ---- */

struct worker {
	struct numem_cpu *cpu;
	uint32_t client;
	struct numem_domain *dom;
	uint32_t pool, shared;
	uint64_t ops, wrong;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint8_t want[PAGE];
	struct numem_diag wd;
	uint64_t x = w->client * 7919 + 1;
	for (uint64_t i = 0; i < w->ops; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		struct numem_tmem_oid oid = {{x % 4, w->client, 0}};
		uint32_t idx = (uint32_t)(x >> 8) % 64;
		uint32_t seed = (uint32_t)(oid.w[0] * 64 + idx) * 2 + w->client;
		uint32_t pool = (x >> 20) % 3 ? w->pool : w->shared;
		switch ((x >> 32) % 5) {
		case 0:
		case 1:
			content(gpage(w->dom, 0), seed);
			numem_tmem_put(tm, w->cpu, w->client, pool, &oid, idx, 0, &wd);
			break;
		case 2:
		case 3:
			if (numem_tmem_get(tm, w->cpu, w->client, pool, &oid, idx, 1, &wd) ==
			    NUMEM_TMEM_HIT) {
				content(want, seed);
				w->wrong += memcmp(want, gpage(w->dom, 1), PAGE) != 0;
			}
			break;
		default:
			if (x % 7 == 0)
				numem_tmem_shrink(tm, w->cpu, NUMEM_NID_NONE, 8);
			else
				numem_tmem_flush_page(tm, w->cpu, w->client, pool, &oid, idx, &wd);
		}
	}
	return NULL;
}

static void test_two_cpus(void **state)
{
	(void)state;
	boot_mb(64, 0);
	struct numem_tmem_uuid u = {5, 5};
	struct worker w[2];
	for (int i = 0; i < 2; i++) {
		char name[8];
		snprintf(name, sizeof(name), "t%d", i);
		w[i].dom = guest(name, 4);
		w[i].client = w[i].dom->id;
		w[i].cpu = numem_heap_cpu(&sys.heap, (uint32_t)i * 2);
		w[i].ops = 20000;
		w[i].wrong = 0;
		numem_tmem_authorise(tm, cpu0, w[i].client, &u, true, &d);
		numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, w[i].client,
		               i ? NUMEM_TMEM_CODEC_LZ4 : 0, NULL, &d);
		w[i].pool = new_pool(w[i].client, i ? NUMEM_TMEM_POOL_PERSISTENT : 0);
		assert_int_equal(numem_tmem_new_pool(tm, cpu0, w[i].client, NUMEM_TMEM_POOL_SHARED,
		                                     &u, &w[i].shared, &d),
		                 NUMEM_TMEM_HIT);
	}
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, work, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(w[0].wrong + w[1].wrong, 0);
	shutdown();
}

struct committer {
	_Atomic bool stop;
	uint32_t commits;
};

/* Push the top half of node 1 to node 0 and back, until told to stop. */
static void *commit_loop(void *arg)
{
	struct committer *cm = arg;
	const struct numem_topo *t = numem_heap_topo(&sys.heap);
	uint64_t s1 = t->node[1].start_pfn, e1 = t->node[1].end_pfn, half = s1 + (e1 - s1) / 2;
	struct numem_diag cd;
	for (uint32_t i = 0; !atomic_load(&cm->stop) || i % 2; i++) {
		struct numem_memlayout l;
		numem_memlayout_init(&l, plat);
		if (numem_memlayout_push(&l, &sys.heap, half, e1, i % 2 ? 1 : 0, &cd) == NUMEM_OK &&
		    numem_relayout_commit(&sys.heap, &l, NULL, &cd) == NUMEM_OK)
			cm->commits++;
		numem_memlayout_release(&l);
	}
	return NULL;
}

/* Relayout commits on one thread while a guest runs its tmem ops on
 * another CPU: tmem's subscriber (commit mutex -> tmem lock) and tmem's
 * allocations catching up with a commit (tmem lock -> apply lock) in
 * every interleaving (run under TSan by test-all); no wrong data, and the
 * tmem, domain and heap verifiers pass at the end with tmem's per-node
 * pages adding up. */
static void test_commits_during_tmem_ops(void **state)
{
	(void)state;
	boot_mb(64, 0);
	struct worker w = {.cpu = numem_heap_cpu(&sys.heap, 2), .ops = 20000};
	struct numem_tmem_uuid u = {6, 6};
	w.dom = guest("t", 4);
	w.client = w.dom->id;
	numem_tmem_authorise(tm, cpu0, w.client, &u, true, &d);
	numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, w.client, NUMEM_TMEM_CODEC_LZ4, NULL, &d);
	w.pool = new_pool(w.client, NUMEM_TMEM_POOL_PERSISTENT);
	assert_int_equal(
	    numem_tmem_new_pool(tm, cpu0, w.client, NUMEM_TMEM_POOL_SHARED, &u, &w.shared, &d),
	    NUMEM_TMEM_HIT);
	struct committer cm = {.commits = 0};
	pthread_t tw, tc;
	pthread_create(&tc, NULL, commit_loop, &cm);
	pthread_create(&tw, NULL, work, &w);
	pthread_join(tw, NULL);
	atomic_store(&cm.stop, true);
	pthread_join(tc, NULL);
	assert_int_equal(w.wrong, 0);
	assert_true(cm.commits >= 2 && cm.commits % 2 == 0); /* back where it started */
	struct numem_tmem_info in;
	numem_tmem_info(tm, &in);
	uint64_t sum = 0;
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++)
		sum += in.pages_on_node[n];
	assert_int_equal(sum, in.heap_pages);
	shutdown();
}

/* A domain destroyed while another CPU runs its tmem ops: the ops get
 * ENOCLIENT (or EFRAME) once it is gone, the destroy BUSY while an op
 * holds the domain, and no client, pool or page is left behind. */
struct racer {
	struct numem_cpu *cpu;
	uint16_t id;
	_Atomic bool stop;
	_Atomic uint64_t ok;
	uint64_t gone;
};

static void *race_ops(void *arg)
{
	struct racer *r = arg;
	struct numem_diag wd;
	uint32_t pool = 0;
	for (uint64_t i = 0; !atomic_load(&r->stop); i++) {
		struct numem_tmem_oid oid = {{i % 3, 0, 0}};
		int s;
		if (i % 64 == 0)
			s = numem_tmem_new_pool(tm, r->cpu, r->id,
			                        i % 128 ? 0 : NUMEM_TMEM_POOL_PERSISTENT, NULL,
			                        &pool, &wd);
		else if (i % 2)
			s = numem_tmem_put(tm, r->cpu, r->id, pool, &oid, (uint32_t)i % 16, 0, &wd);
		else
			s = numem_tmem_get(tm, r->cpu, r->id, pool, &oid, (uint32_t)i % 16, 1, &wd);
		if (s == NUMEM_TMEM_ENOCLIENT || s == NUMEM_TMEM_EFRAME)
			r->gone++;
		else
			atomic_fetch_add(&r->ok, 1);
	}
	return NULL;
}

static void test_destroy_races_ops(void **state)
{
	(void)state;
	boot_mb(64, 0);
	for (int round = 0; round < 20; round++) {
		struct numem_domain *g = guest("racer", 4);
		struct racer r = {.cpu = numem_heap_cpu(&sys.heap, 2), .id = g->id};
		atomic_init(&r.stop, false);
		atomic_init(&r.ok, 0);
		pthread_t th;
		pthread_create(&th, NULL, race_ops, &r);
		while (atomic_load(&r.ok) < 50)
			;
		enum numem_err e;
		while ((e = numem_domain_destroy(doms, cpu0, r.id, &d)) == NUMEM_E_BUSY)
			;
		assert_int_equal(e, NUMEM_OK);
		atomic_store(&r.stop, true);
		pthread_join(th, NULL);
		struct numem_tmem_pool_info pi[16];
		assert_int_equal(numem_tmem_list_pools(tm, r.id, pi, 16), NUMEM_TMEM_ENOCLIENT);
	}
	struct numem_tmem_info info;
	numem_tmem_info(tm, &info);
	assert_int_equal(info.nr_clients, 1);
	assert_int_equal(info.heap_pages, 0);
	shutdown();
}

/* The arena gives chunks back: after a pool of 6000 lone pages and 6000
 * object pages (33 chunks: 21 of lone records, 12 of page records) is
 * destroyed, at most five stay (chunk 0, which holds the reserved handle
 * 0, the one chunk each size keeps with free records, and the chunks of
 * the records cpu0's preload holds: one of each size here), and puts take
 * records again. */
static void test_arena_gives_chunks_back(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame();
	struct numem_tmem_info i0, i1, i2;
	numem_tmem_info(tm, &i0);
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	memset(virt(f), 0, PAGE); /* zero pages: records only */
	for (uint64_t i = 0; i < 6000; i++) {
		struct numem_tmem_oid lone = {{i, 1, 2}}, dense = {{i / 60, 3, 4}};
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &lone, 9, f, &d),
		                 NUMEM_TMEM_HIT);
		assert_int_equal(
		    numem_tmem_put(tm, cpu0, HOST, pool, &dense, (uint32_t)i % 60, f, &d),
		    NUMEM_TMEM_HIT);
	}
	numem_tmem_info(tm, &i1);
	assert_true(i1.metadata_bytes - i0.metadata_bytes > 30 * 4 * PAGE);
	verify();
	assert_int_equal(numem_tmem_destroy_pool(tm, cpu0, HOST, pool, &d), NUMEM_TMEM_HIT);
	numem_tmem_info(tm, &i2);
	if (getenv("NUMEM_TEST_VERBOSE"))
		print_message(
		    "arena: %llu -> %llu -> %llu bytes\n", (unsigned long long)i0.metadata_bytes,
		    (unsigned long long)i1.metadata_bytes, (unsigned long long)i2.metadata_bytes);
	assert_true(i2.metadata_bytes <= i0.metadata_bytes + 5 * 4 * PAGE + 1024);
	verify();
	pool = new_pool(HOST, 0);
	for (uint32_t i = 0; i < 100; i++)
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, i, f, &d),
		                 NUMEM_TMEM_HIT);
	verify();
	numem_free(cpu0, numem_pfn(f), 0, &d);
	shutdown();
}

/* ---- numem_tmem_verify's checks, each caught (white box) ---- */

static void expect_corrupt(const char *what, const char *needle)
{
	struct numem_diag e;
	if (numem_tmem_verify(tm, &e) != NUMEM_E_CORRUPT)
		fail_msg("verify missed: %s", what);
	if (!strstr(e.msg, needle))
		fail_msg("verify on %s said: %s", what, e.msg);
}

/* The record of (pool, oid) and its handle. */
static struct tm_page *rec_of(struct tm_pool *p, const struct numem_tmem_oid *o, uint32_t *h)
{
	void *r = numem__tm_obj_find(tm, p, o->w, tm_oid_hash(o->w), h);
	assert_non_null(r);
	return r;
}

/* Records come from chunks of the putting CPU's node (per-node arenas). */
static void test_arena_node_local(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame();
	uint32_t pool = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	struct numem_cpu *cpu2 = numem_heap_cpu(&sys.heap, 2);
	assert_int_equal(cpu0->mem_node, 0);
	assert_int_equal(cpu2->mem_node, 1);
	fill(virt(f), 5);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, 0, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu2, HOST, pool, &OID2, 0, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu2, HOST, pool, &OID2, 1, f, &d), NUMEM_TMEM_HIT);
	struct tm_pool *p = tm->client[HOST]->pool[pool];
	uint32_t h1, h2;
	rec_of(p, &OID1, &h1);
	void *o2 = rec_of(p, &OID2, &h2);
	assert_int_equal(tm_chunk_tail(tm->arena.dir[h1 >> TM_H_SHIFT])->node, 0);
	assert_int_equal(tm_chunk_tail(tm->arena.dir[h2 >> TM_H_SHIFT])->node, 1);
	uint32_t hp = h2;
	assert_non_null(numem__tm_lookup(tm, o2, 1, &hp));
	assert_int_equal(tm_chunk_tail(tm->arena.dir[hp >> TM_H_SHIFT])->node, 1);
	verify();
	numem_free(cpu0, numem_pfn(f), 0, &d);
	shutdown();
}

/* TMEM.md rule 8: a page that sat 2^31 puts or more at the head of its
 * list (an idle guest's, beside a busy one: minutes of puts) is still
 * the oldest: it goes first, and verify finds nothing wrong.  A 32-bit
 * clock read such a head as "in the future": never evicted while any
 * other list had pages, and numem_tmem_verify called it corrupt. */
static void test_tick_wrap_keeps_lru_order(void **state)
{
	(void)state;
	boot();
	struct numem_domain *a = guest("a", 4), *b = guest("b", 4);
	uint32_t pa = new_pool(a->id, 0), pb = new_pool(b->id, 0);
	fill(gpage(a, 0), 1);
	assert_int_equal(numem_tmem_put(tm, cpu0, a->id, pa, &OID1, 0, 0, &d), NUMEM_TMEM_HIT);
	/* b puts 2^31 + 2 pages (the clock jumped: white box) */
	tm->tick += 0x80000000u;
	for (uint32_t i = 0; i < 2; i++) {
		fill(gpage(b, 0), 10 + i);
		assert_int_equal(numem_tmem_put(tm, cpu0, b->id, pb, &OID1, i, 0, &d),
		                 NUMEM_TMEM_HIT);
	}
	verify();
	/* the oldest page goes first: a's (one eviction, white box) */
	struct tm_bag bag = {.pfns = ~0ull};
	tm_lock(tm);
	assert_int_equal(numem__tm_evict(tm, 0, NUMEM_NID_NONE, 1, &bag), 1);
	tm_unlock(tm);
	numem__tm_bag_release(tm, cpu0, &bag);
	assert_int_equal(numem_tmem_get(tm, cpu0, a->id, pa, &OID1, 0, 1, &d), NUMEM_TMEM_MISS);
	assert_int_equal(numem_tmem_get(tm, cpu0, b->id, pb, &OID1, 0, 1, &d), NUMEM_TMEM_HIT);
	verify();
	shutdown();
}

/* A second page that finds no room (max_pages) converts nothing: the one
 * page stays a lone record, readable, and verify is clean. */
static void test_second_page_no_room_keeps_lone(void **state)
{
	(void)state;
	boot_mb(64, 1);
	uint64_t f = host_frame(), g = host_frame();
	uint32_t per = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT);
	fill(virt(f), 7);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, per, &OID1, 0, f, &d), NUMEM_TMEM_HIT);
	fill(virt(f), 8);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, per, &OID1, 1, f, &d), NUMEM_TMEM_ENOMEM);
	uint32_t h;
	struct tm_page *r = rec_of(tm->client[HOST]->pool[per], &OID1, &h);
	assert_non_null(r);
	assert_int_equal(tm_type(r), TM_T_LONE);
	verify();
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, per, &OID1, 0, g, &d), NUMEM_TMEM_HIT);
	fill(virt(f), 7);
	assert_memory_equal(virt(f), virt(g), PAGE);
	assert_int_equal(numem_tmem_get(tm, cpu0, HOST, per, &OID1, 1, g, &d), NUMEM_TMEM_MISS);
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

/* TMEM.md rule 8: a shrink request for N pages evicts about N, not a
 * round of 64 (review of issue 11): with raw pages, each eviction frees
 * one heap page, so a request of 1 evicts exactly 1, of 5 exactly 5. */
static void test_shrink_evicts_what_was_asked(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame();
	uint32_t pool = new_pool(HOST, 0);
	for (uint32_t i = 0; i < 100; i++) {
		fill(virt(f), i);
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, pool, &OID1, i, f, &d),
		                 NUMEM_TMEM_HIT);
	}
	assert_int_equal(numem_tmem_shrink(tm, cpu0, NUMEM_NID_NONE, 1), 1);
	assert_int_equal(client_stats(HOST).evictions, 1);
	assert_int_equal(client_stats(HOST).pages_ephemeral, 99);
	assert_int_equal(numem_tmem_shrink(tm, cpu0, 0, 5), 5);
	assert_int_equal(client_stats(HOST).evictions, 6);
	struct numem_tmem_info in;
	numem_tmem_info(tm, &in);
	assert_int_equal(in.max_evict_batch, 5);
	verify();
	numem_free(cpu0, numem_pfn(f), 0, &d);
	shutdown();
}

/* numem_tmem_verify checks the instance's heap-page counts (heap_pages,
 * pages_on_node) against the pages the store holds: raw pages and zpages
 * (shared by several compressed pages, counted once), not the CPUs'
 * spares (review of issue 11: it checked neither). */
static void test_verify_heap_page_counts(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame(), g = host_frame();
	struct numem_cpu *cpu2 = numem_heap_cpu(&sys.heap, 2);
	assert_int_equal(
	    numem_tmem_ctl(tm, cpu0, NUMEM_TMEM_CTL_COMPRESS, HOST, NUMEM_TMEM_CODEC_LZ4, NULL, &d),
	    NUMEM_TMEM_HIT);
	uint32_t per = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT), eph = new_pool(HOST, 0);
	for (uint32_t i = 0; i < 40; i++) {
		fill_text(virt(f), i);
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, per, &OID1, i, f, &d),
		                 NUMEM_TMEM_HIT);
	}
	for (uint32_t i = 0; i < 3; i++) {
		fill(virt(f), 100 + i);
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, per, &OID2, i, f, &d),
		                 NUMEM_TMEM_HIT);
		/* raw pages on node 1 (the host's pages go to the putting CPU's) */
		assert_int_equal(numem_tmem_put(tm, cpu2, HOST, eph, &OID2, i, f, &d),
		                 NUMEM_TMEM_HIT);
	}
	/* an exclusive get leaves cpu2 a spare page: not a held page */
	assert_int_equal(numem_tmem_get(tm, cpu2, HOST, eph, &OID2, 0, g, &d), NUMEM_TMEM_HIT);
	assert_true(tm->preload[cpu2->id].has_pfn);
	struct numem_tmem_info in;
	numem_tmem_info(tm, &in);
	assert_true(in.pages_on_node[0] >= 4 && in.pages_on_node[0] < 40);
	assert_int_equal(in.pages_on_node[1], 2);
	assert_int_equal(in.heap_pages, in.pages_on_node[0] + 2);
	verify();
	tm->heap_pages++;
	expect_corrupt("heap_pages one high", "instance's heap pages");
	tm->heap_pages -= 2;
	expect_corrupt("heap_pages one low", "instance's heap pages");
	tm->heap_pages++;
	verify();
	tm->pages_on_node[0]++;
	tm->pages_on_node[1]--;
	expect_corrupt("a page counted on the wrong node", "instance's heap pages");
	tm->pages_on_node[0]--;
	tm->pages_on_node[1]++;
	tm->pages_on_node[1]++;
	expect_corrupt("pages_on_node one high", "instance's heap pages");
	tm->pages_on_node[1]--;
	verify();
	numem_free(cpu0, numem_pfn(f), 0, &d);
	numem_free(cpu0, numem_pfn(g), 0, &d);
	shutdown();
}

/* TMEM.md "Metadata": a guest that puts each object's pages at indexes 0
 * and 2^32 - 1 makes 2.5 KB of radix nodes per stored page; a pool's
 * radix bytes are bounded by 1 KiB per page it holds plus one insert's
 * worst case (6 KiB), so such puts are refused (persistent: EQUOTA,
 * ephemeral: MISS) at the bound, while a dense guest (64-page objects) is
 * never refused; the listing reports each client's and pool's radix bytes
 * (review of issue 11: none of it was charged). */
static uint64_t pool_radix_bytes(uint32_t client, uint32_t pool)
{
	struct numem_tmem_pool_info pi[NUMEM_TMEM_MAX_POOLS];
	int n = numem_tmem_list_pools(tm, client, pi, NUMEM_TMEM_MAX_POOLS);
	for (int i = 0; i < n; i++)
		if (pi[i].pool_id == pool)
			return pi[i].radix_bytes;
	fail_msg("pool %u of client %u not listed", pool, client);
	return 0;
}

static void test_radix_metadata_bound(void **state)
{
	(void)state;
	boot();
	struct numem_domain *sp = guest("sparse", 2), *de = guest("dense", 2);
	uint32_t ps = new_pool(sp->id, NUMEM_TMEM_POOL_PERSISTENT), es = new_pool(sp->id, 0);
	uint32_t pd = new_pool(de->id, NUMEM_TMEM_POOL_PERSISTENT);
	fill(gpage(sp, 0), 1);
	fill(gpage(de, 0), 2);
	/* the sparse guest: objects of two pages, 0 and 2^32 - 1 */
	uint32_t refused = 0, first = 0;
	for (uint64_t k = 0; k < 64; k++) {
		struct numem_tmem_oid o = {{k, 0, 0}};
		assert_int_equal(numem_tmem_put(tm, cpu0, sp->id, ps, &o, 0, 0, &d),
		                 NUMEM_TMEM_HIT); /* a lone page: no radix node */
		int r = numem_tmem_put(tm, cpu0, sp->id, ps, &o, 0xffffffffu, 0, &d);
		if (r == NUMEM_TMEM_EQUOTA) {
			assert_non_null(strstr(d.msg, "radix"));
			if (!refused++)
				first = (uint32_t)k;
		} else {
			assert_int_equal(r, NUMEM_TMEM_HIT);
		}
		/* the bound holds after every put */
		struct numem_tmem_stats st = client_stats(sp->id);
		assert_true(pool_radix_bytes(sp->id, ps) <= 1024 * st.pages + 6144);
	}
	assert_true(refused > 0);
	/* an object: 9 nodes + 2 leaves (5120 bytes) for 2 pages; two fit
	 * (10240 <= 1024 * 4 + 6144), a third is refused (15360 > 12288) */
	assert_int_equal(first, 2);
	/* refused objects keep their first page (a lone record) */
	struct numem_tmem_oid last = {{63, 0, 0}};
	assert_int_equal(numem_tmem_get(tm, cpu0, sp->id, ps, &last, 0, 1, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_get(tm, cpu0, sp->id, ps, &last, 0xffffffffu, 1, &d),
	                 NUMEM_TMEM_MISS);
	assert_memory_equal(gpage(sp, 0), gpage(sp, 1), PAGE);
	/* ephemeral: the same pattern is a MISS at the bound, not an error */
	uint32_t misses = 0;
	for (uint64_t k = 0; k < 16; k++) {
		struct numem_tmem_oid o = {{k, 0, 0}};
		assert_int_equal(numem_tmem_put(tm, cpu0, sp->id, es, &o, 0, 0, &d),
		                 NUMEM_TMEM_HIT);
		int r = numem_tmem_put(tm, cpu0, sp->id, es, &o, 0xffffffffu, 0, &d);
		assert_true(r == NUMEM_TMEM_HIT || r == NUMEM_TMEM_MISS);
		misses += r == NUMEM_TMEM_MISS;
	}
	assert_true(misses > 0);
	assert_int_equal(client_info_of(sp->id).radix_bytes,
	                 pool_radix_bytes(sp->id, ps) + pool_radix_bytes(sp->id, es));
	/* the dense guest: 32 objects of 64 pages, never refused */
	for (uint64_t k = 0; k < 32; k++) {
		struct numem_tmem_oid o = {{k, 0, 0}};
		for (uint32_t i = 0; i < 64; i++)
			assert_int_equal(numem_tmem_put(tm, cpu0, de->id, pd, &o, i, 0, &d),
			                 NUMEM_TMEM_HIT);
	}
	/* a leaf per object */
	assert_int_equal(pool_radix_bytes(de->id, pd), 32 * sizeof(struct tm_rleaf));
	assert_int_equal(client_info_of(de->id).radix_bytes, 32 * sizeof(struct tm_rleaf));
	verify();
	/* the counts the bound uses are the trees' (verify checks them) */
	struct tm_pool *p = tm->client[sp->id]->pool[ps];
	p->rnodes++;
	expect_corrupt("radix node count", "radix nodes");
	p->rnodes--;
	verify();
	shutdown();
}

static void test_verify_catches_corruption(void **state)
{
	(void)state;
	boot();
	uint64_t f = host_frame();
	uint32_t per = new_pool(HOST, NUMEM_TMEM_POOL_PERSISTENT), eph = new_pool(HOST, 0);
	const struct numem_tmem_oid o3 = {{7, 8, 9}};
	fill(virt(f), 1);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, per, &OID1, 5, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, per, &OID2, 0, f, &d), NUMEM_TMEM_HIT);
	assert_int_equal(numem_tmem_put(tm, cpu0, HOST, per, &OID2, 70, f, &d), NUMEM_TMEM_HIT);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(numem_tmem_put(tm, cpu0, HOST, eph, &o3, i, f, &d),
		                 NUMEM_TMEM_HIT);
	verify();
	struct tm_pool *pp = tm->client[HOST]->pool[per], *pe = tm->client[HOST]->pool[eph];
	uint32_t ha, ho;
	struct tm_page *a = rec_of(pp, &OID1, &ha);
	struct tm_object *ob = (struct tm_object *)rec_of(pp, &OID2, &ho);
	assert_int_equal(tm_type(a), TM_T_LONE);
	assert_int_equal(tm_type(ob), TM_T_OBJ);

	/* a chain handle out of range */
	uint32_t keep = a->hnext;
	a->hnext = 0x7ffffff0u;
	expect_corrupt("chain handle out of range", "out of range");
	a->hnext = keep;
	verify();

	/* a record in use put on a chunk's free list too */
	struct tm_chunk_tail *tl =
	    tm_chunk_tail(tm->arena.dir[tm->arena.partial[cpu0->mem_node][1]]);
	uint32_t free0 = tl->free;
	tl->free = ha;
	tl->nfree++;
	tm->arena.nr_free[1]++;
	expect_corrupt("in use and free", "arena record");
	tl->free = free0;
	tl->nfree--;
	tm->arena.nr_free[1]--;
	verify();

	/* a free record on no list (leaked) */
	assert_true(free0 != 0);
	tl->free = tm_pg(tm, free0)->hnext;
	tl->nfree--;
	tm->arena.nr_free[1]--;
	expect_corrupt("leaked record", "on no list");
	tl->free = free0;
	tl->nfree++;
	tm->arena.nr_free[1]++;
	verify();

	/* counts: objects, radix leaves, the free count */
	pp->objects++;
	expect_corrupt("object count", "objects");
	pp->objects--;
	pp->rleaves++;
	expect_corrupt("leaf count", "radix nodes");
	pp->rleaves--;
	tm->arena.nr_free[1]++;
	expect_corrupt("free count", "free lists");
	tm->arena.nr_free[1]--;
	tl->nfree++;
	expect_corrupt("a chunk's free count", "longer or shorter");
	tl->nfree--;
	verify();

	/* a page of an object naming another object */
	uint32_t h70 = ho;
	struct tm_page *p70 = numem__tm_lookup(tm, ob, 70, &h70);
	assert_non_null(p70);
	p70->obj = ha;
	expect_corrupt("page of another object", "another object");
	p70->obj = ho;
	/* an object's page count */
	ob->pages++;
	expect_corrupt("object page count", "page count");
	ob->pages--;
	/* a radix leaf holding a handle out of range */
	struct tm_rleaf *leaf = *(struct tm_rleaf **)((struct tm_rnode *)ob->root)->slot;
	assert_int_equal(ob->height, 2);
	leaf->slot[1] = 0x7ffffff0u;
	expect_corrupt("leaf handle out of range", "out of range");
	leaf->slot[1] = 0;
	verify();

	/* an LRU link broken, and an LRU head tick ahead of the clock */
	uint32_t hp = 0;
	struct tm_page *e1 = numem__tm_lookup(tm, rec_of(pe, &o3, &hp), 1, &hp);
	assert_non_null(e1);
	keep = e1->lru_prev;
	e1->lru_prev = 0;
	expect_corrupt("LRU back link", "LRU");
	e1->lru_prev = keep;
	struct tm_lru *l = &tm->client[HOST]->lru[e1->node];
	l->head_tick += 1000;
	expect_corrupt("LRU head tick", "head tick");
	l->head_tick -= 1000;
	/* a client's per-node count off by one (a re-accounting slip) */
	tm->client[HOST]->pages_on_node[e1->node]++;
	expect_corrupt("per-node page count", "pages_on_node");
	tm->client[HOST]->pages_on_node[e1->node]--;
	verify();
	numem_free(cpu0, numem_pfn(f), 0, &d);
	shutdown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_private_ephemeral_exclusive),
	    cmocka_unit_test(test_persistent_get_keeps),
	    cmocka_unit_test(test_overwrite_replaces),
	    cmocka_unit_test(test_failed_overwrite_drops_old),
	    cmocka_unit_test(test_zero_pages),
	    cmocka_unit_test(test_copy_page_hook),
	    cmocka_unit_test(test_copy_page_alignment),
	    cmocka_unit_test(test_spare_reuse),
	    cmocka_unit_test(test_host_copy_page),
	    cmocka_unit_test(test_lz4),
	    cmocka_unit_test(test_zstd),
	    cmocka_unit_test(test_flush_object_radix),
	    cmocka_unit_test(test_radix_last_page_nodes_clean),
	    cmocka_unit_test(test_object_table_grows),
	    cmocka_unit_test(test_isolation),
	    cmocka_unit_test(test_shared_pools),
	    cmocka_unit_test(test_shared_limit),
	    cmocka_unit_test(test_dedup),
	    cmocka_unit_test(test_control),
	    cmocka_unit_test(test_spare_other_node),
	    cmocka_unit_test(test_cap_evicts_own_object),
	    cmocka_unit_test(test_shrinker_and_node),
	    cmocka_unit_test(test_shrink_evicts_what_was_asked),
	    cmocka_unit_test(test_max_pages_weighted),
	    cmocka_unit_test(test_relayout_reaccount),
	    cmocka_unit_test(test_relayout_commit_reaccounts),
	    cmocka_unit_test(test_spare_after_relayout),
	    cmocka_unit_test(test_domain_destroy),
	    cmocka_unit_test(test_save_restore),
	    cmocka_unit_test(test_restore_respects_cap),
	    cmocka_unit_test(test_restore_undo_keeps_other_pools),
	    cmocka_unit_test(test_restore_undo_spares_racing_pool),
	    cmocka_unit_test(test_op_checks),
	    cmocka_unit_test(test_frames_at_edges),
	    cmocka_unit_test(test_model),
	    cmocka_unit_test(test_tick_wrap_keeps_lru_order),
	    cmocka_unit_test(test_second_page_no_room_keeps_lone),
	    cmocka_unit_test(test_two_cpus),
	    cmocka_unit_test(test_commits_during_tmem_ops),
	    cmocka_unit_test(test_destroy_races_ops),
	    cmocka_unit_test(test_arena_gives_chunks_back),
	    cmocka_unit_test(test_arena_node_local),
	    cmocka_unit_test(test_verify_catches_corruption),
	    cmocka_unit_test(test_radix_metadata_bound),
	    cmocka_unit_test(test_verify_heap_page_counts),
	};
	if (getenv("NUMEM_TEST_FILTER"))
		cmocka_set_test_filter(getenv("NUMEM_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
