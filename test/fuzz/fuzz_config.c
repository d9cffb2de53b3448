/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer harness of synfin's configuration file loader (app/synfin/config.c on
 * rte_cfgfile): the input is the file (written to a memfd, loaded by its /proc/self/fd path).
 * Checks the loader's contract: it returns 0 or -EINVAL (each refusal prints its message),
 * never crashes, leaks or reads out of bounds (ASan+UBSan); a file it accepts leaves every
 * value in its documented range (burst, table size, RX queues, stats period, timeouts within
 * the tracker's 2^31 ticks of 1 ms) and every key of config_keys.h within its row's limits;
 * and loading the configuration it accepted, printed by sf_config_print() (sub-second
 * timeouts as "0.05"), gives the same configuration again, key by key.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config_keys.h"
#include "ct_worker.h" /* CT_WORKER_TIMEOUT_MS_MAX */
#include "fuzz_check.h"
#include "synfin.h"

static int fd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("synfin-fuzz-conf", 0);
	CHECK(fd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* the loader's one-line messages would flood the log: the FILE goes, fd 2 (ASan) stays */
	stderr = fopen("/dev/null", "w");
	CHECK(stderr != NULL);
	return 0;
}

static void
put_file(const void *data, size_t size)
{
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_config cfg, again;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;
	int ret;

	put_file(data, size);
	sf_config_defaults(&cfg);
	ret = sf_config_load(&cfg, path);
	CHECK(ret == 0 || ret == -EINVAL);
	if (ret != 0) {
		sf_config_release(&cfg);
		return 0;
	}
	CHECK(cfg.burst >= 1 && cfg.burst <= SF_BURST_MAX);
	CHECK(cfg.table_size >= 1 && cfg.table_size <= 1u << 29);
	CHECK(cfg.rxq >= 1 && cfg.rxq <= SF_MAX_RXQ_PER_LCORE);
	CHECK(cfg.stats_period <= 86400);
	/* the tracker keeps timeouts in 1 ms ticks below 2^31 */
	for (unsigned int s = 0; s < CT_S_MAX; s++)
		CHECK(cfg.tcp.timeouts.ms[s] <= CT_WORKER_TIMEOUT_MS_MAX);
	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++) {
		const struct sf_config_key *k = &sf_config_keys[i];
		uint64_t v = sf_config_key_value(&cfg, k);

		if (sf_config_key_in_file(k))
			CHECK(v >= k->min && v <= k->max);
	}

	/* what it accepted, printed and loaded again, is the same configuration */
	mem = open_memstream(&text, &len);
	CHECK(mem != NULL);
	sf_config_print(&cfg, mem);
	CHECK(fclose(mem) == 0);
	put_file(text, len);
	sf_config_defaults(&again);
	CHECK(sf_config_load(&again, path) == 0);
	CHECK(again.burst == cfg.burst && again.table_size == cfg.table_size);
	CHECK(again.mode == cfg.mode && again.clock == cfg.clock && again.rxq == cfg.rxq);
	CHECK(again.stats_period == cfg.stats_period && again.drop_invalid == cfg.drop_invalid);
	CHECK(again.vlan_key == cfg.vlan_key && again.tcp.loose == cfg.tcp.loose &&
	      again.tcp.liberal == cfg.tcp.liberal);
	CHECK(memcmp(again.tcp.timeouts.ms, cfg.tcp.timeouts.ms, sizeof(cfg.tcp.timeouts.ms)) == 0);
	for (unsigned int i = 0; i < SF_KEY_ID_MAX; i++)
		CHECK(sf_config_key_value(&again, &sf_config_keys[i]) ==
		      sf_config_key_value(&cfg, &sf_config_keys[i]));
	free(text);
	sf_config_release(&again);
	sf_config_release(&cfg);
	return 0;
}
