/*
 * tmem_split.c - experiments that split tmem's put+get time (issue 11;
 * docs/PERFORMANCE.md, "Where the put+get time goes").  Not a contract
 * bench: bench/tmem-split.sh builds it against variants of the library (as
 * is, its two raw copies cut to 64 bytes, its lock made a compiler barrier)
 * and runs it.  Every figure is ns per put+get cycle (or per op), the
 * median of 312 blocks of 64 cycles, numem's block then the peer's.
 *
 *   base    numem against the memcpy peer (page -> store -> page, glibc)
 *   pfns    which store page consecutive put+get cycles use (reads the
 *           CPU's spare from tmem's internals: built with -DPEEK)
 *   rotate  the peer with 1 .. 256 heap pages as its store, rotating
 *   offset  the peer with its store / destination moved off page alignment
 *   ops     a get and a flush page that miss (no copy at all)
 *   2t      one thread, then two CPUs of node 0 at once, each its own pool
 *
 * HOSTCOPY=1 in the environment gives tmem the host's page copy
 * (numem_host_tmem_copy_page); without it tmem copies with memcpy.
 */
#include <numem/domain.h>
#include <numem/host.h>
#include <numem/tmem.h>
#include <pthread.h>

#include "bench.h"
#include "tmem_pages.h"
#ifdef PEEK
#include "tmem_internal.h"
#endif

#define PAGE 4096
#define BLK  64
#define NB   312

static struct numem_system sys;
static struct numem_slab slab;
static struct numem_tmem *tm;
static struct numem_cpu *cpu;
static const struct numem_platform *plat;
static uint32_t pool;
static struct numem_tmem_oid oid = {{1, 2, 3}};
static uint64_t f, g;

static void die(const char *what, const struct numem_diag *d)
{
	fprintf(stderr, "tmem_split: %s: %s\n", what, d ? d->msg : "");
	exit(1);
}

static void boot(void)
{
	char err[256];
	static struct numem_spec spec;
	if (numem_spec_add_numa_arg(&spec, "node,nodeid=0,cpus=0-1,mem=1G", err, sizeof(err)) ||
	    numem_spec_add_numa_arg(&spec, "node,nodeid=1,cpus=2-3,mem=1G", err, sizeof(err)) ||
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
	struct numem_tmem_opts to = {0};
	if (getenv("HOSTCOPY"))
		to.copy_page = numem_host_tmem_copy_page();
	if (numem_tmem_create(&sys.heap, &slab, NULL, &to, &tm, &d))
		die("tmem", &d);
}

static uint64_t frame_of(struct numem_cpu *c)
{
	numem_pfn_t p;
	struct numem_diag d;
	if (numem_alloc(c, 0, 0, NULL, &p, &d))
		die("alloc", &d);
	return p.v;
}

static uint8_t *virt(uint64_t pfn)
{
	return bench_page_virt(plat, pfn);
}

/* glibc's memcpy, as the contract bench's peer calls it */
static void *(*volatile page_copy)(void *, const void *, size_t) = memcpy;

static double put_get_block(void)
{
	static double b[NB];
	struct numem_diag d;
	for (int k = 0; k < NB; k++) {
		uint64_t t0 = bench_now();
		for (uint32_t i = 0; i < BLK; i++)
			if (numem_tmem_put(tm, cpu, NUMEM_TMEM_HOST, pool, &oid, i, f, &d) !=
			        NUMEM_TMEM_HIT ||
			    numem_tmem_get(tm, cpu, NUMEM_TMEM_HOST, pool, &oid, i, g, &d) !=
			        NUMEM_TMEM_HIT)
				die("put/get", &d);
		b[k] = (double)(bench_now() - t0) / BLK;
	}
	return bench_median(b, NB);
}

/* The peer: src -> store[r] + soff -> dst + doff, r rotating over nstore. */
static double peer_block(const uint8_t *src, uint8_t *const *store, int nstore, size_t soff,
                         uint8_t *dst)
{
	static double b[NB];
	int r = 0;
	for (int k = 0; k < NB; k++) {
		uint64_t t0 = bench_now();
		for (int i = 0; i < BLK; i++) {
			uint8_t *s = store[r] + soff;
			r = r + 1 == nstore ? 0 : r + 1;
			page_copy(s, src, PAGE);
			__asm__ volatile("" ::"r"(s) : "memory");
			page_copy(dst, s, PAGE);
			__asm__ volatile("" ::"r"(dst) : "memory");
		}
		b[k] = (double)(bench_now() - t0) / BLK;
	}
	return bench_median(b, NB);
}

struct thr {
	struct numem_cpu *c;
	uint32_t pool;
	uint64_t f, g;
	int n;
	struct numem_tmem_oid oid;
};

static void *thr_run(void *arg)
{
	struct thr *a = arg;
	struct numem_diag d;
	for (int i = 0; i < a->n; i++)
		if (numem_tmem_put(tm, a->c, NUMEM_TMEM_HOST, a->pool, &a->oid, (uint32_t)i & 63,
		                   a->f, &d) != NUMEM_TMEM_HIT ||
		    numem_tmem_get(tm, a->c, NUMEM_TMEM_HOST, a->pool, &a->oid, (uint32_t)i & 63,
		                   a->g, &d) != NUMEM_TMEM_HIT)
			die("thread put/get", &d);
	return NULL;
}

static void two_threads(void)
{
	struct numem_diag d;
	struct thr a[2];
	for (int k = 0; k < 2; k++) {
		a[k] = (struct thr){.c = numem_heap_cpu(&sys.heap, (uint32_t)k),
		                    .n = 200000,
		                    .oid = {{7, 7, (uint64_t)k}}};
		a[k].f = frame_of(a[k].c);
		a[k].g = frame_of(a[k].c);
		bench_fill_random(virt(a[k].f), 5 + (uint64_t)k);
		if (numem_tmem_new_pool(tm, a[k].c, NUMEM_TMEM_HOST, 0, NULL, &a[k].pool, &d) !=
		    NUMEM_TMEM_HIT)
			die("pool", &d);
	}
	for (int r = 0; r < 5; r++) {
		uint64_t t0 = bench_now();
		thr_run(&a[0]);
		uint64_t t1 = bench_now();
		pthread_t th[2];
		for (int k = 0; k < 2; k++)
			pthread_create(&th[k], NULL, thr_run, &a[k]);
		for (int k = 0; k < 2; k++)
			pthread_join(th[k], NULL);
		uint64_t t2 = bench_now();
		printf("1 thread %.1f ns/cycle; 2 threads %.1f ns/cycle each (%.2fx one "
		       "thread's throughput)\n",
		       (double)(t1 - t0) / a[0].n, (double)(t2 - t1) / a[0].n,
		       2.0 * (double)(t1 - t0) / (double)(t2 - t1));
	}
}

static void misses(void)
{
	static double b[NB];
	struct numem_diag d;
	for (int r = 0; r < 3; r++) {
		for (int k = 0; k < NB; k++) {
			uint64_t t0 = bench_now();
			for (uint32_t i = 0; i < BLK; i++)
				numem_tmem_get(tm, cpu, NUMEM_TMEM_HOST, pool, &oid, i, g, &d);
			b[k] = (double)(bench_now() - t0) / BLK;
		}
		printf("get that misses %.1f ns;", bench_median(b, NB));
		for (int k = 0; k < NB; k++) {
			uint64_t t0 = bench_now();
			for (uint32_t i = 0; i < BLK; i++)
				numem_tmem_flush_page(tm, cpu, NUMEM_TMEM_HOST, pool, &oid, i, &d);
			b[k] = (double)(bench_now() - t0) / BLK;
		}
		printf(" flush page that misses %.1f ns\n", bench_median(b, NB));
	}
}

int main(int argc, char **argv)
{
	const char *exp = argc > 1 ? argv[1] : "base";
	struct numem_diag d;
	boot();
	f = frame_of(cpu);
	g = frame_of(cpu);
	uint8_t *src = virt(f), *dst = virt(g);
	bench_fill_random(src, 1);
	if (numem_tmem_new_pool(tm, cpu, NUMEM_TMEM_HOST, 0, NULL, &pool, &d) != NUMEM_TMEM_HIT)
		die("pool", &d);
	uint8_t *al = aligned_alloc(PAGE, 2 * PAGE);
	uint8_t *one[1] = {al};
	put_get_block(); /* warm */
	peer_block(src, one, 1, 0, dst);
	if (!strcmp(exp, "base")) {
		for (int r = 0; r < 5; r++) {
			double a = put_get_block(), p = peer_block(src, one, 1, 0, dst);
			printf("numem %.1f  memcpy %.1f  ratio %.2f\n", a, p, a / p);
		}
	} else if (!strcmp(exp, "pfns")) {
#ifdef PEEK
		const struct tm_preload *pl = &((struct numem_tmem *)tm)->preload[cpu->id];
		printf("frames: source 0x%llx, destination 0x%llx\n", (unsigned long long)f,
		       (unsigned long long)g);
		for (uint32_t i = 0; i < 8; i++) {
			numem_tmem_put(tm, cpu, NUMEM_TMEM_HOST, pool, &oid, i, f, &d);
			int during = pl->has_pfn;
			numem_tmem_get(tm, cpu, NUMEM_TMEM_HOST, pool, &oid, i, g, &d);
			printf("cycle %u: spare during the put %d, after the get: pfn 0x%llx node "
			       "%u\n",
			       i, during, (unsigned long long)pl->pfn, pl->pfn_node);
		}
#else
		puts("pfns: build with -DPEEK -I src/core/tmem");
#endif
	} else if (!strcmp(exp, "rotate")) {
		static const int ns[] = {1, 2, 4, 8, 16, 64, 256};
		for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
			uint8_t *st[256];
			uint64_t pf[256];
			for (int i = 0; i < ns[j]; i++) {
				pf[i] = frame_of(cpu);
				st[i] = virt(pf[i]);
				memset(st[i], 1, PAGE);
			}
			double p = peer_block(src, st, ns[j], 0, dst),
			       p1 = peer_block(src, one, 1, 0, dst), a = put_get_block();
			printf(
			    "peer, %3d heap pages as store: %.1f ns (one aligned_alloc page %.1f; "
			    "numem %.1f)\n",
			    ns[j], p, p1, a);
			for (int i = 0; i < ns[j]; i++)
				numem_free(cpu, numem_pfn(pf[i]), 0, &d);
		}
	} else if (!strcmp(exp, "offset")) {
		static const size_t offs[] = {0, 64, 2048, 32, 1};
		for (size_t j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			double p = peer_block(src, one, 1, offs[j], dst), a = put_get_block();
			printf("peer, store at page offset %4zu: %.1f ns (numem %.1f)\n", offs[j],
			       p, a);
		}
	} else if (!strcmp(exp, "ops")) {
		misses();
	} else if (!strcmp(exp, "2t")) {
		two_threads();
	} else {
		fprintf(stderr, "usage: tmem_split base|pfns|rotate|offset|ops|2t\n");
		return 2;
	}
	return 0;
}
