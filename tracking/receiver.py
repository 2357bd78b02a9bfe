"""A small webhook receiver for trying Barid out: it verifies each delivery and prints it.

    python -m tracking.receiver --port 9000 --secret whsec_...   [--host 127.0.0.1] [--path /hooks]

A delivery is answered 204 and printed as one line (``verified <webhook-id> <type> <tracking number>``) only
when its Standard Webhooks signature verifies with the secret (checked with the ``standardwebhooks`` library,
an implementation independent of the one that signs, with its five-minute timestamp tolerance) and the
payload's ``id`` equals ``webhook-id``; anything else is answered 401 and printed as ``rejected``. A repeated
``webhook-id`` (delivery is at least once) is answered 204 and printed as ``duplicate``. A storefront would
do exactly this before trusting an event.
"""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

try:
    from standardwebhooks import Webhook
    from standardwebhooks.webhooks import WebhookVerificationError
except ImportError:  # pragma: no cover - the message is the point
    Webhook = None  # type: ignore[assignment,misc]


def make_app(secret: str, path: str = "/hooks", out=None) -> web.Application:
    """The receiver as an aiohttp application (``out``: where lines go, default stdout)."""
    hook = Webhook(secret)
    seen: set[str] = set()

    def say(line: str) -> None:
        print(line, file=out or sys.stdout, flush=True)

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        msg_id = request.headers.get("webhook-id", "")
        try:
            event = hook.verify(body, dict(request.headers))
            if not isinstance(event, dict) or event.get("id") != msg_id:
                raise WebhookVerificationError("payload id differs from webhook-id")
        except WebhookVerificationError as exc:
            say(f"rejected {msg_id or '-'}: {exc}")
            return web.Response(status=401)
        kind = "duplicate" if msg_id in seen else "verified"
        seen.add(msg_id)
        say(f"{kind} {msg_id} {event.get('type')} {event.get('tracking_number', '-')}")
        return web.Response(status=204)

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(path, receive)
    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tracking.receiver",
                                description="print verified Barid webhook deliveries")
    p.add_argument("--secret", required=True, help="the endpoint's whsec_... secret (from POST /v1/webhooks)")
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--path", default="/hooks", help="the URL path deliveries are posted to (default /hooks)")
    args = p.parse_args(argv)
    if Webhook is None:
        print("the receiver needs the standardwebhooks package: pip install standardwebhooks "
              "(python3 dev.py up installs it)", file=sys.stderr)
        return 2
    print(f"receiving webhooks at http://{args.host}:{args.port}{args.path}", flush=True)
    web.run_app(make_app(args.secret, args.path), host=args.host, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
