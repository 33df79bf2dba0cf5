#!/bin/sh
# Installs the Debian packages rlbpf needs that are not there yet.
# Usage: tools/deps.sh build|test|bench|vmtest   (idempotent; silent when all is present)
set -eu

# uidmap and fuse-overlayfs are what rlbpf runs: fuse-overlayfs mounts the
# containers' roots on kernels before 5.11.
build="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
libseccomp-dev libcap-dev libjansson-dev libarchive-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev
busybox-static uidmap fuse-overlayfs"
test="$build libcmocka-dev strace procps iproute2 passwd util-linux bsdutils jq umoci skopeo python3 slirp4netns curl socat redis-tools
qemu-system-x86 kmod xz-utils file podman conmon containerd runc golang-go docker-registry apache2-utils openssl"
bench="$test bubblewrap hyperfine iperf3"
# QEMU and what vmtest/run.sh builds the guests' initramfs with are in the test
# set: the suite checks that an interrupted make vmtest stops its guests.
vmtest="$test"

case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
bench) want=$bench ;;
vmtest) want=$vmtest ;;
*) echo "tools/deps.sh: unknown set '$1'; use build, test, bench or vmtest" >&2; exit 2 ;;
esac

missing=""
for pkg in $want; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "tools/deps.sh: missing Debian packages:$missing; run 'sudo apt-get install$missing'" >&2
	exit 1
fi
echo "tools/deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
