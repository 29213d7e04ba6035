/*
 * machine_args.c - the options every subcommand shares to pick a machine.
 */
#include <errno.h>
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
    "  --numa ARG             QEMU -numa syntax, repeatable (docs/FORMATS.md):\n"
    "                         node[,nodeid=N][,cpus=A-B][,mem=SIZE|memdev=ID][,initiator=N]\n"
    "                         dist,src=N,dst=M,val=D\n"
    "                         cpu,node-id=N[,socket-id=S][,die-id=D][,core-id=C][,thread-id=T]\n"
    "                         hmat-lb,initiator=N,target=M,hierarchy=memory,\n"
    "                           data-type=access-latency,latency=NS (or bandwidth=SIZE)\n"
    "                         hmat-cache,node-id=N,size=SIZE,level=L,associativity=direct,\n"
    "                           policy=write-back,line=64\n"
    "    with QEMU's machine options (a size without suffix: MiB for --mem and mem=):\n"
    "  --mem [size=]SIZE[,slots=N][,maxmem=SIZE]   QEMU -m (default: the nodes' sum, or\n"
    "                         128M split evenly when no node has memory)\n"
    "  --maxmem SIZE, --slots N   the hot-plug window (QEMU -m ...,slots=,maxmem=)\n"
    "  --smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,cores=C][,threads=T]\n"
    "                         QEMU -smp: CPUs and their APIC ids\n"
    "  --object memory-backend-ram,id=ID,size=SIZE   a backend for memdev=ID\n"
    "  --qemu-machine pc|q35  the low-memory split below 4 GiB (default pc)\n"
    "  --preset NAME          a built-in machine (default: " NUMEM_DEFAULT_PRESET ")\n"
    "  --list-presets         list the presets and exit\n"
    "shaping:\n"
    "  --strict               a bad checksum or an SRAT that fails validation is an error\n"
    "                         (default: a warning on stderr; invalid SRAT gives one node)\n"
    "  --numa-off             ignore the SRAT: one node\n"
    "  --hide-memoryless      CPUs of memoryless nodes join the nearest node (x86 Linux)\n"
    "  --numa-emulate N       cut RAM into N fake nodes (Linux numa=fake=N)\n"
    "  --frametable L         frame-table layout: sections (default) or vmemmap (one\n"
    "                         virtually contiguous array, Linux SPARSEMEM_VMEMMAP)\n"
    "  --movable SIZE         ZONE_MOVABLE of SIZE (4G, 512M; bytes without a suffix) in all\n"
    "                         (Linux movablecore=SIZE), spread\n"
    "                         evenly over the nodes with memory, taken from each node's top\n";

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
	const char *const with_value[] = {
	    "--srat", "--slit",   "--hmat",         "--madt",       "--pptt",    "--preset",
	    "--numa", "--sysfs",  "--numa-emulate", "--mem",        "--maxmem",  "--slots",
	    "--smp",  "--object", "--qemu-machine", "--frametable", "--movable", NULL};
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
	else if (!strcmp(a, "--frametable")) {
		if (strcmp(val, "sections") && strcmp(val, "vmemmap")) {
			fprintf(stderr, "numem: --frametable wants sections or vmemmap, not '%s'\n",
			        val);
			return -1;
		}
		ma->vmemmap = val[0] == 'v';
	} else if (!strcmp(a, "--movable")) {
		char msg[512];
		if (numem_spec_parse_qemu_size("--movable", val, 0, &ma->movable_bytes, msg,
		                               sizeof(msg))) {
			fprintf(stderr, "numem: %s\n", msg);
			return -1;
		}
	} else if (!strcmp(a, "--hide-memoryless"))
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
	} else if (!strcmp(a, "--numa") || !strcmp(a, "--mem") || !strcmp(a, "--maxmem") ||
	           !strcmp(a, "--slots") || !strcmp(a, "--smp") || !strcmp(a, "--object") ||
	           !strcmp(a, "--qemu-machine")) {
		char err[512];
		int rc = 0;
		if (!ma->numa && !(ma->numa = calloc(1, sizeof(*ma->numa)))) {
			fprintf(stderr, "numem: out of memory\n");
			return -1;
		}
		struct numem_spec_qemu *q = &ma->numa->qemu;
		if (!strcmp(a, "--numa")) {
			rc = numem_spec_add_numa_arg(ma->numa, val, err, sizeof(err));
		} else if (!strcmp(a, "--mem")) {
			rc = numem_spec_set_mem(ma->numa, val, err, sizeof(err));
		} else if (!strcmp(a, "--maxmem")) {
			rc = numem_spec_parse_qemu_size("--maxmem", val, 20, &q->maxmem, err,
			                                sizeof(err));
		} else if (!strcmp(a, "--slots")) {
			uint64_t x;
			rc = numem_parse_uint("--slots", val, 0, 256, &x, err, sizeof(err));
			if (!rc)
				q->slots = (uint32_t)x;
		} else if (!strcmp(a, "--smp")) {
			rc = numem_spec_set_smp(ma->numa, val, err, sizeof(err));
		} else if (!strcmp(a, "--object")) {
			rc = numem_spec_add_object(ma->numa, val, err, sizeof(err));
		} else if (!strcmp(val, "pc") || !strcmp(val, "q35")) {
			q->q35 = val[0] == 'q';
		} else {
			snprintf(err, sizeof(err), "--qemu-machine wants pc or q35, not '%s'", val);
			rc = -1;
		}
		if (rc != 0) {
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

/* Copy `in` to `out` keeping valid UTF-8 and writing any other byte as
 * "\xNN", so that a garbage table signature or a binary file name still
 * gives a JSON string (jansson refuses invalid UTF-8 and the whole error
 * object came out empty). */
static void utf8_clean(char *out, size_t cap, const char *in, size_t inlen)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)in;
	for (size_t i = 0; i < inlen && p[i] && o + 5 < cap;) {
		unsigned c = p[i], need = c < 0x80             ? 0
		                          : (c & 0xe0) == 0xc0 ? 1
		                          : (c & 0xf0) == 0xe0 ? 2
		                          : (c & 0xf8) == 0xf0 ? 3
		                                               : 9;
		bool ok = need < 4 && i + need < inlen && (need == 0 || c >= 0xc2) && c <= 0xf4;
		for (unsigned k = 1; ok && k <= need; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (ok && c >= 0x20 && c != 0x7f) {
			memcpy(out + o, p + i, need + 1);
			o += need + 1;
			i += need + 1;
		} else {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
			i++;
		}
	}
	out[o] = '\0';
}

void machine_args_json_error(const struct machine_args *ma, const char *name,
                             const struct numem_diag *d)
{
	if (!ma->json)
		return;
	/* numem_json_error's form, built here from cleaned strings (a table
	 * signature of four garbage bytes grows to 16 characters). */
	char msg[4 * sizeof(d->msg) + 1], table[4 * sizeof(d->table) + 1], nm[4 * 160 + 1];
	utf8_clean(msg, sizeof(msg), d->msg, sizeof(d->msg));
	utf8_clean(table, sizeof(table), d->table, sizeof(d->table));
	utf8_clean(nm, sizeof(nm), name, strlen(name));
	json_t *o = json_pack("{s:s, s:s}", "error", numem_err_name(d->code), "message", msg);
	if (d->table[0]) {
		json_object_set_new(o, "error_table", json_string(table));
		json_object_set_new(o, "error_offset", json_integer(d->offset));
	}
	json_object_set_new(o, "machine", json_string(nm));
	json_dumpf(o, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

/* An error before any table was parsed (a file that cannot be read, a
 * description that was rejected): with --json, the error form too, with
 * "error" naming the kind ("io" or "invalid-description"). */
static void json_error_msg(const struct machine_args *ma, const char *kind, const char *msg)
{
	if (!ma->json)
		return;
	char clean[2048];
	utf8_clean(clean, sizeof(clean), msg, strlen(msg));
	json_t *o = json_pack("{s:s, s:s}", "error", kind, "message", clean);
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
		                "--host or --numa (--mem, --smp, --maxmem, --slots, --object and "
		                "--qemu-machine shape a --numa machine)\n");
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
			json_error_msg(ma, "invalid-description", err);
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
		/* numem_read_file caps a table file (a device such as /dev/zero
		 * would be read forever): say so */
		if (strstr(err, strerror(EFBIG)))
			snprintf(err + strlen(err), sizeof(err) - strlen(err),
			         " (a table file may hold at most %u MiB)",
			         NUMEM_READ_FILE_MAX >> 20);
		fprintf(stderr, "numem: %s\n", err);
		json_error_msg(ma, "io", err);
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
		machine_args_json_error(ma, name, &diag);
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
