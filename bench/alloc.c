/*
 * alloc.c - the page allocator against general and NUMA allocators, each in
 * its own process.
 *
 * This is the driver.  It links no allocator (only the C library) and for
 * every case runs rounds: round r execs every allocator's worker
 * (build/bench/alloc-<impl>, alloc_worker.c) once for the case, in an
 * order rotated by r, and collects the worker's figure.  Each worker is a
 * fresh process that warms up before its timed loop (the -cold cases do
 * not).  Per case and allocator it reports the median of the rounds, the
 * minimum and the spread (max - min).
 *
 *   order0-pair           alloc + free of one 4 KiB page, back to back
 *   order0-pair-cold      the first 1000 pairs of a fresh process, one
 *                         byte written to each page (first touch included)
 *   batch64k-random       64K single pages allocated, then freed in random
 *                         order (ns per page)
 *   batch64k-random-cold  the same in a fresh process, one byte written to
 *                         each page as it is allocated (page faults included)
 *   order9-pair           alloc + free of one 2 MiB block (order 9)
 *   order0-pair-2t        order0-pair on two threads at once, pinned to two
 *                         CPUs (ns per pair per thread); "scaling" =
 *                         2 x order0-pair / this.  Both order0-pair cases
 *                         report the median of 16 parts of about 2 ms
 *                         each (the slower thread's, per part), and
 *                         mean_ns, the whole run's time per pair
 *   obj64-pair            alloc + free of a 64-byte object (numem_kmalloc;
 *                         malloc(64) / mi_malloc(64))
 *   remote-free-2t        one thread allocates order-0 pages, another frees
 *                         them, through a lock-free SPSC ring (ns per pair)
 *   mixed-orders          the simulator's churn mix (70% order 0, 20%
 *                         orders 1-3, 10% order 9) over 1024 slots: ns per
 *                         operation (an alloc or a free)
 *   interleave-order0     order-0 pairs under an interleave policy over all
 *                         nodes (numem; libnuma's numa_alloc_interleaved,
 *                         an mmap per call: no other peer has one)
 *   boot-64t              numem only: the whole system boot of a 64 TiB
 *                         two-node machine; ns_per_op is the boot time in
 *                         ns, with resident memory as extra fields
 *
 * Besides, in the rounds of order0-pair-2t, the machine's own two-thread
 * limit: private loops (registers only) on one and on two threads, timed
 * the same way (parts, pinned threads, median part).  Two loops: "chain",
 * one dependent multiply chain (about 0.3 instructions per cycle, which
 * leaves a core's issue slots free), and "wide", six independent chains
 * (about 5 per cycle, as the allocators' fast paths run): on a virtual
 * machine whose vCPUs may share a physical core with another thread, only
 * the wide loop shows what such code can get from two CPUs.
 *
 * Contract: --json prints {"bench": "alloc", "results": [{"case", "impl",
 * "ns_per_op" (median), "min_ns", "max_ns", "spread_ns", "rounds", ...}],
 * "machine_two_thread_scaling", "loadavg_start", "loadavg_end"}.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"

#define MAX_ROUNDS 64
#define MAX_EXTRA  8

static const char *const impls[] = {"numem", "jemalloc", "mimalloc", "glibc", "libnuma"};
#define NIMPL ((int)(sizeof(impls) / sizeof(impls[0])))

static const char *const cases[] = {
    "order0-pair",  "order0-pair-cold",  "batch64k-random", "batch64k-random-cold",
    "order9-pair",  "order0-pair-2t",    "obj64-pair",      "remote-free-2t",
    "mixed-orders", "interleave-order0", "boot-64t",
};
#define NCASE ((int)(sizeof(cases) / sizeof(cases[0])))

struct cell {
	int n; /* rounds with a figure */
	bool unsupported, failed;
	double ns[MAX_ROUNDS];
	int nextra;
	char extra_key[MAX_EXTRA][24];
	double extra[MAX_EXTRA][MAX_ROUNDS];
};

static struct cell cell[NCASE][NIMPL];
static double machine_scaling[MAX_ROUNDS], machine_scaling_wide[MAX_ROUNDS];
static int n_machine;
static char worker_dir[PATH_MAX];

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];
	memcpy(s, v, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double vmin(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double vmax(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the machine's own limit ------------------------------------------- */

/* A loop touching only a thread's registers, about as long per step as an
 * order-0 pair. */
__attribute__((noinline)) static uint64_t private_loop(long n, bool wide)
{
	uint64_t t0 = now_ns(), x = 1;
	if (!wide) {
		for (long i = 0; i < n * 8; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			__asm__ volatile("" ::"r"(x));
		}
		return now_ns() - t0;
	}
	uint64_t a = 1, b = 2, c = 3, d = 4, e = 5;
	for (long i = 0; i < n * 16; i++) {
		a += (uint64_t)i;
		b ^= a;
		c += b;
		d ^= (uint64_t)i;
		e += d;
		x ^= e;
		__asm__ volatile("" ::"r"(a), "r"(b), "r"(c), "r"(d), "r"(e), "r"(x));
	}
	return now_ns() - t0;
}

/* As the workers' order0-pair cases (alloc_worker.c): PARTS parts, two
 * threads pinned to two CPUs and started together per part, the median
 * part's slower thread. */
#define PARTS 16

struct parg {
	_Alignas(64) long per;
	bool wide;
	int host_cpu;
	pthread_barrier_t *start;
	uint64_t ns[PARTS];
};

static void *private_thread(void *a)
{
	struct parg *p = a;
	bench_pin_to(p->host_cpu);
	for (int k = 0; k < PARTS; k++) {
		pthread_barrier_wait(p->start);
		p->ns[k] = private_loop(p->per, p->wide);
	}
	return NULL;
}

/* 2 x (one thread's median part) / (two threads' median part). */
static double private_scaling(long n, bool wide)
{
	long per = n / PARTS;
	double one[PARTS], two[PARTS];
	for (int k = 0; k < PARTS; k++)
		one[k] = (double)private_loop(per, wide);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, 2);
	static struct parg pa[2];
	pthread_t tid[2];
	for (int i = 0; i < 2; i++) {
		pa[i] = (struct parg){
		    .per = per, .wide = wide, .host_cpu = bench_host_cpu(i), .start = &start};
		pthread_create(&tid[i], NULL, private_thread, &pa[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	for (int k = 0; k < PARTS; k++)
		two[k] = (double)(pa[0].ns[k] > pa[1].ns[k] ? pa[0].ns[k] : pa[1].ns[k]);
	return 2 * median(one, PARTS) / median(two, PARTS);
}

/* ---- workers ------------------------------------------------------------ */

/* Exec the worker; 0 with its output line in buf, 2 unsupported, -1
 * failure. */
static int run_worker(const char *impl, const char *c, bool small, char *buf, size_t cap)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/alloc-%s", worker_dir, impl);
	int fd[2];
	if (pipe(fd))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fd[0]);
		dup2(fd[1], 1);
		close(fd[1]);
		char *argv[] = {path, "--case", (char *)c, small ? "--small" : NULL, NULL};
		execv(path, argv);
		fprintf(stderr, "alloc: exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(fd[1]);
	size_t len = 0;
	ssize_t r;
	while ((r = read(fd[0], buf + len, cap - 1 - len)) > 0 && len < cap - 1)
		len += (size_t)r;
	buf[len] = 0;
	close(fd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
		return 2;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "alloc: %s --case %s failed (status %d)\n", path, c, st);
		return -1;
	}
	return 0;
}

/* "ns_per_op V ops N KEY V ..." into the cell. */
static int take(struct cell *ce, char *line)
{
	char *save = NULL, *k = strtok_r(line, " \n", &save);
	int got = 0;
	while (k) {
		char *v = strtok_r(NULL, " \n", &save);
		if (!v)
			break;
		double x = strtod(v, NULL);
		if (!strcmp(k, "ns_per_op")) {
			ce->ns[ce->n] = x;
			got = 1;
		} else if (strcmp(k, "ops")) {
			int e;
			for (e = 0; e < ce->nextra; e++)
				if (!strcmp(ce->extra_key[e], k))
					break;
			if (e == ce->nextra && e < MAX_EXTRA)
				snprintf(ce->extra_key[ce->nextra++], 24, "%s", k);
			if (e < MAX_EXTRA)
				ce->extra[e][ce->n] = x;
		}
		k = strtok_r(NULL, " \n", &save);
	}
	if (got)
		ce->n++;
	return got ? 0 : -1;
}

static void loadavg(char *out, size_t cap)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a = -1, b = -1, c = -1;
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
			a = b = c = -1;
		fclose(f);
	}
	snprintf(out, cap, "%.2f %.2f %.2f", a, b, c);
}

static int case_index(const char *c)
{
	for (int i = 0; i < NCASE; i++)
		if (!strcmp(cases[i], c))
			return i;
	return -1;
}

static void usage(const char *argv0)
{
	printf("usage: %s [--json] [--reps N] [--case PREFIX] [--impl NAME] [--small]\n"
	       "  --reps N       rounds per case (default 7; boot-64t at most 3, 1 with --small)\n"
	       "  --case PREFIX  run the cases starting with PREFIX (an exact name runs\n"
	       "                 only that case)\n"
	       "  --impl NAME    only this allocator (numem, jemalloc, mimalloc, glibc,\n"
	       "                 libnuma)\n"
	       "  --small        short loops (a quick check)\n",
	       argv0);
}

int main(int argc, char **argv)
{
	bool json = false, small = false;
	int reps = 7;
	const char *filter = NULL, *only = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--case") && i + 1 < argc)
			filter = argv[++i];
		else if (!strcmp(argv[i], "--impl") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--small"))
			small = true;
		else {
			usage(argv[0]);
			return strcmp(argv[i], "--help") ? 1 : 0;
		}
	}
	reps = reps < 1 ? 1 : reps > MAX_ROUNDS ? MAX_ROUNDS : reps;
	ssize_t l = readlink("/proc/self/exe", worker_dir, sizeof(worker_dir) - 1);
	if (l <= 0) {
		fprintf(stderr, "alloc: readlink /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	worker_dir[l] = 0;
	char *slash = strrchr(worker_dir, '/');
	if (slash)
		*slash = 0;

	char load0[64], load1[64];
	loadavg(load0, sizeof(load0));
	bool exact = filter && case_index(filter) >= 0;
	bool tty = !json && isatty(2);
	for (int ci = 0; ci < NCASE; ci++) {
		const char *c = cases[ci];
		if (filter && (exact ? strcmp(c, filter) : strncmp(c, filter, strlen(filter))))
			continue;
		int boot_max = small ? 1 : 3; /* a boot takes seconds and GiB */
		int rounds = !strcmp(c, "boot-64t") && reps > boot_max ? boot_max : reps;
		for (int r = 0; r < rounds; r++) {
			if (tty)
				fprintf(stderr, "\r%-24s round %d/%d   ", c, r + 1, rounds);
			if (!strcmp(c, "order0-pair-2t") && n_machine < MAX_ROUNDS) {
				machine_scaling[n_machine] =
				    private_scaling(small ? 100000 : 2000000, false);
				machine_scaling_wide[n_machine++] =
				    private_scaling(small ? 100000 : 2000000, true);
			}
			for (int k = 0; k < NIMPL; k++) {
				int ii = (k + r) % NIMPL; /* rotate the order */
				struct cell *ce = &cell[ci][ii];
				if ((only && strcmp(only, impls[ii])) || ce->unsupported)
					continue;
				char buf[512];
				int rc = run_worker(impls[ii], c, small, buf, sizeof(buf));
				if (rc == 2)
					ce->unsupported = true;
				else if (rc || take(ce, buf))
					ce->failed = true;
			}
		}
	}
	if (tty)
		fprintf(stderr, "\r%60s\r", "");
	loadavg(load1, sizeof(load1));

	int fails = 0;
	if (json) {
		printf("{\"bench\": \"alloc\", \"results\": [");
		int first = 1;
		for (int ci = 0; ci < NCASE; ci++)
			for (int ii = 0; ii < NIMPL; ii++) {
				struct cell *ce = &cell[ci][ii];
				fails += ce->failed;
				if (!ce->n)
					continue;
				double med = median(ce->ns, ce->n);
				printf("%s\n  {\"case\": \"%s\", \"impl\": \"%s\", \"ns_per_op\": "
				       "%.4f, "
				       "\"min_ns\": %.4f, \"max_ns\": %.4f, \"spread_ns\": %.4f, "
				       "\"rounds\": %d",
				       first ? "" : ",", cases[ci], impls[ii], med,
				       vmin(ce->ns, ce->n), vmax(ce->ns, ce->n),
				       vmax(ce->ns, ce->n) - vmin(ce->ns, ce->n), ce->n);
				for (int e = 0; e < ce->nextra; e++)
					printf(", \"%s\": %.4f", ce->extra_key[e],
					       median(ce->extra[e], ce->n));
				if (!strcmp(cases[ci], "order0-pair-2t") && cell[0][ii].n)
					printf(", \"scaling\": %.4f",
					       2 * median(cell[0][ii].ns, cell[0][ii].n) / med);
				printf("}");
				first = 0;
			}
		printf("\n]");
		if (n_machine)
			printf(", \"machine_two_thread_scaling\": %.4f"
			       ", \"machine_two_thread_scaling_wide\": %.4f",
			       median(machine_scaling, n_machine),
			       median(machine_scaling_wide, n_machine));
		printf(", \"loadavg_start\": \"%s\", \"loadavg_end\": \"%s\"}\n", load0, load1);
		return fails ? 1 : 0;
	}

	printf("%-21s %-9s %11s %11s %11s %8s %6s  %s\n", "case", "impl", "median ns", "min ns",
	       "spread ns", "ratio", "rounds", "");
	for (int ci = 0; ci < NCASE; ci++)
		for (int ii = 0; ii < NIMPL; ii++) {
			struct cell *ce = &cell[ci][ii];
			fails += ce->failed;
			if (!ce->n)
				continue;
			double med = median(ce->ns, ce->n);
			char ratio[16] = "";
			struct cell *base = &cell[ci][0];
			if (ii && base->n)
				snprintf(ratio, sizeof(ratio), "%.2fx",
				         med / median(base->ns, base->n));
			printf("%-21s %-9s %11.2f %11.2f %11.2f %8s %6d ", cases[ci], impls[ii],
			       med, vmin(ce->ns, ce->n), vmax(ce->ns, ce->n) - vmin(ce->ns, ce->n),
			       ratio, ce->n);
			for (int e = 0; e < ce->nextra; e++)
				printf(" %s=%.1f", ce->extra_key[e], median(ce->extra[e], ce->n));
			if (!strcmp(cases[ci], "order0-pair-2t") && cell[0][ii].n)
				printf(" scaling=%.2fx",
				       2 * median(cell[0][ii].ns, cell[0][ii].n) / med);
			printf("\n");
		}
	if (n_machine)
		printf("\nthis machine's two-thread limit (private loops, same rounds as "
		       "order0-pair-2t): %.2fx for a dependent chain, %.2fx for six "
		       "independent chains (min %.2fx, max %.2fx)\n",
		       median(machine_scaling, n_machine), median(machine_scaling_wide, n_machine),
		       vmin(machine_scaling_wide, n_machine),
		       vmax(machine_scaling_wide, n_machine));
	printf("ratio: allocator's median / numem's median (above 1: numem is faster)\n"
	       "ns per pair; per page for batch64k-*; per operation for mixed-orders; per pair "
	       "per thread for order0-pair-2t; boot-64t: ns per boot\n"
	       "load average: %s at the start, %s at the end\n",
	       load0, load1);
	return fails ? 1 : 0;
}
