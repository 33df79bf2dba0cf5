# shellcheck shell=bash disable=SC2034 # the variables the helpers set are for t_pull.sh
# Helpers for t_pull.sh (sourced by it, after tests/integration/lib.sh): a
# private registry per case (Debian's docker-registry, distribution 2.8),
# test images built with umoci and skopeo, and the Python servers of this
# directory (token_server.py, blob_server.py, fault_proxy.py). All of it runs
# as root, on free ports of 127.0.0.1 (never 5000, which the package's own
# service may hold). Whatever a case starts is stopped, and its files are
# removed, when the case's process exits, however it exits.

REG_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REG_PY=/usr/bin/python3
[ -x "$REG_PY" ] || REG_PY=$(command -v python3 || echo python3)

# ---- cleanup: a stack of commands run, last first, when the case exits

_reg_cleanups=()
reg_at_exit() {
	_reg_cleanups+=("$1")
	trap _reg_cleanup EXIT
	# a killed case (the suite's timeout, ^C) still cleans up
	trap 'exit 143' TERM
	trap 'exit 130' INT
}
_reg_cleanup() {
	local i
	for ((i = ${#_reg_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_reg_cleanups[$i]}" || true
	done
	_reg_cleanups=()
}

# reg_need: skips the case where the tools are missing.
reg_need() {
	local t
	for t in docker-registry skopeo umoci openssl curl jq; do
		command -v "$t" >/dev/null || skip "$t is not installed (tools/deps.sh test installs it)"
	done
	"$REG_PY" -c 'import http.server' 2>/dev/null || skip "python3 is not installed (tools/deps.sh test installs it)"
}

# reg_free_port: a port of 127.0.0.1 that nothing listens on now.
reg_free_port() {
	"$REG_PY" - <<'PY'
import socket
while True:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    if port != 5000:
        print(port)
        break
PY
}

# reg_bg NAME CMD...: CMD in the background, output to $T_CASE_DIR/NAME.log;
# its pid in REG_BG_PID. It is stopped when the case exits.
reg_bg() {
	local name=$1
	shift
	"$@" >"$T_CASE_DIR/$name.log" 2>&1 </dev/null &
	REG_BG_PID=$!
	reg_at_exit "reg_kill $REG_BG_PID"
}

# reg_kill PID: stops a process reg_bg started (SIGKILL if TERM is not enough).
reg_kill() {
	kill -TERM "$1" 2>/dev/null || return 0
	wait_until 50 eval "! kill -0 $1 2>/dev/null" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null || true
}

# reg_wait_http URL [CURL-ARGS...]: waits until URL answers at all.
reg_wait_http() {
	wait_until 100 _reg_answers "$@" || {
		fail "nothing answers $1"
		return 1
	}
}
_reg_answers() { curl -s -o /dev/null -m 2 "${@:2}" "$1"; }

# ---- TLS

# reg_make_ca DIR: a test CA (ca.crt, ca.key) and a server certificate it
# signed for 127.0.0.1 (an IP SAN: server.crt, server.key); trust/ holds
# only ca.crt, as a client's certificate directory must.
reg_make_ca() {
	local d=$1
	mkdir -p "$d"
	(
		set -e
		cd "$d"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout ca.key -out ca.crt -days 2 -subj "/CN=rlbpf test CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout server.key -out server.csr -subj "/CN=127.0.0.1"
		printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=CA:FALSE" \
			"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile server.ext -out server.crt
		mkdir -p trust
		cp ca.crt trust/ca.crt
	) >"$d/openssl.log" 2>&1 || fail "openssl could not make the test CA: $(_show "$(tail -n 3 "$d/openssl.log")")"
}

# ---- the registry

# reg_start [--tls CADIR] [--htpasswd USER:PASS] [--token REALM-URL CERT]
#           [--redirect BASEURL]
# Starts a registry and waits until it serves. Sets REG (127.0.0.1:PORT),
# REG_PORT, REG_DIR (config, storage, logs), REG_STORAGE (the filesystem
# driver's root), REG_LOG (its output: the access log is in it), REG_URL,
# and REG_CURL (curl's options to reach it as an admin: CA and credentials).
reg_start() {
	local tls="" htpasswd="" token="" token_cert="" redirect="" scheme=http
	while [ $# -gt 0 ]; do
		case $1 in
		--tls) tls=$2 scheme=https ;;
		--htpasswd) htpasswd=$2 ;;
		--token) token=$2 token_cert=$3 && shift ;;
		--redirect) redirect=$2 ;;
		*) fail "reg_start: unknown option $1" && return 1 ;;
		esac
		shift 2
	done
	REG_PORT=$(reg_free_port)
	REG=127.0.0.1:$REG_PORT
	REG_URL=$scheme://$REG
	REG_DIR=$T_CASE_DIR/registry-$REG_PORT
	REG_STORAGE=$REG_DIR/storage
	REG_LOG=$T_CASE_DIR/registry-$REG_PORT.log
	REG_CURL=(-s)
	REG_TLS_DIR=$tls
	REG_CREDS=$htpasswd
	mkdir -p "$REG_STORAGE"
	reg_at_exit "rm -rf '$REG_DIR'"
	{
		cat <<-EOF
			version: 0.1
			log:
			  level: info
			  accesslog:
			    disabled: false
			storage:
			  filesystem:
			    rootdirectory: $REG_STORAGE
			  delete:
			    enabled: true
			  maintenance:
			    uploadpurging:
			      enabled: false
			http:
			  addr: $REG
			  secret: rlbpf-test-$REG_PORT
		EOF
		if [ -n "$tls" ]; then
			printf '  tls:\n    certificate: %s\n    key: %s\n' "$tls/server.crt" "$tls/server.key"
			REG_CURL+=(--cacert "$tls/ca.crt")
		fi
		if [ -n "$htpasswd" ]; then
			htpasswd -Bbn "${htpasswd%%:*}" "${htpasswd#*:}" >"$REG_DIR/htpasswd"
			printf 'auth:\n  htpasswd:\n    realm: rlbpf-test\n    path: %s\n' "$REG_DIR/htpasswd"
			REG_CURL+=(-u "$htpasswd")
		fi
		if [ -n "$token" ]; then
			printf 'auth:\n  token:\n    realm: %s\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: %s\n' \
				"$token" "$token_cert"
		fi
		if [ -n "$redirect" ]; then
			printf 'middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: %s\n' "$redirect"
		fi
	} >"$REG_DIR/config.yml"
	reg_bg "registry-$REG_PORT" docker-registry serve "$REG_DIR/config.yml"
	reg_wait_http "$REG_URL/v2/" "${REG_CURL[@]}" || {
		fail "the registry did not start: $(_show "$(tail -n 5 "$REG_LOG")")"
		return 1
	}
}

# reg_push SRC REPO:TAG [SKOPEO-OPTIONS...]: skopeo copy SRC (oci:DIR:TAG)
# to the registry of reg_start (its TLS and credentials).
reg_push() {
	local src=$1 dest=$2
	shift 2
	local -a opts=(--dest-tls-verify=false)
	if [ "${REG_URL%%:*}" = https ]; then
		opts=(--dest-cert-dir "$REG_TLS_DIR/trust")
	fi
	[ -z "${REG_CREDS:-}" ] || opts+=(--dest-creds "$REG_CREDS")
	skopeo --insecure-policy copy -q "${opts[@]}" "$@" "$src" "docker://$REG/$dest" \
		>>"$T_CASE_DIR/push.log" 2>&1 || {
		fail "skopeo could not push $src to $REG/$dest: $(_show "$(tail -n 3 "$T_CASE_DIR/push.log")")"
		return 1
	}
}

_reg_accept="application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.docker.distribution.manifest.v2+json"

# reg_manifest REPO REF: the manifest (or index) as the registry serves it.
reg_manifest() {
	curl "${REG_CURL[@]}" -H "Accept: $_reg_accept" "$REG_URL/v2/$1/manifests/$2"
}

# reg_digest REPO REF: its digest (sha256:...), as the registry names it.
reg_digest() {
	curl "${REG_CURL[@]}" -I -H "Accept: $_reg_accept" "$REG_URL/v2/$1/manifests/$2" |
		tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }'
}

# reg_layers REPO REF: the layer digests of an image manifest, in order.
reg_layers() { reg_manifest "$1" "$2" | jq -r '.layers[].digest'; }

# reg_blob_gets REPO DIGEST: how many GETs of that blob the registry has
# answered with its content (200 or 206), from its access log.
reg_blob_gets() {
	grep -cE "\"GET /v2/$1/blobs/$2 HTTP/[0-9.]+\" 20[06] " "$REG_LOG"
}

# ---- the test images

# reg_images: builds the images once per suite run, into REG_IMAGES (OCI
# layouts, readable by everyone):
#   lay  (gzip layers, as umoci writes them)
#     base     busybox, from the built-in image
#     app      base + /marker "app"
#     m1, m2   base + /l1 + /l2 (each 200 KiB of random bytes) + /marker:
#              m1's last layer has "multi-v1", m2's "multi-v2"; the first
#              three layers are the same blobs in both
#     p-amd64, p-arm64, p-armv7   base + /marker "linux/amd64" (...), with
#              their configs' architecture; all run here (busybox is amd64)
#     multi    an OCI image index over the three, by platform
#     plain    app with its layers uncompressed (application/...tar)
#     mixed    m1 with its 4 layers as gzip, zstd, uncompressed, zstd
#   zlay (zstd layers, by skopeo): app, m1
# Layers come from umoci unpack/repack: umoci 0.4.7's `insert` writes tar
# streams without their padding and end blocks, which no strict reader takes
# (GNU tar neither), so every tar layer is checked with GNU tar here.
reg_images() {
	REG_IMAGES=$T_TMP/scratch/pull-images
	[ -f "$REG_IMAGES/.done" ] && return 0
	local log=$T_TMP/scratch/pull-images.log
	rm -rf "$REG_IMAGES"
	mkdir -p "$REG_IMAGES"
	(
		set -e
		cd "$REG_IMAGES"
		skopeo --insecure-policy copy -q "docker-archive:$T_PREFIX/share/rlbpf/busybox.tar" oci:lay:base
		# one bundle of base: each repack without --refresh-bundle is base
		# plus what differs now
		umoci unpack --image lay:base b0
		echo app >b0/rootfs/marker
		umoci repack --image lay:app b0
		for p in linux/amd64 linux/arm64 linux/arm/v7; do
			t=p-$(echo "${p#linux/}" | tr -d /)
			a=${p#linux/}
			echo "$p" >b0/rootfs/marker
			umoci repack --image "lay:$t" b0
			umoci config --image "lay:$t" --architecture "${a%%/*}"
		done
		umoci unpack --image lay:base b1
		head -c 204800 /dev/urandom >b1/rootfs/l1
		umoci repack --refresh-bundle --image lay:t1 b1
		head -c 204800 /dev/urandom >b1/rootfs/l2
		umoci repack --refresh-bundle --image lay:t2 b1
		echo multi-v1 >b1/rootfs/marker
		umoci repack --image lay:m1 b1
		umoci unpack --image lay:t2 b2
		echo multi-v2 >b2/rootfs/marker
		umoci repack --image lay:m2 b2
		rm -rf b0 b1 b2
		"$REG_PY" "$REG_HERE/oci.py" index lay multi p-amd64=linux/amd64 p-arm64=linux/arm64 p-armv7=linux/arm/v7
		"$REG_PY" "$REG_HERE/oci.py" gunzip lay app plain
		"$REG_PY" "$REG_HERE/oci.py" gunzip lay m1 m1-plain
		skopeo --insecure-policy copy -q --dest-compress --dest-compress-format zstd oci:lay:app oci:zlay:app
		skopeo --insecure-policy copy -q --dest-compress --dest-compress-format zstd oci:lay:m1 oci:zlay:m1
		"$REG_PY" "$REG_HERE/oci.py" mix lay mixed lay:m1 zlay:m1 lay:m1-plain zlay:m1
		for f in lay/blobs/sha256/*; do
			case $(head -c 2 "$f" | od -An -tx1 | tr -d ' ') in
			1f8b) tar -tzf "$f" >/dev/null ;;  # gzip
			28b5 | 7b*) ;;                     # zstd, JSON
			*) tar -tf "$f" >/dev/null ;;      # an uncompressed layer
			esac
		done
		chmod -R a+rX .
		touch .done
	) >"$log" 2>&1 || {
		fail "building the test images with umoci and skopeo failed: $(_show "$(tail -n 5 "$log")")"
		return 1
	}
}

# ---- the token issuer and the blob server

# reg_token_server USER:PASS: token_server.py with a fresh RSA key and its
# self-signed certificate (the registry's rootcertbundle). Sets TOKEN_PORT,
# TOKEN_REALM, TOKEN_CERT, TOKEN_LOG (one JSON line per token request).
reg_token_server() {
	local d=$T_CASE_DIR/token
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" \
		-days 2 -subj "/CN=test-issuer" >"$d/openssl.log" 2>&1 ||
		fail "openssl could not make the token key: $(_show "$(tail -n 3 "$d/openssl.log")")"
	TOKEN_PORT=$(reg_free_port)
	TOKEN_REALM=http://127.0.0.1:$TOKEN_PORT/token
	TOKEN_CERT=$d/cert.pem
	TOKEN_LOG=$d/requests.log
	reg_bg token "$REG_PY" "$REG_HERE/token_server.py" --port "$TOKEN_PORT" --key "$d/key.pem" \
		--cert "$d/cert.pem" --user "$1" --log "$TOKEN_LOG"
	reg_at_exit "rm -rf '$d'"
	reg_wait_http "$TOKEN_REALM"
}

# reg_token SCOPE [USER:PASS]: a token from it, for curl.
reg_token() {
	curl -s ${2:+-u "$2"} "$TOKEN_REALM?service=test-registry&scope=$1" | jq -r .token
}

# reg_blob_server ROOT PORT: blob_server.py serving ROOT. Sets BLOB_LOG.
reg_blob_server() {
	BLOB_PORT=$2
	BLOB_LOG=$T_CASE_DIR/blob-requests.log
	reg_bg blob-server "$REG_PY" "$REG_HERE/blob_server.py" --port "$BLOB_PORT" --root "$1" --log "$BLOB_LOG"
	reg_wait_http "http://127.0.0.1:$BLOB_PORT/"
}

# reg_fault_proxy OPTION...: fault_proxy.py in front of the registry, with
# those faults. Sets PROXY (127.0.0.1:PORT) and PROXY_LOG. A new proxy each
# time: its faults are for the first requests it sees.
reg_fault_proxy() {
	local port
	port=$(reg_free_port)
	PROXY=127.0.0.1:$port
	PROXY_LOG=$T_CASE_DIR/proxy-$port.log
	reg_bg "proxy-$port" "$REG_PY" "$REG_HERE/fault_proxy.py" --port "$port" --upstream "$REG" \
		--log "$PROXY_LOG" "$@"
	reg_wait_http "http://$PROXY/v2/" && : >"$PROXY_LOG"
}

# reg_proxy_sent DIGEST: the body bytes the proxy sent of that blob, over
# all its GETs.
reg_proxy_sent() {
	jq -s --arg d "$1" '[.[] | select(.digest == $d and .method == "GET") | .sent] | add // 0' "$PROXY_LOG"
}
