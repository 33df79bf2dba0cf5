# shellcheck shell=bash
# Bad input: one line on stderr starting with "rlbpf run: ", exit 125, and
# nothing left behind (no state directory, no process, no temporary file).

_lines() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }

# _bad WHAT ARG...: `rlbpf run ARG...` as rlbpf-t1 must be refused cleanly.
_bad() {
	local what=$1 before
	shift
	before=$(snapshot "$T1")
	rlbpf_run "$T1" "$@"
	assert_eq 125 "$RC" "$what: exit status (stderr $(_show "$ERR"))"
	assert_eq 1 "$(_lines "$ERR")" "$what: number of lines on stderr (stderr $(_show "$ERR"))"
	if [[ $ERR == "rlbpf run: "* ]]; then pass; else fail "$what: stderr should start with 'rlbpf run: ', got $(_show "$ERR")"; fi
	assert_nothing_left "$T1" "$before" "$what"
}

test_bad_rootfs_or_image() {
	userspace_only
	local file=$T_TMP/scratch/not-a-directory
	echo "just a file" >"$file"
	chmod 644 "$file"
	_bad "missing rootfs directory" --rm "$T_TMP/scratch/no-such-rootfs" true
	_bad "a regular file as rootfs" --rm "$file" true
	_bad "unknown image" --rm --pull never no-such-image true
	_bad "no image at all" --rm
}

test_unknown_option() {
	userspace_only
	_bad "unknown option" --rm --no-such-option busybox true
	_bad "unknown short option" --rm -Z busybox true
}

test_malformed_volume() {
	userspace_only
	_bad "-v foo" --rm -v foo busybox true
	_bad "-v /x:relative" --rm -v /x:relative busybox true
	_bad "-v /nonexistent:/x" --rm -v /nonexistent-rlbpf-test:/x busybox true
	_bad "-v /tmp:/x:bogus" --rm -v /tmp:/x:bogus busybox true
}

test_malformed_user() {
	userspace_only
	_bad "-u abc:" --rm -u abc: busybox true
	_bad "-u -1" --rm -u -1 busybox true
	_bad "-u 1:2:3" --rm -u 1:2:3 busybox true
}

test_malformed_env() {
	userspace_only
	_bad "-e =x" --rm -e =x busybox true
	_bad "-e ''" --rm -e '' busybox true
}

test_bad_seccomp_profile() {
	userspace_only
	local f=$T_TMP/scratch/not-json.json
	echo '{ "defaultAction": "SCMP_ACT_ALLOW", this is not json' >"$f"
	chmod 644 "$f"
	_bad "a seccomp profile that is not JSON" --rm --security-opt "seccomp=$f" busybox true
	_bad "a seccomp profile that does not exist" --rm --security-opt seccomp=/nonexistent-rlbpf-test.json busybox true
	_bad "an unknown --security-opt" --rm --security-opt no-such-thing busybox true
}
