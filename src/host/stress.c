/*
 * stress.c - random allocation and freeing on many threads (each thread a
 * set of CPUs), checked against a reference model.
 *
 * The model: a bitmap with one bit per pfn, set while some thread holds the
 * page.  Every allocation sets its pages' bits with atomic fetch-or; a bit
 * already set means the heap handed out a page twice.  Every free clears
 * them.  Each thread also keeps its own list of held blocks and, per node,
 * the pages it holds.  Periodically all threads meet at a barrier, drain
 * nothing, and one of them runs numem_heap_verify() and compares each
 * node's allocated pages with the model's.  Invalid frees (a tail of a
 * held block, a wrong order, a misaligned pfn, a pfn outside RAM) must be
 * rejected with their specific error and change nothing.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host_internal.h"

struct held {
	uint64_t pfn;
	uint8_t order;
	numem_nid_t node;
};

struct stress;

struct worker {
	struct stress *st;
	uint32_t id;
	uint64_t rng;
	uint64_t ops;
	struct held *held;
	uint32_t nr_held;
	uint64_t node_pages[NUMEM_MAX_NODES];
	uint64_t allocs, frees, failures, rejected;
};

struct stress {
	struct numem_system *sys;
	const struct numem_stress_opts *o;
	_Atomic uint64_t *bitmap;
	pthread_barrier_t barrier;
	_Atomic uint64_t done;
	_Atomic int failed;
	pthread_mutex_t msg_lock;
	struct numem_stress_result *res;
	struct worker *w;
	struct numem_policy policies[8];
	uint32_t rounds;           /* verifier rounds every worker joins */
	_Atomic uint32_t finished; /* workers that returned (the poll loop's end) */
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fail(struct stress *st, enum numem_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct stress *st, enum numem_err err, const char *fmt, ...)
{
	pthread_mutex_lock(&st->msg_lock);
	if (!atomic_load(&st->failed)) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(st->res->msg, sizeof(st->res->msg), fmt, ap);
		va_end(ap);
		st->res->err = err;
		atomic_store(&st->failed, 1);
	}
	pthread_mutex_unlock(&st->msg_lock);
}

/* Set (or clear) the model's bits of a block; false if the model disagrees. */
static bool model_mark(struct stress *st, uint64_t pfn, unsigned order, bool set)
{
	for (uint64_t p = pfn; p < pfn + (1ull << order); p++) {
		uint64_t bit = 1ull << (p % 64);
		uint64_t old = set ? atomic_fetch_or(&st->bitmap[p / 64], bit)
		                   : atomic_fetch_and(&st->bitmap[p / 64], ~bit);
		if (!!(old & bit) == set) {
			fail(st, NUMEM_E_CORRUPT, "model: pfn 0x%llx of block 0x%llx (order %u) %s",
			     (unsigned long long)p, (unsigned long long)pfn, order,
			     set ? "was handed out while already held" : "was not held");
			return false;
		}
	}
	return true;
}

static unsigned pick_order(struct worker *w)
{
	unsigned max = w->st->o->max_order;
	uint64_t r = rnd(&w->rng) % 100;
	unsigned o = r < 60 ? 0 : r < 75 ? 1 : r < 85 ? 2 : r < 90 ? 3 : 4 + (unsigned)(r % 7);
	return o > max ? max : o;
}

static void do_alloc(struct worker *w, struct numem_cpu *cpu)
{
	struct stress *st = w->st;
	unsigned order = pick_order(w);
	struct numem_policy *pol = NULL;
	int mode = st->o->policy;
	if (mode < 0)
		mode = (int)(rnd(&w->rng) % NUMEM_POLICY_COUNT);
	if (mode != NUMEM_POLICY_LOCAL) {
		pol = &st->policies[mode];
		if (mode == NUMEM_POLICY_INTERLEAVE_INDEX) {
			/* A per-call copy: the index differs per allocation. */
			static _Thread_local struct numem_policy local;
			local = *pol;
			local.index = rnd(&w->rng);
			pol = &local;
		}
	}
	unsigned flags = 0;
	uint64_t r = rnd(&w->rng);
	if (r % 50 == 0)
		flags |= NUMEM_ALLOC_DMA32;
	if (r % 7 == 0)
		flags |= NUMEM_ALLOC_NOPCP;
	if (r % 11 == 0)
		flags |= NUMEM_ALLOC_EXACT_NODE;
	numem_pfn_t pfn;
	struct numem_diag d;
	enum numem_err err = numem_alloc(cpu, order, flags, pol, &pfn, &d);
	if (err == NUMEM_E_NO_PAGES) {
		w->failures++;
		return;
	}
	if (err) {
		fail(st, err, "cpu %u: alloc order %u flags 0x%x: %s", cpu->id, order, flags,
		     d.msg);
		return;
	}
	if (!model_mark(st, pfn.v, order, true))
		return;
	numem_nid_t node = numem_topo_pfn_to_node(st->sys->m.topo, pfn);
	if ((flags & NUMEM_ALLOC_DMA32) && pfn.v + (1ull << order) > (4ull << 30) >> 12)
		fail(st, NUMEM_E_CORRUPT, "DMA32 allocation at pfn 0x%llx",
		     (unsigned long long)pfn.v);
	if (pol && pol->mode == NUMEM_POLICY_BIND && !numem_nodemask_test(&pol->nodes, node))
		fail(st, NUMEM_E_CORRUPT,
		     "bind allocation at pfn 0x%llx on node %u, outside the mask",
		     (unsigned long long)pfn.v, node);
	w->held[w->nr_held++] = (struct held){pfn.v, (uint8_t)order, node};
	w->node_pages[node] += 1ull << order;
	w->allocs++;
}

static void expect_reject(struct worker *w, struct numem_cpu *cpu, uint64_t pfn, unsigned order,
                          enum numem_err want)
{
	struct numem_diag d;
	enum numem_err err = numem_free(cpu, numem_pfn(pfn), order, &d);
	if (err != want)
		fail(w->st, NUMEM_E_CORRUPT,
		     "invalid free of pfn 0x%llx order %u: got %s, want %s (%s)",
		     (unsigned long long)pfn, order, numem_err_name(err), numem_err_name(want),
		     d.msg);
	w->rejected++;
}

static void do_free(struct worker *w, struct numem_cpu *cpu)
{
	uint32_t i = (uint32_t)(rnd(&w->rng) % w->nr_held);
	struct held b = w->held[i];
	if (w->st->o->invalid_frees && rnd(&w->rng) % 16 == 0) {
		if (b.order > 0) {
			expect_reject(w, cpu, b.pfn + 1, 0, NUMEM_E_NOT_ALLOCATED);
			expect_reject(w, cpu, b.pfn, b.order - 1, NUMEM_E_BAD_ORDER);
			expect_reject(w, cpu, b.pfn + 1, b.order, NUMEM_E_MISALIGNED);
		} else {
			expect_reject(w, cpu, b.pfn, 1,
			              (b.pfn & 1) ? NUMEM_E_MISALIGNED : NUMEM_E_BAD_ORDER);
		}
		expect_reject(w, cpu, w->st->sys->ft.max_pfn + 5, 0, NUMEM_E_RANGE);
	}
	/* Clear the model first: once freed, another thread may get it. */
	if (!model_mark(w->st, b.pfn, b.order, false))
		return;
	struct numem_diag d;
	enum numem_err err = numem_free(cpu, numem_pfn(b.pfn), b.order, &d);
	if (err) {
		fail(w->st, err, "cpu %u: free of held pfn 0x%llx order %u: %s", cpu->id,
		     (unsigned long long)b.pfn, b.order, d.msg);
		return;
	}
	w->held[i] = w->held[--w->nr_held];
	w->node_pages[b.node] -= 1ull << b.order;
	w->frees++;
}

/* All threads stopped at the barrier: check the heap against the model. */
static void check_round(struct stress *st)
{
	struct numem_heap *h = &st->sys->heap;
	struct numem_diag d = {0};
	if (numem_heap_verify(h, &d) != NUMEM_OK) {
		fail(st, d.code, "%s", d.msg);
		return;
	}
	st->res->verifies++;
	for (numem_nid_t n = 0; n < st->sys->m.topo->nr_nodes; n++) {
		uint64_t model = 0;
		for (uint32_t t = 0; t < st->o->threads; t++)
			model += st->w[t].node_pages[n];
		uint64_t heap = numem_heap_node_allocated(h, n);
		if (heap != model)
			fail(st, NUMEM_E_CORRUPT,
			     "node %u: heap counts %llu allocated pages, the model %llu", n,
			     (unsigned long long)heap, (unsigned long long)model);
	}
}

static void barrier_round(struct worker *w)
{
	int r = pthread_barrier_wait(&w->st->barrier);
	if (r == PTHREAD_BARRIER_SERIAL_THREAD)
		check_round(w->st);
	pthread_barrier_wait(&w->st->barrier);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct stress *st = w->st;
	struct numem_heap *h = &st->sys->heap;
	const struct numem_stress_opts *o = st->o;
	uint32_t ncpu = (h->nr_cpus - w->id + o->threads - 1) / o->threads;
	uint64_t per_round = o->verify_every ? o->verify_every : w->ops;
	uint64_t op = 0;
	for (uint32_t round = 0; round < st->rounds; round++) {
		uint64_t end =
		    (w->ops < (round + 1) * per_round ? w->ops : (round + 1) * per_round);
		for (; op < end && !atomic_load_explicit(&st->failed, memory_order_relaxed); op++) {
			struct numem_cpu *cpu =
			    &h->cpu[w->id + (uint32_t)(rnd(&w->rng) % ncpu) * o->threads];
			bool alloc =
			    w->nr_held == 0 || (w->nr_held < o->hold && rnd(&w->rng) % 100 < 55);
			if (alloc)
				do_alloc(w, cpu);
			else
				do_free(w, cpu);
			if ((op & 4095) == 0 && w->id == 0 && o->progress)
				o->progress(o->progress_ctx, atomic_load(&st->done), o->ops);
			if ((op & 1023) == 1023)
				atomic_fetch_add_explicit(&st->done, 1024, memory_order_relaxed);
		}
		barrier_round(w);
	}
	/* Give everything back: every held block, then this thread's caches. */
	while (w->nr_held && !atomic_load(&st->failed)) {
		struct held b = w->held[--w->nr_held];
		struct numem_cpu *cpu = &h->cpu[w->id];
		model_mark(st, b.pfn, b.order, false);
		struct numem_diag d;
		if (numem_free(cpu, numem_pfn(b.pfn), b.order, &d))
			fail(st, d.code, "final free of pfn 0x%llx: %s", (unsigned long long)b.pfn,
			     d.msg);
		w->node_pages[b.node] -= 1ull << b.order;
	}
	for (uint32_t c = w->id; c < h->nr_cpus; c += o->threads)
		numem_heap_drain_cpu(&h->cpu[c]);
	atomic_fetch_add(&st->finished, 1);
	return NULL;
}

enum numem_err numem_stress_run(struct numem_system *sys, const struct numem_stress_opts *o,
                                struct numem_stress_result *res)
{
	memset(res, 0, sizeof(*res));
	struct numem_heap *h = &sys->heap;
	if (!o->threads || o->threads > h->nr_cpus || !o->hold || o->max_order > NUMEM_MAX_ORDER ||
	    o->policy >= NUMEM_POLICY_COUNT) {
		res->err = NUMEM_E_INVAL;
		snprintf(res->msg, sizeof(res->msg),
		         "stress: threads must be 1..%u, hold > 0, max_order <= %u, policy < %u",
		         h->nr_cpus, NUMEM_MAX_ORDER, NUMEM_POLICY_COUNT);
		return res->err;
	}
	struct stress st = {.sys = sys, .o = o, .res = res};
	size_t words = (sys->ft.max_pfn + 63) / 64;
	st.bitmap = calloc(words, sizeof(*st.bitmap));
	st.w = calloc(o->threads, sizeof(*st.w));
	pthread_t *tid = calloc(o->threads, sizeof(*tid));
	if (!st.bitmap || !st.w || !tid) {
		free(st.bitmap);
		free(st.w);
		free(tid);
		res->err = NUMEM_E_NOMEM;
		snprintf(res->msg, sizeof(res->msg), "stress: out of memory");
		return res->err;
	}
	pthread_mutex_init(&st.msg_lock, NULL);
	pthread_barrier_init(&st.barrier, NULL, o->threads);
	/* One shared policy per mode, over all nodes with memory (interleave
	 * state is shared between threads on purpose). */
	const struct numem_topo *t = sys->m.topo;
	for (int m = 0; m < NUMEM_POLICY_COUNT; m++) {
		numem_policy_init(&st.policies[m], (enum numem_policy_mode)m);
		for (numem_nid_t n = 0; n < t->nr_nodes; n++)
			if (t->node[n].ram_pages &&
			    (m != NUMEM_POLICY_BIND || n % 2 == 1 || t->nr_nodes == 1))
				numem_nodemask_set(&st.policies[m].nodes, n);
		st.policies[m].node = (numem_nid_t)(t->nr_nodes - 1);
		for (numem_nid_t n = 0; n < t->nr_nodes; n++)
			st.policies[m].weight[n] = (uint8_t)(1 + n % 3);
	}
	uint64_t per_thread = o->ops / o->threads;
	uint64_t per_round = o->verify_every ? o->verify_every : per_thread;
	st.rounds = (uint32_t)((per_thread + per_round - 1) / per_round);
	if (!st.rounds)
		st.rounds = 1;
	for (uint32_t i = 0; i < o->threads; i++) {
		struct worker *w = &st.w[i];
		w->st = &st;
		w->id = i;
		w->rng = (o->seed + 1) * 0x9e3779b97f4a7c15ull + i * 0x632be59bd9b4e019ull;
		w->ops = per_thread;
		w->held = calloc(o->hold, sizeof(*w->held));
	}
	for (uint32_t i = 0; i < o->threads; i++)
		pthread_create(&tid[i], NULL, worker_main, &st.w[i]);
	/* The poll hook runs here while the workers do (a trace drain keeps
	 * the rings from overwriting); a worker counts itself out when done. */
	while (o->poll && atomic_load(&st.finished) < o->threads) {
		o->poll(o->poll_ctx);
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	for (uint32_t i = 0; i < o->threads; i++)
		pthread_join(tid[i], NULL);
	if (o->poll)
		o->poll(o->poll_ctx);
	for (uint32_t i = 0; i < o->threads; i++) {
		struct worker *w = &st.w[i];
		res->allocs += w->allocs;
		res->frees += w->frees;
		res->alloc_failures += w->failures;
		res->rejected += w->rejected;
		free(w->held);
	}
	if (!atomic_load(&st.failed))
		check_round(&st); /* everything back: allocated must be 0 on every node */
	if (o->progress)
		o->progress(o->progress_ctx, o->ops, o->ops);
	pthread_barrier_destroy(&st.barrier);
	pthread_mutex_destroy(&st.msg_lock);
	free(st.bitmap);
	free(st.w);
	free(tid);
	return res->err;
}
