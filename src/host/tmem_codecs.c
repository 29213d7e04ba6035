/*
 * tmem_codecs.c - tmem's compression hooks over Debian's liblz4 and
 * libzstd, and its page copy (hosted only: the core never links them).
 *
 * Each CPU id has its own state (an LZ4 state, a ZSTD_CCtx and ZSTD_DCtx)
 * because tmem calls a codec from several CPUs at once, each with its own
 * id; the zstd contexts are made on a CPU's first call (a CPU id is used
 * by one thread at a time, as numem_cpu handles are).
 */
#include <lz4.h>
#include <numem/host.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HOST_COPY_AVX512 1
#endif

struct host_codec {
	struct numem_tmem_codec pub;
	enum numem_tmem_codec_id id;
	uint32_t nr_cpus;
	void **state;     /* lz4: LZ4 state; zstd: ZSTD_CCtx */
	ZSTD_DCtx **dctx; /* zstd only */
};

static size_t lz4_compress(void *ctx, uint32_t cpu, const void *src, void *dst, size_t cap)
{
	struct host_codec *c = ctx;
	if (cpu >= c->nr_cpus)
		return 0;
	int n =
	    LZ4_compress_fast_extState(c->state[cpu], src, dst, (int)NUMEM_PAGE_SIZE, (int)cap, 1);
	return n > 0 ? (size_t)n : 0;
}

static int lz4_decompress(void *ctx, uint32_t cpu, const void *src, size_t len, void *dst)
{
	(void)ctx;
	(void)cpu;
	int n = LZ4_decompress_safe(src, dst, (int)len, (int)NUMEM_PAGE_SIZE);
	return n == (int)NUMEM_PAGE_SIZE ? 0 : -1;
}

static size_t zstd_compress(void *ctx, uint32_t cpu, const void *src, void *dst, size_t cap)
{
	struct host_codec *c = ctx;
	if (cpu >= c->nr_cpus)
		return 0;
	if (!c->state[cpu] && !(c->state[cpu] = ZSTD_createCCtx()))
		return 0;
	size_t n = ZSTD_compressCCtx(c->state[cpu], dst, cap, src, NUMEM_PAGE_SIZE, 1);
	return ZSTD_isError(n) ? 0 : n;
}

static int zstd_decompress(void *ctx, uint32_t cpu, const void *src, size_t len, void *dst)
{
	struct host_codec *c = ctx;
	if (cpu >= c->nr_cpus)
		return -1;
	if (!c->dctx[cpu] && !(c->dctx[cpu] = ZSTD_createDCtx()))
		return -1;
	size_t n = ZSTD_decompressDCtx(c->dctx[cpu], dst, NUMEM_PAGE_SIZE, src, len);
	return !ZSTD_isError(n) && n == NUMEM_PAGE_SIZE ? 0 : -1;
}

struct numem_tmem_codec *numem_host_tmem_codec_create(enum numem_tmem_codec_id id, uint32_t nr_cpus)
{
	if ((id != NUMEM_TMEM_CODEC_LZ4 && id != NUMEM_TMEM_CODEC_ZSTD) || !nr_cpus)
		return NULL;
	struct host_codec *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = id;
	c->nr_cpus = nr_cpus;
	c->state = calloc(nr_cpus, sizeof(*c->state));
	if (!c->state)
		goto fail;
	c->pub.ctx = c;
	if (id == NUMEM_TMEM_CODEC_LZ4) {
		c->pub.name = "lz4";
		c->pub.compress = lz4_compress;
		c->pub.decompress = lz4_decompress;
		for (uint32_t i = 0; i < nr_cpus; i++)
			if (!(c->state[i] = malloc((size_t)LZ4_sizeofState())))
				goto fail;
	} else {
		c->pub.name = "zstd";
		c->pub.compress = zstd_compress;
		c->pub.decompress = zstd_decompress;
		if (!(c->dctx = calloc(nr_cpus, sizeof(*c->dctx))))
			goto fail;
	}
	return &c->pub;
fail:
	numem_host_tmem_codec_destroy(&c->pub);
	return NULL;
}

void numem_host_tmem_codec_destroy(struct numem_tmem_codec *codec)
{
	if (!codec)
		return;
	struct host_codec *c = (struct host_codec *)codec;
	for (uint32_t i = 0; c->state && i < c->nr_cpus; i++) {
		if (c->id == NUMEM_TMEM_CODEC_ZSTD)
			ZSTD_freeCCtx(c->state[i]);
		else
			free(c->state[i]);
	}
	for (uint32_t i = 0; c->dctx && i < c->nr_cpus; i++)
		ZSTD_freeDCtx(c->dctx[i]);
	free(c->state);
	free(c->dctx);
	free(c);
}

/* ---- page copy ---- */

#ifdef HOST_COPY_AVX512
/* 4096 bytes in 64-byte aligned loads and stores, four lines per step
 * (aligned moves measured ~1.5 ns a cycle faster than unaligned ones on
 * the same aligned pages). */
__attribute__((target("avx512f"))) static void copy_page_avx512(void *dst, const void *src)
{
	if (((uintptr_t)dst | (uintptr_t)src) & 63) {
		memcpy(dst, src, NUMEM_PAGE_SIZE);
		return;
	}
	char *d = dst;
	const char *s = src;
	for (size_t i = 0; i < NUMEM_PAGE_SIZE; i += 256) {
		__m512i a = _mm512_load_si512(s + i), b = _mm512_load_si512(s + i + 64),
		        c = _mm512_load_si512(s + i + 128), e = _mm512_load_si512(s + i + 192);
		_mm512_store_si512(d + i, a);
		_mm512_store_si512(d + i + 64, b);
		_mm512_store_si512(d + i + 128, c);
		_mm512_store_si512(d + i + 192, e);
	}
}
#endif

void (*numem_host_tmem_copy_page(void))(void *dst, const void *src)
{
	/* Unset, empty or "auto": the CPU decides.  Any other value turns the
	 * routine off ("memcpy", and "off", "0", a typo: never silently the
	 * vector loop someone tried to turn off). */
	const char *env = getenv("NUMEM_TMEM_COPY");
	if (env && *env && strcmp(env, "auto"))
		return NULL;
#ifdef HOST_COPY_AVX512
	/* libgcc's / compiler-rt's check includes the OS's XCR0 (zmm state on) */
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return copy_page_avx512;
#endif
	return NULL;
}
