#!/bin/bash
# make vmtest: the integration suite on Debian's other kernels, each booted
# under QEMU with cgroup v1 (hybrid) and with cgroup v2, plus the host's own
# kernel; prints a matrix and fails if any cell failed or ran no test.
#
# Usage (as root): vmtest/run.sh [-s] [-h]
#   -s   leave a shell on the serial console of the first selected cell
#        instead of running the suite (exit it to power off; ^A x kills QEMU)
# Environment:
#   VMTEST_KERNELS  Debian kernel series, comma-separated (default
#                   5.10,6.1,6.12); each is fetched with `apt-get download`
#                   and cached in build/vmtest/debs: 6.x from this machine's
#                   apt sources, 5.10 from Debian 11 (bullseye and
#                   bullseye-security) through an apt configuration of
#                   vmtest's own in build/vmtest/apt (the host's sources are
#                   not touched)
#   VMTEST_CGROUPS  v1 (hybrid, as systemd's legacy mode), v2 (default v1,v2)
#   VMTEST_HOST     1: also run the suite natively for the host row; else the
#                   host row shows build/vmtest/logs/host.log if one is there
#                   (.ci/run writes it from `make test`)
#   VMTEST_JOBS     cells booted at once (default: one per host cpu under
#                   TCG, one per two under KVM; at most 4)
#   VMTEST_TIMEOUT  seconds before a hung VM is killed (default 1800; 7200
#                   for VMTEST_SUITE=full)
#   VMTEST_ACCEL    kvm or tcg (default: kvm when it really works, else tcg)
#   VMTEST_MEM      guest memory in MiB (default 1536)
#   VMTEST_SMP      guest cpus (default 1 under TCG, 2 under KVM)
#   VMTEST_SUITE    matrix (default): the cases of vmtest/matrix.cases, one
#                   or more for each thing a kernel or cgroup layout changes;
#                   full: the whole suite, userspace-only cases too (an hour
#                   or more a cell under TCG)
#   VMTEST_FILTER   case filters for tests/integration/run.sh, comma-separated
#                   (instead of VMTEST_SUITE's)
#   VMTEST_APPEND   more kernel command line for the guests
#
# How a cell runs: vmtest/init.sh (busybox, in a small initramfs with the
# kernel's 9p and overlay modules) mounts the host's root filesystem, shared
# read-only over virtio-9p, under a tmpfs overlay, so the guest has all of the
# host's tools and nothing it writes reaches the host; vmtest/guest.sh then
# sets up /dev, /run, /tmp, bpffs and the cell's cgroup layout, records
# `rlbpfd --probe` and runs tests/integration/run.sh as root against an
# install of this build made on the host (build/vmtest/prefix).
# Logs: build/vmtest/logs/KERNEL-CGROUP.log (the whole serial console);
# results: build/vmtest/out/KERNEL-CGROUP/ (suite.log, probe.txt, ...).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
B=$repo/build/vmtest

KERNELS=${VMTEST_KERNELS:-5.10,6.1,6.12}
CGROUPS=${VMTEST_CGROUPS:-v1,v2}
MEM=${VMTEST_MEM:-1536}
FILTER=${VMTEST_FILTER:-}
SUITE=${VMTEST_SUITE:-matrix}
default_timeout=1800
[ "$SUITE" = full ] && default_timeout=7200
TIMEOUT=${VMTEST_TIMEOUT:-$default_timeout}
shell_mode=0

die() {
	echo "vmtest: $*" >&2
	exit 2
}
say() { echo "vmtest: $*"; }

while getopts sh opt; do
	case $opt in
	s) shell_mode=1 ;;
	h)
		sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	*) die "usage: vmtest/run.sh [-s] [-h]" ;;
	esac
done

[ "$(id -u)" -eq 0 ] || die "must run as root: QEMU exports / over 9p with the files' real owners, and the suite creates test users (try 'sudo make vmtest')"
for tool in qemu-system-x86_64 depmod xz dpkg-deb apt-get file; do
	command -v "$tool" >/dev/null || die "no $tool; run 'tools/deps.sh vmtest'"
done
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || die "no busybox; run 'tools/deps.sh vmtest'"
busybox=$(command -v busybox)
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	die "$busybox is not static; install busybox-static ('tools/deps.sh vmtest')"
[ "$(uname -m)" = x86_64 ] || die "only x86_64 hosts are supported"

# ---- accelerator: KVM only if the CPU has VT-x/AMD-V and this process can
# create a VM. (In some nested guests /dev/kvm opens and KVM_CREATE_VM works,
# yet without vmx/svm the guest never boots: seen on this project's builders.)
kvm_works() {
	[ -c /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && command -v python3 >/dev/null &&
		python3 -c 'import os, fcntl; fcntl.ioctl(os.open("/dev/kvm", os.O_RDWR), 0xAE01, 0)' 2>/dev/null
}
accel=${VMTEST_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	kvm_works && accel=kvm
fi
# Under TCG a guest cpu is a host thread busy emulating, and the suite is
# mostly serial: one cpu per guest and one guest per host cpu is the fastest
# way through the matrix (measured: a second vcpu costs 20% more host cpu
# for the same wall time).
ncpu=$(nproc)
case $accel in
kvm) cpu=host smp=${VMTEST_SMP:-2} jobs=${VMTEST_JOBS:-$(((ncpu + 1) / 2))} ;;
tcg) cpu=max smp=${VMTEST_SMP:-1} jobs=${VMTEST_JOBS:-$ncpu} ;;
*) die "VMTEST_ACCEL must be kvm or tcg, not '$accel'" ;;
esac
[ "$jobs" -le 4 ] || jobs=4
[ "$shell_mode" = 1 ] && jobs=1

mkdir -p "$B/debs" "$B/kernels" "$B/logs" "$B/out"
# Two runs in one tree would reinstall the prefix under each other's guests.
exec 9>"$B/.lock"
flock -n 9 || die "another vmtest is running in this tree ($B/.lock)"
case $SUITE in matrix | full) ;; *) die "VMTEST_SUITE must be matrix or full, not '$SUITE'" ;; esac
case $FILTER in *[[:space:]]*) die "VMTEST_FILTER: separate filters with commas, not spaces (it goes on the kernel command line)" ;; esac
started=$(date +%s)

# ---- the build, installed where the guest (and its test users) can read it
say "building and installing into build/vmtest/prefix"
rm -rf "$B/prefix"
if ! make -C "$repo" --no-print-directory install PREFIX="$B/prefix" >"$B/logs/install.log" 2>&1; then
	tail -n 30 "$B/logs/install.log" >&2
	die "'make install PREFIX=$B/prefix' failed (output above; whole log in build/vmtest/logs/install.log)"
fi
chmod -R a+rX "$B/prefix"

# ---- kernels
# Series that no Debian 12 host has in its sources come from the Debian
# release that shipped them, through apt options that point apt at
# vmtest's own sources, lists and cache (build/vmtest/apt/SUITE): the
# host's /etc/apt and its package state are neither read for sources nor
# written.
declare -A private_suites=([5.10]=bullseye)
apt_opts=()
# Sets apt_opts for a series (empty: the host's own apt sources), running
# `apt-get update` for a private configuration once a day at most.
use_apt_for() {
	local suite=${private_suites[$1]:-} dir
	apt_opts=()
	[ -n "$suite" ] || return 0
	dir=$B/apt/$suite
	apt_opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o Dir::State::status=/dev/null)
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
	# apt fetches as _apt, which must be able to write there.
	chmod 777 "$dir/lists/partial" "$dir/cache/archives/partial"
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	{
		echo "deb [signed-by=$keyring] http://deb.debian.org/debian $suite main"
		echo "deb [signed-by=$keyring] http://deb.debian.org/debian-security $suite-security main"
	} >"$dir/sources.list.new"
	# The lists keep the archive's dates, not ours: a stamp says when.
	if ! cmp -s "$dir/sources.list.new" "$dir/sources.list" ||
		[ -z "$(find "$dir/updated" -mmin -1440 2>/dev/null)" ]; then
		mv "$dir/sources.list.new" "$dir/sources.list"
		say "apt-get update for $suite and $suite-security (build/vmtest/apt/$suite)"
		if apt-get -q "${apt_opts[@]}" update >"$B/logs/apt-update-$suite.log" 2>&1; then
			touch "$dir/updated"
		else
			say "apt-get update for $suite failed (build/vmtest/logs/apt-update-$suite.log); trying the cached lists"
		fi
	else
		rm -f "$dir/sources.list.new"
	fi
}

# The package for a series: its meta-package's dependency (linux-image-6.12-amd64,
# or linux-image-amd64 when that is the series), else the newest matching name.
resolve_pkg() {
	local series=$1 p
	p=$(apt-cache "${apt_opts[@]}" depends "linux-image-$series-amd64" 2>/dev/null |
		sed -n "s/^  Depends: \(linux-image-$series[.-].*-amd64\)\$/\1/p" | head -n1)
	if [ -z "$p" ]; then
		p=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null |
			sed -n "s/^  Depends: \(linux-image-$series[.-].*-amd64\)\$/\1/p" | head -n1)
	fi
	if [ -z "$p" ]; then
		p=$(apt-cache "${apt_opts[@]}" search --names-only "^linux-image-${series//./\\.}[.-].*-amd64\$" 2>/dev/null |
			awk '{ print $1 }' | grep -Ev -- '-(rt|cloud)-amd64$' | sort -V | tail -n1)
	fi
	echo "$p"
}

# Sets kdir (build/vmtest/kernels/RELEASE) for a series, or skip_reason.
fetch_kernel() {
	local series=$1 pkg deb rel tmp
	kdir="" skip_reason=""
	use_apt_for "$series"
	pkg=$(resolve_pkg "$series")
	if [ -n "$pkg" ]; then
		deb=$(ls "$B/debs/${pkg}"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
		if [ -z "$deb" ]; then
			say "fetching $pkg (apt-get download)"
			tmp=$(mktemp -d "$B/debs/.dl.XXXXXX")
			# _apt must be able to write there, or apt warns and downloads unsandboxed.
			chmod 777 "$tmp"
			if ! (cd "$tmp" && apt-get download -q "${apt_opts[@]}" "$pkg" >"$B/logs/apt-$series.log" 2>&1); then
				rm -rf "$tmp"
				skip_reason="apt-get download $pkg failed (build/vmtest/logs/apt-$series.log)"
			else
				mv "$tmp"/*.deb "$B/debs/"
				rm -rf "$tmp"
				deb=$(ls "$B/debs/${pkg}"_*.deb | sort -V | tail -n1)
			fi
		fi
	else
		# Nothing in the apt lists: a cached package still does.
		deb=$(ls "$B/debs/linux-image-$series"[.-]*-amd64_*.deb 2>/dev/null | sort -V | tail -n1 || true)
		if [ -n "${private_suites[$series]:-}" ]; then
			[ -n "$deb" ] || skip_reason="no linux-image-$series package for amd64 in ${private_suites[$series]} (build/vmtest/logs/apt-update-${private_suites[$series]}.log)"
		else
			[ -n "$deb" ] || skip_reason="no linux-image-$series package for amd64 in this machine's apt sources (apt-cache search '^linux-image-$series'); add the suite that has it (e.g. bookworm-security or -backports for 6.12)"
		fi
	fi
	[ -n "$skip_reason" ] && return 0
	rel=$(dpkg-deb -f "$deb" Package | sed 's/^linux-image-//')
	kdir=$B/kernels/$rel
	if [ ! -f "$kdir/initramfs.cpio.gz" ] || [ "$kdir/initramfs.cpio.gz" -ot "$here/init.sh" ] ||
		[ ! -d "$kdir/lib/modules/$rel" ] ||
		[ "$(cat "$kdir/initramfs.modules" 2>/dev/null)" != "$MODULES" ] ||
		[ "$kdir/initramfs.cpio.gz" -ot "$deb" ]; then
		build_initramfs "$deb" "$rel" || {
			skip_reason="could not build the initramfs for $rel"
			kdir=""
		}
	fi
}

# The modules stage 1 needs, dependencies first, built-ins left out:
# virtio_blk and ext4 for the scratch disk that holds the guest's /tmp, with
# the crc32c that ext4 asks the crypto API for at mount (not a module
# dependency, so named here; absent where it is built in).
MODULES="virtio_pci 9pnet_virtio 9p overlay virtio_blk crc32c_generic ext4"
module_closure() {
	local moddir=$1 name=$2 path dep
	path=$(awk -F: -v n="$name" '{ m = $1; sub(/.*\//, "", m); sub(/\.ko(\.[a-z]+)?$/, "", m);
		gsub(/-/, "_", m); if (m == n) { print $1; exit } }' "$moddir/modules.dep")
	[ -n "$path" ] || return 0 # built in (or absent: insmod of its users will say)
	for dep in $(awk -F: -v p="$path" '$1 == p { print $2 }' "$moddir/modules.dep"); do
		dep=${dep##*/}
		dep=${dep%%.ko*}
		module_closure "$moddir" "${dep//-/_}"
	done
	grep -qxF "$path" "$work/order" 2>/dev/null || echo "$path" >>"$work/order"
}

build_initramfs() {
	local deb=$1 rel=$2 moddir m
	say "building the initramfs for $rel"
	rm -rf "$B/kernels/$rel"
	mkdir -p "$B/kernels/$rel"
	work=$B/kernels/$rel/x
	mkdir -p "$work/tree" "$work/root/bin" "$work/root/lib/modules"
	dpkg-deb -x "$deb" "$work/tree"
	cp "$work/tree/boot/vmlinuz-$rel" "$B/kernels/$rel/vmlinuz"
	cp "$work/tree/boot/config-$rel" "$B/kernels/$rel/config"
	moddir=$work/tree/lib/modules/$rel
	# The package leaves modules.dep to its postinst.
	[ -s "$moddir/modules.dep" ] || depmod -b "$work/tree" "$rel" || return 1
	: >"$work/order"
	for m in $MODULES; do
		module_closure "$moddir" "$m"
	done
	: >"$work/root/modules.order"
	while read -r m; do
		local base=${m##*/}
		case $base in
		*.ko.xz) xz -dc "$moddir/$m" >"$work/root/lib/modules/${base%.xz}" ;;
		*.ko.zst) zstd -qdc "$moddir/$m" >"$work/root/lib/modules/${base%.zst}" ;;
		*.ko.gz) gzip -dc "$moddir/$m" >"$work/root/lib/modules/${base%.gz}" ;;
		*) cp "$moddir/$m" "$work/root/lib/modules/$base" ;;
		esac
		echo "${base%.ko*}.ko" >>"$work/root/modules.order"
	done <"$work/order"
	cp "$busybox" "$work/root/bin/busybox"
	install -m 0755 "$here/init.sh" "$work/root/init"
	(cd "$work/root" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) \
		>"$B/kernels/$rel/initramfs.cpio.gz.tmp"
	# The whole module tree stays: the guest mounts it at /lib/modules/$rel
	# so that the kernel can load what the suite needs on demand (tun, veth...).
	mkdir -p "$B/kernels/$rel/lib/modules"
	mv "$moddir" "$B/kernels/$rel/lib/modules/$rel"
	rm -rf "$work"
	mv "$B/kernels/$rel/initramfs.cpio.gz.tmp" "$B/kernels/$rel/initramfs.cpio.gz"
	echo "$MODULES" >"$B/kernels/$rel/initramfs.modules"
}

# A cell's scratch disk: a sparse ext4 image, which the guest mounts on
# /tmp (vmtest/guest.sh).
SCRATCH_SIZE=4G
make_scratch_disk() {
	mkdir -p "$B/scratch"
	rm -f "$1"
	truncate -s "$SCRATCH_SIZE" "$1" && mkfs.ext4 -q -F -L vmtest-tmp "$1"
}

# ---- one cell: boot, run, collect
run_cell() {
	local series=$1 layout=$2 kdir=$3 name=$4 od log rc=0 t0 mode=test
	od=$B/out/$name
	log=$B/logs/$name.log
	rm -rf "$od"
	mkdir -p "$od"
	[ "$shell_mode" = 1 ] && mode=shell
	# mitigations=off: the guest runs only the suite, and under TCG the
	# speculation mitigations cost 40% of the run (measured on 6.1).
	local append="console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off ${VMTEST_APPEND:-} VMTEST_REPO=$repo VMTEST_PREFIX=$B/prefix VMTEST_CGROUP=$layout VMTEST_ACCEL=$accel VMTEST_MODE=$mode VMTEST_KDIR=$kdir VMTEST_SUITE=$SUITE"
	[ -n "$FILTER" ] && append="$append VMTEST_FILTER=$FILTER"
	local qemu=(qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" -smp "$smp" -m "$MEM"
		-nodefaults -display none -no-reboot
		-kernel "$kdir/vmlinuz" -initrd "$kdir/initramfs.cpio.gz" -append "$append"
		-virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap"
		-virtfs "local,path=$od,mount_tag=vmout,security_model=passthrough"
		-device virtio-rng-pci)
	local disk=$B/scratch/$name.img
	if make_scratch_disk "$disk" >"$od/scratch-disk.log" 2>&1; then
		qemu+=(-drive "file=$disk,if=virtio,format=raw,cache=unsafe")
	else
		say "$name: no scratch disk (see $od/scratch-disk.log): the guest's /tmp is a tmpfs"
	fi
	t0=$(date +%s)
	if [ "$mode" = shell ]; then
		say "$name: shell on the serial console (^A x quits QEMU)"
		"${qemu[@]}" -serial mon:stdio || true
		rm -f "$disk"
		return 0
	fi
	# `timeout` leads a process group of its own, which a terminal's ^C does
	# not reach: stop_guests signals it by the pid kept here.
	timeout -k 10 "$TIMEOUT" "${qemu[@]}" -serial stdio -monitor none </dev/null >"$log" 2>&1 &
	echo $! >"$od/timeout.pid"
	wait $! || rc=$?
	rm -f "$od/timeout.pid" "$disk"
	echo $(($(date +%s) - t0)) >"$od/vm.seconds"
	[ "$rc" = 124 ] || [ "$rc" = 137 ] && echo "hung: killed after ${TIMEOUT}s" >"$od/vm.error"
	[ "$rc" != 0 ] && [ ! -f "$od/vm.error" ] && echo "qemu exited with status $rc" >"$od/vm.error"
	return 0
}

# Prints "VERDICT PASSED FAILED SKIPPED SECONDS NOTE" for a cell's output dir.
verdict() {
	local od=$1 line p f s note="" v secs
	secs=$(cat "$od/vm.seconds" 2>/dev/null || echo -)
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$od/suite.log" 2>/dev/null | tail -n1 || true)
	if [ -n "$line" ]; then
		read -r p _ f _ s _ <<<"$line"
	else
		p=- f=- s=-
	fi
	if [ -f "$od/vm.error" ]; then
		v=FAIL note=$(cat "$od/vm.error")
	elif [ -s "$od/setup-errors" ]; then
		v=FAIL note="guest setup: $(head -n1 "$od/setup-errors")"
	elif [ -z "$line" ]; then
		v=FAIL note="no result line from the suite"
	elif [ "$f" != 0 ]; then
		v=FAIL
	elif [ "$p" = 0 ]; then
		v=FAIL note="no case passed"
	elif [ "$(cat "$od/suite.rc" 2>/dev/null)" != 0 ]; then
		v=FAIL note="suite exited with status $(cat "$od/suite.rc" 2>/dev/null || echo ?)"
	else
		v=ok
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$p" "$f" "$s" "$secs" "$note"
}

# How much of the suite's time the guest cpu was idle (waiting, sleeping).
idle_pct() {
	[ -s "$1/stat.before" ] && [ -s "$1/stat.after" ] || {
		echo "idle ?"
		return
	}
	cat "$1/stat.before" "$1/stat.after" | awk '{ t = 0; for (i = 2; i <= NF; i++) t += $i; tot[NR] = t; idle[NR] = $5 + $6 }
		END { d = tot[2] - tot[1]; printf "idle %d%%\n", (d > 0 ? 100 * (idle[2] - idle[1]) / d : 0) }'
}

# The features `rlbpfd --probe` did not report OK, as "name:ERRNO".
probe_summary() {
	local f=$1
	[ -s "$f" ] || {
		echo "(no probe output)"
		return
	}
	awk 'NR > 1 && NF >= 3 && $2 == "FALLBACK" { printf "%s%s:fallback", sep, $1; sep = " " }
	     NR > 1 && NF >= 3 && $2 != "OK" && $2 != "FALLBACK" { printf "%s%s:%s", sep, $1, $3; sep = " " }
	     NR > 1 && NF >= 3 && $2 == "OK" { ok++ }
	     END { if (!sep) printf "all %d OK", ok; else printf " (%d OK)", ok; print "" }' "$f"
}

# ---- interrupted (^C, a timeout around make, a closed terminal): every guest
# stops with us, not at its own time limit.
stop_guests() {
	local f pid
	for f in "$B"/out/*/timeout.pid; do
		pid=$(cat "$f" 2>/dev/null) || continue
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = timeout ] || continue
		kill -TERM -- "-$pid" 2>/dev/null || true
	done
	pkill -TERM -P $$ 2>/dev/null || true
	rm -rf "$B/scratch"
}
trap 'stop_guests; exit 130' INT
trap 'stop_guests; exit 143' TERM
trap 'stop_guests; exit 129' HUP

# ---- the cells
IFS=, read -r -a series_list <<<"$KERNELS"
IFS=, read -r -a layouts <<<"$CGROUPS"
for l in "${layouts[@]}"; do
	case $l in v1 | v2) ;; *) die "VMTEST_CGROUPS: unknown layout '$l' (v1, v2)" ;; esac
done

rows=() # "name|series|layout|kdir-or-empty|skip reason"
declare -A kdirs=() reasons=()
for series in "${series_list[@]}"; do
	fetch_kernel "$series"
	kdirs[$series]=$kdir
	reasons[$series]=$skip_reason
	[ -n "$skip_reason" ] && say "$series: skipped: $skip_reason"
	rel=${kdir##*/}
	for layout in "${layouts[@]}"; do
		rows+=("${rel:-$series}-$layout|$series|$layout")
	done
done

say "$accel, ${smp} cpu(s) and ${MEM} MiB per guest, $jobs at a time, ${TIMEOUT}s bound per cell"
running=0
for row in "${rows[@]}"; do
	IFS='|' read -r name series layout <<<"$row"
	[ -n "${kdirs[$series]}" ] || continue
	if [ "$shell_mode" = 1 ]; then
		run_cell "$series" "$layout" "${kdirs[$series]}" "$name"
		exit 0
	fi
	say "$name: booting"
	(
		run_cell "$series" "$layout" "${kdirs[$series]}" "$name"
		IFS=$'\t' read -r v p f s secs note < <(verdict "$B/out/$name")
		say "$name: $v ($p passed, $f failed, $s skipped) in ${secs}s, guest $(idle_pct "$B/out/$name")${note:+: $note}"
	) &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true

# ---- the host row
host_rel=$(uname -r)
host_layout() {
	local root unified
	root=$(stat -f -c %T /sys/fs/cgroup 2>/dev/null || echo none)
	unified=$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null || echo none)
	if [ "$root" = cgroup2fs ]; then echo v2; elif [ "$unified" = cgroup2fs ]; then echo v1; else echo v1-only; fi
}
hod=$B/out/host
rm -rf "$hod"
mkdir -p "$hod"
host_counted=0 host_note=""
if [ "${VMTEST_HOST:-0}" = 1 ] && [ "$shell_mode" = 0 ]; then
	say "host: running the suite natively"
	t0=$(date +%s)
	rc=0
	RLBPF_TEST_PREFIX=$B/prefix "$repo/tests/integration/run.sh" ${FILTER//,/ } >"$B/logs/host.log" 2>&1 || rc=$?
	echo "$rc" >"$hod/suite.rc"
	echo $(($(date +%s) - t0)) >"$hod/vm.seconds"
	cp "$B/logs/host.log" "$hod/suite.log"
	host_counted=1 host_note="run natively now (build/vmtest/logs/host.log)"
elif [ -f "$B/logs/host.log" ]; then
	# From `make test` (.ci/run tees it there): its closing line decides;
	# shown, but not counted in the exit status, which is the VMs'.
	cp "$B/logs/host.log" "$hod/suite.log"
	echo 0 >"$hod/suite.rc"
	host_note="from build/vmtest/logs/host.log of $(date -r "$B/logs/host.log" '+%F %T') (an earlier native run: make test in .ci/run, or VMTEST_HOST=1); not counted in the exit status"
fi
"$B/prefix/bin/rlbpfd" --probe >"$hod/probe.txt" 2>&1 || true

# ---- the matrix
total=$(($(date +%s) - started))
echo
printf '%-30s %-6s %-6s %6s %6s %7s %6s  %s\n' KERNEL CGROUP RESULT PASSED FAILED SKIPPED TIME "PROBE (rlbpfd --probe: features not OK)"
bad=0
print_row() {
	local kernel=$1 layout=$2 od=$3 counted=$4 v p f s secs note
	IFS=$'\t' read -r v p f s secs note < <(verdict "$od")
	[ "$v" = ok ] || [ "$counted" = 0 ] || bad=1
	[ "$secs" = - ] || secs=${secs}s
	printf '%-30s %-6s %-6s %6s %6s %7s %6s  %s\n' "$kernel" "$layout" "$v" "$p" "$f" "$s" "$secs" "$(probe_summary "$od/probe.txt")"
	[ -n "$note" ] && printf '%-30s   %s\n' "" "$note"
	local missing
	missing=$(sed -n 's/^v1_missing=//p' "$od/guest.env" 2>/dev/null || true)
	[ -z "$missing" ] || printf '  note: this kernel has no cgroup v1 %s (built without v1 support for them)\n' "${missing// /, }"
	# What the agent attached here, by kind of hook (rlbpfd --list in the
	# guest, without the feature probes, which never load with it)
	if [ -s "$od/list.txt" ]; then
		awk '/^programs/ { p = 1; next } /^maps/ { p = 0 } p && $1 != "NAME" && $1 !~ /^rl_probe_/ {
			split($2, s, "/"); n[s[1]]++ }
			END { for (k in n) { printf "%s%s x%d", sep, k, n[k]; sep = ", " } print "" }' "$od/list.txt" |
			sed 's/^/  BPF programs: /'
	fi
	# Which path kept --memory caps in this cell (tests/integration/run.sh
	# says; t_memory.sh checks inspect agrees).
	grep -E '^memory caps: ' "$od/suite.log" 2>/dev/null | head -n1 | sed 's/^/  /' || true
	# The reasons of skipped cases belong in the matrix too.
	# (one line per reason, with the cases it covers)
	grep -E '^skip ' "$od/suite.log" 2>/dev/null |
		sed -E 's/^skip ([^ ]+) \((.*), [0-9.]+s\)$/\2\t\1/' |
		awk -F'\t' '{ n[$1]++; c[$1] = c[$1] (c[$1] ? " " : "") $2 }
			END { for (r in n) printf "  skipped %d: %s: %s\n", n[r], r, c[r] }' || true
}
for row in "${rows[@]}"; do
	IFS='|' read -r name series layout <<<"$row"
	if [ -z "${kdirs[$series]}" ]; then
		printf '%-30s %-6s %-6s %6s %6s %7s %6s  %s\n' "$series" "$layout" skip - - - - "${reasons[$series]}"
		bad=1 # a cell that ran no test is no proof
		continue
	fi
	print_row "${name%-"$layout"}" "$layout" "$B/out/$name" 1
done
if [ -s "$hod/suite.log" ]; then
	print_row "$host_rel (host)" "$(host_layout)" "$hod" "$host_counted"
	echo "  host row: $host_note"
else
	printf '%-30s %-6s %-6s %6s %6s %7s %6s  %s\n' "$host_rel (host)" "$(host_layout)" "-" - - - - \
		"not run here: VMTEST_HOST=1 runs it ($(probe_summary "$hod/probe.txt"))"
fi
echo "vmtest: $accel, ${total}s in all; logs in build/vmtest/logs/, results in build/vmtest/out/"
exit "$bad"
