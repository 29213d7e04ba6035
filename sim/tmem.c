/*
 * tmem.c - the simulator's tmem frontends: guests whose working sets exceed
 * their memory, with a cleancache-like page cache over an ephemeral pool
 * and a frontswap-like swap over a persistent pool (issue 11).
 *
 * The model, per guest with a frontend (sim_domain_spec.tmem):
 *  - The workload touches `ws` logical pages (working_set_mb).  File pages
 *    (cleancache, and the first half of a mixed guest's set) are clean and
 *    read only; anonymous pages (frontswap, the second half) are zero-filled
 *    on first touch and written by 30% of their accesses.
 *  - The guest's memory is its own frames: guest frame g holds at most one
 *    logical page, and its bytes really are that page's (written through
 *    phys_to_virt of the frame the p2m maps).  Frames the guest does not
 *    have populated (ballooned out, given back by churn) hold nothing; a
 *    resident page whose frame went away (or was replaced) is "lost": a file
 *    page is simply gone, an anonymous one counts as written to disk.
 *  - Replacement is CLOCK over the populated frames below next_gpfn.
 *  - Evicting a clean file page puts it to the guest's ephemeral pool
 *    (cleancache_put); a fault on a file page gets from that pool first
 *    (the get is exclusive) and reads "disk" on a miss.  Evicting an
 *    anonymous page puts it to the persistent pool unless tmem already
 *    holds its current bytes (a swap cache); a refused put (no memory,
 *    quota) is a disk write.  A fault on a swapped page gets it back from
 *    tmem (the copy stays until the page is written again, then it is
 *    flushed) or reads it from disk.  A page's first touch (a cold read
 *    of a file page, the zero fill of an anonymous one) is not a fault:
 *    no cache could have served it.
 *  - Accesses: 60% in a hot window of ws/4 pages that slides by one page
 *    every 4 accesses, 40% uniform over the working set; all from the
 *    scenario's random generator, so one seed gives one run.
 *  - Page contents are a function of (guest, page, version): 10% zero
 *    pages, 55% text (a 4 KiB window of 64 KiB of words from a small
 *    dictionary: they compress), 35% random bytes (they do not).  Every tmem hit is compared with the bytes
 *    the page must hold: a difference is "wrong data" and fails the run, as
 *    does a persistent page tmem lost or an op with a negative status.
 * Every put and get goes through numem_tmem_op with the guest's domain id
 * as the caller and the guest frame as the gfn: tmem checks the frame
 * through the domain's p2m, as it would a real guest's.
 *
 * The baseline (sc->tmem_baseline): the same workloads with no tmem at all,
 * every eviction dropped or written to disk; since replacement does not
 * depend on tmem, its disk reads are what tmem's hits avoided.
 */
#include "engine_internal.h"

#include <stdlib.h>
#include <string.h>

#define ST_TOUCHED 0x1u /* touched once: read from disk (file) or zero-filled (anonymous) */
#define ST_IN_TMEM 0x2u /* anonymous: tmem holds its current bytes */
#define ST_ON_DISK 0x4u /* anonymous: its current bytes are on disk */

#define FILE_PAGES 256u        /* pages per file object (cleancache oid) */
#define TEXT_BYTES (64u << 10) /* the text that text pages are windows of */

struct tguest {
	int32_t idx;              /* scenario index */
	struct numem_domain *dom; /* the domain the state is for (NULL: not yet) */
	enum sim_tmem_frontend fe;
	uint64_t ws, nslots;
	uint32_t *where;     /* per logical page: frame + 1 when resident */
	uint8_t *state;      /* per logical page: ST_* */
	uint32_t *version;   /* per logical page: writes so far */
	uint32_t *slot_page; /* per frame: logical page + 1, or 0 */
	uint64_t *slot_mfn;  /* per frame: the machine frame it had when filled */
	uint8_t *slot_ref;   /* per frame: CLOCK's referenced bit */
	uint64_t hand, hot, tick;
	uint32_t pool[2]; /* ephemeral, persistent (~0u: none) */
	struct sim_tmem_guest *out;
};

struct engine_tmem {
	struct numem_tmem *t; /* NULL in a baseline run */
	struct numem_tmem_codec *codec[NUMEM_TMEM_NR_CODECS];
	uint32_t nr;
	struct tguest g[SIM_MAX_DOMAINS];
	struct numem_tmem_info info;
	struct numem_tmem_pool_info pools[NUMEM_TMEM_MAX_POOLS];
	uint64_t ev0, calls0, freed0; /* at the start of the running phase */
	char first_error[200];
	uint8_t expect[NUMEM_PAGE_SIZE];
	uint8_t text[TEXT_BYTES];
};

const char *sim_tmem_frontend_name(enum sim_tmem_frontend f)
{
	static const char *const names[] = {"none", "cleancache", "frontswap", "mixed"};
	return (unsigned)f <= SIM_TMEM_MIXED ? names[f] : "unknown";
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* 64 KiB of "text": words of a small dictionary in a fixed random order
 * (the same for every run); a text page is a window of it. */
static void make_text(uint8_t *text)
{
	static const char *const words[32] = {
	    "the ",   "memory ", "page ",  "of ",    "node ",   "guest ",  "cache ",  "and ",
	    "a ",     "swap ",   "file ",  "to ",    "numa ",   "free ",   "is ",     "in ",
	    "block ", "zone ",   "order ", "buddy ", "heap ",   "pool ",   "object ", "index ",
	    "put ",   "get ",    "flush ", "evict ", "client ", "domain ", "frame ",  "\n"};
	uint64_t s = 0x2545f4914f6cdd1dull;
	for (size_t at = 0; at < TEXT_BYTES;) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		const char *w = words[s % 32];
		size_t n = strlen(w);
		if (n > TEXT_BYTES - at)
			n = TEXT_BYTES - at;
		memcpy(text + at, w, n);
		at += n;
	}
}

/* The bytes logical page p of guest idx holds at version ver. */
static void content(const uint8_t *text, uint8_t *dst, int32_t idx, uint64_t p, uint32_t ver)
{
	uint64_t h = mix(((uint64_t)(uint32_t)idx << 40) ^ p ^ ((uint64_t)ver << 28));
	uint64_t kind = h % 100, s = h | 1;
	if (kind < 10) {
		memset(dst, 0, NUMEM_PAGE_SIZE);
		return;
	}
	if (kind < 65) {
		memcpy(dst, text + (s >> 8) % (TEXT_BYTES - NUMEM_PAGE_SIZE), NUMEM_PAGE_SIZE);
		return;
	}
	for (size_t i = 0; i < NUMEM_PAGE_SIZE; i += 8) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		memcpy(dst + i, &s, 8);
	}
}

static uint8_t *frame(struct engine *e, uint64_t mfn)
{
	const struct numem_platform *pl = e->sys.heap.plat;
	return pl->phys_to_virt(pl->ctx, numem_pfn_to_paddr(numem_pfn(mfn)));
}

static bool is_file(const struct tguest *g, uint64_t p)
{
	return g->fe == SIM_TMEM_CLEANCACHE || (g->fe == SIM_TMEM_MIXED && p < g->ws / 2);
}

static void key_of(const struct tguest *g, uint64_t p, struct numem_tmem_oid *oid, uint32_t *index)
{
	if (is_file(g, p)) {
		*oid = (struct numem_tmem_oid){{p / FILE_PAGES + 1, 0, 0}};
		*index = (uint32_t)(p % FILE_PAGES);
	} else { /* swap type 0, offset p */
		*oid = (struct numem_tmem_oid){{0, 0, 0}};
		*index = (uint32_t)p;
	}
}

/* An op that failed with a negative status: counted, the first one kept. */
static void op_error(struct engine *e, struct tguest *g, const char *what, int rc,
                     const struct numem_diag *d)
{
	g->out->errors++;
	if (!e->tmem->first_error[0])
		snprintf(e->tmem->first_error, sizeof(e->tmem->first_error),
		         "guest %s: %s returned %s: %.120s", g->out->name, what,
		         numem_tmem_status_name(rc), d->msg);
}

/* A resident page's frame went away: the page is lost (file) or counts
 * as written to disk (anonymous, unless tmem holds it). */
static void drop_lost(struct tguest *g, uint64_t s)
{
	uint64_t p = g->slot_page[s] - 1;
	g->where[p] = 0;
	g->slot_page[s] = 0;
	g->out->lost++;
	if (!is_file(g, p) && !(g->state[p] & ST_IN_TMEM))
		g->state[p] |= ST_ON_DISK;
}

/* Evict the page in frame s (its frame checked by the caller). */
static void evict(struct engine *e, struct tguest *g, uint64_t s)
{
	uint64_t p = g->slot_page[s] - 1;
	struct numem_tmem *t = e->tmem->t;
	struct numem_tmem_oid oid;
	uint32_t index;
	key_of(g, p, &oid, &index);
	struct numem_diag d = {0};
	struct numem_cpu *cpu = engine_dom_cpu(e, g->dom);
	if (is_file(g, p)) {
		if (t) {
			g->out->puts++;
			int rc = numem_tmem_put(t, cpu, g->dom->id, g->pool[0], &oid, index, s, &d);
			/* refused: no memory for the page (MISS) or its metadata */
			if (rc == NUMEM_TMEM_MISS || rc == NUMEM_TMEM_ENOMEM)
				g->out->puts_refused++;
			else if (rc < 0)
				op_error(e, g, "cleancache put", rc, &d);
		}
	} else if (!(g->state[p] & ST_IN_TMEM)) {
		int rc = NUMEM_TMEM_MISS;
		if (t) {
			g->out->puts++;
			rc = numem_tmem_put(t, cpu, g->dom->id, g->pool[1], &oid, index, s, &d);
			if (rc != NUMEM_TMEM_HIT)
				g->out->puts_refused++;
			if (rc < 0 && rc != NUMEM_TMEM_ENOMEM && rc != NUMEM_TMEM_EQUOTA)
				op_error(e, g, "frontswap put", rc, &d);
		}
		if (rc == NUMEM_TMEM_HIT) {
			g->state[p] |= ST_IN_TMEM;
		} else {
			g->out->disk_writes++;
			g->state[p] |= ST_ON_DISK;
		}
	}
	g->where[p] = 0;
	g->slot_page[s] = 0;
}

/* A frame for a page coming in (CLOCK over the populated frames), or -1
 * when the guest has none. */
static int64_t find_slot(struct engine *e, struct tguest *g)
{
	uint64_t lim = g->dom->next_gpfn < g->nslots ? g->dom->next_gpfn : g->nslots;
	if (!lim)
		return -1;
	for (uint64_t step = 0; step < 2 * lim + 1; step++) {
		uint64_t s = g->hand % lim;
		g->hand = s + 1;
		uint64_t mfn = numem_domain_p2m(g->dom, s);
		if (g->slot_page[s] && g->slot_mfn[s] != mfn)
			drop_lost(g, s);
		if (mfn == NUMEM_P2M_NONE)
			continue;
		if (g->slot_page[s] && g->slot_ref[s]) {
			g->slot_ref[s] = 0;
			continue;
		}
		if (g->slot_page[s])
			evict(e, g, s);
		g->slot_mfn[s] = mfn;
		return (int64_t)s;
	}
	return -1;
}

/* Page p faulted into frame s: from tmem, or disk, or a zero fill. */
static void fault_in(struct engine *e, struct tguest *g, uint64_t p, uint64_t s)
{
	struct sim_tmem_guest *o = g->out;
	uint8_t *dst = frame(e, g->slot_mfn[s]);
	bool file = is_file(g, p);
	if (!(g->state[p] & ST_TOUCHED)) { /* a cold read or a zero fill: no cache helps */
		o->first_touch++;
		g->state[p] |= ST_TOUCHED;
		content(e->tmem->text, dst, g->idx, p, g->version[p]);
		return;
	}
	o->faults++;
	struct numem_tmem *t = e->tmem->t;
	bool hit = false;
	if (t && (file || (g->state[p] & ST_IN_TMEM))) {
		struct numem_tmem_oid oid;
		uint32_t index;
		key_of(g, p, &oid, &index);
		struct numem_diag d = {0};
		o->gets++;
		int rc = numem_tmem_get(t, engine_dom_cpu(e, g->dom), g->dom->id,
		                        g->pool[file ? 0 : 1], &oid, index, s, &d);
		if (rc == NUMEM_TMEM_HIT) {
			hit = true;
			content(e->tmem->text, e->tmem->expect, g->idx, p, g->version[p]);
			if (memcmp(dst, e->tmem->expect, NUMEM_PAGE_SIZE) != 0)
				o->wrong++;
		} else if (rc == NUMEM_TMEM_MISS && !file) {
			o->wrong++; /* a persistent page tmem did not keep */
			g->state[p] &= (uint8_t)~ST_IN_TMEM;
		} else if (rc < 0) {
			op_error(e, g, "get", rc, &d);
		}
	}
	if (hit) {
		o->tmem_hits++;
	} else {
		o->disk_reads++;
		content(e->tmem->text, dst, g->idx, p, g->version[p]);
	}
}

static void access_page(struct engine *e, struct tguest *g)
{
	uint64_t r = engine_rnd(e);
	uint64_t hotsz = g->ws / 4 ? g->ws / 4 : 1;
	uint64_t p = r % 100 < 60 ? (g->hot + (r >> 8) % hotsz) % g->ws : (r >> 8) % g->ws;
	if (++g->tick % 4 == 0)
		g->hot = (g->hot + 1) % g->ws;
	bool write = !is_file(g, p) && (r >> 40) % 100 < 30;
	struct sim_tmem_guest *o = g->out;
	o->accesses++;
	uint64_t s = g->where[p] ? g->where[p] - 1 : UINT64_MAX;
	if (s != UINT64_MAX && numem_domain_p2m(g->dom, s) != g->slot_mfn[s]) {
		drop_lost(g, s);
		s = UINT64_MAX;
	}
	if (s != UINT64_MAX) {
		o->resident++;
	} else {
		int64_t got = find_slot(e, g);
		if (got < 0) { /* no frame at all: the access goes to disk */
			o->faults++;
			o->disk_reads++;
			return;
		}
		s = (uint64_t)got;
		fault_in(e, g, p, s);
		g->slot_page[s] = (uint32_t)(p + 1);
		g->where[p] = (uint32_t)(s + 1);
	}
	g->slot_ref[s] = 1;
	if (!write)
		return;
	g->version[p]++;
	content(e->tmem->text, frame(e, g->slot_mfn[s]), g->idx, p, g->version[p]);
	if (g->state[p] & ST_IN_TMEM) { /* its swap copy is stale now */
		struct numem_tmem_oid oid;
		uint32_t index;
		key_of(g, p, &oid, &index);
		struct numem_diag d = {0};
		int rc = numem_tmem_flush_page(e->tmem->t, engine_dom_cpu(e, g->dom), g->dom->id,
		                               g->pool[1], &oid, index, &d);
		if (rc < 0)
			op_error(e, g, "frontswap flush", rc, &d);
		g->state[p] &= (uint8_t)~ST_IN_TMEM;
	}
	g->state[p] &= (uint8_t)~ST_ON_DISK;
}

static void guest_free(struct tguest *g)
{
	free(g->where);
	free(g->state);
	free(g->version);
	free(g->slot_page);
	free(g->slot_mfn);
	free(g->slot_ref);
	g->where = g->version = g->slot_page = NULL;
	g->state = g->slot_ref = NULL;
	g->slot_mfn = NULL;
}

/* The guest's state for its (new) domain: arrays and pools. */
static int guest_attach(struct engine *e, struct tguest *g, struct numem_domain *d, char *err,
                        size_t errlen)
{
	guest_free(g);
	g->dom = d;
	g->nslots = d->max_pages;
	g->hand = g->hot = g->tick = 0;
	g->where = calloc(g->ws, sizeof(*g->where));
	g->state = calloc(g->ws, 1);
	g->version = calloc(g->ws, sizeof(*g->version));
	g->slot_page = calloc(g->nslots, sizeof(*g->slot_page));
	g->slot_mfn = calloc(g->nslots, sizeof(*g->slot_mfn));
	g->slot_ref = calloc(g->nslots, 1);
	if (!g->where || !g->state || !g->version || !g->slot_page || !g->slot_mfn ||
	    !g->slot_ref) {
		snprintf(err, errlen, "tmem: guest %s: out of memory for its working set",
		         g->out->name);
		return -1;
	}
	g->pool[0] = g->pool[1] = ~0u;
	if (!e->tmem->t)
		return 0;
	for (int k = 0; k < 2; k++) {
		bool want = k == 0 ? g->fe != SIM_TMEM_FRONTSWAP : g->fe != SIM_TMEM_CLEANCACHE;
		struct numem_diag diag = {0};
		if (want && numem_tmem_new_pool(e->tmem->t, engine_dom_cpu(e, d), d->id,
		                                k ? NUMEM_TMEM_POOL_PERSISTENT : 0, NULL,
		                                &g->pool[k], &diag) != NUMEM_TMEM_HIT) {
			snprintf(err, errlen, "tmem: guest %s: new %s pool: %s", g->out->name,
			         k ? "persistent" : "ephemeral", diag.msg);
			return -1;
		}
	}
	memcpy(g->out->pool, g->pool, sizeof(g->pool));
	return 0;
}

int engine_tmem_start(struct engine *e, char *err, size_t errlen)
{
	const struct sim_scenario *sc = e->sc;
	struct sim_tmem_result *r = &e->run->tmem;
	uint32_t nr = 0;
	for (uint32_t i = 0; i < sc->nr_domains; i++)
		nr += sc->domain[i].tmem != SIM_TMEM_NONE;
	if (!nr)
		return 0;
	static const char *const codec_names[] = {"off", "lz4", "zstd"};
	r->enabled = true;
	r->baseline = sc->tmem_baseline;
	r->codec = codec_names[sc->tmem_codec < NUMEM_TMEM_NR_CODECS ? sc->tmem_codec : 0];
	struct engine_tmem *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "tmem: out of memory");
		return -1;
	}
	e->tmem = m;
	make_text(m->text);
	for (uint32_t i = 0; i < sc->nr_domains; i++) {
		const struct sim_domain_spec *s = &sc->domain[i];
		if (s->tmem == SIM_TMEM_NONE)
			continue;
		struct tguest *g = &m->g[m->nr];
		g->idx = (int32_t)i;
		g->fe = s->tmem;
		uint64_t ws_mb = s->working_set_mb ? s->working_set_mb : s->mem_mb * 3 / 2;
		g->ws = ws_mb << (20 - NUMEM_PAGE_SHIFT);
		g->out = &r->guest[m->nr];
		snprintf(g->out->name, sizeof(g->out->name), "%s", s->name);
		g->out->frontend = s->tmem;
		g->out->ws_pages = g->ws;
		g->out->pool[0] = g->out->pool[1] = ~0u;
		r->guest_dom[m->nr] = (int32_t)i;
		m->nr++;
	}
	r->nr_guests = m->nr;
	if (sc->tmem_baseline)
		return 0;
	struct numem_tmem_opts o = {.default_codec = sc->tmem_codec,
	                            .copy_page = numem_host_tmem_copy_page()};
	for (int c = NUMEM_TMEM_CODEC_LZ4; c < NUMEM_TMEM_NR_CODECS; c++) {
		m->codec[c] =
		    numem_host_tmem_codec_create((enum numem_tmem_codec_id)c, e->sys.heap.nr_cpus);
		if (!m->codec[c]) {
			snprintf(err, errlen, "tmem: codec %s: out of memory", codec_names[c]);
			return -1;
		}
		o.codec[c] = m->codec[c];
	}
	struct numem_diag diag = {0};
	if (numem_tmem_create(&e->sys.heap, e->slab, e->doms, &o, &m->t, &diag) != NUMEM_OK) {
		snprintf(err, errlen, "tmem: %s", diag.msg);
		return -1;
	}
	return 0;
}

int engine_tmem_phase(struct engine *e, const struct sim_phase *p, char *err, size_t errlen)
{
	struct engine_tmem *m = e->tmem;
	if (!m) {
		snprintf(err, errlen, "tmem: no domain has a tmem frontend");
		return -1;
	}
	struct tguest *live[SIM_MAX_DOMAINS];
	uint32_t n = 0;
	for (uint32_t k = 0; k < m->nr; k++) {
		struct tguest *g = &m->g[k];
		struct numem_domain *d = e->dom[g->idx];
		if (!d)
			continue; /* destroyed (its client went with it) or not booted */
		if (d != g->dom && guest_attach(e, g, d, err, errlen))
			return -1;
		live[n++] = g;
	}
	for (uint64_t i = 0; i < p->ops; i++) {
		if (n)
			access_page(e, live[engine_rnd(e) % n]);
		engine_tick(e);
	}
	return 0;
}

void engine_tmem_sample(struct engine *e, struct sim_sample *s)
{
	struct engine_tmem *m = e->tmem;
	if (!m || !m->t)
		return;
	numem_tmem_info(m->t, &m->info);
	s->tmem_heap_pages = m->info.heap_pages;
	for (uint32_t k = 0; k < m->nr; k++) {
		struct tguest *g = &m->g[k];
		if (!g->dom || !e->dom[g->idx])
			continue;
		int np = numem_tmem_list_pools(m->t, g->dom->id, m->pools, NUMEM_TMEM_MAX_POOLS);
		for (int i = 0; i < np && i < (int)NUMEM_TMEM_MAX_POOLS; i++)
			for (int kind = 0; kind < 2; kind++)
				if (m->pools[i].pool_id == g->pool[kind]) {
					uint32_t slot = (uint32_t)g->idx * 2 + (uint32_t)kind;
					s->tmem_pages[slot] = m->pools[i].stats.pages;
					s->tmem_gets[slot] = m->pools[i].stats.gets;
					s->tmem_hits[slot] = m->pools[i].stats.hits;
				}
	}
}

void engine_tmem_phase_done(struct engine *e, uint32_t i)
{
	struct engine_tmem *m = e->tmem;
	if (!m || !m->t || i >= SIM_MAX_PHASES)
		return;
	struct sim_tmem_result *r = &e->run->tmem;
	numem_tmem_info(m->t, &m->info);
	r->phase_evictions[i] = m->info.stats.evictions - m->ev0;
	r->phase_shrinker_calls[i] = m->info.shrinker_calls - m->calls0;
	r->phase_shrinker_freed[i] = m->info.shrinker_freed - m->freed0;
	memcpy(r->phase_pages_on_node[i], m->info.pages_on_node, sizeof(r->phase_pages_on_node[i]));
	m->ev0 = m->info.stats.evictions;
	m->calls0 = m->info.shrinker_calls;
	m->freed0 = m->info.shrinker_freed;
}

void engine_tmem_collect(struct engine *e)
{
	struct engine_tmem *m = e->tmem;
	struct sim_run *run = e->run;
	struct sim_tmem_result *r = &run->tmem;
	if (!m)
		return;
	uint64_t wrong = 0, errors = 0;
	for (uint32_t k = 0; k < m->nr; k++) {
		wrong += r->guest[k].wrong;
		errors += r->guest[k].errors;
	}
	if (m->t) {
		numem_tmem_info(m->t, &r->info);
		uint32_t nc = numem_tmem_list_clients(m->t, r->client, SIM_MAX_DOMAINS + 1);
		r->nr_clients = nc < SIM_MAX_DOMAINS + 1 ? nc : SIM_MAX_DOMAINS + 1;
		r->nr_pools = 0;
		for (uint32_t c = 0; c < r->nr_clients; c++) {
			int np = numem_tmem_list_pools(m->t, r->client[c].client, m->pools,
			                               NUMEM_TMEM_MAX_POOLS);
			for (int i = 0; i < np && i < (int)NUMEM_TMEM_MAX_POOLS &&
			                r->nr_pools < SIM_TMEM_LIST_POOLS;
			     i++)
				r->pool[r->nr_pools++] = m->pools[i];
		}
		struct numem_diag d = {0};
		if (numem_tmem_verify(m->t, &d) != NUMEM_OK)
			snprintf(r->verify, sizeof(r->verify), "%s", d.msg);
	}
	if (r->verify[0])
		snprintf(run->error, sizeof(run->error), "tmem verify: %.200s", r->verify);
	else if (wrong)
		snprintf(run->error, sizeof(run->error),
		         "tmem: %llu gets returned bytes other than the last put's or lost a "
		         "persistent page",
		         (unsigned long long)wrong);
	else if (errors)
		snprintf(run->error, sizeof(run->error), "tmem: %llu ops failed; first: %.200s",
		         (unsigned long long)errors, m->first_error);
}

void engine_tmem_stop(struct engine *e)
{
	struct engine_tmem *m = e->tmem;
	if (!m)
		return;
	if (m->t)
		numem_tmem_release(m->t, numem_heap_cpu(&e->sys.heap, 0));
	for (int c = 0; c < NUMEM_TMEM_NR_CODECS; c++)
		if (m->codec[c])
			numem_host_tmem_codec_destroy(m->codec[c]);
	for (uint32_t k = 0; k < m->nr; k++)
		guest_free(&m->g[k]);
	free(m);
	e->tmem = NULL;
}
