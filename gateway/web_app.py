"""The composition root: ``create_app(config)`` builds the shared services once, mounts each feature's routes
(one line per feature, at the end of ``create_app``), and answers every error as problem+json with the status
the problem catalogue gives its code. The supervisor (``gateway/supervisor.py``) runs it.

Where a new feature goes: a package beside ``booking/``, ``tracking/`` and ``routing/`` with a ``web.setup``
(its routes) and an ``api_spec.fragment`` (its OpenAPI), mounted here and listed in ``gateway.openapi``. See
docs/architecture.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import orjson
from aiohttp import web
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from booking import web as booking_web
from booking.app_keys import BOOKING, SHOPS, VALIDATOR
from booking.auth import ShopDirectory
from booking.service import BookingService
from booking.validation import RequestValidator
from gateway import quiet_log, web_system
from gateway.access_log import AccessLog
from gateway.metrics import METRICS_SHARE, Metrics, MetricsShare
from handover import web as handover_web
from kernel.app_keys import BATCHER, CONFIG, LIMITS, METRICS, REDIS, STORE_URL, TARIFF
from kernel.errors import PROBLEM_CONTENT_TYPE, BaridError, PayloadTooLarge, StoreUnavailable
from kernel.postal.network import ParcelNetwork
from kernel.postal.tariff import Limits, Tariff
from kernel.settings import Config
from kernel.store.batcher import Batcher
from kernel.store.client import async_client
from money import accounts as money_accounts
from money import operator_web as money_operator_web
from money import shop_web as money_shop_web
from money import web as money_web
from notify import web as notify_web
from panel import web as panel_web
from pod import service as pod_service
from pod import web as pod_web
from returns import web as returns_web
from routing import web as routing_web
from staffapp import web as staffapp_web
from tracking import web as tracking_web
from tracking.staff import STAFF_AUTH

log = logging.getLogger("barid.gateway")


def problem_response(exc: BaridError, instance: str | None = None, status: int | None = None) -> web.Response:
    """The one place an error becomes an HTTP answer: its status is the catalogue's for its code (``status``
    only for aiohttp's own HTTP errors, whose status aiohttp chose)."""
    body = exc.to_problem(instance, status=status)
    return web.Response(body=orjson.dumps(body), status=body["status"], content_type=PROBLEM_CONTENT_TYPE,
                        headers=exc.headers)


CLIENT_CLOSED = 499  # nginx's status for a request whose client went away before the answer was complete


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def observe(metrics: Metrics, access_log: AccessLog | None, max_body_bytes: int):
    """The middleware that maps every error to problem+json, counts it, and writes one access-log line per
    request (its collaborators bound once, not looked up per request)."""

    @web.middleware
    async def observe_request(request: web.Request, handler) -> web.StreamResponse:
        start = time.perf_counter()
        try:
            response = await handler(request)
        except BaridError as exc:
            metrics.count_error(exc.code)
            response = problem_response(exc, request.path)
        except web.HTTPRequestEntityTooLarge:
            exc = PayloadTooLarge(f"request body exceeds {max_body_bytes} bytes", "حجم درخواست بیش از حد مجاز است")
            metrics.count_error(exc.code)
            response = problem_response(exc, request.path)
        except web.HTTPException as exc:
            code = {404: "route_not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
            err = BaridError(exc.reason, code=code, title=exc.reason)
            metrics.count_error(code)
            response = problem_response(err, request.path, exc.status)
            if exc.status == 405 and "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
        except (RedisConnectionError, RedisTimeoutError, BusyLoadingError, TimeoutError) as exc:
            err = StoreUnavailable(f"the store did not answer ({type(exc).__name__}); nothing was applied",
                                   "پایگاه داده پاسخ نداد؛ درخواست اعمال نشد", headers={"Retry-After": "1"})
            metrics.count_error(err.code)
            response = problem_response(err, request.path)
        except ConnectionResetError:  # aiohttp's ClientConnectionResetError too: a write after the client left
            if not _client_gone(request):
                raise
            # The client closed the connection (an SSE subscriber leaving, most often): a normal end, not an
            # error. Counted as 499 ("client closed request"); the answer below is never sent.
            log.debug("client closed the connection during %s %s", request.method, request.path)
            response = web.Response(status=CLIENT_CLOSED)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            err = BaridError("the gateway failed to handle this request; it was not applied",
                               "خطای داخلی؛ درخواست اعمال نشد")
            metrics.count_error(err.code)
            response = problem_response(err, request.path)
        elapsed = time.perf_counter() - start
        route = request.match_info.route.resource
        route_name = route.canonical if route is not None else "unmatched"
        metrics.observe_request(route_name, request.method, response.status, elapsed)
        if access_log is not None:
            access_log.write(orjson.dumps({
                "ts": round(time.time(), 3), "method": request.method, "path": request.path, "route": route_name,
                "status": response.status, "ms": round(elapsed * 1000, 2), "remote": request.remote,
            }))
        return response

    return observe_request


def _store_ctx(config: Config, redis_url: str):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        client = async_client(redis_url, cluster=config.redis_cluster)
        limits = app[LIMITS]
        tariff = Tariff.load(config.tariff_path, limits)
        batcher = Batcher(client, redis_url)
        app[REDIS] = client
        app[BATCHER] = batcher
        app[TARIFF] = tariff
        app[VALIDATOR] = RequestValidator(limits)
        app[SHOPS] = ShopDirectory(client, cod_rule=money_accounts.cod_rule)  # the money policy's COD rule
        app[BOOKING] = BookingService(
            client, batcher, limits, tariff, ParcelNetwork(), default_rate=config.rate_per_s, default_burst=config.rate_burst,
            idempotency_ttl_s=config.idempotency_ttl_s, serial_block=config.serial_block)
        yield
        batcher.close()
        await client.aclose()

    return ctx


async def _flush(access_log: AccessLog) -> None:
    access_log.flush()


def create_app(config: Config, redis_url: str) -> web.Application:
    """The whole HTTP API on the store at ``redis_url``; nothing runs until the app is started."""
    limits = Limits.load(config.limits_path)
    quiet_log.install()  # malformed HTTP: one line each, rate-limited, instead of a traceback
    metrics = Metrics()
    access_log = AccessLog() if config.access_log else None
    app = web.Application(middlewares=[observe(metrics, access_log, limits.request_max_body_bytes)],
                          client_max_size=limits.request_max_body_bytes)
    app[CONFIG] = config
    app[STORE_URL] = redis_url
    app[LIMITS] = limits
    app[METRICS] = metrics
    if config.metrics_dir is not None:
        share = app[METRICS_SHARE] = MetricsShare(config.metrics_dir, app[METRICS])
        app.cleanup_ctx.append(lambda _app: share.run())
    app.cleanup_ctx.append(_store_ctx(config, redis_url))
    if access_log is not None:
        app.on_cleanup.append(lambda _app: _flush(access_log))
    # The features, one line each (after the store context above: their contexts use its services).
    web_system.setup(app)
    booking_web.setup(app)
    tracking_web.setup(app, config.effective_tracking())
    app[STAFF_AUTH] = tracking_web.require_staff  # tracking authenticates staff for every feature
    routing_web.setup(app)
    handover_web.setup(app)
    returns_web.setup(app)
    pod_web.setup(app)
    staffapp_web.setup(app)
    money_web.setup(app, config.database_dsn)
    money_shop_web.setup(app)  # the shop's balance, remittances, statements and disputes (money.web's pool)
    money_operator_web.setup(app)  # the operator's remittance routes, on money's database pool
    notify_web.setup(app, cases=lambda a: a[returns_web.CASES],  # after returns: its case service
                     delivery_code=lambda tn: pod_service.delivery_code(app[REDIS], tn))  # pod's codes
    panel_web.setup(app)  # the shop panel; it also lets the API accept a panel session (booking SESSION_AUTH)
    return app
