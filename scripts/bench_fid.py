"""Benchmark hfgen's exact FID against the classic scipy.linalg.sqrtm route (pytorch-fid style).

Both routes start from the same raw features ``[n, d]`` (default 10k x 2048, random correlated
Gaussians) and are timed end to end (means, covariances, trace of the matrix square root), in the
same process, one after the other. Prints a JSON line and writes it to ``--out``:

    {"n", "d", "hfgen_s", "scipy_sqrtm_s", "speedup", "rel_diff", ...}

plus the same comparison restricted to the part after the statistics (``*_from_stats_s``), since the
covariances (about n d^2 flops each) cost the same in both routes.

Usage: python scripts/bench_fid.py [--n 10000] [--d 2048] [--out bench_results/fid.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from hfgen.metrics import feature_stats, fid_from_features, fid_from_stats


def make_features(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of correlated Gaussian features with different means and covariances."""
    rng = np.random.default_rng(seed)
    # decaying spectrum, like CNN features: a few strong directions, many weak ones
    scales = 1.0 / np.sqrt(1.0 + np.arange(d))
    w1 = rng.standard_normal((d, d)) * scales[:, None]
    w2 = w1 + 0.1 * rng.standard_normal((d, d)) * scales[:, None]
    real = rng.standard_normal((n, d)) @ w1 + 0.5
    fake = rng.standard_normal((n, d)) @ w2 + 0.5 + 0.05 * rng.standard_normal(d)
    return real, fake


def fid_scipy_sqrtm(real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    """Reference route of pytorch-fid / the original TTUR code: np.cov + scipy.linalg.sqrtm.

    Returns ``(fid, seconds spent after the statistics)``: the sqrtm part alone.
    """
    from scipy import linalg

    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    t0 = time.perf_counter()
    covmean = linalg.sqrtm(s1 @ s2)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    fid = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))
    return fid, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the JSON result and write it to --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="samples per side")
    parser.add_argument("--d", type=int, default=2048, help="feature dimension")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="timings are the minimum over repeats")
    parser.add_argument("--out", default="bench_results/fid.json")
    args = parser.parse_args(argv)

    real, fake = make_features(args.n, args.d, args.seed)
    import torch  # noqa: F401  (hfgen's FID uses torch's LAPACK: keep its one-off import out of the timing)

    hfgen_s = scipy_s = hfgen_stats_s = scipy_stats_s = math.inf
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        fid_hfgen = fid_from_features(real, fake)
        hfgen_s = min(hfgen_s, time.perf_counter() - t0)

        t0 = time.perf_counter()
        fid_ref, sqrtm_part = fid_scipy_sqrtm(real, fake)
        scipy_s = min(scipy_s, time.perf_counter() - t0)
        scipy_stats_s = min(scipy_stats_s, sqrtm_part)

        # the same split for hfgen: everything after the means / covariances
        stats = (*feature_stats(real), *feature_stats(fake))
        t0 = time.perf_counter()
        fid_from_stats(*stats)
        hfgen_stats_s = min(hfgen_stats_s, time.perf_counter() - t0)

    result = {
        "n": args.n,
        "d": args.d,
        "hfgen_s": round(hfgen_s, 3),
        "scipy_sqrtm_s": round(scipy_s, 3),
        "speedup": round(scipy_s / hfgen_s, 2),
        "rel_diff": abs(fid_hfgen - fid_ref) / abs(fid_ref) if fid_ref else math.nan,
        "fid_hfgen": fid_hfgen,
        "fid_scipy": fid_ref,
        # after the statistics (covariances given): hfgen's trace-sqrt vs sqrtm(S1 S2)
        "hfgen_from_stats_s": round(hfgen_stats_s, 3),
        "scipy_from_stats_s": round(scipy_stats_s, 3),
        "speedup_from_stats": round(scipy_stats_s / hfgen_stats_s, 2),
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }
    line = json.dumps(result)
    print(line)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(line + "\n")
    return result


if __name__ == "__main__":
    main()
