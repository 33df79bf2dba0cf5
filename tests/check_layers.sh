#!/bin/bash
# The layers of userspace/ (README, Layout) and the privilege boundary:
# 1. no source includes a header from a folder above its own;
# 2. each program's link map holds objects only from the folders it may use,
#    so nothing but agent/, proto/ and lib/ ever runs as root in rlbpfd.
# Usage: tests/check_layers.sh BUILD_DIR
set -u
cd "$(dirname "$0")/.."
build=${1:-build}

# Lowest first. agent/ stands beside the stack: it may use proto/ and lib/.
# oci/ (rlbpf-runtime) is a front end beside cli/: neither uses the other.
declare -A rank=([lib]=1 [proto]=2 [net]=3 [runtime]=4 [image]=5 [supervise]=6 [cli]=7 [oci]=7 [api]=7 [agent]=0)
passed=0 failed=0
fail() { echo "layers: $*" >&2; failed=$((failed + 1)); }

may_include() { # FROM TO
	local from=$1 to=$2
	[ "$from" = "$to" ] && return 0
	if [ "$from" = agent ]; then
		[ "$to" = proto ] || [ "$to" = lib ]
		return
	fi
	[ "$to" != agent ] && ((rank[$to] < rank[$from]))
}

loose=$(find userspace -maxdepth 1 -type f | head -n 5)
[ -z "$loose" ] || fail "files at the top of userspace/: $loose"
for dir in userspace/*/; do
	folder=$(basename "$dir")
	[ -n "${rank[$folder]+x}" ] || fail "userspace/$folder/ is not a known layer: add it to README's Layout and here"
done

bad=0
while IFS=: read -r file target; do
	from=${file#userspace/}; from=${from%%/*}
	to=${target%%/*}
	[ "$to" = "$target" ] && { fail "$file includes \"$target\" without its folder"; bad=1; continue; }
	[ -n "${rank[$to]+x}" ] || continue
	may_include "$from" "$to" || { fail "$file ($from/) includes $target, a layer above or beside it"; bad=1; }
done < <(grep -o '^#include "[^"]*"' -r userspace --include='*.[ch]' |
	sed 's/#include "\(.*\)"/\1/' | grep -v -e ':events.h$' -e ':rlbpf.skel.h$')
((bad)) || passed=$((passed + 1))

# The folders each program may link; rlbpf itself takes everything but agent/.
check_map() { # PROGRAM ALLOWED-FOLDERS...
	local prog=$1; shift
	local map="$build/$prog.map" obj folder ok
	[ -s "$map" ] || { fail "no link map for $prog ($map): build with make first"; return; }
	local n=0 bad=0
	while read -r obj; do
		n=$((n + 1))
		folder=${obj#"$build"/obj/}; folder=${folder%%/*}
		ok=0
		for allowed in "$@"; do [ "$folder" = "$allowed" ] && ok=1; done
		((ok)) || { fail "$prog links $obj, outside $*"; bad=1; }
	done < <(grep -o "^LOAD $build/obj/[^ ]*\.o" "$map" | cut -d' ' -f2)
	((n > 0)) || { fail "$prog's link map names none of our objects"; return; }
	((bad)) || passed=$((passed + 1))
}
check_map bin/rlbpfd agent proto lib
check_map libexec/rlbpf/rlbpf-monitor supervise runtime net proto lib
check_map libexec/rlbpf/rlbpf-unpack image lib
check_map libexec/rlbpf/rlbpf-pull image lib
check_map libexec/rlbpf/rlbpf-api api supervise image runtime proto lib
check_map bin/rlbpf cli supervise image runtime net proto lib
check_map bin/rlbpf-runtime oci supervise runtime proto lib

echo "layers: $passed passed, $failed failed"
((failed == 0))
