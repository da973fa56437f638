"""`python -m stripe_emulator --host 127.0.0.1 --port 12111 [--state-file PATH]`"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from . import Emulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--state-file", help="keep the state in this JSON file across restarts")
    parser.add_argument("--log-level", default="INFO", help="DEBUG logs every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")

    emulator = Emulator(host=args.host, port=args.port, state_file=args.state_file).start()
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


if __name__ == "__main__":
    main()
