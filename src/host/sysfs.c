/*
 * sysfs.c - this host as a machine.
 *
 * Preferred: the firmware's own tables in <root>/firmware/acpi/tables
 * (readable by root).  Otherwise the kernel's view in
 * <root>/devices/system/node: each nodeN's cpulist, distance and memoryM
 * blocks (block_size_bytes each) are turned into the SRAT and SLIT a
 * firmware would have published for them.  A kernel without node
 * directories (CONFIG_NUMA off) gives a machine without an SRAT: its online
 * memory blocks as RAM and its online CPUs.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_internal.h"

static int read_text(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static void read_cpu_topology_apic(struct numem_machine_src *src, const char *root);

static int try_acpi(struct numem_machine_src *src, const char *root, char *err, size_t errlen)
{
	char srat[512], slit[512], hmat[512], madt[512], pptt[512];
	snprintf(madt, sizeof(madt), "%s/firmware/acpi/tables/APIC", root);
	snprintf(pptt, sizeof(pptt), "%s/firmware/acpi/tables/PPTT", root);
	snprintf(srat, sizeof(srat), "%s/firmware/acpi/tables/SRAT", root);
	snprintf(slit, sizeof(slit), "%s/firmware/acpi/tables/SLIT", root);
	snprintf(hmat, sizeof(hmat), "%s/firmware/acpi/tables/HMAT", root);
	if (access(srat, R_OK) != 0)
		return 1;
	int rc = numem_machine_src_files(src, srat, access(slit, R_OK) == 0 ? slit : NULL,
	                                 access(hmat, R_OK) == 0 ? hmat : NULL, err, errlen);
	if (!rc)
		rc = numem_machine_src_cpu_tables(src, access(madt, R_OK) == 0 ? madt : NULL,
		                                  access(pptt, R_OK) == 0 ? pptt : NULL, err,
		                                  errlen);
	if (!rc) {
		snprintf(src->name, sizeof(src->name), "host");
		snprintf(src->origin, sizeof(src->origin), "host-acpi");
		read_cpu_topology_apic(src, root);
	}
	return rc;
}

struct blocks {
	uint64_t *id;
	size_t n, cap;
};

static int push_block(struct blocks *b, uint64_t id)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		uint64_t *nid = realloc(b->id, cap * sizeof(*nid));
		if (!nid)
			return -1;
		b->id = nid;
		b->cap = cap;
	}
	b->id[b->n++] = id;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* memoryM entries of a directory, sorted. */
static int list_blocks(const char *dir, struct blocks *b)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		if (strncmp(e->d_name, "memory", 6) || !e->d_name[6])
			continue;
		unsigned long long id = strtoull(e->d_name + 6, &end, 10);
		if (*end == '\0' && push_block(b, id) != 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	qsort(b->id, b->n, sizeof(*b->id), cmp_u64);
	return 0;
}

static int read_u32(const char *path, uint32_t *out)
{
	char text[64], *end;
	if (read_text(path, text, sizeof(text)) != 0 || !text[0])
		return -1;
	long v = strtol(text, &end, 10);
	if (*end || v < 0 || v > 0x7fffffff)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* <root>/devices/system/cpu/cpuN/topology of host CPU N, recorded under
 * hardware id `hw` (what the machine source calls the CPU): package,
 * cluster, core, and the position of N in its thread siblings.  Absent
 * files leave the CPU out (its topology stays unknown). */
static void read_one_cpu_topology(struct numem_machine_src *src, const char *root, uint32_t n,
                                  uint32_t hw)
{
	char path[512], text[4096];
	struct numem_host_cpu_topo h = {.cpu = hw,
	                                .socket = NUMEM_CPU_UNKNOWN,
	                                .cluster = NUMEM_CPU_UNKNOWN,
	                                .core = NUMEM_CPU_UNKNOWN,
	                                .thread = NUMEM_CPU_UNKNOWN};
	snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu%u/topology/physical_package_id",
	         root, n);
	if (read_u32(path, &h.socket) != 0)
		return;
	snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu%u/topology/core_id", root, n);
	if (read_u32(path, &h.core) != 0)
		return;
	snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu%u/topology/cluster_id", root, n);
	if (read_u32(path, &h.cluster) != 0)
		h.cluster = NUMEM_CPU_UNKNOWN;
	snprintf(path, sizeof(path), "%s/devices/system/cpu/cpu%u/topology/thread_siblings_list",
	         root, n);
	static uint32_t sib[NUMEM_SPEC_MAX_CPUS];
	int ns = read_text(path, text, sizeof(text)) == 0
	             ? numem_parse_ranges(text, sib, NUMEM_SPEC_MAX_CPUS)
	             : -1;
	for (int k = 0; k < ns; k++)
		if (sib[k] == n)
			h.thread = (uint32_t)k;
	src->cpu_topo[src->nr_cpu_topo++] = h;
}

/* The sysfs source names CPUs by their host number. */
static void read_cpu_topology(struct numem_machine_src *src, const char *root,
                              const struct numem_srat *s)
{
	src->cpu_topo = calloc(s->nr_cpu ? s->nr_cpu : 1, sizeof(*src->cpu_topo));
	for (uint32_t i = 0; src->cpu_topo && i < s->nr_cpu; i++)
		read_one_cpu_topology(src, root, s->cpu[i].id, s->cpu[i].id);
}

/* The firmware-table source names x86 CPUs by APIC id: /proc/cpuinfo maps
 * host CPU numbers to APIC ids (only for the real /sys, whose /proc is
 * this one).  Used when the tables have no PPTT. */
static void read_cpu_topology_apic(struct numem_machine_src *src, const char *root)
{
	if (strcmp(root, "/sys") != 0)
		return;
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[512];
	long cpu = -1;
	size_t cap = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long v;
		if (sscanf(line, "processor : %lu", &v) == 1) {
			cpu = (long)v;
		} else if (cpu >= 0 && sscanf(line, "apicid : %lu", &v) == 1 && v <= 0xffffffffu) {
			if (src->nr_cpu_topo == cap) {
				size_t ncap = cap ? 2 * cap : 64;
				void *p = realloc(src->cpu_topo, ncap * sizeof(*src->cpu_topo));
				if (!p)
					break;
				src->cpu_topo = p;
				cap = ncap;
			}
			read_one_cpu_topology(src, root, (uint32_t)cpu, (uint32_t)v);
			cpu = -1;
		}
	}
	fclose(f);
}

int numem_machine_src_host(struct numem_machine_src *src, const char *root, char *err,
                           size_t errlen)
{
	if (!root)
		root = "/sys";
	int rc = try_acpi(src, root, err, errlen);
	if (rc <= 0)
		return rc;

	memset(src, 0, sizeof(*src));
	snprintf(src->name, sizeof(src->name), "host");
	snprintf(src->origin, sizeof(src->origin), "host-sysfs");
	char path[512], text[65536];
	snprintf(path, sizeof(path), "%s/devices/system/memory/block_size_bytes", root);
	uint64_t block = 128ull << 20;
	if (read_text(path, text, sizeof(text)) == 0)
		block = strtoull(text, NULL, 16);

	struct numem_srat s = {.header.revision = 3, .table_revision = 1};
	size_t cap_cpu = 64, cap_mem = 64;
	s.cpu = calloc(cap_cpu, sizeof(*s.cpu));
	s.mem = calloc(cap_mem, sizeof(*s.mem));
	uint8_t dist[NUMEM_MAX_NODES][NUMEM_MAX_NODES];
	uint32_t pxms[NUMEM_MAX_NODES], nr_nodes = 0;
	rc = -1;
	if (!s.cpu || !s.mem)
		goto out;
	for (uint32_t node = 0; node < 1024 && nr_nodes < NUMEM_MAX_NODES; node++) {
		snprintf(path, sizeof(path), "%s/devices/system/node/node%u", root, node);
		if (access(path, F_OK) != 0)
			continue;
		pxms[nr_nodes] = node;
		snprintf(path, sizeof(path), "%s/devices/system/node/node%u/cpulist", root, node);
		static uint32_t ids[NUMEM_SPEC_MAX_CPUS];
		int nc = read_text(path, text, sizeof(text)) == 0 && text[0]
		             ? numem_parse_ranges(text, ids, NUMEM_SPEC_MAX_CPUS)
		             : 0;
		for (int i = 0; i < nc; i++) {
			if (s.nr_cpu == cap_cpu) {
				void *p = realloc(s.cpu, 2 * cap_cpu * sizeof(*s.cpu));
				if (!p)
					goto out;
				s.cpu = p;
				cap_cpu *= 2;
			}
			s.cpu[s.nr_cpu++] = (struct numem_srat_cpu){
			    .type = ids[i] > 254 ? NUMEM_SRAT_X2APIC : NUMEM_SRAT_APIC,
			    .enabled = true,
			    .pxm = node,
			    .id = ids[i]};
		}
		snprintf(path, sizeof(path), "%s/devices/system/node/node%u/distance", root, node);
		memset(dist[nr_nodes], 20, sizeof(dist[nr_nodes]));
		if (read_text(path, text, sizeof(text)) == 0) {
			char *p = text;
			for (uint32_t j = 0; j < NUMEM_MAX_NODES && *p; j++) {
				char *end;
				unsigned long d = strtoul(p, &end, 10);
				if (end == p)
					break;
				dist[nr_nodes][j] = (uint8_t)(d > 255 ? 255 : d);
				p = end;
			}
		}
		struct blocks b = {0};
		snprintf(path, sizeof(path), "%s/devices/system/node/node%u", root, node);
		if (list_blocks(path, &b) != 0) {
			free(b.id);
			goto out;
		}
		for (size_t i = 0; i < b.n;) {
			size_t j = i;
			while (j + 1 < b.n && b.id[j + 1] == b.id[j] + 1)
				j++;
			if (s.nr_mem == cap_mem) {
				void *p = realloc(s.mem, 2 * cap_mem * sizeof(*s.mem));
				if (!p) {
					free(b.id);
					goto out;
				}
				s.mem = p;
				cap_mem *= 2;
			}
			s.mem[s.nr_mem++] =
			    (struct numem_srat_mem){.pxm = node,
			                            .base = b.id[i] * block,
			                            .length = (b.id[j] - b.id[i] + 1) * block,
			                            .flags = NUMEM_SRAT_MEM_ENABLED};
			i = j + 1;
		}
		free(b.id);
		nr_nodes++;
	}
	if (!nr_nodes || !s.nr_mem) {
		/* No NUMA information at all: one node, CPUs from sysconf,
		 * RAM from the memory blocks. */
		struct blocks b = {0};
		snprintf(path, sizeof(path), "%s/devices/system/memory", root);
		if (list_blocks(path, &b) != 0 || !b.n) {
			free(b.id);
			snprintf(err, errlen, "%s: no NUMA nodes and no memory blocks found", root);
			goto out;
		}
		src->ram = calloc(b.n, sizeof(*src->ram));
		if (!src->ram) {
			free(b.id);
			goto out;
		}
		for (size_t i = 0; i < b.n; i++)
			src->ram[src->nr_ram++] = (struct numem_ram_range){b.id[i] * block, block};
		free(b.id);
		long n = sysconf(_SC_NPROCESSORS_CONF);
		src->nr_cpus = n > 0 ? (uint32_t)n : 1;
		rc = 0;
		goto out;
	}
	if (numem__write_srat(&s, &src->srat, &src->srat_len) != 0)
		goto out;
	read_cpu_topology(src, root, &s);
	uint32_t nl = 0;
	for (uint32_t i = 0; i < nr_nodes; i++)
		nl = pxms[i] + 1 > nl ? pxms[i] + 1 : nl;
	if (nr_nodes > 1 && nl <= NUMEM_MAX_NODES) {
		uint8_t *m = malloc((size_t)nl * nl);
		if (!m)
			goto out;
		for (uint32_t i = 0; i < nl; i++)
			for (uint32_t j = 0; j < nl; j++)
				m[i * nl + j] = i == j ? 10 : 20;
		for (uint32_t i = 0; i < nr_nodes; i++)
			for (uint32_t j = 0; j < nr_nodes; j++)
				m[pxms[i] * nl + pxms[j]] = dist[i][j];
		struct numem_slit sl = {.localities = nl, .matrix = m};
		int w = numem__write_slit(&sl, &src->slit, &src->slit_len);
		free(m);
		if (w)
			goto out;
	}
	rc = 0;
out:
	free(s.cpu);
	free(s.mem);
	if (rc) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot read the host's NUMA description", root);
		numem_machine_src_free(src);
	}
	return rc;
}

int numem_host_node_meminfo(const char *root, uint32_t node, uint64_t *total_kb, uint64_t *free_kb)
{
	char path[512], text[8192];
	snprintf(path, sizeof(path), "%s/devices/system/node/node%u/meminfo", root ? root : "/sys",
	         node);
	if (read_text(path, text, sizeof(text)) != 0)
		return -1;
	bool got_total = false, got_free = false;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned n;
		unsigned long long v;
		char key[64];
		if (sscanf(line, "Node %u %63[^:]: %llu kB", &n, key, &v) != 3 || n != node)
			continue;
		if (!strcmp(key, "MemTotal")) {
			*total_kb = v;
			got_total = true;
		} else if (!strcmp(key, "MemFree")) {
			*free_kb = v;
			got_free = true;
		}
	}
	return got_total && got_free ? 0 : -1;
}

/*
 * The numactl --hardware view of this host as numactl 2.0.16 builds it:
 * nodes with a nodeN directory, their cpulist, MemTotal and MemFree from
 * nodeN/meminfo (MiB, rounded down), and nodeN/distance.  Returns the node
 * count, or -1 when there is no node directory.
 */
int numem_host_report_numactl(FILE *out, const char *root)
{
	char path[512], text[65536];
	uint32_t node_ids[NUMEM_MAX_NODES], n = 0;
	for (uint32_t node = 0; node < 1024 && n < NUMEM_MAX_NODES; node++) {
		snprintf(path, sizeof(path), "%s/devices/system/node/node%u", root ? root : "/sys",
		         node);
		if (access(path, F_OK) == 0)
			node_ids[n++] = node;
	}
	if (!n)
		return -1;
	char list[1024];
	numem_format_ranges(list, sizeof(list), node_ids, n);
	fprintf(out, "available: %u nodes (%s)\n", n, list);
	for (uint32_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/devices/system/node/node%u/cpulist",
		         root ? root : "/sys", node_ids[i]);
		static uint32_t ids[NUMEM_SPEC_MAX_CPUS];
		int nc = read_text(path, text, sizeof(text)) == 0 && text[0]
		             ? numem_parse_ranges(text, ids, NUMEM_SPEC_MAX_CPUS)
		             : 0;
		fprintf(out, "node %u cpus:", node_ids[i]);
		for (int c = 0; c < nc; c++)
			fprintf(out, " %u", ids[c]);
		fprintf(out, "\n");
		uint64_t total, free_kb;
		if (numem_host_node_meminfo(root, node_ids[i], &total, &free_kb) == 0) {
			fprintf(out, "node %u size: %llu MB\n", node_ids[i],
			        (unsigned long long)(total >> 10));
			fprintf(out, "node %u free: %llu MB\n", node_ids[i],
			        (unsigned long long)(free_kb >> 10));
		} else {
			fprintf(out, "node %u size: <not available>\n", node_ids[i]);
			fprintf(out, "node %u free: <not available>\n", node_ids[i]);
		}
	}
	fprintf(out, "node distances:\nnode ");
	for (uint32_t i = 0; i < n; i++)
		fprintf(out, "%3u ", node_ids[i]);
	fprintf(out, "\n");
	for (uint32_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/devices/system/node/node%u/distance",
		         root ? root : "/sys", node_ids[i]);
		fprintf(out, "%3u: ", node_ids[i]);
		if (read_text(path, text, sizeof(text)) == 0) {
			char *save = NULL;
			for (char *tok = strtok_r(text, " ", &save); tok;
			     tok = strtok_r(NULL, " ", &save))
				fprintf(out, "%3s ", tok);
		}
		fprintf(out, "\n");
	}
	return (int)n;
}
