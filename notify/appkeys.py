"""The notifications' entries in the aiohttp application (set by ``notify.web.setup`` and its context)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .policy import SmsPolicy
from .sender import SmsService
from .settings import NotifySettings

SMS = web.AppKey("sms_service", SmsService)
SMS_POLICY = web.AppKey("sms_policy", SmsPolicy)
SMS_SETTINGS = web.AppKey("sms_settings", NotifySettings)
NDR_CASES = web.AppKey("sms_ndr_cases", Any)  # the returns feature's case service: get() and act()
