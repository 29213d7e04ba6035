/*
 * boot.h - booting the chosen machine for the views (see boot.c).
 */
#ifndef NUMEM_CLI_BOOT_H
#define NUMEM_CLI_BOOT_H

#include <numem/host.h>

#include "cli.h"

/* Apply --frametable and --movable (spread over the nodes with memory of
 * the loaded m) to o.  EXIT_OK, or EXIT_INVALID with a message when the
 * movable share is not below a node's RAM. */
int machine_args_shape(const struct machine_args *ma, const struct numem_machine *m,
                       struct numem_system_opts *o);

/* Load the machine of `ma` and start a heap on it (deferred frame table,
 * each node's frame-table bytes reserved).  Returns an exit code. */
int boot_system(struct machine_args *ma, struct numem_system *sys,
                const struct numem_system_opts *opts);

/* A command that takes only machine options: parse them, then boot.
 * Returns -1 when the system is up (shut it down when done), else the exit
 * code (help, usage error, or a machine that did not load). */
int boot_from_args(int argc, char **argv, const char *cmd, const char *help, bool json_ok,
                   struct machine_args *ma, struct numem_system *sys);

/* For the views that show tables and topology only (topo, info): parse the
 * machine options and load the machine, with no frame table and no heap;
 * sys->ft holds the frame table's planned figures and free_pages what a
 * boot would leave free (numem_system_plan).  So a table declaring 128 TiB
 * costs what its ranges cost, not what it declares.  Returns -1 when the
 * machine is loaded (numem_system_shutdown when done), else the exit code. */
int view_from_args(int argc, char **argv, const char *cmd, const char *help, bool json_ok,
                   struct machine_args *ma, struct numem_system *sys, uint64_t *free_pages);

#endif
