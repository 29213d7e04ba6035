/*
 * scenario.c - the built-in scenario, and scenarios from JSON (jansson) or
 * xl.cfg-like text.
 */
#include <jansson.h>
#include <numem/sim.h>
#include <stdlib.h>
#include <string.h>

void sim_default_scenario(struct sim_scenario *sc)
{
	memset(sc, 0, sizeof(*sc));
	snprintf(sc->name, sizeof(sc->name), "default");
	snprintf(sc->machine, sizeof(sc->machine), "x445");
	sc->seed = 1;
	sc->sample_every = 5000;
	struct sim_domain_spec *d = sc->domain;
	/* A database confined to node 2. */
	d[0] = (struct sim_domain_spec){
	    .name = "db", .mem_mb = 4096, .vcpus = 4, .placement = SIM_PLACE_NODE, .node = 2};
	/* A web tier spread over all four nodes (two vcpus on each). */
	d[1] = (struct sim_domain_spec){.name = "web",
	                                .mem_mb = 6144,
	                                .vcpus = 8,
	                                .placement = SIM_PLACE_PINNED,
	                                .pin = {0, 1, 8, 9, 16, 17, 24, 25}};
	/* A batch job placed automatically. */
	d[2] = (struct sim_domain_spec){
	    .name = "batch", .mem_mb = 3072, .vcpus = 2, .placement = SIM_PLACE_AUTO};
	/* A vNUMA guest: one virtual node on node 1, one on node 3. */
	d[3] = (struct sim_domain_spec){.name = "numa-guest",
	                                .mem_mb = 4096,
	                                .vcpus = 4,
	                                .placement = SIM_PLACE_VNUMA,
	                                .nr_vnodes = 2};
	d[3].vnode[0].mem_mb = 2048;
	d[3].vnode[0].pnode = 1;
	d[3].vnode[0].vcpus = 2;
	d[3].vnode[1].mem_mb = 2048;
	d[3].vnode[1].pnode = 3;
	d[3].vnode[1].vcpus = 2;
	/* Guests with tmem frontends (sim/tmem.c), working sets larger than
	 * their memory: a file server's page cache (cleancache), a guest that
	 * swaps (frontswap), a desktop with both. */
	d[4] = (struct sim_domain_spec){.name = "files",
	                                .mem_mb = 192,
	                                .vcpus = 2,
	                                .placement = SIM_PLACE_AUTO,
	                                .tmem = SIM_TMEM_CLEANCACHE,
	                                .working_set_mb = 288};
	d[5] = (struct sim_domain_spec){.name = "swapper",
	                                .mem_mb = 128,
	                                .vcpus = 1,
	                                .placement = SIM_PLACE_NODE,
	                                .node = 1,
	                                .tmem = SIM_TMEM_FRONTSWAP,
	                                .working_set_mb = 192};
	d[6] = (struct sim_domain_spec){.name = "desktop",
	                                .mem_mb = 128,
	                                .vcpus = 2,
	                                .placement = SIM_PLACE_AUTO,
	                                .tmem = SIM_TMEM_MIXED,
	                                .working_set_mb = 192};
	sc->nr_domains = 7;
	sc->tmem_codec = NUMEM_TMEM_CODEC_LZ4;
	struct sim_phase *p = sc->phase;
	p[0] = (struct sim_phase){.kind = SIM_BOOT};
	p[1] = (struct sim_phase){.kind = SIM_TMEM, .ops = 250000};
	p[2] = (struct sim_phase){.kind = SIM_CHURN, .ops = 200000};
	/* Live relayout: db's memory (on node 2) striped over all four nodes in
	 * 1 MiB blocks while the guests run; its frames move as they are
	 * freed by the churn that follows, and tmem's pages in that span are
	 * re-accounted to their new nodes (its relayout subscriber). */
	p[3] = (struct sim_phase){.kind = SIM_RELAYOUT,
	                          .domain = "db",
	                          .stripe = true,
	                          .nr_nodes = 4,
	                          .nodes = {0, 1, 2, 3},
	                          .block_pages = 256};
	p[4] = (struct sim_phase){.kind = SIM_BALLOON, .domain = "web", .percent = 50};
	/* The machine full: the hog's last allocations run the heap's
	 * shrinkers, and tmem gives back its ephemeral pages. */
	p[5] = (struct sim_phase){.kind = SIM_PRESSURE, .percent = 100};
	p[6] = (struct sim_phase){.kind = SIM_TMEM, .ops = 100000};
	p[7] = (struct sim_phase){.kind = SIM_CHURN, .ops = 100000};
	p[8] = (struct sim_phase){.kind = SIM_DESTROY, .domain = "hog"};
	p[9] = (struct sim_phase){.kind = SIM_BALLOON, .domain = "web", .percent = 100};
	p[10] = (struct sim_phase){.kind = SIM_DESTROY, .domain = "batch"};
	p[11] = (struct sim_phase){.kind = SIM_TMEM, .ops = 100000};
	p[12] = (struct sim_phase){.kind = SIM_CHURN, .ops = 100000};
	sc->nr_phases = 13;
	sc->builtin = true;
}

static int fail(char *err, size_t n, const char *fmt, const char *what)
{
	snprintf(err, n, fmt, what);
	return -1;
}

/* "0-1,3" into a node mask (ids below NUMEM_MAX_NODES). */
static int parse_cpuset(const char *v, numem_nodemask_t *mask, char *err, size_t errlen)
{
	uint32_t ids[NUMEM_MAX_NODES + 1];
	int n = numem_parse_ranges(v, ids, NUMEM_MAX_NODES + 1);
	numem_nodemask_t m = {0};
	for (int k = 0; k < n; k++) {
		if (ids[k] >= NUMEM_MAX_NODES)
			n = -1;
		else
			numem_nodemask_set(&m, (numem_nid_t)ids[k]);
	}
	if (n <= 0) {
		snprintf(err, errlen,
		         "scenario: cpuset '%s' is not a node list such as 0-1,3 (ids below %u)", v,
		         NUMEM_MAX_NODES);
		return -1;
	}
	*mask = m;
	return 0;
}

static const char *const phase_names[] = {"boot",    "churn",  "balloon",  "pressure",
                                          "destroy", "replay", "relayout", "tmem"};
_Static_assert(sizeof(phase_names) / sizeof(phase_names[0]) == SIM_TMEM + 1,
               "a name per enum sim_phase_kind");

const char *sim_phase_name(enum sim_phase_kind k)
{
	return (unsigned)k <= SIM_TMEM ? phase_names[k] : "?";
}

static int phase_kind(const char *s, enum sim_phase_kind *k)
{
	for (int i = 0; i < (int)(sizeof(phase_names) / sizeof(phase_names[0])); i++)
		if (!strcmp(s, phase_names[i])) {
			*k = (enum sim_phase_kind)i;
			return 0;
		}
	return -1;
}

static int placement_of(const char *s, enum sim_placement *pl)
{
	static const char *const names[] = {"auto", "node", "pinned", "vnuma"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*pl = (enum sim_placement)i;
			return 0;
		}
	return -1;
}

static int frontend_of(const char *s, enum sim_tmem_frontend *f)
{
	for (int i = 0; i <= SIM_TMEM_MIXED; i++)
		if (!strcmp(s, sim_tmem_frontend_name((enum sim_tmem_frontend)i))) {
			*f = (enum sim_tmem_frontend)i;
			return 0;
		}
	return -1;
}

static int codec_of(const char *s, enum numem_tmem_codec_id *c)
{
	static const char *const names[] = {"off", "lz4", "zstd"};
	for (int i = 0; i < NUMEM_TMEM_NR_CODECS; i++)
		if (!strcmp(s, names[i])) {
			*c = (enum numem_tmem_codec_id)i;
			return 0;
		}
	return -1;
}

/* Whether a fixed-size name field holds a terminated string. */
static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

#define RANGE_FAIL(what, field, val, lo, hi)                                                       \
	do {                                                                                       \
		snprintf(err, errlen, "scenario: %s: %s = %lld is out of range (want %lld..%lld)", \
		         what, field, (long long)(val), (long long)(lo), (long long)(hi));         \
		return -1;                                                                         \
	} while (0)

int sim_scenario_validate(const struct sim_scenario *sc, char *err, size_t errlen)
{
	if (!terminated(sc->name, sizeof(sc->name)) ||
	    !terminated(sc->machine, sizeof(sc->machine)))
		return fail(err, errlen, "scenario: %s or machine not terminated", "name");
	if (sc->sample_every < 1 || sc->sample_every > SIM_MAX_SAMPLE_EVERY)
		RANGE_FAIL("scenario", "sample_every", sc->sample_every, 1, SIM_MAX_SAMPLE_EVERY);
	if (sc->nr_domains > SIM_MAX_DOMAINS)
		RANGE_FAIL("scenario", "number of domains", sc->nr_domains, 0, SIM_MAX_DOMAINS);
	if (sc->nr_phases < 1 || sc->nr_phases > SIM_MAX_PHASES)
		RANGE_FAIL("scenario", "number of phases", sc->nr_phases, 1, SIM_MAX_PHASES);
	for (uint32_t i = 0; i < sc->nr_domains; i++) {
		const struct sim_domain_spec *d = &sc->domain[i];
		char what[64];
		if (!terminated(d->name, sizeof(d->name)) || !d->name[0]) {
			snprintf(err, errlen, "scenario: domain %u has no name", i);
			return -1;
		}
		snprintf(what, sizeof(what), "domain '%s'", d->name);
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(sc->domain[j].name, d->name))
				return fail(err, errlen, "scenario: domain '%s' defined twice",
				            d->name);
		if (d->mem_mb < 1 || d->mem_mb > SIM_MAX_MEM_MB)
			RANGE_FAIL(what, "memory_mb", d->mem_mb, 1, SIM_MAX_MEM_MB);
		if (d->vcpus < 1 || d->vcpus > NUMEM_MAX_VCPUS)
			RANGE_FAIL(what, "vcpus", d->vcpus, 1, NUMEM_MAX_VCPUS);
		if ((unsigned)d->placement > SIM_PLACE_VNUMA)
			RANGE_FAIL(what, "placement", d->placement, SIM_PLACE_AUTO,
			           SIM_PLACE_VNUMA);
		if (d->node >= NUMEM_MAX_NODES)
			RANGE_FAIL(what, "node", d->node, 0, NUMEM_MAX_NODES - 1);
		for (uint32_t v = 0; v < d->vcpus; v++)
			if (d->pin[v] < -1)
				RANGE_FAIL(what, "cpus entry", d->pin[v], -1, SIM_MAX_PIN);
		if (d->nr_vnodes > NUMEM_MAX_VNODES)
			RANGE_FAIL(what, "number of vnodes", d->nr_vnodes, 0, NUMEM_MAX_VNODES);
		if ((unsigned)d->tmem > SIM_TMEM_MIXED)
			RANGE_FAIL(what, "tmem", d->tmem, SIM_TMEM_NONE, SIM_TMEM_MIXED);
		if (d->working_set_mb > SIM_TMEM_MAX_MB)
			RANGE_FAIL(what, "working_set_mb", d->working_set_mb, 0, SIM_TMEM_MAX_MB);
		if (d->tmem != SIM_TMEM_NONE && d->mem_mb > SIM_TMEM_MAX_MB)
			RANGE_FAIL(what, "memory_mb (with a tmem frontend)", d->mem_mb, 1,
			           SIM_TMEM_MAX_MB);
		if (d->placement == SIM_PLACE_VNUMA && !d->nr_vnodes)
			return fail(err, errlen, "scenario: %s: placement vnuma needs vnodes",
			            what);
		for (uint32_t v = 0; v < d->nr_vnodes; v++) {
			if (d->vnode[v].mem_mb > SIM_MAX_MEM_MB)
				RANGE_FAIL(what, "vnode memory_mb", d->vnode[v].mem_mb, 0,
				           SIM_MAX_MEM_MB);
			if (d->vnode[v].pnode >= NUMEM_MAX_NODES)
				RANGE_FAIL(what, "vnode node", d->vnode[v].pnode, 0,
				           NUMEM_MAX_NODES - 1);
			if (d->vnode[v].vcpus > NUMEM_MAX_VCPUS)
				RANGE_FAIL(what, "vnode vcpus", d->vnode[v].vcpus, 0,
				           NUMEM_MAX_VCPUS);
		}
	}
	if ((unsigned)sc->tmem_codec >= NUMEM_TMEM_NR_CODECS)
		RANGE_FAIL("scenario", "tmem_compress", sc->tmem_codec, 0,
		           NUMEM_TMEM_NR_CODECS - 1);
	bool frontends = false;
	for (uint32_t i = 0; i < sc->nr_domains; i++)
		frontends |= sc->domain[i].tmem != SIM_TMEM_NONE;
	for (uint32_t i = 0; i < sc->nr_phases; i++) {
		const struct sim_phase *p = &sc->phase[i];
		char what[32];
		snprintf(what, sizeof(what), "phase %u", i + 1);
		if ((unsigned)p->kind > SIM_TMEM)
			RANGE_FAIL(what, "kind", p->kind, SIM_BOOT, SIM_TMEM);
		if (p->kind == SIM_TMEM && !frontends)
			return fail(
			    err, errlen,
			    "scenario: %s: a tmem phase needs a domain with a tmem frontend "
			    "(\"tmem\": cleancache, frontswap or mixed)",
			    what);
		if (!terminated(p->domain, sizeof(p->domain)) ||
		    !terminated(p->file, sizeof(p->file)))
			return fail(err, errlen, "scenario: %s: domain or file not terminated",
			            what);
		if (p->ops > SIM_MAX_OPS)
			RANGE_FAIL(what, "ops", p->ops, 0, SIM_MAX_OPS);
		if (p->percent > 100)
			RANGE_FAIL(what, "percent", p->percent, 0, 100);
		for (unsigned o = 0; o < NUMEM_NR_ORDERS; o++)
			if (p->order_weight[o] > SIM_MAX_WEIGHT)
				RANGE_FAIL(what, "orders entry", p->order_weight[o], 0,
				           SIM_MAX_WEIGHT);
		if (p->kind != SIM_RELAYOUT)
			continue;
		if (!p->domain[0])
			return fail(err, errlen, "scenario: %s: relayout needs a domain", what);
		if (p->nr_nodes < 1 || p->nr_nodes > (p->stripe ? SIM_RELAYOUT_MAX_NODES : 1))
			RANGE_FAIL(what, p->stripe ? "stripe nodes" : "push nodes", p->nr_nodes, 1,
			           p->stripe ? SIM_RELAYOUT_MAX_NODES : 1);
		for (uint32_t k = 0; k < p->nr_nodes; k++)
			if (p->nodes[k] >= NUMEM_MAX_NODES)
				RANGE_FAIL(what, "node", p->nodes[k], 0, NUMEM_MAX_NODES - 1);
		if (p->stripe && (p->block_pages < 1 || p->block_pages > SIM_MAX_BLOCK_PAGES))
			RANGE_FAIL(what, "block", p->block_pages, 1, SIM_MAX_BLOCK_PAGES);
	}
	return 0;
}

/* A JSON integer member `key` of `obj` in [lo, hi]; absent: *out unchanged
 * (or an error when required). */
static int json_num(json_t *obj, const char *key, const char *what, bool required, int64_t lo,
                    int64_t hi, int64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v) {
		if (!required)
			return 0;
		snprintf(err, errlen, "scenario: %s: %s is required", what, key);
		return -1;
	}
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "scenario: %s: %s must be an integer (want %lld..%lld)", what,
		         key, (long long)lo, (long long)hi);
		return -1;
	}
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		RANGE_FAIL(what, key, x, lo, hi);
	*out = x;
	return 0;
}

/* A JSON string member, copied into a fixed field; absent: unchanged. */
static int json_str(json_t *obj, const char *key, const char *what, char *dst, size_t cap,
                    char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "scenario: %s: %s must be a string", what, key);
		return -1;
	}
	if (strlen(json_string_value(v)) >= cap) {
		snprintf(err, errlen, "scenario: %s: %s is longer than %zu characters", what, key,
		         cap - 1);
		return -1;
	}
	snprintf(dst, cap, "%s", json_string_value(v));
	return 0;
}

/* A JSON array member with at most `max` elements; absent or null: NULL. */
static int json_arr(json_t *obj, const char *key, const char *what, size_t max, json_t **out,
                    char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v)) {
		snprintf(err, errlen, "scenario: %s: %s must be an array", what, key);
		return -1;
	}
	if (json_array_size(v) > max) {
		snprintf(err, errlen, "scenario: %s: %s has %zu entries, at most %zu", what, key,
		         json_array_size(v), max);
		return -1;
	}
	*out = v;
	return 0;
}

static int json_domain(json_t *d, size_t index, struct sim_domain_spec *ds, char *err,
                       size_t errlen)
{
	char what[64];
	int64_t x;
	size_t k;
	json_t *a, *e;
	memset(ds, 0, sizeof(*ds));
	snprintf(what, sizeof(what), "domain %zu", index + 1);
	if (!json_is_object(d))
		return fail(err, errlen, "scenario: %s is not an object", what);
	if (!json_object_get(d, "name"))
		return fail(err, errlen, "scenario: %s: name is required", what);
	if (json_str(d, "name", what, ds->name, sizeof(ds->name), err, errlen))
		return -1;
	snprintf(what, sizeof(what), "domain '%s'", ds->name);
	if (json_num(d, "memory_mb", what, true, 1, (int64_t)SIM_MAX_MEM_MB, &x, err, errlen))
		return -1;
	ds->mem_mb = (uint64_t)x;
	x = 1;
	if (json_num(d, "vcpus", what, false, 1, NUMEM_MAX_VCPUS, &x, err, errlen))
		return -1;
	ds->vcpus = (uint32_t)x;
	x = 0;
	if (json_num(d, "node", what, false, 0, NUMEM_MAX_NODES - 1, &x, err, errlen))
		return -1;
	ds->node = (numem_nid_t)x;
	char place[16] = "auto";
	if (json_str(d, "placement", what, place, sizeof(place), err, errlen))
		return -1;
	if (placement_of(place, &ds->placement))
		return fail(err, errlen, "scenario: unknown placement '%s'", place);
	if (json_arr(d, "cpus", what, NUMEM_MAX_VCPUS, &a, err, errlen))
		return -1;
	json_array_foreach(a, k, e)
	{
		if (!json_is_integer(e) || json_integer_value(e) < -1 ||
		    json_integer_value(e) > SIM_MAX_PIN) {
			snprintf(err, errlen,
			         "scenario: %s: cpus entry %zu must be an integer in -1..%d", what,
			         k, SIM_MAX_PIN);
			return -1;
		}
		ds->pin[k] = (int32_t)json_integer_value(e);
	}
	char fe[16] = "none";
	if (json_str(d, "tmem", what, fe, sizeof(fe), err, errlen))
		return -1;
	if (frontend_of(fe, &ds->tmem)) {
		snprintf(err, errlen,
		         "scenario: %s: tmem '%s' unknown (want none, cleancache, frontswap or "
		         "mixed)",
		         what, fe);
		return -1;
	}
	x = 0;
	if (json_num(d, "working_set_mb", what, false, 0, (int64_t)SIM_TMEM_MAX_MB, &x, err,
	             errlen))
		return -1;
	ds->working_set_mb = (uint64_t)x;
	if (json_arr(d, "vnodes", what, NUMEM_MAX_VNODES, &a, err, errlen))
		return -1;
	json_array_foreach(a, k, e)
	{
		char vw[96];
		snprintf(vw, sizeof(vw), "%s vnode %zu", what, k);
		int64_t vm, vp, vc;
		if (!json_is_object(e))
			return fail(err, errlen, "scenario: %s is not an object", vw);
		if (json_num(e, "memory_mb", vw, true, 0, (int64_t)SIM_MAX_MEM_MB, &vm, err,
		             errlen) ||
		    json_num(e, "node", vw, true, 0, NUMEM_MAX_NODES - 1, &vp, err, errlen) ||
		    json_num(e, "vcpus", vw, true, 0, NUMEM_MAX_VCPUS, &vc, err, errlen))
			return -1;
		ds->vnode[k].mem_mb = (uint64_t)vm;
		ds->vnode[k].pnode = (numem_nid_t)vp;
		ds->vnode[k].vcpus = (uint32_t)vc;
		ds->nr_vnodes++;
	}
	return 0;
}

/* A relayout phase's "mode" ("stripe" or "push"), "nodes" (or "node" for
 * push), "block" and "migrate". */
static int json_relayout(json_t *p, const char *what, struct sim_phase *ph, char *err,
                         size_t errlen)
{
	char mode[16] = "";
	int64_t x;
	size_t k;
	json_t *a, *e;
	if (json_str(p, "mode", what, mode, sizeof(mode), err, errlen))
		return -1;
	if (strcmp(mode, "stripe") && strcmp(mode, "push"))
		return fail(err, errlen, "scenario: relayout mode '%s': stripe or push", mode);
	ph->stripe = !strcmp(mode, "stripe");
	if (json_arr(p, "nodes", what, SIM_RELAYOUT_MAX_NODES, &a, err, errlen))
		return -1;
	json_array_foreach(a, k, e)
	{
		if (!json_is_integer(e) || json_integer_value(e) < 0 ||
		    json_integer_value(e) >= NUMEM_MAX_NODES) {
			snprintf(err, errlen,
			         "scenario: %s: nodes entry %zu must be an integer in 0..%d", what,
			         k, NUMEM_MAX_NODES - 1);
			return -1;
		}
		ph->nodes[ph->nr_nodes++] = (numem_nid_t)json_integer_value(e);
	}
	x = -1;
	if (json_num(p, "node", what, false, 0, NUMEM_MAX_NODES - 1, &x, err, errlen))
		return -1;
	if (x >= 0 && !ph->nr_nodes)
		ph->nodes[ph->nr_nodes++] = (numem_nid_t)x;
	x = 256;
	if (json_num(p, "block", what, false, 1, (int64_t)SIM_MAX_BLOCK_PAGES, &x, err, errlen))
		return -1;
	ph->block_pages = (uint64_t)x;
	json_t *m = json_object_get(p, "migrate");
	if (m && !json_is_boolean(m))
		return fail(err, errlen, "scenario: %s: migrate must be true or false", what);
	ph->migrate = m && json_is_true(m);
	return 0;
}

static int json_phase(json_t *p, size_t index, struct sim_phase *ph, char *err, size_t errlen)
{
	char what[32], kind[16] = "";
	int64_t x;
	size_t k;
	json_t *a, *e;
	memset(ph, 0, sizeof(*ph));
	snprintf(what, sizeof(what), "phase %zu", index + 1);
	if (!json_is_object(p))
		return fail(err, errlen, "scenario: %s is not an object", what);
	if (json_str(p, "kind", what, kind, sizeof(kind), err, errlen))
		return -1;
	if (phase_kind(kind, &ph->kind) != 0)
		return fail(err, errlen, "scenario: unknown phase kind '%s'", kind);
	x = 0;
	if (json_num(p, "ops", what, false, 0, (int64_t)SIM_MAX_OPS, &x, err, errlen))
		return -1;
	ph->ops = (uint64_t)x;
	x = 0;
	if (json_num(p, "percent", what, false, 0, 100, &x, err, errlen))
		return -1;
	ph->percent = (uint32_t)x;
	if (json_str(p, "domain", what, ph->domain, sizeof(ph->domain), err, errlen) ||
	    json_str(p, "file", what, ph->file, sizeof(ph->file), err, errlen))
		return -1;
	if (ph->kind == SIM_RELAYOUT && json_relayout(p, what, ph, err, errlen))
		return -1;
	if (json_arr(p, "orders", what, NUMEM_NR_ORDERS, &a, err, errlen))
		return -1;
	json_array_foreach(a, k, e)
	{
		if (!json_is_integer(e) || json_integer_value(e) < 0 ||
		    json_integer_value(e) > SIM_MAX_WEIGHT) {
			snprintf(err, errlen,
			         "scenario: %s: orders entry %zu must be an integer in 0..%u", what,
			         k, SIM_MAX_WEIGHT);
			return -1;
		}
		ph->order_weight[k] = (uint32_t)json_integer_value(e);
	}
	return 0;
}

/* {"name", "machine", "seed", "sample_every", "cpuset", "tmem_compress": "off"|"lz4"|"zstd",
 *  "domains": [{"name", "memory_mb", "vcpus", "placement": "auto"|"node"|"pinned"|"vnuma",
 *               "node", "cpus": [..], "vnodes": [{"memory_mb", "node", "vcpus"}],
 *               "tmem": "none"|"cleancache"|"frontswap"|"mixed", "working_set_mb"}],
 *  "phases": [{"kind", "ops", "domain", "percent", "file", "orders": [..]}]} */
static int parse_json(struct sim_scenario *sc, json_t *root, char *err, size_t errlen)
{
	sim_default_scenario(sc);
	sc->nr_domains = sc->nr_phases = 0;
	sc->builtin = false;
	sc->name[0] = '\0'; /* unnamed unless `name =` says (not "default") */
	int64_t x;
	json_t *a, *e;
	size_t i;
	if (!json_is_object(root))
		return fail(err, errlen, "scenario: the top level is not an %s", "object");
	char cpuset[256] = "", codec[16] = "off";
	if (json_str(root, "name", "scenario", sc->name, sizeof(sc->name), err, errlen) ||
	    json_str(root, "machine", "scenario", sc->machine, sizeof(sc->machine), err, errlen) ||
	    json_str(root, "cpuset", "scenario", cpuset, sizeof(cpuset), err, errlen) ||
	    json_str(root, "tmem_compress", "scenario", codec, sizeof(codec), err, errlen))
		return -1;
	if (codec_of(codec, &sc->tmem_codec))
		return fail(err, errlen,
		            "scenario: tmem_compress '%s' unknown (want off, lz4 or zstd)", codec);
	if (cpuset[0] && parse_cpuset(cpuset, &sc->cpuset, err, errlen))
		return -1;
	x = (int64_t)sc->seed;
	if (json_num(root, "seed", "scenario", false, 0, INT64_MAX, &x, err, errlen))
		return -1;
	sc->seed = (uint64_t)x;
	x = (int64_t)sc->sample_every;
	if (json_num(root, "sample_every", "scenario", false, 1, (int64_t)SIM_MAX_SAMPLE_EVERY, &x,
	             err, errlen))
		return -1;
	sc->sample_every = (uint64_t)x;
	if (json_arr(root, "domains", "scenario", SIM_MAX_DOMAINS, &a, err, errlen))
		return -1;
	json_array_foreach(a, i, e)
	{
		if (json_domain(e, i, &sc->domain[i], err, errlen))
			return -1;
		sc->nr_domains++;
	}
	if (json_arr(root, "phases", "scenario", SIM_MAX_PHASES, &a, err, errlen))
		return -1;
	json_array_foreach(a, i, e)
	{
		if (json_phase(e, i, &sc->phase[i], err, errlen))
			return -1;
		sc->nr_phases++;
	}
	if (!sc->nr_phases)
		return fail(err, errlen, "scenario: no %s", "phases");
	return 0;
}

/*
 * Parse into a scratch scenario, validate it, and only then copy it out:
 * a rejected scenario leaves *sc as it was.
 */
int sim_scenario_from_json(struct sim_scenario *sc, const char *text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(text, 0, &je);
	if (!root) {
		snprintf(err, errlen, "scenario: line %d column %d: %s", je.line, je.column,
		         je.text);
		return -1;
	}
	struct sim_scenario *tmp = malloc(sizeof(*tmp));
	int rc = tmp ? parse_json(tmp, root, err, errlen)
	             : fail(err, errlen, "scenario: %s", "out of memory");
	json_decref(root);
	if (!rc)
		rc = sim_scenario_validate(tmp, err, errlen);
	if (!rc)
		*sc = *tmp;
	free(tmp);
	return rc;
}

/* A number of the xl.cfg text, strictly (numem_parse_uint): the message
 * names the line and the key. */
static int cfg_num(int lineno, const char *key, const char *val, uint64_t lo, uint64_t hi,
                   uint64_t *out, char *err, size_t errlen)
{
	char field[96];
	snprintf(field, sizeof(field), "scenario line %d: %s", lineno, key);
	return numem_parse_uint(field, val, lo, hi, out, err, errlen);
}

/* Blanks off both ends, in place. */
static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	for (char *e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t');)
		*--e = '\0';
	return s;
}

/* relayout:DOMAIN:stripe=N/N/N[@BLOCK][+migrate] or relayout:DOMAIN:push=N[+migrate] */
static int cfg_relayout(struct sim_phase *p, const char *dom, char *spec, int lineno, char *err,
                        size_t errlen)
{
	uint64_t x;
	if (!dom || !spec)
		return fail(err, errlen,
		            "scenario: relayout needs %s (relayout:DOMAIN:stripe=0/1/2@256 or "
		            "relayout:DOMAIN:push=1, +migrate optional)",
		            "a domain and a mode");
	if (strlen(dom) >= sizeof(p->domain))
		return fail(err, errlen, "scenario: domain name '%s' too long", dom);
	snprintf(p->domain, sizeof(p->domain), "%s", dom);
	char *plus = strchr(spec, '+');
	if (plus) {
		*plus++ = '\0';
		if (strcmp(plus, "migrate"))
			return fail(err, errlen, "scenario: relayout: unknown flag '+%s'", plus);
		p->migrate = true;
	}
	char *at = strchr(spec, '@');
	p->block_pages = 256;
	if (at) {
		*at++ = '\0';
		if (cfg_num(lineno, "relayout block", at, 1, SIM_MAX_BLOCK_PAGES, &x, err, errlen))
			return -1;
		p->block_pages = x;
	}
	char *eq = strchr(spec, '=');
	if (!eq)
		return fail(err, errlen,
		            "scenario: relayout '%s': expected stripe=NODES or push=NODE", spec);
	*eq++ = '\0';
	if (strcmp(spec, "stripe") && strcmp(spec, "push"))
		return fail(err, errlen, "scenario: relayout mode '%s': stripe or push", spec);
	p->stripe = !strcmp(spec, "stripe");
	char *save;
	for (char *n = strtok_r(eq, "/", &save); n; n = strtok_r(NULL, "/", &save)) {
		if (p->nr_nodes == SIM_RELAYOUT_MAX_NODES)
			return fail(err, errlen, "scenario: relayout: more than %s nodes", "8");
		if (cfg_num(lineno, "relayout node", n, 0, NUMEM_MAX_NODES - 1, &x, err, errlen))
			return -1;
		p->nodes[p->nr_nodes++] = (numem_nid_t)x;
	}
	return 0;
}

/* "boot, churn:200000, balloon:web:50, pressure:95, destroy:hog, replay:F,
 *  relayout:db:stripe=0/1/2@256, tmem:50000" */
static int cfg_phases(struct sim_scenario *sc, char *val, int lineno, char *err, size_t errlen)
{
	char *save;
	uint64_t x;
	for (char *ph = strtok_r(val, ",", &save); ph; ph = strtok_r(NULL, ",", &save)) {
		ph = trim(ph);
		if (sc->nr_phases == SIM_MAX_PHASES)
			return fail(err, errlen, "scenario: more than %s phases", "16");
		struct sim_phase *p = &sc->phase[sc->nr_phases];
		memset(p, 0, sizeof(*p));
		char *a = strchr(ph, ':'), *b = NULL;
		if (a) {
			*a++ = '\0';
			b = strchr(a, ':');
			if (b)
				*b++ = '\0';
		}
		if (phase_kind(ph, &p->kind) != 0)
			return fail(err, errlen, "scenario: unknown phase '%s'", ph);
		char key[32];
		snprintf(key, sizeof(key), "phase %s", ph);
		if (p->kind == SIM_REPLAY && a) {
			if (strlen(a) >= sizeof(p->file))
				return fail(err, errlen, "scenario: replay file name '%s' too long",
				            a);
			snprintf(p->file, sizeof(p->file), "%s", a);
		} else if ((p->kind == SIM_CHURN || p->kind == SIM_TMEM) && a) {
			if (cfg_num(lineno, key, a, 0, SIM_MAX_OPS, &x, err, errlen))
				return -1;
			p->ops = x;
		} else if (p->kind == SIM_RELAYOUT) {
			if (cfg_relayout(p, a, b, lineno, err, errlen))
				return -1;
			b = NULL;
		} else if (p->kind == SIM_PRESSURE && a) {
			if (cfg_num(lineno, key, a, 0, 100, &x, err, errlen))
				return -1;
			p->percent = (uint32_t)x;
		} else if (a) {
			if (strlen(a) >= sizeof(p->domain))
				return fail(err, errlen, "scenario: domain name '%s' too long", a);
			snprintf(p->domain, sizeof(p->domain), "%s", a);
		}
		if (b) {
			if (cfg_num(lineno, key, b, 0, 100, &x, err, errlen))
				return -1;
			p->percent = (uint32_t)x;
		}
		sc->nr_phases++;
	}
	return 0;
}

/* "2048@1:2, 2048@3:2": memory_mb@node:vcpus per virtual node. */
static int cfg_vnodes(struct sim_domain_spec *ds, char *val, int lineno, char *err, size_t errlen)
{
	char *save;
	for (char *v = strtok_r(val, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
		v = trim(v);
		char *at = strchr(v, '@'), *colon = at ? strchr(at, ':') : NULL;
		if (!at || !colon)
			return fail(err, errlen, "scenario: bad vnode '%s' (want MB@NODE:VCPUS)",
			            v);
		if (ds->nr_vnodes == NUMEM_MAX_VNODES) {
			snprintf(err, errlen, "scenario line %d: more than %u vnodes", lineno,
			         (unsigned)NUMEM_MAX_VNODES);
			return -1;
		}
		*at = *colon = '\0';
		uint64_t mb, node, vc;
		if (cfg_num(lineno, "vnode memory", v, 0, SIM_MAX_MEM_MB, &mb, err, errlen) ||
		    cfg_num(lineno, "vnode node", at + 1, 0, NUMEM_MAX_NODES - 1, &node, err,
		            errlen) ||
		    cfg_num(lineno, "vnode vcpus", colon + 1, 0, NUMEM_MAX_VCPUS, &vc, err, errlen))
			return -1;
		ds->vnode[ds->nr_vnodes].mem_mb = mb;
		ds->vnode[ds->nr_vnodes].pnode = (numem_nid_t)node;
		ds->vnode[ds->nr_vnodes++].vcpus = (uint32_t)vc;
	}
	return 0;
}

static int cfg_domain_key(struct sim_domain_spec *ds, const char *key, char *val, int lineno,
                          char *err, size_t errlen)
{
	uint64_t x;
	if (!strcmp(key, "memory")) {
		if (cfg_num(lineno, key, val, 1, SIM_MAX_MEM_MB, &x, err, errlen))
			return -1;
		ds->mem_mb = x;
	} else if (!strcmp(key, "vcpus")) {
		if (cfg_num(lineno, key, val, 1, NUMEM_MAX_VCPUS, &x, err, errlen))
			return -1;
		ds->vcpus = (uint32_t)x;
	} else if (!strcmp(key, "node")) {
		if (cfg_num(lineno, key, val, 0, NUMEM_MAX_NODES - 1, &x, err, errlen))
			return -1;
		ds->node = (numem_nid_t)x;
	} else if (!strcmp(key, "placement")) {
		if (placement_of(val, &ds->placement)) {
			snprintf(
			    err, errlen,
			    "scenario line %d: placement '%s' unknown (want auto, node, pinned "
			    "or vnuma)",
			    lineno, val);
			return -1;
		}
	} else if (!strcmp(key, "cpus")) {
		uint32_t ids[NUMEM_MAX_VCPUS];
		int n = numem_parse_ranges(val, ids, NUMEM_MAX_VCPUS);
		if (n < 0)
			return fail(err, errlen, "scenario: bad cpus '%s'", val);
		for (int i = 0; i < n; i++) {
			if (ids[i] > SIM_MAX_PIN) {
				snprintf(err, errlen,
				         "scenario line %d: cpus: %u is out of range (want 0..%d)",
				         lineno, ids[i], SIM_MAX_PIN);
				return -1;
			}
			ds->pin[i] = (int32_t)ids[i];
		}
	} else if (!strcmp(key, "vnodes")) {
		return cfg_vnodes(ds, val, lineno, err, errlen);
	} else if (!strcmp(key, "tmem")) {
		if (frontend_of(val, &ds->tmem)) {
			snprintf(err, errlen,
			         "scenario line %d: tmem '%s' unknown (want none, cleancache, "
			         "frontswap or mixed)",
			         lineno, val);
			return -1;
		}
	} else if (!strcmp(key, "working_set")) {
		if (cfg_num(lineno, key, val, 0, SIM_TMEM_MAX_MB, &x, err, errlen))
			return -1;
		ds->working_set_mb = x;
	} else {
		return fail(err, errlen, "scenario: unknown domain key '%s'", key);
	}
	return 0;
}

/*
 * xl.cfg-like: global keys (machine, seed, sample_every, cpuset, tmem_compress, phases = "boot,
 * churn:200000, balloon:web:50, pressure:95, destroy:hog"), then one
 * section per domain:
 *   [db]
 *   memory = 4096
 *   vcpus = 4
 *   placement = node        # auto | node | pinned | vnuma
 *   node = 2
 *   cpus = 0,1,8,9          # pinned
 *   vnodes = 2048@1:2, 2048@3:2   # vnuma: memory_mb@node:vcpus
 *   tmem = cleancache       # none | cleancache | frontswap | mixed
 *   working_set = 768       # MB the tmem workload touches (default 1.5 x memory)
 * Every number is read strictly (numem_parse_uint: no sign, no trailing
 * characters, within the field's range).
 */
static int parse_xlcfg(struct sim_scenario *sc, char *buf, char *err, size_t errlen)
{
	sim_default_scenario(sc);
	sc->nr_domains = sc->nr_phases = 0;
	sc->builtin = false;
	sc->name[0] = '\0'; /* unnamed unless `name =` says (not "default") */
	struct sim_domain_spec *ds = NULL;
	int lineno = 0;
	uint64_t x;
	for (char *next = buf, *line; next;) {
		line = next;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		line = trim(line);
		if (!*line)
			continue;
		if (*line == '[') {
			char *end = strchr(line, ']');
			if (!end || sc->nr_domains == SIM_MAX_DOMAINS || end - line - 1 >= 32)
				return fail(err, errlen, "scenario: bad section header '%s'", line);
			*end = '\0';
			ds = &sc->domain[sc->nr_domains++];
			memset(ds, 0, sizeof(*ds));
			snprintf(ds->name, sizeof(ds->name), "%s", line + 1);
			ds->vcpus = 1;
			continue;
		}
		char *eq = strchr(line, '=');
		if (!eq)
			return fail(err, errlen, "scenario: '%s' is not key = value", line);
		*eq = '\0';
		char *key = trim(line), *val = eq + 1;
		while (*val == ' ' || *val == '\t' || *val == '"')
			val++;
		for (char *e = val + strlen(val);
		     e > val && (e[-1] == ' ' || e[-1] == '"' || e[-1] == '\r' || e[-1] == '\t');)
			*--e = '\0';
		if (ds) {
			if (cfg_domain_key(ds, key, val, lineno, err, errlen))
				return -1;
		} else if (!strcmp(key, "machine")) {
			snprintf(sc->machine, sizeof(sc->machine), "%s", val);
		} else if (!strcmp(key, "name")) {
			snprintf(sc->name, sizeof(sc->name), "%s", val);
		} else if (!strcmp(key, "seed")) {
			if (cfg_num(lineno, key, val, 0, UINT64_MAX, &sc->seed, err, errlen))
				return -1;
		} else if (!strcmp(key, "cpuset")) {
			if (parse_cpuset(val, &sc->cpuset, err, errlen))
				return -1;
		} else if (!strcmp(key, "tmem_compress")) {
			if (codec_of(val, &sc->tmem_codec)) {
				snprintf(
				    err, errlen,
				    "scenario line %d: tmem_compress '%s' unknown (want off, lz4 "
				    "or zstd)",
				    lineno, val);
				return -1;
			}
		} else if (!strcmp(key, "sample_every")) {
			if (cfg_num(lineno, key, val, 1, SIM_MAX_SAMPLE_EVERY, &x, err, errlen))
				return -1;
			sc->sample_every = x;
		} else if (!strcmp(key, "phases")) {
			if (cfg_phases(sc, val, lineno, err, errlen))
				return -1;
		} else {
			return fail(err, errlen, "scenario: unknown key '%s'", key);
		}
	}
	for (uint32_t i = 0; i < sc->nr_domains; i++)
		if (!sc->domain[i].mem_mb)
			return fail(err, errlen, "scenario: domain %s needs memory and vcpus",
			            sc->domain[i].name);
	if (!sc->nr_phases)
		return fail(err, errlen, "scenario: no %s", "phases");
	return 0;
}

int sim_scenario_from_xlcfg(struct sim_scenario *sc, const char *text, char *err, size_t errlen)
{
	char *buf = strdup(text);
	struct sim_scenario *tmp = malloc(sizeof(*tmp));
	int rc = buf && tmp ? parse_xlcfg(tmp, buf, err, errlen)
	                    : fail(err, errlen, "scenario: %s", "out of memory");
	if (!rc)
		rc = sim_scenario_validate(tmp, err, errlen);
	if (!rc)
		*sc = *tmp;
	free(tmp);
	free(buf);
	return rc;
}
