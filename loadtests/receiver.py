"""Storefronts: an aiohttp webhook receiver on loopback that verifies every delivery and records it.

Each shop's endpoint is ``/hook/<shop id>``; a delivery is accepted (204) only when its Standard Webhooks
signature verifies with that shop's secret (``standardwebhooks.Webhook.verify``) and the payload's ``id`` is
the ``webhook-id``. The first arrival of each id is recorded with its arrival time; later arrivals of the same
id are counted as duplicates (at-least-once delivery allows them).

    python -m loadtests.receiver PORT SEED_JSON OUT_JSON   (started by the runner)

``GET /stats`` gives the counts; ``POST /dump`` writes every record to OUT_JSON.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson
from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from kernel.postal.timeutil import parse_iso


class Receiver:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.hooks = {shop: Webhook(secret) for shop, secret in secrets.items()}
        # webhook id -> [event type, tracking number, arrival ms, recorded_at ms]
        self.first: dict[str, list] = {}
        self.duplicates = 0
        self.rejected = 0  # bad signature, unknown shop, or payload id != webhook-id

    async def hook(self, request: web.Request) -> web.Response:
        arrival_ms = time.time() * 1000
        body = await request.read()
        hook = self.hooks.get(request.match_info["shop"])
        try:
            if hook is None:
                raise WebhookVerificationError("unknown shop")
            event = hook.verify(body, dict(request.headers))
            if event.get("id") != request.headers.get("webhook-id"):
                raise WebhookVerificationError("payload id differs from webhook-id")
        except WebhookVerificationError:
            self.rejected += 1
            return web.Response(status=401)
        if event["id"] in self.first:
            self.duplicates += 1
        else:
            self.first[event["id"]] = [event["type"], event["tracking_number"], round(arrival_ms, 1),
                                       round(parse_iso(event["recorded_at"]) * 1000, 1)]
        return web.Response(status=204)

    def stats(self) -> dict[str, int]:
        return {"received": len(self.first), "duplicates": self.duplicates, "rejected": self.rejected}

    def app(self, out: Path | None = None) -> web.Application:
        async def stats(_: web.Request) -> web.Response:
            return web.json_response(self.stats())

        async def dump(_: web.Request) -> web.Response:
            if out is not None:
                out.write_bytes(orjson.dumps({**self.stats(), "events": self.first}))
            return web.json_response(self.stats())

        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/hook/{shop}", self.hook)
        app.router.add_get("/stats", stats)
        app.router.add_post("/dump", dump)
        return app


def main(argv: list[str]) -> None:
    port, seed_path, out = int(argv[0]), Path(argv[1]), Path(argv[2])
    seed = orjson.loads(seed_path.read_bytes())
    receiver = Receiver({str(s["id"]): s["secret"] for s in seed["shops"]})
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    web.run_app(receiver.app(out), host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])
