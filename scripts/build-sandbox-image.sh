#!/usr/bin/env bash
# Builds the small image the Docker sandbox tests run in (no registry is reachable here):
# a root file system holding Debian's statically linked busybox, loaded with `docker import`.
# Idempotent: an existing image is kept.
set -euo pipefail
image=${1:-hermes-sandbox-test:1}
if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed"; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,var/tmp,run,root,workspace,proc,sys,dev}
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
chmod 1777 "$root/tmp" "$root/var/tmp"
tar -C "$root" -c . | docker import --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' --change 'WORKDIR /workspace' - "$image" >/dev/null
echo "built $image"
