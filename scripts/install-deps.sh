#!/usr/bin/env bash
# Installs the Debian packages anycastd builds and tests with, only those missing.
# Idempotent and quiet: prints one line when it installs, nothing when all are there.
set -euo pipefail
# strace: the unit test traces the agent's syscalls against the unit's filter; systemd: systemd-analyze
# (the unit's exposure score) and systemd-sysusers; util-linux: setpriv (the unit's credentials).
# gobgpd, exabgp: the third and fourth BGP implementations the interop tests peer with; etcd-server: the
# fleet store; lintian, fakeroot: `make deb` builds and checks the package; tcpdump: the lab's restart
# capture (lab/restart-capture.ts) records every namespace's packets around an agent restart;
# etcd-client: etcdctl, the lab's own reads, writes and leader queries of its etcd store (lab/etcd.ts).
pkgs=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool iproute2 ethtool frr bird2 prometheus iputils-ping
  strace systemd util-linux passwd gobgpd exabgp etcd-server etcd-client lintian fakeroot tcpdump)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Daemons (frr, bird, prometheus) are started by the lab itself, never by the package.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
