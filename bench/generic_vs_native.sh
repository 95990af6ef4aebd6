#!/usr/bin/env bash
# MNIST 784-128-10 training speed of the workspace's native build against a build whose
# RUSTFLAGS override `target-cpu=native` (what a dependency build or `cargo install` from
# elsewhere gets), alternating runs on the same machine.
#
#   bash bench/generic_vs_native.sh [MNIST_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
mnist=${1:-../shared/data/mnist}
runs=${2:-3}
cargo build --release -q -p descent-cli
RUSTFLAGS="-C opt-level=3" CARGO_TARGET_DIR=target/generic cargo build --release -q -p descent-cli
for _ in $(seq "$runs"); do
  for exe in target/release/descent target/generic/release/descent; do
    "$exe" train --data "mnist:$mnist" --layers 784,128,10 --optimizer adam \
      --batch-size 128 --epochs 5 --threads 2 --json |
      python3 -c "import json,sys; d=json.load(sys.stdin); print('$exe', round(d['samples_per_second']), 'samples/s, test accuracy', d['test_accuracy'])"
  done
done
