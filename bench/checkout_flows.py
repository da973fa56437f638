"""The two ways to pay as a shopper meets them: the Payment Element on the shop's page and
Stripe's hosted Checkout page. Runs the browser journeys of tests/e2e/test_hosted_checkout.py
(Chromium, the live test server, a real worker and the emulator; 4242, no 3D Secure) several
times each and prints, per flow, the page loads and clicks from "Pay" to the paid order and
the seconds that took (median and worst).

    .venv/bin/python bench/checkout_flows.py [--runs 5]

Uses the test settings (DATABASE_URL, REDIS_URL as for the tests).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JOURNEYS = [
    "tests/e2e/test_hosted_checkout.py::test_the_payment_element_for_comparison",
    "tests/e2e/test_hosted_checkout.py::test_pay_with_4242_on_stripes_page_and_land_on_a_paid_order",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="journeys per flow")
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as figures_file:
        env = {**os.environ, "FLOW_FIGURES_FILE": figures_file.name}
        # One pytest run per round (pytest runs a test id once however often it is named).
        for _ in range(args.runs):
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:logging", "--reuse-db", *JOURNEYS]
            result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
            if result.returncode != 0:
                print(result.stdout[-3000:], result.stderr[-2000:])
                sys.exit("the journeys failed")
        rows = [json.loads(line) for line in figures_file.read().splitlines() if line.strip()]
    by_flow = defaultdict(list)
    for row in rows:
        by_flow[row["flow"]].append(row)
    names = {"element": "Payment Element (shop's page)", "checkout": "hosted Checkout (Stripe's page)"}
    print(f"{'flow':34} {'journeys':>8} {'page loads':>10} {'clicks':>6} {'Pay to paid, median':>20} {'worst':>7}")
    for flow in ("element", "checkout"):
        seen = by_flow.get(flow, [])
        if not seen:
            continue
        seconds = [row["seconds"] for row in seen]
        loads = sorted({row["loads"] for row in seen})
        clicks = sorted({row["clicks"] for row in seen})
        print(f"{names[flow]:34} {len(seen):>8} {'/'.join(map(str, loads)):>10} {'/'.join(map(str, clicks)):>6} "
              f"{statistics.median(seconds):>19.2f}s {max(seconds):>6.2f}s")


if __name__ == "__main__":
    main()
