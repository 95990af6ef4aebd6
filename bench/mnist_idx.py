"""MNIST's IDX files for the benches' PyTorch sides (gzip or plain)."""
import gzip
import os


def read_idx(path):
    """The array an IDX file holds (uint8), shaped by its header."""
    import numpy as np
    with (gzip.open(path) if path.endswith(".gz") else open(path, "rb")) as f:
        data = f.read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def read_mnist(data_dir, stem):
    """`stem` (e.g. train-images-idx3-ubyte) from `data_dir`, gzipped or not."""
    path = next(os.path.join(data_dir, s) for s in (stem + ".gz", stem)
                if os.path.exists(os.path.join(data_dir, s)))
    return read_idx(path)
