#!/usr/bin/env bash
# The packed package, checked as a user meets it:
#   1. `npm install <tarball>` in a fresh project: npm sees no install script;
#   2. its types check under `strict` in that project;
#   3. it loads and computes on this machine;
#   4. the same inside a Debian 11 root filesystem (glibc 2.31, run with chroot):
#      load, devices(), a linear on the CPU, and `germ embed` on the shipped model;
#   5. `npx germ build` from the installed package with its prebuilds removed:
#      the CPU backend, then CUDA where nvcc is (one architecture, to keep it short).
#
# Usage (as root, for the chroot): scripts/release/consumer-test.sh germ-dna-X.Y.Z.tgz
set -euo pipefail
tarball=$(realpath "${1:?usage: consumer-test.sh path/to/germ-dna-X.Y.Z.tgz}")
here=$(cd "$(dirname "$0")" && pwd)
project=$(mktemp -d)
step() { echo; echo "-- $*"; }

step "npm install the tarball into a fresh project"
cd "$project"
npm init -y > /dev/null
npm install --no-audit --no-fund "$tarball" > install.log 2>&1 || { cat install.log; exit 1; }
scripts=$(npm install-scripts ls 2>&1 || true)
echo "$scripts"
if grep -q 'germ-dna' <<< "$scripts"; then echo "FAIL: npm infers an install script for germ-dna"; exit 1; fi
grep -q 'install-scripts' install.log && { echo "FAIL: npm warned about install scripts:"; cat install.log; exit 1; }
echo "unpacked: $(du -sk node_modules/germ-dna | cut -f1) KB in node_modules/germ-dna"

step "types under strict"
npm install --no-audit --no-fund typescript@5 > /dev/null 2>&1
cat > check.ts <<'EOF'
import { tensor, linear, buildInfo, GermModel, type BuildInfo } from 'germ-dna';
const info: BuildInfo = buildInfo();
const y = linear(tensor([1, 2, 3, 4, 5, 6], [2, 3]), tensor([1, 0, 0, 0, 1, 0], [2, 3]));
export const done: Promise<unknown> = Promise.all([y.data(), GermModel.load('m')]).then(() => info.cuda);
EOF
npx tsc --strict --noEmit --module nodenext --moduleResolution nodenext --target es2022 check.ts
echo "types: ok"

# The user's check: load, list devices, one linear on the CPU, germ embed.
cat > smoke.js <<'EOF'
const g = require('germ-dna');
const info = g.buildInfo();
console.log('glibc', process.report.getReport().header.glibcVersionRuntime, '| build', JSON.stringify(info),
  '| gpus', g.devices().length);
g.linear(g.tensor([1, 2, 3, 4, 5, 6], [2, 3]), g.tensor([1, 0, 0, 0, 1, 0], [2, 3])).data().then((d) => {
  if (Array.from(d).join() !== '1,2,4,5') throw new Error('wrong result ' + Array.from(d));
  console.log('linear: ok');
});
EOF
# The README's main job, as written there (FASTA on stdin), and what its comment says it prints.
smoke() {  # $1: the node binary
  $1 smoke.js
  printf '>seq1\nACGTAGCATCGGATCTATCTATCGACACTTGG\n>seq2\nGGCCTTAACCGGTTAACGTA\n' |
    $1 node_modules/.bin/germ embed node_modules/germ-dna/test/fixtures/parity/softmax1 - > emb.tsv
  [ "$(wc -l < emb.tsv)" = 2 ] && [ "$(head -1 emb.tsv | awk -F'\t' '{print NF}')" = 65 ] &&
    head -1 emb.tsv | grep -q $'^seq1\t-0.5587478\t-0.5248034\t' ||
    { echo "FAIL: germ embed wrote:"; head -c 300 emb.tsv; exit 1; }
  echo "germ embed: ok ($(cut -c1-40 emb.tsv | head -1) ...)"
}

step "load and run here"
smoke node

step "load and run inside Debian 11 (glibc 2.31, chroot)"
eval "$(bash "$here/toolchain.sh" | sed 's/^/export /')"
root=$GERM_RELEASE_ROOT
jail=/tmp/germ-consumer
rm -rf "${root:?}$jail" && mkdir -p "$root$jail"
cp -a "$project"/. "$root$jail/"
cp "$(command -v node)" "$root$jail/node"
mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true; rm -rf "${root:?}$jail"' EXIT
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp bash -c "cd $jail && \$(command -v ldd) --version | head -1 &&
  $(declare -f smoke); smoke $jail/node"

step "npx germ build: from source in the installed package, its prebuilds removed"
rm -rf node_modules/germ-dna/prebuilds
npx germ build --cuda off
node smoke.js
node -e "if (require('germ-dna').buildInfo().cuda) throw new Error('expected the CPU-only build')"
if command -v nvcc > /dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
  npx germ build --cuda on --cuda-archs 75-virtual
  node smoke.js
  node -e "if (!require('germ-dna').buildInfo().cuda) throw new Error('expected a CUDA build')"
fi
rm -rf "$project"
echo; echo "consumer test: ok"
