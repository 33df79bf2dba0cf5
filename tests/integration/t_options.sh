# shellcheck shell=bash
# `rlbpf run` options, each with Docker's meaning.

test_rm_leaves_no_state_and_without_it_state_stays() {
	local before dir
	before=$(state_dirs "$T1")
	rlbpf_run "$T1" --rm busybox true
	assert_eq 0 "$RC" "exit status of 'rlbpf run --rm busybox true' (stderr $(_show "$ERR"))"
	assert_eq "$before" "$(state_dirs "$T1")" "container state directories after a --rm run"

	rlbpf_run "$T1" --name keep-me busybox true
	assert_eq 0 "$RC" "exit status of 'rlbpf run --name keep-me busybox true' (stderr $(_show "$ERR"))"
	dir=$(new_state_dir "$T1" "$before")
	if [ -z "$dir" ]; then
		fail "no new directory under \$XDG_RUNTIME_DIR/rlbpf/containers after a run without --rm"
		return
	fi
	assert_match "$(basename "$dir")" '^[0-9a-f]{64}$' "name of the state directory"
	assert_true "the name keep-me is recorded under $dir" grep -rqs keep-me "$dir"
	assert_no_processes "$T1" "after a run without --rm"
}

test_env() {
	rlbpf_run "$T1" --rm -e FOO=bar --env 'SPACED=a b=c' busybox env
	assert_eq 0 "$RC" "exit status of 'rlbpf run -e FOO=bar ... env' (stderr $(_show "$ERR"))"
	assert_match "$OUT" '^FOO=bar$' "env inside after -e FOO=bar"
	assert_match "$OUT" '^SPACED=a b=c$' "env inside after --env 'SPACED=a b=c'"

	# -e KEY alone takes the caller's value; an unset KEY is left out.
	capture as_user "$T1" FROM_CALLER=hello "$RLBPF" run --rm -e FROM_CALLER -e NOT_SET_ANYWHERE busybox env
	assert_eq 0 "$RC" "exit status of 'rlbpf run -e FROM_CALLER ... env' (stderr $(_show "$ERR"))"
	assert_match "$OUT" '^FROM_CALLER=hello$' "env inside after -e FROM_CALLER (caller has hello)"
	assert_not_contains "$OUT" "NOT_SET_ANYWHERE" "env inside after -e of a variable the caller does not have"
	# The caller's own environment does not leak in.
	assert_not_contains "$OUT" "XDG_RUNTIME_DIR=" "env inside"
}

test_workdir() {
	rlbpf_run "$T1" --rm -w /tmp busybox pwd
	assert_eq 0 "$RC" "exit status of 'rlbpf run -w /tmp busybox pwd' (stderr $(_show "$ERR"))"
	assert_eq /tmp "$OUT" "pwd inside with -w /tmp"
}

test_user() {
	rlbpf_run "$T1" --rm -u 1000:1000 busybox sh -c 'id -u; id -g'
	assert_eq 0 "$RC" "exit status of 'rlbpf run -u 1000:1000' (stderr $(_show "$ERR"))"
	assert_eq $'1000\n1000' "$OUT" "id -u and id -g inside with -u 1000:1000"

	rlbpf_run "$T1" --rm -u 1000 busybox id -u
	assert_eq 1000 "$OUT" "id -u inside with -u 1000"

	rlbpf_run "$T1" --rm busybox sh -c 'id -u; id -g'
	assert_eq $'0\n0' "$OUT" "id -u and id -g inside by default"
}

test_hostname() {
	rlbpf_run "$T1" --rm -h box-one busybox hostname
	assert_eq box-one "$OUT" "hostname inside with -h box-one (stderr $(_show "$ERR"))"
	rlbpf_run "$T1" --rm --hostname box-two busybox cat /etc/hostname
	assert_eq box-two "$OUT" "/etc/hostname inside with --hostname box-two (stderr $(_show "$ERR"))"
	# Its own UTS namespace: by default not the host's name.
	rlbpf_run "$T1" --rm busybox hostname
	assert_eq 0 "$RC" "exit status of 'hostname' inside (stderr $(_show "$ERR"))"
	assert_ne "$(hostname)" "$OUT" "hostname inside by default"
}

test_read_only_root_and_volumes() {
	local dir
	dir=$(scratch_dir read-only "$T1" 0777)

	# Without --read-only the root is writable (a copy-on-write layer).
	rlbpf_run "$T1" --rm busybox touch /x
	assert_eq 0 "$RC" "exit status of 'touch /x' without --read-only (stderr $(_show "$ERR"))"

	rlbpf_run "$T1" --rm --read-only busybox touch /x
	assert_ne 0 "$RC" "exit status of 'touch /x' with --read-only"
	assert_contains "$ERR" "Read-only file system" "stderr of 'touch /x' with --read-only"

	rlbpf_run "$T1" --rm --read-only -v "$dir:/data" busybox touch /data/written
	assert_eq 0 "$RC" "exit status of 'touch /data/written' on a volume with --read-only (stderr $(_show "$ERR"))"
	assert_true "the volume file exists on the host" test -e "$dir/written"

	rlbpf_run "$T1" --rm -v "$dir:/data:ro" busybox touch /data/refused
	assert_ne 0 "$RC" "exit status of 'touch' on a :ro volume"
	assert_contains "$ERR" "Read-only file system" "stderr of 'touch' on a :ro volume"
	assert_false "a file appeared in the :ro volume on the host" test -e "$dir/refused"

	rlbpf_run "$T1" --rm -v "$dir:/data:rw" busybox touch /data/rw
	assert_eq 0 "$RC" "exit status of 'touch' on a :rw volume (stderr $(_show "$ERR"))"
}
