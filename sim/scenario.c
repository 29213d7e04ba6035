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
	sc->nr_domains = 4;
	struct sim_phase *p = sc->phase;
	p[0] = (struct sim_phase){.kind = SIM_BOOT};
	p[1] = (struct sim_phase){.kind = SIM_CHURN, .ops = 200000};
	p[2] = (struct sim_phase){.kind = SIM_BALLOON, .domain = "web", .percent = 50};
	p[3] = (struct sim_phase){.kind = SIM_PRESSURE, .percent = 95};
	p[4] = (struct sim_phase){.kind = SIM_CHURN, .ops = 100000};
	p[5] = (struct sim_phase){.kind = SIM_DESTROY, .domain = "hog"};
	p[6] = (struct sim_phase){.kind = SIM_BALLOON, .domain = "web", .percent = 100};
	p[7] = (struct sim_phase){.kind = SIM_DESTROY, .domain = "batch"};
	p[8] = (struct sim_phase){.kind = SIM_CHURN, .ops = 100000};
	sc->nr_phases = 9;
}

static int fail(char *err, size_t n, const char *fmt, const char *what)
{
	snprintf(err, n, fmt, what);
	return -1;
}

static int phase_kind(const char *s, enum sim_phase_kind *k)
{
	static const char *const names[] = {"boot",     "churn",   "balloon",
	                                    "pressure", "destroy", "replay"};
	for (int i = 0; i < 6; i++)
		if (!strcmp(s, names[i])) {
			*k = (enum sim_phase_kind)i;
			return 0;
		}
	return -1;
}

/* {"name", "machine", "seed", "sample_every",
 *  "domains": [{"name", "memory_mb", "vcpus", "placement": "auto"|"node"|"pinned"|"vnuma",
 *               "node", "cpus": [..], "vnodes": [{"memory_mb", "node", "vcpus"}]}],
 *  "phases": [{"kind", "ops", "domain", "percent"}]} */
int sim_scenario_from_json(struct sim_scenario *sc, const char *text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(text, 0, &je);
	if (!root) {
		snprintf(err, errlen, "scenario: line %d column %d: %s", je.line, je.column,
		         je.text);
		return -1;
	}
	sim_default_scenario(sc);
	sc->nr_domains = sc->nr_phases = 0;
	int rc = 0;
	const char *s;
	if (json_unpack(root, "{s?s}", "name", &s) == 0 && json_object_get(root, "name"))
		snprintf(sc->name, sizeof(sc->name), "%s", s);
	if (json_unpack(root, "{s?s}", "machine", &s) == 0 && json_object_get(root, "machine"))
		snprintf(sc->machine, sizeof(sc->machine), "%s", s);
	json_t *v;
	if ((v = json_object_get(root, "seed")) && json_is_integer(v))
		sc->seed = (uint64_t)json_integer_value(v);
	if ((v = json_object_get(root, "sample_every")) && json_is_integer(v) &&
	    json_integer_value(v) > 0)
		sc->sample_every = (uint64_t)json_integer_value(v);
	json_t *doms = json_object_get(root, "domains"), *d;
	size_t i;
	json_array_foreach(doms, i, d)
	{
		if (i >= SIM_MAX_DOMAINS) {
			rc = fail(err, errlen, "scenario: more than %s domains", "16");
			break;
		}
		struct sim_domain_spec *ds = &sc->domain[sc->nr_domains++];
		memset(ds, 0, sizeof(*ds));
		const char *name = "", *place = "auto";
		json_int_t mem = 0, vcpus = 1, node = 0;
		if (json_unpack(d, "{s:s, s:I, s?I, s?s, s?I}", "name", &name, "memory_mb", &mem,
		                "vcpus", &vcpus, "placement", &place, "node", &node) != 0 ||
		    mem <= 0 || vcpus <= 0 || vcpus > NUMEM_MAX_VCPUS) {
			rc = fail(err, errlen,
			          "scenario: domain %s needs name, memory_mb > 0 and vcpus 1..256",
			          name);
			break;
		}
		snprintf(ds->name, sizeof(ds->name), "%s", name);
		ds->mem_mb = (uint64_t)mem;
		ds->vcpus = (uint32_t)vcpus;
		ds->node = (numem_nid_t)node;
		if (!strcmp(place, "auto"))
			ds->placement = SIM_PLACE_AUTO;
		else if (!strcmp(place, "node"))
			ds->placement = SIM_PLACE_NODE;
		else if (!strcmp(place, "pinned"))
			ds->placement = SIM_PLACE_PINNED;
		else if (!strcmp(place, "vnuma"))
			ds->placement = SIM_PLACE_VNUMA;
		else {
			rc = fail(err, errlen, "scenario: unknown placement '%s'", place);
			break;
		}
		json_t *cpus = json_object_get(d, "cpus"), *c;
		size_t k;
		json_array_foreach(cpus, k, c) if (k < NUMEM_MAX_VCPUS) ds->pin[k] =
		    (int32_t)json_integer_value(c);
		json_t *vn = json_object_get(d, "vnodes"), *x;
		json_array_foreach(vn, k, x)
		{
			if (k >= NUMEM_MAX_VNODES)
				break;
			json_int_t vm = 0, vp = 0, vc = 0;
			json_unpack(x, "{s:I, s:I, s:I}", "memory_mb", &vm, "node", &vp, "vcpus",
			            &vc);
			ds->vnode[k].mem_mb = (uint64_t)vm;
			ds->vnode[k].pnode = (numem_nid_t)vp;
			ds->vnode[k].vcpus = (uint32_t)vc;
			ds->nr_vnodes++;
		}
	}
	json_t *phases = json_object_get(root, "phases"), *p;
	json_array_foreach(phases, i, p)
	{
		if (rc || i >= SIM_MAX_PHASES)
			break;
		struct sim_phase *ph = &sc->phase[sc->nr_phases++];
		memset(ph, 0, sizeof(*ph));
		const char *kind = "", *dom = "", *file = "";
		json_int_t ops = 0, pct = 0;
		json_unpack(p, "{s:s, s?I, s?s, s?I, s?s}", "kind", &kind, "ops", &ops, "domain",
		            &dom, "percent", &pct, "file", &file);
		snprintf(ph->file, sizeof(ph->file), "%s", file);
		json_t *w = json_object_get(p, "orders"), *x;
		size_t k;
		json_array_foreach(w, k, x) if (k <= NUMEM_MAX_ORDER && json_integer_value(x) >= 0)
		    ph->order_weight[k] = (uint32_t)json_integer_value(x);
		if (phase_kind(kind, &ph->kind) != 0) {
			rc = fail(err, errlen, "scenario: unknown phase kind '%s'", kind);
			break;
		}
		ph->ops = (uint64_t)ops;
		ph->percent = (uint32_t)pct;
		snprintf(ph->domain, sizeof(ph->domain), "%s", dom);
	}
	json_decref(root);
	if (!rc && !sc->nr_phases)
		rc = fail(err, errlen, "scenario: no %s", "phases");
	return rc;
}

/*
 * xl.cfg-like: global keys (machine, seed, sample_every, phases = "boot,
 * churn:200000, balloon:web:50, pressure:95, destroy:hog"), then one
 * section per domain:
 *   [db]
 *   memory = 4096
 *   vcpus = 4
 *   placement = node        # auto | node | pinned | vnuma
 *   node = 2
 *   cpus = 0,1,8,9          # pinned
 *   vnodes = 2048@1:2, 2048@3:2   # vnuma: memory_mb@node:vcpus
 */
int sim_scenario_from_xlcfg(struct sim_scenario *sc, const char *text, char *err, size_t errlen)
{
	sim_default_scenario(sc);
	sc->nr_domains = sc->nr_phases = 0;
	char *buf = strdup(text);
	if (!buf)
		return fail(err, errlen, "scenario: %s", "out of memory");
	struct sim_domain_spec *ds = NULL;
	int rc = 0, lineno = 0;
	for (char *line = strtok(buf, "\n"); line && !rc; line = strtok(NULL, "\n")) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line)
			continue;
		if (*line == '[') {
			char *end = strchr(line, ']');
			if (!end || sc->nr_domains == SIM_MAX_DOMAINS) {
				rc = fail(err, errlen, "scenario: bad section header '%s'", line);
				break;
			}
			*end = '\0';
			ds = &sc->domain[sc->nr_domains++];
			memset(ds, 0, sizeof(*ds));
			snprintf(ds->name, sizeof(ds->name), "%s", line + 1);
			ds->vcpus = 1;
			continue;
		}
		char *eq = strchr(line, '=');
		if (!eq) {
			rc = fail(err, errlen, "scenario: '%s' is not key = value", line);
			break;
		}
		*eq = '\0';
		char *key = line, *val = eq + 1;
		for (char *e = key + strlen(key); e > key && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		while (*val == ' ' || *val == '\t' || *val == '"')
			val++;
		for (char *e = val + strlen(val);
		     e > val && (e[-1] == ' ' || e[-1] == '"' || e[-1] == '\r');)
			*--e = '\0';
		if (!ds) {
			if (!strcmp(key, "machine"))
				snprintf(sc->machine, sizeof(sc->machine), "%s", val);
			else if (!strcmp(key, "name"))
				snprintf(sc->name, sizeof(sc->name), "%s", val);
			else if (!strcmp(key, "seed"))
				sc->seed = strtoull(val, NULL, 0);
			else if (!strcmp(key, "sample_every"))
				sc->sample_every = strtoull(val, NULL, 0);
			else if (!strcmp(key, "phases")) {
				char *save;
				for (char *ph = strtok_r(val, ",", &save); ph && !rc;
				     ph = strtok_r(NULL, ",", &save)) {
					while (*ph == ' ')
						ph++;
					if (sc->nr_phases == SIM_MAX_PHASES) {
						rc = fail(err, errlen,
						          "scenario: more than %s phases", "16");
						break;
					}
					struct sim_phase *p = &sc->phase[sc->nr_phases++];
					memset(p, 0, sizeof(*p));
					char *a = strchr(ph, ':'), *b = NULL;
					if (a) {
						*a++ = '\0';
						b = strchr(a, ':');
						if (b)
							*b++ = '\0';
					}
					if (phase_kind(ph, &p->kind) != 0 ||
					    sc->nr_phases > SIM_MAX_PHASES) {
						rc = fail(err, errlen,
						          "scenario: unknown phase '%s'", ph);
						break;
					}
					if (p->kind == SIM_REPLAY && a)
						snprintf(p->file, sizeof(p->file), "%s", a);
					else if (p->kind == SIM_CHURN && a)
						p->ops = strtoull(a, NULL, 0);
					else if (p->kind == SIM_PRESSURE && a)
						p->percent = (uint32_t)strtoul(a, NULL, 0);
					else if (a)
						snprintf(p->domain, sizeof(p->domain), "%s", a);
					if (b)
						p->percent = (uint32_t)strtoul(b, NULL, 0);
				}
			} else {
				rc = fail(err, errlen, "scenario: unknown key '%s'", key);
			}
			continue;
		}
		if (!strcmp(key, "memory"))
			ds->mem_mb = strtoull(val, NULL, 0);
		else if (!strcmp(key, "vcpus"))
			ds->vcpus = (uint32_t)strtoul(val, NULL, 0);
		else if (!strcmp(key, "node"))
			ds->node = (numem_nid_t)strtoul(val, NULL, 0);
		else if (!strcmp(key, "placement")) {
			ds->placement = !strcmp(val, "node")     ? SIM_PLACE_NODE
			                : !strcmp(val, "pinned") ? SIM_PLACE_PINNED
			                : !strcmp(val, "vnuma")  ? SIM_PLACE_VNUMA
			                                         : SIM_PLACE_AUTO;
		} else if (!strcmp(key, "cpus")) {
			uint32_t ids[NUMEM_MAX_VCPUS];
			int n = numem_parse_ranges(val, ids, NUMEM_MAX_VCPUS);
			for (int i = 0; i < n; i++)
				ds->pin[i] = (int32_t)ids[i];
			if (n < 0)
				rc = fail(err, errlen, "scenario: bad cpus '%s'", val);
		} else if (!strcmp(key, "vnodes")) {
			char *save;
			for (char *v = strtok_r(val, ",", &save);
			     v && ds->nr_vnodes < NUMEM_MAX_VNODES;
			     v = strtok_r(NULL, ",", &save)) {
				unsigned long long mb;
				unsigned node, vc;
				if (sscanf(v, " %llu@%u:%u", &mb, &node, &vc) != 3) {
					rc = fail(err, errlen,
					          "scenario: bad vnode '%s' (want MB@NODE:VCPUS)",
					          v);
					break;
				}
				ds->vnode[ds->nr_vnodes].mem_mb = mb;
				ds->vnode[ds->nr_vnodes].pnode = (numem_nid_t)node;
				ds->vnode[ds->nr_vnodes++].vcpus = vc;
			}
		} else {
			rc = fail(err, errlen, "scenario: unknown domain key '%s'", key);
		}
	}
	free(buf);
	(void)lineno;
	for (uint32_t i = 0; !rc && i < sc->nr_domains; i++)
		if (!sc->domain[i].mem_mb || !sc->domain[i].vcpus)
			rc = fail(err, errlen, "scenario: domain %s needs memory and vcpus",
			          sc->domain[i].name);
	if (!rc && !sc->nr_phases)
		rc = fail(err, errlen, "scenario: no %s", "phases");
	return rc;
}
