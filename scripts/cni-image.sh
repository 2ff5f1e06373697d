#!/usr/bin/env bash
# Builds, offline, a tiny OCI image for the CNI runtime tests: Debian's
# busybox-static as /bin/busybox plus one symlink per applet, as a single layer.
# The result is an OCI image layout tarred once (oci-layout, index.json,
# blobs/sha256/...), which both `podman load -i` and `ctr images import` take:
# index.json names the image twice, as containerd wants it
# (io.containerd.image.name) and as containers/image wants it
# (org.opencontainers.image.ref.name).
#
#   bash scripts/cni-image.sh      -> prints the tarball's path and the image name
#
# Cached under .cache/ keyed by busybox-static's version: a second run prints
# the same path without building. Everything is deterministic (fixed mtimes,
# owners and order), so the same busybox gives the same digests.
set -euo pipefail
cd "$(dirname "$0")/.."

busybox=/bin/busybox
version=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null) || {
  echo "cni-image.sh: busybox-static is not installed (run: sudo bash scripts/setup.sh)" >&2
  exit 1
}
key=${version#*:}; key=${key//[^A-Za-z0-9.-]/_}
name="localhost/nsnet-busybox:$key"
out=.cache/cni-image/busybox-$key.oci.tar
if [[ -s $out ]]; then
  printf '%s\n%s\n' "$PWD/$out" "$name"
  exit 0
fi

work=$(mktemp -d /tmp/nsnet-cni-image-XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,run,var/www}
cp "$busybox" "$rootfs/bin/busybox"
# One symlink per applet, where busybox itself would install it (--list-full gives the paths).
while read -r applet; do
  [[ $applet == bin/busybox ]] && continue
  [[ -e $rootfs/$applet || -L $rootfs/$applet ]] || ln -s /bin/busybox "$rootfs/$applet"
done < <("$busybox" --list-full)
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
printf 'nsnet busybox image\n' >"$rootfs/var/www/index.html"
chmod 1777 "$rootfs/tmp"

layout=$work/layout
mkdir -p "$layout/blobs/sha256"
# blob FILE -> moves FILE into blobs/ under its digest; prints "DIGEST SIZE".
blob() {
  local d s
  d=$(sha256sum "$1"); d=${d%% *}
  s=$(stat -c %s "$1")
  mv "$1" "$layout/blobs/sha256/$d"
  echo "$d $s"
}
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -C "$rootfs" -cf "$work/layer.tar" .
read -r layer layer_size < <(blob "$work/layer.tar")

cat >"$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:$layer"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"scripts/cni-image.sh (busybox-static $version)"}]}
EOF
read -r config config_size < <(blob "$work/config.json")

cat >"$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$layer","size":$layer_size}]}
EOF
read -r manifest manifest_size < <(blob "$work/manifest.json")

cat >"$layout/index.json" <<EOF
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest","size":$manifest_size,"annotations":{"io.containerd.image.name":"$name","org.opencontainers.image.ref.name":"$name"}}]}
EOF
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

mkdir -p "$(dirname "$out")"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$work/image.tar" oci-layout index.json blobs
mv "$work/image.tar" "$out"
printf '%s\n%s\n' "$PWD/$out" "$name"
