/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TL_PCAP_H
#define TL_PCAP_H

/**
 * @file
 * Classic pcap files (not pcapng) for the tests, tools and benchmarks: a writer (microsecond
 * timestamps, little-endian, LINKTYPE_ETHERNET) and a loader that reads a whole file into
 * memory (microsecond or nanosecond magic, either byte order, Ethernet only).
 *
 * Thread-safety: none; one writer or one loaded file per thread. No DPDK.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest record the loader accepts (bytes captured). */
#define TL_PCAP_REC_MAX 262144u

/** A pcap being written. */
struct tl_pcap_out {
	FILE *fp;
};

/**
 * Create @p path and write the global header.
 * @param snaplen  the header's snapshot length
 * @return 0, or -errno (the file is not open then).
 */
int tl_pcap_out_create(struct tl_pcap_out *w, const char *path, uint32_t snaplen);

/**
 * Append a record of @p len bytes (captured = original length) at @p ts_us microseconds since
 * the epoch. @return 0, or -EIO.
 */
int tl_pcap_out_add(struct tl_pcap_out *w, uint64_t ts_us, const void *frame, uint32_t len);

/** Close the file. @return 0, or -EIO if anything failed to reach it. */
int tl_pcap_out_free(struct tl_pcap_out *w);

/** A pcap loaded in memory. */
struct tl_pcap {
	uint8_t *data;   /**< all frames back to back */
	uint64_t *off;   /**< frame i starts at data + off[i] */
	uint32_t *len;   /**< captured length of frame i */
	uint64_t *ts_ns; /**< timestamp of frame i, ns since the first frame (0 if earlier) */
	uint32_t count;
	uint64_t span_ns;   /**< largest ts_ns */
	uint32_t truncated; /**< 1: the file ended inside a record, which was left out */
};

/**
 * Load @p path. On error @p err (of @p errlen bytes) says why.
 * @return 0, or -1 (nothing to free then): not a classic pcap, not Ethernet, a record longer
 *         than TL_PCAP_REC_MAX or than the file, no packet, out of memory, I/O error.
 */
int tl_pcap_load(const char *path, struct tl_pcap *pc, char *err, size_t errlen);

/** Free what tl_pcap_load() allocated (a zeroed struct is fine). */
void tl_pcap_free(struct tl_pcap *pc);

#ifdef __cplusplus
}
#endif

#endif /* TL_PCAP_H */
