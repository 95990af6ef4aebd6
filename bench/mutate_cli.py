#!/usr/bin/env python3
"""Hostile inputs through the command line, as a user (or an attacker) would hand them.

Takes valid inputs of every kind descent reads — CSV, IDX (plain and gzip), NIST .dat,
safetensors models, optimizer states, checkpoints, expressions, models, method, problem,
schedule, data and bounds specs — mutates each many times (bit flips, inserted, deleted,
repeated and truncated bytes, numbers replaced by extreme ones), runs the CLI on every
mutant with a time limit and a memory limit, and counts the outcomes:

  ok       exit 0
  refused  a non-zero exit with one line on stderr and no panic
  verbose  a non-zero exit with more than one line on stderr (no panic)
  panic    a Rust panic (exit 101 or "panicked" on stderr)
  crash    killed by a signal (an abort on a failed allocation included)
  hang     still running after the time limit

Usage: bench/mutate_cli.py [--per-kind N] [--seed S] [--timeout SECONDS] [--binary PATH]
Exits non-zero if any mutant panicked, crashed or hung; failing inputs are kept in
target/mutants/.
"""

import argparse
import gzip
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTREMES = [b"1e308", b"-1e308", b"1e-320", b"NaN", b"inf", b"-inf", b"0", b"-0",
            b"18446744073709551615", b"9223372036854775808", b"4294967296", b"-1",
            b"99999999999", b"1e400", b"", b"\xff\xfe", b"(", b")", b",", b":", b"=",
            b"\n", b"\"", b"x" * 5000]


def mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        op = rng.randrange(7)
        if not b:
            b += bytes([rng.randrange(256)])
            continue
        i = rng.randrange(len(b))
        if op == 0:  # flip a bit
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # a random byte
            b[i] = rng.randrange(256)
        elif op == 2:  # insert bytes
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3:  # delete a range
            del b[i:i + rng.randint(1, 64)]
        elif op == 4:  # repeat a chunk
            j = min(len(b), i + rng.randint(1, 64))
            b[i:i] = b[i:j] * rng.randint(2, 200)
        elif op == 5:  # truncate
            del b[i:]
        else:  # a number (or a token) replaced by an extreme one
            digits = [k for k in range(len(b)) if chr(b[k]).isdigit()]
            if digits:
                k = rng.choice(digits)
                e = k
                while e < len(b) and (chr(b[e]).isdigit() or b[e] in b".eE+-"):
                    e += 1
                b[k:e] = rng.choice(EXTREMES)
    return bytes(b)


def idx_bytes(dims, data: bytes) -> bytes:
    head = struct.pack(">I", 0x0800 | len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    return head + data


def make_seeds(work: Path, descent: str):
    """Valid inputs of every kind, and how the CLI takes each (a file or a text)."""
    rng = random.Random(1)
    csv = work / "seed.csv"
    rows = ["a,b,c,species"] + [
        f"{rng.random():.4f},{rng.random():.4f},{rng.random():.4f},{rng.choice(['x', 'y', 'z'])}"
        for _ in range(60)]
    csv.write_text("\n".join(rows) + "\n")
    mnist = work / "mnist"
    mnist.mkdir()
    for part, n in [("train", 40), ("t10k", 20)]:
        images = idx_bytes([n, 28, 28], bytes(rng.randrange(256) for _ in range(n * 784)))
        labels = idx_bytes([n], bytes(rng.randrange(10) for _ in range(n)))
        (mnist / f"{part}-images-idx3-ubyte").write_bytes(images)
        (mnist / f"{part}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    model = work / "seed.safetensors"
    subprocess.run([descent, "train", "--data", "synthetic:spirals:60", "--layers", "2,4,2",
                    "--epochs", "3", "--save", str(model), "--quiet"], check=True,
                   capture_output=True)
    lbfgs_model = work / "lbfgs.safetensors"
    subprocess.run([descent, "train", "--data", "synthetic:spirals:60", "--layers", "2,4,2",
                    "--optimizer", "lbfgs", "--epochs", "3", "--save", str(lbfgs_model),
                    "--quiet"], check=True, capture_output=True)
    ckpt = work / "seed.ckpt"
    subprocess.run([descent, "minimize", "--problem", "rosenbrock", "--method", "lbfgs",
                    "--max-iter", "5", "--save", str(ckpt)], check=True, capture_output=True)
    lm_ckpt = work / "lm.ckpt"
    nist = ROOT / "data" / "nist" / "Misra1a.dat"
    subprocess.run([descent, "fit", "--nist", str(nist), "--max-iter", "3", "--save",
                    str(lm_ckpt)], check=True, capture_output=True)
    train = ["train", "--epochs", "2", "--quiet", "--threads", "1"]
    # (kind, seed bytes, where the mutant goes, command with {} for the mutant)
    return [
        ("csv", csv.read_bytes(), "file.csv",
         train + ["--data", "csv:{}", "--layers", "3,4,3"]),
        ("idx", (mnist / "train-images-idx3-ubyte").read_bytes(), "mnist/train-images-idx3-ubyte",
         train + ["--data", "mnist:{dir},n=30", "--layers", "784,8,10"]),
        ("idx.gz", (mnist / "train-labels-idx1-ubyte.gz").read_bytes(),
         "mnist/train-labels-idx1-ubyte.gz",
         train + ["--data", "mnist:{dir},n=30", "--layers", "784,8,10"]),
        ("nist", nist.read_bytes(), "file.dat", ["fit", "--nist", "{}", "--max-iter", "50"]),
        ("model", model.read_bytes(), "model.safetensors",
         ["predict", "--model", "{}", "--data", "synthetic:spirals:20"]),
        ("optimizer state", Path(str(model) + ".optim").read_bytes(), "model.safetensors.optim",
         train[:1] + ["--data", "synthetic:spirals:60", "--layers", "2,4,2", "--epochs", "5",
                      "--quiet", "--resume", "{model}"]),
        ("full-batch state", Path(str(lbfgs_model) + ".optim").read_bytes(),
         "model.safetensors.optim",
         train[:1] + ["--data", "synthetic:spirals:60", "--layers", "2,4,2", "--optimizer",
                      "lbfgs", "--epochs", "5", "--quiet", "--resume", "{model}"]),
        ("checkpoint", ckpt.read_bytes(), "run.ckpt",
         ["minimize", "--problem", "rosenbrock", "--method", "lbfgs", "--max-iter", "20",
          "--resume", "{}"]),
        ("fit checkpoint", lm_ckpt.read_bytes(), "fit.ckpt",
         ["fit", "--nist", str(nist), "--max-iter", "20", "--resume", "{}"]),
        ("expression", b"(1-x1)^2 + 100*(x2-x1^2)^2 + sin(x3)*exp(-x3^2)", None,
         ["minimize", "--expr", "{}", "--max-iter", "50"]),
        ("model text", b"b1*(1-exp(-b2*x))", None,
         ["fit", "--model", "{}", "--data", str(work / "xy.csv"), "--init", "b1=1,b2=0.1"]),
        ("method spec", b"lbfgs:memory=5", None,
         ["minimize", "--problem", "rosenbrock", "--method", "{}", "--max-iter", "50"]),
        ("problem spec", b"extended-rosenbrock:10", None,
         ["minimize", "--problem", "{}", "--max-iter", "20"]),
        ("schedule", b"warmup:5:cosine:100:1e-5", None,
         train + ["--data", "synthetic:xor", "--layers", "2,4,2", "--schedule", "{}"]),
        ("data spec", b"synthetic:spirals:100", None,
         train + ["--data", "{}", "--layers", "2,4,2"]),
        ("bounds", b"-1:1,0:2", None,
         ["minimize", "--problem", "rosenbrock", "--method", "lbfgsb", "--bounds", "{}",
          "--max-iter", "50"]),
    ]


def limit_memory():
    # 8 GiB of address space: an absurd allocation fails (and aborts) instead of
    # swapping the machine.
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-kind", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "descent"))
    a = ap.parse_args()
    descent = a.binary
    work = Path(tempfile.mkdtemp(prefix="descent-mutants-"))
    (work / "xy.csv").write_text("x,y\n" + "".join(f"{i},{2 * (1 - 0.9 ** i):.5f}\n"
                                                 for i in range(1, 20)))
    kinds = make_seeds(work, descent)
    keep = ROOT / "target" / "mutants"
    rng = random.Random(a.seed)
    totals = {}
    slowest = (0.0, "")
    t_start = time.time()
    print(f"{'kind':18} {'inputs':>6} {'ok':>5} {'refused':>7} {'verbose':>7} "
          f"{'panic':>5} {'crash':>5} {'hang':>4}")
    bad = 0
    for kind, seed, place, command in kinds:
        counts = dict(ok=0, refused=0, verbose=0, panic=0, crash=0, hang=0)
        for trial in range(a.per_kind):
            mutant = mutate(seed, rng)
            run_dir = work / "run"
            if run_dir.exists():
                shutil.rmtree(run_dir)
            shutil.copytree(work / "mnist", run_dir / "mnist")
            shutil.copy(work / "seed.safetensors", run_dir / "model.safetensors")
            if kind == "full-batch state":
                shutil.copy(work / "lbfgs.safetensors", run_dir / "model.safetensors")
            args = []
            if place is not None:
                (run_dir / place).write_bytes(mutant)
            for part in command:
                part = part.replace("{dir}", str(run_dir / "mnist"))
                part = part.replace("{model}", str(run_dir / "model.safetensors"))
                if "{}" in part:
                    if place is None:
                        part = part.replace("{}", mutant.decode("utf-8", "replace").replace("\x00", ""))
                    else:
                        part = part.replace("{}", str(run_dir / place))
                args.append(part)
            t0 = time.time()
            try:
                p = subprocess.run([descent] + args, capture_output=True, timeout=a.timeout,
                                   preexec_fn=limit_memory, cwd=run_dir)
                dt = time.time() - t0
                err = p.stderr.decode("utf-8", "replace").strip()
                if p.returncode == 0:
                    outcome = "ok"
                elif p.returncode == 101 or "panicked" in err:
                    outcome = "panic"
                elif p.returncode < 0:
                    outcome = "crash"
                elif len(err.splitlines()) == 1:
                    outcome = "refused"
                else:
                    outcome = "verbose"
            except subprocess.TimeoutExpired:
                dt = a.timeout
                outcome, err = "hang", ""
            if dt > slowest[0]:
                slowest = (dt, f"{kind} #{trial}")
            counts[outcome] += 1
            if outcome in ("panic", "crash", "hang", "verbose"):
                keep.mkdir(parents=True, exist_ok=True)
                name = f"{kind.replace(' ', '-')}-{trial}-{outcome}"
                (keep / name).write_bytes(mutant)
                (keep / (name + ".txt")).write_text(" ".join(args) + "\n" + err + "\n")
                if outcome != "verbose":
                    bad += 1
        totals = {k: totals.get(k, 0) + v for k, v in counts.items()}
        print(f"{kind:18} {a.per_kind:6} {counts['ok']:5} {counts['refused']:7} "
              f"{counts['verbose']:7} {counts['panic']:5} {counts['crash']:5} {counts['hang']:4}",
              flush=True)
    n = a.per_kind * len(kinds)
    print(f"{'all':18} {n:6} {totals['ok']:5} {totals['refused']:7} {totals['verbose']:7} "
          f"{totals['panic']:5} {totals['crash']:5} {totals['hang']:4}")
    print(f"{time.time() - t_start:.0f} s; slowest input {slowest[0]:.2f} s ({slowest[1]}); "
          f"failing inputs in {keep}" if bad else
          f"{time.time() - t_start:.0f} s; slowest input {slowest[0]:.2f} s ({slowest[1]})")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
