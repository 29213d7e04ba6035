/*
 * machine_args.c - the options every subcommand shares to pick a machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <numem/json.h>

#include "cli.h"

const char machine_args_help[] =
    "machine (one of):\n"
    "  NAME                   a preset (see --list-presets)\n"
    "  DIR                    a directory with SRAT.bin [SLIT.bin] [HMAT.bin] [APIC.bin]\n"
    "                         [PPTT.bin]\n"
    "  --srat FILE [--slit FILE] [--hmat FILE] [--madt FILE] [--pptt FILE]\n"
    "                         ACPI table files; the MADT (APIC) adds CPUs the SRAT\n"
    "                         lacks, the PPTT gives sockets, cores and threads\n"
    "  --host [--sysfs DIR]   this machine (/sys/firmware/acpi/tables, else\n"
    "                         /sys/devices/system/node)\n"
    "  --numa ARG             QEMU -numa syntax, repeatable: node,nodeid=N,cpus=A-B,mem=4G\n"
    "                         or dist,src=N,dst=M,val=D\n"
    "  --preset NAME          a built-in machine (default: " NUMEM_DEFAULT_PRESET ")\n"
    "  --list-presets         list the presets and exit\n"
    "shaping:\n"
    "  --strict               a bad checksum or an SRAT that fails validation is an error\n"
    "                         (default: a warning on stderr; invalid SRAT gives one node)\n"
    "  --numa-off             ignore the SRAT: one node\n"
    "  --hide-memoryless      CPUs of memoryless nodes join the nearest node (x86 Linux)\n"
    "  --numa-emulate N       cut RAM into N fake nodes (Linux numa=fake=N)\n";

static void list_presets(void)
{
	size_t n;
	const struct numem_preset_info *p = numem_presets(&n);
	for (size_t i = 0; i < n; i++)
		printf("%-12s %s\n", p[i].name, p[i].description);
}

int machine_args_take(struct machine_args *ma, int argc, char **argv, int *i)
{
	const char *a = argv[*i];
	const char *const with_value[] = {"--srat",         "--slit",   "--hmat", "--madt",
	                                  "--pptt",         "--preset", "--numa", "--sysfs",
	                                  "--numa-emulate", NULL};
	const char *val = NULL;
	for (int k = 0; with_value[k]; k++)
		if (!strcmp(a, with_value[k])) {
			if (*i + 1 >= argc) {
				fprintf(stderr, "numem: %s needs a value\n", a);
				return -1;
			}
			val = argv[++*i];
		}
	if (!strcmp(a, "--srat"))
		ma->srat = val;
	else if (!strcmp(a, "--slit"))
		ma->slit = val;
	else if (!strcmp(a, "--hmat"))
		ma->hmat = val;
	else if (!strcmp(a, "--madt"))
		ma->madt = val;
	else if (!strcmp(a, "--pptt"))
		ma->pptt = val;
	else if (!strcmp(a, "--preset"))
		ma->preset = val;
	else if (!strcmp(a, "--sysfs"))
		ma->sysfs_root = val;
	else if (!strcmp(a, "--host"))
		ma->host = true;
	else if (!strcmp(a, "--json"))
		ma->json = true;
	else if (!strcmp(a, "--strict")) {
		ma->opts.acpi_flags |= NUMEM_ACPI_STRICT;
		ma->opts.topo.flags |= NUMEM_TOPO_STRICT;
	} else if (!strcmp(a, "--numa-off"))
		ma->opts.topo.flags |= NUMEM_TOPO_NUMA_OFF;
	else if (!strcmp(a, "--hide-memoryless"))
		ma->opts.topo.flags |= NUMEM_TOPO_HIDE_MEMORYLESS;
	else if (!strcmp(a, "--numa-emulate")) {
		char msg[256];
		uint64_t n;
		if (numem_parse_uint("--numa-emulate", val, 1, NUMEM_MAX_NODES, &n, msg,
		                     sizeof(msg))) {
			fprintf(stderr, "numem: %s\n", msg);
			return -1;
		}
		ma->opts.topo.emulate_nodes = (uint32_t)n;
	} else if (!strcmp(a, "--numa")) {
		char err[256];
		if (!ma->numa && !(ma->numa = calloc(1, sizeof(*ma->numa)))) {
			fprintf(stderr, "numem: out of memory\n");
			return -1;
		}
		if (numem_spec_add_numa_arg(ma->numa, val, err, sizeof(err)) != 0) {
			fprintf(stderr, "numem: %s\n", err);
			return MACHINE_ARGS_INVALID;
		}
	} else if (!strcmp(a, "--list-presets")) {
		list_presets();
		exit(EXIT_OK);
	} else if (a[0] != '-' && !ma->positional) {
		ma->positional = a;
	} else {
		return 0;
	}
	return 1;
}

static int sources_given(const struct machine_args *ma)
{
	return !!ma->positional + !!(ma->srat || ma->slit || ma->hmat) + !!ma->preset + ma->host +
	       !!ma->numa;
}

static void print_json_error(const struct machine_args *ma, const char *name,
                             const struct numem_diag *d)
{
	if (!ma->json)
		return;
	json_t *o = numem_json_error(d);
	json_object_set_new(o, "machine", json_string(name));
	json_dumpf(o, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

int machine_args_load(struct machine_args *ma, struct numem_machine *m)
{
	struct numem_machine_src src;
	char err[512] = "";
	int rc;
	struct stat st;
	if (sources_given(ma) > 1) {
		fprintf(stderr, "numem: give one machine: a name, a directory, --srat, --preset, "
		                "--host or --numa\n");
		return EXIT_USAGE;
	}
	if ((ma->madt || ma->pptt) && !(ma->srat || ma->slit || ma->hmat)) {
		fprintf(stderr, "numem: --madt and --pptt go with --srat FILE\n");
		return EXIT_USAGE;
	}
	if (ma->srat || ma->slit || ma->hmat) {
		rc = numem_machine_src_files(&src, ma->srat, ma->slit, ma->hmat, err, sizeof(err));
		if (!rc)
			rc = numem_machine_src_cpu_tables(&src, ma->madt, ma->pptt, err,
			                                  sizeof(err));
	} else if (ma->host) {
		rc = numem_machine_src_host(&src, ma->sysfs_root, err, sizeof(err));
	} else if (ma->numa) {
		rc = numem_spec_finish(ma->numa, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "numem: %s\n", err);
			return EXIT_INVALID;
		}
		rc = numem_machine_src_spec(&src, ma->numa, err, sizeof(err));
	} else if (ma->positional && stat(ma->positional, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = numem_machine_src_dir(&src, ma->positional, err, sizeof(err));
	} else {
		const char *name = ma->preset       ? ma->preset
		                   : ma->positional ? ma->positional
		                                    : NUMEM_DEFAULT_PRESET;
		struct numem_spec *spec = calloc(1, sizeof(*spec));
		if (!spec || numem_spec_preset(spec, name) != 0) {
			free(spec);
			fprintf(stderr,
			        "numem: '%s' is neither a preset nor a directory (try "
			        "--list-presets)\n",
			        name);
			return EXIT_USAGE;
		}
		rc = numem_machine_src_spec(&src, spec, err, sizeof(err));
		free(spec);
	}
	if (rc) {
		fprintf(stderr, "numem: %s\n", err);
		return EXIT_IO;
	}
	char name[sizeof(src.name)];
	memcpy(name, src.name, sizeof(name));
	struct numem_diag diag = {0};
	if (numem_machine_load(m, &src, &ma->opts, &diag) != NUMEM_OK) {
		if (diag.table[0])
			fprintf(stderr, "numem: %s: %s table, offset %u: %s (%s)\n", name,
			        diag.table, diag.offset, diag.msg, numem_err_name(diag.code));
		else
			fprintf(stderr, "numem: %s: %s (%s)\n", name, diag.msg,
			        numem_err_name(diag.code));
		print_json_error(ma, name, &diag);
		return EXIT_INVALID;
	}
	return EXIT_OK;
}

void machine_args_free(struct machine_args *ma)
{
	free(ma->numa);
	ma->numa = NULL;
}

int machine_args_parse(struct machine_args *ma, int argc, char **argv, const char *cmd,
                       const char *help, bool json_ok)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s%s", help, machine_args_help);
			machine_args_free(ma);
			return EXIT_OK;
		}
		int r = machine_args_take(ma, argc, argv, &i);
		if (r == 0 || (r > 0 && ma->json && !json_ok)) {
			cli_error(cmd, "unknown option '%s' (see --help)", argv[i]);
			r = -1;
		}
		if (r < 0) {
			machine_args_free(ma);
			return r == MACHINE_ARGS_INVALID ? EXIT_INVALID : EXIT_USAGE;
		}
	}
	return -1;
}
