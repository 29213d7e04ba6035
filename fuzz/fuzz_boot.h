/*
 * fuzz_boot.h - what the fuzz targets that drive a booted machine share
 * (fuzz_heap, fuzz_relayout, fuzz_tmem): an invariant check that aborts
 * (libFuzzer reports the input), and the boot of a small machine from
 * QEMU -numa arguments.
 */
#ifndef NUMEM_FUZZ_BOOT_H
#define NUMEM_FUZZ_BOOT_H

#include <numem/host.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline void check(bool cond)
{
	if (!cond)
		abort();
}

/* Boot `sys` from n -numa arguments with options `o`; PC holes only when
 * `holes`; the host's log quiet. */
static inline void fuzz_boot(struct numem_system *sys, const char *const *args, int n, bool holes,
                             const struct numem_system_opts *o)
{
	static struct numem_spec spec;
	memset(&spec, 0, sizeof(spec));
	char err[256];
	for (int i = 0; i < n; i++)
		check(numem_spec_add_numa_arg(&spec, args[i], err, sizeof(err)) == 0);
	check(numem_spec_finish(&spec, err, sizeof(err)) == 0);
	if (!holes)
		spec.pc_holes = false;
	struct numem_machine_src src;
	check(numem_machine_src_spec(&src, &spec, err, sizeof(err)) == 0);
	struct numem_diag d;
	check(numem_system_boot(sys, &src, o, &d) == NUMEM_OK);
	numem_host_set_log(sys->m.host, NULL, NUMEM_LOG_ERROR);
}

#endif
