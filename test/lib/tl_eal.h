/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TL_EAL_H
#define TL_EAL_H

/**
 * @file
 * DPDK for the tests: EAL started the one way every test wants it (no hugepages, no PCI, no
 * shared configuration, so any number of test processes run side by side; the memory and the
 * lcores the test asks for; errors only in the log), and mbufs filled from frame bytes, in one
 * segment or two.
 *
 * Thread-safety: tl_eal_up() once per process, from the main thread; the mbuf helpers from any
 * thread (the mempool's own rules).
 */

#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * rte_eal_init() with: @p name (argv[0]), "-l" @p lcores, --no-huge, --no-pci, --no-shconf,
 * "-m" @p mem_mb, --log-level=error.
 * @return 0 when EAL started and took every argument, else -1 (rte_errno says why).
 */
int tl_eal_up(const char *name, const char *lcores, unsigned int mem_mb);

/** Room for frame bytes in the mbufs of tl_pool_create(). */
#define TL_MBUF_ROOM 2048

/**
 * A pool of @p n mbufs with TL_MBUF_ROOM bytes of data room each (no cache, any socket).
 * @return the pool, or NULL with rte_errno set.
 */
struct rte_mempool *tl_pool_create(const char *name, unsigned int n);

/**
 * An mbuf of @p pool holding @p len bytes of @p frame: one segment, or two when
 * 0 < @p split < @p len (the first holds @p split bytes).
 * @return the mbuf, or NULL (pool empty, or a segment longer than the data room).
 */
struct rte_mbuf *tl_mbuf_from(struct rte_mempool *pool, const void *frame, uint32_t len,
                              uint32_t split);

/** Reset @p m (one segment) and fill it with @p len bytes of @p frame. @return 0 or -ENOSPC. */
int tl_mbuf_set(struct rte_mbuf *m, const void *frame, uint16_t len);

#ifdef __cplusplus
}
#endif

#endif /* TL_EAL_H */
