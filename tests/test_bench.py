"""``make bench`` stays runnable: its module imports, its percentiles and its report.

The measurements themselves need minutes of a real pipeline, so they run in ``make bench``,
never here (performance is a ratio measured in one run, not a timed test).
"""

from __future__ import annotations

import importlib.util
import json

from labsupport.config import PROJECT_ROOT

_SPEC = importlib.util.spec_from_file_location("bench_pipeline", PROJECT_ROOT / "bench/pipeline.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (bench._percentile(values, 0.50), bench._percentile(values, 0.95)) == (51.0, 95.0)
    assert bench._percentile([3.0], 0.95) == 3.0


def test_the_report_shows_each_figure_beside_its_baseline():
    results = {
        "machine": "test",
        "producer": {"achieved": 49_000.0, "ratio": 0.98},
        "drain": {
            "events": 1_000,
            "bare_events_per_s": 10_000.0,
            "bronze_events_per_s": 5_000.0,
            "pipeline_events_per_s": 2_500.0,
            "pipeline_capped_events_per_s": 2_000.0,
        },
        "freshness": [
            {
                "rate": 1_000,
                "seconds": 5.0,
                "p50_s": 1.5,
                "p95_s": 2.5,
                "achieved_rate_ratio": 1.0,
                "lag_at_stop_bronze": 10,
                "lag_at_stop_gold": 20,
                "catch_up_s": 0.5,
            },
            {
                "rate": 10_000,
                "seconds": 5.0,
                "p50_s": None,
                "p95_s": None,
                "achieved_rate_ratio": 1.0,
                "lag_at_stop_bronze": 100,
                "lag_at_stop_gold": 200,
                "catch_up_s": None,
            },
        ],
        "state": {
            "gold_state_rows": 30,
            "gold_state_bytes": 2**20,
            "driver_heap_used_mb": 400.0,
            "driver_heap_max_mb": 2048.0,
        },
        "parse": {
            "records": 1_000,
            "plainly_per_s": 2_000.0,
            "once_per_s": 7_000.0,
            "plainly_from_json": 38,
            "once_from_json": 1,
            "ratio": 3.5,
        },
        "batch": {"bare_s": 0.5, "bronze_s": 1.5},
        "lesson": {"pipeline_s": 4.0, "bare_s": 1.0, "ratio": 4.0},
        "partitions": [
            {"partitions": 1, "events_per_s": 1_000.0, "vs_one": 1.0},
            {"partitions": 3, "events_per_s": 1_500.0, "vs_one": 1.5},
        ],
    }
    text = bench.report(json.loads(json.dumps(results)))  # as read back from latest.json
    assert "Bronze query alone" in text and "0.500×" in text and "0.250×" in text
    assert "p50 1.50 s, p95 2.50 s" in text and "caught up in —" in text
    assert "3: 1,500/s (1.50×)" in text
    assert "(38 × from_json in the plan)" in text and "(1 ×): 3.5×" in text
    assert "a 10-record micro-batch: bare 0.50 s, Bronze 1.50 s (3.0×)" in text
