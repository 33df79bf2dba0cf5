#!/bin/sh
# Builds rlbpf's embedded default image: a busybox rootfs plus our hog.
# Usage: tools/mkimage.sh OUT.tar HOG_BINARY
#
# The rootfs is Debian's busybox-static (/bin/busybox, or $BUSYBOX) with every
# applet as a relative symlink, a small /etc (root, daemon, bin, www-data,
# user 1000, nobody) and empty /etc/hostname, /etc/hosts and /etc/resolv.conf
# that rlbpf bind-mounts over. The tarball is reproducible (sorted names,
# mtime 0, owner 0:0 numeric, GNU format) and replaces OUT atomically.
# Quiet on success.
set -eu

prog=tools/mkimage.sh
die() {
	echo "$prog: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: $prog OUT.tar HOG_BINARY"
out=$1
hog=$2
busybox=${BUSYBOX:-/bin/busybox}

[ -x "$busybox" ] || die "$busybox not found; install it with 'sudo apt-get install busybox-static'"
[ -f "$hog" ] && [ -x "$hog" ] || die "$hog is not an executable file; build it with 'make build/bin/hog'"
tar --version 2>/dev/null | grep -q 'GNU tar' || die "GNU tar is needed for a reproducible tarball; install it with 'sudo apt-get install tar'"
# A dynamically linked busybox would not run in a rootfs without its libc.
applets=$("$busybox" --list-full) || die "$busybox --list-full failed; is it Debian's busybox-static?"
[ -n "$applets" ] || die "$busybox --list-full listed no applets"

# Permissions in the tarball must not depend on the caller's umask.
umask 022
outdir=$(dirname -- "$out")
[ -d "$outdir" ] || die "output directory $outdir does not exist"
# Absolute paths: the rootfs is assembled from inside the work directory.
out=$(cd -- "$outdir" && pwd)/$(basename -- "$out")
case $hog in /*) ;; *) hog=$(pwd)/$hog ;; esac
work=$(mktemp -d "${TMPDIR:-/tmp}/rlbpf-mkimage.XXXXXX")
tmp_out="$out.tmp.$$"
cleanup() {
	rm -rf -- "$work"
	rm -f -- "$tmp_out"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

root=$work/rootfs
mkdir -p "$root"
cd "$root"

mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev run root tmp home/user var/www
chmod 1777 tmp
chmod 0700 root

cp -- "$busybox" bin/busybox
chmod 0755 bin/busybox

# Relative links keep working when the rootfs is inspected from the host.
printf '%s\n' "$applets" | while IFS= read -r path; do
	case $path in
	'' | bin/busybox) continue ;;
	/* | *..*) die "unexpected applet path '$path' from $busybox --list-full" ;;
	esac
	dir=$(dirname -- "$path")
	up=
	rest=$dir
	while [ "$rest" != . ]; do
		up="../$up"
		rest=$(dirname -- "$rest")
	done
	target=${up}bin/busybox
	[ "$dir" = bin ] && target=busybox
	mkdir -p -- "$dir"
	ln -sf -- "$target" "$path"
done
for applet in sh ls id ps whoami sleep cat rm wget httpd nc su true false env touch stat mkdir grep; do
	found=
	for d in bin sbin usr/bin usr/sbin; do
		[ -L "$d/$applet" ] && found=1 && break
	done
	[ -n "$found" ] || die "$busybox has no '$applet' applet; the image needs it"
done

cp -- "$hog" usr/bin/hog
chmod 0755 usr/bin/hog

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >etc/group <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
tty:x:5:
www-data:x:33:
user:x:1000:
nogroup:x:65534:
EOF
# Every password locked: root in the container switches users without one.
cat >etc/shadow <<'EOF'
root:*:0:0:99999:7:::
daemon:*:0:0:99999:7:::
bin:*:0:0:99999:7:::
www-data:*:0:0:99999:7:::
user:!:0:0:99999:7:::
nobody:*:0:0:99999:7:::
EOF
chmod 0644 etc/passwd etc/group
chmod 0640 etc/shadow
# Empty on purpose: rlbpf bind-mounts the container's own over them.
: >etc/hostname
: >etc/hosts
: >etc/resolv.conf

cd "$work"
tar --create --file="$tmp_out" --format=gnu --sort=name --mtime=@0 \
	--owner=0 --group=0 --numeric-owner --directory=rootfs . ||
	die "tar failed writing $tmp_out"
chmod 0644 "$tmp_out"
mv -f -- "$tmp_out" "$out"
