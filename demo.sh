#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Quick start: installs the Debian packages (setup.sh), builds synfin, and replays the bundled
# trace test/data/quickstart.pcap (real Linux TCP stacks: 7 connections with different endings)
# through net_pcap with the packet clock, without hugepages. Prints the final statistics and
# the flow list in conntrack -L style; the same flows go to build/quickstart-flows.json.
set -eu
cd "$(dirname "$0")"
./setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec build/app/synfin/synfin -l 0 --no-pci --no-huge -m 512 --no-shconf --log-level=error \
	--vdev=net_pcap0,rx_pcap=test/data/quickstart.pcap \
	-- --clock=packet --idle-exit 500 --show-flows --flows-json build/quickstart-flows.json
