/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin's entry point: parse synfin's own options (after `--`) and the config file before
 * anything else, so a bad option or key exits 2 without starting EAL; then EAL, the workers and
 * ports, telemetry, the optional command line (in a control thread, so the main lcore can be the
 * only worker with -l 0), the run loop until a signal, `quit` or --idle-exit; and at exit the
 * final statistics, the flow list (--show-flows, as the command line's `show flows`),
 * --flows-json, and an orderly close.
 */

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "synfin.h"

static struct synfin *g_sf;

static void
usage(FILE *f, const char *prg)
{
	fprintf(f,
	        "Usage: %s [EAL options] -- [synfin options]\n"
	        "  --config FILE         INI configuration (example: config/synfin.conf)\n"
	        "  --mode monitor|inline monitor: count and free; inline: forward 0<->1, 2<->3\n"
	        "  --drop-invalid        inline: drop INVALID segments\n"
	        "  --clock tsc|packet    tracker clock: TSC or RX timestamps (pcap replay)\n"
	        "  --idle-exit MS        exit once no packet arrived for MS milliseconds\n"
	        "  --flows-json FILE     write the tracked flows as JSON at exit\n"
	        "  --show-flows          list the tracked flows at exit (as `show flows`)\n"
	        "  --stats-period S      print statistics every S seconds (0: off)\n"
	        "  --table-size N        flows per lcore\n"
	        "  --burst N             RX burst size (1..%u)\n"
	        "  --loose / --no-loose  pick up flows mid-stream (default on)\n"
	        "  --liberal             skip TCP window checks\n"
	        "  --timeout STATE=S     timeout of a conntrack state (repeatable)\n"
	        "  --rxq N               RX queues per port (symmetric RSS)\n"
	        "  --vlan-key            key flows by outer VLAN id too\n"
	        "  -i                    interactive command line\n"
	        "  --cmdline-file F      run the commands of F (then -i if given)\n"
	        "  --help                this text\n",
	        prg, SF_BURST_MAX);
}

enum {
	OPT_CONFIG = 256,
	OPT_MODE,
	OPT_DROP_INVALID,
	OPT_CLOCK,
	OPT_IDLE_EXIT,
	OPT_FLOWS_JSON,
	OPT_STATS_PERIOD,
	OPT_TABLE_SIZE,
	OPT_BURST,
	OPT_LOOSE,
	OPT_NO_LOOSE,
	OPT_LIBERAL,
	OPT_TIMEOUT,
	OPT_RXQ,
	OPT_CMDLINE_FILE,
	OPT_VLAN_KEY,
	OPT_SHOW_FLOWS,
	OPT_HELP,
};

static const struct option long_opts[] = {
        {"config", required_argument, NULL, OPT_CONFIG},
        {"mode", required_argument, NULL, OPT_MODE},
        {"drop-invalid", no_argument, NULL, OPT_DROP_INVALID},
        {"clock", required_argument, NULL, OPT_CLOCK},
        {"idle-exit", required_argument, NULL, OPT_IDLE_EXIT},
        {"flows-json", required_argument, NULL, OPT_FLOWS_JSON},
        {"stats-period", required_argument, NULL, OPT_STATS_PERIOD},
        {"table-size", required_argument, NULL, OPT_TABLE_SIZE},
        {"burst", required_argument, NULL, OPT_BURST},
        {"loose", no_argument, NULL, OPT_LOOSE},
        {"no-loose", no_argument, NULL, OPT_NO_LOOSE},
        {"liberal", no_argument, NULL, OPT_LIBERAL},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"rxq", required_argument, NULL, OPT_RXQ},
        {"cmdline-file", required_argument, NULL, OPT_CMDLINE_FILE},
        {"vlan-key", no_argument, NULL, OPT_VLAN_KEY},
        {"show-flows", no_argument, NULL, OPT_SHOW_FLOWS},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
};

static int
opt_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = (s != NULL && *s != '-') ? strtoull(s, &end, 0) : 0;
	if (s == NULL || *s == '-' || *s == '\0' || errno != 0 || *end != '\0' || v < min ||
	    v > max) {
		fprintf(stderr, "synfin: --%s: '%s' is not a number in %u..%u\n", opt,
		        s != NULL ? s : "", min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Apply one option (pass 2). @return 0, 1 for --help, -EINVAL. */
static int
apply_opt(struct sf_config *cfg, int c, const char *arg)
{
	uint32_t v;
	char buf[128];
	char *eq;

	switch (c) {
	case OPT_CONFIG:
		return 0;
	case OPT_MODE:
		if (strcmp(arg, "monitor") == 0)
			cfg->mode = SF_MODE_MONITOR;
		else if (strcmp(arg, "inline") == 0)
			cfg->mode = SF_MODE_INLINE;
		else
			goto bad_word;
		return 0;
	case OPT_DROP_INVALID:
		cfg->drop_invalid = true;
		return 0;
	case OPT_CLOCK:
		if (strcmp(arg, "tsc") == 0)
			cfg->clock = SF_CLOCK_TSC;
		else if (strcmp(arg, "packet") == 0)
			cfg->clock = SF_CLOCK_PACKET;
		else
			goto bad_word;
		return 0;
	case OPT_IDLE_EXIT:
		return opt_u32("idle-exit", arg, 1, UINT32_MAX, &cfg->idle_exit_ms);
	case OPT_FLOWS_JSON:
		cfg->flows_json = arg;
		return 0;
	case OPT_STATS_PERIOD:
		return opt_u32("stats-period", arg, 0, 86400, &cfg->stats_period);
	case OPT_TABLE_SIZE:
		return opt_u32("table-size", arg, 1, 1u << 29, &cfg->table_size);
	case OPT_BURST:
		if (opt_u32("burst", arg, 1, SF_BURST_MAX, &v) < 0)
			return -EINVAL;
		cfg->burst = (uint16_t)v;
		return 0;
	case OPT_LOOSE:
		cfg->tcp.loose = true;
		return 0;
	case OPT_NO_LOOSE:
		cfg->tcp.loose = false;
		return 0;
	case OPT_LIBERAL:
		cfg->tcp.liberal = true;
		return 0;
	case OPT_TIMEOUT:
		snprintf(buf, sizeof(buf), "%s", arg);
		eq = strchr(buf, '=');
		if (eq == NULL) {
			fprintf(stderr, "synfin: --timeout: '%s' is not STATE=SECONDS\n", arg);
			return -EINVAL;
		}
		*eq = '\0';
		return sf_config_timeout(cfg, "--timeout", buf, eq + 1);
	case OPT_RXQ:
		if (opt_u32("rxq", arg, 1, SF_MAX_RXQ_PER_LCORE, &v) < 0)
			return -EINVAL;
		cfg->rxq = (uint16_t)v;
		return 0;
	case OPT_CMDLINE_FILE:
		cfg->cmdline_file = arg;
		return 0;
	case OPT_VLAN_KEY:
		cfg->vlan_key = true;
		return 0;
	case OPT_SHOW_FLOWS:
		cfg->show_flows = true;
		return 0;
	case 'i':
		cfg->interactive = true;
		return 0;
	case OPT_HELP:
		return 1;
	default:
		return -EINVAL;
	}
bad_word:
	for (const struct option *o = long_opts; o->name != NULL; o++)
		if (o->val == c)
			fprintf(stderr, "synfin: --%s: '%s' is not one of: %s\n", o->name, arg,
			        c == OPT_MODE ? "monitor inline" : "tsc packet");
	return -EINVAL;
}

/* Parse synfin's options (argv[0] is the program name). @return 0, 1 (--help), -EINVAL. */
static int
parse_args(struct sf_config *cfg, int argc, char **argv)
{
	int c, ret;

	/* Pass 1: --config and --help only; errors are reported in pass 2. */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "i", long_opts, NULL)) != -1) {
		if (c == OPT_CONFIG)
			cfg->config_file = optarg;
		else if (c == OPT_HELP)
			return 1;
	}
	if (cfg->config_file != NULL && sf_config_load(cfg, cfg->config_file) < 0)
		return -EINVAL;
	/* Pass 2: the command line overrides the file. */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":i", long_opts, NULL)) != -1) {
		if (c == '?') {
			if (optopt != 0)
				fprintf(stderr, "synfin: unknown option '-%c' (see --help)\n",
				        optopt);
			else
				fprintf(stderr, "synfin: unknown option '%s' (see --help)\n",
				        argv[optind - 1]);
			return -EINVAL;
		}
		if (c == ':') {
			fprintf(stderr, "synfin: option '%s' needs a value\n", argv[optind - 1]);
			return -EINVAL;
		}
		ret = apply_opt(cfg, c, optarg);
		if (ret != 0)
			return ret;
	}
	if (optind < argc) {
		fprintf(stderr, "synfin: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (cfg->drop_invalid && cfg->mode != SF_MODE_INLINE)
		fprintf(stderr, "synfin: note: --drop-invalid only acts in inline mode\n");
	return 0;
}

static void
on_signal(int sig)
{
	(void)sig;
	if (g_sf != NULL) {
		g_sf->exit_code = 0;
		g_sf->quit = true;
	}
}

/* The command line's thread: the file, then interactive if -i; EOF/quit ends the app. */
static void *
cli_thread(void *arg)
{
	struct synfin *sf = arg;
	int ret = 0;

	if (sf->cfg.cmdline_file != NULL) {
		/* Let the datapath take what is already queued (a pcap) before the commands. */
		uint64_t t0 = rte_get_tsc_cycles();

		while (!sf->quit && !sf_idle_for(sf, 100) &&
		       rte_get_tsc_cycles() - t0 < 5 * rte_get_tsc_hz())
			rte_delay_us_sleep(1000);
		ret = sf_cmdline_run(sf, sf->cfg.cmdline_file);
		if (ret < 0) {
			fprintf(stderr, "synfin: --cmdline-file %s: %s\n", sf->cfg.cmdline_file,
			        strerror(-ret));
			sf->exit_code = 1;
			sf->quit = true;
		}
	}
	if (!sf->quit && sf->cfg.interactive) {
		sf_cmdline_run(sf, NULL);
		sf->quit = true;
	}
	__atomic_store_n(&sf->cli_busy, false, __ATOMIC_RELEASE);
	return NULL;
}

int
main(int argc, char **argv)
{
	static struct synfin sf;
	pthread_t cli;
	bool cli_started = false;
	int sep, ret;

	sf_config_defaults(&sf.cfg);
	/* synfin's options are after "--"; parse them before EAL so mistakes exit 2 at once. */
	for (sep = 1; sep < argc && strcmp(argv[sep], "--") != 0; sep++)
		;
	if (sep < argc) {
		char *saved = argv[sep];

		argv[sep] = argv[0];
		ret = parse_args(&sf.cfg, argc - sep, argv + sep);
		argv[sep] = saved;
		if (ret == 1) {
			usage(stdout, argv[0]);
			return 0;
		}
		if (ret < 0)
			return 2;
	}

	ret = rte_eal_init(sep, argv);
	if (ret < 0) {
		fprintf(stderr, "synfin: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	g_sf = &sf;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	ret = sf_lcores_init(&sf);
	if (ret == 0)
		ret = sf_ports_init(&sf);
	if (ret < 0) {
		sf_lcores_free(&sf);
		sf_ports_close(&sf);
		rte_eal_cleanup();
		return 1;
	}
	sf_telemetry_init(&sf);

	sf.forwarding = true;
	if (sf.cfg.cmdline_file != NULL || sf.cfg.interactive) {
		sf.cli_busy = true;
		ret = rte_ctrl_thread_create(&cli, "sf-cli", NULL, cli_thread, &sf);
		if (ret != 0) {
			fprintf(stderr, "synfin: cannot start the command line thread\n");
			sf.cli_busy = false;
		} else {
			cli_started = true;
		}
	}

	sf_lcores_run(&sf);

	if (cli_started) {
		/* After `quit` the thread is returning on its own: give it a second. Only a
		 * thread still blocked reading the terminal (signal, idle exit) is cancelled. */
		uint64_t t0 = rte_get_tsc_cycles();

		while (__atomic_load_n(&sf.cli_busy, __ATOMIC_ACQUIRE) &&
		       rte_get_tsc_cycles() - t0 < rte_get_tsc_hz())
			rte_delay_us_sleep(1000);
		if (__atomic_load_n(&sf.cli_busy, __ATOMIC_ACQUIRE))
			pthread_cancel(cli);
		pthread_join(cli, NULL);
	}
	printf("\nsynfin: final statistics\n");
	sf_print_all_stats(&sf, stdout);
	if (sf.cfg.show_flows) {
		printf("\nsynfin: flows at exit\n");
		sf_show_flows(&sf, stdout, -1, 0);
	}
	if (sf.cfg.flows_json != NULL && sf_flows_json_write(&sf, sf.cfg.flows_json) < 0)
		sf.exit_code = 1;
	fflush(stdout);
	sf_ports_close(&sf);
	sf_lcores_free(&sf);
	rte_eal_cleanup();
	return sf.exit_code;
}
