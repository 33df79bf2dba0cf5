#!/usr/bin/env python3
"""Edits OCI image layouts for t_pull.sh, where umoci and skopeo cannot.

  oci.py index LAYOUT NEWTAG TAG=OS/ARCH[/VARIANT]...
      an image index over the manifests of TAG..., tagged NEWTAG
  oci.py gunzip LAYOUT TAG NEWTAG
      TAG with every gzip layer stored uncompressed (skopeo 1.9 always
      compresses what it pushes, so such images are pushed with `push`)
  oci.py mix LAYOUT NEWTAG SRC_LAYOUT:TAG...
      one image whose layer i is taken from the i-th source; the sources are
      one image compressed in different ways (the same config and diff_ids)
  oci.py hostile LAYOUT TAG CASE VICTIM
      an image whose one layer tries to write VICTIM (an absolute host path)
      from outside its rootfs: CASE dotdot ("../../..VICTIM") or symlink
      (a symlink to VICTIM's directory, then a file written through it)
  oci.py push LAYOUT TAG URL/REPO:REF
      pushes TAG (a manifest or an index, with all it names) as it is, blobs
      byte for byte, to a plain-HTTP registry without authentication
Standard library only.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"


def blob_path(layout, digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(layout, "blobs", algo, hexd)


def read_blob(layout, digest):
    with open(blob_path(layout, digest), "rb") as f:
        return f.read()


def write_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = blob_path(layout, digest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return digest


def init_layout(layout):
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    marker = os.path.join(layout, "oci-layout")
    if not os.path.exists(marker):
        with open(marker, "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
    index = os.path.join(layout, "index.json")
    if not os.path.exists(index):
        with open(index, "w") as f:
            json.dump({"schemaVersion": 2, "manifests": []}, f)


def load_index(layout):
    with open(os.path.join(layout, "index.json")) as f:
        return json.load(f)


def descriptor(layout, tag):
    for d in load_index(layout)["manifests"]:
        if d.get("annotations", {}).get(REF_NAME) == tag:
            return d
    sys.exit("oci.py: no tag %r in %s" % (tag, layout))


def set_tag(layout, tag, desc):
    index = load_index(layout)
    index["manifests"] = [d for d in index["manifests"]
                          if d.get("annotations", {}).get(REF_NAME) != tag]
    desc = dict(desc)
    desc["annotations"] = {REF_NAME: tag}
    index["manifests"].append(desc)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)


def put_manifest(layout, tag, manifest, media_type=OCI_MANIFEST):
    data = json.dumps(manifest).encode()
    set_tag(layout, tag, {"mediaType": media_type, "digest": write_blob(layout, data),
                          "size": len(data)})


def cmd_index(layout, newtag, *specs):
    manifests = []
    for spec in specs:
        tag, platform = spec.split("=", 1)
        parts = platform.split("/")
        d = descriptor(layout, tag)
        p = {"os": parts[0], "architecture": parts[1]}
        if len(parts) > 2:
            p["variant"] = parts[2]
        manifests.append({"mediaType": d["mediaType"], "digest": d["digest"],
                          "size": d["size"], "platform": p})
    put_manifest(layout, newtag, {"schemaVersion": 2, "mediaType": OCI_INDEX,
                                  "manifests": manifests}, OCI_INDEX)


def cmd_gunzip(layout, tag, newtag):
    manifest = json.loads(read_blob(layout, descriptor(layout, tag)["digest"]))
    layers = []
    for l in manifest["layers"]:
        data = read_blob(layout, l["digest"])
        if l["mediaType"].endswith("+gzip"):
            data = gzip.decompress(data)
            l = {"mediaType": LAYER_TAR, "digest": write_blob(layout, data), "size": len(data)}
        layers.append(l)
    manifest["layers"] = layers
    put_manifest(layout, newtag, manifest)


def cmd_mix(layout, newtag, *sources):
    init_layout(layout)
    manifest = None
    layers = []
    for i, src in enumerate(sources):
        src_layout, src_tag = src.rsplit(":", 1)
        m = json.loads(read_blob(src_layout, descriptor(src_layout, src_tag)["digest"]))
        if manifest is None:
            manifest = m
            write_blob(layout, read_blob(src_layout, m["config"]["digest"]))
        l = m["layers"][i]
        write_blob(layout, read_blob(src_layout, l["digest"]))
        layers.append(l)
    manifest["layers"] = layers
    put_manifest(layout, newtag, manifest)


def tar_entry(name, kind=tarfile.REGTYPE, data=b"", link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.linkname = kind, 0o644, 0, link
    if kind == tarfile.DIRTYPE:
        ti.mode = 0o755
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    return ti, data


def cmd_hostile(layout, tag, case, victim):
    init_layout(layout)
    entries = [tar_entry("bin", tarfile.DIRTYPE), tar_entry("bin/true", data=b"#!/bin/sh\n")]
    if case == "dotdot":
        entries.append(tar_entry("../../../../../../../.." + victim, data=b"pwned\n"))
    elif case == "symlink":
        entries.append(tar_entry("evil", tarfile.SYMTYPE, link=os.path.dirname(victim)))
        entries.append(tar_entry("evil/" + os.path.basename(victim), data=b"pwned\n"))
    else:
        sys.exit("oci.py: unknown hostile case %r" % case)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    layer = raw.getvalue()
    compressed = gzip.compress(layer, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["/bin/true"]},
                         "rootfs": {"type": "layers",
                                    "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}
                         }).encode()
    put_manifest(layout, tag, {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": write_blob(layout, config),
                   "size": len(config)},
        "layers": [{"mediaType": LAYER_TAR + "+gzip", "digest": write_blob(layout, compressed),
                    "size": len(compressed)}]})


def http(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def push_blob(base, repo, layout, digest):
    if http("HEAD", "%s/v2/%s/blobs/%s" % (base, repo, digest))[0] == 200:
        return
    status, headers, body = http("POST", "%s/v2/%s/blobs/uploads/" % (base, repo), b"")
    if status != 202:
        sys.exit("oci.py: upload of %s: %d %s" % (digest, status, body[:200]))
    loc = urllib.parse.urljoin(base + "/", headers["Location"])
    loc += ("&" if "?" in loc else "?") + "digest=" + urllib.parse.quote(digest)
    status, _, body = http("PUT", loc, read_blob(layout, digest),
                           {"Content-Type": "application/octet-stream"})
    if status != 201:
        sys.exit("oci.py: upload of %s: %d %s" % (digest, status, body[:200]))


def push_manifest(base, repo, layout, desc, ref):
    data = read_blob(layout, desc["digest"])
    m = json.loads(data)
    if desc["mediaType"] == OCI_INDEX:
        for child in m["manifests"]:
            push_manifest(base, repo, layout, child, child["digest"])
    else:
        for d in [m["config"]] + m["layers"]:
            push_blob(base, repo, layout, d["digest"])
    status, _, body = http("PUT", "%s/v2/%s/manifests/%s" % (base, repo, ref), data,
                           {"Content-Type": desc["mediaType"]})
    if status != 201:
        sys.exit("oci.py: manifest %s: %d %s" % (ref, status, body[:300]))


def cmd_push(layout, tag, dest):
    # dest: http://HOST:PORT/REPO:REF
    u = urllib.parse.urlsplit(dest)
    repo, ref = u.path.lstrip("/").rsplit(":", 1)
    push_manifest("%s://%s" % (u.scheme, u.netloc), repo, layout, descriptor(layout, tag), ref)


if __name__ == "__main__":
    cmds = {"index": cmd_index, "gunzip": cmd_gunzip, "mix": cmd_mix,
            "hostile": cmd_hostile, "push": cmd_push}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](*sys.argv[2:])
