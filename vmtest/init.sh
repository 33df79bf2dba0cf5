#!/bin/busybox sh
# vmtest stage 1: /init of the tiny initramfs that vmtest/run.sh builds
# (busybox-static plus the kernel's modules for 9p and overlayfs).
#
# It mounts the host's root filesystem (shared read-only by QEMU over
# virtio-9p, tag "hostroot") under a tmpfs overlay, so the guest has every
# tool of the host while nothing it writes reaches the host; mounts the
# cell's output directory (tag "vmout", writable) at /vmtest-out; and hands
# over to stage 2, vmtest/guest.sh, run by the host's bash.
# The kernel command line passes VMTEST_REPO (the repository, the same path
# as on the host) and VMTEST_CGROUP, VMTEST_MODE, which stage 2 reads.
/bin/busybox mkdir -p /bin /proc /sys /dev /lower /upper /newroot
/bin/busybox --install -s /bin
export PATH=/bin

fail() {
	echo "vmtest init: $*" >/dev/console
	echo "vmtest init: FAILED: $*" >/dev/ttyS0 2>/dev/null
	# Power off rather than panic: the host sees a cell with no result.
	echo o >/proc/sysrq-trigger
	sleep 5
	poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# Modules in dependency order (written by vmtest/run.sh); built-ins are
# not in the list.
while read -r mod; do
	[ -n "$mod" ] || continue
	insmod "/lib/modules/$mod" || fail "insmod $mod failed"
done </modules.order

# 9p2000.L, read-only, cached: the host's tree does not change under a run.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower ||
	fail "cannot mount the host's root over 9p"
mount -t tmpfs -o mode=0755 vmtest-upper /upper || fail "cannot mount the overlay's tmpfs"
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work vmtest-root /newroot ||
	fail "cannot mount the overlay root"
mkdir -p /newroot/vmtest-out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 vmout /newroot/vmtest-out ||
	fail "cannot mount the output directory over 9p"

guest=$VMTEST_REPO/vmtest/guest.sh
[ -f "/newroot$guest" ] || fail "no $guest in the shared root"
for fs in /proc /sys /dev; do
	mount --move "$fs" "/newroot$fs" || fail "cannot move $fs to the new root"
done
exec switch_root /newroot /bin/bash "$guest"
