/*
 * numa_spec.c - machines described in QEMU's -numa syntax.
 *
 *   node[,nodeid=N][,cpus=A[-B]]...[,mem=SIZE]   a node (nodeid defaults to
 *                                                 the next free id)
 *   dist,src=N,dst=M,val=D                        a distance (the reverse
 *                                                 direction defaults to D)
 *
 * As in QEMU, node ids may have gaps (they become proximity domains), a
 * node without mem= has no memory, CPUs given to no node join node 0, and
 * without any dist= the machine has no SLIT (10/20 apply).  Other -numa
 * kinds (cpu, hmat-lb, hmat-cache) are refused with a message.
 */
#include <numem/host.h>

#include <stdlib.h>
#include <string.h>

static int find_or_add_node(struct numem_spec *spec, uint32_t pxm)
{
	for (uint32_t i = 0; i < spec->nr_nodes; i++)
		if (spec->node[i].pxm == pxm)
			return (int)i;
	if (spec->nr_nodes >= NUMEM_MAX_NODES)
		return -1;
	uint32_t at = spec->nr_nodes;
	memset(&spec->node[at], 0, sizeof(spec->node[at]));
	spec->mem_given[at] = false;
	spec->node[at].pxm = pxm;
	spec->nr_nodes++;
	return (int)at;
}

/* A number of a -numa argument, strictly (numem_parse_uint): the message
 * names the argument and the key. */
static int spec_uint(const char *arg, const char *key, const char *v, uint32_t max, uint32_t *out,
                     char *err, size_t errlen)
{
	char field[1100];
	uint64_t x;
	snprintf(field, sizeof(field), "-numa %s: %s", arg, key);
	if (numem_parse_uint(field, v, 0, max, &x, err, errlen))
		return -1;
	*out = (uint32_t)x;
	return 0;
}

static int add_node(struct numem_spec *spec, char *opts, const char *arg, char *err, size_t errlen)
{
	uint32_t pxm = 0; /* default: one past the highest id defined so far */
	for (uint32_t i = 0; i < spec->nr_nodes; i++)
		if (spec->node[i].defined && spec->node[i].pxm + 1 > pxm)
			pxm = spec->node[i].pxm + 1;
	uint64_t mem = 0;
	bool has_mem = false;
	static uint32_t ids[NUMEM_SPEC_MAX_CPUS];
	uint32_t nr_ids = 0;
	for (char *kv = strtok(opts, ","); kv; kv = strtok(NULL, ",")) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			snprintf(err, errlen, "-numa %s: \"%s\" is not key=value", arg, kv);
			return -1;
		}
		*eq = '\0';
		const char *v = eq + 1;
		if (!strcmp(kv, "nodeid")) {
			if (spec_uint(arg, "nodeid", v, 0xfffe, &pxm, err, errlen))
				return -1;
		} else if (!strcmp(kv, "cpus")) {
			int n = numem_parse_ranges(v, ids + nr_ids, NUMEM_SPEC_MAX_CPUS - nr_ids);
			if (n < 0) {
				snprintf(err, errlen,
				         "-numa %s: bad cpus \"%s\" (want A or A-B, ids below %u)",
				         arg, v, NUMEM_SPEC_MAX_CPUS);
				return -1;
			}
			/* numem_parse_ranges caps how many ids, not their values:
			 * each indexes the nodes' cpumask. */
			for (int i = 0; i < n; i++)
				if (ids[nr_ids + i] >= NUMEM_SPEC_MAX_CPUS) {
					snprintf(err, errlen,
					         "-numa %s: cpu id %u is at or above the limit %u "
					         "(ids 0..%u)",
					         arg, ids[nr_ids + i], NUMEM_SPEC_MAX_CPUS,
					         NUMEM_SPEC_MAX_CPUS - 1);
					return -1;
				}
			nr_ids += (uint32_t)n;
		} else if (!strcmp(kv, "mem")) {
			if (numem_parse_size(v, &mem) || (mem & 0xfff)) {
				snprintf(
				    err, errlen,
				    "-numa %s: bad mem \"%s\" (want a size such as 4G or 512M, "
				    "a multiple of 4 KiB)",
				    arg, v);
				return -1;
			}
			has_mem = true;
		} else if (!strcmp(kv, "memdev") || !strcmp(kv, "initiator")) {
			/* accepted and ignored: no backend objects here */
		} else {
			snprintf(err, errlen, "-numa %s: unknown option \"%s\"", arg, kv);
			return -1;
		}
	}
	for (uint32_t i = 0; i < spec->nr_nodes; i++)
		if (spec->node[i].pxm == pxm && spec->node[i].defined) {
			snprintf(err, errlen, "-numa %s: node %u defined twice", arg, pxm);
			return -1;
		}
	/* Validate everything before the spec changes. */
	uint64_t seen[NUMEM_SPEC_MAX_CPUS / 64] = {0};
	for (uint32_t i = 0; i < nr_ids; i++) {
		uint32_t id = ids[i];
		if (seen[id / 64] >> (id % 64) & 1) {
			snprintf(err, errlen, "-numa %s: cpu %u listed twice", arg, id);
			return -1;
		}
		seen[id / 64] |= 1ull << (id % 64);
		for (uint32_t m = 0; m < spec->nr_nodes; m++)
			if (spec->node[m].cpumask[id / 64] >> (id % 64) & 1) {
				snprintf(err, errlen, "-numa %s: cpu %u is already in node %u", arg,
				         id, spec->node[m].pxm);
				return -1;
			}
	}
	int n = find_or_add_node(spec, pxm);
	if (n < 0) {
		snprintf(err, errlen, "-numa %s: more than %u nodes", arg,
		         (unsigned)NUMEM_MAX_NODES);
		return -1;
	}
	spec->node[n].mem_bytes = mem;
	spec->node[n].defined = true;
	spec->mem_given[n] = has_mem;
	for (uint32_t i = 0; i < nr_ids; i++)
		spec->node[n].cpumask[ids[i] / 64] |= 1ull << (ids[i] % 64);
	return 0;
}

static int add_dist(struct numem_spec *spec, char *opts, const char *arg, char *err, size_t errlen)
{
	uint32_t src = UINT32_MAX, dst = UINT32_MAX, val = 0;
	for (char *kv = strtok(opts, ","); kv; kv = strtok(NULL, ",")) {
		char *eq = strchr(kv, '=');
		uint32_t *slot = NULL;
		if (eq) {
			*eq = '\0';
			slot = !strcmp(kv, "src")   ? &src
			       : !strcmp(kv, "dst") ? &dst
			       : !strcmp(kv, "val") ? &val
			                            : NULL;
		}
		if (!slot) {
			snprintf(err, errlen, "-numa %s: want dist,src=N,dst=M,val=D", arg);
			return -1;
		}
		if (spec_uint(arg, kv, eq + 1, slot == &val ? UINT32_MAX - 1 : 0xfffe, slot, err,
		              errlen))
			return -1;
	}
	if (src == UINT32_MAX || dst == UINT32_MAX || !val) {
		snprintf(err, errlen, "-numa %s: src, dst and val are all required", arg);
		return -1;
	}
	if (val > 255 || (src == dst && val != 10) || (src != dst && val <= 10)) {
		snprintf(err, errlen,
		         "-numa %s: distance %u invalid (local must be 10, remote 11..255)", arg,
		         val);
		return -1;
	}
	/* room for both ends before either is added */
	uint32_t fresh = 0;
	for (int k = 0; k < 2; k++) {
		uint32_t pxm = k ? dst : src;
		bool known = k && dst == src;
		for (uint32_t i = 0; i < spec->nr_nodes && !known; i++)
			known = spec->node[i].pxm == pxm;
		fresh += !known;
	}
	int a = -1, b = -1;
	if (spec->nr_nodes + fresh <= NUMEM_MAX_NODES) {
		a = find_or_add_node(spec, src);
		b = find_or_add_node(spec, dst);
	}
	if (a < 0 || b < 0) {
		snprintf(err, errlen, "-numa %s: more than %u nodes", arg,
		         (unsigned)NUMEM_MAX_NODES);
		return -1;
	}
	spec->distance[a][b] = (uint8_t)val;
	spec->dist_given[a][b] = true;
	spec->has_slit = true;
	return 0;
}

int numem_spec_add_numa_arg(struct numem_spec *spec, const char *arg, char *err, size_t errlen)
{
	char buf[1024];
	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "-numa argument longer than %zu characters", sizeof(buf) - 1);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", arg);
	char *comma = strchr(buf, ',');
	char *opts = comma ? comma + 1 : buf + strlen(buf);
	if (comma)
		*comma = '\0';
	int rc;
	if (!strcmp(buf, "node")) {
		rc = add_node(spec, opts, arg, err, errlen);
	} else if (!strcmp(buf, "dist")) {
		rc = add_dist(spec, opts, arg, err, errlen);
	} else {
		snprintf(err, errlen, "-numa %s: kind \"%s\" not supported (node and dist are)",
		         arg, buf);
		return -1;
	}
	if (rc == 0 && !spec->name[0]) { /* the first accepted argument */
		snprintf(spec->name, sizeof(spec->name), "numa");
		spec->pc_holes = true;
		spec->explicit_cpus = true;
	}
	return rc;
}

int numem_spec_finish(struct numem_spec *spec, char *err, size_t errlen)
{
	if (!spec->nr_nodes) {
		snprintf(err, errlen, "no -numa node given");
		return -1;
	}
	/* Order nodes by id (they were added in command-line order). */
	for (uint32_t i = 1; i < spec->nr_nodes; i++)
		for (uint32_t j = i; j > 0 && spec->node[j - 1].pxm > spec->node[j].pxm; j--) {
			struct numem_spec_node tn = spec->node[j];
			spec->node[j] = spec->node[j - 1];
			spec->node[j - 1] = tn;
			bool tm = spec->mem_given[j];
			spec->mem_given[j] = spec->mem_given[j - 1];
			spec->mem_given[j - 1] = tm;
			for (uint32_t k = 0; k < NUMEM_MAX_NODES; k++) { /* swap rows */
				uint8_t d = spec->distance[j][k];
				spec->distance[j][k] = spec->distance[j - 1][k];
				spec->distance[j - 1][k] = d;
				bool g = spec->dist_given[j][k];
				spec->dist_given[j][k] = spec->dist_given[j - 1][k];
				spec->dist_given[j - 1][k] = g;
			}
			for (uint32_t k = 0; k < NUMEM_MAX_NODES; k++) { /* and columns */
				uint8_t d = spec->distance[k][j];
				spec->distance[k][j] = spec->distance[k][j - 1];
				spec->distance[k][j - 1] = d;
				bool g = spec->dist_given[k][j];
				spec->dist_given[k][j] = spec->dist_given[k][j - 1];
				spec->dist_given[k][j - 1] = g;
			}
		}
	/* Distances: the reverse of a given pair, else 10/20. */
	for (uint32_t a = 0; a < spec->nr_nodes; a++)
		for (uint32_t b = 0; b < spec->nr_nodes; b++) {
			if (spec->dist_given[a][b])
				continue;
			spec->distance[a][b] = spec->dist_given[b][a] ? spec->distance[b][a]
			                       : a == b               ? 10
			                                              : 20;
		}
	/* CPUs named by no node join node 0, as QEMU does. */
	uint32_t max_cpu = 0;
	bool any = false;
	for (uint32_t n = 0; n < spec->nr_nodes; n++)
		for (uint32_t id = 0; id < NUMEM_SPEC_MAX_CPUS; id++)
			if (spec->node[n].cpumask[id / 64] >> (id % 64) & 1) {
				any = true;
				max_cpu = id > max_cpu ? id : max_cpu;
			}
	for (uint32_t id = 0; any && id <= max_cpu; id++) {
		bool owned = false;
		for (uint32_t n = 0; n < spec->nr_nodes; n++)
			owned |= spec->node[n].cpumask[id / 64] >> (id % 64) & 1;
		if (!owned)
			spec->node[0].cpumask[id / 64] |= 1ull << (id % 64);
	}
	if (!any)
		spec->node[0].cpumask[0] |= 1; /* one CPU at least */
	uint64_t mem = 0;
	for (uint32_t n = 0; n < spec->nr_nodes; n++) {
		spec->node[n].nr_cpus = 0;
		for (uint32_t w = 0; w < NUMEM_SPEC_MAX_CPUS / 64; w++)
			spec->node[n].nr_cpus +=
			    (uint32_t)__builtin_popcountll(spec->node[n].cpumask[w]);
		/* Bound the sum before the layout adds addresses (a wrapped sum
		 * laid RAM out past 2^64 and never finished). */
		if (spec->node[n].mem_bytes > NUMEM_SPEC_MAX_MEM - mem) {
			snprintf(err, errlen,
			         "-numa: the nodes' mem= add up to more than %llu TiB (node %u "
			         "brings it past the limit)",
			         (unsigned long long)(NUMEM_SPEC_MAX_MEM >> 40), spec->node[n].pxm);
			return -1;
		}
		mem += spec->node[n].mem_bytes;
		if (!spec->node[n].defined) {
			snprintf(err, errlen,
			         "-numa dist names node %u, which no -numa node defines",
			         spec->node[n].pxm);
			return -1;
		}
		if (!spec->node[n].nr_cpus && !spec->node[n].mem_bytes) {
			snprintf(err, errlen,
			         "-numa node %u has neither CPUs nor memory: firmware could not "
			         "describe it",
			         spec->node[n].pxm);
			return -1;
		}
	}
	if (!mem) {
		snprintf(err, errlen, "-numa: no node has mem=");
		return -1;
	}
	return 0;
}
