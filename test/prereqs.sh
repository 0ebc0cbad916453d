#!/usr/bin/env bash
# What the tests run besides Node: gcc (the C conformance and hostile programs),
# busybox-static, coreutils, bash and Debian's python3 (the scenarios), diod and
# make (the Gofer's tests), trinity (the fuzzing test), procps, iproute2 and
# bsdutils (procfs, network and terminal scenarios), docker.io, containerd and podman (the
# OCI tests, which start private daemons of their own). Installs
# whatever is missing when run as root on Debian; otherwise says what to install.
set -euo pipefail
missing=()
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
[ -x /bin/busybox ] || missing+=(busybox-static)
[ -x /usr/bin/python3 ] || missing+=(python3)
[ -x /bin/bash ] || missing+=(bash)
[ -x /usr/bin/sha256sum ] || missing+=(coreutils)
[ -x /usr/bin/script ] || missing+=(bsdutils) # test/tty.test.ts
[ -x /usr/sbin/diod ] || missing+=(diod) # test/gofer_diod.test.ts
command -v make >/dev/null || missing+=(make) # test/gofer_build.test.ts
command -v trinity >/dev/null || missing+=(trinity) # test/fuzz.test.ts
command -v ps >/dev/null || missing+=(procps) # test/vfs_scenarios.test.ts
command -v ip >/dev/null || missing+=(iproute2) # test/net.test.ts
command -v dockerd >/dev/null || missing+=(docker.io) # test/oci_docker.test.ts
command -v podman >/dev/null || missing+=(podman) # test/oci_podman.test.ts
command -v containerd-shim-runc-v2 >/dev/null || missing+=(containerd) # test/oci_containerd.test.ts
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "tests need these Debian packages: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
