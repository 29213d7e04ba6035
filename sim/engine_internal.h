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
	struct engine_tmem *tmem; /* sim/tmem.c: tmem and the guests' frontends, or NULL */
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
/* Take a sample now (free per node, pending, local share). */
void engine_sample(struct engine *e);
/* The owner of each bucket of each node's span under the layout in force
 * (sim_run.map's classes), and the spans. */
void engine_address_map(struct engine *e, uint8_t map[][SIM_MAP_BUCKETS], uint64_t *start,
                        uint64_t *stop);
/* The relayout phase (relayout.c).  0, or -1 with err. */
int engine_relayout(struct engine *e, const struct sim_phase *p, char *err, size_t errlen);

/*
 * sim/tmem.c: tmem under the guests that have a frontend.
 *  start     after the domain manager is up: tmem (unless no domain has a
 *            frontend or the scenario is a baseline) and the guests' state
 *  phase     a tmem phase: p->ops page accesses of the guests
 *  sample    tmem's figures into a sample
 *  phase_done  after phase i: its evictions, shrinker work, pages per node
 *  collect   at the end: totals, the control plane's listing, verify (a
 *            failure or wrong data becomes run->error)
 *  stop      release tmem (before the domains go) and the guests' state
 */
int engine_tmem_start(struct engine *e, char *err, size_t errlen);
int engine_tmem_phase(struct engine *e, const struct sim_phase *p, char *err, size_t errlen);
void engine_tmem_sample(struct engine *e, struct sim_sample *s);
void engine_tmem_phase_done(struct engine *e, uint32_t i);
void engine_tmem_collect(struct engine *e);
void engine_tmem_stop(struct engine *e);

#endif
