"""A local stand-in for Kavenegar's SMS API, for development and tests: ``python -m notify.fake_kavenegar
--port N [--api-key K]``.

It answers ``POST /v1/{api_key}/sms/send.json`` as Kavenegar documents it (the same form fields, statuses and
JSON; a repeated ``localid`` is not sent again, its first entry is answered), records every message it took
(``GET /_sent``, ``DELETE /_sent`` to forget them), logs each, and can be told to refuse the next sends
(``POST /_fail`` with ``{"times": n, "status": 418}``). Never for production: it sends nothing to anyone.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import re
import socket
import time
from typing import Any

import orjson
from aiohttp import web

log = logging.getLogger("barid.fake_kavenegar")
_RECEPTOR = re.compile(r"09[0-9]{9}")
_MESSAGES = {200: "تایید شد", 403: "کد شناسائی API-Key معتبر نمی‌باشد", 411: "دریافت کننده نامعتبر است",
             412: "ارسال کننده نامعتبر است", 413: "پیام خالی است و یا طول پیام بیش از حد مجاز می‌باشد",
             418: "اعتبار حساب شما کافی نیست", 409: "سرور قادر به پاسخگوئی نیست بعدا تلاش کنید"}

STATE = web.AppKey("fake_kavenegar", dict)


def _answer(status: int, entries: list[dict[str, Any]] | None = None) -> web.Response:
    body = {"return": {"status": status, "message": _MESSAGES.get(status, "خطا")}, "entries": entries}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


async def send(request: web.Request) -> web.Response:
    st = request.app[STATE]
    if st["api_key"] and request.match_info["api_key"] != st["api_key"]:
        return _answer(403)
    form = await request.post()
    if st["fail"]["times"] > 0:
        st["fail"]["times"] -= 1
        return _answer(st["fail"]["status"])
    receptor, message = str(form.get("receptor", "")), str(form.get("message", ""))
    local_id, sender = str(form.get("localid", "")), str(form.get("sender", "") or st["sender"])
    if not _RECEPTOR.fullmatch(receptor):
        return _answer(411)
    if not message or len(message) > 900:
        return _answer(413)
    if local_id and local_id in st["by_local_id"]:  # Kavenegar: a seen localid is answered, not sent again
        return _answer(200, [st["by_local_id"][local_id]])
    entry = {"messageid": next(st["ids"]), "message": message, "status": 1, "statustext": "در صف ارسال",
             "sender": sender, "receptor": receptor, "date": int(time.time()), "cost": st["cost"]}
    st["sent"].append({**entry, "localid": local_id})
    if local_id:
        st["by_local_id"][local_id] = entry
    log.info("SMS to %s: %s", receptor, message)
    return _answer(200, [entry])


async def sent(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(request.app[STATE]["sent"]), content_type="application/json")


async def forget(request: web.Request) -> web.Response:
    st = request.app[STATE]
    st["sent"].clear()
    st["by_local_id"].clear()
    return web.Response(status=204)


async def fail(request: web.Request) -> web.Response:
    body = await request.json()
    request.app[STATE]["fail"] = {"times": int(body.get("times", 1)), "status": int(body.get("status", 418))}
    return web.Response(status=204)


def make_app(api_key: str = "", sender: str = "10008663", cost: int = 1200) -> web.Application:
    app = web.Application()
    app[STATE] = {"api_key": api_key, "sender": sender, "cost": cost, "sent": [], "by_local_id": {},
                  "ids": itertools.count(8_792_343), "fail": {"times": 0, "status": 418}}
    app.router.add_post("/v1/{api_key}/sms/send.json", send)
    app.router.add_get("/_sent", sent)
    app.router.add_delete("/_sent", forget)
    app.router.add_post("/_fail", fail)
    return app


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, for ``up`` to start the fake on (its URL goes to the gateway workers)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve(port: int) -> None:
    """The supervisor's child: the fake on ``port`` of the loopback, logging each message it takes."""
    main(["--port", str(port)])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m notify.fake_kavenegar", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8086)
    p.add_argument("--api-key", default="", help="accept only this key (default: any)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fake-kavenegar %(message)s")
    web.run_app(make_app(args.api_key), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
