/*
 * cmd_sim.c - `numem sim`: run a scenario with both fallback strategies and
 * report in text (or JSON), with pictures.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <numem/json.h>
#include <numem/sim.h>

#include "cli.h"

static const char help[] =
    "usage: numem sim [--scenario FILE] [--machine NAME|DIR] [--seed S] [--ops N]\n"
    "                 [--json] [--report DIR] [--no-report] [--trace FILE]\n"
    "                 [--guest-tables DIR]\n"
    "\n"
    "Runs a scenario (default: the built-in one: the x445 with four guests, one\n"
    "confined to node 2, one spread over all nodes, one placed automatically, one\n"
    "with two virtual NUMA nodes; churn, a live relayout striping the confined\n"
    "guest's memory over all nodes, ballooning, memory pressure, destruction;\n"
    "on another --machine its node numbers, CPUs and sizes adapt to that machine)\n"
    "once with each fallback strategy (linux, xen), deterministically, and prints the\n"
    "report: placement, pages per node per domain, numastat, local allocations,\n"
    "buddyinfo and the unusable-free-space index per node, side by side.  Three more\n"
    "guests run tmem frontends (a page cache, a swap, both) with working sets larger\n"
    "than their memory; the report shows tmem's hit rates, memory per pool and per\n"
    "node, compression, and what the full machine of the pressure phase evicted.\n"
    "\n"
    "  --scenario FILE  a scenario in JSON (.json) or xl.cfg-like text (docs/FORMATS.md)\n"
    "  --machine M      run on another machine: a preset or a table directory\n"
    "  --seed S         random seed (default: the scenario's)\n"
    "  --ops N          scale every churn phase to N operations in all (and tmem\n"
    "                   phases' page accesses by the same factor)\n"
    "  --json           the report as one JSON object on stdout\n"
    "  --report DIR     write DIR/index.html and SVG figures (default numem-report)\n"
    "  --no-report      write no pictures\n"
    "  --trace FILE     trace both runs, one file each: FILE with -linux and -xen\n"
    "                   before its extension (run.trc: run-linux.trc, run-xen.trc);\n"
    "                   records the rings overwrote are counted in the file\n"
    "                   (numem trace FILE --summary)\n"
    "  --guest-tables DIR  write DIR/NAME/SRAT.bin and SLIT.bin for each vNUMA domain\n"
    "                   alive at the end of the linux run: the tables its guest\n"
    "                   boots with (numem topo DIR/NAME reads them back)\n"
    "\n"
    "A scenario's \"cpuset\" (nodes, e.g. 0-1) confines every CPU's allocations.\n"
    "\n"
    "With --json every failure after the options are read prints {\"error\",\n"
    "\"message\"} on stdout too.\n"
    "\n";

static int read_text(const char *path, char **out)
{
	uint8_t *buf;
	size_t len;
	int e = numem_read_file(path, &buf, &len);
	if (e)
		return e;
	char *t = realloc(buf, len + 1);
	if (!t) {
		free(buf);
		return ENOMEM;
	}
	t[len] = '\0';
	*out = t;
	return 0;
}

/* "run.trc" -> "run-linux.trc"; "dir/run" -> "dir/run-linux". */
static void trace_name(char *out, size_t cap, const char *file, const char *tag)
{
	const char *slash = strrchr(file, '/');
	const char *dot = strrchr(file, '.');
	if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : file))
		dot = file + strlen(file);
	snprintf(out, cap, "%.*s-%s%s", (int)(dot - file), file, tag, dot);
}

/* A failure: the message on stderr and, with --json, the error form. */
static int sim_fail(bool json, int code, const char *msg)
{
	return cli_fail("sim", json, code, msg);
}

int cmd_sim(int argc, char **argv)
{
	static struct sim_scenario sc;
	static struct sim_result res;
	sim_default_scenario(&sc);
	const char *report = "numem-report", *trace = NULL, *scenario = NULL, *machine = NULL;
	const char *guest_tables = NULL;
	bool json = false, have_seed = false;
	uint64_t seed = 0, ops = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(help, stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--no-report")) {
			report = NULL;
		} else if (!v &&
		           (!strcmp(a, "--scenario") || !strcmp(a, "--machine") ||
		            !strcmp(a, "--seed") || !strcmp(a, "--ops") || !strcmp(a, "--report") ||
		            !strcmp(a, "--trace") || !strcmp(a, "--guest-tables"))) {
			cli_error("sim", "%s needs a value", a);
			return EXIT_USAGE;
		} else if (!strcmp(a, "--scenario")) {
			scenario = argv[++i];
		} else if (!strcmp(a, "--machine")) {
			machine = argv[++i];
		} else if (!strcmp(a, "--report")) {
			report = argv[++i];
		} else if (!strcmp(a, "--trace")) {
			trace = argv[++i];
		} else if (!strcmp(a, "--guest-tables")) {
			guest_tables = argv[++i];
		} else if (!strcmp(a, "--seed") || !strcmp(a, "--ops")) {
			char msg[256];
			uint64_t x;
			if (numem_parse_uint(a, v, 0, a[2] == 's' ? UINT64_MAX : SIM_MAX_OPS, &x,
			                     msg, sizeof(msg))) {
				cli_error("sim", "%s", msg);
				return EXIT_USAGE;
			}
			if (a[2] == 's') {
				seed = x;
				have_seed = true;
			} else {
				ops = x;
			}
			i++;
		} else {
			cli_error("sim", "unknown option '%s' (see --help)", a);
			return EXIT_USAGE;
		}
	}
	char err[1200] = "";
	if (scenario) {
		char *text;
		int e = read_text(scenario, &text);
		if (e) {
			snprintf(err, sizeof(err), "%s: %s", scenario, strerror(e));
			return sim_fail(json, EXIT_IO, err);
		}
		size_t n = strlen(scenario);
		int rc = n > 5 && !strcmp(scenario + n - 5, ".json")
		             ? sim_scenario_from_json(&sc, text, err, sizeof(err))
		             : sim_scenario_from_xlcfg(&sc, text, err, sizeof(err));
		free(text);
		if (rc) {
			char msg[800];
			snprintf(msg, sizeof(msg), "%s: %s", scenario, err);
			return sim_fail(json, EXIT_INVALID, msg);
		}
		if (!sc.name[0]) { /* no name given: the file's, without directory and extension */
			const char *base = strrchr(scenario, '/');
			base = base ? base + 1 : scenario;
			const char *dot = strrchr(base, '.');
			int len = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
			snprintf(sc.name, sizeof(sc.name), "%.*s", len, base);
		}
	}
	if (machine)
		snprintf(sc.machine, sizeof(sc.machine), "%s", machine);
	if (have_seed)
		sc.seed = seed;
	if (ops) {
		uint64_t total = 0;
		for (uint32_t i = 0; i < sc.nr_phases; i++)
			total += sc.phase[i].kind == SIM_CHURN ? sc.phase[i].ops : 0;
		/* tmem phases (guest page accesses) by the same factor */
		for (uint32_t i = 0; i < sc.nr_phases && total; i++)
			if (sc.phase[i].kind == SIM_CHURN || sc.phase[i].kind == SIM_TMEM)
				sc.phase[i].ops = sc.phase[i].ops * ops / total;
	}
	FILE *tf[2] = {NULL, NULL};
	char tname[2][1024];
	for (int k = 0; trace && k < 2; k++) {
		trace_name(tname[k], sizeof(tname[k]), trace, k ? "xen" : "linux");
		if (!(tf[k] = fopen(tname[k], "wb"))) {
			snprintf(err, sizeof(err), "%.1000s: %s", tname[k], strerror(errno));
			if (k)
				fclose(tf[0]);
			return sim_fail(json, EXIT_IO, err);
		}
	}
	struct sim_opts o = {
	    .trace = tf[0], .trace_xen = tf[1], .progress = !json, .guest_tables = guest_tables};
	int rc = sim_run(&sc, &o, &res, err, sizeof(err));
	for (int k = 0; k < 2; k++)
		if (tf[k] && fclose(tf[k]) && !rc) {
			snprintf(err, sizeof(err), "%.1000s: %s", tname[k], strerror(errno));
			return sim_fail(json, EXIT_IO, err);
		}
	if (rc)
		return sim_fail(json, EXIT_INVALID, err);
	if (json) {
		char *text = sim_report_json(&res);
		fputs(text, stdout);
		fputc('\n', stdout);
		free(text);
	} else {
		sim_report_text(stdout, &res);
	}
	if (report) {
		if (sim_report_html(&res, report, err, sizeof(err)))
			return sim_fail(json, EXIT_IO, err);
		if (!json) {
			char figs[256];
			sim_report_figure_names(&res, figs, sizeof(figs));
			printf("\npictures: %s/index.html (%s)\n", report, figs);
		}
	}
	if (guest_tables && !json)
		printf("guest tables: %s (%u vNUMA domains: %s/NAME/SRAT.bin, SLIT.bin)\n",
		       guest_tables, res.run[0].guest_tables, guest_tables);
	for (int k = 0; trace && !json && k < 2; k++)
		printf("trace: %s (%s run: %llu events, %llu lost; numem trace %s)\n", tname[k],
		       res.run[k].strategy, (unsigned long long)res.run[k].trace_events,
		       (unsigned long long)res.run[k].trace_lost, tname[k]);
	return res.run[0].error[0] || res.run[1].error[0] ? EXIT_VERIFY : EXIT_OK;
}
