# shellcheck shell=bash
# rlbpf info and rlbpf setup.

test_info() {
	capture as_user "$T1" "$RLBPF" info
	assert_eq 0 "$RC" "exit status of 'rlbpf info' (stderr $(_show "$ERR"))"
	assert_contains "$OUT" "cgroup" "output of 'rlbpf info'"
	# On a cgroup v1 (or hybrid) host without the agent, memory limits are a
	# promise rlbpf cannot keep, and it must say so.
	if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] && [ ! -S /run/rlbpf/rlbpfd.sock ]; then
		assert_match "$OUT$ERR" 'WARNING.*[Mm]emory' "a WARNING about memory limits from 'rlbpf info' on this host"
	fi
}

test_info_json() {
	local parse
	if command -v jq >/dev/null; then
		parse="jq -e ."
	elif command -v python3 >/dev/null; then
		parse="python3 -m json.tool"
	else
		skip "neither jq nor python3 to parse JSON"
	fi
	capture as_user "$T1" "$RLBPF" info --format json
	assert_eq 0 "$RC" "exit status of 'rlbpf info --format json' (stderr $(_show "$ERR"))"
	if $parse <<<"$OUT" >/dev/null 2>"$T_CASE_DIR/parse.err"; then
		pass
	else
		fail "'rlbpf info --format json' is not valid JSON ($(cat "$T_CASE_DIR/parse.err")): $(_show "$OUT")"
	fi
}

test_setup_with_ranges() {
	capture as_user "$T1" "$RLBPF" setup
	assert_eq 0 "$RC" "exit status of 'rlbpf setup' as $T1, who has ranges (output $(_show "$OUT$ERR"))"
}

test_setup_without_ranges() {
	capture as_user "$T2" "$RLBPF" setup
	assert_eq 1 "$RC" "exit status of 'rlbpf setup' as $T2, who has no ranges"
	assert_contains "$OUT$ERR" "usermod --add-subuids" "the fix 'rlbpf setup' prints for $T2"
}
