"""Writes helpers/tests/fixtures/rdp_opacus.json: Rényi differential privacy
of the sampled Gaussian mechanism and the (epsilon, delta) it converts to,
computed by Opacus, which `helpers/tests/privacy_accountant.rs` checks
`aiguide::safety::RdpAccountant` against.

Run by a developer, once, with Opacus installed (it is not a course
dependency). Only Opacus's analysis module is used, and it needs NumPy and
SciPy but not PyTorch, so the package is installed without its dependencies
and the module is loaded from its file (importing `opacus` itself would
import torch):

    python3 -m venv /tmp/refenv
    /tmp/refenv/bin/pip install --no-deps opacus==1.6.0
    /tmp/refenv/bin/pip install numpy==2.4.6 scipy==1.17.1
    /tmp/refenv/bin/python helpers/scripts/make_rdp_fixture.py

The fixture was produced with opacus 1.6.0, numpy 2.4.6 and scipy 1.17.1.
For every (sample rate, noise multiplier) of the grid it records the RDP of
one step at each of `RDPAccountant.DEFAULT_ALPHAS` (the orders, read from
Opacus's source so they are Opacus's own), and for several step counts and
deltas the epsilon and best order of `get_privacy_spent`, the conversion
Opacus's `RDPAccountant` uses (Balle et al. 2020, Theorem 21).
"""

import ast
import importlib.metadata
import importlib.util
import json
from pathlib import Path

import numpy as np
import scipy

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "rdp_opacus.json"
ACCOUNTANTS = Path(importlib.util.find_spec("opacus").submodule_search_locations[0]) / "accountants"

SAMPLE_RATES = [0.001, 256 / 60000, 0.01, 0.05, 0.1]
NOISE_MULTIPLIERS = [0.5, 0.8, 1.0, 1.1, 2.0, 4.0]
STEPS = [1, 10, 1000, 14063, 100000]
DELTAS = [1e-5, 1e-7]


def load_analysis():
    """opacus/accountants/analysis/rdp.py, loaded without the package."""
    spec = importlib.util.spec_from_file_location("opacus_rdp", ACCOUNTANTS / "analysis" / "rdp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def default_alphas():
    """RDPAccountant.DEFAULT_ALPHAS, evaluated from opacus/accountants/rdp.py."""
    source = (ACCOUNTANTS / "rdp.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DEFAULT_ALPHAS" for t in node.targets
        ):
            return [float(a) for a in eval(ast.get_source_segment(source, node.value))]
    raise RuntimeError("DEFAULT_ALPHAS not found in Opacus's RDPAccountant")


def main():
    analysis = load_analysis()
    alphas = default_alphas()
    cases = []
    for q in SAMPLE_RATES:
        for sigma in NOISE_MULTIPLIERS:
            rdp = analysis.compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=alphas)
            privacy = []
            for steps in STEPS:
                for delta in DELTAS:
                    eps, order = analysis.get_privacy_spent(orders=alphas, rdp=rdp * steps, delta=delta)
                    privacy.append(
                        {"steps": steps, "delta": delta, "epsilon": float(eps), "order": float(order)}
                    )
            cases.append(
                {
                    "sample_rate": q,
                    "noise_multiplier": sigma,
                    "rdp_one_step": [float(r) for r in rdp],
                    "privacy": privacy,
                }
            )
    meta = {
        "opacus": importlib.metadata.version("opacus"),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "functions": "opacus.accountants.analysis.rdp.compute_rdp, get_privacy_spent",
    }
    OUT.write_text(json.dumps({"meta": meta, "orders": alphas, "cases": cases}) + "\n")
    print(f"wrote {OUT}: {len(cases)} cases, {len(alphas)} orders")


if __name__ == "__main__":
    main()
