/*
 * test_sim.c - the simulator end to end: scenarios from JSON and xl.cfg
 * text, determinism (byte-identical JSON for one seed), the report's
 * numbers against the heap's own counters, the trace file, and the HTML
 * report: valid XML (xmllint) and a real browser's screenshot (headless
 * chromium; skipped with a message where it is not installed).
 */
#include <math.h>
#include <numem/sim.h>
#include <sys/stat.h>

#include "helpers.h"
#include "run_cmd.h"

static const char small_json[] =
    "{\"name\": \"small\", \"machine\": \"opteron-2n\", \"seed\": 7, \"sample_every\": 2000,"
    " \"domains\": ["
    "  {\"name\": \"a\", \"memory_mb\": 512, \"vcpus\": 1, \"placement\": \"node\", \"node\": 1},"
    "  {\"name\": \"b\", \"memory_mb\": 768, \"vcpus\": 2, \"placement\": \"pinned\", \"cpus\": "
    "[0, 1]},"
    "  {\"name\": \"c<&>\", \"memory_mb\": 256, \"vcpus\": 1},"
    "  {\"name\": \"v\", \"memory_mb\": 512, \"vcpus\": 2, \"placement\": \"vnuma\","
    "   \"vnodes\": [{\"memory_mb\": 256, \"node\": 0, \"vcpus\": 1},"
    "                {\"memory_mb\": 256, \"node\": 1, \"vcpus\": 1}]}],"
    " \"phases\": [{\"kind\": \"boot\"}, {\"kind\": \"churn\", \"ops\": 20000},"
    "   {\"kind\": \"balloon\", \"domain\": \"b\", \"percent\": 40},"
    "   {\"kind\": \"pressure\", \"percent\": 90},"
    "   {\"kind\": \"churn\", \"ops\": 10000, \"orders\": [5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]},"
    "   {\"kind\": \"destroy\", \"domain\": \"hog\"}]}";

static const char small_cfg[] =
    "machine = opteron-2n\n"
    "seed = 7\n"
    "sample_every = 2000\n"
    "phases = boot, churn:20000, balloon:b:40, pressure:90, churn:10000, "
    "destroy:hog\n"
    "name = small\n"
    "[a]\nmemory = 512\nvcpus = 1\nplacement = node\nnode = 1\n"
    "[b]\nmemory = 768\nvcpus = 2\nplacement = pinned\ncpus = 0-1\n"
    "[c<&>]\nmemory = 256\n"
    "[v]\nmemory = 512\nvcpus = 2\nplacement = vnuma\n"
    "vnodes = 256@0:1, 256@1:1\n";

static struct sim_result res1, res2;

static void test_scenarios_parse_alike(void **state)
{
	(void)state;
	struct sim_scenario a, b;
	char err[256];
	assert_int_equal(sim_scenario_from_json(&a, small_json, err, sizeof(err)), 0);
	assert_int_equal(sim_scenario_from_xlcfg(&b, small_cfg, err, sizeof(err)), 0);
	assert_int_equal(a.nr_domains, 4);
	assert_int_equal(b.nr_domains, 4);
	assert_int_equal(a.nr_phases, b.nr_phases);
	for (uint32_t i = 0; i < a.nr_domains; i++) {
		assert_string_equal(a.domain[i].name, b.domain[i].name);
		assert_int_equal(a.domain[i].mem_mb, b.domain[i].mem_mb);
		assert_int_equal(a.domain[i].placement, b.domain[i].placement);
		assert_int_equal(a.domain[i].nr_vnodes, b.domain[i].nr_vnodes);
	}
	for (uint32_t i = 0; i < a.nr_phases; i++) {
		assert_int_equal(a.phase[i].kind, b.phase[i].kind);
		assert_int_equal(a.phase[i].ops, b.phase[i].ops);
		assert_int_equal(a.phase[i].percent, b.phase[i].percent);
		assert_string_equal(a.phase[i].domain, b.phase[i].domain);
	}
	assert_int_equal(a.phase[4].order_weight[0], 5);
	assert_int_equal(a.phase[4].order_weight[10], 1);
	/* Errors name the problem. */
	assert_int_equal(
	    sim_scenario_from_json(&a, "{\"phases\": [{\"kind\": \"nap\"}]}", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "nap"));
	assert_int_equal(sim_scenario_from_json(&a, "{oops", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 1"));
	assert_int_equal(sim_scenario_from_xlcfg(&a, "frobnicate = 3\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "frobnicate"));
}

/* Parse a JSON scenario into *sc and run it twice, into res1 and res2:
 * the two reports must be byte-identical (one seed, one result).
 * Returns res1's JSON (the caller frees it). */
static char *run_twice(const char *json, struct sim_scenario *sc)
{
	char err[256];
	assert_int_equal(sim_scenario_from_json(sc, json, err, sizeof(err)), 0);
	struct sim_opts o = {0};
	if (sim_run(sc, &o, &res1, err, sizeof(err)))
		fail_msg("sim: %s", err);
	if (sim_run(sc, &o, &res2, err, sizeof(err)))
		fail_msg("sim: %s", err);
	char *j1 = sim_report_json(&res1), *j2 = sim_report_json(&res2);
	assert_string_equal(j1, j2);
	free(j2);
	return j1;
}

static void test_deterministic_and_consistent(void **state)
{
	(void)state;
	struct sim_scenario sc;
	char err[256];
	struct sim_opts o = {0};
	char *j1 = run_twice(small_json, &sc);
	assert_non_null(strstr(j1, "\"imbalance_pages\""));
	assert_non_null(strstr(j1, "\"imbalance_pct\""));
	free(j1);
	for (int s = 0; s < 2; s++) {
		const struct sim_run *r = &res1.run[s];
		assert_string_equal(r->error, "");
		/* The report's figures against the heap's counters. */
		const struct sim_sample *last = &r->sample[r->nr_samples - 1];
		uint64_t local = 0, other = 0;
		for (uint32_t n = 0; n < res1.nr_nodes; n++) {
			assert_int_equal(last->free_pages[n], r->free_pages[n]);
			uint64_t dom_pages = 0;
			for (uint32_t i = 0; i < r->nr_domains; i++)
				dom_pages += r->dom[i].pages_on_node[n];
			assert_true(dom_pages <= r->present_pages[n] - r->free_pages[n]);
			/* Every page allocated on a node was a hit or a miss there. */
			assert_int_equal(
			    r->stat[n][NUMEM_STAT_NUMA_HIT] + r->stat[n][NUMEM_STAT_NUMA_MISS],
			    r->stat[n][NUMEM_STAT_LOCAL_NODE] + r->stat[n][NUMEM_STAT_OTHER_NODE]);
			/* local % is page-weighted (labelled so in the report). */
			local += r->stat[n][NUMEM_STAT_LOCAL_PAGES];
			other += r->stat[n][NUMEM_STAT_OTHER_PAGES];
		}
		assert_true(fabs(r->local_pct - 100.0 * (double)local / (double)(local + other)) <
		            1e-9);
		/* Domain a is confined to node 1; v's frames follow its vnodes. */
		assert_int_equal(r->dom[0].pages_on_node[0], 0);
		assert_true(r->dom[0].pages > 0);
		assert_true(r->dom[3].pages_on_node[0] > 0 && r->dom[3].pages_on_node[1] > 0);
		assert_false(r->dom[4].alive); /* the hog was destroyed */
		/* r->error is empty: numem_domain_verify passed at the end of the
		 * run.  b is pinned to cpus 0 and 1 (nodes 0 and 1 of the
		 * opteron-2n), so its share is half on each; the report says how
		 * far it is (memory pressure pushes it off). */
		const struct sim_domain_result *b = &r->dom[1];
		uint64_t half = b->pages / 2, on0 = b->pages_on_node[0];
		uint64_t off = on0 > half ? on0 - half : half - on0;
		assert_true(b->imbalance == off || b->imbalance == off + 1);
		for (uint32_t i = 0; i < r->nr_domains; i++)
			assert_true(r->dom[i].imbalance <= r->dom[i].pages);
		/* The p2m leaves of the live domains sit in kmalloc-2048. */
		bool leaves = false;
		for (uint32_t i = 0; i < r->nr_slabinfo; i++)
			if (!strcmp(r->slabinfo[i].name, "kmalloc-2048")) {
				leaves = r->slabinfo[i].info.active_objs > 0;
				assert_true(r->slabinfo[i].info.active_objs <=
				            r->slabinfo[i].info.num_objs);
			}
		assert_true(leaves);
	}
	/* A different seed gives a different run. */
	sc.seed = 8;
	assert_int_equal(sim_run(&sc, &o, &res2, err, sizeof(err)), 0);
	char *j3 = sim_report_json(&res2), *j4 = sim_report_json(&res1);
	assert_true(strcmp(j3, j4) != 0);
	free(j3);
	free(j4);
}

static void test_html_report_and_browser(void **state)
{
	(void)state;
	char dir[] = "/tmp/numem-sim-XXXXXX", cmd[1024], err[256];
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sim_report_html(&res1, dir, err, sizeof(err)), 0);
	char *out = NULL;
	if (run_cmd("command -v xmllint >/dev/null 2>&1", NULL) == 0) {
		snprintf(cmd, sizeof(cmd),
		         "cd %s && xmllint --noout memmap.svg free.svg local.svg 2>&1", dir);
		if (run_cmd(cmd, &out) != 0)
			fail_msg("SVG is not valid XML: %s", out);
		free(out);
	} else {
		print_message("xmllint not installed: SVG XML check skipped\n");
	}
	const char *chromium =
	    run_cmd("command -v chromium >/dev/null 2>&1", NULL) == 0           ? "chromium"
	    : run_cmd("command -v chromium-browser >/dev/null 2>&1", NULL) == 0 ? "chromium-browser"
	                                                                        : NULL;
	if (!chromium) {
		print_message("chromium not installed: the browser screenshot test is skipped\n");
	} else {
		snprintf(cmd, sizeof(cmd),
		         "cd %s && timeout 120 %s --headless --no-sandbox --disable-gpu "
		         "--disable-quic --no-first-run --disable-background-networking "
		         "--disable-component-update --disable-sync --user-data-dir=%s/profile "
		         "--window-size=900,1400 --screenshot=%s/shot.png file://%s/index.html "
		         ">/dev/null 2>&1",
		         dir, chromium, dir, dir, dir);
		assert_int_equal(run_cmd(cmd, NULL), 0);
		char png[512];
		snprintf(png, sizeof(png), "%s/shot.png", dir);
		struct stat st;
		assert_int_equal(stat(png, &st), 0);
		assert_true(st.st_size > 20000); /* a rendered page, not a blank one */
		uint8_t *b;
		size_t len;
		assert_int_equal(numem_read_file(png, &b, &len), 0);
		assert_memory_equal(b, "\x89PNG", 4);
		free(b);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(run_cmd(cmd, NULL), 0);
}

static void test_cli_trace(void **state)
{
	(void)state;
	char dir[] = "/tmp/numem-simcli-XXXXXX", cmd[1024];
	assert_non_null(mkdtemp(dir));
	char path[512];
	snprintf(path, sizeof(path), "%s/s.json", dir);
	assert_int_equal(numem_write_file(path, small_json, strlen(small_json)), 0);
	char *out = NULL;
	snprintf(cmd, sizeof(cmd), "%s sim --scenario %s --report %s/r --trace %s/t.trc", NUMEM_BIN,
	         path, dir, dir);
	assert_int_equal(run_cmd(cmd, &out), 0);
	assert_non_null(strstr(out, "== strategy linux"));
	assert_non_null(strstr(out, "== strategy xen"));
	assert_non_null(strstr(out, "numa_hit"));
	assert_non_null(strstr(out, "Node 0, zone"));
	free(out);
	/* Both runs traced, one file each, tagged in the header (issue 9 item 9). */
	snprintf(cmd, sizeof(cmd), "%s trace %s/t-linux.trc --summary", NUMEM_BIN, dir);
	assert_int_equal(run_cmd(cmd, &out), 0);
	assert_non_null(strstr(out, "alloc "));
	assert_non_null(strstr(out, ", run linux\n"));
	assert_non_null(strstr(out, "\nnuma_hit "));
	assert_non_null(strstr(out, "\nnuma_miss "));
	assert_non_null(strstr(out, "\nnuma_foreign "));
	assert_non_null(strstr(out, "\nlost: "));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s trace %s/t-xen.trc --summary", NUMEM_BIN, dir);
	assert_int_equal(run_cmd(cmd, &out), 0);
	assert_non_null(strstr(out, ", run xen\n"));
	free(out);
	snprintf(cmd, sizeof(cmd), "%s trace %s/s.json", NUMEM_BIN, dir);
	assert_int_equal(run_cmd(cmd, NULL), 1); /* not a trace */
	/* Replay the trace on the same machine: every recorded allocation and
	 * free happens again, and the heap still verifies. */
	char replay[1024];
	snprintf(replay, sizeof(replay),
	         "{\"machine\": \"opteron-2n\", \"sample_every\": 1000, \"phases\": "
	         "[{\"kind\": \"replay\", \"file\": \"%s/t-linux.trc\"}]}",
	         dir);
	struct sim_scenario sc;
	char err[256];
	assert_int_equal(sim_scenario_from_json(&sc, replay, err, sizeof(err)), 0);
	struct sim_opts o = {0};
	if (sim_run(&sc, &o, &res2, err, sizeof(err)))
		fail_msg("replay: %s", err);
	assert_true(res2.run[0].ops > 10000);
	assert_string_equal(res2.run[0].error, "");
	assert_string_equal(res2.run[1].error, "");
	snprintf(replay, sizeof(replay),
	         "{\"machine\": \"opteron-2n\", \"phases\": [{\"kind\": \"replay\", "
	         "\"file\": \"%s/s.json\"}]}",
	         dir);
	assert_int_equal(sim_scenario_from_json(&sc, replay, err, sizeof(err)), 0);
	assert_int_equal(sim_run(&sc, &o, &res2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a numem trace"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(run_cmd(cmd, NULL), 0);
}

/*
 * Issue 7, item 7: the xl.cfg parser took vcpus unchecked ("4096", "-1",
 * "99999999999999999999" via strtoul(val, NULL, 0)) and the engine then
 * copied pin[v] for every vcpu past a 256-entry array.  Every number either
 * parser reads is now read strictly and range-checked (naming the field),
 * both parsers end in the one sim_scenario_validate, a rejected scenario
 * leaves the caller's struct alone, and sim_run validates its input too.
 */
static void expect_cfg_error(const char *text, const char *needle)
{
	static struct sim_scenario sc, before;
	char err[256] = "";
	memset(&sc, 0x5a, sizeof(sc));
	before = sc;
	assert_int_equal(sim_scenario_from_xlcfg(&sc, text, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("xl.cfg error '%s' does not name '%s'", err, needle);
	assert_memory_equal(&sc, &before, sizeof(sc)); /* no state changed */
}

static void expect_json_error(const char *text, const char *needle)
{
	static struct sim_scenario sc, before;
	char err[256] = "";
	memset(&sc, 0x5a, sizeof(sc));
	before = sc;
	assert_int_equal(sim_scenario_from_json(&sc, text, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("JSON error '%s' does not name '%s'", err, needle);
	assert_memory_equal(&sc, &before, sizeof(sc));
}

#define CFG_DOM(keys) "phases = boot\n[d]\nmemory = 64\nplacement = pinned\n" keys
#define JSON_DOM(keys)                                                                             \
	"{\"phases\": [{\"kind\": \"boot\"}], \"domains\": [{\"name\": \"d\", \"memory_mb\": "     \
	"64" keys "}]}"

static void test_scenario_numbers_checked(void **state)
{
	(void)state;
	/* the review's three vcpus values, and more sign/garbage/overflow */
	expect_cfg_error(CFG_DOM("vcpus = 4096\n"), "vcpus: 4096 is out of range (want 1..256)");
	expect_cfg_error(CFG_DOM("vcpus = -1\n"), "vcpus");
	expect_cfg_error(CFG_DOM("vcpus = 99999999999999999999\n"), "vcpus");
	expect_cfg_error(CFG_DOM("vcpus = 257\n"), "line 5: vcpus");
	expect_cfg_error(CFG_DOM("vcpus = 4x\n"), "vcpus");
	expect_cfg_error(CFG_DOM("vcpus = +4\n"), "vcpus");
	expect_cfg_error(CFG_DOM("vcpus = 0\n"), "vcpus");
	expect_cfg_error(CFG_DOM("memory = -1\n"), "memory");
	expect_cfg_error(CFG_DOM("memory = 18446744073709551615\n"), "memory");
	expect_cfg_error(CFG_DOM("node = 65536\n"), "node");
	expect_cfg_error(CFG_DOM("node = 64\n"), "node");
	expect_cfg_error(CFG_DOM("cpus = 0-2147483648\n"), "cpus");
	expect_cfg_error(CFG_DOM("cpus = 4294967295\n"), "cpus");
	expect_cfg_error(CFG_DOM("placement = everywhere\n"), "placement");
	expect_cfg_error(CFG_DOM("vnodes = 64@-1:1\n"), "vnode node");
	expect_cfg_error(CFG_DOM("vnodes = 64@0:4294967297\n"), "vnode vcpus");
	expect_cfg_error(CFG_DOM("vnodes = 1@0:1,1@0:1,1@0:1,1@0:1,1@0:1,1@0:1,1@0:1,1@0:1,"
	                         "1@0:1,1@0:1,1@0:1,1@0:1,1@0:1,1@0:1,1@0:1,1@0:1,1@0:1\n"),
	                 "more than 16 vnodes");
	expect_cfg_error("seed = -1\nphases = boot\n", "seed");
	expect_cfg_error("sample_every = 0\nphases = boot\n", "sample_every");
	expect_cfg_error("sample_every = 12abc\nphases = boot\n", "sample_every");
	expect_cfg_error("phases = boot, churn:-5\n", "phase churn");
	expect_cfg_error("phases = boot, churn:99999999999999999999\n", "phase churn");
	expect_cfg_error("phases = boot, pressure:101\n", "phase pressure");
	expect_cfg_error("phases = boot, balloon:d:-1\n", "phase balloon");
	expect_cfg_error("phases = boot\n[d]\nmemory = 1\n[d]\nmemory = 1\n", "defined twice");

	expect_json_error(JSON_DOM(", \"vcpus\": 4096"),
	                  "vcpus = 4096 is out of range (want 1..256)");
	expect_json_error(JSON_DOM(", \"vcpus\": -1"), "vcpus");
	expect_json_error(JSON_DOM(", \"vcpus\": 4294967297"), "vcpus");
	expect_json_error(JSON_DOM(", \"vcpus\": \"2\""), "vcpus");
	expect_json_error(JSON_DOM(", \"node\": 70000"), "node");
	expect_json_error(JSON_DOM(", \"cpus\": [0, -2]"), "cpus entry 1");
	expect_json_error(JSON_DOM(", \"placement\": \"vnuma\", \"vnodes\": ["
	                           "{\"memory_mb\": 64, \"node\": 0, \"vcpus\": -1}]"),
	                  "vnode 0: vcpus");
	expect_json_error("{\"seed\": -1, \"phases\": [{\"kind\": \"boot\"}]}", "seed");
	expect_json_error("{\"phases\": [{\"kind\": \"churn\", \"ops\": -1}]}", "ops");
	expect_json_error("{\"phases\": [{\"kind\": \"pressure\", \"percent\": 4294967396}]}",
	                  "percent");
	expect_json_error(
	    "{\"phases\": [{\"kind\": \"churn\", \"orders\": [1,1,1,1,1,1,1,1,1,1,1,1]}]}",
	    "orders has 12 entries");
	/* in range at the edges: accepted */
	struct sim_scenario sc;
	char err[256];
	assert_int_equal(
	    sim_scenario_from_xlcfg(&sc, CFG_DOM("vcpus = 256\ncpus = 0-255\n"), err, sizeof(err)),
	    0);
	assert_int_equal(sc.domain[0].vcpus, 256);
	assert_int_equal(sc.domain[0].pin[255], 255);
	assert_int_equal(
	    sim_scenario_from_json(&sc, JSON_DOM(", \"vcpus\": 256"), err, sizeof(err)), 0);
	assert_int_equal(sc.domain[0].vcpus, 256);
}

static void test_scenario_validate_shared(void **state)
{
	(void)state;
	static struct sim_scenario sc;
	static struct sim_result r;
	char err[256];
	sim_default_scenario(&sc);
	assert_int_equal(sim_scenario_validate(&sc, err, sizeof(err)), 0);
	/* A scenario built in code with a vcpu count past pin[]: sim_run refuses
	 * it before booting (it used to copy pin[0..4095] off a 256-entry array). */
	sc.domain[1].vcpus = 4096;
	assert_int_equal(sim_run(&sc, NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "domain 'web': vcpus = 4096"));
	sim_default_scenario(&sc);
	sc.domain[3].nr_vnodes = NUMEM_MAX_VNODES + 1;
	assert_int_equal(sim_scenario_validate(&sc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "vnodes"));
	sim_default_scenario(&sc);
	sc.nr_domains = SIM_MAX_DOMAINS + 1;
	assert_int_equal(sim_scenario_validate(&sc, err, sizeof(err)), -1);
	sim_default_scenario(&sc);
	sc.phase[2].percent = 101;
	assert_int_equal(sim_scenario_validate(&sc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "phase 3: percent"));
	/* Both parsers reach the same check: duplicate names in either form. */
	assert_int_equal(sim_scenario_from_json(&sc,
	                                        "{\"phases\": [{\"kind\": \"boot\"}], \"domains\": "
	                                        "[{\"name\": \"x\", \"memory_mb\": 1},"
	                                        " {\"name\": \"x\", \"memory_mb\": 1}]}",
	                                        err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "domain 'x' defined twice"));
}

/* The QEMU -numa parser behind every --numa: a CPU id at or past the
 * cpumask's 4096 bits is rejected, naming the id and the limit, and the
 * spec is unchanged (only the number of ids used to be capped). */
static void test_numa_spec_cpu_id_limit(void **state)
{
	(void)state;
	static struct numem_spec spec, before;
	char err[256];
	memset(&spec, 0, sizeof(spec));
	assert_int_equal(
	    numem_spec_add_numa_arg(&spec, "node,nodeid=0,cpus=0-1,mem=1G", err, sizeof(err)), 0);
	before = spec;
	const char *bad[] = {"node,nodeid=1,cpus=4096,mem=1G",
	                     "node,nodeid=1,cpus=4000-4100",
	                     "node,nodeid=1,cpus=2,cpus=4294967295",
	                     "node,nodeid=1,cpus=2,cpus=2",
	                     "node,nodeid=1,cpus=1",
	                     "node,nodeid=-1",
	                     "node,nodeid=1x",
	                     "dist,src=0,dst=65535,val=20",
	                     "dist,src=0,dst=+1,val=20"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(numem_spec_add_numa_arg(&spec, bad[i], err, sizeof(err)), -1);
		assert_true(strlen(err) > 10);
		assert_memory_equal(&spec, &before, sizeof(spec));
	}
	assert_int_equal(numem_spec_add_numa_arg(&spec, bad[0], err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cpu id 4096 is at or above the limit 4096"));
	assert_int_equal(
	    numem_spec_add_numa_arg(&spec, "node,nodeid=1,cpus=4095", err, sizeof(err)), 0);
	assert_int_equal(spec.node[1].cpumask[63] >> 63, 1);
	/* The nodes' memory is summed before it is laid out: two nodes of 2^63
	 * bytes used to wrap to 0 ("no node has mem="), and 2 x 16383 PiB laid
	 * RAM out past 2^64 until the OOM killer stopped it. */
	memset(&spec, 0, sizeof(spec));
	assert_int_equal(numem_spec_add_numa_arg(&spec, "node,mem=16383P", err, sizeof(err)), 0);
	assert_int_equal(numem_spec_add_numa_arg(&spec, "node,mem=16383P", err, sizeof(err)), 0);
	assert_int_equal(numem_spec_finish(&spec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "add up to more than 4096 TiB"));
	memset(&spec, 0, sizeof(spec));
	assert_int_equal(numem_spec_add_numa_arg(&spec, "node,mem=2048T", err, sizeof(err)), 0);
	assert_int_equal(numem_spec_add_numa_arg(&spec, "node,mem=2048T", err, sizeof(err)), 0);
	assert_int_equal(numem_spec_finish(&spec, err, sizeof(err)), 0);
}

/*
 * Issue 9 item 9: what a ring overwrites is counted in the file (a "lost"
 * record per CPU and drain) and in the summary; the summary splits each
 * node's allocations into hit, miss and foreign (per allocation).  A ring
 * of 16 records and 100 order-0 allocations on one CPU: 84 or more lost,
 * and the decoded counts plus the lost ones account for every event.
 */
static void test_tracer_counts_losses(void **state)
{
	(void)state;
	struct numem_system sys;
	struct numem_system_opts so = {0};
	so.heap.trace_entries = 16;
	struct numem_diag d = {0};
	assert_int_equal(numem_system_boot_preset(&sys, "opteron-2n", &so, &d), NUMEM_OK);
	char path[] = "/tmp/numem-tracer-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w+b");
	struct sim_tracer t;
	assert_int_equal(sim_tracer_open(&t, f, &sys.heap, sys.m.topo->nr_nodes, "stress"), 0);
	struct numem_cpu *cpu = numem_heap_cpu(&sys.heap, 0);
	numem_pfn_t pfn[100];
	for (int i = 0; i < 100; i++)
		assert_int_equal(numem_alloc(cpu, 0, 0, NULL, &pfn[i], NULL), NUMEM_OK);
	sim_tracer_drain(&t);
	for (int i = 0; i < 100; i++)
		assert_int_equal(numem_free(cpu, pfn[i], 0, NULL), NUMEM_OK);
	sim_tracer_close(&t);
	assert_true(t.lost >= 84);
	assert_int_equal(t.events + t.lost >= 200, true);
	rewind(f);
	char out[8192] = "", err[256];
	FILE *o = fmemopen(out, sizeof(out) - 1, "w");
	assert_int_equal(sim_trace_decode(f, o, true, err, sizeof(err)), 0);
	fclose(o);
	char want[64];
	snprintf(want, sizeof(want), "lost: %llu records", (unsigned long long)t.lost);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, ", run stress\n"));
	assert_non_null(strstr(out, "\nnuma_hit "));
	fclose(f);
	unlink(path);
	numem_system_shutdown(&sys);
}

/* Issue 9 item 12: the scenario key "cpuset" in both syntaxes. */
static void test_scenario_cpuset(void **state)
{
	(void)state;
	static struct sim_scenario sc;
	char err[256] = "";
	assert_int_equal(sim_scenario_from_json(&sc,
	                                        "{\"cpuset\": \"0,2-3\", \"phases\": [{\"kind\": "
	                                        "\"boot\"}], \"domains\": [{\"name\": \"a\", "
	                                        "\"memory_mb\": 64, \"vcpus\": 1}]}",
	                                        err, sizeof(err)),
	                 0);
	assert_true(numem_nodemask_test(&sc.cpuset, 0));
	assert_false(numem_nodemask_test(&sc.cpuset, 1));
	assert_true(numem_nodemask_test(&sc.cpuset, 3));
	assert_false(sc.builtin);
	assert_string_equal(sc.name, ""); /* unnamed: numem sim names it after the file */
	assert_int_equal(sim_scenario_from_xlcfg(&sc,
	                                         "cpuset = 64\nphases = boot\n[a]\nmemory = 64\n",
	                                         err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "cpuset '64' is not a node list"));
}

/* ---- the relayout phase ---------------------------------------------------- */

static const char relayout_json[] =
    "{\"name\": \"rl\", \"machine\": \"opteron-2n\", \"seed\": 3, \"sample_every\": 1000,"
    " \"domains\": ["
    "  {\"name\": \"a\", \"memory_mb\": 512, \"vcpus\": 1, \"placement\": \"node\", \"node\": 1},"
    "  {\"name\": \"b\", \"memory_mb\": 256, \"vcpus\": 1, \"placement\": \"node\", \"node\": 0}],"
    " \"phases\": [{\"kind\": \"boot\"}, {\"kind\": \"churn\", \"ops\": 5000},"
    "   {\"kind\": \"relayout\", \"domain\": \"a\", \"mode\": \"stripe\", \"nodes\": [0, 1],"
    "    \"block\": 256},"
    "   {\"kind\": \"churn\", \"ops\": 5000},"
    "   {\"kind\": \"relayout\", \"domain\": \"b\", \"mode\": \"push\", \"node\": 1,"
    "    \"migrate\": true},"
    "   {\"kind\": \"churn\", \"ops\": 2000}]}";

static const char relayout_cfg[] =
    "machine = opteron-2n\nseed = 3\nsample_every = 1000\nname = rl\n"
    "phases = boot, churn:5000, relayout:a:stripe=0/1@256, churn:5000, "
    "relayout:b:push=1+migrate, churn:2000\n"
    "[a]\nmemory = 512\nvcpus = 1\nplacement = node\nnode = 1\n"
    "[b]\nmemory = 256\nvcpus = 1\nplacement = node\nnode = 0\n";

static struct sim_result rl1, rl2;

/* Both parsers, determinism, and the phase's figures against the heap's:
 * RAM per node sums to the machine's, the guest keeps its pages (counted
 * on their new nodes: half each after a two-node stripe), pending right
 * after the commit is what the next sample reads, migration leaves the
 * pushed guest whole on its new node, and the verifiers pass at the end. */
static void test_relayout_phase(void **state)
{
	(void)state;
	static struct sim_scenario a, b;
	char err[256];
	if (sim_scenario_from_json(&a, relayout_json, err, sizeof(err)) ||
	    sim_scenario_from_xlcfg(&b, relayout_cfg, err, sizeof(err)))
		fail_msg("parse: %s", err);
	for (uint32_t i = 0; i < a.nr_phases; i++) {
		assert_int_equal(a.phase[i].kind, b.phase[i].kind);
		assert_int_equal(a.phase[i].stripe, b.phase[i].stripe);
		assert_int_equal(a.phase[i].migrate, b.phase[i].migrate);
		assert_int_equal(a.phase[i].nr_nodes, b.phase[i].nr_nodes);
		assert_memory_equal(a.phase[i].nodes, b.phase[i].nodes, sizeof(a.phase[i].nodes));
		if (a.phase[i].stripe)
			assert_int_equal(a.phase[i].block_pages, b.phase[i].block_pages);
	}
	assert_int_equal(a.phase[2].kind, SIM_RELAYOUT);
	assert_true(a.phase[4].migrate && !a.phase[4].stripe && a.phase[4].nodes[0] == 1);
	struct sim_opts o = {0};
	if (sim_run(&a, &o, &rl1, err, sizeof(err)) || sim_run(&b, &o, &rl2, err, sizeof(err)))
		fail_msg("sim: %s", err);
	char *j1 = sim_report_json(&rl1), *j2 = sim_report_json(&rl2);
	assert_string_equal(j1, j2); /* one seed, one result, from either parser */
	assert_non_null(strstr(j1, "\"relayouts\""));
	assert_non_null(strstr(j1, "\"pending_pages\""));
	free(j1);
	free(j2);
	uint64_t ram = 0;
	for (uint32_t n = 0; n < rl1.nr_nodes; n++)
		ram += rl1.node_pages[n];
	for (int s = 0; s < 2; s++) {
		const struct sim_run *r = &rl1.run[s];
		assert_string_equal(r->error, "");
		assert_int_equal(r->nr_relayouts, 2);
		const struct sim_relayout *x = &r->relayout[0];
		assert_true(x->stripe && x->pages_changed > 0 && x->pages_pending > 0);
		uint64_t after = 0, dom0 = 0, dom1 = 0, ram_after = 0;
		for (uint32_t n = 0; n < rl1.nr_nodes; n++) {
			dom0 += x->dom_before[n];
			after += x->dom_after[n];
			ram_after += x->ram_after[n];
		}
		assert_int_equal(dom0, after);
		assert_int_equal(ram_after, ram);
		assert_int_equal(x->dom_before[0], 0);
		dom1 = x->dom_after[1];
		assert_true(x->dom_after[0] + 512 > dom1 && dom1 + 512 > x->dom_after[0]);
		/* The sample right after the commit reads its pending count. */
		bool seen = false;
		for (uint32_t i = 0; i < r->nr_samples; i++)
			if (r->sample[i].op == x->op + 1) {
				assert_int_equal(r->sample[i].pending_pages, x->pages_pending);
				seen = true;
			}
		assert_true(seen);
		/* The push with migration: b is whole on node 1, nothing of it
		 * pending. */
		const struct sim_relayout *y = &r->relayout[1];
		assert_true(!y->stripe && y->migrate && y->migrated > 0);
		assert_int_equal(y->dom_after[0], 0);
		assert_int_equal(y->dom_after[1], y->dom_before[0] + y->dom_before[1]);
	}
	/* Bad input: parsers and the engine name it. */
	expect_json_error("{\"phases\": [{\"kind\": \"relayout\", \"domain\": \"d\", \"mode\": "
	                  "\"slide\", \"nodes\": [0]}]}",
	                  "slide");
	expect_json_error("{\"phases\": [{\"kind\": \"relayout\", \"domain\": \"d\", \"mode\": "
	                  "\"stripe\", \"nodes\": [0, 64]}]}",
	                  "nodes entry 1");
	expect_json_error("{\"phases\": [{\"kind\": \"relayout\", \"domain\": \"d\", \"mode\": "
	                  "\"push\", \"nodes\": [0, 1]}]}",
	                  "push nodes");
	expect_json_error("{\"phases\": [{\"kind\": \"relayout\", \"domain\": \"d\", \"mode\": "
	                  "\"stripe\", \"nodes\": [0, 1], \"block\": 0}]}",
	                  "block");
	expect_json_error("{\"phases\": [{\"kind\": \"relayout\", \"domain\": \"d\", \"mode\": "
	                  "\"push\", \"node\": 1, \"migrate\": 1}]}",
	                  "migrate");
	expect_json_error(
	    "{\"phases\": [{\"kind\": \"relayout\", \"mode\": \"push\", \"node\": 1}]}",
	    "needs a domain");
	expect_cfg_error("phases = relayout:a\n", "a domain and a mode");
	expect_cfg_error("phases = relayout:a:stripe\n", "expected stripe=NODES");
	expect_cfg_error("phases = relayout:a:wiggle=1\n", "wiggle");
	expect_cfg_error("phases = relayout:a:push=1+fast\n", "+fast");
	expect_cfg_error("phases = relayout:a:stripe=0/1@0\n", "relayout block");
	expect_cfg_error("phases = relayout:a:stripe=0/1/2/3/4/5/6/7/0\n", "more than 8");
	static struct sim_scenario c;
	c = a;
	c.phase[4].nodes[0] = 5; /* the opteron-2n has nodes 0 and 1 */
	assert_int_equal(sim_run(&c, &o, &rl2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "node 5 is not a node"));
	c = a;
	snprintf(c.phase[2].domain, sizeof(c.phase[2].domain), "nobody");
	assert_int_equal(sim_run(&c, &o, &rl2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no live domain 'nobody'"));
}

/* Three tmem guests on the opteron-2n, the machine filled in between:
 * no churn, so the guests' page traffic does not depend on tmem (the
 * baseline run sees the same accesses). */
static const char tmem_json[] =
    "{\"name\": \"tm\", \"machine\": \"opteron-2n\", \"seed\": 5, \"sample_every\": 1000,"
    " \"tmem_compress\": \"lz4\", \"domains\": ["
    "  {\"name\": \"files\", \"memory_mb\": 32, \"placement\": \"node\", \"node\": 0,"
    "   \"tmem\": \"cleancache\", \"working_set_mb\": 48},"
    "  {\"name\": \"swap\", \"memory_mb\": 32, \"placement\": \"node\", \"node\": 1,"
    "   \"tmem\": \"frontswap\", \"working_set_mb\": 48},"
    "  {\"name\": \"both\", \"memory_mb\": 24, \"vcpus\": 2, \"tmem\": \"mixed\"},"
    "  {\"name\": \"plain\", \"memory_mb\": 64}],"
    " \"phases\": [{\"kind\": \"boot\"}, {\"kind\": \"tmem\", \"ops\": 80000},"
    "   {\"kind\": \"pressure\", \"percent\": 100}, {\"kind\": \"tmem\", \"ops\": 30000},"
    "   {\"kind\": \"destroy\", \"domain\": \"hog\"}, {\"kind\": \"tmem\", \"ops\": 30000}]}";

static const char tmem_cfg[] = "machine = opteron-2n\nseed = 5\nsample_every = 1000\n"
                               "tmem_compress = lz4\nname = tm\n"
                               "phases = boot, tmem:80000, pressure:100, tmem:30000, "
                               "destroy:hog, tmem:30000\n"
                               "[files]\nmemory = 32\nplacement = node\nnode = 0\n"
                               "tmem = cleancache\nworking_set = 48\n"
                               "[swap]\nmemory = 32\nplacement = node\nnode = 1\n"
                               "tmem = frontswap\nworking_set = 48\n"
                               "[both]\nmemory = 24\nvcpus = 2\ntmem = mixed\n"
                               "[plain]\nmemory = 64\n";

static void test_tmem_scenario_keys(void **state)
{
	(void)state;
	struct sim_scenario a, b;
	char err[256];
	assert_int_equal(sim_scenario_from_json(&a, tmem_json, err, sizeof(err)), 0);
	assert_int_equal(sim_scenario_from_xlcfg(&b, tmem_cfg, err, sizeof(err)), 0);
	assert_int_equal(a.tmem_codec, NUMEM_TMEM_CODEC_LZ4);
	assert_int_equal(b.tmem_codec, NUMEM_TMEM_CODEC_LZ4);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(a.domain[i].tmem, b.domain[i].tmem);
		assert_int_equal(a.domain[i].working_set_mb, b.domain[i].working_set_mb);
	}
	assert_int_equal(a.domain[0].tmem, SIM_TMEM_CLEANCACHE);
	assert_int_equal(a.domain[1].tmem, SIM_TMEM_FRONTSWAP);
	assert_int_equal(a.domain[2].tmem, SIM_TMEM_MIXED);
	assert_int_equal(a.domain[3].tmem, SIM_TMEM_NONE);
	assert_int_equal(a.domain[2].working_set_mb, 0); /* 1.5 x memory */
	for (uint32_t i = 0; i < a.nr_phases; i++) {
		assert_int_equal(a.phase[i].kind, b.phase[i].kind);
		assert_int_equal(a.phase[i].ops, b.phase[i].ops);
	}
	assert_int_equal(a.phase[1].kind, SIM_TMEM);
	/* Bad values name the key and what is allowed; *sc stays as it was. */
	static const struct {
		const char *json, *want;
	} bad[] = {
	    {"{\"domains\": [{\"name\": \"d\", \"memory_mb\": 8, \"tmem\": \"zswap\"}], "
	     "\"phases\": [{\"kind\": \"boot\"}]}",
	     "tmem 'zswap' unknown"},
	    {"{\"domains\": [{\"name\": \"d\", \"memory_mb\": 8, \"tmem\": \"mixed\", "
	     "\"working_set_mb\": 65537}], \"phases\": [{\"kind\": \"boot\"}]}",
	     "working_set_mb = 65537 is out of range (want 0..65536)"},
	    {"{\"domains\": [{\"name\": \"d\", \"memory_mb\": 65537, \"tmem\": \"mixed\"}], "
	     "\"phases\": [{\"kind\": \"boot\"}]}",
	     "memory_mb (with a tmem frontend) = 65537"},
	    {"{\"domains\": [{\"name\": \"d\", \"memory_mb\": 8}], "
	     "\"phases\": [{\"kind\": \"boot\"}, {\"kind\": \"tmem\", \"ops\": 5}]}",
	     "phase 2: a tmem phase needs a domain with a tmem frontend"},
	    {"{\"tmem_compress\": \"gzip\", \"phases\": [{\"kind\": \"boot\"}]}",
	     "tmem_compress 'gzip' unknown"},
	    {"{\"domains\": [{\"name\": \"d\", \"memory_mb\": 8, \"tmem\": 3}], "
	     "\"phases\": [{\"kind\": \"boot\"}]}",
	     "tmem must be a string"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sim_scenario keep = a;
		assert_int_equal(sim_scenario_from_json(&a, bad[i].json, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].want))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].want);
		assert_memory_equal(&keep, &a, sizeof(a));
	}
	assert_int_equal(sim_scenario_from_xlcfg(&b, "phases = boot\n[d]\nmemory = 8\ntmem = x\n",
	                                         err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "line 4: tmem 'x' unknown"));
	assert_int_equal(
	    sim_scenario_from_xlcfg(&b, "phases = boot\n[d]\nmemory = 8\nworking_set = -1\n", err,
	                            sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "working_set"));
	/* A scenario built in code gets the same checks (sim_run validates). */
	sim_default_scenario(&a);
	a.domain[4].tmem = (enum sim_tmem_frontend)7;
	struct sim_opts o = {0};
	assert_int_equal(sim_run(&a, &o, &res2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "domain 'files': tmem = 7"));
}

static void test_tmem_run(void **state)
{
	(void)state;
	struct sim_scenario sc;
	char err[256];
	struct sim_opts o = {0};
	char *j1 = run_twice(tmem_json, &sc); /* tmem included: one seed, one result */
	assert_non_null(strstr(j1, "\"sampled_pools\""));
	assert_non_null(strstr(j1, "\"compression_ratio\""));
	free(j1);
	/* The same workload with no tmem: the baseline. */
	struct sim_scenario base = sc;
	base.tmem_baseline = true;
	if (sim_run(&base, &o, &res2, err, sizeof(err)))
		fail_msg("baseline: %s", err);
	for (int s = 0; s < 2; s++) {
		const struct sim_run *r = &res1.run[s];
		const struct sim_tmem_result *t = &r->tmem;
		if (r->error[0])
			fail_msg("%s run: %s", r->strategy, r->error);
		assert_true(t->enabled);
		assert_false(t->baseline);
		assert_string_equal(t->codec, "lz4");
		assert_int_equal(t->nr_guests, 3);
		assert_string_equal(t->verify, "");
		/* The frontends' counts against tmem's own statistics. */
		uint64_t puts = 0, gets = 0, hits = 0;
		for (uint32_t k = 0; k < t->nr_guests; k++) {
			const struct sim_tmem_guest *g = &t->guest[k];
			assert_int_equal(g->wrong, 0);
			assert_int_equal(g->errors, 0);
			assert_int_equal(g->accesses, g->resident + g->faults + g->first_touch);
			assert_int_equal(g->faults, g->tmem_hits + g->disk_reads);
			assert_true(g->tmem_hits > 0);
			assert_true(g->puts > g->puts_refused);
			puts += g->puts;
			gets += g->gets;
			hits += g->tmem_hits;
			/* Without tmem the guest saw the same pages fault, and every
			 * fault was a disk read: tmem's hits are the reads avoided. */
			const struct sim_tmem_guest *b = &res2.run[s].tmem.guest[k];
			assert_int_equal(b->accesses, g->accesses);
			assert_int_equal(b->faults, g->faults);
			assert_int_equal(b->disk_reads, g->faults);
			assert_int_equal(b->tmem_hits, 0);
		}
		assert_int_equal(puts, t->info.stats.puts);
		assert_int_equal(gets, t->info.stats.gets);
		assert_int_equal(hits, t->info.stats.hits);
		assert_int_equal(t->info.stats.gets, t->info.stats.hits + t->info.stats.misses);
		/* Pressure (phase 3) filled the machine: the heap's shrinker made
		 * tmem give back ephemeral pages; persistent ones stayed. */
		assert_true(t->phase_evictions[2] > 0);
		assert_true(t->phase_shrinker_freed[2] > 0);
		assert_true(t->info.shrinker_calls > 0);
		assert_true(t->info.stats.pages_persistent > 0);
		assert_int_equal(t->phase_evictions[1], 0); /* nothing asked before */
		/* Compression: text and zero pages make it pay. */
		assert_true(t->info.stats.compressed_pages > 0);
		assert_true(t->info.stats.zero_pages > 0);
		assert_true(t->info.stats.bytes_used < t->info.stats.bytes_stored);
		/* Memory per node: the listing's and the last phase's figures are
		 * tmem's own. */
		uint64_t on_nodes = 0;
		for (uint32_t n = 0; n < res1.nr_nodes; n++) {
			on_nodes += t->info.pages_on_node[n];
			assert_int_equal(t->phase_pages_on_node[5][n], t->info.pages_on_node[n]);
		}
		assert_int_equal(on_nodes, t->info.heap_pages);
		assert_true(t->info.pages_on_node[0] > 0 && t->info.pages_on_node[1] > 0);
		/* The last sample's pools equal the control plane's listing. */
		const struct sim_sample *last = &r->sample[r->nr_samples - 1];
		assert_int_equal(last->tmem_heap_pages, t->info.heap_pages);
		uint32_t matched = 0;
		for (uint32_t k = 0; k < t->nr_guests; k++)
			for (uint32_t kind = 0; kind < 2; kind++) {
				if (t->guest[k].pool[kind] == ~0u)
					continue;
				uint32_t slot = (uint32_t)t->guest_dom[k] * 2 + kind;
				for (uint32_t i = 0; i < t->nr_pools; i++)
					if (t->pool[i].client == r->dom[t->guest_dom[k]].id &&
					    t->pool[i].pool_id == t->guest[k].pool[kind]) {
						assert_int_equal(last->tmem_pages[slot],
						                 t->pool[i].stats.pages);
						assert_int_equal(last->tmem_hits[slot],
						                 t->pool[i].stats.hits);
						assert_true(!!(t->pool[i].flags &
						               NUMEM_TMEM_POOL_PERSISTENT) == kind);
						matched++;
					}
			}
		assert_int_equal(matched, 4);       /* files, swap, both x 2 */
		assert_int_equal(t->nr_clients, 4); /* the host (the control plane) and 3 guests */
		assert_int_equal(t->client[0].client, NUMEM_TMEM_HOST);
		/* The baseline had no tmem and wrote what tmem held to disk. */
		assert_true(res2.run[s].tmem.baseline);
		assert_int_equal(res2.run[s].tmem.info.stats.puts, 0);
		assert_string_equal(res2.run[s].error, "");
	}
	/* The text report shows it. */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	sim_report_text(f, &res1);
	fclose(f);
	assert_non_null(strstr(buf, "tmem (transcendent memory; compression lz4)"));
	assert_non_null(strstr(buf, "bytes stored per byte held"));
	assert_non_null(strstr(buf, "pressure"));
	free(buf);
	/* The pictures: two more figures, valid XML. */
	char dir[] = "/tmp/numem-simtm-XXXXXX", cmd[512];
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sim_report_html(&res1, dir, err, sizeof(err)), 0);
	if (run_cmd("command -v xmllint >/dev/null 2>&1", NULL) == 0) {
		snprintf(cmd, sizeof(cmd), "cd %s && xmllint --noout tmem.svg tmemhit.svg 2>&1",
		         dir);
		assert_int_equal(run_cmd(cmd, NULL), 0);
	}
	snprintf(cmd, sizeof(cmd), "grep -q 'Transcendent memory' %s/index.html && rm -rf %s", dir,
	         dir);
	assert_int_equal(run_cmd(cmd, NULL), 0);
}

/*
 * The built-in scenario (numem sim, the README's main job) runs both
 * features of issues 10 and 11 in one run: the tmem guests and the
 * relayout phase; both strategies verified, tmem's per-node figures add up
 * after the commit, and the report carries both.  Operations scaled down.
 */
static void test_builtin_runs_relayout_and_tmem(void **state)
{
	(void)state;
	static struct sim_scenario sc;
	sim_default_scenario(&sc);
	bool relayout = false, tmem = false;
	for (uint32_t i = 0; i < sc.nr_phases; i++) {
		relayout |= sc.phase[i].kind == SIM_RELAYOUT;
		tmem |= sc.phase[i].kind == SIM_TMEM;
		sc.phase[i].ops /= 10;
	}
	assert_true(relayout && tmem);
	char err[256];
	struct sim_opts o = {0};
	if (sim_run(&sc, &o, &res1, err, sizeof(err)))
		fail_msg("sim: %s", err);
	for (int s = 0; s < 2; s++) {
		const struct sim_run *r = &res1.run[s];
		if (r->error[0])
			fail_msg("%s run: %s", r->strategy, r->error);
		assert_int_equal(r->nr_relayouts, 1);
		assert_true(r->relayout[0].pages_changed > 0);
		assert_true(r->tmem.enabled && !r->tmem.baseline);
		assert_string_equal(r->tmem.verify, "");
		uint64_t on_nodes = 0;
		for (uint32_t n = 0; n < res1.nr_nodes; n++)
			on_nodes += r->tmem.info.pages_on_node[n];
		assert_int_equal(on_nodes, r->tmem.info.heap_pages);
	}
	char *j = sim_report_json(&res1);
	assert_non_null(strstr(j, "\"relayouts\""));
	assert_non_null(strstr(j, "\"sampled_pools\""));
	free(j);
	assert_string_equal(sim_phase_name(SIM_RELAYOUT), "relayout");
	assert_string_equal(sim_phase_name(SIM_TMEM), "tmem");
	assert_string_equal(sim_phase_name((enum sim_phase_kind)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scenarios_parse_alike),
	    cmocka_unit_test(test_scenario_numbers_checked),
	    cmocka_unit_test(test_scenario_validate_shared),
	    cmocka_unit_test(test_numa_spec_cpu_id_limit),
	    cmocka_unit_test(test_deterministic_and_consistent),
	    cmocka_unit_test(test_html_report_and_browser),
	    cmocka_unit_test(test_cli_trace),
	    cmocka_unit_test(test_tracer_counts_losses),
	    cmocka_unit_test(test_scenario_cpuset),
	    cmocka_unit_test(test_relayout_phase),
	    cmocka_unit_test(test_tmem_scenario_keys),
	    cmocka_unit_test(test_tmem_run),
	    cmocka_unit_test(test_builtin_runs_relayout_and_tmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
