#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Installs every Debian 12 package synfin needs to build, test and benchmark. Idempotent: when
# everything is installed it prints one line and touches nothing. Needs root (or sudo).
set -eu
PKGS="build-essential pkg-config meson ninja-build libdpdk-dev dpdk libbpf-dev libcriterion-dev
libpcap-dev dpdk-dev bpftool clang clang-format llvm libclang-rt-14-dev python3 graphviz gnuplot-nox
iproute2 ethtool nftables conntrack tcpdump ncat"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "setup: all packages present"
	exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "setup: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "setup: done"
