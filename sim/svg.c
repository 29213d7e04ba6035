/*
 * svg.c - the simulator's pictures: a self-contained HTML page with inline
 * SVG figures (also written as separate .svg files):
 *   memmap.svg  each node's physical address span as a bar, coloured by
 *               owner (free, host, reserved, each domain), per strategy
 *   free.svg    free memory per node over the run (solid: linux, dashed: xen)
 *   local.svg   local allocations (% of pages) over the run, per strategy
 *   tmem.svg    (scenarios with tmem frontends) pages each tmem pool holds
 *               over the run (solid: linux, dashed: xen)
 *   tmemhit.svg hit rate of each pool's gets so far, over the run
 * and, with tmem, tables of the guests' page accesses, compression, the
 * evictions of each phase and the memory tmem holds per node.
 * Every name from a scenario is XML-escaped.
 */
#include <errno.h>
#include <numem/sim.h>
#include <string.h>
#include <sys/stat.h>

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#393b79",
                                      "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd",
                                      "#e6550d", "#31a354"};
static const char *const node_colour[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                          "#66a61e", "#e6ab02", "#a6761d", "#666666"};

void sim_svg_esc(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			fputc(*s, f);
		}
}

static const char *owner_colour(uint8_t cls)
{
	return cls == SIM_MAP_ELSEWHERE ? "#ffffff" /* another node's */
	       : cls == 0               ? "#e8e8e8"
	       : cls == 1               ? "#9e9e9e"
	       : cls == 2               ? "#303030"
	                                : palette[(cls - 3) % 17];
}

static void svg_memmap(FILE *f, const struct sim_result *res)
{
	const int w = 820, bar = 18, gap = 8, left = 110;
	int h = 40 + 2 * (int)res->nr_nodes * (bar + gap) + 40 + 24 * 2;
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "font-family=\"sans-serif\" font-size=\"12\">\n",
	        w, h);
	fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"14\">Physical memory by owner, per node "
	           "(left: lowest address)</text>\n");
	int y = 40;
	for (int s = 0; s < 2; s++) {
		const struct sim_run *r = &res->run[s];
		fprintf(f, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n", y + 12,
		        r->strategy);
		y += 20;
		for (uint32_t n = 0; n < res->nr_nodes; n++) {
			fprintf(f, "<text x=\"10\" y=\"%d\">node %u</text>\n", y + 13, n);
			double bw = (double)(w - left - 10) / SIM_MAP_BUCKETS;
			for (uint32_t b = 0; b < SIM_MAP_BUCKETS; b++)
				fprintf(f,
				        "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
				        "fill=\"%s\"/>\n",
				        left + b * bw, y, bw + 0.05, bar,
				        owner_colour(r->map[n][b]));
			y += bar + gap;
		}
	}
	/* legend */
	int x = 10;
	const char *fixed[3] = {"free", "host", "reserved"};
	for (int i = 0; i < 3; i++, x += 90) {
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, y,
		        owner_colour((uint8_t)i));
		fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text>\n", x + 16, y + 11, fixed[i]);
	}
	for (uint32_t i = 0; i < res->run[0].nr_domains; i++) {
		if (x > w - 100) {
			x = 10;
			y += 20;
		}
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, y,
		        owner_colour((uint8_t)(3 + i)));
		fprintf(f, "<text x=\"%d\" y=\"%d\">", x + 16, y + 11);
		sim_svg_esc(f, res->run[0].dom[i].name);
		fprintf(f, "</text>\n");
		x += 110;
	}
	fprintf(f, "</svg>\n");
}

void sim_layout_bar_fill(struct sim_layout_bar *b, const char *label, const struct numem_topo *t,
                         uint64_t end_pfn)
{
	snprintf(b->label, sizeof(b->label), "%s", label);
	for (uint32_t k = 0; k < SIM_MAP_BUCKETS; k++) {
		uint64_t lo = end_pfn * k / SIM_MAP_BUCKETS,
		         hi = end_pfn * (k + 1) / SIM_MAP_BUCKETS;
		uint32_t votes[NUMEM_MAX_NODES] = {0};
		numem_nid_t best = NUMEM_NID_NONE;
		for (uint32_t i = 0; i < 16 && hi > lo; i++) {
			numem_nid_t n =
			    numem_topo_pfn_to_node(t, numem_pfn(lo + (hi - lo) * (2 * i + 1) / 32));
			if (n < NUMEM_MAX_NODES &&
			    (++votes[n] > (best == NUMEM_NID_NONE ? 0 : votes[best])))
				best = n;
		}
		b->node[k] = best;
	}
}

/* The bars of sim_svg_layout from height y on (its title first); returns
 * the height below them. */
static int layout_rows(FILE *f, const char *title, const struct sim_layout_bar *bars, uint32_t nr,
                       uint64_t end_pfn, int y)
{
	const int w = 820, bar = 22, gap = 10, left = 110;
	fprintf(f, "<text x=\"10\" y=\"%d\" font-size=\"14\">", y);
	sim_svg_esc(f, title);
	fprintf(f, " (left: address 0, right: %llu MiB)</text>\n",
	        (unsigned long long)(end_pfn >> (20 - NUMEM_PAGE_SHIFT)));
	bool seen[NUMEM_MAX_NODES] = {0};
	y += 20;
	double bw = (double)(w - left - 10) / SIM_MAP_BUCKETS;
	for (uint32_t i = 0; i < nr; i++, y += bar + gap) {
		fprintf(f, "<text x=\"10\" y=\"%d\">", y + 15);
		sim_svg_esc(f, bars[i].label);
		fprintf(f, "</text>\n");
		for (uint32_t k = 0; k < SIM_MAP_BUCKETS; k++) {
			numem_nid_t n = bars[i].node[k];
			if (n < NUMEM_MAX_NODES)
				seen[n] = true;
			fprintf(f,
			        "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
			        "fill=\"%s\"/>\n",
			        left + k * bw, y, bw + 0.05, bar,
			        n < NUMEM_MAX_NODES ? node_colour[n % 8] : "#ffffff");
		}
	}
	int x = 10;
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++) {
		if (!seen[n])
			continue;
		if (x > w - 80) {
			x = 10;
			y += 18;
		}
		fprintf(f,
		        "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
		        "<text x=\"%d\" y=\"%d\">node %u</text>\n",
		        x, y, node_colour[n % 8], x + 16, y + 11, n);
		x += 80;
	}
	return y + 30;
}

void sim_svg_layout(FILE *f, const char *title, const struct sim_layout_bar *bars, uint32_t nr,
                    uint64_t end_pfn)
{
	int h = 40 + (int)nr * 32 + 18 * (NUMEM_MAX_NODES / 10) + 30;
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"820\" height=\"%d\" "
	        "font-family=\"sans-serif\" font-size=\"12\">\n",
	        h);
	layout_rows(f, title, bars, nr, end_pfn, 20);
	fprintf(f, "</svg>\n");
}

/* A line chart: series of (op, value) pairs. */
static void axes(FILE *f, int w, int h, const char *title, const char *ylabel, double ymax,
                 uint64_t xmax)
{
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "font-family=\"sans-serif\" font-size=\"12\">\n",
	        w, h);
	fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"14\">%s</text>\n", title);
	fprintf(f, "<line x1=\"60\" y1=\"40\" x2=\"60\" y2=\"%d\" stroke=\"black\"/>\n", h - 40);
	fprintf(f, "<line x1=\"60\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", h - 40,
	        w - 20, h - 40);
	for (int i = 0; i <= 4; i++) {
		int yy = h - 40 - (h - 80) * i / 4;
		fprintf(f, "<text x=\"55\" y=\"%d\" text-anchor=\"end\">%.0f</text>\n", yy + 4,
		        ymax * i / 4);
		fprintf(f, "<line x1=\"60\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>\n", yy,
		        w - 20, yy);
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">operations (%llu)</text>\n", w - 20,
	        h - 12, (unsigned long long)xmax);
	fprintf(f, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\">%s</text>\n", h / 2,
	        h / 2, ylabel);
}

static void polyline(FILE *f, int w, int h, const struct sim_run *r, double ymax, uint64_t xmax,
                     int node, const char *colour, bool dashed)
{
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"", colour,
	        dashed ? " stroke-dasharray=\"5,3\"" : "");
	for (uint32_t i = 0; i < r->nr_samples; i++) {
		const struct sim_sample *s = &r->sample[i];
		double v = node < 0 ? s->local_pct : (double)(s->free_pages[node] >> 8);
		double x = 60 + (double)(w - 80) * (double)s->op / (double)(xmax ? xmax : 1);
		double y = (h - 40) - (h - 80) * (ymax > 0 ? v / ymax : 0);
		fprintf(f, "%.1f,%.1f ", x, y);
	}
	fprintf(f, "\"/>\n");
}

static void svg_free(FILE *f, const struct sim_result *res)
{
	const int w = 820, h = 320;
	double ymax = 0;
	for (uint32_t n = 0; n < res->nr_nodes; n++)
		ymax = (double)(res->node_pages[n] >> 8) > ymax ? (double)(res->node_pages[n] >> 8)
		                                                : ymax;
	uint64_t xmax = res->run[0].ops > res->run[1].ops ? res->run[0].ops : res->run[1].ops;
	axes(f, w, h, "Free memory per node (solid: linux, dashed: xen)", "MiB", ymax, xmax);
	for (int s = 0; s < 2; s++)
		for (uint32_t n = 0; n < res->nr_nodes; n++)
			polyline(f, w, h, &res->run[s], ymax, xmax, (int)n, node_colour[n % 8],
			         s == 1);
	for (uint32_t n = 0; n < res->nr_nodes && n < 16; n++)
		fprintf(f, "<text x=\"%u\" y=\"34\" fill=\"%s\">node %u</text>\n", 70 + 70 * n,
		        node_colour[n % 8], n);
	for (uint32_t k = 0; k < res->run[0].nr_relayouts; k++) { /* the commits (linux run) */
		double x = 60 + (double)(w - 80) * (double)res->run[0].relayout[k].op /
		                    (double)(xmax ? xmax : 1);
		fprintf(f,
		        "<line x1=\"%.1f\" y1=\"40\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\" "
		        "stroke-dasharray=\"2,3\"/><text x=\"%.1f\" y=\"52\" "
		        "fill=\"#555\">relayout</text>\n",
		        x, x, h - 40, x + 3);
	}
	fprintf(f, "</svg>\n");
}

static void svg_local(FILE *f, const struct sim_result *res)
{
	const int w = 820, h = 260;
	uint64_t xmax = res->run[0].ops > res->run[1].ops ? res->run[0].ops : res->run[1].ops;
	axes(f, w, h, "Local allocations, % of pages so far", "%", 100, xmax);
	polyline(f, w, h, &res->run[0], 100, xmax, -1, "#1f77b4", false);
	polyline(f, w, h, &res->run[1], 100, xmax, -1, "#d62728", true);
	fprintf(f, "<text x=\"70\" y=\"34\" fill=\"#1f77b4\">linux %.2f%%</text>\n",
	        res->run[0].local_pct);
	fprintf(f, "<text x=\"200\" y=\"34\" fill=\"#d62728\">xen %.2f%%</text>\n",
	        res->run[1].local_pct);
	fprintf(f, "</svg>\n");
}

/* Relayout (the linux run's first record): the address space by node
 * before and after, then each node's span by owner before and after. */
static void svg_relayout(FILE *f, const struct sim_result *res)
{
	const struct sim_relayout *x = &res->run[0].relayout[0];
	struct sim_layout_bar bars[2];
	snprintf(bars[0].label, sizeof(bars[0].label), "before");
	snprintf(bars[1].label, sizeof(bars[1].label), "after");
	memcpy(bars[0].node, x->bar_before, sizeof(bars[0].node));
	memcpy(bars[1].node, x->bar_after, sizeof(bars[1].node));
	char title[96];
	snprintf(title, sizeof(title), "Relayout of %s: the address space by node", x->domain);
	const int w = 820, bar = 14, gap = 4, left = 150;
	int h = 150 + (int)res->nr_nodes * 2 * (bar + gap) + 30;
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	        "font-family=\"sans-serif\" font-size=\"12\">\n",
	        w, h);
	int y = layout_rows(f, title, bars, 2, x->bar_end, 20);
	fprintf(f,
	        "<text x=\"10\" y=\"%d\" font-size=\"14\">Each node's span by owner, before "
	        "and after (free, host, reserved, guests as in the first figure)</text>\n",
	        y);
	double bw = (double)(w - left - 10) / SIM_MAP_BUCKETS;
	y += 12;
	for (uint32_t n = 0; n < res->nr_nodes; n++)
		for (int a = 0; a < 2; a++, y += bar + gap) {
			const uint8_t *m = a ? x->map_after[n] : x->map_before[n];
			fprintf(f, "<text x=\"10\" y=\"%d\">node %u %s</text>\n", y + 11, n,
			        a ? "after" : "before");
			if (x->map_end[a][n] <= x->map_start[a][n])
				continue;
			for (uint32_t b = 0; b < SIM_MAP_BUCKETS; b++)
				fprintf(f,
				        "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
				        "fill=\"%s\"/>\n",
				        left + b * bw, y, bw + 0.05, bar, owner_colour(m[b]));
		}
	fprintf(f, "</svg>\n");
}

/* Pending relayout pages over the run (solid: linux, dashed: xen). */
static void svg_pending(FILE *f, const struct sim_result *res)
{
	const int w = 820, h = 260;
	uint64_t xmax = res->run[0].ops > res->run[1].ops ? res->run[0].ops : res->run[1].ops;
	double ymax = 1;
	for (int r = 0; r < 2; r++)
		for (uint32_t i = 0; i < res->run[r].nr_samples; i++)
			if ((double)(res->run[r].sample[i].pending_pages >> 8) > ymax)
				ymax = (double)(res->run[r].sample[i].pending_pages >> 8);
	axes(f, w, h, "Relayout: pages pending (allocated, moving when freed)", "MiB", ymax, xmax);
	for (int r = 0; r < 2; r++) {
		const struct sim_run *run = &res->run[r];
		fprintf(f,
		        "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s "
		        "points=\"",
		        r ? "#d62728" : "#1f77b4", r ? " stroke-dasharray=\"5,3\"" : "");
		for (uint32_t i = 0; i < run->nr_samples; i++) {
			const struct sim_sample *sm = &run->sample[i];
			double xx =
			    60 + (double)(w - 80) * (double)sm->op / (double)(xmax ? xmax : 1);
			double yy = (h - 40) - (h - 80) * (double)(sm->pending_pages >> 8) / ymax;
			fprintf(f, "%.1f,%.1f ", xx, yy);
		}
		fprintf(f, "\"/>\n");
	}
	fprintf(f, "</svg>\n");
}

static double tmem_value(const struct sim_sample *s, uint32_t slot, bool hit_rate)
{
	if (!hit_rate)
		return (double)s->tmem_pages[slot] / 256.0; /* MiB */
	return s->tmem_gets[slot] ? 100.0 * (double)s->tmem_hits[slot] / (double)s->tmem_gets[slot]
	                          : 0.0;
}

static void svg_tmem_chart(FILE *f, const struct sim_result *res, bool hit_rate)
{
	const int w = 820, h = 300;
	uint64_t xmax = res->run[0].ops > res->run[1].ops ? res->run[0].ops : res->run[1].ops;
	uint32_t slot[SIM_TMEM_POOLS], ns = sim_tmem_sampled_pools(&res->run[0].tmem, slot);
	double ymax = hit_rate ? 100 : 1;
	for (int r = 0; r < 2 && !hit_rate; r++)
		for (uint32_t i = 0; i < res->run[r].nr_samples; i++)
			for (uint32_t k = 0; k < ns; k++) {
				double v = tmem_value(&res->run[r].sample[i], slot[k], false);
				ymax = v > ymax ? v : ymax;
			}
	axes(f, w, h,
	     hit_rate ? "tmem hit rate of each pool's gets so far (solid: linux, dashed: xen)"
	              : "Memory each tmem pool holds (solid: linux, dashed: xen)",
	     hit_rate ? "%" : "MiB", ymax, xmax);
	for (int r = 0; r < 2; r++)
		for (uint32_t k = 0; k < ns; k++) {
			const struct sim_run *run = &res->run[r];
			fprintf(f,
			        "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s "
			        "points=\"",
			        palette[k % 17], r ? " stroke-dasharray=\"5,3\"" : "");
			for (uint32_t i = 0; i < run->nr_samples; i++) {
				const struct sim_sample *s = &run->sample[i];
				double x = 60 + (double)(w - 80) * (double)s->op /
				                    (double)(xmax ? xmax : 1);
				double y =
				    (h - 40) - (h - 80) * tmem_value(s, slot[k], hit_rate) / ymax;
				fprintf(f, "%.1f,%.1f ", x, y);
			}
			fprintf(f, "\"/>\n");
		}
	for (uint32_t k = 0; k < ns && k < 8; k++) {
		fprintf(f, "<text x=\"%u\" y=\"34\" fill=\"%s\">", 70 + 92 * k, palette[k % 17]);
		sim_svg_esc(f, res->sc.domain[slot[k] / 2].name);
		fprintf(f, " %s</text>\n", slot[k] % 2 ? "pers." : "eph.");
	}
	fprintf(f, "</svg>\n");
}

static void svg_tmem(FILE *f, const struct sim_result *res)
{
	svg_tmem_chart(f, res, false);
}

static void svg_tmem_hit(FILE *f, const struct sim_result *res)
{
	svg_tmem_chart(f, res, true);
}

/* The tables of the tmem section of index.html. */
static void html_tmem(FILE *f, const struct sim_result *res)
{
	for (int r = 0; r < 2; r++) {
		const struct sim_tmem_result *t = &res->run[r].tmem;
		fprintf(
		    f,
		    "<h3>%s: guests (compression %s)</h3>\n<table><tr><th>guest</th>"
		    "<th>frontend</th><th>accesses</th><th>faults</th><th>tmem hits (disk reads "
		    "avoided)</th><th>disk reads</th><th>hit rate</th><th>puts</th><th>refused</th>"
		    "</tr>\n",
		    res->run[r].strategy, t->codec);
		for (uint32_t k = 0; k < t->nr_guests; k++) {
			const struct sim_tmem_guest *g = &t->guest[k];
			fprintf(f, "<tr><td>");
			sim_svg_esc(f, g->name);
			fprintf(
			    f,
			    "</td><td>%s</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
			    "<td>%.2f%%</td><td>%llu</td><td>%llu</td></tr>\n",
			    sim_tmem_frontend_name(g->frontend), (unsigned long long)g->accesses,
			    (unsigned long long)g->faults, (unsigned long long)g->tmem_hits,
			    (unsigned long long)g->disk_reads,
			    g->faults ? 100.0 * (double)g->tmem_hits / (double)g->faults : 0.0,
			    (unsigned long long)g->puts, (unsigned long long)g->puts_refused);
		}
		const struct numem_tmem_info *in = &t->info;
		fprintf(
		    f,
		    "</table>\n<p>Now: %llu pages (%llu ephemeral, %llu persistent) in %llu heap "
		    "pages; compression %.2f bytes stored per byte held; %llu evictions, %llu "
		    "pages given to the heap by %llu shrinker calls.</p>\n",
		    (unsigned long long)in->stats.pages,
		    (unsigned long long)in->stats.pages_ephemeral,
		    (unsigned long long)in->stats.pages_persistent,
		    (unsigned long long)in->heap_pages,
		    in->stats.bytes_used
		        ? (double)in->stats.bytes_stored / (double)in->stats.bytes_used
		        : 0.0,
		    (unsigned long long)in->stats.evictions, (unsigned long long)in->shrinker_freed,
		    (unsigned long long)in->shrinker_calls);
		fprintf(f, "<table><tr><th>phase</th><th>evicted</th><th>shrinker freed</th>");
		for (uint32_t n = 0; n < res->nr_nodes; n++)
			fprintf(f, "<th>node %u MiB</th>", n);
		fprintf(f, "</tr>\n");
		for (uint32_t i = 0; i < res->sc.nr_phases && i < SIM_MAX_PHASES; i++) {
			fprintf(f, "<tr><td>%u %s</td><td>%llu</td><td>%llu</td>", i + 1,
			        sim_phase_name(res->sc.phase[i].kind),
			        (unsigned long long)t->phase_evictions[i],
			        (unsigned long long)t->phase_shrinker_freed[i]);
			for (uint32_t n = 0; n < res->nr_nodes; n++)
				fprintf(f, "<td>%.1f</td>",
				        (double)t->phase_pages_on_node[i][n] / 256.0);
			fprintf(f, "</tr>\n");
		}
		fprintf(f, "</table>\n");
	}
}

typedef void (*figure_fn)(FILE *, const struct sim_result *);

/* The figures, each written as its own file and inlined in index.html;
 * relayout's when a relayout phase ran, tmem's when the guests had tmem. */
enum figure_when { FIG_ALWAYS, FIG_RELAYOUT, FIG_TMEM };
static const struct figure {
	const char *file, *title;
	figure_fn fn;
	enum figure_when when;
} figures[] = {
    {"memmap.svg", "Address space", svg_memmap, FIG_ALWAYS},
    {"free.svg", "Free memory", svg_free, FIG_ALWAYS},
    {"local.svg", "Locality", svg_local, FIG_ALWAYS},
    {"relayout.svg", "Relayout", svg_relayout, FIG_RELAYOUT},
    {"pending.svg", "Pending pages", svg_pending, FIG_RELAYOUT},
    {"tmem.svg", "Transcendent memory (tmem)", svg_tmem, FIG_TMEM},
    {"tmemhit.svg", "tmem hit rate", svg_tmem_hit, FIG_TMEM},
};
#define NR_FIGURES (sizeof(figures) / sizeof(figures[0]))

static bool figure_shown(const struct sim_result *res, const struct figure *fig)
{
	switch (fig->when) {
	case FIG_RELAYOUT:
		return res->run[0].nr_relayouts != 0;
	case FIG_TMEM:
		return res->run[0].tmem.enabled && !res->run[0].tmem.baseline;
	default:
		return true;
	}
}

int sim_report_html(const struct sim_result *res, const char *dir, char *err, size_t errlen)
{
	int me = numem_mkdir_p(dir);
	if (me) {
		snprintf(err, errlen, "%s: %s", dir, strerror(me));
		return -1;
	}
	char path[4096];
	for (size_t i = 0; i < NR_FIGURES; i++) {
		if (!figure_shown(res, &figures[i]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, figures[i].file);
		FILE *f = fopen(path, "w");
		if (!f) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
		figures[i].fn(f, res);
		if (fclose(f) != 0) {
			snprintf(err, errlen, "%s: write failed", path);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s/index.html", dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	           "<title>numem sim: ");
	sim_svg_esc(f, res->sc.name);
	fprintf(f, "</title>\n<style>body{font-family:sans-serif;margin:20px;max-width:880px}"
	           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
	           "text-align:right}</style></head><body>\n<h1>numem sim: ");
	sim_svg_esc(f, res->sc.name);
	fprintf(f, "</h1>\n<p>Machine ");
	sim_svg_esc(f, res->machine_name);
	fprintf(f, ": %u nodes, %u CPUs; seed %llu.</p>\n", res->nr_nodes, res->nr_cpus,
	        (unsigned long long)res->sc.seed);
	fprintf(f, "<table><tr><th>strategy</th><th>operations</th><th>local allocations</th>"
	           "<th>checks</th></tr>\n");
	for (int s = 0; s < 2; s++) {
		fprintf(f, "<tr><td>%s</td><td>%llu</td><td>%.2f%%</td><td>", res->run[s].strategy,
		        (unsigned long long)res->run[s].ops, res->run[s].local_pct);
		sim_svg_esc(f, res->run[s].error[0] ? res->run[s].error : "verified");
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table>\n");
	for (size_t i = 0; i < NR_FIGURES; i++) {
		const struct figure *fig = &figures[i];
		if (!figure_shown(res, fig))
			continue;
		fprintf(f, "<h2>%s</h2>\n", fig->title);
		if (fig->fn == svg_relayout) {
			const struct sim_relayout *x = &res->run[0].relayout[0];
			fprintf(f,
			        "<p>At operation %llu (linux run): %llu pages changed node, %llu "
			        "free pages moved at once, %llu allocated pages pending.</p>\n",
			        (unsigned long long)x->op, (unsigned long long)x->pages_changed,
			        (unsigned long long)x->pages_moved,
			        (unsigned long long)x->pages_pending);
		}
		fig->fn(f, res);
		if (fig->fn == svg_tmem)
			html_tmem(f, res);
	}
	fprintf(f, "</body></html>\n");
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: write failed", path);
		return -1;
	}
	return 0;
}
