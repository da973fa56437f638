"""A local, stateful stand-in for the Stripe API, Stripe.js and webhooks (stdlib only).

    from stripe_emulator import Emulator
    emu = Emulator(port=0)    # 0: any free port
    emu.start()
    stripe_client = stripe.StripeClient("sk_test_" + "x" * 24, base_addresses={"api": emu.url})

See README.md for what it covers and the /_emulator control routes.
"""

from .app import Emulator

__all__ = ["Emulator"]
