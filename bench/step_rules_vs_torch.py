#!/usr/bin/env python3
"""torch.optim trajectories in float64, the reference the step rules are tested against.

Runs each rule for K steps from the same start on Rosenbrock (x0 = (-1.2, 1)) and on a
4-variable function with a sign-changing gradient, with torch's defaults (lr set where
the default would barely move in K steps), and writes the final points to
crates/descent/tests/golden/torch_step_rules.json, which `tests/methods.rs` compares
with descent's `minimize` (relative difference <= 1e-9).

    python3 bench/step_rules_vs_torch.py   # needs torch
"""
import json
import os

import torch

torch.set_default_dtype(torch.float64)


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def wavy(x):
    # sum (xi - i)^2 + cos(3 xi): gradients change sign along the way.
    return sum((x[i] - (i + 1)) ** 2 + torch.cos(3 * x[i]) for i in range(4))


PROBLEMS = {
    "rosenbrock": (rosenbrock, [-1.2, 1.0], "(1-x1)^2+100*(x2-x1^2)^2"),
    "wavy": (
        wavy,
        [0.5, -0.3, 2.0, 0.1],
        "+".join(f"(x{i}-{i})^2+cos(3*x{i})" for i in range(1, 5)),
    ),
}

RULES = {
    # name: (torch class, kwargs, descent spec)
    "nadam": (torch.optim.NAdam, {}, "nadam"),
    "radam": (torch.optim.RAdam, {}, "radam"),
    "adamax": (torch.optim.Adamax, {}, "adamax"),
    "adadelta": (torch.optim.Adadelta, {}, "adadelta"),
    "irprop-": (torch.optim.Rprop, {}, "irprop-"),
    "nadam-fast": (torch.optim.NAdam, {"lr": 0.05}, "nadam:lr=0.05"),
    "radam-fast": (torch.optim.RAdam, {"lr": 0.01}, "radam:lr=0.01"),
    "adam": (torch.optim.Adam, {}, "adam"),
    "adamw": (torch.optim.AdamW, {}, "adamw"),
    "rmsprop": (torch.optim.RMSprop, {"lr": 1e-3, "alpha": 0.9, "eps": 1e-8}, "rmsprop"),
    "adagrad": (torch.optim.Adagrad, {}, "adagrad"),
}

STEPS = 40


def run(cls, kwargs, f, x0):
    x = torch.tensor(x0, requires_grad=True)
    opt = cls([x], **kwargs)
    for _ in range(STEPS):
        opt.zero_grad()
        f(x).backward()
        opt.step()
    out = x.detach().tolist()
    assert all(v == v and abs(v) != float("inf") for v in out), (cls, kwargs, out)
    return out


cases = []
for pname, (f, x0, expr) in PROBLEMS.items():
    for rname, (cls, kwargs, spec) in RULES.items():
        cases.append(
            {
                "problem": pname,
                "expr": expr,
                "x0": x0,
                "method": spec,
                "steps": STEPS,
                "torch": f"torch.optim.{cls.__name__}({kwargs})",
                "x": run(cls, kwargs, f, x0),
            }
        )
out = os.path.join(os.path.dirname(__file__), "..", "crates", "descent", "tests", "golden", "torch_step_rules.json")
with open(out, "w") as fh:
    json.dump({"torch": torch.__version__, "cases": cases}, fh, indent=1)
print(f"wrote {len(cases)} cases with torch {torch.__version__}")
