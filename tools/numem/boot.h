/*
 * boot.h - booting the chosen machine for the views (see boot.c).
 */
#ifndef NUMEM_CLI_BOOT_H
#define NUMEM_CLI_BOOT_H

#include <numem/host.h>

#include "cli.h"

/* Load the machine of `ma` and start a heap on it (deferred frame table,
 * each node's frame-table bytes reserved).  Returns an exit code. */
int boot_system(struct machine_args *ma, struct numem_system *sys,
                const struct numem_system_opts *opts);

#endif
