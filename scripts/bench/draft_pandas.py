"""The draft's logic written the idiomatic pandas way: one vectorised groupby.

BENCHMARK BASELINE ONLY. pandas' mean and std skip NaN, and std is the sample std
(ddof=1), as the draft. Same output as draft.py.

Usage: python3 draft_pandas.py FILE [VALUE]
"""
import json
import sys

import pandas as pd

COLUMNS = [
    "params.velRMS.x", "params.velRMS.y", "params.velRMS.z",
    "params.accelRMS.x", "params.accelRMS.y", "params.accelRMS.z",
]


def main():
    path = sys.argv[1]
    value = float(sys.argv[2]) if len(sys.argv) > 2 else 0.09
    df = pd.read_csv(path)
    stats = df.groupby("sensorId", sort=False)[COLUMNS].agg(["mean", "std"])
    weights = {
        sensor: {column: {"mean": float(row[(column, "mean")]), "std": float(row[(column, "std")])} for column in COLUMNS}
        for sensor, row in stats.iterrows()
    }
    in_alert = {
        sensor: {column: value >= model["mean"] + 2 * model["std"] for column, model in models.items()}
        for sensor, models in weights.items()
    }
    print(json.dumps({"weights": weights, "in_alert": in_alert}))


if __name__ == "__main__":
    main()
