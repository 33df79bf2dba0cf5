# shellcheck shell=bash
# Capabilities, seccomp and no-new-privileges: Docker's defaults and options.

# _status_line FIELD ARG...: FIELD's line of /proc/self/status in a container.
_status_line() {
	local field=$1
	shift
	rlbpf_run "$T1" --rm "$@" busybox grep "^$field:" /proc/self/status
	# Called inside $(...): the failure line goes to the log, not the value.
	[ "$RC" = 0 ] || fail "rlbpf run $* busybox grep $field: exit $RC, stderr $(_show "$ERR")" >&2
	printf '%s\n' "$OUT" | tr -s '\t ' ' '
}

test_capabilities() {
	# Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID
	# SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
	assert_eq "CapEff: 00000000a80425fb" "$(_status_line CapEff)" "root's effective capabilities by default"
	assert_eq "CapBnd: 00000000a80425fb" "$(_status_line CapBnd)" "bounding set by default"
	assert_eq "CapEff: 0000000000000000" "$(_status_line CapEff -u 1000)" "effective capabilities of uid 1000"
	assert_eq "CapEff: 0000000000000000" "$(_status_line CapEff --cap-drop ALL)" "effective capabilities with --cap-drop ALL"
	# SYS_ADMIN is bit 21.
	assert_eq "CapEff: 00000000a82425fb" "$(_status_line CapEff --cap-add SYS_ADMIN)" "effective capabilities with --cap-add SYS_ADMIN"
	# NET_RAW is bit 13.
	assert_eq "CapEff: 00000000a80405fb" "$(_status_line CapEff --cap-drop NET_RAW)" "effective capabilities with --cap-drop NET_RAW"
}

test_no_new_privileges() {
	assert_eq "NoNewPrivs: 0" "$(_status_line NoNewPrivs)" "no_new_privs by default"
	assert_eq "NoNewPrivs: 1" "$(_status_line NoNewPrivs --security-opt no-new-privileges)" "no_new_privs with --security-opt no-new-privileges"
}

test_default_seccomp_blocks_unshare() {
	# unshare(2) is one of the calls Docker's profile refuses without
	# SYS_ADMIN; busybox's unshare applet is the one tool at hand that makes it.
	rlbpf_run "$T1" --rm busybox sh -c 'busybox --list | grep -qx unshare'
	# grep's 1 means the applet is missing; anything else is rlbpf failing.
	[ "$RC" != 1 ] || skip "the image's busybox has no unshare applet"
	if [ "$RC" != 0 ]; then
		fail "cannot list the image's busybox applets: exit $RC, stderr $(_show "$ERR")"
		return
	fi

	rlbpf_run "$T1" --rm busybox unshare -U true
	assert_ne 0 "$RC" "exit status of 'unshare -U true' under the default seccomp profile"
	assert_contains "$ERR" "Operation not permitted" "stderr of 'unshare -U true' under the default profile"

	rlbpf_run "$T1" --rm --security-opt seccomp=unconfined busybox unshare -U true
	assert_eq 0 "$RC" "exit status of 'unshare -U true' with seccomp=unconfined (stderr $(_show "$ERR"))"

	rlbpf_run "$T1" --rm --cap-add SYS_ADMIN busybox unshare -U true
	assert_eq 0 "$RC" "exit status of 'unshare -U true' with --cap-add SYS_ADMIN, which Docker's profile allows (stderr $(_show "$ERR"))"
}

test_seccomp_profile_file() {
	local f=$T_TMP/scratch/deny-mkdir.json
	cat >"$f" <<'JSON'
{
	"defaultAction": "SCMP_ACT_ALLOW",
	"syscalls": [
		{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO" }
	]
}
JSON
	chmod 644 "$f"
	rlbpf_run "$T1" --rm --security-opt "seccomp=$f" busybox mkdir /made
	assert_ne 0 "$RC" "exit status of mkdir under a profile that denies mkdir"
	assert_contains "$ERR" "Operation not permitted" "stderr of mkdir under a profile that denies mkdir"

	rlbpf_run "$T1" --rm --security-opt "seccomp=$f" busybox touch /made
	assert_eq 0 "$RC" "exit status of touch under that profile, which allows the rest (stderr $(_show "$ERR"))"
}
