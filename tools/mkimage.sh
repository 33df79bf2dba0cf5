#!/bin/sh
# Builds rlbpf's embedded default image, busybox:latest, as a `docker save`
# archive: a busybox rootfs plus our hog (and tcpblast, a network test tool:
# busybox's nc has no UDP and the image has no iperf3).
# Usage: tools/mkimage.sh OUT.tar HOG_BINARY [TCPBLAST_BINARY]
#
# The rootfs is Debian's busybox-static (/bin/busybox, or $BUSYBOX) with every
# applet as a relative symlink, a small /etc (root, daemon, bin, www-data,
# user 1000, nobody) and empty /etc/hostname, /etc/hosts and /etc/resolv.conf
# that rlbpf bind-mounts over. It is one layer tar, owned 0:0 except
# /home/user (1000:1000); /root is 0700 and /tmp 1777.
#
# The archive holds what `docker save` writes: manifest.json (RepoTags
# ["busybox:latest"]), the config blob <sha256>.json (Cmd ["sh"], Env PATH),
# <sha256 of the layer>/layer.tar, and repositories. It is reproducible
# (sorted names, mtime 0, numeric owners, GNU format; the config's "created"
# is $SOURCE_DATE_EPOCH, else the busybox binary's mtime, which dpkg takes
# from the package) and replaces OUT atomically. Quiet on success.
set -eu

prog=tools/mkimage.sh
die() {
	echo "$prog: $*" >&2
	exit 1
}

[ $# -eq 2 ] || [ $# -eq 3 ] || die "usage: $prog OUT.tar HOG_BINARY [TCPBLAST_BINARY]"
out=$1
hog=$2
tcpblast=${3:-}
busybox=${BUSYBOX:-/bin/busybox}

[ -x "$busybox" ] || die "$busybox not found; install it with 'sudo apt-get install busybox-static'"
[ -f "$hog" ] && [ -x "$hog" ] || die "$hog is not an executable file; build it with 'make build/bin/hog'"
tar --version 2>/dev/null | grep -q 'GNU tar' || die "GNU tar is needed for a reproducible tarball; install it with 'sudo apt-get install tar'"
command -v sha256sum >/dev/null || die "sha256sum is needed; install it with 'sudo apt-get install coreutils'"
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
case $tcpblast in /* | "") ;; *) tcpblast=$(pwd)/$tcpblast ;; esac
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
if [ -n "$tcpblast" ]; then
	cp -- "$tcpblast" usr/bin/tcpblast
	chmod 0755 usr/bin/tcpblast
fi

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
# Reproducible tar options; the layer's own owners are set per member.
repro="--format=gnu --sort=name --mtime=@0 --numeric-owner"
# shellcheck disable=SC2086
tar --create --file=layer.tar $repro --owner=0 --group=0 --exclude=./home/user \
	--directory=rootfs . || die "tar failed writing the layer"
# shellcheck disable=SC2086
tar --append --file=layer.tar $repro --owner=1000 --group=1000 --no-recursion \
	--directory=rootfs ./home/user || die "tar failed writing the layer"
layer=$(sha256sum layer.tar | cut -d' ' -f1)

epoch=${SOURCE_DATE_EPOCH:-$(stat -c %Y -- "$busybox")}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ) || die "bad SOURCE_DATE_EPOCH '$epoch'"
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

mkdir archive
printf '{"architecture":"%s","config":{"Cmd":["sh"],"Env":["PATH=%s"]},"created":"%s","history":[{"created":"%s","created_by":"tools/mkimage.sh: Debian busybox-static and hog"}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
	"$arch" "$path" "$created" "$created" "$layer" >config.json
config=$(sha256sum config.json | cut -d' ' -f1)
mv config.json "archive/$config.json"
mkdir "archive/$layer"
mv layer.tar "archive/$layer/layer.tar"
printf '[{"Config":"%s.json","RepoTags":["busybox:latest"],"Layers":["%s/layer.tar"]}]\n' \
	"$config" "$layer" >archive/manifest.json
printf '{"busybox":{"latest":"%s"}}\n' "$layer" >archive/repositories
chmod 0644 archive/*.json archive/repositories "archive/$layer/layer.tar"
chmod 0755 "archive/$layer"

# Member names without "./", as docker save writes them.
members=$(cd archive && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort)
# shellcheck disable=SC2086
tar --create --file="$tmp_out" $repro --owner=0 --group=0 --directory=archive $members ||
	die "tar failed writing $tmp_out"
chmod 0644 "$tmp_out"
mv -f -- "$tmp_out" "$out"
