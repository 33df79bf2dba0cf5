# shellcheck shell=bash
# A user without subordinate ranges still runs containers, with a single-id
# map, and is told so once.

test_single_id_map_without_ranges() {
	if [ -n "$(subid_start /etc/subuid "$T2")$(subid_start /etc/subgid "$T2")" ]; then
		fail "$T2 has a subordinate range (tools/testusers.sh create should have removed it)"
		return
	fi
	local dir
	dir=$(scratch_dir fallback "$T2" 0755)
	rlbpf_run "$T2" --rm -v "$dir:/data" busybox sh -c 'id -u; id -g; touch /data/f'
	assert_eq 0 "$RC" "exit status as $T2 (stderr $(_show "$ERR"))"
	assert_eq $'0\n0' "$OUT" "id -u and id -g inside as $T2"
	assert_eq 1 "$(printf '%s\n' "$ERR" | grep -c 'single-id map')" "lines saying 'single-id map' on stderr (stderr $(_show "$ERR"))"
	assert_eq "$(id -u "$T2"):$(id -g "$T2")" "$(stat -c %u:%g "$dir/f" 2>&1)" "host owner of a file made by container root as $T2"
}
