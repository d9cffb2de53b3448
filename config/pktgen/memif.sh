#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Back-to-back over net_memif on one host, no NIC: pktgen-dpdk (memif server) replays a pcap into
# synfin (memif client, monitor mode). Needs hugepages (memif shares them) and a pktgen-dpdk
# build: PKTGEN=/path/to/pktgen. Usage: config/pktgen/memif.sh PCAP [SYNFIN_BUILD_DIR]
set -eu
PCAP=${1:?usage: memif.sh PCAP [BUILD_DIR]}
B=${2:-build}
PKTGEN=${PKTGEN:-pktgen}
SOCK=/run/synfin-memif.sock
# pktgen on lcores 0-2 (2 = TX of port 0), synfin on lcores 3-4 (4 = worker).
$PKTGEN -l 0-2 -n 4 --file-prefix pg --vdev=net_memif0,role=server,socket=$SOCK -- \
	-P -m "[1:2].0" -s "0:$PCAP" -f config/pktgen/replay.pkt &
sleep 3
"$B/app/synfin/synfin" -l 3-4 -n 4 --file-prefix sf --vdev=net_memif0,role=client,socket=$SOCK \
	-- --stats-period 1 -i
