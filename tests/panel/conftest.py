"""Panel fixtures: a shop with panel users, and aiohttp clients signed in through the real sign-in form."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from kernel.settings import Config, PanelConfig
from panel.accounts import Accounts

PASSWORD = "correct horse battery"
_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def new_mobile() -> str:
    """A mobile nobody has used in this store (an account is one per mobile, and the store lives all session)."""
    return "0912" + "".join(random.choices("0123456789", k=7))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # Sign-ins are many and all from 127.0.0.1: a generous budget here; the limit's own test sets its own.
    return Config(data_dir=tmp_path, access_log=False, panel=PanelConfig(login_burst=1000, login_period_s=0.01))


@pytest.fixture
def add_user(redis):
    async def add(shop_id: int, role: str = "owner", password: str = PASSWORD) -> str:
        mobile = new_mobile()
        await Accounts(redis).add(shop_id, mobile, role, password)
        return mobile

    return add


async def sign_in(client, mobile: str, password: str = PASSWORD):
    """Sign in with the form as a browser does; returns (the answer, the session's CSRF token or None)."""
    form = await client.get("/shop/login")
    token = _CSRF_FIELD.search(await form.text()).group(1)
    answer = await client.post("/shop/login", data={"mobile": mobile, "password": password, "csrf": token},
                               allow_redirects=False)
    if answer.status != 303:
        return answer, None
    page = await client.get("/shop/parcels")
    return answer, _CSRF_META.search(await page.text()).group(1)
