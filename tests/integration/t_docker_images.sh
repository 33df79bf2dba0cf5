# shellcheck shell=bash
# The image routes of rlbpf's Docker API, with the real docker CLI: docker
# pull from t_pull.sh's test registry (plain HTTP on 127.0.0.1, which Docker
# allows without being told), docker run of what it pulled and of an image
# it has to pull first, docker load of a docker save archive, and docker
# image inspect.

# shellcheck source=tests/integration/docker_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/docker_lib.sh"
# shellcheck source=tests/integration/registry/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/registry/lib.sh"

# _forget REF: removes the image from $T1's store when the case ends.
_forget() { reg_at_exit "as_user '$T1' '$RLBPF' rmi -f '$1' >/dev/null 2>&1"; }

# _app_registry [REG_START-OPTION...]: the service, and a registry of
# t_pull.sh's holding test/app:v1 (its /marker says "app"), named in REF,
# which leaves $T1's store when the case ends.
_app_registry() {
	userspace_only
	reg_need
	reg_images || exit 0
	_service_start
	reg_start "$@" || return
	reg_push "oci:$REG_IMAGES/lay:app" test/app:v1 || return
	REF=$REG/test/app:v1
	_forget "$REF"
}

test_docker_pull_run_and_inspect() {
	_app_registry || return
	local ref=$REF digest
	digest=$(reg_digest test/app v1)

	_docker pull "$ref"
	assert_eq 0 "$RC" "docker pull from a plain-HTTP registry on 127.0.0.1 (stderr $(_show "$ERR"))"
	assert_contains "$OUT" "v1: Pulling from test/app" "docker pull: the first line"
	assert_match "$OUT" "^[0-9a-f]{12}: Pull complete\$" "docker pull: the layers"
	assert_contains "$OUT" "Digest: $digest" "docker pull: the manifest's digest"
	assert_contains "$OUT" "Status: Downloaded newer image for $ref" "docker pull: the status"
	assert_eq "$ref" "$(printf '%s\n' "$OUT" | tail -n 1)" "docker pull: the last line"
	_docker images --format '{{.Repository}}:{{.Tag}}'
	assert_contains "$OUT" "$ref" "docker images after the pull"

	_docker run --rm "$ref" cat /marker
	assert_eq "0 app" "$RC $OUT" "docker run --rm of the pulled image (stderr $(_show "$ERR"))"

	_docker image inspect -f '{{.Config.Cmd}} {{.Os}} {{.Architecture}} {{.RootFS.Type}}' "$ref"
	assert_eq "0 [sh] linux amd64 layers" "$RC $OUT" "docker image inspect (stderr $(_show "$ERR"))"
	_docker inspect -f '{{.Id}} {{index .RepoTags 0}} {{len .RootFS.Layers}}' "$ref"
	assert_match "$OUT" "^sha256:[0-9a-f]{64} ${ref//./\\.} [1-9][0-9]*\$" "docker inspect of an image"

	_docker pull "$ref"
	assert_eq 0 "$RC" "docker pull again (stderr $(_show "$ERR"))"
	assert_contains "$OUT" "Status: Image is up to date for $ref" "docker pull again: the status"

	_docker pull "$REG/test/app:nope"
	assert_eq 1 "$RC" "docker pull of a tag the registry does not have (stdout $(_show "$OUT"))"
	assert_contains "$ERR" "manifest unknown" "docker pull of a missing tag: the registry's message"

	_docker image inspect nothing-here:v9
	assert_eq 1 "$RC" "docker image inspect of a missing image"
	assert_contains "$ERR" "No such image: nothing-here:v9" "docker image inspect of a missing image"
	_docker inspect nothing-here:v9
	assert_eq 1 "$RC" "docker inspect of a missing image"
	assert_contains "$ERR" "No such object: nothing-here:v9" "docker inspect of a missing image"
	_service_stop
}

# docker run of an image the store lacks: create answers 404, the CLI pulls
# through /images/create (plain HTTP: the registry is on 127.0.0.1), then
# creates again.
test_docker_run_pulls_a_missing_image() {
	_app_registry || return
	local ref=$REF
	_docker create "$REG/test/absent:v1"
	assert_contains "$ERR" "Unable to find image '$REG/test/absent:v1' locally" \
		"docker create of a missing image: the CLI is told 404 and pulls"
	_docker run --rm "$ref" cat /marker
	assert_eq "0 app" "$RC $OUT" "docker run of a missing image pulls it (stderr $(_show "$ERR"))"
	assert_contains "$ERR" "Unable to find image '$ref' locally" "docker run: what the CLI says"
	assert_contains "$ERR" "Status: Downloaded newer image for $ref" "docker run: the pull's progress"
	_service_stop
}

# A pull that fails after its layers started: the stream is under way (200
# sent), so the error comes as Docker's last errorDetail message, which the
# CLI prints and fails on.
test_docker_pull_fails_mid_stream() {
	_app_registry || return
	# a layer of m1's that app lacks (random bytes): not in $T1's blob
	# store, where a layer found is not fetched again
	reg_push "oci:$REG_IMAGES/lay:m1" test/multi:v1 || return
	local bad
	bad=$(comm -23 <(reg_layers test/multi v1 | sort) <(reg_layers test/app v1 | sort) | head -n 1)
	reg_fault_proxy --corrupt "$bad"
	_forget "$PROXY/test/multi:v1"
	_docker pull "$PROXY/test/multi:v1"
	assert_eq 1 "$RC" "docker pull of a corrupt layer (stdout $(_show "$OUT"))"
	assert_contains "$OUT" "Pulling fs layer" "docker pull of a corrupt layer: the progress before"
	local h=${bad#sha256:}
	assert_contains "$ERR" "${h:0:12}" "docker pull of a corrupt layer: the error names the layer"
	_docker images --format '{{.Repository}}:{{.Tag}}'
	assert_not_contains "$OUT" "$PROXY/test/multi" "docker images after the failed pull"
	_service_stop
}

test_docker_pull_with_credentials() {
	_app_registry --htpasswd u:p || return
	local ref=$REF dcfg
	_docker pull "$ref"
	assert_eq 1 "$RC" "docker pull without credentials (stdout $(_show "$OUT"))"
	assert_contains "$ERR" "Error response from daemon" "docker pull without credentials"

	# the CLI sends what docker login kept, in X-Registry-Auth
	dcfg=$T_CASE_DIR/docker-config
	install -d -m 0700 -o "$T1" "$dcfg"
	reg_at_exit "rm -rf '$dcfg'"
	printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG" "$(printf u:p | base64)" >"$dcfg/config.json"
	chown "$T1" "$dcfg/config.json"
	capture as_user "$T1" DOCKER_HOST="unix://$(_sock)" DOCKER_CONFIG="$dcfg" docker pull "$ref"
	assert_eq 0 "$RC" "docker pull with the CLI's credentials (stderr $(_show "$ERR"))"
	assert_contains "$OUT" "Status: Downloaded newer image for $ref" "docker pull with credentials"
	local left
	left=$(find "$(user_runtime_dir "$T1")" -name 'api-auth-*' 2>/dev/null)
	assert_eq "" "$left" "no credentials file left after the pull"
	_service_stop
}

test_docker_load_images_inspect() {
	userspace_only
	command -v skopeo >/dev/null || skip "skopeo is not installed (tools/deps.sh test installs it)"
	local dir=$T_TMP/scratch/docker-load
	mkdir -p "$dir"
	chmod 0755 "$dir"
	rm -f "$dir/dkload.tar"
	skopeo --insecure-policy copy -q "docker-archive:$T_PREFIX/share/rlbpf/busybox.tar" \
		"docker-archive:$dir/dkload.tar:dkload/busybox:v1" >"$T_CASE_DIR/skopeo.log" 2>&1 ||
		fail "skopeo could not make the archive: $(_show "$(cat "$T_CASE_DIR/skopeo.log")")"
	chmod a+r "$dir/dkload.tar"
	_service_start
	_forget dkload/busybox:v1

	_docker load -i "$dir/dkload.tar"
	assert_eq "0 Loaded image: dkload/busybox:v1" "$RC $OUT" "docker load -i (stderr $(_show "$ERR"))"
	_docker images --format '{{.Repository}}:{{.Tag}}'
	assert_contains "$OUT" "dkload/busybox:v1" "docker images after docker load"
	_docker image inspect -f '{{.Config.Cmd}} {{.Os}}' dkload/busybox:v1
	assert_eq "0 [sh] linux" "$RC $OUT" "docker image inspect of the loaded image (stderr $(_show "$ERR"))"
	_docker run --rm dkload/busybox:v1 echo loaded
	assert_eq "0 loaded" "$RC $OUT" "docker run of the loaded image (stderr $(_show "$ERR"))"

	# on stdin, and again: the same image, nothing renamed
	capture as_user "$T1" DOCKER_HOST="unix://$(_sock)" docker load <"$dir/dkload.tar"
	assert_eq "0 Loaded image: dkload/busybox:v1" "$RC $OUT" "docker load from stdin (stderr $(_show "$ERR"))"

	# an archive that is not one: refused, the daemon's words
	printf 'not a tar\n' >"$dir/bad.tar"
	chmod a+r "$dir/bad.tar"
	_docker load -i "$dir/bad.tar"
	assert_eq 1 "$RC" "docker load of a file that is no archive (stdout $(_show "$OUT"))"
	assert_contains "$ERR" "Error response from daemon: " "docker load of a bad archive"
	_service_stop
}
