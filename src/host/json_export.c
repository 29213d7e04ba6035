/*
 * json_export.c - the firmware view and the topology as JSON.
 */
#include <numem/json.h>
#include <numem/report.h>

#include <stdio.h>

json_t *numem_json_hex(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return json_string(buf);
}

static const char *cpu_type_name(uint8_t type)
{
	switch (type) {
	case NUMEM_SRAT_APIC:
		return "apic";
	case NUMEM_SRAT_X2APIC:
		return "x2apic";
	case NUMEM_SRAT_GICC:
		return "gicc";
	default:
		return "rintc";
	}
}

json_t *numem_json_srat(const struct numem_srat *s)
{
	json_t *cpus = json_array(), *mems = json_array(), *others = json_array();
	for (uint32_t i = 0; i < s->nr_cpu; i++) {
		const struct numem_srat_cpu *c = &s->cpu[i];
		bool uid = c->type == NUMEM_SRAT_GICC || c->type == NUMEM_SRAT_RINTC;
		json_array_append_new(cpus, json_pack("{s:s, s:I, s:I, s:b}", "type",
		                                      cpu_type_name(c->type), "proximity_domain",
		                                      (json_int_t)c->pxm,
		                                      uid ? "acpi_processor_uid" : "apic_id",
		                                      (json_int_t)c->id, "enabled", c->enabled));
	}
	for (uint32_t i = 0; i < s->nr_mem; i++) {
		const struct numem_srat_mem *m = &s->mem[i];
		json_array_append_new(
		    mems, json_pack("{s:I, s:o, s:o, s:b, s:b, s:b}", "proximity_domain",
		                    (json_int_t)m->pxm, "base", numem_json_hex(m->base), "length",
		                    numem_json_hex(m->length), "enabled",
		                    !!(m->flags & NUMEM_SRAT_MEM_ENABLED), "hotpluggable",
		                    !!(m->flags & NUMEM_SRAT_MEM_HOTPLUGGABLE), "nonvolatile",
		                    !!(m->flags & NUMEM_SRAT_MEM_NONVOLATILE)));
	}
	for (uint32_t i = 0; i < s->nr_other; i++) {
		const struct numem_srat_other *o = &s->other[i];
		json_t *e;
		if (o->type == NUMEM_SRAT_GIC_ITS)
			e = json_pack("{s:i, s:s, s:I, s:I}", "type", o->type, "name", "gic_its",
			              "proximity_domain", (json_int_t)o->pxm, "its_id",
			              (json_int_t)o->its_id);
		else if (o->type == NUMEM_SRAT_GENERIC_INITIATOR ||
		         o->type == NUMEM_SRAT_GENERIC_PORT)
			e = json_pack("{s:i, s:s, s:I, s:i, s:b}", "type", o->type, "name",
			              o->type == NUMEM_SRAT_GENERIC_INITIATOR ? "generic_initiator"
			                                                      : "generic_port",
			              "proximity_domain", (json_int_t)o->pxm, "device_handle_type",
			              o->device_handle_type, "enabled", o->enabled);
		else
			e = json_pack("{s:i, s:s, s:i}", "type", o->type, "name", "unknown",
			              "length", o->length);
		json_array_append_new(others, e);
	}
	return json_pack("{s:i, s:o, s:o, s:o}", "revision", s->header.revision, "cpu_affinity",
	                 cpus, "memory_affinity", mems, "other", others);
}

json_t *numem_json_slit(const struct numem_slit *s)
{
	if (!s)
		return json_null();
	json_t *rows = json_array();
	for (uint64_t i = 0; i < s->localities; i++) {
		json_t *row = json_array();
		for (uint64_t j = 0; j < s->localities; j++)
			json_array_append_new(row, json_integer(numem_slit_distance(s, i, j)));
		json_array_append_new(rows, row);
	}
	return json_pack("{s:I, s:o}", "localities", (json_int_t)s->localities, "matrix", rows);
}

static json_t *u32_array(const uint32_t *v, uint32_t n)
{
	json_t *a = json_array();
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

json_t *numem_json_hmat(const struct numem_hmat *h)
{
	if (!h)
		return json_null();
	static const char *const kinds[] = {"access_latency", "read_latency",
	                                    "write_latency",  "access_bandwidth",
	                                    "read_bandwidth", "write_bandwidth"};
	json_t *mpda = json_array(), *lbi = json_array(), *cache = json_array();
	for (uint32_t i = 0; i < h->nr_mpda; i++)
		json_array_append_new(
		    mpda,
		    json_pack("{s:b, s:I, s:I}", "initiator_valid", h->mpda[i].flags & 1,
		              "initiator_proximity_domain", (json_int_t)h->mpda[i].initiator_pxm,
		              "memory_proximity_domain", (json_int_t)h->mpda[i].memory_pxm));
	for (uint32_t i = 0; i < h->nr_lbi; i++) {
		const struct numem_hmat_lbi *l = &h->lbi[i];
		json_t *rows = json_array();
		for (uint32_t a = 0; a < l->nr_initiators; a++) {
			json_t *row = json_array();
			for (uint32_t b = 0; b < l->nr_targets; b++)
				json_array_append_new(
				    row, json_integer(l->entry[(size_t)a * l->nr_targets + b]));
			json_array_append_new(rows, row);
		}
		json_array_append_new(
		    lbi, json_pack("{s:s, s:i, s:I, s:o, s:o, s:o}", "data_type",
		                   l->data_type < 6 ? kinds[l->data_type] : "unknown",
		                   "memory_hierarchy", l->flags & 0xf, "base_unit",
		                   (json_int_t)l->base_unit, "initiators",
		                   u32_array(l->initiator_pxm, l->nr_initiators), "targets",
		                   u32_array(l->target_pxm, l->nr_targets), "entries", rows));
	}
	for (uint32_t i = 0; i < h->nr_cache; i++)
		json_array_append_new(cache,
		                      json_pack("{s:I, s:o, s:I}", "memory_proximity_domain",
		                                (json_int_t)h->cache[i].memory_pxm, "size",
		                                numem_json_hex(h->cache[i].size), "attributes",
		                                (json_int_t)h->cache[i].attributes));
	return json_pack("{s:i, s:o, s:o, s:o}", "revision", h->header.revision,
	                 "memory_attributes", mpda, "locality", lbi, "memory_side_cache", cache);
}

static json_t *id_or_null(uint32_t v)
{
	return v == NUMEM_CPU_UNKNOWN ? json_null() : json_integer(v);
}

json_t *numem_json_topology(const struct numem_topo *t, const uint64_t *free_pages)
{
	json_t *nodes = json_array();
	for (numem_nid_t n = 0; n < t->nr_nodes; n++) {
		const struct numem_node *node = &t->node[n];
		json_t *cpus = json_array(), *ranges = json_array(), *dist = json_array(),
		       *fb = json_array();
		for (uint32_t c = 0; c < t->nr_cpus; c++)
			if (t->cpu[c].node == n)
				json_array_append_new(cpus, json_integer(c));
		for (uint32_t i = 0; i < t->nr_ranges; i++) {
			const struct numem_mem_range *r = &t->range[i];
			if (r->node != n)
				continue;
			json_array_append_new(
			    ranges,
			    json_pack("{s:o, s:o, s:b, s:b, s:b, s:b}", "base",
			              numem_json_hex(r->base), "end", numem_json_hex(r->end), "ram",
			              !!(r->flags & NUMEM_RANGE_RAM), "hotpluggable",
			              !!(r->flags & NUMEM_RANGE_HOTPLUG), "nonvolatile",
			              !!(r->flags & NUMEM_RANGE_NONVOLATILE), "overlap",
			              !!(r->flags & NUMEM_RANGE_OVERLAP)));
		}
		for (numem_nid_t m = 0; m < t->nr_nodes; m++)
			json_array_append_new(dist, json_integer(t->distance[n][m]));
		for (uint32_t i = 0; i < node->nr_fallback; i++)
			json_array_append_new(fb, json_integer(node->fallback[i]));
		json_t *o =
		    json_pack("{s:i, s:I, s:o, s:o, s:I, s:I, s:o, s:i, s:o, s:b}", "node", n,
		              "pxm", (json_int_t)node->pxm, "cpus", cpus, "ranges", ranges,
		              "size_bytes", (json_int_t)(node->ram_pages << NUMEM_PAGE_SHIFT),
		              "pages", (json_int_t)node->ram_pages, "distances", dist,
		              "nearest_memory", node->nearest_mem, "fallback", fb,
		              "generic_initiator", node->generic_initiator);
		if (free_pages)
			json_object_set_new(o, "free_pages",
			                    json_integer((json_int_t)free_pages[n]));
		if (t->emulated_from)
			json_object_set_new(o, "physical_node", json_integer(node->phys_node));
		json_array_append_new(nodes, o);
	}
	json_t *cpus = json_array();
	for (uint32_t c = 0; c < t->nr_cpus; c++) {
		const struct numem_cpu_desc *d = &t->cpu[c];
		json_array_append_new(
		    cpus, json_pack("{s:i, s:I, s:s, s:i, s:o, s:o, s:o, s:o, s:o}", "cpu", c,
		                    "hw_id", (json_int_t)d->hw_id, "type", cpu_type_name(d->type),
		                    "node", d->node, "acpi_uid", id_or_null(d->uid), "socket",
		                    id_or_null(d->socket), "cluster", id_or_null(d->cluster),
		                    "core", id_or_null(d->core), "thread", id_or_null(d->thread)));
	}
	json_t *o = json_pack("{s:i, s:i, s:I, s:I, s:b, s:o, s:o}", "nr_nodes", t->nr_nodes,
	                      "nr_cpus", t->nr_cpus, "total_pages", (json_int_t)t->total_ram_pages,
	                      "max_pfn", (json_int_t)t->max_pfn, "distances_from_slit",
	                      t->distance_from_slit, "nodes", nodes, "cpus", cpus);
	struct numem_cpu_summary cs;
	numem_report_cpu_summary(t, &cs);
	json_object_set_new(
	    o, "cpu_topology",
	    json_pack(
	        "{s:s, s:o, s:o, s:o, s:i, s:i}", "source", numem_report_cpu_source(t), "sockets",
	        cs.known ? json_integer(cs.sockets) : json_null(), "cores_per_socket",
	        cs.known ? json_integer(cs.cores_per_socket) : json_null(), "threads_per_core",
	        cs.known ? json_integer(cs.threads_per_core) : json_null(), "madt_only_cpus",
	        t->nr_madt_cpus, "online_capable_cpus", t->nr_online_capable));
	json_object_set_new(o, "overlapping_ranges", json_integer(t->nr_overlap_ranges));
	if (t->fallback_reason) {
		const char *why = t->single_node == NUMEM_SINGLE_NO_SRAT ? "no-srat"
		                  : t->single_node == NUMEM_SINGLE_NUMA_OFF
		                      ? "numa-off"
		                      : numem_err_name(t->fallback_reason);
		json_object_set_new(o, "single_node_reason", json_string(why));
		json_object_set_new(o, "single_node_message", json_string(t->fallback_msg));
	}
	if (t->emulated_from)
		json_object_set_new(o, "emulated_from_nodes", json_integer(t->emulated_from));
	return o;
}

json_t *numem_json_error(const struct numem_diag *d)
{
	json_t *o = json_pack("{s:s, s:s}", "error", numem_err_name(d->code), "message", d->msg);
	if (d->table[0]) {
		json_object_set_new(o, "error_table", json_string(d->table));
		json_object_set_new(o, "error_offset", json_integer(d->offset));
	}
	return o;
}
