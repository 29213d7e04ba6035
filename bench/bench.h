/*
 * bench.h - shared by the benchmarks: timing, medians, result tables and
 * the --json contract {"bench": name, "results": [{"case", "impl",
 * "ns_per_op", ...}]}.
 *
 * The machine is shared and noisy, so every benchmark interleaves its
 * contenders rep by rep and reports the median of the reps.
 */
#ifndef NUMEM_BENCH_H
#define NUMEM_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_RESULTS 64

struct bench_result {
	char case_name[48];
	char impl[24];
	double ns_per_op; /* median */
	double ops;       /* per rep */
	char note[96];
};

struct bench {
	const char *name;
	bool json;
	bool small;         /* --small: shrink sizes (for callgrind runs) */
	const char *filter; /* --case PREFIX: run only matching cases */
	int reps;
	struct bench_result r[BENCH_MAX_RESULTS];
	int n;
};

static inline uint64_t bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void bench_args(struct bench *b, int argc, char **argv, int default_reps)
{
	b->reps = default_reps;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			b->json = true;
		else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			b->reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--case") && i + 1 < argc)
			b->filter = argv[++i];
		else if (!strcmp(argv[i], "--small"))
			b->small = true;
		else if (!strcmp(argv[i], "--help")) {
			printf("usage: %s [--json] [--reps N] [--case PREFIX] [--small]\n",
			       argv[0]);
			exit(0);
		}
	}
	if (b->reps < 1)
		b->reps = 1;
	if (b->reps > 64)
		b->reps = 64;
}

/* Is a case selected by --case? */
static inline bool bench_want(const struct bench *b, const char *c)
{
	return !b->filter || !strncmp(c, b->filter, strlen(b->filter));
}

static inline void bench_add(struct bench *b, const char *c, const char *impl, double *ns_samples,
                             int n, double ops, const char *note)
{
	if (b->n == BENCH_MAX_RESULTS)
		return;
	struct bench_result *r = &b->r[b->n++];
	snprintf(r->case_name, sizeof(r->case_name), "%s", c);
	snprintf(r->impl, sizeof(r->impl), "%s", impl);
	r->ns_per_op = bench_median(ns_samples, n) / ops;
	r->ops = ops;
	snprintf(r->note, sizeof(r->note), "%s", note ? note : "");
}

static inline const struct bench_result *bench_find(const struct bench *b, const char *c,
                                                    const char *impl)
{
	for (int i = 0; i < b->n; i++)
		if (!strcmp(b->r[i].case_name, c) && !strcmp(b->r[i].impl, impl))
			return &b->r[i];
	return NULL;
}

/* Table with a ratio column against `baseline` impl of the same case. */
static inline void bench_print(const struct bench *b, const char *baseline)
{
	if (b->json) {
		printf("{\"bench\": \"%s\", \"results\": [", b->name);
		for (int i = 0; i < b->n; i++)
			printf("%s\n  {\"case\": \"%s\", \"impl\": \"%s\", \"ns_per_op\": %.4f}",
			       i ? "," : "", b->r[i].case_name, b->r[i].impl, b->r[i].ns_per_op);
		printf("\n]}\n");
		return;
	}
	printf("%-22s %-10s %14s %10s  %s\n", "case", "impl", "ns/op (median)",
	       baseline ? "ratio" : "", "");
	for (int i = 0; i < b->n; i++) {
		const struct bench_result *r = &b->r[i];
		const struct bench_result *base =
		    baseline ? bench_find(b, r->case_name, baseline) : NULL;
		char ratio[16] = "";
		if (base && base != r && base->ns_per_op > 0)
			snprintf(ratio, sizeof(ratio), "%.2fx", r->ns_per_op / base->ns_per_op);
		printf("%-22s %-10s %14.3f %10s  %s\n", r->case_name, r->impl, r->ns_per_op, ratio,
		       r->note);
	}
}

/* Progress on a terminal only. */
static inline void bench_progress(const struct bench *b, const char *what, int rep)
{
	if (!b->json && isatty(2))
		fprintf(stderr, "\r%-40s rep %d/%d   ", what, rep + 1, b->reps);
}

static inline void bench_progress_done(const struct bench *b)
{
	if (!b->json && isatty(2))
		fprintf(stderr, "\r%60s\r", "");
}

#endif
