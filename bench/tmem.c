/*
 * tmem.c - benchmark of transcendent memory (issue 11).
 *
 *   put-get-hot     put + get of one 4 KiB page (host client, private
 *                   ephemeral pool, incompressible data, cache-hot), ns per
 *                   page; peer memcpy: the same two copies (page -> store,
 *                   store -> page), the physical limit
 *   put-get-lz4     the same with the client's codec lz4 on compressible
 *                   text pages; peer lz4: LZ4_compress_fast_extState +
 *                   LZ4_decompress_safe of the same page
 *   put-get-zstd    the same with zstd (level 1); peer: ZSTD_compressCCtx
 *                   + ZSTD_decompressDCtx
 *   get-1e4, get-1e5, get-1e6
 *                   a get (persistent pool: nothing moves) at a random key
 *                   of a store of 10^4 .. 10^6 raw pages (objects of 64
 *                   pages), ns per get; the 10^6 store holds 4 GiB
 *   meta-dense, meta-sparse
 *                   metadata bytes per stored page ("ns_per_op" is bytes):
 *                   objects of 64 consecutive pages / one page per object
 *   shrink-worst, shrink-p99, shrink-median
 *                   ns per shrink request of 32 pages over a store of
 *                   10^5 ephemeral pages drained by such requests (the
 *                   worst includes any preemption of the benchmark)
 *
 * Contract: --json prints {"bench": "tmem", "results": [...]}; impls
 * numem, memcpy, lz4, zstd.
 */
#include <lz4.h>
#include <numem/domain.h>
#include <numem/host.h>
#include <numem/tmem.h>
#include <zstd.h>

#include "bench.h"
#include "tmem_pages.h"

#define PAGE 4096

static struct numem_system sys;
static struct numem_slab slab;
static struct numem_tmem *tm;
static struct numem_cpu *cpu;
static const struct numem_platform *plat;
static struct numem_tmem_codec *c_lz4, *c_zstd;

static void die(const char *what, const struct numem_diag *d)
{
	fprintf(stderr, "tmem bench: %s: %s\n", what, d ? d->msg : "");
	exit(1);
}

static void boot(unsigned gib_per_node)
{
	char a[96], b[96], err[256];
	snprintf(a, sizeof(a), "node,nodeid=0,cpus=0-1,mem=%uG", gib_per_node);
	snprintf(b, sizeof(b), "node,nodeid=1,cpus=2-3,mem=%uG", gib_per_node);
	static struct numem_spec spec;
	memset(&spec, 0, sizeof(spec));
	if (numem_spec_add_numa_arg(&spec, a, err, sizeof(err)) ||
	    numem_spec_add_numa_arg(&spec, b, err, sizeof(err)) ||
	    numem_spec_finish(&spec, err, sizeof(err)))
		die(err, NULL);
	struct numem_machine_src src;
	if (numem_machine_src_spec(&src, &spec, err, sizeof(err)))
		die(err, NULL);
	struct numem_diag d;
	struct numem_system_opts o = {.back_memory = true, .heap.poison = -1};
	if (numem_system_boot(&sys, &src, &o, &d))
		die("boot", &d);
	numem_host_set_log(sys.m.host, NULL, NUMEM_LOG_ERROR);
	plat = numem_host_platform(sys.m.host);
	if (numem_slab_init(&slab, &sys.heap, &d))
		die("slab", &d);
	cpu = numem_heap_cpu(&sys.heap, 0);
	c_lz4 = numem_host_tmem_codec_create(NUMEM_TMEM_CODEC_LZ4, sys.heap.nr_cpus);
	c_zstd = numem_host_tmem_codec_create(NUMEM_TMEM_CODEC_ZSTD, sys.heap.nr_cpus);
	/* the host's page copy (AVX-512 where there is one), as an embedder
	 * gives its copy_page; NUMEM_TMEM_COPY=memcpy: the C library's */
	struct numem_tmem_opts to = {.copy_page = numem_host_tmem_copy_page()};
	to.codec[NUMEM_TMEM_CODEC_LZ4] = c_lz4;
	to.codec[NUMEM_TMEM_CODEC_ZSTD] = c_zstd;
	if (numem_tmem_create(&sys.heap, &slab, NULL, &to, &tm, &d))
		die("tmem", &d);
}

static void shutdown(void)
{
	numem_tmem_release(tm, cpu);
	numem_slab_drain_cpu(&slab, cpu);
	numem_slab_release(&slab);
	numem_host_tmem_codec_destroy(c_lz4);
	numem_host_tmem_codec_destroy(c_zstd);
	numem_system_shutdown(&sys);
}

static uint64_t frame(void)
{
	numem_pfn_t p;
	struct numem_diag d;
	if (numem_alloc(cpu, 0, 0, NULL, &p, &d))
		die("alloc", &d);
	return p.v;
}

static uint8_t *virt(uint64_t pfn)
{
	return bench_page_virt(plat, pfn);
}

/* Text-like: words from a small vocabulary (compresses about 3-4x). */
static void fill_text(uint8_t *p, uint64_t seed)
{
	static const char *const w[] = {"memory ", "page ", "node ", "the ",   "guest ",
	                                "cache ",  "swap ", "of ",   "and ",   "numem ",
	                                "tmem ",   "put ",  "get ",  "flush ", "object ",
	                                "index ",  "pool ", "disk ", "read ",  "write "};
	uint64_t x = seed * 2654435761u + 7;
	int i = 0;
	while (i < PAGE) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		const char *s = w[x % 20];
		while (*s && i < PAGE)
			p[i++] = (uint8_t)*s++;
	}
}

static volatile uint64_t sink;

/* The C library's memcpy, as numem's copies call it (through a volatile
 * pointer: inlined with a constant size GCC makes it `rep movsq`, another
 * routine than the one measured against). */
static void *(*volatile page_copy)(void *, const void *, size_t) = memcpy;

/* The peer of a put+get: the same page through the raw codec, or the two
 * copies (page -> store -> page) for no codec.  Returns the compressed
 * length. */
static size_t peer_once(enum numem_tmem_codec_id codec, const uint8_t *src, uint8_t *store,
                        uint8_t *dst, void *lz4state, ZSTD_CCtx *cc, ZSTD_DCtx *dc)
{
	if (codec == NUMEM_TMEM_CODEC_LZ4) {
		int k = LZ4_compress_fast_extState(lz4state, (const char *)src, (char *)store, PAGE,
		                                   4032, 1);
		if (LZ4_decompress_safe((const char *)store, (char *)dst, k, PAGE) != PAGE)
			die("lz4", NULL);
		return (size_t)k;
	}
	if (codec == NUMEM_TMEM_CODEC_ZSTD) {
		size_t k = ZSTD_compressCCtx(cc, store, 4032, src, PAGE, 1);
		if (ZSTD_decompressDCtx(dc, dst, PAGE, store, k) != PAGE)
			die("zstd", NULL);
		return k;
	}
	page_copy(store, src, PAGE);
	__asm__ volatile("" ::"r"(store) : "memory");
	page_copy(dst, store, PAGE);
	__asm__ volatile("" ::"r"(dst) : "memory");
	return 0;
}

/*
 * put+get cases: numem against its peer, interleaved in blocks of 64
 * cycles (numem's block, then the peer's), each rep the median over its
 * blocks of each impl's ns per cycle.  On a machine shared with other
 * builds a block is short enough (~10 us) that most blocks run without
 * being descheduled; a run of a whole rep per impl was not (its wall time
 * counted other processes' slices, the longer impl's more often).
 */
#define PG_BLOCK 64
static void put_get(struct bench *b, const char *name, enum numem_tmem_codec_id codec)
{
	if (!bench_want(b, name))
		return;
	const int n = 20000, blocks = n / PG_BLOCK;
	struct numem_diag d;
	uint64_t f = frame(), g = frame();
	uint8_t *src = virt(f), *dst = virt(g);
	if (codec)
		fill_text(src, 1);
	else
		bench_fill_random(src, 1);
	numem_tmem_ctl(tm, cpu, NUMEM_TMEM_CTL_COMPRESS, NUMEM_TMEM_HOST, codec, NULL, &d);
	uint32_t pool;
	if (numem_tmem_new_pool(tm, cpu, NUMEM_TMEM_HOST, 0, NULL, &pool, &d) != NUMEM_TMEM_HIT)
		die("pool", &d);
	struct numem_tmem_oid oid = {{1, 2, 3}};
	uint8_t *store = aligned_alloc(4096, PAGE), *tmp = aligned_alloc(4096, PAGE);
	void *lz4state = malloc((size_t)LZ4_sizeofState());
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	double a[64], p[64];
	const char *peer = codec == NUMEM_TMEM_CODEC_LZ4    ? "lz4"
	                   : codec == NUMEM_TMEM_CODEC_ZSTD ? "zstd"
	                                                    : "memcpy";
	size_t clen = 0;
	double *ba = malloc(sizeof(double) * (size_t)blocks),
	       *bp = malloc(sizeof(double) * (size_t)blocks),
	       *bc = malloc(sizeof(double) * (size_t)blocks), c[64];
	/* The uncompressed case has a second peer when numem copies with the
	 * host's routine: the same two copies through that routine, so that
	 * the ratio to the faster copy says what tmem itself costs. */
	void (*cp)(void *, const void *) = codec ? NULL : numem_host_tmem_copy_page();
	for (int r = 0; r < b->reps; r++) {
		bench_progress(b, name, r);
		for (int k = 0; k < blocks; k++) {
			uint64_t t0 = bench_now();
			for (uint32_t i = 0; i < PG_BLOCK; i++) {
				if (numem_tmem_put(tm, cpu, NUMEM_TMEM_HOST, pool, &oid, i, f,
				                   &d) != NUMEM_TMEM_HIT ||
				    numem_tmem_get(tm, cpu, NUMEM_TMEM_HOST, pool, &oid, i, g,
				                   &d) != NUMEM_TMEM_HIT)
					die("put/get", &d);
			}
			uint64_t t1 = bench_now();
			for (int i = 0; i < PG_BLOCK; i++)
				clen = peer_once(codec, src, store, dst, lz4state, cc, dc);
			uint64_t t2 = bench_now();
			for (int i = 0; cp && i < PG_BLOCK; i++) {
				cp(store, src);
				__asm__ volatile("" ::"r"(store) : "memory");
				cp(dst, store);
				__asm__ volatile("" ::"r"(dst) : "memory");
			}
			uint64_t t3 = bench_now();
			ba[k] = (double)(t1 - t0);
			bp[k] = (double)(t2 - t1);
			bc[k] = (double)(t3 - t2);
		}
		/* a rep's sample: its median block, scaled to n cycles */
		a[r] = bench_median(ba, blocks) * n / PG_BLOCK;
		p[r] = bench_median(bp, blocks) * n / PG_BLOCK;
		c[r] = bench_median(bc, blocks) * n / PG_BLOCK;
	}
	free(ba);
	free(bp);
	free(bc);
	bench_progress_done(b);
	sink += dst[100];
	char note[96] = "";
	if (codec)
		snprintf(note, sizeof(note), "page compresses to %zu bytes", clen);
	else
		snprintf(note, sizeof(note), "numem's page copy: %s",
		         numem_host_tmem_copy_page() ? "the host's (AVX-512)" : "memcpy");
	bench_add(b, name, "numem", a, b->reps, n, note);
	bench_add(b, name, peer, p, b->reps, n, note);
	if (cp)
		bench_add(b, name, "copy_page", c, b->reps, n,
		          "the host's page copy, the same two copies");
	numem_tmem_destroy_pool(tm, cpu, NUMEM_TMEM_HOST, pool, &d);
	numem_tmem_ctl(tm, cpu, NUMEM_TMEM_CTL_COMPRESS, NUMEM_TMEM_HOST, 0, NULL, &d);
	free(store);
	free(tmp);
	free(lz4state);
	ZSTD_freeCCtx(cc);
	ZSTD_freeDCtx(dc);
	numem_free(cpu, numem_pfn(f), 0, &d);
	numem_free(cpu, numem_pfn(g), 0, &d);
}

/* Fill a persistent pool with n raw pages in objects of `per` pages. */
static uint32_t fill_store(uint64_t n, uint32_t per, uint32_t flags)
{
	struct numem_diag d;
	uint32_t pool;
	if (numem_tmem_new_pool(tm, cpu, NUMEM_TMEM_HOST, flags, NULL, &pool, &d) != NUMEM_TMEM_HIT)
		die("pool", &d);
	uint64_t f = frame();
	uint8_t *src = virt(f);
	bench_fill_random(src, 9);
	for (uint64_t i = 0; i < n; i++) {
		struct numem_tmem_oid oid = {{i / per, 7, 7}};
		src[0] = (uint8_t)(i | 1); /* never a zero page */
		if (numem_tmem_put(tm, cpu, NUMEM_TMEM_HOST, pool, &oid, (uint32_t)(i % per), f,
		                   &d) != NUMEM_TMEM_HIT)
			die("fill", &d);
	}
	numem_free(cpu, numem_pfn(f), 0, &d);
	return pool;
}

static void get_scale(struct bench *b, const char *name, uint64_t n)
{
	if (!bench_want(b, name))
		return;
	struct numem_diag d;
	uint32_t pool = fill_store(n, 64, NUMEM_TMEM_POOL_PERSISTENT);
	uint64_t g = frame();
	const int k = 200000;
	double a[64];
	uint64_t x = 12345;
	for (int r = 0; r < b->reps; r++) {
		bench_progress(b, name, r);
		uint64_t t0 = bench_now();
		for (int i = 0; i < k; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			uint64_t key = x % n;
			struct numem_tmem_oid oid = {{key / 64, 7, 7}};
			if (numem_tmem_get(tm, cpu, NUMEM_TMEM_HOST, pool, &oid,
			                   (uint32_t)(key % 64), g, &d) != NUMEM_TMEM_HIT)
				die("get", &d);
		}
		a[r] = (double)(bench_now() - t0);
	}
	bench_progress_done(b);
	char note[96];
	snprintf(note, sizeof(note), "%llu pages stored, random keys", (unsigned long long)n);
	bench_add(b, name, "numem", a, b->reps, k, note);
	numem_tmem_destroy_pool(tm, cpu, NUMEM_TMEM_HOST, pool, &d);
	numem_free(cpu, numem_pfn(g), 0, &d);
}

static void metadata(struct bench *b, const char *name, uint32_t per)
{
	if (!bench_want(b, name))
		return;
	struct numem_diag d;
	const uint64_t n = 100000;
	struct numem_tmem_info before, after;
	numem_tmem_info(tm, &before);
	uint32_t pool = fill_store(n, per, NUMEM_TMEM_POOL_PERSISTENT);
	numem_tmem_info(tm, &after);
	double v = (double)(after.metadata_bytes - before.metadata_bytes) / (double)n;
	char note[96];
	snprintf(note, sizeof(note), "bytes per page (not ns), objects of %u page(s)", per);
	bench_add(b, name, "numem", &v, 1, 1, note);
	numem_tmem_destroy_pool(tm, cpu, NUMEM_TMEM_HOST, pool, &d);
}

static void shrink(struct bench *b)
{
	if (!bench_want(b, "shrink"))
		return;
	struct numem_diag d;
	const uint64_t n = 100000;
	double *t = malloc(sizeof(double) * (n / 32 + 8));
	double worst[64], med[64], p99[64];
	for (int r = 0; r < b->reps; r++) {
		bench_progress(b, "shrink", r);
		uint32_t pool = fill_store(n, 64, 0);
		int k = 0;
		for (;;) {
			uint64_t t0 = bench_now();
			uint64_t got = numem_tmem_shrink(tm, cpu, 0, 32);
			t[k++] = (double)(bench_now() - t0);
			if (!got)
				break;
		}
		double w = 0;
		for (int i = 0; i < k; i++)
			if (t[i] > w)
				w = t[i];
		worst[r] = w;
		med[r] = bench_median(t, k); /* sorts t */
		p99[r] = t[(k * 99) / 100];
		numem_tmem_destroy_pool(tm, cpu, NUMEM_TMEM_HOST, pool, &d);
	}
	bench_progress_done(b);
	bench_add(b, "shrink-worst", "numem", worst, b->reps, 1,
	          "ns per request of 32 pages, worst over the drain");
	bench_add(b, "shrink-p99", "numem", p99, b->reps, 1, "ns per request of 32 pages");
	bench_add(b, "shrink-median", "numem", med, b->reps, 1, "ns per request of 32 pages");
	free(t);
}

int main(int argc, char **argv)
{
	struct bench b = {.name = "tmem"};
	bench_args(&b, argc, argv, 5);
	bool big = !b.small && bench_want(&b, "get-1e6");
	boot(big ? 3 : 1);
	put_get(&b, "put-get-hot", NUMEM_TMEM_CODEC_NONE);
	put_get(&b, "put-get-lz4", NUMEM_TMEM_CODEC_LZ4);
	put_get(&b, "put-get-zstd", NUMEM_TMEM_CODEC_ZSTD);
	get_scale(&b, "get-1e4", 10000);
	get_scale(&b, "get-1e5", 100000);
	if (big)
		get_scale(&b, "get-1e6", 1000000);
	metadata(&b, "meta-dense", 64);
	metadata(&b, "meta-sparse", 1);
	shrink(&b);
	if (!b.json) {
		/* ratios against each case's peer */
		bench_print(&b, NULL);
		const char *pairs[4][2] = {{"put-get-hot", "memcpy"},
		                           {"put-get-hot", "copy_page"},
		                           {"put-get-lz4", "lz4"},
		                           {"put-get-zstd", "zstd"}};
		for (int i = 0; i < 4; i++) {
			const struct bench_result *x = bench_find(&b, pairs[i][0], "numem");
			const struct bench_result *y = bench_find(&b, pairs[i][0], pairs[i][1]);
			if (x && y)
				printf("%-14s numem / %-9s = %.2fx\n", pairs[i][0], pairs[i][1],
				       x->ns_per_op / y->ns_per_op);
		}
	} else {
		bench_print(&b, NULL);
	}
	shutdown();
	return 0;
}
