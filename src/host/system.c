/*
 * system.c - booting a machine all the way: tables, topology, frame table,
 * heap; and shutting it down.
 */
#include <stdlib.h>
#include <string.h>

#include "host_internal.h"

enum numem_err numem_system_boot(struct numem_system *s, struct numem_machine_src *src,
                                 const struct numem_system_opts *opts, struct numem_diag *diag)
{
	static const struct numem_system_opts defaults;
	if (!opts)
		opts = &defaults;
	memset(s, 0, sizeof(*s));
	enum numem_err err = numem_machine_load(&s->m, src, &opts->machine, diag);
	if (err)
		return err;
	const struct numem_platform *plat = numem_host_platform(s->m.host);
	if (opts->back_memory &&
	    numem_host_back_physmem(s->m.host, s->m.topo->max_pfn << NUMEM_PAGE_SHIFT) != 0) {
		numem_machine_unload(&s->m);
		diag->code = NUMEM_E_NOMEM;
		snprintf(diag->msg, sizeof(diag->msg), "cannot map %llu bytes of physical memory",
		         (unsigned long long)(s->m.topo->max_pfn << NUMEM_PAGE_SHIFT));
		return NUMEM_E_NOMEM;
	}
	struct numem_frametable_opts fo = opts->ft;
	if (opts->heap.deferred)
		fo.deferred = true;
	err = numem_frametable_init(plat, s->m.topo, &fo, &s->ft, diag);
	if (!err) {
		s->has_ft = true;
		err = numem_heap_init(&s->heap, plat, s->m.topo, &s->ft, &opts->heap, diag);
		s->has_heap = !err;
	}
	if (err)
		numem_system_shutdown(s);
	return err;
}

enum numem_err numem_system_boot_preset(struct numem_system *s, const char *preset,
                                        const struct numem_system_opts *opts,
                                        struct numem_diag *diag)
{
	struct numem_spec *spec = calloc(1, sizeof(*spec));
	struct numem_machine_src src;
	char err[256];
	if (!spec || numem_spec_preset(spec, preset) != 0 ||
	    numem_machine_src_spec(&src, spec, err, sizeof(err)) != 0) {
		free(spec);
		diag->code = NUMEM_E_INVAL;
		snprintf(diag->msg, sizeof(diag->msg), "unknown preset '%s'", preset);
		return NUMEM_E_INVAL;
	}
	free(spec);
	return numem_system_boot(s, &src, opts, diag);
}

void numem_system_shutdown(struct numem_system *s)
{
	if (s->has_heap)
		numem_heap_release(&s->heap);
	if (s->has_ft)
		numem_frametable_release(&s->ft);
	numem_machine_unload(&s->m);
	memset(s, 0, sizeof(*s));
}
