#!/usr/bin/env python3
"""Turns the raw rows of scripts/bench.sh into the table it prints.

Input (argv[1]): lines "placement<TAB>target<TAB>round<TAB>key<TAB>value".
Output: per placement and metric, the median over rounds for each target and
the ratios hapm/bindfs (marked ok/MISS against the target: latency ratio
<= 1.0, throughput ratio >= 1.0) and hapm/tmpfs (the floor, for scale).
"""
import statistics
import sys
from collections import defaultdict

TARGETS = ["tmpfs", "bindfs", "hapm"]
# key, label, True when lower is better
METRICS = [
    ("fsync_lat_p50_us", "4 KiB write+fsync p50 (us)", True),
    ("fsync_lat_p99_us", "4 KiB write+fsync p99 (us)", True),
    ("seq_write_mb_s", "1 MiB seq write+fsync (MB/s)", False),
    ("create_write_fsync_ops_s", "create+write+fsync (files/s)", False),
    ("stat_ops_s", "stat (ops/s)", False),
    ("unlink_ops_s", "unlink (ops/s)", False),
]
PLACEMENTS = {
    "pinned": "pinned: bench + daemons on CPU 0 (taskset -c 0)",
    "unpinned": "unpinned: scheduler's choice",
}


def fmt(v):
    if v is None:
        return "n/a"
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}" if v < 100 else f"{v:.1f}"


def ratio(hapm, other, lower_better, judge):
    """hapm/other; with judge, marked against the target (bindfs only)."""
    if hapm is None or other is None or other == 0:
        return "n/a"
    r = hapm / other
    if not judge:
        return f"{r:.2f}x"
    ok = r <= 1.0 if lower_better else r >= 1.0
    return f"{r:.2f}x {'ok' if ok else 'MISS'}"


def main():
    values = defaultdict(list)  # (placement, target, key) -> [value per round]
    with open(sys.argv[1]) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5:
                continue
            placement, target, _round, key, value = parts
            try:
                values[(placement, target, key)].append(float(value))
            except ValueError:
                pass
    placements = [p for p in PLACEMENTS if any(k[0] == p for k in values)]
    header = f"{'metric':<30} {'tmpfs':>10} {'bindfs':>10} {'hapm':>10} {'hapm/bindfs':>13} {'hapm/tmpfs':>13}"
    for placement in placements:
        print(f"\n[{PLACEMENTS[placement]}]  (median of rounds)")
        print(header)
        print("-" * len(header))
        for key, label, lower_better in METRICS:
            med = {}
            for t in TARGETS:
                v = values.get((placement, t, key))
                med[t] = statistics.median(v) if v else None
            print(f"{label:<30} {fmt(med['tmpfs']):>10} {fmt(med['bindfs']):>10} "
                  f"{fmt(med['hapm']):>10} {ratio(med['hapm'], med['bindfs'], lower_better, True):>13} "
                  f"{ratio(med['hapm'], med['tmpfs'], lower_better, False):>13}")
    print("\nTarget: hapm/bindfs <= 1.0x for latency, >= 1.0x for throughput "
          "(tmpfs has no FUSE hop and no durability: it is the floor, not a target).")


if __name__ == "__main__":
    main()
