"""Reads the .hlog files `limitlab run` writes with HdrHistogram's own Python package
(`hdrhistogram` on PyPI, module `hdrh`) and checks them against report.json.

For each strategy and each of latency and TTFT: the intervals added up hold as many values as
the report's count, the maximum matches, and the report's p50 and p99 (Hyndman-Fan type 7 over
the exact samples) lie within the bounds the histogram allows: the same interpolation over
each recorded value's lowest and highest equivalent value (3 significant digits), +-1 us for
the rounding to whole microseconds. Usage: python3 hdr_check.py REPORT_DIR
"""
import json
import math
import os
import sys

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

US = 1_000_000


def type7(sorted_values, p):
    h = (len(sorted_values) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def read(path):
    """Every interval of the log, as (histogram, number of intervals)."""
    reader = HistogramLogReader(path, HdrHistogram(1, 2, 3))
    total = HdrHistogram(1, 10 * 24 * 3600 * US, 3)
    intervals = 0
    while True:
        h = reader.get_next_interval_histogram()
        if h is None:
            break
        intervals += 1
        for item in h.get_recorded_iterator():
            total.record_value(h.get_lowest_equivalent_value(item.value_iterated_to),
                               item.count_at_value_iterated_to)
    reader.close()
    return total, intervals


def bounds(h):
    lows, highs = [], []
    for item in h.get_recorded_iterator():
        v = item.value_iterated_to
        lows += [h.get_lowest_equivalent_value(v)] * item.count_at_value_iterated_to
        highs += [h.get_highest_equivalent_value(v)] * item.count_at_value_iterated_to
    return lows, highs


def main(directory):
    report = json.load(open(os.path.join(directory, "report.json")))
    checked = 0
    for run in report["runs"]:
        label = run["strategy"]
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
        for what, key in (("latency", "latency_s"), ("ttft", "ttft_s")):
            expected = run["summary"][key]
            path = os.path.join(directory, f"{safe}.{what}.hlog")
            h, intervals = read(path)
            where = f"{label} {what}"
            assert h.get_total_count() == expected["count"], \
                f"{where}: {h.get_total_count()} values in the log, report count {expected['count']}"
            if expected["count"] == 0:
                continue
            assert intervals >= 1
            lows, highs = bounds(h)
            for p, name in ((0.5, "p50"), (0.99, "p99"), (1.0, "max")):
                want = expected[name] * US
                lo, hi = type7(lows, p) - 1, type7(highs, p) + 1
                assert lo <= want <= hi, f"{where} {name}: report {want:.0f} us outside [{lo:.0f}, {hi:.0f}] from the log"
                # The histogram's own percentile is within its precision of the report's order statistics.
                got = h.get_value_at_percentile(p * 100)
                print(f"{where} {name}: report {expected[name]:.6f} s, log bounds "
                      f"[{lo / US:.6f}, {hi / US:.6f}] s, hdrh value_at_percentile {got / US:.6f} s")
            checked += 1
    assert checked > 0, "no strategy with succeeded requests"
    print(f"ok: {checked} histograms read back by hdrh agree with report.json")


if __name__ == "__main__":
    main(sys.argv[1])
