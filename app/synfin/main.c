/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * synfin's entry point: parse synfin's own options (after `--`; getopt's table and --help are
 * generated from the key rows of config_keys.h) and the config file before anything else, so a
 * bad option or key exits 2 without starting EAL; then EAL, the workers and
 * ports, telemetry, the optional command line (in a control thread, so the main lcore can be the
 * only worker with -l 0), the run loop until a signal, `quit` or --idle-exit; and at exit the
 * final statistics, the flow list (--show-flows, as the command line's `show flows`),
 * --flows-json, and an orderly close.
 */

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "config_keys.h"
#include "synfin.h"

static struct synfin *g_sf;

/* getopt values: OPT_KEY + id sets row id, OPT_NO_KEY + id clears a BOOL row (--no-<option>). */
#define OPT_KEY    256
#define OPT_NO_KEY (OPT_KEY + SF_KEY_ID_MAX)
#define OPT_HELP   (OPT_NO_KEY + SF_KEY_ID_MAX)

/* Generated from sf_config_keys[] by opts_build(): each option once, BOOL ones twice, --help. */
static struct option long_opts[2 * SF_KEY_ID_MAX + 2];
static char no_names[SF_KEY_ID_MAX][48];
static char short_opts[2 * SF_KEY_ID_MAX + 2];

/* The first row with @p k's option: rows sharing an option take KEY=VALUE (--timeout STATE=T). */
static const struct sf_config_key *
opt_first(const struct sf_config_key *k)
{
	const struct sf_config_key *f = sf_config_keys;

	while (f->option == NULL || strcmp(f->option, k->option) != 0)
		f++;
	return f;
}

static bool
opt_shared(const struct sf_config_key *k)
{
	const struct sf_config_key *f = opt_first(k);

	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++)
		if (&sf_config_keys[i] != f && sf_config_keys[i].option != NULL &&
		    strcmp(sf_config_keys[i].option, f->option) == 0)
			return true;
	return false;
}

static void
opts_build(void)
{
	unsigned int n = 0, ns = 0;

	short_opts[ns++] = ':';
	for (unsigned int id = 0; id < SF_KEY_ID_MAX; id++) {
		const struct sf_config_key *k = &sf_config_keys[id];
		int has_arg = k->type == SF_KT_BOOL ? no_argument : required_argument;

		if (k->option == NULL || opt_first(k) != k)
			continue;
		if (k->option[1] == '\0') {
			short_opts[ns++] = k->option[0];
			if (has_arg == required_argument)
				short_opts[ns++] = ':';
			continue;
		}
		long_opts[n++] = (struct option){k->option, has_arg, NULL, OPT_KEY + (int)id};
		if (k->type == SF_KT_BOOL) {
			snprintf(no_names[id], sizeof(no_names[id]), "no-%s", k->option);
			long_opts[n++] = (struct option){no_names[id], no_argument, NULL,
			                                 OPT_NO_KEY + (int)id};
		}
	}
	long_opts[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	long_opts[n] = (struct option){NULL, 0, NULL, 0};
	short_opts[ns] = '\0';
}

/* "--burst N", "--mode monitor|inline", "--timeout STATE=T", "-i", and for a flag that is on by
 * default "--loose / --no-loose" (every flag has its --no- form; the others need not say so). */
static void
opt_syntax(const struct sf_config_key *k, char *buf, size_t size)
{
	static const char *const arg[SF_KT_MAX] = {
	        [SF_KT_U32] = "N", [SF_KT_TIMEOUT] = "T", [SF_KT_PATH] = "FILE"};
	const char *dash = k->option[1] == '\0' ? "-" : "--";
	char words[64], no[64] = "";
	struct sf_config def;
	size_t i;

	sf_config_defaults(&def);
	if (k->type == SF_KT_BOOL && k->option[1] != '\0' && sf_config_key_value(&def, k) != 0)
		snprintf(no, sizeof(no), " / --no-%s", k->option);
	snprintf(words, sizeof(words), "%s", k->words != NULL ? k->words : "");
	for (i = 0; words[i] != '\0'; i++)
		words[i] = words[i] == ' ' ? '|' : words[i];
	snprintf(buf, size, "%s%s%s%s%s%s%s", dash, k->option, no, k->type == SF_KT_BOOL ? "" : " ",
	         opt_shared(k) ? (sf_config_key_state(k) >= 0 ? "STATE=" : "KEY=") : "",
	         k->type == SF_KT_ENUM ? words : "", arg[k->type] != NULL ? arg[k->type] : "");
}

static void
usage(FILE *f, const char *prg)
{
	char syntax[96], range[48], states[320];

	fprintf(f, "Usage: %s [EAL options] -- [synfin options]\n", prg);
	for (unsigned int id = 0; id < SF_KEY_ID_MAX; id++) {
		const struct sf_config_key *k = &sf_config_keys[id];

		if (k->option == NULL || opt_first(k) != k)
			continue;
		opt_syntax(k, syntax, sizeof(syntax));
		sf_config_key_range(k, range, sizeof(range));
		fprintf(f, "  %-22s %s%s%s%s\n", syntax, k->help, range[0] != '\0' ? " (" : "",
		        range, range[0] != '\0' ? ")" : "");
	}
	fprintf(f, "  %-22s %s\n", "--help", "this text");
	sf_config_timeout_names(states, sizeof(states));
	fprintf(f,
	        "Every flag --X has a --no-X form. T: seconds (240, or 0.5 with at most 3 "
	        "decimals) or\nmilliseconds (50ms). STATE: %s\n",
	        states);
}

/* --OPTION KEY=VALUE of rows sharing an option (--timeout STATE=T). @return 0 or -EINVAL. */
static int
opt_key_value(struct sf_config *cfg, const struct sf_config_key *k, const char *arg)
{
	const struct sf_config_key *row;
	char key[128], what[192], states[320];
	const char *eq = strchr(arg, '=');

	if (eq == NULL || (size_t)(eq - arg) >= sizeof(key)) {
		opt_syntax(k, what, sizeof(what)); /* "--timeout STATE=T" */
		fprintf(stderr, "synfin: --%s: '%s' is not %s\n", k->option, arg,
		        strchr(what, ' ') != NULL ? strchr(what, ' ') + 1 : "KEY=VALUE");
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	row = sf_config_key_lookup(k->section, key);
	if (row == NULL || row->option == NULL || strcmp(row->option, k->option) != 0) {
		sf_config_timeout_names(states, sizeof(states));
		if (sf_config_key_state(k) >= 0)
			fprintf(stderr, "synfin: --%s: unknown state '%s' (one of: %s)\n",
			        k->option, key, states);
		else
			fprintf(stderr, "synfin: --%s: unknown key '%s'\n", k->option, key);
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "--%s %s", k->option, key);
	return sf_config_key_set(cfg, row, eq + 1, what);
}

/* Apply one option (pass 2). @return 0, 1 for --help, -EINVAL. */
static int
apply_opt(struct sf_config *cfg, int c, const char *arg)
{
	const struct sf_config_key *k = NULL;
	bool no = c >= OPT_NO_KEY && c < OPT_HELP;
	char what[64];

	if (c == OPT_HELP)
		return 1;
	if (c >= OPT_KEY && c < OPT_HELP)
		k = &sf_config_keys[(c - OPT_KEY) % SF_KEY_ID_MAX];
	for (unsigned int id = 0; k == NULL && id < SF_KEY_ID_MAX; id++)
		if (sf_config_keys[id].option != NULL && sf_config_keys[id].option[0] == c &&
		    sf_config_keys[id].option[1] == '\0')
			k = &sf_config_keys[id];
	if (k == NULL)
		return -EINVAL;
	if (opt_shared(k))
		return opt_key_value(cfg, k, arg);
	snprintf(what, sizeof(what), "--%s", k->option);
	if (k->type == SF_KT_BOOL)
		arg = no ? "no" : "yes";
	return sf_config_key_set(cfg, k, arg, what);
}

/* Parse synfin's options (argv[0] is the program name). @return 0, 1 (--help), -EINVAL. */
static int
parse_args(struct sf_config *cfg, int argc, char **argv)
{
	const struct sf_config_key *conf = &sf_config_keys[SF_KEY_ID(cmdline, config)];
	int c, ret;

	opts_build();
	/* Pass 1: --config and --help only; errors are reported in pass 2. */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		if (c == OPT_KEY + SF_KEY_ID(cmdline, config))
			sf_config_key_set(cfg, conf, optarg, "--config");
		else if (c == OPT_HELP)
			return 1;
	}
	if (cfg->config_file != NULL && sf_config_load(cfg, cfg->config_file) < 0)
		return -EINVAL;
	/* Pass 2: the command line overrides the file. */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
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

/* synfin's options are after "--": parse them before EAL so mistakes exit 2 at once.
 * @return the index of "--" (EAL's argc), or -1 (exit 0, --help) / -2 (exit 2). */
static int
early_args(struct sf_config *cfg, int argc, char **argv)
{
	int sep, ret;

	for (sep = 1; sep < argc && strcmp(argv[sep], "--") != 0; sep++)
		;
	if (sep == argc)
		return sep;
	char *saved = argv[sep];

	argv[sep] = argv[0];
	ret = parse_args(cfg, argc - sep, argv + sep);
	argv[sep] = saved;
	if (ret == 1) {
		usage(stdout, argv[0]);
		return -1;
	}
	return ret < 0 ? -2 : sep;
}

/* Start the command line thread when asked. @return true if it runs. */
static bool
cli_start(struct synfin *sf, pthread_t *cli)
{
	if (sf->cfg.cmdline_file == NULL && !sf->cfg.interactive)
		return false;
	sf->cli_busy = true;
	if (rte_ctrl_thread_create(cli, "sf-cli", NULL, cli_thread, sf) != 0) {
		fprintf(stderr, "synfin: cannot start the command line thread\n");
		sf->cli_busy = false;
		return false;
	}
	return true;
}

/*
 * After `quit` the thread is returning on its own: give it a second. Only a thread still
 * blocked reading the terminal (signal, idle exit) is cancelled.
 */
static void
cli_join(struct synfin *sf, pthread_t cli)
{
	uint64_t t0 = rte_get_tsc_cycles();

	while (__atomic_load_n(&sf->cli_busy, __ATOMIC_ACQUIRE) &&
	       rte_get_tsc_cycles() - t0 < rte_get_tsc_hz())
		rte_delay_us_sleep(1000);
	if (__atomic_load_n(&sf->cli_busy, __ATOMIC_ACQUIRE))
		pthread_cancel(cli);
	pthread_join(cli, NULL);
}

/* What is printed and written at exit: final statistics, --show-flows, --flows-json. */
static void
at_exit(struct synfin *sf)
{
	printf("\nsynfin: final statistics\n");
	sf_print_all_stats(sf, stdout);
	if (sf->cfg.show_flows) {
		printf("\nsynfin: flows at exit\n");
		sf_show_flows(sf, stdout, -1, 0);
	}
	if (sf->cfg.flows_json != NULL && sf_flows_json_write(sf, sf->cfg.flows_json) < 0)
		sf->exit_code = 1;
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	static struct synfin sf;
	pthread_t cli;
	bool cli_started;
	int sep, ret;

	sf_config_defaults(&sf.cfg);
	sep = early_args(&sf.cfg, argc, argv);
	if (sep < 0)
		return sep == -1 ? 0 : 2;
	if (sf_export_check(&sf.cfg) < 0)
		return 2;
	/* Before EAL: a signal during the start-up is a clean exit once it is done, not a kill. */
	g_sf = &sf;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ret = rte_eal_init(sep, argv);
	if (ret < 0) {
		fprintf(stderr, "synfin: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 2;
	}

	ret = sf_lcores_init(&sf);
	if (ret == 0)
		ret = sf_ports_init(&sf);
	if (ret < 0) {
		sf_lcores_free(&sf);
		sf_ports_close(&sf);
		rte_eal_cleanup();
		return 1;
	}
	if (ret == 0)
		ret = sf_export_start(&sf);
	if (ret < 0) {
		sf_export_stop(&sf);
		sf_lcores_free(&sf);
		sf_ports_close(&sf);
		rte_eal_cleanup();
		return 1;
	}
	sf_telemetry_init(&sf);

	sf.forwarding = true;
	cli_started = cli_start(&sf, &cli);
	sf_lcores_run(&sf);
	if (cli_started)
		cli_join(&sf, cli);
	at_exit(&sf);
	sf_export_stop(&sf);
	sf_ports_close(&sf);
	sf_lcores_free(&sf);
	rte_eal_cleanup();
	sf_config_release(&sf.cfg);
	return sf.exit_code;
}
