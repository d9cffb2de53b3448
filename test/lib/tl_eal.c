/* SPDX-License-Identifier: BSD-3-Clause */
/* EAL start-up and mbuf filling for the tests (tl_eal.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "tl_eal.h"

int
tl_eal_up(const char *name, const char *lcores, unsigned int mem_mb)
{
	char mem[16];
	char *argv[] = {(char *)name, "-l",       (char *)lcores,
	                "--no-huge",  "--no-pci", "--no-shconf",
	                "-m",         mem,        "--log-level=error"};
	int argc = (int)(sizeof(argv) / sizeof(argv[0]));

	snprintf(mem, sizeof(mem), "%u", mem_mb);
	if (rte_eal_init(argc, argv) != argc - 1) {
		if (rte_errno == 0)
			rte_errno = EINVAL;
		return -1;
	}
	return 0;
}

struct rte_mempool *
tl_pool_create(const char *name, unsigned int n)
{
	return rte_pktmbuf_pool_create(name, n, 0, 0, RTE_PKTMBUF_HEADROOM + TL_MBUF_ROOM,
	                               SOCKET_ID_ANY);
}

/* An mbuf of @p pool with @p len bytes of @p data, or NULL. */
static struct rte_mbuf *
segment(struct rte_mempool *pool, const uint8_t *data, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *d;

	if (m == NULL)
		return NULL;
	if (len > UINT16_MAX || (d = rte_pktmbuf_append(m, (uint16_t)len)) == NULL) {
		if (len != 0) {
			rte_pktmbuf_free(m);
			return NULL;
		}
		return m;
	}
	memcpy(d, data, len);
	return m;
}

struct rte_mbuf *
tl_mbuf_from(struct rte_mempool *pool, const void *frame, uint32_t len, uint32_t split)
{
	const uint8_t *b = frame;
	struct rte_mbuf *m, *m2;

	if (split == 0 || split >= len)
		split = len;
	m = segment(pool, b, split);
	if (m == NULL || split == len)
		return m;
	m2 = segment(pool, b + split, len - split);
	if (m2 == NULL || rte_pktmbuf_chain(m, m2) != 0) {
		rte_pktmbuf_free(m);
		rte_pktmbuf_free(m2);
		return NULL;
	}
	return m;
}

int
tl_mbuf_set(struct rte_mbuf *m, const void *frame, uint16_t len)
{
	char *d;

	rte_pktmbuf_reset(m);
	d = rte_pktmbuf_append(m, len);
	if (d == NULL)
		return -ENOSPC;
	memcpy(d, frame, len);
	return 0;
}
