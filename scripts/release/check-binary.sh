#!/usr/bin/env bash
# Fails when the prebuilt addon would not load on the oldest systems we ship
# for: every glibc symbol version must be <= the floor, and nothing may come
# from a shared C++ runtime or CUDA library (both are linked in statically).
#
# The floor is 2.28 (Debian 10, Ubuntu 20.04, RHEL 8): Node 20's own binary
# needs 2.28, so no older system can run germ at all.
#
# Usage: scripts/release/check-binary.sh prebuilds/linux-x64/germ-dna.glibc.node
set -euo pipefail
floor=2.28
binary=${1:?usage: check-binary.sh path/to/germ.node}

highest=$(objdump -T "$binary" | grep -oE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' | sed 's/^GLIBC_//' | sort -uV | tail -1)
echo "glibc: the binary needs GLIBC_$highest at most (floor $floor)"
if [ "$(printf '%s\n%s\n' "$highest" "$floor" | sort -V | tail -1)" != "$floor" ]; then
  echo "FAIL: needs glibc $highest, past the floor $floor:"
  objdump -T "$binary" | grep -E "GLIBC_$highest\b" | head
  exit 1
fi
if objdump -T "$binary" | grep -qE 'GLIBCXX_|CXXABI_|GCC_[0-9]'; then
  echo "FAIL: symbols from a shared libstdc++ / libgcc_s:"
  objdump -T "$binary" | grep -E 'GLIBCXX_|CXXABI_|GCC_[0-9]' | head
  exit 1
fi
needed=$(objdump -p "$binary" | awk '/NEEDED/ {print $2}' | tr '\n' ' ')
echo "shared libraries: $needed"
for lib in $needed; do
  case $lib in
    libc.so.6 | libm.so.6 | libdl.so.2 | libpthread.so.0 | librt.so.1 | ld-linux-x86-64.so.2) ;;
    *) echo "FAIL: depends on $lib, which users may not have"; exit 1 ;;
  esac
done
