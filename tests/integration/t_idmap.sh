# shellcheck shell=bash
# User namespace maps written by rlbpfd (IDMAP) instead of the setuid
# newuidmap and newgidmap: the same maps, and the same refusals in
# newuidmap's own words.

# _unmapped USER: a process of USER's in a user namespace of its own whose
# maps nobody has written; its pid in UNMAPPED.
_unmapped() {
	local f=$T_CASE_DIR/unmapped.pid
	: >"$f"
	chown "$1" "$f"
	# shellcheck disable=SC2016 # for the inner sh
	if [ "$1" = root ]; then
		sh -c 'echo $$ >"$0"; exec unshare --user sleep 60' "$f" &
	else
		as_user "$1" sh -c 'echo $$ >"$0"; exec unshare --user sleep 60' "$f" &
	fi
	wait_until 100 eval '[ -s "$f" ] && [ "$(cat "/proc/$(cat "$f")/comm" 2>/dev/null)" = sleep ]' ||
		fail "no unmapped sleep of $1's"
	UNMAPPED=$(cat "$f")
}

# _newuidmap_says USER ARGS...: newuidmap's own error for the same request.
_newuidmap_says() {
	as_user "$1" /usr/bin/newuidmap "${@:2}" 2>&1 >/dev/null | sed 's/^newuidmap: //'
}

test_agent_writes_the_maps_and_no_setuid_helper_runs() {
	_need_agent
	command -v strace >/dev/null || skip "strace is not installed (tools/deps.sh test installs it)"
	local start out
	start=$(subid_start /etc/subuid "$T1")
	out=$T_CASE_DIR/strace
	capture strace -f -qq -e trace=execve -o "$out" \
		setpriv --reuid="$(id -u "$T1")" --regid="$(id -g "$T1")" --init-groups \
		env HOME="$T_TMP/home/$T1" XDG_RUNTIME_DIR="$(user_runtime_dir "$T1")" \
		XDG_DATA_HOME="$(user_data_dir "$T1")" "$RLBPF" run --rm --network none busybox cat /proc/self/uid_map
	assert_eq 0 "$RC" "run with rlbpfd writing the maps (stderr $(_show "$ERR"))"
	assert_match "$OUT" "^ +0 +$(id -u "$T1") +1$" "the container's uid_map: root is the user"
	assert_match "$OUT" "^ +1 +$start +[0-9]+$" "the container's uid_map: 1 and up from the range"
	assert_eq 0 "$(grep -c 'newuidmap\|newgidmap' "$out")" "execs of newuidmap or newgidmap"
	# ownership as before: container uid 1000 is subuid-start+999 on a volume
	local vol
	vol=$(scratch_dir idmap-vol "$T1" 0777)
	capture rlbpf_run "$T1" --rm --network none -v "$vol:/v" -u 1000 busybox touch /v/f
	assert_eq 0 "$RC" "touch as uid 1000 (stderr $(_show "$ERR"))"
	assert_eq $((start + 999)) "$(stat -c %u "$vol/f")" "the host owner of uid 1000's file"
}

test_agent_refuses_what_newuidmap_refuses() {
	_need_agent
	_raw_client
	local uid gid start count theirs
	uid=$(id -u "$T1") gid=$(id -g "$T1")
	start=$(subid_start /etc/subuid "$T1")
	count=$(awk -F: -v n="$T1" 'NF == 3 && $1 == n { print $3; exit }' /etc/subuid)

	# a range outside the caller's lines
	_unmapped "$T1"
	local outside=$((start + count))
	capture raw "$T1" idmap "$UNMAPPED" "u:0:$uid:1" "u:1:$outside:10" "g:0:$gid:1"
	theirs=$(_newuidmap_says "$T1" "$UNMAPPED" 0 "$uid" 1 1 "$outside" 10)
	assert_eq "-1 $theirs" "$OUT" "a uid range outside /etc/subuid, in newuidmap's words"
	assert_eq "" "$(cat "/proc/$UNMAPPED/uid_map")" "nothing was mapped"

	# the whole of the caller's lines: mapped; then a second map, refused
	capture raw "$T1" idmap "$UNMAPPED" "u:0:$uid:1" "u:1:$start:$count" "g:0:$gid:1"
	assert_eq "0 mapped" "$OUT" "the caller's own range"
	assert_match "$(cat "/proc/$UNMAPPED/uid_map")" "^ +1 +$start +$count$" "the map written"
	capture raw "$T1" idmap "$UNMAPPED" "u:0:$uid:1" "g:0:$gid:1"
	theirs=$(_newuidmap_says "$T1" "$UNMAPPED" 0 "$uid" 1)
	assert_eq "-1 $theirs" "$OUT" "a process that has its map already, in newuidmap's words"
	kill "$UNMAPPED"

	# the caller's own gid alone: setgroups denied first, as newgidmap
	# does, so that no group can be dropped to get past a "deny" mode
	_unmapped "$T1"
	capture raw "$T1" idmap "$UNMAPPED" "u:0:$uid:1" "g:0:$gid:1"
	assert_eq "0 mapped" "$OUT" "a map of the caller's own ids alone"
	assert_eq deny "$(cat "/proc/$UNMAPPED/setgroups")" "setgroups after a gid map without a range"
	kill "$UNMAPPED"

	# another user's process
	_unmapped root
	capture raw "$T1" idmap "$UNMAPPED" "u:0:$uid:1" "g:0:$gid:1"
	theirs=$(_newuidmap_says "$T1" "$UNMAPPED" 0 "$uid" 1)
	assert_eq "-1 $theirs" "$OUT" "another user's process, in newuidmap's words"
	assert_eq "" "$(cat "/proc/$UNMAPPED/uid_map")" "nothing was mapped"
	kill "$UNMAPPED"
}
