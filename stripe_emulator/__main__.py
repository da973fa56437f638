"""`python -m stripe_emulator --host 127.0.0.1 --port 12111 [--state-file PATH] [--latency 150-400]
[--rate-limit 100] [--webhook-concurrency 8] [--drop-webhooks SHARE] [--server-error-rate SHARE]
[--server-error-should-retry]`"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

from . import Emulator
from .controls import ControlError


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--state-file", help="keep the state in this JSON file across restarts")
    parser.add_argument("--log-level", default="INFO", help="DEBUG logs every request")
    load = parser.add_argument_group("Stripe under load (each also a setting or fault; reset comes back to these)")
    load.add_argument("--latency", metavar="LOW-HIGH",
                      help="milliseconds each API request takes, uniformly random (e.g. 150-400; default 0)")
    load.add_argument("--rate-limit", type=int, metavar="N",
                      help="API requests per second per API key; more get Stripe's 429 (default: no limit)")
    load.add_argument("--webhook-concurrency", type=int, metavar="N",
                      help="webhook deliveries in flight at once per endpoint (default 1: in order)")
    load.add_argument("--drop-webhooks", type=float, metavar="SHARE",
                      help="share of webhook deliveries lost, never sent nor retried (1: no webhooks)")
    load.add_argument("--server-error-rate", type=float, metavar="SHARE",
                      help="share of API requests answered with Stripe's 500, kept under their Idempotency-Key")
    load.add_argument("--server-error-should-retry", action="store_true",
                      help="those 500s say Stripe-Should-Retry: true (default false)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")

    settings = _given(latency_ms=args.latency, rate_limit=args.rate_limit,
                      webhook_concurrency=args.webhook_concurrency)
    faults = _given(drop_webhooks=args.drop_webhooks, server_error_rate=args.server_error_rate,
                    server_error_should_retry=args.server_error_should_retry or None)
    try:
        emulator = Emulator(host=args.host, port=args.port, state_file=args.state_file, settings=settings,
                            faults=faults).start()
    except ControlError as exc:
        parser.error(str(exc))
    # SIGTERM (docker stop, make's children) ends it as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.getLogger("stripe_emulator").info(
        "Stripe emulator on %s (Stripe.js at %s/v3/, controls at %s/_emulator)", emulator.url, emulator.url,
        emulator.url,
    )
    try:
        emulator.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        emulator.stop()


def _given(**options: Any) -> dict[str, Any]:
    return {name: value for name, value in options.items() if value is not None}


if __name__ == "__main__":
    main()
