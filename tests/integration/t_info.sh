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

# `rlbpf info` (as root, so that it can probe) says for each BPF feature
# what `rlbpfd --probe` says: works, lacking with the path rlbpf takes
# instead, or lacking with the kernel's errno. On 5.10 that is where
# atomic_fetch and perf_link say fallback.
test_info_says_which_bpf_path_is_in_use() {
	command -v jq >/dev/null || skip "jq is needed to read 'rlbpf info --format json'"
	local probe json name status errno want got
	probe=$("$T_PREFIX/bin/rlbpfd" --probe 2>/dev/null)
	json=$("$RLBPF" info --format json)
	while read -r name status errno _; do
		case $status in
		OK) want="ok" ;;
		FALLBACK) want="fallback" ;;
		*) want="$errno" ;;
		esac
		got=$(jq -r --arg n "$name" '.bpf_features.features[] | select(.name == $n) |
			if .ok then "ok" elif .fallback then "fallback" else .error end' <<<"$json")
		assert_eq "$want" "$got" "rlbpf info on $name, as rlbpfd --probe says ($status)"
	done < <(tail -n +2 <<<"$probe")
	# and the text form in the same words
	capture "$RLBPF" info
	case $(awk '$1 == "perf_link" { print $2 }' <<<"$probe") in
	OK) want=yes ;;
	FALLBACK) want=fallback ;;
	*) want=no ;;
	esac
	assert_contains "$OUT" $'\n perf_link: '"$want (" "perf_link's line in rlbpf info"
}
