# shellcheck shell=bash
# -t gives the container a real pty of its own; -i passes stdin through;
# without -i the container's stdin is /dev/null.

test_tty() {
	command -v script >/dev/null || skip "script (bsdutils) is not installed"
	# script gives rlbpf a terminal, as a user typing the command has.
	capture as_user "$T1" script -qec "$RLBPF run --rm -t busybox tty" /dev/null
	assert_eq 0 "$RC" "exit status of 'rlbpf run -t busybox tty' on a terminal (output $(_show "$OUT"))"
	assert_eq /dev/pts/0 "${OUT//$'\r'/}" "tty inside with -t"

	# Without -t the caller's terminal does not go in.
	capture as_user "$T1" script -qec "$RLBPF run --rm busybox tty" /dev/null
	assert_eq 1 "$RC" "exit status of 'tty' inside without -t"
	assert_eq "not a tty" "${OUT//$'\r'/}" "tty inside without -t"
}

test_interactive() {
	capture as_user "$T1" "$RLBPF" run --rm -i busybox cat <<<hello
	assert_eq 0 "$RC" "exit status of 'echo hello | rlbpf run -i busybox cat' (stderr $(_show "$ERR"))"
	assert_eq hello "$OUT" "output of 'echo hello | rlbpf run -i busybox cat'"

	capture as_user "$T1" "$RLBPF" run --rm busybox cat <<<hello
	assert_eq 0 "$RC" "exit status of 'echo hello | rlbpf run busybox cat' (stderr $(_show "$ERR"))"
	assert_eq "" "$OUT" "output of 'echo hello | rlbpf run busybox cat' (no -i: stdin is /dev/null)"
}

test_interactive_passes_all_bytes() {
	local in=$T_CASE_DIR/in out=$T_CASE_DIR/copy
	head -c 3000000 /dev/urandom >"$in"
	local rc=0
	as_user "$T1" "$RLBPF" run --rm -i busybox cat <"$in" >"$out" 2>"$T_CASE_DIR/err" || rc=$?
	assert_eq 0 "$rc" "exit status of 'rlbpf run -i busybox cat' with 3 MB of binary input"
	assert_eq "$(md5sum <"$in")" "$(md5sum <"$out")" "md5sum of 3 MB piped through 'rlbpf run -i busybox cat'"
}
