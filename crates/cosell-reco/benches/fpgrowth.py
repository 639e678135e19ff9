"""Borgelt's FP-growth (pyfim) on the same files, for benches/mining.rs.

Run in the same session: python3 crates/cosell-reco/benches/fpgrowth.py [DATASETS_DIR]
Times are best of 5 on transactions already in memory, like the Rust benchmark's
`pairs` and `all_itemsets` (parsing is timed separately there).
"""
import os
import sys
import time

import fim

here = os.path.dirname(os.path.abspath(__file__))
folder = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
    "COSELL_DATASETS", os.path.join(here, "../../../../shared/datasets"))


def load(name):
    with open(os.path.join(folder, name)) as f:
        if name.endswith(".csv"):
            return [[x.strip() for x in line.split(",") if x.strip()] for line in f]
        return [line.split() for line in f]


def best(fn, runs=5):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000, result


for name, supp in (("groceries.csv", 1.0), ("retail.dat", 0.5)):
    tracts = load(name)
    t_all, sets = best(lambda: fim.fpgrowth(tracts, supp=supp))
    t_pairs, upto2 = best(lambda: fim.fpgrowth(tracts, supp=supp, zmax=2))
    print(f"{name}: fpgrowth all itemsets {t_all:.2f} ms ({len(sets)} sets); "
          f"up to pairs {t_pairs:.2f} ms ({len(upto2)} sets)")
