# shellcheck shell=bash
# Images: rlbpf load (docker save archives and OCI layouts made by tools we
# did not write: umoci and skopeo), images, tag, rmi, run NAME:TAG, the
# built-in busybox, ownership shifted into the subordinate range, layers
# as Docker takes them (device nodes skipped, absolute names read under the
# root), and hostile archives refused with nothing left behind.

_store() { echo "$(user_data_dir "$1")/rlbpf/images"; }

# What the store holds, to compare before and after: its entries, and the
# index's content.
_store_state() {
	local s
	s=$(_store "$1")
	find "$s" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort
	cat "$s/repositories.json" 2>/dev/null
}

_lines() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }

# _refused WHAT NEEDLE: the last capture was a refusal by rlbpf load: 125,
# one line starting "rlbpf load: " that contains NEEDLE.
_refused() {
	assert_eq 125 "$RC" "$1: exit status (stdout $(_show "$OUT"), stderr $(_show "$ERR"))"
	assert_eq 1 "$(_lines "$ERR")" "$1: lines on stderr ($(_show "$ERR"))"
	if [[ $ERR == "rlbpf load: "* ]]; then pass; else fail "$1: stderr should start with 'rlbpf load: ', got $(_show "$ERR")"; fi
	assert_contains "$ERR" "$2" "$1: the error"
}

# The built-in image's one layer, on stdout.
_busybox_layer() { tar -xOf "$T_PREFIX/share/rlbpf/busybox.tar" --wildcards '*/layer.tar'; }

# The busybox rootfs, with its owners, unpacked from the built-in image.
_busybox_rootfs() {
	local dest=$1
	mkdir -p "$dest"
	_busybox_layer | tar -x -C "$dest" --numeric-owner
}

# In a `set -e` subshell, in the directory to build in: an OCI layout `oci`
# with the image NAME, unpacked into `bundle` holding the busybox rootfs
# (umoci runs as root, so that owners are kept).
_umoci_busybox_bundle() {
	umoci init --layout oci
	umoci new --image "oci:$1"
	umoci unpack --image "oci:$1" bundle
	_busybox_rootfs bundle/rootfs
}

# Builds, with umoci (as root, so that owners are kept), an OCI layout in
# DIR/oci tagged rlbpf-oci: the busybox rootfs, plus /home/user/owned and
# /work owned by 1000:1000, and /etc/gone added in one layer and deleted in
# the next (a whiteout); Cmd prints who and where it runs. Then skopeo
# turns it into DIR/docker.tar (docker-archive, rlbpf-docker:1.0),
# DIR/oci.tar (oci-archive, rlbpf-ocitar:2.0) and DIR/zstd (an OCI layout
# with zstd layers, rlbpf-zstd:3).
_make_tool_images() {
	local dir=$1 log=$T_CASE_DIR/tools.log
	command -v umoci >/dev/null || skip "umoci is not installed (tools/deps.sh test installs it)"
	command -v skopeo >/dev/null || skip "skopeo is not installed (tools/deps.sh test installs it)"
	mkdir -p "$dir"
	(
		set -e
		cd "$dir"
		_umoci_busybox_bundle rlbpf-oci
		echo owned >bundle/rootfs/home/user/owned
		mkdir bundle/rootfs/work
		chown 1000:1000 bundle/rootfs/home/user/owned bundle/rootfs/work
		echo gone >bundle/rootfs/etc/gone
		umoci repack --image oci:rlbpf-oci bundle
		rm bundle/rootfs/etc/gone
		umoci repack --image oci:rlbpf-oci bundle
		# shellcheck disable=SC2016 # expanded in the container
		umoci config --image oci:rlbpf-oci --config.cmd sh --config.cmd -c \
			--config.cmd 'echo "$GREETING from $(pwd) as $(id -u):$(id -g)"' \
			--config.env GREETING=hello --config.workingdir /work --config.user 1000:1000
		umoci gc --layout oci
		skopeo --insecure-policy copy oci:oci:rlbpf-oci docker-archive:docker.tar:rlbpf-docker:1.0
		skopeo --insecure-policy copy oci:oci:rlbpf-oci oci-archive:oci.tar:rlbpf-ocitar:2.0
		skopeo --insecure-policy copy --dest-compress --dest-compress-format zstd \
			oci:oci:rlbpf-oci oci:zstd:rlbpf-zstd:3
		rm -rf bundle
		chmod -R a+rX .
	) >"$log" 2>&1
	# Read afterwards: a `||` after the subshell would turn its set -e off.
	local built=$?
	if [ "$built" != 0 ]; then
		fail "building the test images with umoci and skopeo failed: $(_show "$(tail -n 5 "$log")")"
		return 1
	fi
}

# The image ID (64 hex) of a loaded NAME:TAG, from the store's index.
_image_hex() {
	local v
	v=$(jq -r --arg t "$2" '.[$t] // empty' "$(_store "$1")/repositories.json" 2>/dev/null)
	echo "${v#sha256:}"
}

test_load_and_run_images_made_by_umoci_and_skopeo() {
	userspace_only
	local dir=$T_TMP/scratch/tool-images ustart gstart hex
	_make_tool_images "$dir" || return
	ustart=$(subid_start /etc/subuid "$T1")
	gstart=$(subid_start /etc/subgid "$T1")

	capture as_user "$T1" "$RLBPF" load -i "$dir/docker.tar"
	assert_eq 0 "$RC" "exit status of 'rlbpf load -i docker.tar' (stderr $(_show "$ERR"))"
	assert_eq "Loaded image: rlbpf-docker:1.0" "$OUT" "output of load of skopeo's docker-archive"

	capture as_user "$T1" "$RLBPF" load -i "$dir/oci"
	assert_eq 0 "$RC" "exit status of 'rlbpf load -i OCI-LAYOUT-DIR' (stderr $(_show "$ERR"))"
	assert_eq "Loaded image: rlbpf-oci:latest" "$OUT" "output of load of umoci's OCI layout"

	capture as_user "$T1" "$RLBPF" load -q -i "$dir/oci.tar"
	assert_eq 0 "$RC" "exit status of 'rlbpf load -i oci-archive.tar' (stderr $(_show "$ERR"))"
	assert_eq "Loaded image: rlbpf-ocitar:2.0" "$OUT" "output of load of skopeo's oci-archive"

	capture as_user "$T1" "$RLBPF" load -i "$dir/zstd"
	assert_eq 0 "$RC" "exit status of 'rlbpf load' of zstd layers (stderr $(_show "$ERR"))"
	assert_eq "Loaded image: rlbpf-zstd:3" "$OUT" "output of load of an OCI layout with zstd layers"

	# skopeo keeps the config byte for byte: one image, four names, and
	# its ID is the sha256 of that config.
	hex=$(_image_hex "$T1" rlbpf-docker:1.0)
	assert_match "$hex" '^[0-9a-f]{64}$' "image ID of rlbpf-docker:1.0 in the index"
	assert_eq "$hex" "$(_image_hex "$T1" rlbpf-oci:latest)" "image ID of the OCI layout's image"
	assert_eq "$hex" "$(_image_hex "$T1" rlbpf-ocitar:2.0)" "image ID of the oci-archive's image"
	assert_eq "$hex" "$(_image_hex "$T1" rlbpf-zstd:3)" "image ID of the zstd layout's image"
	assert_eq "$hex" "$(sha256sum <"$(_store "$T1")/$hex/config.json" | cut -d' ' -f1)" "sha256 of the stored config"

	# Cmd, Env, WorkingDir and User from the image config.
	for ref in rlbpf-docker:1.0 rlbpf-oci rlbpf-ocitar:2.0 rlbpf-zstd:3 "${hex:0:12}"; do
		rlbpf_run "$T1" --rm "$ref"
		assert_eq 0 "$RC" "exit status of 'rlbpf run $ref' (stderr $(_show "$ERR"))"
		assert_eq "hello from /work as 1000:1000" "$OUT" "output of the image's own Cmd ($ref)"
	done
	rlbpf_run "$T1" --rm -u 0 -w / rlbpf-docker:1.0 sh -c 'cat /home/user/owned; ls /etc/gone 2>&1; stat -c %u:%g /home/user/owned'
	assert_contains "$OUT" "owned" "a file of the image's first layer"
	assert_contains "$OUT" "No such file" "/etc/gone, deleted by a whiteout in the second layer"
	assert_contains "$OUT" "1000:1000" "owner of /home/user/owned inside"

	# On the host, container uid 1000 is subuid-start+999.
	local rootfs
	rootfs=$(_store "$T1")/$hex/rootfs
	assert_eq "$((ustart + 999)):$((gstart + 999))" "$(stat -c %u:%g "$rootfs/home/user/owned" 2>&1)" \
		"host owner of the image's /home/user/owned (container 1000:1000)"
	assert_eq "$(id -u "$T1"):$(id -g "$T1")" "$(stat -c %u:%g "$rootfs/bin/busybox" 2>&1)" \
		"host owner of the image's /bin/busybox (container root)"
	assert_false "/etc/gone is in the stored rootfs" test -e "$rootfs/etc/gone"
	assert_false "a whiteout file is in the stored rootfs" test -e "$rootfs/etc/.wh.gone"

	# Loading again changes nothing.
	local before
	before=$(_store_state "$T1")
	capture as_user "$T1" "$RLBPF" load -i "$dir/docker.tar"
	assert_eq "Loaded image: rlbpf-docker:1.0" "$OUT" "output of a second load"
	assert_eq "$before" "$(_store_state "$T1")" "the store after loading the same archive again"

	# From stdin, as `docker load < FILE`.
	capture as_user "$T1" "$RLBPF" load -i - <"$dir/docker.tar"
	assert_eq 0 "$RC" "exit status of 'rlbpf load < docker.tar' (stderr $(_show "$ERR"))"
	assert_eq "Loaded image: rlbpf-docker:1.0" "$OUT" "output of load from stdin"
	capture as_user "$T1" "$RLBPF" load <"$dir/oci.tar"
	assert_eq "Loaded image: rlbpf-ocitar:2.0" "$OUT" "output of load from stdin without -i (stderr $(_show "$ERR"))"
	assert_eq "$before" "$(_store_state "$T1")" "the store after loading from stdin"

	# A tampered OCI layout: a layer blob that no longer matches its digest.
	local bad=$T_TMP/scratch/tampered-oci blob
	cp -a "$dir/oci" "$bad"
	blob=$(find "$bad/blobs/sha256" -type f -size +100k | head -n 1)
	printf 'X' | dd of="$blob" bs=1 seek=1000 conv=notrunc status=none
	capture as_user "$T1" "$RLBPF" load -i "$bad"
	_refused "a layer blob that does not match its digest" "does not match its digest"
	assert_eq "$before" "$(_store_state "$T1")" "the store after a refused tampered layout"
	# ...and one whose blob is missing.
	rm -f "$blob"
	capture as_user "$T1" "$RLBPF" load -i "$bad"
	_refused "a layer blob missing from the layout" "is not in the archive"
	assert_eq "$before" "$(_store_state "$T1")" "the store after a refused incomplete layout"
}

test_images_tag_and_rmi() {
	userspace_only
	local dir=$T_TMP/scratch/tool-images hex json
	[ -f "$dir/docker.tar" ] || _make_tool_images "$dir" || return
	# One image under four names.
	for input in docker.tar oci oci.tar zstd; do
		capture as_user "$T1" "$RLBPF" load -i "$dir/$input"
		assert_eq 0 "$RC" "exit status of load -i $input (stderr $(_show "$ERR"))"
	done
	hex=$(_image_hex "$T1" rlbpf-docker:1.0)

	capture as_user "$T1" "$RLBPF" images
	assert_eq 0 "$RC" "exit status of 'rlbpf images' (stderr $(_show "$ERR"))"
	assert_match "$OUT" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$' "header of 'rlbpf images'"
	assert_match "$OUT" "^rlbpf-docker +1\\.0 +${hex:0:12} +[0-9A-Za-z ]+ ago +[0-9.]+[kMG]?B\$" "row of rlbpf-docker:1.0"

	capture as_user "$T1" "$RLBPF" tag rlbpf-docker:1.0 mine/app:v2
	assert_eq 0 "$RC" "exit status of 'rlbpf tag' (stderr $(_show "$ERR"))"
	capture as_user "$T1" "$RLBPF" tag "${hex:0:8}" other
	assert_eq 0 "$RC" "exit status of 'rlbpf tag ID-PREFIX other' (stderr $(_show "$ERR"))"
	capture as_user "$T1" "$RLBPF" images mine/app
	assert_match "$OUT" "^mine/app +v2 +${hex:0:12} " "'rlbpf images mine/app' after tag"
	assert_eq 2 "$(_lines "$OUT")" "rows of 'rlbpf images mine/app'"

	capture as_user "$T1" "$RLBPF" images -q
	assert_contains "$OUT" "${hex:0:12}" "'rlbpf images -q'"
	assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c "${hex:0:12}")" "times the ID shows in 'images -q'"

	capture as_user "$T1" "$RLBPF" images --format json
	json=$(printf '%s\n' "$OUT" | jq -r 'select(.Repository == "other") | "\(.Tag) \(.ID) \(.Size)"' 2>&1)
	assert_match "$json" "^latest ${hex:0:12} [0-9.]+[kMG]?B\$" "'images --format json' row of other:latest"

	capture as_user "$T1" "$RLBPF" tag rlbpf-docker:1.0 Bad:Name
	assert_eq 125 "$RC" "exit status of 'rlbpf tag' to an invalid name"
	assert_contains "$ERR" "rlbpf tag: invalid reference format" "error of 'rlbpf tag' to an invalid name"
	capture as_user "$T1" "$RLBPF" tag no-such-image:1 x
	assert_eq 125 "$RC" "exit status of 'rlbpf tag' of an unknown image"
	assert_contains "$ERR" "rlbpf tag: no such image" "error of 'rlbpf tag' of an unknown image"

	# rmi: a name untags; the image stays while another tag names it.
	capture as_user "$T1" "$RLBPF" rmi mine/app:v2 other
	assert_eq 0 "$RC" "exit status of 'rlbpf rmi' of two tags (stderr $(_show "$ERR"))"
	assert_eq $'Untagged: mine/app:v2\nUntagged: other:latest' "$OUT" "output of 'rlbpf rmi' of two tags"
	assert_true "the image is still in the store" test -d "$(_store "$T1")/$hex"

	capture as_user "$T1" "$RLBPF" rmi no-such-image
	assert_eq 125 "$RC" "exit status of 'rlbpf rmi' of an unknown image"
	assert_eq 1 "$(_lines "$ERR")" "lines of the error of 'rlbpf rmi' of an unknown image"
	assert_contains "$ERR" "rlbpf rmi: no such image: 'no-such-image:latest'" "error of 'rlbpf rmi' of an unknown image"

	# By ID with several tags: refused unless -f.
	capture as_user "$T1" "$RLBPF" rmi "${hex:0:12}"
	assert_eq 125 "$RC" "exit status of 'rlbpf rmi ID' of an image with 4 tags"
	assert_contains "$ERR" "referenced in multiple repositories" "error of 'rlbpf rmi ID' of an image with 4 tags"

	# An image a stopped container was made from is kept.
	local name=img-user-$$ sdir
	rlbpf_run "$T1" --name "$name" rlbpf-docker:1.0 true
	assert_eq 0 "$RC" "exit status of a run without --rm (stderr $(_show "$ERR"))"
	capture as_user "$T1" "$RLBPF" rmi -f rlbpf-docker:1.0 rlbpf-oci rlbpf-zstd:3
	capture as_user "$T1" "$RLBPF" rmi rlbpf-ocitar:2.0
	assert_eq 125 "$RC" "exit status of 'rlbpf rmi' of the last tag of an image a container uses"
	assert_contains "$ERR" "is using its referenced image ${hex:0:12}" "error of 'rlbpf rmi' of an image in use"
	capture as_user "$T1" "$RLBPF" rmi -f rlbpf-ocitar:2.0
	assert_eq 0 "$RC" "exit status of 'rlbpf rmi -f' of an image in use (stderr $(_show "$ERR"))"
	assert_eq "Untagged: rlbpf-ocitar:2.0" "$OUT" "'rlbpf rmi -f' of an image in use untags only"
	assert_true "the image a container uses is still in the store" test -d "$(_store "$T1")/$hex"
	capture as_user "$T1" "$RLBPF" images
	assert_match "$OUT" "^<none> +<none> +${hex:0:12} " "the untagged image in 'rlbpf images'"

	# Once the container is gone, rmi ID deletes it, files of subordinate
	# ids included (removed inside the user namespace).
	capture as_user "$T1" "$RLBPF" rm "$name"
	if [ "$RC" != 0 ]; then
		# Without the lifecycle commands, remove its state as root.
		for sdir in "$(user_runtime_dir "$T1")"/rlbpf/containers/*; do
			grep -q "\"$name\"" "$sdir/config.json" 2>/dev/null && rm -rf "$sdir"
		done
	fi
	capture as_user "$T1" "$RLBPF" rmi "${hex:0:12}"
	assert_eq 0 "$RC" "exit status of 'rlbpf rmi ID' (stderr $(_show "$ERR"))"
	assert_eq "Deleted: sha256:$hex" "$OUT" "output of 'rlbpf rmi ID' of an untagged image"
	assert_false "the image directory is still there" test -e "$(_store "$T1")/$hex"
	assert_eq "" "$(find "$(_store "$T1")" -mindepth 1 -maxdepth 1 -name '.rm-*' -o -mindepth 1 -maxdepth 1 -name '.tmp-*')" \
		"leftovers of the removal in the store"
	# --pull never: by default a missing image is pulled, as Docker pulls it.
	rlbpf_run "$T1" --rm --pull never rlbpf-docker:1.0 true
	assert_eq 125 "$RC" "exit status of a run of a removed image"
	assert_contains "$ERR" "rlbpf run: unknown image 'rlbpf-docker:1.0'" "error of a run of a removed image"

	for cmd in load images rmi tag; do
		capture as_user "$T1" "$RLBPF" "$cmd" --help
		assert_eq 0 "$RC" "exit status of 'rlbpf $cmd --help'"
		assert_contains "$OUT" "Usage: rlbpf $cmd" "'rlbpf $cmd --help'"
		capture as_user "$T1" "$RLBPF" "$cmd" --no-such-option
		assert_eq 125 "$RC" "exit status of 'rlbpf $cmd --no-such-option'"
		assert_eq "rlbpf $cmd: unknown option '--no-such-option'; see 'rlbpf $cmd --help'" "$ERR" "error of 'rlbpf $cmd --no-such-option'"
	done
}

test_builtin_busybox_is_an_image() {
	local data hex ustart
	ustart=$(subid_start /etc/subuid "$T1")
	data=$(scratch_dir busybox-data "$T1" 0700)
	# Eight first runs at once against an empty store: one load, no harm.
	local i pids=() rc failed=0
	for i in 1 2 3 4 5 6 7 8; do
		as_user "$T1" XDG_DATA_HOME="$data" "$RLBPF" run --rm busybox true \
			>"$T_CASE_DIR/first-$i.log" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		[ "$rc" = 0 ] || { failed=1; fail "concurrent first run $((i + 1)) exited $rc: $(_show "$(cat "$T_CASE_DIR/first-$((i + 1)).log")")"; }
	done
	[ "$failed" = 1 ] || pass
	local store=$data/rlbpf/images
	assert_eq 1 "$(find "$store" -mindepth 1 -maxdepth 1 -type d | wc -l)" "image directories after 8 concurrent first runs ($(find "$store" -mindepth 1 -printf '%f ' -prune))"
	hex=$(jq -r '."busybox:latest" // empty' "$store/repositories.json" 2>/dev/null)
	hex=${hex#sha256:}
	assert_match "$hex" '^[0-9a-f]{64}$' "busybox:latest in the index"

	capture as_user "$T1" XDG_DATA_HOME="$data" "$RLBPF" images
	assert_match "$OUT" "^busybox +latest +${hex:0:12} " "busybox in 'rlbpf images'"
	for ref in busybox busybox:latest "${hex:0:12}"; do
		# shellcheck disable=SC2016 # expanded in the container
		capture as_user "$T1" XDG_DATA_HOME="$data" "$RLBPF" run --rm "$ref" sh -c 'echo $PATH; stat -c "%u:%g %a" /home/user /root /tmp'
		assert_eq $'/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n1000:1000 755\n0:0 700\n0:0 1777' "$OUT" \
			"Env and owners inside 'rlbpf run $ref' (stderr $(_show "$ERR"))"
	done
	assert_eq "$((ustart + 999))" "$(stat -c %u "$store/$hex/rootfs/home/user")" "host owner of busybox's /home/user"

	# Removed, it comes back on the next run.
	capture as_user "$T1" XDG_DATA_HOME="$data" "$RLBPF" rmi busybox
	assert_eq $'Untagged: busybox:latest\nDeleted: sha256:'"$hex" "$OUT" "output of 'rlbpf rmi busybox' (stderr $(_show "$ERR"))"
	capture as_user "$T1" XDG_DATA_HOME="$data" "$RLBPF" run --rm busybox true
	assert_eq 0 "$RC" "exit status of a run of busybox after rmi (stderr $(_show "$ERR"))"
	assert_true "busybox is back in the store" test -d "$store/$hex"
}

test_single_id_map_user_loads_and_runs() {
	local dir=$T_TMP/scratch/tool-images hex
	[ -f "$dir/docker.tar" ] || _make_tool_images "$dir" || return
	capture as_user "$T2" "$RLBPF" load -i "$dir/docker.tar"
	assert_eq 0 "$RC" "exit status of load as $T2, who has no subordinate range (stderr $(_show "$ERR"))"
	assert_eq "Loaded image: rlbpf-docker:1.0" "$OUT" "output of load as $T2"
	hex=$(_image_hex "$T2" rlbpf-docker:1.0)
	assert_eq "$(id -u "$T2")" "$(stat -c %u "$(_store "$T2")/$hex/rootfs/home/user/owned" 2>&1)" \
		"host owner of a file of uid 1000 with a single-id map (the user: owners are ignored)"
	rlbpf_run "$T2" --rm -u 0 rlbpf-docker:1.0 cat /home/user/owned
	assert_eq "owned" "$OUT" "a file of the image read by $T2's container (stderr $(_show "$ERR"))"
	capture as_user "$T2" "$RLBPF" rmi rlbpf-docker:1.0
	assert_eq 0 "$RC" "exit status of rmi as $T2 (stderr $(_show "$ERR"))"
	assert_false "the image directory of $T2 is still there" test -e "$(_store "$T2")/$hex"
}

# _tarfile_archive CASE OUT VICTIM_DIR VICTIM_FILE VICTIM_TMP [BASE_LAYER]:
# writes a docker-archive of CASE's layers (tagged tarfile:CASE) to OUT with
# python's tarfile, on top of the layer in the file BASE_LAYER if given;
# digests are right unless the case is about them.
_tarfile_archive() {
	python3 - "$@" <<'PY'
import hashlib, io, json, sys, tarfile

case, out, victim_dir, victim_file, victim_tmp = sys.argv[1:6]
base_layer = sys.argv[6] if len(sys.argv) > 6 else None

def info(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, uid=0, gid=0, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime, ti.linkname = kind, mode, uid, gid, 0, link
    if kind == tarfile.CHRTYPE:
        ti.devmajor, ti.devminor = 1, 3
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, data

def f(name, data=b"pwned\n", **kw): return info(name, data=data, **kw)
def d(name): return info(name, tarfile.DIRTYPE, mode=0o755)
def sym(name, target): return info(name, tarfile.SYMTYPE, mode=0o777, link=target)
def hard(name, target): return info(name, tarfile.LNKTYPE, link=target)
def chrdev(name): return info(name, tarfile.CHRTYPE, mode=0o666)

def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return buf.getvalue()

base = [d("bin"), f("bin/true", b"#!/bin/sh\n", mode=0o755)]
layers = {
    # Layers Docker loads: device nodes (debootstrap's, saved with plain
    # tar), and the root and absolute names (`umoci insert ... /`, tar -P).
    "device-nodes": [[d("dev"), chrdev("dev/full"), chrdev("dev/null"),
                      f("thefile", b"device nodes skipped\n")]],
    "absolute-names": [[info("/", tarfile.DIRTYPE, mode=0o751), d("/etc"),
                        f("/etc/rlbpf-absolute", b"absolute\n"), f("//thefile", b"root entry\n"),
                        f(victim_tmp + "-abs", b"under the root\n")]],
    "dotdot": [base + [f("../../../../../../../.." + victim_tmp + "-dotdot")]],
    # Absolute names that climb: refused, although Docker would clean the
    # ".." away.
    "absolute-dotdot": [base + [f("/../../../../../../.." + victim_tmp + "-absdotdot")]],
    "absolute-dot-dotdot": [base + [f("/./../.." + victim_tmp + "-dotdot2")]],
    "double-slash-dotdot": [base + [f("//../" + victim_tmp + "-dotdot3")]],
    "absolute-through-symlink": [base + [sym("evil", victim_dir)], [f("/evil/x")]],
    "hardlink-absolute-dotdot": [base + [hard("h", "/../../../../../../etc/passwd")]],
    "root-not-a-directory": [base + [sym("/", "/etc")]],
    "symlink-then-write": [base + [sym("evil", victim_dir)], [f("evil/x")]],
    "symlink-then-write-one-layer": [base + [sym("evil", victim_dir), f("evil/x")]],
    "symlink-then-mkdir": [base + [sym("evil", victim_dir)], [d("evil/sub")]],
    "symlink-climbing-out": [base + [d("a"), sym("a/up", "../../../../../../etc")]],
    "hardlink-dotdot": [base + [hard("h", "../../../../../../etc/passwd")]],
    "hardlink-absolute": [base + [hard("h", victim_file)]],
    "hardlink-through-symlink": [base + [sym("s", victim_dir), hard("h", "s/file")]],
    "setuid-outside-range": [base + [f("bin/su", b"#!/bin/sh\n", mode=0o4755, uid=4000000)]],
}.get(case, [base])
blobs = [tar(l) for l in layers]
if base_layer:
    blobs.insert(0, open(base_layer, "rb").read())
if case == "not-a-tar":
    blobs = [b"this is not a tar archive, just text\n" * 64]
diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
if case == "layer-digest-mismatch":
    blobs[0] = blobs[0].replace(b"#!/bin/sh", b"#!/bin/xx")
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["true"]},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
if case == "config-digest-mismatch":
    config_name = hashlib.sha256(b"something else").hexdigest() + ".json"
layer_names = [h[7:] + "/layer.tar" for h in diff_ids]
members = {config_name: config}
members.update(zip(layer_names, blobs))
if case == "missing-blob":
    del members[layer_names[0]]
if case == "manifest-escape":
    layer_names = ["../../../../../../../etc/hostname"]
manifest = [{"Config": config_name, "RepoTags": ["tarfile:" + case], "Layers": layer_names}]
members["manifest.json"] = json.dumps(manifest).encode()
if case == "manifest-not-json":
    members["manifest.json"] = b"[{\"Config\": "
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
    for name, data in members.items():
        ti, _ = f(name, data)
        t.addfile(ti, io.BytesIO(data))
PY
}

# Where the cases below build their archives, and what a hostile one would
# reach: a directory the test user may write to (were rlbpf to follow a
# link out of the image, it could really write there), and names in /tmp.
_victims() {
	command -v python3 >/dev/null || skip "python3 is not installed (tools/deps.sh test installs it)"
	victim_tmp=/tmp/rlbpf-victim-$$
	victim_dir=$(scratch_dir victim "$T1" 0755)
	echo original >"$victim_dir/file"
	chown "$T1" "$victim_dir/file"
	dir=$T_TMP/scratch/tarfile
	mkdir -p "$dir"
	chmod 755 "$dir"
}

# _tarfile_case CASE [BASE_LAYER]: builds CASE's archive, $dir/CASE.tar,
# readable by the test users.
_tarfile_case() {
	if ! _tarfile_archive "$1" "$dir/$1.tar" "$victim_dir" "$victim_dir/file" "$victim_tmp" "${@:2}" 2>"$T_CASE_DIR/py.err"; then
		fail "$1: cannot build the archive: $(_show "$(cat "$T_CASE_DIR/py.err")")"
		return 1
	fi
	chmod 644 "$dir/$1.tar"
}

# Loads each CASE of the "CASE NEEDLE" lines on stdin as $T1: each is
# refused with NEEDLE in its one line, and leaves the store as it was
# (store_before) and the victims untouched.
_refuse_cases() {
	local case needle
	while read -r case needle; do
		[ -n "$case" ] || continue
		_tarfile_case "$case" || continue
		capture as_user "$T1" "$RLBPF" load -i "$dir/$case.tar"
		_refused "$case" "$needle"
		assert_eq "$store_before" "$(_store_state "$T1")" "$case: the store after the refusal"
		assert_eq "file" "$(find "$victim_dir" -mindepth 1 -printf '%f\n' -prune)" "$case: the victim directory's contents"
		assert_eq "original" "$(cat "$victim_dir/file")" "$case: the victim file"
		assert_eq "" "$(ls -d "$victim_tmp"* 2>/dev/null)" "$case: files written outside the store"
	done
}

test_hostile_archives_are_refused() {
	userspace_only
	local victim_dir victim_tmp dir before store_before
	_victims

	# The store exists (and has busybox) before the hostile loads.
	rlbpf_run "$T1" --rm busybox true
	before=$(snapshot "$T1")
	store_before=$(_store_state "$T1")

	_refuse_cases <<-'EOF'
		dotdot 							'..'
		symlink-then-write				would be written through a symbolic link
		symlink-then-write-one-layer	would be written through a symbolic link
		symlink-then-mkdir				would be written through a symbolic link
		symlink-climbing-out			climbs out of the root filesystem
		hardlink-dotdot					hard link
		hardlink-absolute				hard link
		hardlink-through-symlink		hard link
		setuid-outside-range			is setuid and is owned by uid 4000000
		missing-blob					which is not in the archive
		manifest-escape					which is outside the archive
		manifest-not-json				manifest.json is not valid JSON
		config-digest-mismatch			does not match its digest
		layer-digest-mismatch			does not match its diff ID
		not-a-tar						is not a tar archive
	EOF

	# Neither an archive nor a layout, and a file that is not there.
	echo "just text" >"$dir/text.tar"
	chmod 644 "$dir/text.tar"
	capture as_user "$T1" "$RLBPF" load -i "$dir/text.tar"
	_refused "a text file" "is not a tar archive"
	mkdir -p "$dir/empty-dir"
	capture as_user "$T1" "$RLBPF" load -i "$dir/empty-dir"
	_refused "an empty directory" "neither a 'docker save' archive nor an OCI image layout"
	capture as_user "$T1" "$RLBPF" load -i "$dir/no-such-file.tar"
	_refused "a missing file" "No such file or directory"
	assert_eq "$store_before" "$(_store_state "$T1")" "the store after every refusal"
	assert_nothing_left "$T1" "$before" "after the hostile archives"
}

# Layers that rootless Docker loads: device nodes are skipped with one
# notice a layer, "/" is the root and absolute names are read under it (as
# `umoci insert ... /` writes them); absolute names that climb out are
# refused as any other.
test_device_nodes_skipped_and_absolute_names_read_under_the_root() {
	userspace_only
	local victim_dir victim_tmp dir before store_before hex base
	_victims
	base=$dir/busybox-layer.tar
	_busybox_layer >"$base"

	_tarfile_case device-nodes "$base" || return
	capture as_user "$T1" "$RLBPF" load -i "$dir/device-nodes.tar"
	assert_eq 0 "$RC" "exit status of load of a layer with device nodes (stderr $(_show "$ERR"))"
	assert_eq "Loaded image: tarfile:device-nodes" "$OUT" "output of load of a layer with device nodes"
	assert_eq "rlbpf: skipped 2 device nodes that a rootless image cannot hold: /dev/full, /dev/null" "$ERR" \
		"the notice of the skipped device nodes"
	hex=$(_image_hex "$T1" tarfile:device-nodes)
	assert_false "a device node is in the stored rootfs" test -e "$(_store "$T1")/$hex/rootfs/dev/full"
	rlbpf_run "$T1" --rm tarfile:device-nodes cat /thefile
	assert_eq "device nodes skipped" "$OUT" "a file of the layer with device nodes (stderr $(_show "$ERR"))"

	_tarfile_case absolute-names "$base" || return
	capture as_user "$T1" "$RLBPF" load -i "$dir/absolute-names.tar"
	assert_eq 0 "$RC" "exit status of load of a layer with '/' and absolute names (stderr $(_show "$ERR"))"
	assert_eq "Loaded image: tarfile:absolute-names" "$OUT" "output of load of a layer with absolute names"
	assert_eq "" "$ERR" "stderr of load of a layer with absolute names"
	hex=$(_image_hex "$T1" tarfile:absolute-names)
	assert_eq 751 "$(stat -c %a "$(_store "$T1")/$hex/rootfs" 2>&1)" "mode of the stored rootfs (the '/' entry's)"
	rlbpf_run "$T1" --rm tarfile:absolute-names cat /etc/rlbpf-absolute /thefile "$victim_tmp-abs"
	assert_eq $'absolute\nroot entry\nunder the root' "$OUT" "files of absolute names, read inside (stderr $(_show "$ERR"))"
	assert_eq "" "$(ls -d "$victim_tmp"* 2>/dev/null)" "files written outside the store by absolute names"

	# What `umoci insert SRC /` makes, on the busybox rootfs. umoci before
	# 0.4.8 leaves insert's tar without its end blocks (umoci#436); an empty
	# last file keeps the data before it whole.
	local built=1
	if command -v umoci >/dev/null; then
		(
			set -e
			cd "$dir"
			_umoci_busybox_bundle rlbpf-insert
			umoci repack --image oci:rlbpf-insert bundle
			mkdir -p inserted/etc
			echo inserted >inserted/etc/rlbpf-inserted
			: >inserted/zz-empty
			umoci insert --image oci:rlbpf-insert inserted /
			rm -rf bundle
			chmod -R a+rX .
		) >"$T_CASE_DIR/umoci.log" 2>&1
		built=$?
		[ "$built" = 0 ] || fail "building an image with 'umoci insert' failed: $(_show "$(tail -n 5 "$T_CASE_DIR/umoci.log")")"
	else
		echo "umoci is not installed: no image made by 'umoci insert' (tools/deps.sh test installs it)"
	fi
	if [ "$built" = 0 ]; then
		capture as_user "$T1" "$RLBPF" load -i "$dir/oci"
		assert_eq 0 "$RC" "exit status of load of umoci insert's image (stderr $(_show "$ERR"))"
		assert_eq "Loaded image: rlbpf-insert:latest" "$OUT" "output of load of umoci insert's image"
		rlbpf_run "$T1" --rm rlbpf-insert cat /etc/rlbpf-inserted
		assert_eq "inserted" "$OUT" "a file that 'umoci insert ... /' added (stderr $(_show "$ERR"))"
	fi

	before=$(snapshot "$T1")
	store_before=$(_store_state "$T1")
	_refuse_cases <<-'EOF'
		absolute-dotdot					'..'
		absolute-dot-dotdot				'..'
		double-slash-dotdot				'..'
		absolute-through-symlink		would be written through a symbolic link
		hardlink-absolute-dotdot		hard link
		root-not-a-directory			(the root) is not a directory
	EOF
	assert_nothing_left "$T1" "$before" "after the hostile archives with absolute names"
}
