#!/usr/bin/env bash
# The release toolchain: what the shipped prebuilt binary is compiled with, so
# that it loads where users are.
#
#   CUDA 12 (Debian trixie's nvidia-cuda-toolkit, non-free): its static runtime
#     runs on NVIDIA drivers >= 525, where CUDA 13's needs >= 580.
#   a Debian 11 (bullseye) root made with debootstrap: glibc 2.31 and gcc-10,
#     whose libstdc++.a / libgcc_eh.a were themselves built against glibc 2.31,
#     so the addon needs no symbol newer than that. The same root is the old
#     userland in which CI runs the packed package's smoke test.
#
# Both are fetched from Debian's archive on first use and cached under
# $GERM_TOOLCHAIN_CACHE (default ~/.cache/germ-toolchain); the system's own
# apt state and libc are left alone (a private apt list for trixie, and
# `apt-get download` + `dpkg-deb -x` into the cache). Needs root for debootstrap.
#
# Usage: scripts/release/toolchain.sh        prints KEY=VALUE lines:
#   GERM_RELEASE_CUDA=<CUDA home>  GERM_RELEASE_ROOT=<Debian 11 root>
#   GERM_RELEASE_CC / GERM_RELEASE_CXX=<gcc-10 / g++-10 with the root as sysroot>
set -euo pipefail

cache=${GERM_TOOLCHAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/germ-toolchain}
mirror=${GERM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cuda_home=$cache/cuda-12
root=$cache/debian11
mkdir -p "$cache"
say() { echo "germ toolchain: $*" >&2; }

# ---- CUDA 12 from trixie, laid out as a standard CUDA home (bin/, nvvm/,
# include/, lib64/) so nvcc and CMake's CUDAToolkit find everything relative
# to nvcc itself.
fetch_cuda() {
  local work=$cache/cuda-work
  rm -rf "$work" "$cuda_home"
  mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/x"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main contrib non-free" > "$work/sources.list"
  local apt=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
             -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work" -o APT::Architecture=amd64
             -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq)
  say "fetching CUDA 12 from Debian trixie (non-free), about 1 GB once"
  apt-get "${apt[@]}" update
  (cd "$work" && apt-get "${apt[@]}" download nvidia-cuda-toolkit nvidia-cuda-dev libcudart12 libnvvm4 libcu++-dev libcub-dev libthrust-dev)
  local version
  version=$(dpkg-deb -f "$work"/nvidia-cuda-toolkit_*.deb Version)
  [[ $version == 12.* ]] || { say "trixie's nvidia-cuda-toolkit is $version, not 12.x"; exit 1; }
  # Only what compiling and statically linking the kernels needs: the cuBLAS /
  # cuFFT / NPP archives (2.4 GB of the 2.5) stay out of the cache.
  for deb in "$work"/*.deb; do
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/x" --wildcards \
      './usr/bin/*' './usr/lib/nvidia-cuda-toolkit/bin/*' './usr/lib/nvidia-cuda-toolkit/libdevice/*' \
      './usr/include/*' './usr/lib/x86_64-linux-gnu/libcudart_static.a' './usr/lib/x86_64-linux-gnu/libcudadevrt.a' \
      './usr/lib/x86_64-linux-gnu/libculibos.a' './usr/lib/x86_64-linux-gnu/stubs/libcuda.so' \
      './usr/lib/x86_64-linux-gnu/libnvvm.so*' './usr/lib/x86_64-linux-gnu/libcudart.so*' 2>/dev/null || true
  done
  local x=$work/x
  mkdir -p "$cuda_home"/{bin/crt,nvvm/bin,nvvm/libdevice,nvvm/lib64,lib64/stubs}
  # /usr/bin/nvcc is Debian's shell wrapper; the real driver is in the toolkit's bin.
  cp "$x"/usr/lib/nvidia-cuda-toolkit/bin/nvcc "$cuda_home/bin/"
  for tool in ptxas fatbinary nvlink cudafe++ bin2c nvprune cuobjdump nvdisasm cu++filt; do
    cp "$x/usr/bin/$tool" "$cuda_home/bin/"
  done
  cp "$x"/usr/lib/nvidia-cuda-toolkit/bin/crt/*.stub "$cuda_home/bin/crt/"
  cp "$x"/usr/lib/nvidia-cuda-toolkit/bin/cicc "$cuda_home/nvvm/bin/"
  cp "$x"/usr/lib/nvidia-cuda-toolkit/libdevice/* "$cuda_home/nvvm/libdevice/"
  cp -P "$x"/usr/lib/x86_64-linux-gnu/libnvvm.so* "$cuda_home/nvvm/lib64/"
  mv "$x/usr/include" "$cuda_home/include"
  mv "$x"/usr/lib/x86_64-linux-gnu/lib{cudart_static,cudadevrt,culibos}.a "$cuda_home/lib64/"
  # Not linked (the addon takes the static runtime), but CMake's CUDAToolkit wants it.
  mv "$x"/usr/lib/x86_64-linux-gnu/libcudart.so* "$cuda_home/lib64/"
  mv "$x/usr/lib/x86_64-linux-gnu/stubs/libcuda.so" "$cuda_home/lib64/stubs/"
  # NVIDIA's own nvcc.profile for a standard CUDA home.
  cat > "$cuda_home/bin/nvcc.profile" <<'EOF'
TOP              = $(_HERE_)/..
NVVMIR_LIBRARY_DIR = $(TOP)/$(_NVVM_BRANCH_)/libdevice
LD_LIBRARY_PATH += $(TOP)/lib:
PATH            += $(TOP)/$(_NVVM_BRANCH_)/bin:$(_HERE_):
INCLUDES        +=  "-I$(TOP)/include" $(_SPACE_)
LIBRARIES        =+ $(_SPACE_) "-L$(TOP)/lib64/stubs" "-L$(TOP)/lib64"
CUDAFE_FLAGS    +=
PTXAS_FLAGS     +=
EOF
  "$cuda_home/bin/nvcc" --version | tail -2 >&2
  echo "$version" > "$cuda_home/.complete"
  rm -rf "$work"
}

# ---- Debian 11: glibc 2.31, gcc-10. Absolute symlinks in the libraries
# (ld-linux, libm.so ...) become relative so the root also serves as a
# --sysroot from outside a chroot.
make_root() {
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    { apt-get update -qq && apt-get install -y -qq debootstrap; } >&2
  fi
  rm -rf "$root"
  say "debootstrap Debian 11 (bullseye) into $root"
  debootstrap --variant=minbase --include=g++-10,libc6-dev bullseye "$root" "$mirror" > "$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  find "$root/usr/lib" "$root/usr/lib64" -type l -lname '/*' | while read -r link; do
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$root$(readlink "$link")")" "$link"
  done
  rm -rf "$root/var/cache/apt/archives"/*.deb
  # gcc-10 runs from outside the root against it (it is relocatable); these
  # wrappers add the sysroot to every call, nvcc's host compilations and links too.
  mkdir -p "$root/germ-bin"
  for tool in gcc g++; do
    printf '#!/bin/sh\nexec "%s/usr/bin/%s-10" --sysroot="%s" "$@"\n' "$root" "$tool" "$root" > "$root/germ-bin/$tool"
    chmod +x "$root/germ-bin/$tool"
  done
  touch "$root/.complete"
}

[ -f "$cuda_home/.complete" ] || fetch_cuda
[ -f "$root/.complete" ] || make_root
echo "GERM_RELEASE_CUDA=$cuda_home"
echo "GERM_RELEASE_ROOT=$root"
echo "GERM_RELEASE_CC=$root/germ-bin/gcc"
echo "GERM_RELEASE_CXX=$root/germ-bin/g++"
