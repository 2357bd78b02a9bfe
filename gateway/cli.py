"""``python -m gateway``: run the gateway and manage shops from the command line.

Operator commands reach the same store as a running gateway: ``REDIS_URL`` when set, otherwise the embedded
server under ``BARID_DATA`` (used as it runs, or started just for the command when no gateway runs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis

from booking.shops import ShopRegistry
from booking.validation import Errors, party
from gateway.supervisor import Role, Supervisor, configure_logging, run_worker
from kernel.errors import BaridError, ValidationFailed
from kernel.postal.offices import load_registry
from kernel.postal.timeutil import IRAN_TIME
from kernel.postal.workdays import next_working_day
from kernel.settings import Config, MoneySettings, TrackingConfig
from kernel.store.client import async_client, durability_report, open_store
from kernel.store.upgrade import upgrade
from money import cli as money_cli
from money import dispute_cli, remit_cli
from money.accounts import bank_fields, public, set_bank, set_legal
from money.pg import open_database
from money.scheduler import serve as serve_remittances
from money.worker import prepare as prepare_ledger
from money.worker import serve as serve_ledger
from notify import fake_kavenegar
from panel.accounts import Accounts
from routing.jobs import serve as serve_router
from staffapp import sessions as staff_sessions
from tracking.dispatcher import serve as serve_dispatcher
from tracking.staff import create_staff, list_staff, revoke_staff

from .demo import seed_demo


def _print(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _with_store(config: Config, fn) -> Any:
    """Run the coroutine function ``fn(redis)`` against the operator's store."""
    with open_store(config) as url:
        return asyncio.run(_on(url, fn, config.redis_cluster))


def _sender(args: argparse.Namespace) -> dict[str, str]:
    fields = ("name", "phone", "postal_code", "province", "city", "address")
    return {f: getattr(args, f"sender_{f}") for f in fields if getattr(args, f"sender_{f}")}


def _with_flags(config: Config, args: argparse.Namespace) -> Config:
    """Command-line flags of serve/up override the environment."""
    return replace(config, host=args.host or config.host, port=args.port or config.port,
                   workers=args.workers or config.workers)


def cmd_serve(args: argparse.Namespace, config: Config) -> None:
    config = _with_flags(config, args)
    money = config.money
    ledgers = args.ledger_workers or 0
    with open_store(config, own=True) as url, _shared_metrics(config) as config, \
            _ledger_database(config, money, url, ledgers > 0 or money.database_url is not None) as config:
        durability_report(url)
        asyncio.run(_on(url, upgrade, config.redis_cluster))
        Supervisor(_roles(config, url, args.dispatchers or 0, args.routers or 0, ledgers)).run()


@contextlib.contextmanager
def _ledger_database(config: Config, money: MoneySettings, url: str, wanted: bool = True) -> Iterator[Config]:
    """The ledger's PostgreSQL for this system (started and owned when embedded), migrated, with the outboxes'
    ``ledger`` group in place; the config names it to the workers. Not wanted: the money routes answer 503."""
    if not wanted:
        yield config
        return
    with open_database(money, own=True) as dsn:
        asyncio.run(prepare_ledger(url, dsn, config.redis_cluster))
        yield replace(config, database_dsn=dsn)


@contextlib.contextmanager
def _shared_metrics(config: Config) -> Iterator[Config]:
    """One directory for this supervisor's workers to pool their metrics in (gone when they stop)."""
    with tempfile.TemporaryDirectory(prefix="barid-metrics-") as directory:
        yield replace(config, metrics_dir=Path(directory))


def _roles(config: Config, url: str, dispatchers: int, routers: int, ledgers: int = 0) -> list[Role]:
    roles = [Role("gateway", run_worker, (config, url), config.workers)]
    if ledgers and config.database_dsn:
        roles.append(Role("ledger", serve_ledger, (url, config.database_dsn, config.redis_cluster), ledgers))
        if config.money.remittance_hour is not None:  # the daily remittance run (one process; safe with more)
            roles.append(Role("remittances", serve_remittances,
                              (url, config.database_dsn, config.money.remittance_hour, config.redis_cluster), 1))
    if dispatchers:
        roles.append(Role("dispatcher", run_dispatcher, (url, config.redis_cluster, config.effective_tracking()),
                          dispatchers))
    if routers:
        roles.append(Role("router", run_router, (url, config.redis_cluster), routers))
    return roles


def pickup_provider(redis):
    """The router's extra stops: the office's open pickups of the day (handover), given to routing at assembly."""
    from handover.pickups import pickup_stops

    return partial(pickup_stops, redis)


def run_router(url: str, cluster: bool) -> None:
    serve_router(url, cluster=cluster, extra_stops_for=pickup_provider)


def run_dispatcher(url: str, cluster: bool, tracking: TrackingConfig) -> None:
    serve_dispatcher(url, tracking, cluster=cluster)


# The demo's storefronts live on this machine, so `up` lets webhooks reach it, and says so at start. `serve`
# never does unless the operator names hosts in BARID_WEBHOOK_ALLOW_HOSTS.
DEMO_WEBHOOK_ALLOW_HOSTS = frozenset({"127.0.0.1", "localhost"})


def up_config(config: Config) -> Config:
    """``up``'s settings: the operator's webhook allow list, or the demo's (passed on explicitly, never through
    the environment, so nothing else this process starts inherits it)."""
    hosts = config.tracking.webhook_allow_hosts or DEMO_WEBHOOK_ALLOW_HOSTS
    return replace(config, webhook_allow_hosts=hosts)


def allow_list_line(config: Config) -> str:
    hosts = ", ".join(sorted(config.webhook_allow_hosts or ())) or "none"
    return (f"webhooks may reach these non-public hosts: {hosts}  (demo only: `serve` allows none unless "
            "BARID_WEBHOOK_ALLOW_HOSTS names them)")


def cmd_up(args: argparse.Namespace, config: Config) -> None:
    """The whole system on this machine: store, demo data where the store is empty, gateway workers and
    webhook dispatchers."""
    config = up_config(_with_flags(config, args))
    money = config.money
    with open_store(config, own=True) as url, _ledger_database(config, money, url) as config:
        durability_report(url)
        asyncio.run(_on(url, upgrade, config.redis_cluster))

        async def seed(redis: aioredis.Redis) -> Any:
            return await seed_demo(redis, config)

        demo = asyncio.run(_on(url, seed, config.redis_cluster))
        demo_file = config.data_dir / "demo.json"
        if demo_file.exists():
            demo = orjson.loads(demo_file.read_bytes())
        base = f"http://{config.host}:{config.port}"
        banner = [f"Barid is up at {base}  (store: {url}, ledger: {config.database_dsn}, data: {config.data_dir})",
                  allow_list_line(config)]
        if demo:
            banner += [f"demo shop {demo['shop_id']}, API key {demo['api_key']}",
                       f"try: curl -s {base}/v1/shipments -H 'Authorization: Bearer {demo['api_key']}'"]
            banner += [f"demo staff of {demo['staff']['office']}: token {demo['staff']['token']}",
                       f"buyers: {base}/track/{demo['tracking_numbers'][0]}"]
        sms = []
        if not (config.sms_url and config.sms_api_key):  # no real SMS provider: the local stand-in, logged here
            port = fake_kavenegar.free_port()
            config = replace(config, sms_url=f"http://127.0.0.1:{port}", sms_api_key="dev")
            sms = [Role("sms-provider", fake_kavenegar.serve, (port,), 1)]
            banner.append(f"buyer SMS go to a local fake provider (logged here; {config.sms_url}/_sent lists "
                          "them): set BARID_SMS_URL and BARID_SMS_API_KEY for a real one")
        print("\n".join(banner), flush=True)
        with _shared_metrics(config) as config:
            Supervisor(_roles(config, url, 1 if args.dispatchers is None else args.dispatchers,
                              1 if args.routers is None else args.routers,
                              money.ledger_workers if args.ledger_workers is None else args.ledger_workers)
                       + sms).run()


async def _on(url: str, fn, cluster: bool = False) -> Any:
    client = async_client(url, cluster=cluster)
    try:
        return await fn(client)
    finally:
        await client.aclose()


def cmd_shops(args: argparse.Namespace, config: Config) -> None:
    async def run(redis: aioredis.Redis) -> Any:
        shops = ShopRegistry(redis)
        if args.shops_cmd == "create":
            sender = _sender(args)
            errs = Errors()
            sender = party(sender, "sender", errs, tuple(sender))  # only what was given; all of it valid
            if errs:
                raise ValidationFailed("the default sender is invalid", "اطلاعات فرستنده نامعتبر است",
                                       errors=errs.items)
            shop, api_key = await shops.create(args.name, sender=sender, enamad_id=args.enamad_id,
                                               rate_per_s=args.rate, rate_burst=args.burst,
                                               bank=bank_fields(args.sheba, args.sheba_verified) if args.sheba
                                               else None)
            return {**public(shop), "api_key": api_key}
        if args.shops_cmd == "list":
            return [public(s) for s in await shops.list()]
        if args.shops_cmd == "rotate-key":
            overlap = config.key_rotation_overlap_s if args.overlap is None else args.overlap
            if overlap < 0:
                raise ValidationFailed("--overlap must not be negative", "مدت هم‌پوشانی نباید منفی باشد")
            api_key = await shops.rotate_key(args.shop, overlap)
            return {**public(await shops.get(args.shop)), "api_key": api_key}
        if args.shops_cmd == "end-rotation":
            return public(await shops.end_rotation(args.shop))
        if args.shops_cmd == "set-bank":
            return public(await set_bank(redis, args.shop, args.sheba, args.verified))
        if args.shops_cmd == "set-legal":
            return public(await set_legal(redis, args.shop, args.type, args.national_id, args.enamad_id,
                                          args.settlement_plan))
        if args.shops_cmd == "disable":
            return public(await shops.set_status(args.shop, "disabled"))
        if args.shops_cmd == "enable":
            return public(await shops.set_status(args.shop, "active"))
        if args.shops_cmd == "add-user":  # a shop panel user; the password from stdin, or a one-time one printed
            await shops.get(args.shop)
            password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
            return await Accounts(redis).add(args.shop, args.mobile, args.role, password, invited_by="cli")
        raise AssertionError(args.shops_cmd)

    _print(_with_store(config, run))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gateway", description="Barid postal gateway")
    sub = p.add_subparsers(dest="cmd", required=True)

    for name, text in (("serve", "run the HTTP gateway"),
                       ("up", "run the whole system (store, gateway, workers) with demo data if empty")):
        serve = sub.add_parser(name, help=text)
        serve.add_argument("--host")
        serve.add_argument("--port", type=int)
        serve.add_argument("--workers", type=int, help="gateway processes sharing the port (default 1)")
        serve.add_argument("--dispatchers", type=int,
                           help="webhook dispatcher processes (default: 1 with up, 0 with serve)")
        serve.add_argument("--routers", type=int,
                           help="delivery-planning processes (default: 1 with up, 0 with serve)")
        serve.add_argument("--ledger-workers", type=int,
                           help="ledger processes (default: BARID_LEDGER_WORKERS, 1, with up; 0 with serve, which "
                                "then starts PostgreSQL only for them or with DATABASE_URL)")

    shops = sub.add_parser("shops", help="manage shops and their API keys")
    ssub = shops.add_subparsers(dest="shops_cmd", required=True)
    create = ssub.add_parser("create", help="create a shop; prints its API key once")
    create.add_argument("--name", required=True)
    create.add_argument("--enamad-id")
    for f in ("name", "phone", "postal-code", "province", "city", "address"):
        create.add_argument(f"--sender-{f}", help=f"default sender {f.replace('-', ' ')}")
    create.add_argument("--rate", type=float, help="requests per second (default from BARID_RATE_PER_S)")
    create.add_argument("--burst", type=int, help="burst size (default from BARID_RATE_BURST)")
    create.add_argument("--sheba", help="payout account (IR + 24 digits); COD bookings need a verified one")
    create.add_argument("--sheba-verified", action="store_true", help="the Sheba account was verified")
    ssub.add_parser("list", help="list shops")
    bank = ssub.add_parser("set-bank", help="record the shop's payout account (Sheba), checked; shown masked")
    bank.add_argument("--shop", type=int, required=True)
    bank.add_argument("--sheba", required=True, help="IR followed by 24 digits")
    bank.add_argument("--verified", action="store_true",
                      help="the account holder was verified (COD bookings need it); without it the account is "
                           "recorded unverified")
    legal = ssub.add_parser("set-legal", help="record who the shop is in law, its Enamad code, its payout plan")
    legal.add_argument("--shop", type=int, required=True)
    legal.add_argument("--type", required=True, choices=("individual", "company"))
    legal.add_argument("--national-id", required=True,
                       help="a person's 10-digit national id, or a company's 11-digit national id")
    legal.add_argument("--enamad-id", help="the shop's Enamad code")
    legal.add_argument("--settlement-plan", help="a plan of money/data/policy.toml (default: the default cycle)")
    for name, text in (("rotate-key", "issue a new API key; the old one keeps working for the overlap "
                                      "(BARID_KEY_ROTATION_OVERLAP_S, default 24 h; --overlap 0: stops at once)"),
                       ("end-rotation", "the previous API key stops working now (ends a rotation's overlap)"),
                       ("disable", "disable a shop; its key stops working at once"),
                       ("enable", "enable a disabled shop again")):
        c = ssub.add_parser(name, help=text)
        c.add_argument("--shop", type=int, required=True)
        if name == "rotate-key":
            c.add_argument("--overlap", type=float, metavar="SECONDS",
                           help="how long the old key keeps working (default BARID_KEY_ROTATION_OVERLAP_S)")

    au = ssub.add_parser("add-user", help="add a shop panel user (owner or staff); prints a one-time password "
                                          "unless --password-stdin")
    au.add_argument("--shop", type=int, required=True)
    au.add_argument("--mobile", required=True)
    au.add_argument("--role", choices=("owner", "staff"), default="owner")
    au.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")

    offices = sub.add_parser("offices", help="the post-office registry")
    offices.add_subparsers(dest="offices_cmd", required=True).add_parser("list", help="print it as JSON")
    cal = sub.add_parser("calendar", help="Iran's working days (Fridays and official holidays off)")
    nwd = cal.add_subparsers(dest="calendar_cmd", required=True).add_parser(
        "next-working-day", help="print the first working day after a date (default: today, Tehran time)")
    nwd.add_argument("--after", type=date.fromisoformat, help="YYYY-MM-DD")
    staff = sub.add_parser("staff", help="post-office staff and their tokens")
    tsub = staff.add_subparsers(dest="staff_cmd", required=True)
    sc = tsub.add_parser("create", help="create a staff member; prints the token once")
    sc.add_argument("--office", required=True, help="office (or hub) code, see 'offices list'")
    sc.add_argument("--name", required=True)
    sc.add_argument("--role", choices=("staff", "supervisor"), default="staff",
                    help="a supervisor also unlocks parcels locked by wrong delivery codes (docs/pod.md)")
    tsub.add_parser("list", help="staff of an office").add_argument("--office", required=True)
    tsub.add_parser("revoke", help="revoke a staff token at once").add_argument("--staff", type=int, required=True)
    # The staff app (docs/staff-app.md): supervisors, one-time sign-in codes, device sessions.
    sr = tsub.add_parser("set-role", help="make a staff member a supervisor of their office (or plain staff)")
    sr.add_argument("--staff", type=int, required=True)
    sr.add_argument("--role", choices=staff_sessions.ROLES, required=True)
    ic = tsub.add_parser("issue-code", help="a one-time staff app sign-in code (shown once, short-lived)")
    ic.add_argument("--office", required=True)
    ic.add_argument("--staff", type=int, required=True)
    tsub.add_parser("sessions", help="staff app device sessions of an office").add_argument("--office", required=True)
    rs = tsub.add_parser("revoke-sessions", help="end a staff member's staff app sessions (one or all) at once")
    rs.add_argument("--staff", type=int, required=True)
    rs.add_argument("--session", help="the session_id from 'staff sessions' (default: every session)")
    money_cli.add_parsers(sub)
    dispute_cli.add_parsers(sub)
    remit_cli.add_parsers(sub)
    return p


def cmd_offices(args: argparse.Namespace, config: Config) -> None:
    _print([o.to_dict() for o in load_registry().offices.values()])


def cmd_calendar(args: argparse.Namespace, config: Config) -> None:
    day = args.after or datetime.now(IRAN_TIME).date()
    print(next_working_day(day).isoformat())  # plain, for shell scripts: PDAY=$(... next-working-day)


def cmd_staff(args: argparse.Namespace, config: Config) -> None:
    async def run(redis: aioredis.Redis) -> Any:
        if args.staff_cmd == "create":
            return await create_staff(redis, load_registry(), args.office, args.name, args.role)
        if args.staff_cmd == "list":
            return await list_staff(redis, args.office)
        if args.staff_cmd == "set-role":
            return await staff_sessions.set_role(redis, args.staff, args.role)
        if args.staff_cmd == "issue-code":
            return await staff_sessions.issue_code(redis, load_registry(), load_registry().get(args.office).code,
                                                   args.staff, config.staff_code_ttl_s)
        if args.staff_cmd == "sessions":
            ids = sorted(s["staff_id"] for s in await list_staff(redis, args.office))
            return await staff_sessions.list_sessions(redis, ids)
        if args.staff_cmd == "revoke-sessions":
            return {"staff_id": args.staff, "ended": await staff_sessions.revoke_sessions(redis, args.staff,
                                                                                          args.session)}
        await revoke_staff(redis, args.staff)
        return {"staff_id": args.staff, "status": "revoked"}

    _print(_with_store(config, run))


def cmd_money(args: argparse.Namespace, config: Config) -> None:
    _print(money_cli.run(args, config.money, lambda: open_store(config)))


def cmd_disputes(args: argparse.Namespace, config: Config) -> None:
    _print(dispute_cli.run(args, config.money, lambda: open_store(config)))


def cmd_remittances(args: argparse.Namespace, config: Config) -> None:
    _print(remit_cli.run(args, config.money, lambda: open_store(config), config.redis_cluster))


COMMANDS = {"serve": cmd_serve, "up": cmd_up, "shops": cmd_shops, "offices": cmd_offices, "staff": cmd_staff,
            "calendar": cmd_calendar,
            "db": cmd_money, "ledger": cmd_money, "disputes": cmd_disputes, "remittances": cmd_remittances}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = Config.from_env()
    configure_logging(config.log_level)
    try:
        COMMANDS[args.cmd](args, config)
    except BaridError as exc:
        _print(exc.to_problem())
        return 1
    return 0
