/*
 * numa_spec.c - machines described in QEMU's -numa syntax (qemu-options.hx
 * -numa, -m, -smp, -object), turned into the tables QEMU's
 * hw/i386/acpi-build.c and hw/acpi/hmat.c would publish for them:
 *
 *   node[,nodeid=N][,cpus=A[-B]]...[,mem=SIZE|memdev=ID][,initiator=N]
 *   dist,src=N,dst=M,val=D
 *   cpu,node-id=N[,socket-id=S][,die-id=D][,core-id=C][,thread-id=T]
 *   hmat-lb,initiator=N,target=M,hierarchy=memory|first-level|second-level|
 *       third-level,data-type=access-latency|read-latency|write-latency|
 *       access-bandwidth|read-bandwidth|write-bandwidth,latency=NS|bandwidth=SIZE
 *   hmat-cache,node-id=N,size=SIZE,level=1..3,associativity=none|direct|
 *       complex,policy=none|write-back|write-through,line=BYTES
 *   plus -m ([size=]SIZE[,slots=N][,maxmem=SIZE]), -smp and -object
 *   memory-backend-{ram,file,memfd},id=ID,size=SIZE.
 *
 * As in QEMU: mem= and -m without a suffix are MiB; when no node has
 * memory the machine's RAM (-m, default 128 MiB) is split evenly in 8 MiB
 * steps with the rest on the last node (QEMU's numa_default_auto_split_ram,
 * kept by machine types up to 5.1; later ones refuse); CPUs are those of
 * -smp (all maxcpus of them: QEMU's SRAT lists every possible CPU as
 * enabled), their APIC ids packed from thread, core, die and socket ids
 * with ceil(log2(count)) bits each; a CPU named by no -numa option goes to
 * node (socket % nodes) when no CPU is named at all, else to node 0; an
 * HMAT is written when hmat-lb, hmat-cache or initiator= appear (QEMU's
 * -machine hmat=on), and then every CPU-less node needs an initiator.
 * numem's leniencies: node ids may have gaps (they become proximity
 * domains), -smp may be left out (the CPUs are then the highest cpus= index
 * plus one, as one socket of cores), and -m may be left out (it is then the
 * nodes' sum).  Without any dist= the machine has no SLIT (10/20 apply).
 */
#include <numem/host.h>

#include "host_internal.h"

#include <ctype.h>
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

int numem_spec_parse_qemu_size(const char *field, const char *s, unsigned default_shift,
                               uint64_t *out, char *err, size_t errlen)
{
	char num[64];
	size_t n = strlen(s);
	unsigned shift = default_shift;
	if (n && n < sizeof(num) && !(n > 2 && (s[1] == 'x' || s[1] == 'X'))) {
		const char *units = "bkmgtpe";
		const char *u = strchr(units, tolower((unsigned char)s[n - 1]));
		if (u && isalpha((unsigned char)s[n - 1])) {
			shift = 10 * (unsigned)(u - units);
			n--;
		}
	}
	if (n >= sizeof(num)) {
		snprintf(err, errlen, "%s: \"%.40s...\" is too long for a size", field, s);
		return -1;
	}
	memcpy(num, s, n);
	num[n] = '\0';
	uint64_t x;
	if (numem_parse_uint(field, num, 0, UINT64_MAX >> shift, &x, err, errlen)) {
		size_t l = strlen(err);
		snprintf(err + l, errlen - l,
		         " (a size: digits and an optional B, K, M, G, T, P or E)");
		return -1;
	}
	*out = x << shift;
	return 0;
}

static int add_node(struct numem_spec *spec, char *opts, const char *arg, char *err, size_t errlen)
{
	uint32_t pxm = 0; /* default: one past the highest id defined so far */
	for (uint32_t i = 0; i < spec->nr_nodes; i++)
		if (spec->node[i].defined && spec->node[i].pxm + 1 > pxm)
			pxm = spec->node[i].pxm + 1;
	uint64_t mem = 0;
	bool has_mem = false, has_initiator = false;
	uint32_t initiator = 0;
	char memdev[sizeof(spec->node[0].memdev)] = "";
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
			/* QEMU: a number without a suffix is MiB */
			char field[1100];
			snprintf(field, sizeof(field), "-numa %s: mem", arg);
			if (numem_spec_parse_qemu_size(field, v, 20, &mem, err, errlen))
				return -1;
			if (mem & 0xfff) {
				snprintf(err, errlen, "-numa %s: mem %s is not a multiple of 4 KiB",
				         arg, v);
				return -1;
			}
			has_mem = true;
		} else if (!strcmp(kv, "memdev")) {
			if (!*v || strlen(v) >= sizeof(memdev)) {
				snprintf(err, errlen,
				         "-numa %s: memdev wants an object id of 1..%zu "
				         "characters",
				         arg, sizeof(memdev) - 1);
				return -1;
			}
			snprintf(memdev, sizeof(memdev), "%s", v);
		} else if (!strcmp(kv, "initiator")) {
			if (spec_uint(arg, "initiator", v, 0xfffe, &initiator, err, errlen))
				return -1;
			has_initiator = true;
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
	if (has_mem && memdev[0]) {
		snprintf(err, errlen, "-numa %s: mem= and memdev= both given (QEMU takes one)",
		         arg);
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
	snprintf(spec->node[n].memdev, sizeof(spec->node[n].memdev), "%s", memdev);
	spec->node[n].has_initiator = has_initiator;
	spec->node[n].initiator_pxm = initiator;
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

/* The key=value pairs of `opts` (modified) one at a time: 1 with *key and
 * *val set, 0 at the end, -1 (message) for an item without '='. */
static int next_kv(char **save, char *opts, const char *what, const char *arg, char **key,
                   char **val, char *err, size_t errlen)
{
	char *kv = *save == NULL ? strtok_r(opts, ",", save) : strtok_r(NULL, ",", save);
	if (!kv)
		return 0;
	char *eq = strchr(kv, '=');
	if (!eq) {
		snprintf(err, errlen, "%s %s: \"%s\" is not key=value", what, arg, kv);
		return -1;
	}
	*eq = '\0';
	*key = kv;
	*val = eq + 1;
	return 1;
}

/* -numa cpu,node-id=N[,socket-id=S][,die-id=D][,core-id=C][,thread-id=T] */
static int add_cpu(struct numem_spec *spec, char *opts, const char *arg, char *err, size_t errlen)
{
	struct numem_spec_cpu_arg c = {
	    .node_pxm = UINT32_MAX, .socket = -1, .die = -1, .core = -1, .thread = -1};
	char *save = NULL, *k, *v;
	int r;
	while ((r = next_kv(&save, opts, "-numa", arg, &k, &v, err, errlen)) > 0) {
		uint32_t x;
		int32_t *slot = !strcmp(k, "socket-id")   ? &c.socket
		                : !strcmp(k, "die-id")    ? &c.die
		                : !strcmp(k, "core-id")   ? &c.core
		                : !strcmp(k, "thread-id") ? &c.thread
		                                          : NULL;
		if (!strcmp(k, "node-id")) {
			if (spec_uint(arg, k, v, 0xfffe, &c.node_pxm, err, errlen))
				return -1;
		} else if (slot) {
			if (spec_uint(arg, k, v, NUMEM_SPEC_MAX_CPUS - 1, &x, err, errlen))
				return -1;
			*slot = (int32_t)x;
		} else {
			snprintf(err, errlen,
			         "-numa %s: unknown option \"%s\" (node-id, socket-id, die-id, "
			         "core-id, thread-id)",
			         arg, k);
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (c.node_pxm == UINT32_MAX) {
		snprintf(err, errlen, "-numa %s: node-id is required", arg);
		return -1;
	}
	if (spec->qemu.nr_cpu_args == NUMEM_SPEC_MAX_CPU_ARGS) {
		snprintf(err, errlen, "-numa %s: more than %u -numa cpu options", arg,
		         NUMEM_SPEC_MAX_CPU_ARGS);
		return -1;
	}
	spec->qemu.cpu_arg[spec->qemu.nr_cpu_args++] = c;
	return 0;
}

static int word_index(const char *v, const char *const *words, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(v, words[i]))
			return i;
	return -1;
}

static const char *const lb_hierarchy[] = {"memory", "first-level", "second-level", "third-level"};
static const char *const lb_type[] = {"access-latency",   "read-latency",   "write-latency",
                                      "access-bandwidth", "read-bandwidth", "write-bandwidth"};

/* -numa hmat-lb,initiator=,target=,hierarchy=,data-type=,latency=|bandwidth= */
static int add_hmat_lb(struct numem_spec *spec, char *opts, const char *arg, char *err,
                       size_t errlen)
{
	struct numem_spec_hmat_lb lb = {.initiator_pxm = UINT32_MAX, .target_pxm = UINT32_MAX};
	int hier = -1, type = -1;
	bool has_lat = false, has_bw = false;
	char *save = NULL, *k, *v;
	int r;
	while ((r = next_kv(&save, opts, "-numa", arg, &k, &v, err, errlen)) > 0) {
		char field[1100];
		snprintf(field, sizeof(field), "-numa %s: %s", arg, k);
		if (!strcmp(k, "initiator") || !strcmp(k, "target")) {
			if (spec_uint(arg, k, v, 0xfffe,
			              k[0] == 'i' ? &lb.initiator_pxm : &lb.target_pxm, err,
			              errlen))
				return -1;
		} else if (!strcmp(k, "hierarchy")) {
			if ((hier = word_index(v, lb_hierarchy, 4)) < 0) {
				snprintf(err, errlen,
				         "-numa %s: hierarchy \"%s\" unknown (memory, first-level, "
				         "second-level, third-level)",
				         arg, v);
				return -1;
			}
		} else if (!strcmp(k, "data-type")) {
			if ((type = word_index(v, lb_type, 6)) < 0) {
				snprintf(err, errlen,
				         "-numa %s: data-type \"%s\" unknown (access-, read-, "
				         "write-latency or -bandwidth)",
				         arg, v);
				return -1;
			}
		} else if (!strcmp(k, "latency")) {
			if (numem_parse_uint(field, v, 0, UINT64_MAX, &lb.value, err, errlen))
				return -1;
			has_lat = true;
		} else if (!strcmp(k, "bandwidth")) {
			if (numem_spec_parse_qemu_size(field, v, 0, &lb.value, err, errlen))
				return -1;
			has_bw = true;
		} else {
			snprintf(err, errlen, "-numa %s: unknown option \"%s\"", arg, k);
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (lb.initiator_pxm == UINT32_MAX || lb.target_pxm == UINT32_MAX || hier < 0 || type < 0) {
		snprintf(err, errlen,
		         "-numa %s: initiator, target, hierarchy and data-type are all required",
		         arg);
		return -1;
	}
	bool latency = type <= NUMEM_HMAT_WRITE_LATENCY;
	if (latency ? (!has_lat || has_bw) : (!has_bw || has_lat)) {
		snprintf(err, errlen, "-numa %s: data-type %s wants %s= (and not %s=)", arg,
		         lb_type[type], latency ? "latency" : "bandwidth",
		         latency ? "bandwidth" : "latency");
		return -1;
	}
	lb.hierarchy = (uint8_t)hier;
	lb.data_type = (uint8_t)type;
	for (uint32_t i = 0; i < spec->qemu.nr_lb; i++) {
		const struct numem_spec_hmat_lb *o = &spec->qemu.lb[i];
		if (o->hierarchy == lb.hierarchy && o->data_type == lb.data_type &&
		    o->initiator_pxm == lb.initiator_pxm && o->target_pxm == lb.target_pxm) {
			snprintf(err, errlen,
			         "-numa %s: %s %s from initiator %u to target %u given twice", arg,
			         lb_hierarchy[hier], lb_type[type], lb.initiator_pxm,
			         lb.target_pxm);
			return -1;
		}
	}
	if (spec->qemu.nr_lb == NUMEM_SPEC_MAX_HMAT_LB) {
		snprintf(err, errlen, "-numa %s: more than %u hmat-lb entries", arg,
		         NUMEM_SPEC_MAX_HMAT_LB);
		return -1;
	}
	spec->qemu.lb[spec->qemu.nr_lb++] = lb;
	return 0;
}

/* -numa hmat-cache,node-id=,size=,level=,associativity=,policy=,line= */
static int add_hmat_cache(struct numem_spec *spec, char *opts, const char *arg, char *err,
                          size_t errlen)
{
	static const char *const assoc[] = {"none", "direct", "complex"};
	static const char *const policy[] = {"none", "write-back", "write-through"};
	struct numem_spec_hmat_cache c = {.node_pxm = UINT32_MAX};
	int a = -1, p = -1;
	bool has_size = false, has_line = false;
	char *save = NULL, *k, *v;
	int r;
	while ((r = next_kv(&save, opts, "-numa", arg, &k, &v, err, errlen)) > 0) {
		char field[1100];
		uint32_t x;
		snprintf(field, sizeof(field), "-numa %s: %s", arg, k);
		if (!strcmp(k, "node-id")) {
			if (spec_uint(arg, k, v, 0xfffe, &c.node_pxm, err, errlen))
				return -1;
		} else if (!strcmp(k, "size")) {
			if (numem_spec_parse_qemu_size(field, v, 0, &c.size, err, errlen))
				return -1;
			has_size = true;
		} else if (!strcmp(k, "level")) {
			uint64_t l;
			if (numem_parse_uint(field, v, 1, 3, &l, err, errlen))
				return -1;
			c.level = (uint8_t)l;
		} else if (!strcmp(k, "associativity")) {
			if ((a = word_index(v, assoc, 3)) < 0) {
				snprintf(err, errlen,
				         "-numa %s: associativity \"%s\" unknown (none, direct, "
				         "complex)",
				         arg, v);
				return -1;
			}
		} else if (!strcmp(k, "policy")) {
			if ((p = word_index(v, policy, 3)) < 0) {
				snprintf(err, errlen,
				         "-numa %s: policy \"%s\" unknown (none, write-back, "
				         "write-through)",
				         arg, v);
				return -1;
			}
		} else if (!strcmp(k, "line")) {
			if (spec_uint(arg, k, v, 0xffff, &x, err, errlen))
				return -1;
			c.line = (uint16_t)x;
			has_line = true;
		} else {
			snprintf(err, errlen, "-numa %s: unknown option \"%s\"", arg, k);
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (c.node_pxm == UINT32_MAX || !has_size || !c.level || a < 0 || p < 0 || !has_line) {
		snprintf(err, errlen,
		         "-numa %s: node-id, size, level, associativity, policy and line are all "
		         "required",
		         arg);
		return -1;
	}
	c.associativity = (uint8_t)a;
	c.policy = (uint8_t)p;
	for (uint32_t i = 0; i < spec->qemu.nr_cache; i++)
		if (spec->qemu.cache[i].node_pxm == c.node_pxm &&
		    spec->qemu.cache[i].level == c.level) {
			snprintf(err, errlen, "-numa %s: node %u's level %u cache given twice", arg,
			         c.node_pxm, c.level);
			return -1;
		}
	if (spec->qemu.nr_cache == NUMEM_SPEC_MAX_HMAT_CACHE) {
		snprintf(err, errlen, "-numa %s: more than %u hmat-cache entries", arg,
		         NUMEM_SPEC_MAX_HMAT_CACHE);
		return -1;
	}
	spec->qemu.cache[spec->qemu.nr_cache++] = c;
	return 0;
}

/* Mark spec as a -numa description (the first accepted option). */
static void mark_numa(struct numem_spec *spec)
{
	if (!spec->name[0]) {
		snprintf(spec->name, sizeof(spec->name), "numa");
		spec->pc_holes = true;
		spec->explicit_cpus = true;
	}
}

/* Copy arg into buf and split "kind,rest": returns rest, or NULL (message)
 * when too long. */
static char *split_arg(char *buf, size_t cap, const char *what, const char *arg, char *err,
                       size_t errlen)
{
	if (strlen(arg) >= cap) {
		snprintf(err, errlen, "%s argument longer than %zu characters", what, cap - 1);
		return NULL;
	}
	snprintf(buf, cap, "%s", arg);
	char *comma = strchr(buf, ',');
	if (!comma)
		return buf + strlen(buf);
	*comma = '\0';
	return comma + 1;
}

int numem_spec_set_mem(struct numem_spec *spec, const char *arg, char *err, size_t errlen)
{
	char buf[1024];
	char *rest = split_arg(buf, sizeof(buf), "--mem", arg, err, errlen);
	if (!rest)
		return -1;
	struct numem_spec_qemu q = spec->qemu;
	char *first = buf, *save = NULL, *k, *v;
	if (strchr(first, '=') && strncmp(first, "size=", 5)) { /* "slots=2,maxmem=4G" */
		snprintf(buf, sizeof(buf), "%s", arg);
		rest = buf;
		first = buf + strlen(buf);
	} else if (!strncmp(first, "size=", 5)) {
		first += 5;
	}
	if (*first && numem_spec_parse_qemu_size("--mem", first, 20, &q.ram, err, errlen))
		return -1;
	q.ram_given = *first != '\0';
	int r;
	while ((r = next_kv(&save, rest, "--mem", arg, &k, &v, err, errlen)) > 0) {
		uint64_t x;
		if (!strcmp(k, "slots")) {
			if (numem_parse_uint("--mem: slots", v, 0, 256, &x, err, errlen))
				return -1;
			q.slots = (uint32_t)x;
		} else if (!strcmp(k, "maxmem")) {
			if (numem_spec_parse_qemu_size("--mem: maxmem", v, 20, &q.maxmem, err,
			                               errlen))
				return -1;
		} else if (!strcmp(k, "size")) {
			if (numem_spec_parse_qemu_size("--mem: size", v, 20, &q.ram, err, errlen))
				return -1;
			q.ram_given = true;
		} else {
			snprintf(err, errlen,
			         "--mem %s: unknown option \"%s\" (size, slots, maxmem)", arg, k);
			return -1;
		}
	}
	if (r < 0)
		return -1;
	spec->qemu = q;
	return 0;
}

int numem_spec_set_smp(struct numem_spec *spec, const char *arg, char *err, size_t errlen)
{
	char buf[1024];
	char *rest = split_arg(buf, sizeof(buf), "--smp", arg, err, errlen);
	if (!rest)
		return -1;
	struct numem_spec_qemu q = spec->qemu;
	q.cpus = q.sockets = q.dies = q.cores = q.threads = q.maxcpus = 0;
	char *first = buf, *save = NULL, *k, *v;
	uint64_t x;
	if (strchr(first, '=') && strncmp(first, "cpus=", 5)) { /* "sockets=2,cores=2" */
		snprintf(buf, sizeof(buf), "%s", arg);
		rest = buf;
		first = buf + strlen(buf);
	} else if (!strncmp(first, "cpus=", 5)) {
		first += 5;
	}
	if (*first) {
		if (numem_parse_uint("--smp: cpus", first, 1, NUMEM_SPEC_MAX_CPUS, &x, err, errlen))
			return -1;
		q.cpus = (uint32_t)x;
	}
	int r;
	while ((r = next_kv(&save, rest, "--smp", arg, &k, &v, err, errlen)) > 0) {
		uint32_t *slot = !strcmp(k, "cpus")      ? &q.cpus
		                 : !strcmp(k, "maxcpus") ? &q.maxcpus
		                 : !strcmp(k, "sockets") ? &q.sockets
		                 : !strcmp(k, "dies")    ? &q.dies
		                 : !strcmp(k, "cores")   ? &q.cores
		                 : !strcmp(k, "threads") ? &q.threads
		                                         : NULL;
		char field[64];
		snprintf(field, sizeof(field), "--smp: %.20s", k);
		if (!slot) {
			snprintf(err, errlen,
			         "--smp %s: unknown option \"%s\" (cpus, maxcpus, sockets, dies, "
			         "cores, threads)",
			         arg, k);
			return -1;
		}
		if (numem_parse_uint(field, v, 1, NUMEM_SPEC_MAX_CPUS, &x, err, errlen))
			return -1;
		*slot = (uint32_t)x;
	}
	if (r < 0)
		return -1;
	q.smp_given = true;
	spec->qemu = q;
	return 0;
}

int numem_spec_add_object(struct numem_spec *spec, const char *arg, char *err, size_t errlen)
{
	static const char *const ignored[] = {"mem-path",
	                                      "share",
	                                      "prealloc",
	                                      "host-nodes",
	                                      "policy",
	                                      "merge",
	                                      "dump",
	                                      "reserve",
	                                      "seal",
	                                      "hugetlb",
	                                      "hugetlbsize",
	                                      "align",
	                                      "pmem",
	                                      "readonly",
	                                      "discard-data",
	                                      "prealloc-threads",
	                                      "x-use-canonical-path-for-ramblock-id"};
	char buf[1024];
	char *rest = split_arg(buf, sizeof(buf), "--object", arg, err, errlen);
	if (!rest)
		return -1;
	if (strcmp(buf, "memory-backend-ram") && strcmp(buf, "memory-backend-file") &&
	    strcmp(buf, "memory-backend-memfd")) {
		snprintf(err, errlen,
		         "--object %s: type \"%s\" not supported (memory-backend-ram, "
		         "memory-backend-file, memory-backend-memfd)",
		         arg, buf);
		return -1;
	}
	char id[sizeof(spec->qemu.object[0].id)] = "";
	uint64_t size = 0;
	bool has_size = false;
	char *save = NULL, *k, *v;
	int r;
	while ((r = next_kv(&save, rest, "--object", arg, &k, &v, err, errlen)) > 0) {
		if (!strcmp(k, "id")) {
			if (!*v || strlen(v) >= sizeof(id)) {
				snprintf(err, errlen, "--object %s: id wants 1..%zu characters",
				         arg, sizeof(id) - 1);
				return -1;
			}
			snprintf(id, sizeof(id), "%s", v);
		} else if (!strcmp(k, "size")) {
			/* QEMU: a backend's size without a suffix is bytes */
			if (numem_spec_parse_qemu_size("--object: size", v, 0, &size, err, errlen))
				return -1;
			has_size = true;
		} else if (word_index(k, ignored, (int)(sizeof(ignored) / sizeof(*ignored))) < 0) {
			snprintf(err, errlen, "--object %s: unknown option \"%s\"", arg, k);
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (!id[0] || !has_size || !size || (size & 0xfff)) {
		snprintf(err, errlen,
		         "--object %s: id= and size= (a multiple of 4 KiB) are required", arg);
		return -1;
	}
	for (uint32_t i = 0; i < spec->qemu.nr_objects; i++)
		if (!strcmp(spec->qemu.object[i].id, id)) {
			snprintf(err, errlen, "--object %s: id \"%s\" used twice", arg, id);
			return -1;
		}
	if (spec->qemu.nr_objects == NUMEM_SPEC_MAX_OBJECTS) {
		snprintf(err, errlen, "--object %s: more than %u objects", arg,
		         NUMEM_SPEC_MAX_OBJECTS);
		return -1;
	}
	snprintf(spec->qemu.object[spec->qemu.nr_objects].id, sizeof(id), "%s", id);
	spec->qemu.object[spec->qemu.nr_objects++].size = size;
	return 0;
}

int numem_spec_add_numa_arg(struct numem_spec *spec, const char *arg, char *err, size_t errlen)
{
	char buf[1024];
	char *opts = split_arg(buf, sizeof(buf), "-numa", arg, err, errlen);
	if (!opts)
		return -1;
	int rc;
	if (!strcmp(buf, "node")) {
		rc = add_node(spec, opts, arg, err, errlen);
	} else if (!strcmp(buf, "dist")) {
		rc = add_dist(spec, opts, arg, err, errlen);
	} else if (!strcmp(buf, "cpu")) {
		rc = add_cpu(spec, opts, arg, err, errlen);
	} else if (!strcmp(buf, "hmat-lb")) {
		rc = add_hmat_lb(spec, opts, arg, err, errlen);
	} else if (!strcmp(buf, "hmat-cache")) {
		rc = add_hmat_cache(spec, opts, arg, err, errlen);
	} else {
		snprintf(err, errlen,
		         "-numa %s: kind \"%s\" unknown (node, dist, cpu, hmat-lb, hmat-cache)",
		         arg, buf);
		return -1;
	}
	if (rc == 0)
		mark_numa(spec);
	return rc;
}

static int node_index(const struct numem_spec *spec, uint32_t pxm)
{
	for (uint32_t i = 0; i < spec->nr_nodes; i++)
		if (spec->node[i].pxm == pxm && spec->node[i].defined)
			return (int)i;
	return -1;
}

static unsigned id_bits(uint32_t count)
{
	return count <= 1 ? 0 : 32u - (unsigned)__builtin_clz(count - 1);
}

/* QEMU's -smp arithmetic (hw/core/machine-smp.c, machine types 6.2 and
 * later: cores preferred over sockets for what is left out), or for no
 * -smp the cpus= indices as one socket of cores. */
static int finish_smp(struct numem_spec *spec, uint32_t listed, uint32_t t[5], char *err,
                      size_t errlen)
{
	const struct numem_spec_qemu *q = &spec->qemu;
	if (!q->smp_given) { /* numem's leniency: as many CPUs as cpus= names */
		t[0] = listed ? listed : 1;
		t[1] = 1, t[2] = 1, t[3] = t[0], t[4] = 1;
		return 0;
	}
	uint64_t cpus = q->cpus, maxcpus = q->maxcpus, sockets = q->sockets;
	uint64_t dies = q->dies ? q->dies : 1, cores = q->cores, threads = q->threads;
	if (!cpus && !maxcpus) {
		sockets = sockets ? sockets : 1;
		cores = cores ? cores : 1;
		threads = threads ? threads : 1;
	} else {
		maxcpus = maxcpus ? maxcpus : cpus;
		if (!cores) {
			sockets = sockets ? sockets : 1;
			threads = threads ? threads : 1;
			cores = maxcpus / (sockets * dies * threads);
		} else if (!sockets) {
			threads = threads ? threads : 1;
			sockets = maxcpus / (dies * cores * threads);
		}
		if (!threads)
			threads = maxcpus / (sockets * dies * cores);
	}
	uint64_t total = sockets * dies * cores * threads;
	maxcpus = maxcpus ? maxcpus : total;
	cpus = cpus ? cpus : maxcpus;
	if (!total || total != maxcpus) {
		snprintf(err, errlen,
		         "--smp %llu: sockets (%llu) * dies (%llu) * cores (%llu) * threads "
		         "(%llu) must equal maxcpus (%llu), as QEMU requires",
		         (unsigned long long)cpus, (unsigned long long)sockets,
		         (unsigned long long)dies, (unsigned long long)cores,
		         (unsigned long long)threads, (unsigned long long)maxcpus);
		return -1;
	}
	if (maxcpus < cpus) {
		snprintf(err, errlen, "--smp: maxcpus (%llu) is below cpus (%llu)",
		         (unsigned long long)maxcpus, (unsigned long long)cpus);
		return -1;
	}
	if (maxcpus > NUMEM_SPEC_MAX_CPUS) {
		snprintf(err, errlen, "--smp: maxcpus %llu is above numem's limit of %u CPUs",
		         (unsigned long long)maxcpus, NUMEM_SPEC_MAX_CPUS);
		return -1;
	}
	t[0] = (uint32_t)maxcpus, t[1] = (uint32_t)sockets, t[2] = (uint32_t)dies;
	t[3] = (uint32_t)cores, t[4] = (uint32_t)threads;
	return 0;
}

/* Which node each possible CPU belongs to, and its APIC id. */
static int finish_cpus(struct numem_spec *spec, char *err, size_t errlen)
{
	struct numem_spec_qemu *q = &spec->qemu;
	static int32_t node_of[NUMEM_SPEC_MAX_CPUS];
	uint32_t listed = 0;
	for (uint32_t id = 0; id < NUMEM_SPEC_MAX_CPUS; id++) {
		node_of[id] = -1;
		for (uint32_t n = 0; n < spec->nr_nodes; n++)
			if (spec->node[n].cpumask[id / 64] >> (id % 64) & 1) {
				node_of[id] = (int32_t)n;
				listed = id + 1;
			}
	}
	uint32_t t[5]; /* maxcpus, sockets, dies, cores, threads */
	if (finish_smp(spec, listed, t, err, errlen))
		return -1;
	uint32_t maxcpus = t[0], dies = t[2], cores = t[3], threads = t[4];
	if (listed > maxcpus) {
		snprintf(err, errlen, "-numa node: cpu %u is not below --smp maxcpus (%u)",
		         listed - 1, maxcpus);
		return -1;
	}
	unsigned tb = id_bits(threads), cb = id_bits(cores), db = id_bits(dies);
	for (uint32_t k = 0; k < q->nr_cpu_args; k++) {
		const struct numem_spec_cpu_arg *a = &q->cpu_arg[k];
		int n = node_index(spec, a->node_pxm);
		const int32_t ids[4] = {a->socket, a->die, a->core, a->thread};
		const char *const names[4] = {"socket-id", "die-id", "core-id", "thread-id"};
		if (n < 0) {
			snprintf(err, errlen, "-numa cpu: node-id %u names no -numa node",
			         a->node_pxm);
			return -1;
		}
		for (int f = 0; f < 4; f++)
			if (ids[f] >= 0 && (uint32_t)ids[f] >= t[1 + f]) {
				snprintf(
				    err, errlen,
				    "-numa cpu,node-id=%u: %s %d is not below the machine's %u "
				    "(--smp)",
				    a->node_pxm, names[f], ids[f], t[1 + f]);
				return -1;
			}
		uint32_t matched = 0;
		for (uint32_t i = 0; i < maxcpus; i++) {
			const int32_t have[4] = {(int32_t)(i / threads / cores / dies),
			                         (int32_t)(i / threads / cores % dies),
			                         (int32_t)(i / threads % cores),
			                         (int32_t)(i % threads)};
			bool match = true;
			for (int f = 0; f < 4; f++)
				match &= ids[f] < 0 || ids[f] == have[f];
			if (!match)
				continue;
			if (node_of[i] >= 0 && node_of[i] != n) {
				snprintf(err, errlen,
				         "-numa cpu,node-id=%u: CPU %u is already in node %u",
				         a->node_pxm, i, spec->node[node_of[i]].pxm);
				return -1;
			}
			node_of[i] = n;
			matched++;
		}
		if (!matched) {
			snprintf(err, errlen, "-numa cpu,node-id=%u: no CPU has these ids",
			         a->node_pxm);
			return -1;
		}
	}
	bool any = false;
	for (uint32_t i = 0; i < maxcpus; i++)
		any |= node_of[i] >= 0;
	int zero = node_index(spec, 0);
	for (uint32_t i = 0; i < maxcpus; i++) {
		uint32_t socket = i / threads / cores / dies;
		if (node_of[i] < 0) /* QEMU: by socket when nothing is mapped, else node 0 */
			node_of[i] =
			    any ? (zero >= 0 ? zero : 0) : (int32_t)(socket % spec->nr_nodes);
		spec->node[node_of[i]].cpumask[i / 64] |= 1ull << (i % 64);
		spec->cpu_id[i] = socket << (db + cb + tb) |
		                  (i / threads / cores % dies) << (cb + tb) |
		                  (i / threads % cores) << tb | i % threads;
	}
	spec->cpu_ids_given = true;
	for (uint32_t n = 0; n < spec->nr_nodes; n++) {
		spec->node[n].nr_cpus = 0;
		for (uint32_t w = 0; w < NUMEM_SPEC_MAX_CPUS / 64; w++)
			spec->node[n].nr_cpus +=
			    (uint32_t)__builtin_popcountll(spec->node[n].cpumask[w]);
	}
	return 0;
}

/* memdev= sizes, and RAM split evenly when no node has any. */
static int finish_memory(struct numem_spec *spec, char *err, size_t errlen)
{
	struct numem_spec_qemu *q = &spec->qemu;
	bool any = false;
	for (uint32_t n = 0; n < spec->nr_nodes; n++) {
		struct numem_spec_node *nd = &spec->node[n];
		if (nd->memdev[0]) {
			uint32_t o = 0;
			while (o < q->nr_objects && strcmp(q->object[o].id, nd->memdev))
				o++;
			if (o == q->nr_objects) {
				snprintf(err, errlen,
				         "-numa node %u: memdev=%s names no --object "
				         "memory-backend-ram,id=%s,size=SIZE",
				         nd->pxm, nd->memdev, nd->memdev);
				return -1;
			}
			for (uint32_t m = 0; m < n; m++)
				if (!strcmp(spec->node[m].memdev, nd->memdev)) {
					snprintf(
					    err, errlen,
					    "-numa node %u: memdev=%s is node %u's already (QEMU "
					    "uses a backend once)",
					    nd->pxm, nd->memdev, spec->node[m].pxm);
					return -1;
				}
			nd->mem_bytes = q->object[o].size;
			spec->mem_given[n] = true;
		}
		any |= spec->mem_given[n];
	}
	if (q->ram_given && (q->ram & 0xfff)) {
		snprintf(err, errlen, "--mem: %llu bytes is not a multiple of 4 KiB",
		         (unsigned long long)q->ram);
		return -1;
	}
	if (!any) { /* QEMU's numa_default_auto_split_ram: 8 MiB steps, rest last */
		uint64_t ram = q->ram_given ? q->ram : NUMEM_SPEC_QEMU_DEFAULT_RAM;
		uint64_t step = ram / spec->nr_nodes, carry = 0, used = 0;
		for (uint32_t n = 0; n + 1 < spec->nr_nodes; n++) {
			uint64_t m = (step + carry) & ~((1ull << 23) - 1);
			carry = step + carry - m;
			spec->node[n].mem_bytes = m;
			used += m;
		}
		spec->node[spec->nr_nodes - 1].mem_bytes = ram - used;
	}
	return 0;
}

int numem_spec_finish(struct numem_spec *spec, char *err, size_t errlen)
{
	struct numem_spec_qemu *q = &spec->qemu;
	if (!spec->nr_nodes) {
		bool machine = q->ram_given || q->maxmem || q->slots || q->smp_given;
		if (!machine || q->nr_cpu_args || q->nr_lb || q->nr_cache) {
			snprintf(err, errlen,
			         machine
			             ? "-numa cpu/hmat-lb/hmat-cache name nodes, but no -numa node "
			               "is given"
			             : "no -numa node given");
			return -1;
		}
		/* A QEMU machine without -numa: one node when memory can be
		 * hot-plugged (QEMU's auto_enable_numa_with_memhp), else no
		 * SRAT at all. */
		spec->nr_nodes = 1;
		spec->node[0].defined = true;
		spec->no_srat = !(q->slots || (q->maxmem && q->maxmem > q->ram));
	}
	mark_numa(spec);
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
	if (finish_memory(spec, err, errlen))
		return -1;
	uint64_t mem = 0;
	for (uint32_t n = 0; n < spec->nr_nodes; n++) {
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
	}
	if (!mem) {
		snprintf(err, errlen, "-numa: the machine has no memory");
		return -1;
	}
	if (q->ram_given && mem != q->ram) {
		snprintf(
		    err, errlen,
		    "-numa: the nodes' memory adds up to %llu MiB but --mem says %llu MiB (QEMU "
		    "wants them equal)",
		    (unsigned long long)(mem >> 20), (unsigned long long)(q->ram >> 20));
		return -1;
	}
	q->ram = mem;
	if (q->maxmem && q->maxmem < mem) {
		snprintf(err, errlen, "--maxmem: %llu MiB is below the RAM (%llu MiB)",
		         (unsigned long long)(q->maxmem >> 20), (unsigned long long)(mem >> 20));
		return -1;
	}
	if (q->maxmem > mem && !q->slots) {
		snprintf(err, errlen,
		         "--maxmem given without --slots: QEMU wants hot-plug slots for the memory "
		         "above the RAM");
		return -1;
	}
	if (q->slots && !q->maxmem) {
		snprintf(err, errlen, "--slots given without --maxmem (QEMU wants both)");
		return -1;
	}
	if (q->maxmem & 0xfff) {
		snprintf(err, errlen, "--maxmem: not a multiple of 4 KiB");
		return -1;
	}
	if (finish_cpus(spec, err, errlen))
		return -1;
	for (uint32_t n = 0; n < spec->nr_nodes && !spec->no_srat; n++)
		if (!spec->node[n].nr_cpus && !spec->node[n].mem_bytes &&
		    !(q->maxmem > mem && n + 1 == spec->nr_nodes)) {
			snprintf(err, errlen,
			         "-numa node %u has neither CPUs nor memory: firmware could not "
			         "describe it",
			         spec->node[n].pxm);
			return -1;
		}
	/* HMAT (QEMU: -machine hmat=on; here implied by its options). */
	spec->qemu_hmat = q->nr_lb || q->nr_cache;
	for (uint32_t n = 0; n < spec->nr_nodes; n++)
		spec->qemu_hmat |= spec->node[n].has_initiator;
	for (uint32_t n = 0; n < spec->nr_nodes && spec->qemu_hmat; n++) {
		struct numem_spec_node *nd = &spec->node[n];
		if (nd->nr_cpus && nd->has_initiator && nd->initiator_pxm != nd->pxm) {
			snprintf(err, errlen,
			         "-numa node %u has CPUs, so it is its own initiator (not %u)",
			         nd->pxm, nd->initiator_pxm);
			return -1;
		}
		if (!nd->nr_cpus && !nd->has_initiator) {
			snprintf(
			    err, errlen,
			    "-numa node %u has no CPUs: with an HMAT it needs initiator=N (QEMU "
			    "requires one)",
			    nd->pxm);
			return -1;
		}
		int in = nd->has_initiator ? node_index(spec, nd->initiator_pxm) : (int)n;
		if (in < 0 || !spec->node[in].nr_cpus) {
			snprintf(err, errlen, "-numa node %u: initiator=%u is %s", nd->pxm,
			         nd->initiator_pxm,
			         in < 0 ? "no -numa node" : "a node without CPUs");
			return -1;
		}
	}
	for (uint32_t k = 0; k < q->nr_lb; k++) {
		const struct numem_spec_hmat_lb *lb = &q->lb[k];
		int in = node_index(spec, lb->initiator_pxm), tn = node_index(spec, lb->target_pxm);
		if (in < 0 || !spec->node[in].nr_cpus || tn < 0) {
			snprintf(err, errlen, "-numa hmat-lb,initiator=%u,target=%u: %s",
			         lb->initiator_pxm, lb->target_pxm,
			         in < 0   ? "the initiator is no -numa node"
			         : tn < 0 ? "the target is no -numa node"
			                  : "the initiator has no CPUs");
			return -1;
		}
	}
	for (uint32_t k = 0; k < q->nr_cache; k++) {
		const struct numem_spec_hmat_cache *c = &q->cache[k];
		bool below = c->level == 1;
		for (uint32_t j = 0; j < q->nr_cache && !below; j++)
			below = q->cache[j].node_pxm == c->node_pxm &&
			        q->cache[j].level + 1 == c->level;
		if (node_index(spec, c->node_pxm) < 0 || !below) {
			snprintf(err, errlen, "-numa hmat-cache,node-id=%u,level=%u: %s",
			         c->node_pxm, c->level,
			         !below ? "the level above it is not given"
			                : "no -numa node has that id");
			return -1;
		}
	}
	for (unsigned hier = 0; hier < 4; hier++) /* the base units QEMU would compute */
		for (unsigned type = 0; type < 6; type++) {
			uint64_t base;
			if (numem__qemu_lb_base(q, hier, type, &base, err, errlen) < 0)
				return -1;
		}
	spec->qemu_layout = true;
	return 0;
}
