/*
 * machine.c - loading a machine from its source, and writing its tables.
 *
 * Every source ends as table bytes (or, for a machine without an SRAT, a
 * RAM map and a CPU count) in a struct numem_machine_src; loading parses
 * them with the core's parsers and builds the topology, so a preset and a
 * real server's tables take exactly the same path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host_internal.h"

void numem_machine_src_free(struct numem_machine_src *src)
{
	free(src->srat);
	free(src->slit);
	free(src->hmat);
	free(src->madt);
	free(src->pptt);
	free(src->cpu_topo);
	free(src->ram);
	memset(src, 0, sizeof(*src));
}

static int load_one(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	int e = numem_read_file(path, buf, len);
	if (e)
		snprintf(err, errlen, "%s: %s", path, strerror(e));
	return e ? -1 : 0;
}

int numem_machine_src_files(struct numem_machine_src *src, const char *srat, const char *slit,
                            const char *hmat, char *err, size_t errlen)
{
	memset(src, 0, sizeof(*src));
	snprintf(src->name, sizeof(src->name), "%s", srat ? srat : slit ? slit : "tables");
	snprintf(src->origin, sizeof(src->origin), "files");
	if ((srat && load_one(srat, &src->srat, &src->srat_len, err, errlen)) ||
	    (slit && load_one(slit, &src->slit, &src->slit_len, err, errlen)) ||
	    (hmat && load_one(hmat, &src->hmat, &src->hmat_len, err, errlen))) {
		numem_machine_src_free(src);
		return -1;
	}
	if (!srat) {
		/* Tables without an SRAT: a one-CPU machine whose RAM we do not
		 * know cannot be built. */
		snprintf(err, errlen, "no SRAT given (--srat FILE)");
		numem_machine_src_free(src);
		return -1;
	}
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int numem_machine_src_cpu_tables(struct numem_machine_src *src, const char *madt, const char *pptt,
                                 char *err, size_t errlen)
{
	if ((madt && load_one(madt, &src->madt, &src->madt_len, err, errlen)) ||
	    (pptt && load_one(pptt, &src->pptt, &src->pptt_len, err, errlen))) {
		numem_machine_src_free(src);
		return -1;
	}
	return 0;
}

int numem_machine_src_dir(struct numem_machine_src *src, const char *dir, char *err, size_t errlen)
{
	char srat[4096], slit[4096], hmat[4096], madt[4096], pptt[4096];
	snprintf(madt, sizeof(madt), "%s/APIC.bin", dir);
	snprintf(pptt, sizeof(pptt), "%s/PPTT.bin", dir);
	snprintf(srat, sizeof(srat), "%s/SRAT.bin", dir);
	snprintf(slit, sizeof(slit), "%s/SLIT.bin", dir);
	snprintf(hmat, sizeof(hmat), "%s/HMAT.bin", dir);
	if (!exists(srat)) {
		snprintf(err, errlen, "%s: no SRAT.bin in this directory", dir);
		return -1;
	}
	int rc = numem_machine_src_files(src, srat, exists(slit) ? slit : NULL,
	                                 exists(hmat) ? hmat : NULL, err, errlen);
	if (!rc)
		rc = numem_machine_src_cpu_tables(src, exists(madt) ? madt : NULL,
		                                  exists(pptt) ? pptt : NULL, err, errlen);
	if (!rc) {
		const char *base = strrchr(dir, '/');
		while (base && !base[1] && base > dir) { /* trailing slash */
			const char *p = base - 1;
			while (p > dir && *p != '/')
				p--;
			base = p;
		}
		snprintf(src->name, sizeof(src->name), "%s", base && base[1] ? base + 1 : dir);
		char *slash = strchr(src->name, '/');
		if (slash)
			*slash = '\0';
	}
	return rc;
}

/* Linux accepts a table whose bytes do not sum to zero and warns; so does
 * numem, unless NUMEM_ACPI_STRICT made it an error. */
static void warn_checksum(const struct numem_platform *plat, const char *name,
                          const struct numem_acpi_header *h, bool ok, const uint8_t *bytes)
{
	if (ok || !plat->log)
		return;
	uint8_t sum = 0;
	for (uint32_t i = 0; i < h->length; i++)
		sum = (uint8_t)(sum + bytes[i]);
	char line[256];
	snprintf(line, sizeof(line),
	         "%s: %s table, offset 9: invalid checksum 0x%02x, should be 0x%02x; the table "
	         "is used, as Linux does (--strict rejects it)",
	         name, h->signature, h->checksum, (uint8_t)(h->checksum - sum));
	plat->log(plat->ctx, NUMEM_LOG_WARN, line);
}

/* A placed CPU as the host's sysfs says (hw_id = the host's cpu number). */
static void apply_host_cpu_topo(struct numem_topo *t, const struct numem_machine_src *src)
{
	bool any = false;
	for (uint32_t c = 0; c < t->nr_cpus; c++)
		for (uint32_t i = 0; i < src->nr_cpu_topo; i++) {
			const struct numem_host_cpu_topo *h = &src->cpu_topo[i];
			if (h->cpu != t->cpu[c].hw_id)
				continue;
			t->cpu[c].socket = h->socket;
			t->cpu[c].cluster = h->cluster;
			t->cpu[c].core = h->core;
			t->cpu[c].thread = h->thread;
			any = true;
			break;
		}
	if (any)
		t->cpu_topo_source = NUMEM_CPU_TOPO_HOST;
}

enum numem_err numem_machine_load(struct numem_machine *m, struct numem_machine_src *src,
                                  const struct numem_machine_opts *opts, struct numem_diag *diag)
{
	static const struct numem_machine_opts no_opts;
	if (!opts)
		opts = &no_opts;
	memset(m, 0, sizeof(*m));
	m->src = *src;
	memset(src, 0, sizeof(*src));
	m->host = numem_host_create();
	if (!m->host) {
		numem_machine_src_free(&m->src);
		diag->code = NUMEM_E_NOMEM;
		snprintf(diag->msg, sizeof(diag->msg), "out of memory");
		return NUMEM_E_NOMEM;
	}
	const struct numem_platform *plat = numem_host_platform(m->host);
	enum numem_err err = NUMEM_OK;
	if (m->src.srat) {
		err = numem_srat_parse(m->src.srat, m->src.srat_len, opts->acpi_flags, plat,
		                       &m->srat, diag);
		m->has_srat = !err;
	}
	if (!err && m->src.slit) {
		err = numem_slit_parse(m->src.slit, m->src.slit_len, opts->acpi_flags, plat,
		                       &m->slit, diag);
		m->has_slit = !err;
	}
	if (!err && m->src.hmat) {
		err = numem_hmat_parse(m->src.hmat, m->src.hmat_len, opts->acpi_flags, plat,
		                       &m->hmat, diag);
		m->has_hmat = !err;
	}
	if (!err && m->src.madt) {
		err = numem_madt_parse(m->src.madt, m->src.madt_len, opts->acpi_flags, plat,
		                       &m->madt, diag);
		m->has_madt = !err;
	}
	if (!err && m->src.pptt) {
		err = numem_pptt_parse(m->src.pptt, m->src.pptt_len, opts->acpi_flags, plat,
		                       &m->pptt, diag);
		m->has_pptt = !err;
	}
	if (!err) {
		const char *nm = m->src.name;
		if (m->has_srat)
			warn_checksum(plat, nm, &m->srat.header, m->srat.checksum_ok, m->src.srat);
		if (m->has_slit)
			warn_checksum(plat, nm, &m->slit.header, m->slit.checksum_ok, m->src.slit);
		if (m->has_hmat)
			warn_checksum(plat, nm, &m->hmat.header, m->hmat.checksum_ok, m->src.hmat);
		if (m->has_madt)
			warn_checksum(plat, nm, &m->madt.header, m->madt.checksum_ok, m->src.madt);
		if (m->has_pptt)
			warn_checksum(plat, nm, &m->pptt.header, m->pptt.checksum_ok, m->src.pptt);
	}
	if (!err) {
		struct numem_topo_input in = {
		    .srat = m->has_srat ? &m->srat : NULL,
		    .slit = m->has_slit ? &m->slit : NULL,
		    .ram = m->src.ram,
		    .nr_ram = m->src.nr_ram,
		    .nr_cpus = m->src.nr_cpus,
		    .madt = m->has_madt ? &m->madt : NULL,
		    .pptt = m->has_pptt ? &m->pptt : NULL,
		};
		err = numem_topo_build(plat, &in, &opts->topo, &m->topo, diag);
	}
	if (err) {
		numem_machine_unload(m);
		return err;
	}
	/* A table's topology first; else the host's; else the description's
	 * explicit cpus_per_socket (one thread per core); else unknown. */
	if (m->topo->cpu_topo_source == NUMEM_CPU_TOPO_NONE && m->src.cpu_topo)
		apply_host_cpu_topo(m->topo, &m->src);
	if (m->topo->cpu_topo_source == NUMEM_CPU_TOPO_NONE && m->src.cpus_per_socket) {
		for (uint32_t c = 0; c < m->topo->nr_cpus; c++) {
			m->topo->cpu[c].socket = c / m->src.cpus_per_socket;
			m->topo->cpu[c].core = c % m->src.cpus_per_socket;
			m->topo->cpu[c].thread = 0;
		}
		m->topo->cpu_topo_source = NUMEM_CPU_TOPO_SPEC;
	}
	return NUMEM_OK;
}

void numem_machine_unload(struct numem_machine *m)
{
	/* The host platform owns every metadata block: destroying it frees
	 * the parsed tables and the topology at once. */
	numem_host_destroy(m->host);
	numem_machine_src_free(&m->src);
	memset(m, 0, sizeof(*m));
}

static uint32_t export_pxm(const struct numem_topo *t, numem_nid_t n)
{
	return t->emulated_from ? n : t->node[n].pxm;
}

int numem_machine_export_tables(const struct numem_machine *m, uint8_t **srat, size_t *srat_len,
                                uint8_t **slit, size_t *slit_len, uint8_t **hmat, size_t *hmat_len)
{
	const struct numem_topo *t = m->topo;
	*srat = *slit = *hmat = NULL;
	*srat_len = *slit_len = *hmat_len = 0;
	struct numem_srat s = {.header.revision = 3, .table_revision = 1};
	s.cpu = calloc(t->nr_cpus + 1, sizeof(*s.cpu));
	s.mem = calloc(t->nr_ranges + 1, sizeof(*s.mem));
	s.other = calloc(t->nr_nodes + 1, sizeof(*s.other));
	int rc = -1;
	if (!s.cpu || !s.mem || !s.other)
		goto out;
	for (uint32_t c = 0; c < t->nr_cpus; c++) {
		const struct numem_cpu_desc *cd = &t->cpu[c];
		uint8_t type = cd->type;
		if (type == NUMEM_SRAT_APIC && cd->hw_id > 254)
			type = NUMEM_SRAT_X2APIC;
		s.cpu[s.nr_cpu++] = (struct numem_srat_cpu){
		    .type = type, .enabled = true, .pxm = export_pxm(t, cd->node), .id = cd->hw_id};
	}
	/* Memory grouped by node so that CPU-less nodes are first seen in node
	 * order, which keeps their ids when the table is parsed back. */
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		for (uint32_t i = 0; i < t->nr_ranges; i++) {
			const struct numem_mem_range *r = &t->range[i];
			if (r->node != n)
				continue;
			uint32_t flags = NUMEM_SRAT_MEM_ENABLED;
			if (!(r->flags & NUMEM_RANGE_RAM)) {
				if (r->flags & NUMEM_RANGE_HOTPLUG)
					flags |= NUMEM_SRAT_MEM_HOTPLUGGABLE;
				if (r->flags & NUMEM_RANGE_NONVOLATILE)
					flags |= NUMEM_SRAT_MEM_NONVOLATILE;
			}
			s.mem[s.nr_mem++] = (struct numem_srat_mem){.pxm = export_pxm(t, n),
			                                            .base = r->base,
			                                            .length = r->end - r->base,
			                                            .flags = flags};
		}
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		if (t->node[n].generic_initiator)
			s.other[s.nr_other++] =
			    (struct numem_srat_other){.type = NUMEM_SRAT_GENERIC_INITIATOR,
			                              .pxm = export_pxm(t, n),
			                              .enabled = true,
			                              .device_handle_type = 1,
			                              .device_handle = {0, 0, (uint8_t)(0x10 + n)}};
	if (numem__write_srat(&s, srat, srat_len))
		goto out;

	/* A SLIT only when the distances came from one (or, for an emulated
	 * machine, are not the defaults): a machine without a SLIT read back
	 * must not claim SLIT distances. */
	bool defaults = true;
	for (numem_nid_t a = 0; a < t->nr_nodes; a++)
		for (numem_nid_t b = 0; b < t->nr_nodes; b++)
			defaults &= t->distance[a][b] ==
			            (a == b ? NUMEM_LOCAL_DISTANCE : NUMEM_REMOTE_DISTANCE);
	if (!t->distance_from_slit && !(t->emulated_from && !defaults)) {
		rc = 0;
		goto hmat;
	}
	uint32_t nl = 0;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		if (export_pxm(t, n) + 1 > nl)
			nl = export_pxm(t, n) + 1;
	if (nl > 0xff) {
		rc = 0; /* a SLIT that large is not worth writing; defaults apply */
		goto out;
	}
	struct numem_slit sl = {.localities = nl, .matrix = malloc((size_t)nl * nl)};
	if (!sl.matrix)
		goto out;
	for (uint32_t i = 0; i < nl; i++)
		for (uint32_t j = 0; j < nl; j++)
			sl.matrix[i * nl + j] = i == j ? 10 : 20;
	for (numem_nid_t a = 0; a < t->nr_nodes; a++)
		for (numem_nid_t b = 0; b < t->nr_nodes; b++)
			sl.matrix[export_pxm(t, a) * nl + export_pxm(t, b)] = t->distance[a][b];
	rc = numem__write_slit(&sl, slit, slit_len);
	free(sl.matrix);
hmat:
	if (!rc && m->has_hmat && !t->emulated_from)
		rc = numem__write_hmat(&m->hmat, hmat, hmat_len);
out:
	free(s.cpu);
	free(s.mem);
	free(s.other);
	if (rc) {
		free(*srat);
		free(*slit);
		free(*hmat);
		*srat = *slit = *hmat = NULL;
	}
	return rc;
}

/* The UID the exported MADT and PPTT give logical CPU c. */
static uint32_t export_uid(const struct numem_cpu_desc *cd, uint32_t c)
{
	if (cd->type == NUMEM_SRAT_GICC || cd->type == NUMEM_SRAT_RINTC)
		return cd->hw_id;
	return cd->uid != NUMEM_CPU_UNKNOWN ? cd->uid : c;
}

int numem_machine_export_madt(const struct numem_machine *m, uint8_t **madt, size_t *madt_len)
{
	const struct numem_topo *t = m->topo;
	*madt = NULL;
	*madt_len = 0;
	uint32_t spares = 0;
	for (uint32_t i = 0; m->has_madt && i < m->madt.nr_cpu; i++)
		spares += !m->madt.cpu[i].enabled && m->madt.cpu[i].online_capable;
	struct numem_madt md = {.local_apic_address =
	                            m->has_madt ? m->madt.local_apic_address : 0xfee00000u,
	                        .flags = m->has_madt ? m->madt.flags : 1};
	md.cpu = calloc((size_t)t->nr_cpus + spares + 1, sizeof(*md.cpu));
	if (!md.cpu)
		return -1;
	bool arm = false;
	for (uint32_t c = 0; c < t->nr_cpus; c++) {
		const struct numem_cpu_desc *cd = &t->cpu[c];
		struct numem_madt_cpu *e = &md.cpu[md.nr_cpu++];
		e->enabled = true;
		e->id = cd->hw_id;
		e->uid = export_uid(cd, c);
		if (cd->type == NUMEM_SRAT_GICC || cd->type == NUMEM_SRAT_RINTC) {
			e->type = NUMEM_MADT_GICC;
			e->uid = cd->hw_id;
			arm = true;
		} else {
			e->type = cd->type != NUMEM_SRAT_X2APIC && cd->hw_id < 255 && e->uid < 256
			              ? NUMEM_MADT_LOCAL_APIC
			              : NUMEM_MADT_LOCAL_X2APIC;
		}
		for (uint32_t i = 0; m->has_madt && i < m->madt.nr_cpu; i++)
			if (m->madt.cpu[i].type == NUMEM_MADT_GICC &&
			    m->madt.cpu[i].uid == e->uid && e->type == NUMEM_MADT_GICC)
				e->mpidr = m->madt.cpu[i].mpidr;
	}
	for (uint32_t i = 0; m->has_madt && i < m->madt.nr_cpu; i++)
		if (!m->madt.cpu[i].enabled && m->madt.cpu[i].online_capable)
			md.cpu[md.nr_cpu++] = m->madt.cpu[i];
	if (arm)
		md.local_apic_address = 0, md.flags = 0;
	int rc = numem__write_madt(&md, madt, madt_len);
	free(md.cpu);
	return rc;
}

int numem_machine_export_pptt(const struct numem_machine *m, uint8_t **pptt, size_t *pptt_len)
{
	const struct numem_topo *t = m->topo;
	*pptt = NULL;
	*pptt_len = 0;
	bool threads = false, clusters = false;
	for (uint32_t c = 0; c < t->nr_cpus; c++) {
		const struct numem_cpu_desc *cd = &t->cpu[c];
		if (cd->socket == NUMEM_CPU_UNKNOWN || cd->core == NUMEM_CPU_UNKNOWN)
			return 0;
		threads |= cd->thread != NUMEM_CPU_UNKNOWN && cd->thread > 0;
		clusters |= cd->cluster != NUMEM_CPU_UNKNOWN;
	}
	/* Per CPU: the index of its package, cluster and core node, found by
	 * looking for an earlier CPU with the same ids (O(cpus^2), at export). */
	size_t n = t->nr_cpus;
	struct numem_pptt p = {0};
	p.node = calloc(4 * n + 1, sizeof(*p.node));
	int32_t *idx = calloc(3 * n + 1, sizeof(*idx));
	int rc = -1;
	if (!p.node || !idx)
		goto out;
	int32_t *pkg = idx, *cl = idx + n, *core = idx + 2 * n;
	for (uint32_t c = 0; c < n; c++) {
		const struct numem_cpu_desc *cd = &t->cpu[c];
		pkg[c] = cl[c] = core[c] = -1;
		for (uint32_t d = 0; d < c; d++) {
			const struct numem_cpu_desc *o = &t->cpu[d];
			if (o->socket != cd->socket)
				continue;
			pkg[c] = pkg[d];
			if (o->cluster == cd->cluster)
				cl[c] = cl[d];
			if (o->cluster == cd->cluster && o->core == cd->core)
				core[c] = core[d];
		}
		if (pkg[c] < 0) {
			pkg[c] = (int32_t)p.nr_node;
			p.node[p.nr_node++] = (struct numem_pptt_node){
			    .flags = NUMEM_PPTT_PHYSICAL_PACKAGE | NUMEM_PPTT_ID_VALID,
			    .parent = -1,
			    .acpi_id = cd->socket};
		}
		if (clusters && cd->cluster != NUMEM_CPU_UNKNOWN && cl[c] < 0) {
			cl[c] = (int32_t)p.nr_node;
			p.node[p.nr_node++] = (struct numem_pptt_node){
			    .flags = NUMEM_PPTT_ID_VALID, .parent = pkg[c], .acpi_id = cd->cluster};
		}
		int32_t up = cl[c] >= 0 ? cl[c] : pkg[c];
		uint32_t uid = export_uid(cd, c);
		if (!threads) {
			p.node[p.nr_node++] =
			    (struct numem_pptt_node){.flags = NUMEM_PPTT_LEAF | NUMEM_PPTT_ID_VALID,
			                             .parent = up,
			                             .acpi_id = uid};
			continue;
		}
		if (core[c] < 0) {
			core[c] = (int32_t)p.nr_node;
			p.node[p.nr_node++] =
			    (struct numem_pptt_node){.flags = 0, .parent = up, .acpi_id = cd->core};
		}
		p.node[p.nr_node++] = (struct numem_pptt_node){
		    .flags = NUMEM_PPTT_THREAD | NUMEM_PPTT_LEAF | NUMEM_PPTT_ID_VALID,
		    .parent = core[c],
		    .acpi_id = uid};
	}
	rc = numem__write_pptt(&p, pptt, pptt_len);
out:
	free(p.node);
	free(idx);
	return rc;
}
