# shellcheck shell=bash
# rlbpf pull, login and logout (and run --pull) against a real
# registry each case starts for itself: Debian's docker-registry
# (distribution 2.8) on a free port of 127.0.0.1, images built with umoci
# from the built-in busybox and pushed with skopeo. Plain HTTP, TLS with a
# test CA, Basic and Bearer auth, redirects to another host:port, multi-arch
# indexes, zstd and uncompressed layers, and the faults of
# registry/fault_proxy.py (a cut transfer, a server that ignores Range, a
# corrupt blob, 429, a registry that is down). The servers and helpers are in
# tests/integration/registry/.
#
# Each case has its own HOME and XDG_DATA_HOME for $T1, so its blob store
# and image store start empty, and logins of one case never reach another.

# shellcheck source=tests/integration/registry/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/registry/lib.sh"

_lines() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }

# _user [NAME]: a fresh HOME (U_HOME) and XDG_DATA_HOME (U_DATA) for $T1,
# removed when the case ends, with the logins rlbpf keeps in
# XDG_RUNTIME_DIR. A new NAME is a new, empty store.
_user() {
	local gid
	gid=$(id -g "$T1")
	U_HOME=$T_CASE_DIR/home-${1:-u}
	U_DATA=$T_CASE_DIR/data-${1:-u}
	U_BLOBS=$U_DATA/rlbpf/blobs/sha256
	U_STORE=$U_DATA/rlbpf/images
	U_AUTH=$(user_runtime_dir "$T1")/containers/auth.json
	rm -rf "$U_HOME" "$U_DATA" "$(dirname "$U_AUTH")"
	install -d -m 0700 -o "$T1" -g "$gid" "$U_HOME" "$U_DATA"
	reg_at_exit "rm -rf '$U_HOME' '$U_DATA' '$(dirname "$U_AUTH")'"
}

# _user_file PATH CONTENT: a file of $T1's under U_HOME (dirs made as $T1's).
_user_file() {
	local rel=${1#"$U_HOME"/} d=$U_HOME
	local IFS=/ part
	for part in $(dirname "$rel"); do
		d=$d/$part
		[ -d "$d" ] || install -d -m 0700 -o "$T1" -g "$(id -g "$T1")" "$d"
	done
	printf '%s\n' "$2" >"$1"
	chown "$T1:$(id -g "$T1")" "$1"
}

# _rl [VAR=VALUE...] ARG...: rlbpf ARG... as $T1 with the case's HOME and
# XDG_DATA_HOME (and the VAR=VALUE given).
_rl() {
	local -a vars=(HOME="$U_HOME" XDG_DATA_HOME="$U_DATA")
	while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do
		vars+=("$1")
		shift
	done
	as_user "$T1" "${vars[@]}" "$RLBPF" "$@"
}

# _pull ARG...: `rlbpf pull ARG...`, captured.
_pull() { capture _rl pull "$@"; }

# _pulled WHAT REF: the last capture was a pull that worked, and its last line
# is the full reference.
_pulled() {
	assert_eq 0 "$RC" "$1: exit status of the pull (stdout $(_show "$OUT"), stderr $(_show "$ERR"))"
	assert_eq "$2" "$(printf '%s\n' "$OUT" | tail -n 1)" "$1: the pull's last line"
}

# _refused CMD WHAT ERE: the last capture failed as rlbpf CMD fails: 125, one
# line on stderr starting "rlbpf CMD: " that matches ERE (any case).
_refused() {
	assert_eq 125 "$RC" "$2: exit status (stdout $(_show "$OUT"), stderr $(_show "$ERR"))"
	assert_eq 1 "$(_lines "$ERR")" "$2: lines on stderr ($(_show "$ERR"))"
	if [[ $ERR == "rlbpf $1: "* ]]; then pass; else fail "$2: stderr should start with 'rlbpf $1: ', got $(_show "$ERR")"; fi
	_imatch "$ERR" "$3" "$2: stderr"
}

# _imatch TEXT ERE WHAT: some line of TEXT matches ERE, in any case.
_imatch() {
	if grep -Eiq -- "$2" <<<"$1"; then pass; else fail "$3: expected a line matching /$2/ (any case), got $(_show "$1")"; fi
}

# _short DIGEST: its first 12 hex, as the progress lines name a layer.
_short() {
	local h=${1#sha256:}
	echo "${h:0:12}"
}

# _layers_said WHAT new|old DIGEST...: what the pull printed for each layer:
# new: "Pulling fs layer", later "Download complete"; old: "Already exists"
# and no download.
_layers_said() {
	local what=$1 how=$2 d s a b
	shift 2
	for d in "$@"; do
		s=$(_short "$d")
		if [ "$how" = new ]; then
			a=$(grep -n -x "$s: Pulling fs layer" <<<"$OUT" | head -n 1 | cut -d: -f1)
			b=$(grep -n -x "$s: Download complete" <<<"$OUT" | head -n 1 | cut -d: -f1)
			if [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]; then
				pass
			else
				fail "$what: expected '$s: Pulling fs layer', then '$s: Download complete', got $(_show "$OUT")"
			fi
			assert_not_contains "$OUT" "$s: Already exists" "$what: a new layer"
		else
			assert_match "$OUT" "^$s: Already exists\$" "$what: a layer already in the blob store"
			assert_not_contains "$OUT" "$s: Pulling fs layer" "$what: a layer already in the blob store"
		fi
	done
}

# _blobs_sound WHAT: no download in progress is left (.partial) anywhere in
# the user's data, and every blob's content matches its name.
_blobs_sound() {
	local f bad=""
	assert_eq "" "$(find "$U_DATA" -name '*.partial' 2>/dev/null)" "$1: downloads left in progress (.partial)"
	for f in "$U_BLOBS"/*; do
		[ -f "$f" ] || continue
		[ "$(sha256sum <"$f" | cut -d' ' -f1)" = "${f##*/}" ] || bad+="${f##*/} "
	done
	assert_eq "" "$bad" "$1: blobs whose content does not match their name"
}

# _has_blobs WHAT DIGEST...: each is in the blob store.
_has_blobs() {
	local what=$1 d
	shift
	for d in "$@"; do
		assert_true "$what: $d in the blob store" test -f "$U_BLOBS/${d#sha256:}"
	done
}

# _row REF: the `rlbpf images` row of REPOSITORY:TAG, if any.
_row() {
	local repo=${1%:*} tag=${1##*:}
	_rl images 2>/dev/null | awk -v r="$repo" -v t="$tag" '$1 == r && $2 == t'
}

# _marker REF [ARG...]: /marker of the image, from a container (stdout and
# stderr together, for the messages).
_marker() {
	local ref=$1
	shift
	_rl run --rm "$@" "$ref" cat /marker 2>&1
}

# _store_state: the image store's entries and index, to compare.
_store_state() {
	find "$U_STORE" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort
	cat "$U_STORE/repositories.json" 2>/dev/null
}

# _config_hex REPO DIGEST: the config digest (hex) of a manifest, which is
# the image's ID and its directory in the store.
_config_hex() {
	reg_manifest "$1" "$2" | jq -r '.config.digest' | cut -d: -f2
}

_setup() {
	userspace_only
	reg_need
	reg_images || exit 0
	_user
}

test_pull_plain_http_and_run() {
	_setup
	reg_start || return
	reg_push "oci:$REG_IMAGES/lay:app" test/app:v1 || return
	local ref=$REG/test/app:v1 digest
	local -a layers
	mapfile -t layers < <(reg_layers test/app v1)
	digest=$(reg_digest test/app v1)

	# Plain HTTP is never the default, not even for 127.0.0.1.
	_pull "$ref"
	_refused pull "plain HTTP without --tls-verify=false" .
	assert_eq "" "$(_row "$ref")" "rlbpf images after the refused pull"

	capture _rl run --rm --pull never "$ref" cat /marker
	assert_eq 125 "$RC" "exit status of run --pull never of a missing image (stderr $(_show "$ERR"))"
	assert_contains "$ERR" "rlbpf run: " "error of run --pull never of a missing image"

	_pull --tls-verify=false "$ref"
	_pulled "first pull" "$ref"
	_layers_said "first pull" new "${layers[@]}"
	assert_match "$OUT" "^Digest: $digest\$" "first pull: the manifest's digest"
	assert_match "$OUT" "^Status: Downloaded newer image for ${ref//./\\.}\$" "first pull: status"
	assert_match "$(_row "$ref")" "^${REG//./\\.}/test/app +v1 +[0-9a-f]{12} " "rlbpf images after the pull"
	_has_blobs "first pull" "$digest" "sha256:$(_config_hex test/app v1)" "${layers[@]}"
	_blobs_sound "first pull"
	assert_eq app "$(_marker "$ref")" "rlbpf run of the pulled image"

	# Again: nothing new.
	_pull --tls-verify=false "$ref"
	_pulled "second pull" "$ref"
	assert_match "$OUT" "^Digest: $digest\$" "second pull: the manifest's digest"
	assert_match "$OUT" "^Status: Image is up to date for ${ref//./\\.}\$" "second pull: status"
	assert_not_contains "$OUT" "Download complete" "second pull"

	_pull -q --tls-verify=false "$ref"
	assert_eq "0 $ref" "$RC $OUT" "pull -q: only the reference (stderr $(_show "$ERR"))"

	# The registry's error body is what the one line says.
	_pull --tls-verify=false "$REG/test/app:nope"
	_refused pull "a tag the registry does not have" "manifest unknown"
	_pull --tls-verify=false "$REG/test/nothing:v1"
	_refused pull "a repository the registry does not have" "unknown"

	# run pulls a missing image first (progress on stderr), --pull always
	# asks the registry again, run -d pulls too.
	capture _rl rmi "$ref"
	assert_eq 0 "$RC" "rmi of the pulled image (stderr $(_show "$ERR"))"
	capture _rl run --rm --tls-verify=false "$ref" cat /marker
	assert_eq "0 app" "$RC $OUT" "run of a missing image pulls it first (stderr $(_show "$ERR"))"
	assert_contains "$ERR" "Status: Downloaded newer image for $ref" "the pull's progress on run's stderr"
	capture _rl run --rm --pull always --tls-verify=false "$ref" cat /marker
	assert_eq "0 app" "$RC $OUT" "run --pull always (stderr $(_show "$ERR"))"
	assert_contains "$ERR" "Status: Image is up to date for $ref" "run --pull always asks the registry"
	capture _rl run --rm --pull never "$ref" cat /marker
	assert_eq "0 app" "$RC $OUT" "run --pull never of an image in the store (stderr $(_show "$ERR"))"

	capture _rl rmi "$ref"
	local name=pull-detached-$$
	capture _rl run -d --name "$name" --pull never "$ref" sleep 30
	assert_eq 125 "$RC" "run -d --pull never of a missing image (stderr $(_show "$ERR"))"
	assert_contains "$ERR" "unknown image" "the refusal names the missing image"
	capture _rl run -d --name "$name" --tls-verify=false "$ref" sleep 30
	assert_eq 0 "$RC" "run -d of a missing image pulls it (stdout $(_show "$OUT"), stderr $(_show "$ERR"))"
	assert_ne "" "$(_row "$ref")" "the image run -d pulled, in rlbpf images"
	_rl rm -f "$name" >/dev/null 2>&1

	# registries.conf (Podman's form) may make a registry insecure.
	capture _rl rmi "$ref"
	_user_file "$U_HOME/.config/containers/registries.conf" "$(printf '[[registry]]\nlocation = "%s"\ninsecure = true' "$REG")"
	_pull "$ref"
	_pulled "pull from a registry registries.conf calls insecure" "$ref"
	assert_eq app "$(_marker "$ref")" "run of the image pulled through registries.conf"
	_blobs_sound "after every pull"
}

test_pull_shares_layers_between_images() {
	_setup
	reg_start || return
	reg_push "oci:$REG_IMAGES/lay:m1" test/multi:v1 || return
	reg_push "oci:$REG_IMAGES/lay:m2" test/multi:v2 || return
	local d
	local -a l1 l2
	mapfile -t l1 < <(reg_layers test/multi v1)
	mapfile -t l2 < <(reg_layers test/multi v2)
	assert_eq 4 "${#l1[@]}" "layers of test/multi:v1"
	assert_eq "${l1[*]:0:3}" "${l2[*]:0:3}" "the first three layers of v1 and v2 are the same blobs"
	assert_ne "${l1[3]}" "${l2[3]}" "the last layers of v1 and v2"

	_pull --tls-verify=false "$REG/test/multi:v1"
	_pulled "pull of v1" "$REG/test/multi:v1"
	_layers_said "pull of v1" new "${l1[@]}"
	for d in "${l1[@]}"; do
		assert_eq 1 "$(reg_blob_gets test/multi "$d")" "GETs of layer $(_short "$d") for v1"
	done

	# v2: three layers are in the blob store already; only the last is fetched.
	_pull --tls-verify=false "$REG/test/multi:v2"
	_pulled "pull of v2" "$REG/test/multi:v2"
	_layers_said "pull of v2" old "${l2[@]:0:3}"
	_layers_said "pull of v2" new "${l2[3]}"
	for d in "${l2[@]}"; do
		assert_eq 1 "$(reg_blob_gets test/multi "$d")" "GETs of layer $(_short "$d") after v1 and v2"
	done
	_has_blobs "both pulls" "${l1[@]}" "${l2[3]}"
	_blobs_sound "both pulls"

	assert_eq multi-v1 "$(_marker "$REG/test/multi:v1")" "v1's marker"
	assert_eq multi-v2 "$(_marker "$REG/test/multi:v2")" "v2's marker"
	assert_eq 409600 "$(_rl run --rm "$REG/test/multi:v2" sh -c 'cat /l1 /l2 | wc -c' 2>&1 | tr -d ' ')" \
		"v2's shared layers' files (/l1 and /l2, 200 KiB each)"
}

# Two pulls of one image at once, by one user: each blob is fetched once
# (the second waits on the first's lock and takes its blob), both succeed,
# and the store holds one sound image.
test_pull_twice_at_once() {
	_setup
	reg_start || return
	reg_push "oci:$REG_IMAGES/lay:m1" test/multi:v1 || return
	local d ref=$REG/test/multi:v1 out=$T_CASE_DIR/twice
	local -a l1
	mapfile -t l1 < <(reg_layers test/multi v1)
	_rl pull -q --tls-verify=false "$ref" >"$out.1" 2>&1 &
	local p1=$!
	_rl pull -q --tls-verify=false "$ref" >"$out.2" 2>&1 &
	local p2=$!
	wait "$p1"
	assert_eq "0 $ref" "$? $(cat "$out.1")" "the first of two pulls at once"
	wait "$p2"
	assert_eq "0 $ref" "$? $(cat "$out.2")" "the second of two pulls at once"
	for d in "${l1[@]}"; do
		assert_eq 1 "$(reg_blob_gets test/multi "$d")" "GETs of layer $(_short "$d") by both pulls"
	done
	_has_blobs "two pulls at once" "${l1[@]}"
	_blobs_sound "two pulls at once"
	assert_eq multi-v1 "$(_marker "$ref")" "the image both pulled runs"
}

test_pull_index_picks_the_platform() {
	_setup
	[ "$(uname -m)" = x86_64 ] || skip "the test index's amd64 image is this machine's only on x86_64"
	reg_start || return
	reg_push "oci:$REG_IMAGES/lay:multi" test/multi:v1 --all || return
	local ref=$REG/test/multi:v1 index amd arm hex
	index=$(reg_digest test/multi v1)
	amd=$(reg_manifest test/multi v1 | jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest')
	arm=$(reg_manifest test/multi v1 | jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')

	# By digest first, into an empty store: the image is there under its ID
	# (its config's digest).
	_pull --tls-verify=false "$REG/test/multi@$arm"
	_pulled "pull of the arm64 manifest by digest" "$REG/test/multi@$arm"
	assert_match "$OUT" "^Digest: $arm\$" "pull by digest: the digest"
	assert_contains "$OUT" "Status: Downloaded newer image for $REG/test/multi@$arm" "pull by digest: status"
	hex=$(_config_hex test/multi "$arm")
	assert_eq linux/arm64 "$(cat "$U_STORE/$hex/rootfs/marker" 2>&1)" "the marker of the image pulled by the arm64 digest"
	_pull --tls-verify=false "$REG/test/multi@$index"
	_pulled "pull of the index by digest" "$REG/test/multi@$index"
	hex=$(_config_hex test/multi "$amd")
	assert_eq linux/amd64 "$(cat "$U_STORE/$hex/rootfs/marker" 2>&1)" "the marker of the image pulled by the index's digest"

	# By tag: this machine's platform, unless --platform says otherwise.
	_pull --tls-verify=false "$ref"
	_pulled "pull of the index" "$ref"
	assert_match "$OUT" "^Digest: $index\$" "pull of the index: the index's digest"
	assert_eq linux/amd64 "$(_marker "$ref")" "the image of the index for this machine"
	_pull --tls-verify=false --platform linux/arm64 "$ref"
	_pulled "pull --platform linux/arm64" "$ref"
	assert_eq linux/arm64 "$(_marker "$ref")" "the image of --platform linux/arm64"
	_pull --tls-verify=false --platform linux/arm/v7 "$ref"
	_pulled "pull --platform linux/arm/v7" "$ref"
	assert_eq linux/arm/v7 "$(_marker "$ref")" "the image of --platform linux/arm/v7"
	_pull --tls-verify=false --platform linux/s390x "$ref"
	_refused pull "--platform the index does not have" "s390x|platform"
	assert_eq linux/arm/v7 "$(_marker "$ref")" "the tag after a refused --platform"
	_blobs_sound "after the pulls"
}

test_pull_zstd_and_uncompressed_layers() {
	_setup
	reg_start || return
	# skopeo pushes zstd as it is; it would compress uncompressed layers, so
	# those go up through oci.py's push.
	reg_push "oci:$REG_IMAGES/zlay:app" test/zstd:v1 || return
	"$REG_PY" "$REG_HERE/oci.py" push "$REG_IMAGES/lay" plain "http://$REG/test/plain:v1" >"$T_CASE_DIR/push-plain.log" 2>&1 ||
		fail "oci.py could not push the uncompressed image: $(_show "$(cat "$T_CASE_DIR/push-plain.log")")"
	"$REG_PY" "$REG_HERE/oci.py" push "$REG_IMAGES/lay" mixed "http://$REG/test/mixed:v1" >"$T_CASE_DIR/push-mixed.log" 2>&1 ||
		fail "oci.py could not push the mixed image: $(_show "$(cat "$T_CASE_DIR/push-mixed.log")")"
	assert_eq "application/vnd.oci.image.layer.v1.tar+gzip application/vnd.oci.image.layer.v1.tar+zstd application/vnd.oci.image.layer.v1.tar application/vnd.oci.image.layer.v1.tar+zstd" \
		"$(reg_manifest test/mixed v1 | jq -r '[.layers[].mediaType] | join(" ")')" "media types of test/mixed's layers"

	local repo want
	local -a layers
	for repo in zstd:app plain:app mixed:multi-v1; do
		want=${repo#*:} repo=${repo%:*}
		mapfile -t layers < <(reg_layers "test/$repo" v1)
		_pull --tls-verify=false "$REG/test/$repo:v1"
		_pulled "pull of $repo layers" "$REG/test/$repo:v1"
		_has_blobs "$repo layers, as downloaded" "${layers[@]}"
		assert_eq "$want" "$(_marker "$REG/test/$repo:v1")" "run of the image with $repo layers"
	done
	assert_eq 409600 "$(_rl run --rm "$REG/test/mixed:v1" sh -c 'cat /l1 /l2 | wc -c' 2>&1 | tr -d ' ')" \
		"files of the zstd and the uncompressed layer"
	_blobs_sound "after the pulls"
}

test_pull_tls_and_basic_auth_login_logout() {
	_setup
	reg_make_ca "$T_CASE_DIR/ca"
	reg_start --tls "$T_CASE_DIR/ca" --htpasswd u:p || return
	reg_push "oci:$REG_IMAGES/lay:app" test/app:v1 || return
	local ref=$REG/test/app:v1 b64
	b64=$(printf 'u:p' | base64)

	_pull "$ref"
	_refused pull "TLS without the CA" "certificate"

	_user_file "$U_HOME/.config/rlbpf/certs.d/$REG/ca.crt" "$(cat "$T_CASE_DIR/ca/ca.crt")"
	_pull "$ref"
	_refused pull "the CA, but no login" "unauthorized|authentication required"

	capture _rl login -u u --password-stdin "$REG" <<<"wrong"
	if [ "$RC" = 1 ] || [ "$RC" = 125 ]; then pass; else fail "exit status of login with a wrong password: expected 1 or 125, got $RC (stdout $(_show "$OUT"), stderr $(_show "$ERR"))"; fi
	assert_eq 1 "$(_lines "$ERR")" "lines of login's error ($(_show "$ERR"))"
	_imatch "$ERR" "unauthorized|authentication required" "login's error"
	assert_eq "" "$(jq -r --arg r "$REG" '.auths[$r].auth // empty' "$U_AUTH" 2>/dev/null)" "auth.json after a failed login"

	capture _rl login -u u --password-stdin "$REG" <<<"p"
	assert_eq "0 Login Succeeded" "$RC $OUT" "login (stderr $(_show "$ERR"))"
	assert_eq "$b64" "$(jq -r --arg r "$REG" '.auths[$r].auth' "$U_AUTH" 2>&1)" "auth.json in XDG_RUNTIME_DIR after login"
	_pull "$ref"
	_pulled "pull after login" "$ref"
	assert_eq app "$(_marker "$ref")" "run of the image pulled over TLS with a login"

	capture _rl logout "$REG"
	assert_eq "0 Removed login credentials for $REG" "$RC $OUT" "logout (stderr $(_show "$ERR"))"
	assert_eq "" "$(jq -r --arg r "$REG" '.auths[$r].auth // empty' "$U_AUTH" 2>/dev/null)" "auth.json after logout"
	_pull "$ref"
	_refused pull "pull after logout" "unauthorized|authentication required"

	# Credentials Docker's and Podman's tools keep are read too.
	_user_file "$U_HOME/.docker/config.json" "{\"auths\":{\"$REG\":{\"auth\":\"$b64\"}}}"
	_pull "$ref"
	_pulled "pull with ~/.docker/config.json" "$ref"
	rm "$U_HOME/.docker/config.json"
	_user_file "$U_HOME/.config/containers/auth.json" "{\"auths\":{\"$REG\":{\"auth\":\"$b64\"}}}"
	_pull "$ref"
	_pulled "pull with ~/.config/containers/auth.json" "$ref"
	rm "$U_HOME/.config/containers/auth.json"

	# Docker's credential helpers: credHelpers names one for the registry;
	# it gets the server on stdin and answers with JSON.
	_user_file "$U_HOME/bin/docker-credential-rltest" "$(printf '%s\n' '#!/bin/sh' \
		'[ "$1" = get ] || exit 1' 'read -r server' 'echo "$server" >"$HOME/helper-asked"' \
		'echo "{\"ServerURL\":\"$server\",\"Username\":\"u\",\"Secret\":\"p\"}"')"
	chmod 755 "$U_HOME/bin/docker-credential-rltest"
	_user_file "$U_HOME/.docker/config.json" "{\"credHelpers\":{\"$REG\":\"rltest\"}}"
	capture _rl PATH="$U_HOME/bin:/usr/bin:/bin" pull "$ref"
	_pulled "pull with a credential helper" "$ref"
	assert_eq "$REG" "$(cat "$U_HOME/helper-asked" 2>&1)" "the server the helper was asked about"
	rm "$U_HOME/.docker/config.json"

	# REGISTRY_AUTH_FILE wins, and -p works as --password-stdin does.
	local file=$U_HOME/auth-file.json
	capture _rl REGISTRY_AUTH_FILE="$file" login -u u -p p "$REG"
	assert_eq "0 Login Succeeded" "$RC $OUT" "login -p with REGISTRY_AUTH_FILE (stderr $(_show "$ERR"))"
	assert_eq "$b64" "$(jq -r --arg r "$REG" '.auths[$r].auth' "$file" 2>&1)" "REGISTRY_AUTH_FILE after login"
	assert_eq "" "$(jq -r --arg r "$REG" '.auths[$r].auth // empty' "$U_AUTH" 2>/dev/null)" \
		"XDG_RUNTIME_DIR's auth.json after a login with REGISTRY_AUTH_FILE"
	capture _rl REGISTRY_AUTH_FILE="$file" pull "$ref"
	_pulled "pull with REGISTRY_AUTH_FILE" "$ref"
	_blobs_sound "after the pulls"
}

test_pull_bearer_token_auth() {
	_setup
	reg_token_server u:p
	reg_start --token "$TOKEN_REALM" "$TOKEN_CERT" || return
	# shellcheck disable=SC2034 # reg_push's: skopeo gets push from the token server
	REG_CREDS=u:p
	reg_push "oci:$REG_IMAGES/lay:app" public/app:v1 || return
	reg_push "oci:$REG_IMAGES/lay:app" private/app:v1 || return
	local n

	# Anonymous: pull on public/ only.
	n=$(wc -l <"$TOKEN_LOG")
	_pull --tls-verify=false "$REG/public/app:v1"
	_pulled "anonymous pull of public/app" "$REG/public/app:v1"
	assert_eq app "$(_marker "$REG/public/app:v1")" "run of public/app"
	# one token for the scope serves the whole pull (manifest, config, layers)
	assert_eq 1 "$(tail -n +$((n + 1)) "$TOKEN_LOG" | jq -s '[.[] | select(.scopes | index("repository:public/app:pull"))] | length')" \
		"token requests for public/app's scope during one pull"

	_pull --tls-verify=false "$REG/private/app:v1"
	_refused pull "anonymous pull of private/app" "unauthorized|authentication required|denied"

	capture _rl login --tls-verify=false -u u --password-stdin "$REG" <<<"wrong"
	if [ "$RC" = 1 ] || [ "$RC" = 125 ]; then pass; else fail "exit status of login with a wrong password: expected 1 or 125, got $RC (stdout $(_show "$OUT"), stderr $(_show "$ERR"))"; fi
	assert_eq 1 "$(_lines "$ERR")" "lines of login's error ($(_show "$ERR"))"
	_imatch "$ERR" "unauthorized|incorrect username or password" "login's error"

	n=$(wc -l <"$TOKEN_LOG")
	capture _rl login --tls-verify=false -u u --password-stdin "$REG" <<<"p"
	assert_eq "0 Login Succeeded" "$RC $OUT" "login against a token registry (stderr $(_show "$ERR"))"
	assert_eq 200 "$(tail -n +$((n + 1)) "$TOKEN_LOG" | jq -rs '[.[] | select(.account == "u")] | last | .status')" \
		"the token server's answer to login's credentials"

	n=$(wc -l <"$TOKEN_LOG")
	_pull --tls-verify=false "$REG/private/app:v1"
	_pulled "pull of private/app after login" "$REG/private/app:v1"
	assert_eq app "$(_marker "$REG/private/app:v1")" "run of private/app"
	assert_eq 1 "$(tail -n +$((n + 1)) "$TOKEN_LOG" | jq -s '[.[] | select(.scopes | index("repository:private/app:pull")) | select(.account == "u")] | length')" \
		"token requests for private/app's scope, with the login's credentials, during one pull"

	capture _rl logout "$REG"
	assert_eq "0 Removed login credentials for $REG" "$RC $OUT" "logout (stderr $(_show "$ERR"))"
	_pull --tls-verify=false "$REG/private/app:v1"
	_refused pull "pull of private/app after logout" "unauthorized|authentication required|denied"
	_blobs_sound "after the pulls"
}

test_pull_redirect_keeps_credentials_home() {
	_setup
	local bport
	bport=$(reg_free_port)
	# blobs are answered with 307 to the blob server: another port, which
	# must never see the registry's credentials
	reg_start --htpasswd u:p --redirect "http://127.0.0.1:$bport/" || return
	reg_blob_server "$REG_STORAGE" "$bport"
	reg_push "oci:$REG_IMAGES/lay:app" test/app:v1 || return
	local -a layers
	mapfile -t layers < <(reg_layers test/app v1)
	: >"$BLOB_LOG"

	capture _rl login --tls-verify=false -u u -p p "$REG"
	assert_eq "0 Login Succeeded" "$RC $OUT" "login (stderr $(_show "$ERR"))"
	_pull --tls-verify=false "$REG/test/app:v1"
	_pulled "pull through redirects" "$REG/test/app:v1"
	assert_eq app "$(_marker "$REG/test/app:v1")" "run of the image pulled through redirects"
	local d h
	for d in "${layers[@]}"; do
		h=${d#sha256:}
		assert_true "the blob server served layer $(_short "$d")" \
			grep -q "\"path\": \"/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data\", \"status\": 200" "$BLOB_LOG"
	done
	assert_eq 0 "$(grep -c '"auth": true' "$BLOB_LOG")" "requests with an Authorization header at the blob server ($(_show "$(cat "$BLOB_LOG")"))"
	_blobs_sound "after the pull"
}

# _nth_range DIGEST N: the Range header of the proxy's N-th GET (from 0) of
# that blob.
_nth_range() {
	jq -rs --arg d "$1" --argjson n "$2" '[.[] | select(.digest == $d and .method == "GET")] | .[$n].range' "$PROXY_LOG"
}

test_pull_survives_faults() {
	_setup
	reg_start || return
	reg_push "oci:$REG_IMAGES/lay:app" test/app:v1 || return
	local big size half ref t429 tok start
	# the largest layer (busybox's), and its size
	big=$(reg_manifest test/app v1 | jq -r '.layers | max_by(.size) | .digest')
	size=$(reg_manifest test/app v1 | jq -r '.layers | max_by(.size) | .size')
	half=$((size / 2))

	# (a) Cut after half: the rest comes with a Range request; nothing twice.
	_user cut
	reg_fault_proxy --cut "$big"
	ref=$PROXY/test/app:v1
	_pull --tls-verify=false "$ref"
	_pulled "(a) a cut transfer" "$ref"
	assert_eq "$size" "$(reg_proxy_sent "$big")" "(a) bytes of the layer sent, over all GETs (its size: nothing twice)"
	assert_eq "bytes=$half-" "$(_nth_range "$big" 1)" "(a) the second GET of the layer asks for the rest"
	_has_blobs "(a)" "$big"
	_blobs_sound "(a)"
	assert_eq app "$(_marker "$ref")" "(a) run of the image"

	# (b) A server that ignores Range: the download starts again from zero.
	_user norange
	reg_fault_proxy --cut "$big" --ignore-range
	ref=$PROXY/test/app:v1
	_pull --tls-verify=false "$ref"
	_pulled "(b) a cut transfer from a server that ignores Range" "$ref"
	assert_eq "bytes=$half-" "$(_nth_range "$big" 1)" "(b) the second GET of the layer asks for the rest (and gets all of it)"
	assert_eq "$((half + size))" "$(reg_proxy_sent "$big")" "(b) bytes of the layer sent: half, then all of it"
	_has_blobs "(b)" "$big"
	_blobs_sound "(b)"
	assert_eq app "$(_marker "$ref")" "(b) run of the image"

	# (b') A 206 whose Content-Range is not the part asked for.
	_user badrange
	reg_fault_proxy --cut "$big" --bad-range
	ref=$PROXY/test/app:v1
	_pull --tls-verify=false "$ref"
	_pulled "(b') a 206 with the wrong Content-Range" "$ref"
	assert_eq "bytes=$half-" "$(_nth_range "$big" 1)" "(b') the second GET of the layer asks for the rest"
	_has_blobs "(b')" "$big"
	_blobs_sound "(b')"

	# (c) A blob that does not match its digest: refused, nothing kept.
	_user corrupt
	reg_fault_proxy --corrupt "$big"
	ref=$PROXY/test/app:v1
	_pull --tls-verify=false "$ref"
	_refused pull "(c) a corrupt layer" "$(_short "$big")"
	assert_false "(c) the corrupt layer is in the blob store" test -e "$U_BLOBS/${big#sha256:}"
	_blobs_sound "(c)"
	assert_eq "" "$(_row "$ref")" "(c) rlbpf images after the corrupt layer"
	assert_eq "" "$(find "$U_STORE" -mindepth 1 -maxdepth 1 ! -name repositories.json ! -name .lock 2>/dev/null)" \
		"(c) the image store after the corrupt layer"

	# (d) 429 with Retry-After: 1 is waited out, for a manifest and a blob.
	for kind in manifest blob; do
		_user "429-$kind"
		reg_fault_proxy --too-many "$kind"
		ref=$PROXY/test/app:v1
		_pull --tls-verify=false "$ref"
		_pulled "(d) 429 on the first $kind request" "$ref"
		t429=$(jq -rs --arg k "$kind" '[.[] | select(.kind == $k)] | first | "\(.status) \(.path) \(.t)"' "$PROXY_LOG")
		assert_eq 429 "${t429%% *}" "(d) the proxy's first answer to a $kind request"
		tok=${t429#* }
		# the same path again, after the second it was told to wait
		start=$(jq -rs --arg p "${tok% *}" '[.[] | select(.path == $p and .status != 429)] | first | .t' "$PROXY_LOG")
		assert_true "(d) the retry of the $kind came 1s after the 429 (at $start, 429 at ${tok#* })" \
			awk -v a="${tok#* }" -v b="$start" 'BEGIN { exit !(b != "null" && b - a >= 0.9) }'
		_blobs_sound "(d) $kind"
	done

	# (e) Nothing listens: one line, soon.
	local port t0 secs
	_user down
	port=$(reg_free_port)
	t0=$EPOCHREALTIME
	_pull --tls-verify=false "127.0.0.1:$port/test/app:v1"
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", b - a }')
	_refused pull "(e) a registry that is down" "127\\.0\\.0\\.1:$port|connect|refused"
	# a guard against endless retries, not a measure of speed
	assert_true "(e) the pull gave up within 30s (took ${secs}s)" [ "$secs" -lt 30 ]
	_blobs_sound "(e)"
}

test_pull_refuses_hostile_layers() {
	_setup
	reg_start || return
	local victim_dir victim_tmp=/tmp/rlbpf-pull-victim-$$ case needle layout before
	victim_dir=$(scratch_dir pull-victim "$T1" 0755)
	echo original >"$victim_dir/file"
	chown "$T1" "$victim_dir/file"
	reg_at_exit "rm -rf '$victim_dir' '$victim_tmp'*"
	# the store exists (with busybox) before the hostile pulls
	_rl run --rm busybox true >/dev/null 2>&1
	before=$(_store_state)

	while read -r case needle; do
		layout=$T_CASE_DIR/hostile-$case
		if [ "$case" = dotdot ]; then
			"$REG_PY" "$REG_HERE/oci.py" hostile "$layout" "$case" dotdot "$victim_tmp-dotdot"
		else
			"$REG_PY" "$REG_HERE/oci.py" hostile "$layout" "$case" symlink "$victim_dir/file-$case"
		fi
		chmod -R a+rX "$layout"
		reg_push "oci:$layout:$case" "test/hostile:$case" || continue
		# load refuses the same layout so ...
		capture _rl load -i "$layout"
		_refused load "$case: load of the layout" "$needle"
		# ... and pull refuses it from the registry for the same reason.
		_pull --tls-verify=false "$REG/test/hostile:$case"
		_refused pull "$case: pull" "$needle"
		assert_eq "$before" "$(_store_state)" "$case: the image store after the refusals"
		assert_eq "" "$(_row "$REG/test/hostile:$case")" "$case: rlbpf images after the refusal"
		assert_eq "file" "$(find "$victim_dir" -mindepth 1 -printf '%f\n' -prune)" "$case: the victim directory's contents"
		assert_eq "original" "$(cat "$victim_dir/file")" "$case: the victim file"
		assert_eq "" "$(ls -d "$victim_tmp"* 2>/dev/null)" "$case: files written outside the store"
		_blobs_sound "$case"
	done <<-'EOF'
		dotdot		'\.\.'
		symlink		would be written through a symbolic link
	EOF
}
