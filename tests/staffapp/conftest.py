"""Staff app fixtures: the real gateway app (tracking's test settings), staff of two offices, sign-in helpers."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kernel.postal.offices import load_registry
from kernel.store import keys
from staffapp import sessions
from tests.tracking.conftest import book, client, tcfg  # noqa: F401  (fixtures shared with tracking's tests)
from tracking.staff import create_staff

OFFICE_A = "THR-01"
OFFICE_B = "IFN-01"


@dataclass
class Member:
    staff_id: int
    office: str
    bearer: dict[str, str]


@pytest.fixture(autouse=True)
async def fresh_sign_in_budget(redis):
    """Every test client is 127.0.0.1, whose failed sign-ins the whole session shares (the OpenAPI fuzzer sends
    wrong codes too): each staff app test starts with that address's budget whole."""
    await redis.delete(keys.staff_sign_in_rate(sessions._client("127.0.0.1")))


@pytest.fixture
def make_member(redis):
    async def make(office: str, role: str = "staff") -> Member:
        made = await create_staff(redis, load_registry(), office, f"کارمند {office}")
        if role != "staff":
            await sessions.set_role(redis, made["staff_id"], role)
        return Member(made["staff_id"], office, {"Authorization": f"Bearer {made['token']}"})

    return make


@pytest.fixture
def sign_in(client, redis):  # noqa: F811
    """A session of ``member``: (cookie header, csrf token), through a code and the sign-in route."""
    async def sign_in(member: Member) -> tuple[dict[str, str], str]:
        code = (await sessions.issue_code(redis, load_registry(), member.office, member.staff_id, 600))["code"]
        resp = await client.post("/staff/api/sign-in", json={"staff_id": member.staff_id, "code": code})
        assert resp.status == 201, await resp.text()
        morsel = resp.cookies[sessions.COOKIE]
        client.session.cookie_jar.clear()  # each test sends the cookie it means to, explicitly
        return {"Cookie": f"{sessions.COOKIE}={morsel.value}"}, (await resp.json())["csrf_token"]

    return sign_in
