# shellcheck shell=bash
# Sourced by the integration suite and make bench.
# rootfs_with DIR FILE:PATH...: a root filesystem of Debian's own programs,
# as an image built from the archive would hold them: each host FILE copied
# to PATH inside, with every library it loads, plus busybox as /bin/sh.
# Readable by everyone: the unprivileged users run it.
rootfs_with() {
	local dir=$1 spec src dst lib
	shift
	[ -d "$dir" ] && { echo "$dir"; return 0; }
	mkdir -p "$dir"/{bin,etc,tmp,lib64,usr/bin}
	chmod 1777 "$dir/tmp"
	cp "$(command -v busybox)" "$dir/bin/busybox"
	ln -s busybox "$dir/bin/sh"
	echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
	echo 'root:x:0:' >"$dir/etc/group"
	for spec in "$@"; do
		src=${spec%%:*} dst=${spec#*:}
		mkdir -p "$dir$(dirname "$dst")"
		cp -L "$src" "$dir$dst"
		for lib in $(ldd "$src" | grep -o '/[^ ]*'); do
			mkdir -p "$dir$(dirname "$lib")"
			[ -e "$dir$lib" ] || cp -L "$lib" "$dir$lib"
		done
	done
	chmod -R a+rX "$dir"
	echo "$dir"
}

# rootfs_redis DIR: Redis from Debian's redis-tools (redis-server is the
# same program as redis-check-rdb, told apart by argv[0]), with redis-cli
# and redis-benchmark.
rootfs_redis() {
	rootfs_with "$1" "$(command -v redis-check-rdb):/usr/bin/redis-server" \
		"$(command -v redis-cli):/usr/bin/redis-cli" \
		"$(command -v redis-benchmark):/usr/bin/redis-benchmark"
}
