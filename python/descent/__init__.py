"""descent: every classical and modern optimizer, behind the interfaces you know.

- ``descent.minimize``, ``descent.least_squares``, ``descent.curve_fit``: SciPy's
  signatures and results, run by descent's Rust methods (every method by its descent
  name, SciPy's names as aliases).
- ``descent.MLPClassifier``, ``descent.MLPRegressor``: scikit-learn estimators whose
  ``solver`` is any descent optimizer that trains networks (needs scikit-learn).
- ``descent.methods()``: the registry, one dict per method.
"""

from ._common import OptimizeResult, methods
from ._curve_fit import curve_fit
from ._descent import __version__
from ._least_squares import least_squares
from ._minimize import minimize

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "OptimizeResult",
    "curve_fit",
    "least_squares",
    "methods",
    "minimize",
    "__version__",
]


def __getattr__(name):
    # The estimators need scikit-learn; import it only when they are asked for.
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import _neural

        return getattr(_neural, name)
    raise AttributeError(f"module 'descent' has no attribute {name!r}")
