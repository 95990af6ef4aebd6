#!/usr/bin/env python
"""Run SciPy's own tests of ``minimize``, ``least_squares`` and ``curve_fit`` on descent.

The tests are the ones installed with SciPy (``scipy/optimize/tests/``), run in place:
nothing of SciPy's is copied. This file is both the driver (run it as a script) and the
pytest plugin it loads into pytest (``-p scipy_suite``), which

- replaces ``scipy.optimize.minimize``, ``least_squares`` and ``curve_fit`` (and the
  private modules' names the test files import them from) by wrappers. A wrapper runs
  descent's function only when it is called from a test file; SciPy's own internals
  (``basinhopping``, ``fmin_*``, ``curve_fit``'s call of ``least_squares``, …) keep
  SciPy's functions;
- records, for every test, which of the three functions the test calls and with which
  method, and its outcome.

The run has two passes:

1. survey: the tests with SciPy's functions (the wrappers only record). This says which
   tests call the three functions, with which methods, and which pass with SciPy here.
2. descent: the selected tests with descent's functions.

A test is selected when, run with SciPy, it passes, it calls ``minimize`` /
``least_squares`` / ``curve_fit`` from the test code, only with methods descent has
(``minimize``: L-BFGS-B, BFGS, CG, Newton-CG, trust-ncg, trust-exact, dogleg or no method
without constraints; ``least_squares``: trf, dogbox, lm; ``curve_fit``: any), and it does
not call SciPy internals (``_minimize_*``, ``ScalarFunction``, line searches, …) as well.
Everything else is deselected, with its reason counted.

Usage::

    python scipy_suite.py [--timeout 60] [--out DIR] [--modules test_optimize ...]

It prints a per-file table (selected / passed / failed / errors), the overall pass rate and
the failing tests grouped by an automatic guess at the cause; the full pytest output of the
descent pass goes to ``DIR/last_run.txt`` (the survey's to ``DIR/survey_run.txt``) and
every test's record to ``DIR/results.json``.

Needs pytest and pytest-timeout. A test that hangs is stopped by pytest-timeout; a test
that kills the interpreter is recorded as ``crashed`` and the run resumes after it.
"""

import argparse
import collections
import functools
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import pytest

DEFAULT_MODULES = ["test_optimize", "test_least_squares", "test_minpack",
                   "test_trustregion", "test_lbfgsb_hessinv"]

#: SciPy's methods descent does not have (lower case; ``custom``: a callable method;
#: ``default+constraints``: no method with constraints, which SciPy runs with SLSQP).
#: Descent runs every other SciPy method of the three functions (minimize: L-BFGS-B, BFGS,
#: CG, Newton-CG, trust-ncg, trust-exact, dogleg; least_squares and curve_fit: trf,
#: dogbox, lm); a method name SciPy does not know either is a validation test, kept.
LACKING = {
    "minimize": {"nelder-mead", "powell", "cobyla", "cobyqa", "slsqp", "trust-constr",
                 "tnc", "trust-krylov", "custom", "default+constraints"},
    "least_squares": set(),
    "curve_fit": set(),
}

#: SciPy's solver internals: a test whose code calls one of these tests SciPy's machinery.
INTERNALS = re.compile(r"\b(_minimize_\w+|_?line_search\w*|_linesearch_powell|"
                       r"_line_for_search)\b")
#: SciPy helpers some selected tests use to count calls or check optimality (noted only).
HELPERS = re.compile(r"\b(ScalarFunction|VectorFunction|MemoizeJac|make_strictly_feasible|"
                     r"CL_scaling_vector|approx_derivative)\b")
#: What a test calls instead, for the deselection reasons (first match wins).
OTHER_APIS = [
    ("legacy fmin_* / fminbound wrappers", re.compile(r"\bfmin\w*\b")),
    ("leastsq / fsolve / root / fixed_point",
     re.compile(r"\b(leastsq|fsolve|root|fixed_point)\b")),
    ("minimize_scalar / brent / golden / bracket",
     re.compile(r"\b(minimize_scalar|brent|golden|bracket)\b")),
    ("check_grad / approx_fprime / rosen helpers",
     re.compile(r"\b(check_grad|approx_fprime|rosen\w*)\b")),
    ("brute / global optimizers", re.compile(r"\b(brute|basinhopping|differential_evolution|"
                                             r"dual_annealing|shgo|direct)\b")),
]


# ---------------------------------------------------------------------------------------
# The pytest plugin (active only when the driver sets SCIPY_SUITE_MODE).

_MODE = os.environ.get("SCIPY_SUITE_MODE")
_LOG = os.environ.get("SCIPY_SUITE_LOG")
_SELECT = os.environ.get("SCIPY_SUITE_SELECT")
_current = {"key": None, "calls": None, "result": None}
_log_lock = threading.Lock()
_TESTS_DIR = _SCIPY_DIR = None


def _key(item):
    """``file.py::Class::test[param]``: a node id that does not depend on the rootdir."""
    return os.path.basename(str(item.path)) + "::" + item.nodeid.split("::", 1)[1]


def _log(record):
    with _log_lock, open(_LOG, "a") as f:
        f.write(json.dumps(record, default=repr) + "\n")


def _called_from_test():
    """Whether the nearest SciPy frame calling us is a test file's (not SciPy's own code:
    frames outside SciPy, as threads' or functools', are passed over)."""
    f = sys._getframe(2)
    while f is not None:
        path = f.f_code.co_filename
        if path.startswith(_TESTS_DIR):
            return True
        if path.startswith(_SCIPY_DIR):
            return False
        f = f.f_back
    return False


def _method(name, sig, args, kwargs):
    try:
        a = sig.bind(*args, **kwargs).arguments
    except TypeError:  # a test of argument checking
        a = kwargs
    method = a.get("method", sig.parameters["method"].default)
    if callable(method):
        return "custom"
    if method is None:
        if name == "minimize":
            cons = a.get("constraints", ())
            return "default+constraints" if cons not in (None, (), []) else "default"
        return "default"
    return str(method).lower()


def _wrap(name, original, replacement):
    sig = inspect.signature(original)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        from_test = _called_from_test()
        calls = _current["calls"]
        if calls is not None:
            route = "descent" if (from_test and replacement is not None) else "scipy"
            calls.append((name, _method(name, sig, args, kwargs), from_test, route))
        if from_test and replacement is not None:
            return replacement(*args, **kwargs)
        return original(*args, **kwargs)

    wrapper._scipy_suite_original = original
    return wrapper


def _install(use_descent):
    global _TESTS_DIR, _SCIPY_DIR
    import importlib

    import scipy
    import scipy.optimize as opt
    import scipy.optimize.tests as tests

    _SCIPY_DIR = os.path.dirname(scipy.__file__) + os.sep
    _TESTS_DIR = os.path.dirname(tests.__file__) + os.sep
    if use_descent:
        import descent
    # (module, attribute) pairs through which the test files reach the three functions.
    places = {
        "minimize": ["scipy.optimize", "scipy.optimize._minimize"],
        "least_squares": ["scipy.optimize", "scipy.optimize._lsq",
                          "scipy.optimize._lsq.least_squares"],
        "curve_fit": ["scipy.optimize", "scipy.optimize._minpack_py"],
    }
    for name, modules in places.items():
        original = getattr(opt, name)
        wrapper = _wrap(name, original, getattr(descent, name) if use_descent else None)
        for modname in modules:
            mod = importlib.import_module(modname)  # the module, even when shadowed
            if getattr(mod, name) is original:
                setattr(mod, name, wrapper)


def pytest_configure(config):
    if _MODE:
        _install(_MODE == "descent")


def pytest_collection_modifyitems(session, config, items):
    if not _MODE:
        return
    selected = None
    if _SELECT:
        with open(_SELECT) as f:
            selected = set(json.load(f))
    keep, drop = [], []
    for item in items:
        key = _key(item)
        if _MODE == "survey":
            try:
                src = inspect.getsource(item.function)
            except (OSError, TypeError, AttributeError):
                src = ""
            cls = item.cls.__name__ if getattr(item, "cls", None) else None
            _log({"event": "collected", "key": key,
                  "internals": sorted(set(INTERNALS.findall(src))),
                  "helpers": sorted(set(HELPERS.findall(src))),
                  "other": [label for label, rx in OTHER_APIS if rx.search(src)],
                  "mentions": bool(re.search(r"\b(minimize|least_squares|curve_fit)\(", src)),
                  "class": cls})
        if selected is None or key in selected:
            keep.append(item)
        else:
            drop.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _MODE:
        return (yield)
    key = _key(item)
    _current.update(key=key, calls=[], result={"key": key, "outcome": None})
    _log({"event": "start", "key": key})
    try:
        return (yield)
    finally:
        calls = collections.Counter(tuple(c) for c in _current["calls"])
        rec = dict(_current["result"], event="end",
                   calls=[list(c) + [n] for c, n in calls.items()])
        _log(rec)
        _current.update(key=None, calls=None, result=None)


def _failing_line(longrepr):
    """The test file's statement that failed: (line number, source line)."""
    try:
        entries = longrepr.reprtraceback.reprentries
    except AttributeError:
        return None, None
    for entry in reversed(entries):
        loc = getattr(entry, "reprfileloc", None)
        if loc is None or "scipy/optimize/tests/" not in str(loc.path).replace(os.sep, "/"):
            continue
        source = [ln for ln in getattr(entry, "lines", []) if not ln.startswith("E ")
                  and ln.strip(" >^~")]
        marked = [ln for ln in source if ln.startswith(">")] or source
        return loc.lineno, (marked[-1].lstrip(">").strip() if marked else None)
    return None, None


def _where(longrepr):
    """Which package raised: the deepest traceback entry's file."""
    try:
        return str(longrepr.reprcrash.path)
    except AttributeError:
        return None


def pytest_runtest_logreport(report):
    r = _current["result"]
    if not _MODE or r is None:
        return
    outcome = None
    if report.when == "setup":
        if report.failed:
            outcome = "error"
        elif report.skipped:
            outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
    elif report.when == "call":
        if report.passed:
            outcome = "xpassed" if hasattr(report, "wasxfail") else "passed"
        elif report.skipped:
            outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        else:
            outcome = "failed"
    elif report.when == "teardown" and report.failed and r["outcome"] in (None, "passed"):
        outcome = "error"
    if outcome is None:
        return
    r["outcome"] = outcome
    r["duration"] = r.get("duration", 0.0) + report.duration
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        r["message"] = (crash.message if crash else str(report.longrepr))[:3000]
        r["crash_path"] = _where(report.longrepr)
        r["line"], r["statement"] = _failing_line(report.longrepr)
    elif report.skipped and isinstance(report.longrepr, tuple):
        r["message"] = str(report.longrepr[2])[:300]


# ---------------------------------------------------------------------------------------
# The driver.


def _read_log(path):
    records = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by a crash
                    pass
    return records


def _pytest(mode, modules, log, out_path, timeout, select=None, pytest_args=()):
    """Run pytest on SciPy's test modules with this file as plugin, resuming after a
    crash; returns the run's ``end`` records by key (crashed tests included)."""
    here = os.path.dirname(os.path.abspath(__file__))
    plugin = os.path.splitext(os.path.basename(__file__))[0]
    env = dict(os.environ, SCIPY_SUITE_MODE=mode, SCIPY_SUITE_LOG=log,
               PYTHONPATH=os.pathsep.join([here] + [p for p in
                                                    [os.environ.get("PYTHONPATH")] if p]))
    env.pop("SCIPY_SUITE_SELECT", None)
    import scipy

    # rootdir: site-packages, for node ids as scipy/optimize/tests/test_x.py::… (and
    # SciPy's conftest.py, which is under it, still applies)
    site = os.path.dirname(os.path.dirname(os.path.abspath(scipy.__file__)))
    base = [sys.executable, "-m", "pytest", "-p", plugin, "-p", "no:cacheprovider",
            "--rootdir", site,
            "--timeout", str(timeout), "--timeout-method", "signal", "-rfE", "--tb=short",
            "-o", "console_output_style=classic", *pytest_args,
            "--pyargs", *["scipy.optimize.tests." + m for m in modules]]
    results, crashed = {}, {}
    todo = None if select is None else set(select)
    with open(out_path, "w") as out:
        for attempt in range(50):
            if todo is not None:
                sel = log + ".select.json"
                with open(sel, "w") as f:
                    json.dump(sorted(todo), f)
                env["SCIPY_SUITE_SELECT"] = sel
            n0 = len(_read_log(log))
            out.write(f"$ {' '.join(base)}  # mode={mode}, attempt {attempt + 1}\n")
            out.flush()
            t0 = time.time()
            proc = subprocess.run(base, env=env, stdout=out, stderr=subprocess.STDOUT)
            out.write(f"\n[exit status {proc.returncode} after {time.time() - t0:.0f} s]\n")
            new = _read_log(log)[n0:]
            started = [r["key"] for r in new if r["event"] == "start"]
            for r in new:
                if r["event"] == "end":
                    results[r["key"]] = r
            lost = [k for k in started if k not in results]
            if proc.returncode in (0, 1, 5) or not lost:
                break
            # The interpreter died in the last test started: record it and go on.
            k = lost[-1]
            crashed[k] = {"key": k, "event": "end", "outcome": "crashed", "calls": [],
                          "message": f"interpreter died (exit status {proc.returncode})"}
            results.update(crashed)
            if todo is None:
                todo = {r["key"] for r in _read_log(log) if r["event"] == "collected"}
            todo -= set(results)
            if not todo:
                break
    return results


def _select(collected, survey):
    """Which tests to run on descent: {key: None} for selected, {key: reason} otherwise."""
    decision = {}
    for key, info in collected.items():
        rec = survey.get(key)
        calls = [c for c in (rec or {}).get("calls", []) if c[2]]  # from test code
        if rec is None:
            decision[key] = "not run in the survey"
        elif rec["outcome"] != "passed":
            decision[key] = f"{rec['outcome']} with SciPy itself"
        elif not calls:
            label = (info["other"][0] if info["other"] else
                     "not for this instance (returns early)" if info.get("mentions") else
                     "other SciPy APIs / internals")
            decision[key] = f"calls none of the three functions: {label}"
        elif any(c[1] in LACKING[c[0]] for c in calls):
            bad = sorted({f"{c[0]}({c[1]})" for c in calls if c[1] in LACKING[c[0]]})
            decision[key] = "uses a method descent lacks: " + ", ".join(bad)
        elif info["internals"]:
            decision[key] = "calls SciPy's solver internals too: " + ", ".join(info["internals"])
        else:
            decision[key] = None
    return decision


def _one_line(msg, width=150):
    lines = [ln.strip() for ln in (msg or "").splitlines() if ln.strip()]
    if not lines:
        return ""
    # numpy.testing's messages: keep the headline and the 'Mismatched'/'Max' lines.
    head = lines[0]
    if head in ("AssertionError:", "AssertionError") and len(lines) > 1:
        head = "AssertionError: " + lines[1]
    extra = [ln for ln in lines[1:] if ln.startswith(("Max absolute", "Max relative",
                                                      "ACTUAL", "DESIRED", "x:", "y:"))]
    s = " | ".join([head] + extra[:2])
    return s if len(s) <= width else s[: width - 1] + "…"


#: (cause, test) pairs tried in order on a failure's message and failing statement.
CAUSES = [
    ("timeout (>limit) / hang", lambda m, s, d: "Timeout" in m),
    ("interpreter crash", lambda m, s, d: m.startswith("interpreter died")),
    ("descent raises where SciPy warns or succeeds (ValueError etc. from descent)",
     lambda m, s, d: d and not m.startswith(("AssertionError", "Failed:"))),
    ("SciPy warns, descent does not",
     lambda m, s, d: "DID NOT WARN" in m or "expected warning" in m.lower()
     or "No warnings of type" in m),
    ("SciPy raises, descent does not", lambda m, s, d: "DID NOT RAISE" in m),
    ("error/warning message text differs", lambda m, s, d: "Regex pattern did not match" in m
     or "does not match" in m),
    ("result field missing or of another type",
     lambda m, s, d: m.startswith(("KeyError", "AttributeError", "TypeError"))),
    ("nfev/njev/nhev/nit counts differ",
     lambda m, s, d: re.search(r"\b(nfev|njev|nhev|nit|funccalls|gradcalls|ncalls|"
                               r"count|calls)\b", s or "") is not None),
    ("status / success / message differ",
     lambda m, s, d: re.search(r"\b(status|success|message|ier|mesg)\b", s or "")
     is not None),
    ("values differ (accuracy or another minimum)",
     lambda m, s, d: re.search(r"Not equal to tolerance|not almost equal|Arrays are not "
                               r"equal|assert_allclose|assert_almost_equal|"
                               r"assert_array_almost_equal|Mismatched", m + (s or ""))
     is not None),
    ("other assertion", lambda m, s, d: True),
]


def _cause(rec):
    m = rec.get("message") or ""
    s = rec.get("statement") or ""
    d = "/descent/" in (rec.get("crash_path") or "")
    for cause, test in CAUSES:
        if test(m, s, d):
            return cause
    return "other"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--modules", nargs="+", default=DEFAULT_MODULES,
                   help="SciPy test modules under scipy.optimize.tests (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=60, help="per-test limit in seconds")
    p.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)),
                   help="where last_run.txt, survey_run.txt and results.json go")
    p.add_argument("--pytest-args", default="", help="more pytest arguments (one string)")
    a = p.parse_args(argv)
    for mod in ("pytest", "pytest_timeout", "scipy", "descent"):
        try:
            __import__(mod)
        except ImportError:
            sys.exit(f"scipy_suite: needs {mod} (pip install {mod.replace('_', '-')})")
    import scipy
    import descent

    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="scipy_suite_")
    extra = a.pytest_args.split()

    print(f"SciPy {scipy.__version__}, descent {descent.__version__}; modules: "
          f"{' '.join(a.modules)}", flush=True)
    survey_log = os.path.join(work, "survey.jsonl")
    survey = _pytest("survey", a.modules, survey_log, os.path.join(a.out, "survey_run.txt"),
                     a.timeout, pytest_args=extra)
    collected = {r["key"]: r for r in _read_log(survey_log) if r["event"] == "collected"}
    decision = _select(collected, survey)
    chosen = sorted(k for k, v in decision.items() if v is None)
    print(f"survey: {len(collected)} tests collected, {len(chosen)} selected", flush=True)

    descent_log = os.path.join(work, "descent.jsonl")
    results = _pytest("descent", a.modules, descent_log, os.path.join(a.out, "last_run.txt"),
                      a.timeout, select=chosen, pytest_args=extra)

    # ---- report
    def file_of(key):
        return key.split("::", 1)[0]

    files = sorted({file_of(k) for k in collected}, key=lambda f: (
        [m + ".py" for m in a.modules].index(f) if f in [m + ".py" for m in a.modules] else 99))
    print("\n== Selection (tests of each file; deselection reasons)")
    for f in files:
        keys = [k for k in collected if file_of(k) == f]
        reasons = collections.Counter(
            re.sub(r": .*", "", decision[k]) if decision[k].startswith(("uses a method",
                                                                        "calls SciPy"))
            else decision[k] for k in keys if decision[k])
        n_sel = sum(decision[k] is None for k in keys)
        print(f"{f}: {len(keys)} collected, {n_sel} selected, {len(keys) - n_sel} deselected")
        for reason, n in reasons.most_common():
            print(f"    {n:5d}  {reason}")
        helped = [k for k in keys if decision[k] is None and collected[k].get("helpers")]
        if helped:
            names = sorted({h for k in helped for h in collected[k]["helpers"]})
            print(f"    (selected, using SciPy helpers {', '.join(names)} only to count "
                  f"calls or check results: {len(helped)})")

    print("\n== Results on descent (selected tests)")
    hdr = f"{'file':24s} {'selected':>8s} {'passed':>7s} {'failed':>7s} {'errors':>7s} " \
          f"{'other':>6s} {'pass rate':>9s}"
    print(hdr)
    tot = collections.Counter()
    for f in files:
        keys = [k for k in chosen if file_of(k) == f]
        if not keys:
            continue
        c = collections.Counter(results.get(k, {}).get("outcome", "not run") for k in keys)
        row = {"selected": len(keys), "passed": c["passed"], "failed": c["failed"],
               "errors": c["error"] + c["crashed"]}
        row["other"] = row["selected"] - row["passed"] - row["failed"] - row["errors"]
        tot.update(row)
        print(f"{f:24s} {row['selected']:8d} {row['passed']:7d} {row['failed']:7d} "
              f"{row['errors']:7d} {row['other']:6d} "
              f"{100 * row['passed'] / row['selected']:8.1f}%")
    if tot["selected"]:
        print(f"{'overall':24s} {tot['selected']:8d} {tot['passed']:7d} {tot['failed']:7d} "
              f"{tot['errors']:7d} {tot['other']:6d} "
              f"{100 * tot['passed'] / tot['selected']:8.1f}%")
    others = [k for k in chosen if results.get(k, {}).get("outcome") not in
              ("passed", "failed", "error", "crashed")]
    for k in others:
        r = results.get(k, {})
        print(f"  other: {k}: {r.get('outcome', 'not run')} {r.get('message', '')[:100]}")
    vacuous = [k for k in chosen if results.get(k, {}).get("outcome") == "passed"
               and not any(c[3] == "descent" for c in results[k].get("calls", []))]
    if vacuous:
        print(f"  note: {len(vacuous)} passing tests did not reach descent: "
              + ", ".join(vacuous[:5]))

    bad = [k for k in chosen if results.get(k, {}).get("outcome") in ("failed", "error",
                                                                       "crashed")]
    groups = collections.defaultdict(list)
    for k in bad:
        groups[_cause(results[k])].append(k)
    def function_of(key):  # file::test_name, without class and parameters
        return file_of(key) + "::" + key.rsplit("::", 1)[1].split("[")[0]

    print(f"\n== Failures by (guessed) cause: {len(bad)} tests, "
          f"{len({function_of(k) for k in bad})} distinct test functions")
    for cause, keys in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"\n-- {cause}: {len(keys)} tests "
              f"({len({function_of(k) for k in keys})} test functions)")
        for k in keys:
            r = results[k]
            where = f" [line {r['line']}: {r['statement']}]" if r.get("statement") else ""
            print(f"  {k}\n      {_one_line(r.get('message'))}{where}")

    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"modules": a.modules, "selection": decision,
                   "survey": survey, "descent": results,
                   "causes": {k: _cause(results[k]) for k in bad}}, f, indent=1,
                  default=repr)
    print(f"\nfull pytest output: {os.path.join(a.out, 'last_run.txt')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
