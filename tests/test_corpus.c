/*
 * test_corpus.c - every machine of shared/acpi-corpus through the real CLI:
 * `numem topo DIR --json` must match expected.json in every schema field
 * (srat and slit, or the error form), and the topology must be sane.
 */
#include <dirent.h>
#include <jansson.h>
#include <sys/stat.h>

#include "helpers.h"
#include "run_cmd.h"

static char machines[64][256];

static json_t *run_json(const char *args, int *status)
{
	char cmd[2048], *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s topo %s --json 2>/dev/null", NUMEM_BIN, args);
	*status = run_cmd(cmd, &out);
	json_error_t err;
	json_t *j = out ? json_loads(out, 0, &err) : NULL;
	if (!j)
		fail_msg("%s: output is not JSON: %s", cmd, out ? err.text : "(none)");
	free(out);
	return j;
}

static void compare_member(const char *machine, json_t *exp, json_t *got, const char *key)
{
	json_t *e = json_object_get(exp, key), *g = json_object_get(got, key);
	if (json_equal(e, g))
		return;
	char *es = json_dumps(e, JSON_COMPACT), *gs = json_dumps(g, JSON_COMPACT);
	fail_msg("%s: \"%s\" differs\nexpected %.400s\n     got %.400s", machine, key, es, gs);
}

static void check_one(const char *machine, const char *args, const char *expected_path)
{
	json_error_t err;
	json_t *exp = json_load_file(expected_path, 0, &err);
	if (!exp)
		fail_msg("%s: %s", expected_path, err.text);
	int status;
	json_t *got = run_json(args, &status);
	if (json_object_get(exp, "error")) {
		assert_int_equal(status, 1);
		compare_member(machine, exp, got, "error");
		compare_member(machine, exp, got, "error_table");
		compare_member(machine, exp, got, "error_offset");
	} else {
		assert_int_equal(status, 0);
		compare_member(machine, exp, got, "srat");
		compare_member(machine, exp, got, "slit");
		/* The topology: as many nodes as enabled domains (all corpus SRATs
		 * are valid), every enabled CPU placed. */
		json_t *topo = json_object_get(got, "topology");
		json_t *srat = json_object_get(exp, "srat");
		size_t i;
		json_t *c;
		uint32_t enabled = 0;
		json_array_foreach(json_object_get(srat, "cpu_affinity"), i, c) enabled +=
		    json_is_true(json_object_get(c, "enabled"));
		assert_true(json_integer_value(json_object_get(topo, "nr_cpus")) <= enabled);
		assert_true(json_integer_value(json_object_get(topo, "nr_nodes")) >= 1);
		assert_null(json_object_get(topo, "single_node_reason"));
	}
	json_decref(exp);
	json_decref(got);
}

static void test_machine(void **state)
{
	const char *dir = *state;
	char path[512], args[600];
	const char *name = strrchr(dir, '/') + 1;
	snprintf(path, sizeof(path), "%s/expected.json", dir);
	snprintf(args, sizeof(args), "'%s'", dir);
	check_one(name, args, path);
	/* Further SRAT instances, when the firmware has them. */
	for (int k = 2; k < 10; k++) {
		char srat[512], slit[512], exp[512];
		snprintf(srat, sizeof(srat), "%s/SRAT%d.bin", dir, k);
		snprintf(exp, sizeof(exp), "%s/expected-SRAT%d.json", dir, k);
		snprintf(slit, sizeof(slit), "%s/SLIT.bin", dir);
		struct stat st;
		if (stat(srat, &st) != 0)
			break;
		snprintf(args, sizeof(args), "--srat '%s'%s%s%s", srat,
		         stat(slit, &st) == 0 ? " --slit '" : "", stat(slit, &st) == 0 ? slit : "",
		         stat(slit, &st) == 0 ? "'" : "");
		check_one(name, args, exp);
	}
}

/* Corpus machines with a MADT and a PPTT beside their SRAT/SLIT (issue 9
 * item 6): the machine's real MADT where its acpidump has one
 * (tests/tables/, see its README), else an ASL one of tests/asl; the PPTTs
 * are ASL (these firmwares have none).  The SRAT parse still matches
 * expected.json, and the CPU topology is the tables', not one invented
 * from nodes. */
static void test_cpu_tables(void **state)
{
	(void)state;
	static const struct {
		const char *machine, *madt, *pptt;
		int cpus, sockets, cores_per_socket, threads_per_core;
	} cases[] = {
	    {"supermicro-h8qg6-a", TABLES_DIR "/supermicro-h8qg6-a-APIC.bin", "pptt-h8qg6-6200", 64,
	     4, 16, 1},
	    {"supermicro-h8qg6-a", "madt-h8qg6", "pptt-h8qg6", 48, 4, 12, 1},
	    {"supermicro-x10dai", TABLES_DIR "/supermicro-x10dai-APIC.bin", "pptt-x10dai", 40, 2,
	     10, 2},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char dir[512], args[2048], exp[600];
		snprintf(dir, sizeof(dir), "%s/%s", CORPUS_DIR, cases[i].machine);
		snprintf(exp, sizeof(exp), "%s/expected.json", dir);
		char madt[600];
		if (cases[i].madt[0] == '/')
			snprintf(madt, sizeof(madt), "%s", cases[i].madt);
		else
			snprintf(madt, sizeof(madt), "%s/%s.aml", ASL_DIR, cases[i].madt);
		snprintf(args, sizeof(args),
		         "--srat '%s/SRAT.bin' --slit '%s/SLIT.bin' --madt '%s' --pptt '%s/%s.aml'",
		         dir, dir, madt, ASL_DIR, cases[i].pptt);
		check_one(cases[i].machine, args, exp);
		int status;
		json_t *got = run_json(args, &status);
		json_t *topo = json_object_get(got, "topology");
		json_t *ct = json_object_get(topo, "cpu_topology");
		assert_int_equal(json_integer_value(json_object_get(topo, "nr_cpus")),
		                 cases[i].cpus);
		assert_string_equal(json_string_value(json_object_get(ct, "source")), "pptt");
		assert_int_equal(json_integer_value(json_object_get(ct, "sockets")),
		                 cases[i].sockets);
		assert_int_equal(json_integer_value(json_object_get(ct, "cores_per_socket")),
		                 cases[i].cores_per_socket);
		assert_int_equal(json_integer_value(json_object_get(ct, "threads_per_core")),
		                 cases[i].threads_per_core);
		json_decref(got);
		/* Without them, numem does not guess. */
		snprintf(args, sizeof(args), "'%s'", dir);
		got = run_json(args, &status);
		ct = json_object_get(json_object_get(got, "topology"), "cpu_topology");
		assert_string_equal(json_string_value(json_object_get(ct, "source")), "unknown");
		assert_true(json_is_null(json_object_get(ct, "sockets")));
		json_decref(got);
	}
}

int main(void)
{
	DIR *d = opendir(CORPUS_DIR);
	if (!d) {
		fprintf(stderr,
		        "test_corpus: %s not found (shared/ must sit beside the repository)\n",
		        CORPUS_DIR);
		return 1;
	}
	struct dirent *e;
	size_t n = 0;
	while ((e = readdir(d)) && n < 64) {
		char path[512];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s/expected.json", CORPUS_DIR, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) != 0)
			continue;
		snprintf(machines[n++], sizeof(machines[0]), "%s/%s", CORPUS_DIR, e->d_name);
	}
	closedir(d);
	if (n < 17) {
		fprintf(stderr, "test_corpus: only %zu machines in %s\n", n, CORPUS_DIR);
		return 1;
	}
	struct CMUnitTest *tests = calloc(n + 1, sizeof(*tests));
	for (size_t i = 0; i < n; i++) {
		tests[i].name = strrchr(machines[i], '/') + 1;
		tests[i].test_func = test_machine;
		tests[i].initial_state = machines[i];
	}
	tests[n].name = "cpu_tables";
	tests[n].test_func = test_cpu_tables;
	int rc = _cmocka_run_group_tests("corpus", tests, n + 1, NULL, NULL);
	free(tests);
	return rc;
}
