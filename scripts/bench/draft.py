"""The case's prototype (src/draft.py of the brief), re-typed from its description.

BENCHMARK BASELINE ONLY: this is deliberately the slow original logic, kept to measure
against. It reads the whole file with pandas, finds distinct sensors with a list
membership test per row (quadratic), filters the whole table once per sensor, and sums
in interpreted loops, skipping missing (NaN) cells. Sample std (n - 1).

Usage: python3 draft.py FILE [VALUE]   -> prints {"weights": ..., "in_alert": ...} as JSON
"""
import json
import sys

import pandas as pd

COLUMNS = [
    "params.velRMS.x", "params.velRMS.y", "params.velRMS.z",
    "params.accelRMS.x", "params.accelRMS.y", "params.accelRMS.z",
]


def train(df):
    sensors = []
    for sensor in df["sensorId"]:
        if sensor not in sensors:
            sensors.append(sensor)

    weights = {}
    for sensor in sensors:
        rows = df[df["sensorId"] == sensor]
        weights[sensor] = {}
        for column in COLUMNS:
            values = [value for value in rows[column] if value == value]  # NaN != NaN: skip missing
            total = 0.0
            for value in values:
                total += value
            mean = total / len(values)
            squares = 0.0
            for value in values:
                squares += (value - mean) ** 2
            std = (squares / (len(values) - 1)) ** 0.5
            weights[sensor][column] = {"mean": mean, "std": std}
    return weights


def predict(value, model):
    return value >= model["mean"] + 2 * model["std"]


def main():
    path = sys.argv[1]
    value = float(sys.argv[2]) if len(sys.argv) > 2 else 0.09
    df = pd.read_csv(path)
    weights = train(df)
    in_alert = {sensor: {column: predict(value, weights[sensor][column]) for column in COLUMNS} for sensor in weights}
    print(json.dumps({"weights": weights, "in_alert": in_alert}))


if __name__ == "__main__":
    main()
