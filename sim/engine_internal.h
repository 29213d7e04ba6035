/*
 * engine_internal.h - the simulator engine's state, shared by the files of
 * sim/ that run phases (engine.c and one file per phase family).  Not a
 * public header: the simulator's interface is numem/sim.h.
 */
#ifndef NUMEM_SIM_ENGINE_INTERNAL_H
#define NUMEM_SIM_ENGINE_INTERNAL_H

#include <numem/sim.h>

struct host_block {
	uint64_t pfn;
	uint8_t order;
};

struct engine {
	const struct sim_scenario *sc;
	const struct sim_opts *opts;
	struct sim_run *run;
	struct numem_system sys;
	struct numem_slab *slab;
	struct numem_domains *doms;
	struct numem_domain *dom[SIM_MAX_DOMAINS + 1]; /* by scenario index; last: the hog */
	struct numem_res res[SIM_MAX_DOMAINS + 1];     /* how each domain gets memory */
	uint64_t rng;
	uint64_t op;
	struct host_block *host;
	uint64_t nr_host, cap_host;
	struct sim_tracer tracer; /* tracer.buf is NULL when this run is not traced */
	/* replay: recorded pfn -> the block the replay got (open addressing) */
	uint64_t *rkey, *rval;
	uint8_t *rorder;
	uint64_t rcap;
	uint64_t total_ops;      /* for the progress bar */
	const uint32_t *weights; /* the running churn phase's order mix, or NULL */
	uint64_t weight_sum;
};

/* The scenario's random number generator (xorshift64): one seed, one run. */
uint64_t engine_rnd(struct engine *e);
/* One simulated operation passed: the clock, samples, trace drains and the
 * progress bar follow it. */
void engine_tick(struct engine *e);
/* The CPU a domain runs its reservations on (its first vcpu's). */
struct numem_cpu *engine_dom_cpu(struct engine *e, struct numem_domain *d);
/* A domain's scenario index by name ("hog": SIM_MAX_DOMAINS), or -1. */
int engine_find_domain(struct engine *e, const char *name);

#endif
