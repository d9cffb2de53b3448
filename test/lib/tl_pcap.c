/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Classic pcap writer and in-memory loader (tl_pcap.h): a 24-byte global header, then per
 * record a 16-byte header (seconds, micro- or nanoseconds, captured and original length) and
 * the frame. The writer always writes little-endian microsecond files; the loader takes either
 * byte order and either resolution. stdio only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tl_pcap.h"

#define MAGIC_US      0xa1b2c3d4u
#define MAGIC_NS      0xa1b23c4du
#define LINK_ETHERNET 1u

static void
le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int
tl_pcap_out_create(struct tl_pcap_out *w, const char *path, uint32_t snaplen)
{
	uint8_t gh[24] = {0};

	w->fp = fopen(path, "wb");
	if (w->fp == NULL)
		return -errno;
	le32(gh, MAGIC_US);
	gh[4] = 2; /* version 2.4 */
	gh[6] = 4;
	le32(gh + 16, snaplen);
	le32(gh + 20, LINK_ETHERNET);
	if (fwrite(gh, sizeof(gh), 1, w->fp) != 1) {
		fclose(w->fp);
		w->fp = NULL;
		return -EIO;
	}
	return 0;
}

int
tl_pcap_out_add(struct tl_pcap_out *w, uint64_t ts_us, const void *frame, uint32_t len)
{
	uint8_t rh[16];

	le32(rh, (uint32_t)(ts_us / 1000000u));
	le32(rh + 4, (uint32_t)(ts_us % 1000000u));
	le32(rh + 8, len);
	le32(rh + 12, len);
	if (fwrite(rh, sizeof(rh), 1, w->fp) != 1 || (len && fwrite(frame, len, 1, w->fp) != 1))
		return -EIO;
	return 0;
}

int
tl_pcap_out_free(struct tl_pcap_out *w)
{
	int bad = w->fp == NULL || ferror(w->fp);

	if (w->fp != NULL && fclose(w->fp) != 0)
		bad = 1;
	w->fp = NULL;
	return bad ? -EIO : 0;
}

/* ---- loader ---- */

static void __attribute__((format(printf, 3, 4))) say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static uint32_t
rd32(const uint8_t *b, int swap)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* The global header: byte order and resolution from the magic. @return 0 or -1. */
static int
global_header(FILE *fp, int *swap, int *nano, char *err, size_t errlen)
{
	uint8_t gh[24];
	uint32_t magic;

	if (fread(gh, 1, sizeof(gh), fp) != sizeof(gh)) {
		say(err, errlen, "short global header");
		return -1;
	}
	memcpy(&magic, gh, 4);
	*swap = magic == __builtin_bswap32(MAGIC_US) || magic == __builtin_bswap32(MAGIC_NS);
	*nano = magic == MAGIC_NS || magic == __builtin_bswap32(MAGIC_NS);
	if (!*swap && !*nano && magic != MAGIC_US) {
		say(err, errlen, "not a classic pcap (magic %08x; pcapng is not supported)", magic);
		return -1;
	}
	if (rd32(gh + 20, *swap) != LINK_ETHERNET) {
		say(err, errlen, "link type %u, only Ethernet (1) is supported",
		    rd32(gh + 20, *swap));
		return -1;
	}
	return 0;
}

/* Room for at least one more frame's index entries. @return 0 or -1. */
static int
grow(struct tl_pcap *pc, uint32_t *cap)
{
	uint32_t n = *cap ? *cap * 2 : 1024;
	void *a = realloc(pc->off, n * sizeof(*pc->off));

	if (a != NULL)
		pc->off = a;
	a = a != NULL ? realloc(pc->len, n * sizeof(*pc->len)) : NULL;
	if (a != NULL)
		pc->len = a;
	a = a != NULL ? realloc(pc->ts_ns, n * sizeof(*pc->ts_ns)) : NULL;
	if (a == NULL)
		return -1;
	pc->ts_ns = a;
	*cap = n;
	return 0;
}

/* Read every record into pc (data sized to the file). @return 0 or -1. */
static int
records(FILE *fp, struct tl_pcap *pc, uint64_t fsz, int swap, int nano, char *err, size_t errlen)
{
	uint64_t used = 0, ts0 = 0;
	uint32_t cap = 0;
	uint8_t ph[16];

	while (fread(ph, 1, sizeof(ph), fp) == sizeof(ph)) {
		uint32_t incl = rd32(ph + 8, swap);
		uint64_t ts = (uint64_t)rd32(ph, swap) * 1000000000ull +
		              (uint64_t)rd32(ph + 4, swap) * (nano ? 1 : 1000);

		if (incl > TL_PCAP_REC_MAX || used + incl > fsz) {
			say(err, errlen, "bad record length %u", incl);
			return -1;
		}
		if (fread(pc->data + used, 1, incl, fp) != incl) {
			pc->truncated = 1;
			break;
		}
		if (pc->count == cap && grow(pc, &cap) != 0) {
			say(err, errlen, "out of memory");
			return -1;
		}
		if (pc->count == 0)
			ts0 = ts;
		pc->off[pc->count] = used;
		pc->len[pc->count] = incl;
		pc->ts_ns[pc->count] = ts >= ts0 ? ts - ts0 : 0;
		if (pc->ts_ns[pc->count] > pc->span_ns)
			pc->span_ns = pc->ts_ns[pc->count];
		used += incl;
		pc->count++;
	}
	if (pc->count == 0) {
		say(err, errlen, "no packets");
		return -1;
	}
	return 0;
}

int
tl_pcap_load(const char *path, struct tl_pcap *pc, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	int swap, nano, ret = -1;
	long fsz;

	memset(pc, 0, sizeof(*pc));
	if (fp == NULL) {
		say(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (global_header(fp, &swap, &nano, err, errlen) != 0)
		goto out;
	if (fseek(fp, 0, SEEK_END) != 0 || (fsz = ftell(fp)) < 0 || fseek(fp, 24, SEEK_SET) != 0) {
		say(err, errlen, "cannot seek");
		goto out;
	}
	pc->data = malloc(fsz > 0 ? (size_t)fsz : 1);
	if (pc->data == NULL)
		say(err, errlen, "out of memory");
	else
		ret = records(fp, pc, (uint64_t)fsz, swap, nano, err, errlen);
out:
	fclose(fp);
	if (ret != 0)
		tl_pcap_free(pc);
	return ret;
}

void
tl_pcap_free(struct tl_pcap *pc)
{
	free(pc->data);
	free(pc->off);
	free(pc->len);
	free(pc->ts_ns);
	memset(pc, 0, sizeof(*pc));
}
