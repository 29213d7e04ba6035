/*
 * relayout.c - benchmark of live NUMA relayout (relayout.h).
 *
 *   stripe-128m, stripe-64g, stripe-1t
 *        a 3-node machine (equal contiguous nodes) striped across nodes
 *        0,1,2 in 256-page blocks (the 2013 dnuma patchset's case: 9
 *        minutes for 128 MiB); ns per numem_relayout_commit() (the layout
 *        is built before the clock starts).  128m and 64g are fully
 *        initialised and free; 1t boots deferred, as a huge machine does
 *        (a first helping per zone initialised and free, the rest follows
 *        the layout without being visited)
 *   stripe-256g (only with --case stripe-256g)
 *        the same, fully initialised (2 GiB of descriptors)
 *   stripe-64g-half-allocated
 *        the same after each node's CPU allocated half of the node in
 *        single pages (2/3 of those become pending)
 *   free-path-idle
 *        ns per numem_free() of a single page (batches of 256 after 256
 *        allocations; the per-CPU cache drains every 31 pages or so), impl
 *        numem: relayout compiled in and used once (a commit moved 1024
 *        pages elsewhere, so the relayout state and section marks exist),
 *        impl numem-plain: the same source built with NUMEM_NO_RELAYOUT
 *        (bench/relayout-plain, run as a child process, rep by rep
 *        interleaved with numem's).
 *
 * Contract: --json prints {"bench": "relayout", "results": [...]}.
 */
#include <numem/heap.h>
#include <numem/relayout.h>
#include <numem/topo.h>

#include "bench.h"

#ifndef RELAYOUT_PLAIN
#include <libgen.h>
#include <numem/host.h>
#endif

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define TIB (1ull << 40)

/* A calloc platform for the small machines (both builds). */
static void *mini_alloc(void *ctx, size_t bytes, size_t align, numem_nid_t nid)
{
	(void)ctx, (void)nid;
	void *p;
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (posix_memalign(&p, align, bytes ? bytes : 1))
		return NULL;
	memset(p, 0, bytes);
	return p;
}

static void mini_free(void *ctx, void *p, size_t bytes)
{
	(void)ctx, (void)bytes;
	free(p);
}

static uint64_t mini_clock(void *ctx)
{
	(void)ctx;
	return bench_now();
}

static const struct numem_platform mini = {
    .meta_alloc = mini_alloc, .meta_free = mini_free, .clock_ns = mini_clock};

struct sysm {
	const struct numem_platform *plat;
	struct numem_srat srat;
	struct numem_srat_cpu cpu[3];
	struct numem_srat_mem mem[3];
	struct numem_topo *topo;
	struct numem_frametable ft;
	struct numem_heap heap;
};

/* 3 nodes of `bytes` each, node n at n * bytes. */
static void sys_boot(struct sysm *s, const struct numem_platform *plat, uint64_t bytes,
                     bool deferred)
{
	memset(s, 0, sizeof(*s));
	s->plat = plat;
	for (uint32_t n = 0; n < 3; n++) {
		s->cpu[n] = (struct numem_srat_cpu){
		    .type = NUMEM_SRAT_X2APIC, .pxm = n, .id = n, .enabled = true};
		s->mem[n] = (struct numem_srat_mem){
		    .pxm = n, .base = n * bytes, .length = bytes, .flags = 1};
	}
	s->srat = (struct numem_srat){.nr_cpu = 3, .cpu = s->cpu, .nr_mem = 3, .mem = s->mem};
	struct numem_topo_input in = {.srat = &s->srat};
	struct numem_diag d = {0};
	struct numem_frametable_opts fo = {.deferred = deferred};
	struct numem_heap_opts ho = {.deferred = deferred};
	if (numem_topo_build(plat, &in, NULL, &s->topo, &d) ||
	    numem_frametable_init(plat, s->topo, &fo, &s->ft, &d) ||
	    numem_heap_init(&s->heap, plat, s->topo, &s->ft, &ho, &d)) {
		fprintf(stderr, "boot: %s\n", d.msg);
		exit(1);
	}
}

static void sys_down(struct sysm *s)
{
	numem_heap_release(&s->heap);
	numem_frametable_release(&s->ft);
	numem_topo_release(s->topo);
}

/* The timed loop, on its own for callgrind (--toggle-collect=timed_frees). */
__attribute__((noinline)) void timed_frees(struct numem_cpu *cpu, const numem_pfn_t *pfn, int n);
__attribute__((noinline)) void timed_frees(struct numem_cpu *cpu, const numem_pfn_t *pfn, int n)
{
	for (int i = 0; i < n; i++)
		numem_free(cpu, pfn[i], 0, NULL);
}

/* One rep of the free path: ns per free. */
static double free_path_rep(bool use_relayout)
{
	static struct sysm s;
	sys_boot(&s, &mini, 256 * MIB, false);
	struct numem_diag d = {0};
	(void)use_relayout;
#ifndef RELAYOUT_PLAIN
	if (use_relayout) { /* relayout used once, elsewhere: state and marks exist */
		struct numem_memlayout l;
		numem_memlayout_init(&l, &mini);
		uint64_t e = s.topo->node[2].end_pfn;
		if (numem_memlayout_push(&l, &s.heap, e - 1024, e, 1, &d) ||
		    numem_relayout_commit(&s.heap, &l, NULL, &d)) {
			fprintf(stderr, "commit: %s\n", d.msg);
			exit(1);
		}
		numem_memlayout_release(&l);
	}
#endif
	struct numem_cpu *cpu = numem_heap_cpu(&s.heap, 0);
	enum { BATCH = 256, ROUNDS = 4096 };
	static numem_pfn_t pfn[BATCH];
	uint64_t ns = 0;
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < BATCH; i++)
			if (numem_alloc(cpu, 0, 0, NULL, &pfn[i], &d)) {
				fprintf(stderr, "alloc: %s\n", d.msg);
				exit(1);
			}
		uint64_t t0 = bench_now();
		timed_frees(cpu, pfn, BATCH);
		ns += bench_now() - t0;
	}
	sys_down(&s);
	return (double)ns / ((double)BATCH * ROUNDS);
}

#ifdef RELAYOUT_PLAIN
/* The plain build: one rep per run, its ns per free on stdout. */
int main(void)
{
	printf("%.4f\n", free_path_rep(false));
	return 0;
}
#else

static char plain_path[4096];

static double plain_rep(void)
{
	FILE *f = popen(plain_path, "r");
	double v = -1;
	if (!f || fscanf(f, "%lf", &v) != 1 || pclose(f) != 0 || v < 0) {
		fprintf(stderr, "%s: no figure\n", plain_path);
		exit(1);
	}
	return v;
}

static void bench_free_path(struct bench *b)
{
	double t[64], p[64];
	for (int rep = 0; rep < b->reps; rep++) {
		bench_progress(b, "free-path-idle", rep);
		p[rep] = plain_rep();
		t[rep] = free_path_rep(true);
	}
	bench_progress_done(b);
	char note[96];
	double a = bench_median(t, b->reps), c = bench_median(p, b->reps);
	snprintf(note, sizeof(note), "%+.1f%% against numem-plain", 100.0 * (a - c) / c);
	bench_add(b, "free-path-idle", "numem", t, b->reps, 1, note);
	bench_add(b, "free-path-idle", "numem-plain", p, b->reps, 1, "NUMEM_NO_RELAYOUT build");
}

/* This thread's CPU time: what the commit cost without the time the
 * shared machine took the CPU away. */
static uint64_t cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One stripe commit on a fresh machine of `total` bytes (3 nodes). */
static double stripe_rep(uint64_t total, bool deferred, bool half, struct numem_relayout_result *r,
                         double *build_ns, double *cpu_ns)
{
	struct numem_host *host = numem_host_create();
	numem_host_set_log(host, NULL, NUMEM_LOG_ERROR);
	const struct numem_platform *plat = numem_host_platform(host);
	static struct sysm s;
	sys_boot(&s, plat, (total / 3) & ~(4 * MIB - 1), deferred);
	struct numem_diag d = {0};
	if (half)
		for (uint32_t c = 0; c < 3; c++) {
			struct numem_cpu *cpu = numem_heap_cpu(&s.heap, c);
			uint64_t want = s.topo->node[c].ram_pages / 2;
			numem_pfn_t pfn;
			for (uint64_t k = 0; k < want; k++)
				if (numem_alloc(cpu, 0, 0, NULL, &pfn, &d)) {
					fprintf(stderr, "alloc: %s\n", d.msg);
					exit(1);
				}
		}
	static const numem_nid_t nodes[] = {0, 1, 2};
	struct numem_memlayout l;
	numem_memlayout_init(&l, plat);
	uint64_t t0 = bench_now();
	if (numem_memlayout_stripe(&l, &s.heap, 0, UINT64_MAX, nodes, 3, 256, &d)) {
		fprintf(stderr, "layout: %s\n", d.msg);
		exit(1);
	}
	uint64_t c1 = cpu_now(), t1 = bench_now();
	if (numem_relayout_commit(&s.heap, &l, r, &d)) {
		fprintf(stderr, "commit: %s\n", d.msg);
		exit(1);
	}
	uint64_t t2 = bench_now();
	*cpu_ns = (double)(cpu_now() - c1);
	*build_ns = (double)(t1 - t0);
	if (total <= GIB && numem_heap_verify(&s.heap, &d)) {
		fprintf(stderr, "verify after the commit: %s\n", d.msg);
		exit(1);
	}
	numem_memlayout_release(&l);
	sys_down(&s);
	numem_host_destroy(host);
	return (double)(t2 - t1);
}

static void bench_stripe(struct bench *b, const char *name, uint64_t total, bool deferred,
                         bool half, int reps)
{
	double t[64], cpu[64], build = 0;
	struct numem_relayout_result r = {0};
	reps = reps < b->reps ? reps : b->reps;
	for (int rep = 0; rep < reps; rep++) {
		bench_progress(b, name, rep);
		t[rep] = stripe_rep(total, deferred, half, &r, &build, &cpu[rep]);
	}
	bench_progress_done(b);
	char note[96];
	snprintf(note, sizeof(note), "cpu %.2f ms; %u runs, %llu MiB moved, %llu pending%s",
	         bench_median(cpu, reps) / 1e6, r.nr_changes,
	         (unsigned long long)(r.pages_moved >> 8), (unsigned long long)r.pages_pending,
	         deferred ? ", deferred" : "");
	bench_add(b, name, "numem", t, reps, 1, note);
	if (!b->json)
		fprintf(stderr,
		        "%s: layout built in %.2f ms (not timed), %llu blocks moved, %llu "
		        "deferred pages followed, longest zone-lock window %.2f ms\n",
		        name, build / 1e6, (unsigned long long)r.blocks_moved,
		        (unsigned long long)r.pages_deferred, (double)r.max_lock_ns / 1e6);
}

int main(int argc, char **argv)
{
	struct bench b = {.name = "relayout"};
	bench_args(&b, argc, argv, 5);
	char self[4096];
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(plain_path, sizeof(plain_path), "%s/relayout-plain", dirname(self));
	if (bench_want(&b, "stripe-128m"))
		bench_stripe(&b, "stripe-128m", 128 * MIB, false, false, 64);
	if (bench_want(&b, "stripe-64g") && !b.small) {
		bench_stripe(&b, "stripe-64g", 64 * GIB, false, false, 3);
		bench_stripe(&b, "stripe-64g-half-allocated", 64 * GIB, false, true, 3);
	}
	if (bench_want(&b, "stripe-1t") && !b.small)
		bench_stripe(&b, "stripe-1t", TIB, true, false, 3);
	/* Not in the contract (2 GiB of descriptors): the fully initialised
	 * machine nearest to 1 TiB that fits here; only when asked by name. */
	if (b.filter && !strcmp(b.filter, "stripe-256g"))
		bench_stripe(&b, "stripe-256g", 256 * GIB, false, false, 3);
	if (bench_want(&b, "free-path-idle"))
		bench_free_path(&b);
	bench_print(&b, NULL);
	return 0;
}
#endif
