#!/usr/bin/env python3
"""torch.optim trajectories in float64, the reference the step rules are tested against.

Runs each rule for K steps from the same start on Rosenbrock (x0 = (-1.2, 1)) and on a
4-variable function with a sign-changing gradient, with torch's defaults (lr set where
the default would barely move in K steps), and writes the final points to
crates/descent/tests/golden/torch_step_rules.json, which `tests/methods.rs` compares
with descent's `minimize` (relative difference <= 1e-9).

    python3 bench/step_rules_vs_torch.py   # needs torch

Schedule-free AdamW is checked against facebookresearch/schedule_free's reference
implementation (`pip install schedulefree`; its averaged point x is the result), and
Muon against torch.optim.Muon with its Newton-Schulz steps in float64 instead of
bfloat16, on a 3x5 weight matrix and a bias (AdamW beside it, as torch's Muon documents).
"""
import json
import os

import torch
import torch.optim._muon as torch_muon

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


def schedule_free(kwargs, f, x0):
    """The reference schedule-free AdamW; its model is the averaged point x."""
    import schedulefree

    x = torch.tensor(x0, requires_grad=True)
    opt = schedulefree.AdamWScheduleFreeReference([x], **kwargs)
    opt.train()
    for _ in range(STEPS):
        opt.zero_grad()
        f(x).backward()
        opt.step()
    opt.eval()
    return x.detach().tolist()


SCHEDULE_FREE = {
    "sf-adamw": ({}, "sf-adamw"),
    "sf-adamw-fast": ({"lr": 0.05, "warmup_steps": 5, "weight_decay": 0.01}, "sf-adamw:lr=0.05:warmup=5:weight_decay=0.01"),
}


def newton_schulz_f64(grad, ns_coefficients, ns_steps, eps):
    """torch's _zeropower_via_newtonschulz with float64 in place of bfloat16."""
    a, b, c = ns_coefficients
    x = grad.to(dtype=torch.float64, copy=True)
    if grad.size(0) > grad.size(1):
        x = x.T
    x.div_(x.norm().clamp(min=eps))
    for _ in range(ns_steps):
        gram = x @ x.T
        update = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.addmm(x, update, x, beta=a)
    if grad.size(0) > grad.size(1):
        x = x.T
    return x


def muon_case():
    """f(W, b) = sum c*(W - T)^2 + sum (b - s)^2 + sum sin(W): 40 steps of torch's Muon on
    W (5 outputs x 3 inputs) and AdamW on b, both with their defaults but a faster rate."""
    torch_muon._zeropower_via_newtonschulz = newton_schulz_f64
    w0 = [[0.3 * ((i * 3 + j) % 5) - 0.6 for j in range(3)] for i in range(5)]
    b0 = [0.1, -0.2, 0.3, 0.0, 0.5]
    target = [[((i + 2 * j) % 4) - 1.5 for j in range(3)] for i in range(5)]
    weight = [[1.0 + 0.5 * ((i + j) % 3) for j in range(3)] for i in range(5)]
    shift = [1.0, -1.0, 0.5, 2.0, 0.0]
    w = torch.tensor(w0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    tt, ww, ss = torch.tensor(target), torch.tensor(weight), torch.tensor(shift)
    muon = torch.optim.Muon([w], lr=0.02)
    adamw = torch.optim.AdamW([b], lr=0.02)
    for _ in range(STEPS):
        muon.zero_grad()
        adamw.zero_grad()
        f = (ww * (w - tt) ** 2).sum() + ((b - ss) ** 2).sum() + torch.sin(w).sum()
        f.backward()
        muon.step()
        adamw.step()
    # descent stores a layer's weights fan-in x fan-out: the transpose of torch's.
    t = lambda m: [m[i][j] for j in range(3) for i in range(5)]
    return {
        "rows": 3,
        "cols": 5,
        "w0": t(w0),
        "b0": b0,
        "target": t(target),
        "weight": t(weight),
        "shift": shift,
        "steps": STEPS,
        "lr": 0.02,
        "w": t(w.detach().tolist()),
        "b": b.detach().tolist(),
    }


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
    for rname, (kwargs, spec) in SCHEDULE_FREE.items():
        cases.append(
            {
                "problem": pname,
                "expr": expr,
                "x0": x0,
                "method": spec,
                "steps": STEPS,
                "torch": f"schedulefree.AdamWScheduleFreeReference({kwargs}), averaged point",
                "x": schedule_free(kwargs, f, x0),
            }
        )
out = os.path.join(os.path.dirname(__file__), "..", "crates", "descent", "tests", "golden", "torch_step_rules.json")
with open(out, "w") as fh:
    json.dump({"torch": torch.__version__, "cases": cases, "muon": muon_case()}, fh, indent=1)
print(f"wrote {len(cases)} cases with torch {torch.__version__}")
