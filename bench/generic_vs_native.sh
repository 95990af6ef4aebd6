#!/usr/bin/env bash
# MNIST 784-128-10 training speed of the workspace's portable build (baseline x86-64,
# what `cargo install`, a dependency build and the Python wheel get) against a build for
# this machine's own CPU (`-C target-cpu=native`), alternating runs on the same machine.
#
#   bash bench/generic_vs_native.sh [MNIST_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
mnist=${1:-../shared/data/mnist}
runs=${2:-3}
cargo build --release -q -p descent-cli
RUSTFLAGS="-C target-cpu=native" CARGO_TARGET_DIR=target/native cargo build --release -q -p descent-cli
for _ in $(seq "$runs"); do
  for exe in target/release/descent target/native/release/descent; do
    "$exe" train --data "mnist:$mnist" --layers 784,128,10 --optimizer adam \
      --batch-size 128 --epochs 5 --threads 2 --json |
      python3 -c "import json,sys; d=json.load(sys.stdin); print('$exe', round(d['samples_per_second']), 'samples/s, test accuracy', d['test_accuracy'])"
  done
done
