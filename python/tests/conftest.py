import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NIST = os.path.join(ROOT, "data", "nist")


def read_nist(name):
    """(x, y, starts, certified values, certified std errors, certified RSS) of a NIST
    StRD file in the repository's data/nist."""
    lines = open(os.path.join(NIST, name + ".dat")).read().splitlines()
    starts, cert, sd, rss = [], [], [], None
    data_start = None
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) >= 5 and parts[1] == "=" and parts[0].startswith("b"):
            starts.append([float(parts[2]), float(parts[3])])
            cert.append(float(parts[4]))
            sd.append(float(parts[5]))
        if line.strip().startswith("Residual Sum of Squares"):
            rss = float(parts[-1])
        if line.split()[:3] == ["Data:", "y", "x"]:
            data_start = i + 1
    rows = np.array([[float(v) for v in l.split()] for l in lines[data_start:] if l.strip()])
    return rows[:, 1], rows[:, 0], np.array(starts).T, np.array(cert), np.array(sd), rss


@pytest.fixture
def rng():
    return np.random.default_rng(0)
