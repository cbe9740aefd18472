"""Where the draft's time goes: reading the CSV, its interpreted loops, and the vectorised
groupby that replaces them. Times each phase in one process, median of RUNS.

BENCHMARK ONLY. Usage: python3 draft_phases.py FILE [RUNS]
"""
import statistics
import sys
import time

import pandas as pd

from draft import COLUMNS, train

path = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
phases = {"pandas.read_csv": [], "draft loops (train)": [], "groupby mean/std": []}
for _ in range(runs):
    started = time.perf_counter()
    df = pd.read_csv(path)
    read = time.perf_counter()
    train(df)
    looped = time.perf_counter()
    df.groupby("sensorId", sort=False)[COLUMNS].agg(["mean", "std"])
    grouped = time.perf_counter()
    phases["pandas.read_csv"].append(read - started)
    phases["draft loops (train)"].append(looped - read)
    phases["groupby mean/std"].append(grouped - looped)

print(f"draft phases on {path}, median of {runs} run(s), in one Python process")
for name, seconds in phases.items():
    print(f"{name:<22} {statistics.median(seconds):8.3f} s")
loops, grouped = statistics.median(phases["draft loops (train)"]), statistics.median(phases["groupby mean/std"])
print(f"vectorised groupby vs the draft's loops: {loops / grouped:.0f}x faster on the same DataFrame")
