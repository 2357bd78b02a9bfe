"""Proof of delivery inside the scan path: what a ``delivered`` scan may carry, the code an ``out_for_delivery``
scan issues, and the script lines ``tracking.scans.SCAN`` runs for both (docs/pod.md).

Nothing here costs a parcel without proof of delivery a round trip: the checks run inside the one scan script,
which already reads the parcel's document for its delivering office. An ``out_for_delivery`` scan always brings
a fresh code (its hash and text) and the key to keep the text under; the script keeps them only when the parcel's
``delivery_verification`` is ``otp``. The code is issued when the parcel goes out, not at booking: the buyer
needs it that day, its text is kept only as long as the SMS needs it, and every new delivery run gets a new one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from kernel.errors import BaridError, Conflict, FieldError
from kernel.postal.text import normalize_digits
from kernel.store import keys

from .policy import POLICY, Policy
from .storage import Storage

CODE_DIGITS = 6
# Parcel hash fields the feature owns (the parcel's hash tag keeps them in the scan script's slot).
CODE_FIELD = "pod_code"  # HMAC of the current code
WRONG_FIELD = "pod_wrong"  # wrong codes so far
LOCKED_FIELD = "pod_locked"  # when the parcel locked (ISO); absent: not locked
RECORD_FIELD = "pod"  # the proof of delivery (JSON), written with the delivered scan
VERIFIED_FIELD = "pod_verified"  # how the delivery was verified: none | otp | signature
UNLOCKS_FIELD = "pod_unlocks"  # newline-joined JSON of every unlock (the audit trail beside the events)
RELATIONS = POLICY.relation_names

# Magic bytes of the image types a photo or signature may be.
_MAGIC = ((b"\xff\xd8\xff", "jpg", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "png", "image/png"))


def code_key(shop_id: int, tn: str) -> str:
    """String: the text of the parcel's current delivery code, for the buyer's SMS; expires after
    ``code_text_ttl_s``. Only its hash (``CODE_FIELD``) is kept for checking."""
    return f"{keys.tag(shop_id)}:podcode:{tn}"


def hash_code(secret: bytes, tn: str, code: str) -> str:
    return hmac.new(secret, f"pod-code|{tn}|{code}".encode(), hashlib.sha256).hexdigest()[:32]


class DeliveryCodeWrong(BaridError):
    code = "delivery_code_wrong"
    title = "The delivery code is wrong"


class DeliveryCodeRequired(BaridError):
    code = "delivery_code_required"
    title = "This parcel is delivered only against the buyer's code"


class DeliveryCodeNotIssued(Conflict):
    code = "delivery_code_not_issued"
    title = "No delivery code was issued for this parcel yet"


class DeliveryLocked(Conflict):
    code = "delivery_locked"
    title = "Too many wrong delivery codes: the parcel is locked"


class SignatureRequired(BaridError):
    code = "delivery_signature_required"
    title = "This parcel is delivered only against the receiver's signature"


@dataclass(slots=True)
class Image:
    ext: str
    content_type: str
    data: bytes

    def key(self, shop_id: int, tn: str, scan_id: str, kind: str) -> str:
        return f"{shop_id}/{tn}/{scan_id}-{kind}-{hashlib.sha256(self.data).hexdigest()[:16]}.{self.ext}"


@dataclass(slots=True)
class Delivery:
    """What a delivered scan carries beyond its event: kept in the proof of delivery, never in the event."""

    relation: str | None = None
    location: dict[str, float] | None = None
    code: str | None = None
    photo: Image | None = None
    signature: Image | None = None
    keys: dict[str, str] | None = None  # kind -> storage key, once stored


def _image(value: Any, field: str, errs: list[FieldError], policy: Policy) -> Image | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errs.append(FieldError(field, "image_invalid", "must be the image as a base64 string",
                               "تصویر باید به صورت رشتهٔ base64 فرستاده شود"))
        return None
    if value.startswith("data:"):  # a data URL, as a browser's canvas gives it
        value = value.partition(",")[2]
    if len(value) > (policy.image_max_bytes + 2) // 3 * 4 + 4:  # refused before it is decoded
        errs.append(_too_large(field, policy))
        return None
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        errs.append(FieldError(field, "image_invalid", "must be the image as a base64 string",
                               "تصویر باید به صورت رشتهٔ base64 فرستاده شود"))
        return None
    if len(data) > policy.image_max_bytes:
        errs.append(_too_large(field, policy))
        return None
    for magic, ext, ctype in _MAGIC:
        if data.startswith(magic):
            return Image(ext, ctype, data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Image("webp", "image/webp", data)
    errs.append(FieldError(field, "image_type_unsupported", "must be a JPEG, PNG or WebP image",
                           "قالب تصویر باید JPEG، PNG یا WebP باشد"))
    return None


def _too_large(field: str, policy: Policy) -> FieldError:
    return FieldError(field, "image_too_large", f"must be at most {policy.image_max_bytes} bytes",
                      f"حجم تصویر باید حداکثر {policy.image_max_bytes // 1000} کیلوبایت باشد")


def parse_delivery(raw: dict, prefix: str, errs: list[FieldError], data: dict[str, Any],
                   policy: Policy = POLICY) -> Delivery:
    """The proof-of-delivery fields of a delivered scan; the relation also goes into the event's ``data``."""
    d = Delivery()
    relation = raw.get("receiver_relation")
    if relation is not None:
        if relation not in policy.relation_names:
            errs.append(FieldError(prefix + "receiver_relation", "receiver_relation_invalid",
                                   f"must be one of {', '.join(policy.relation_names)}",
                                   "نسبت تحویل‌گیرنده با گیرنده نامعتبر است"))
        else:
            d.relation = data["receiver_relation"] = relation
    loc = raw.get("location")
    if loc is not None:
        from booking.validation import LAT_RANGE, LON_RANGE  # the booking's own box: one definition of Iran

        out = {}
        for axis, (lo, hi) in (("lat", LAT_RANGE), ("lon", LON_RANGE)):
            v = loc.get(axis) if isinstance(loc, dict) else None
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
                errs.append(FieldError(f"{prefix}location.{axis}", "location_invalid",
                                       f"must be a number within Iran ({lo}..{hi})",
                                       "مختصات محل تحویل باید عددی در محدودهٔ ایران باشد"))
            else:
                out[axis] = float(v)
        d.location = out if len(out) == 2 else None
    code = raw.get("delivery_code")
    if code is not None:
        text = normalize_digits(code) if isinstance(code, str) else ""
        if len(text) != CODE_DIGITS or not text.isascii() or not text.isdigit():
            errs.append(FieldError(prefix + "delivery_code", "delivery_code_invalid",
                                   f"must be the buyer's {CODE_DIGITS}-digit code",
                                   "رمز تحویل باید عددی ۶ رقمی باشد که خریدار دریافت کرده است"))
        else:
            d.code = text
    d.photo = _image(raw.get("photo"), prefix + "photo", errs, policy)
    d.signature = _image(raw.get("signature"), prefix + "signature", errs, policy)
    return d


class PodScans:
    """The feature's part of a ScanService: its secret, its image storage and its policy."""

    def __init__(self, secret: bytes, storage: Storage, policy: Policy = POLICY,
                 secret_loader: Callable[[], Awaitable[bytes]] | None = None) -> None:
        self.secret = secret
        self.storage = storage
        self.policy = policy
        self.secret_loader = secret_loader

    async def ready(self) -> None:
        """Loads the secret on first use (not at startup: the gateway starts, and answers 503, without a store)."""
        if not self.secret and self.secret_loader is not None:
            self.secret = await self.secret_loader()
            if hasattr(self.storage, "secret"):
                self.storage.secret = self.secret

    def issue(self, tn: str) -> tuple[str, str]:
        """(hash, text) of a fresh code."""
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        return hash_code(self.secret, tn, code), code

    def delivered_extra(self, tn: str, d: Delivery | None) -> str:
        """The scan row's extra for a delivered scan: "<code hash>:<1 if it carries a signature>"."""
        if d is None:
            return ":0"
        return f"{hash_code(self.secret, tn, d.code) if d.code else ''}:{'1' if d.signature else '0'}"

    async def store_images(self, shop_id: int, tn: str, scan_id: str, d: Delivery) -> None:
        d.keys = {}
        for kind, image in (("photo", d.photo), ("signature", d.signature)):
            if image is not None:
                key = image.key(shop_id, tn, scan_id, kind)
                await self.storage.put(key, image.data, image.content_type)
                d.keys[kind] = key

    async def drop_images(self, d: Delivery) -> None:
        for key in (d.keys or {}).values():
            await self.storage.delete(key)


# The gateway's PodScans, set by ``pod.web.setup``; tracking's scan service takes it from here at startup.
POD_SCANS = web.AppKey("pod_scans", PodScans)


def record_json(d: Delivery | None, *, scan_id: str, occurred_at: str, office: str, staff_id: int,
                staff_name: str, receiver_name: str) -> bytes:
    """The proof of delivery the script stores with the delivered scan (no raw newline: orjson escapes them)."""
    d = d or Delivery()
    images = d.keys or {}
    return orjson.dumps({"scan_id": scan_id, "delivered_at": occurred_at, "office": office, "staff_id": staff_id,
                         "staff_name": staff_name, "receiver_name": receiver_name, "receiver_relation": d.relation,
                         "location": d.location, "photo": images.get("photo"),
                         "signature": images.get("signature")})


# Lua, inside SCAN's ``one()`` once a delivered scan passed every other rule and before anything is written:
# the parcel's verification (from its document) decides what the scan must carry. ``extra`` is delivered_extra's,
# the proof of delivery follows the event's tail after a newline. A wrong code is counted at once; the one that
# reaches the limit locks the parcel and tells the shop (a ``delivery_locked`` event). Sets ``pod`` and
# ``verified`` for the writes that follow.
CHECK = r"""
  if ev == 'delivered' then
    local nl = find(tail, '\n', 1, true)
    if nl then pod = sub(tail, nl + 1); tail = sub(tail, 1, nl - 1) end
    verified = doc_field(kp, 'delivery_verification') or 'none'
    if verified ~= 'none' then
      local c = redis.call('HMGET', kp, '""" + CODE_FIELD + "', '" + WRONG_FIELD + "', '" + LOCKED_FIELD + r"""')
      if c[3] then return 'POD_LOCKED', c[2] or '', '' end
      local colon = find(extra, ':', 1, true) or (#extra + 1)
      if verified == 'otp' then
        local given = sub(extra, 1, colon - 1)
        if given == '' then return 'POD_CODE_REQUIRED', '', '' end
        if not c[1] then return 'POD_NO_CODE', '', '' end
        if given ~= c[1] then
          local wrong = redis.call('HINCRBY', kp, '""" + WRONG_FIELD + r"""', 1)
          if wrong < """ + str(POLICY.max_wrong_codes) + r""" then return 'POD_WRONG', tostring(wrong), '' end
          local lseq = tostring(tonumber(p[2]) + 1)
          redis.call('HSET', kp, 'seq', lseq, '""" + LOCKED_FIELD + r"""', recorded)
          local e = '{"id":"evt_' .. tn .. '_' .. lseq .. '","type":"delivery_locked","tracking_number":"' .. tn
            .. '","shop_id":' .. shop .. ',"status":"' .. status .. '","occurred_at":"' .. recorded
            .. '","recorded_at":"' .. recorded .. '","office":"' .. sub(tail, 13, find(tail, '"', 13, true) - 1)
            .. '","data":{"wrong_codes":' .. wrong .. '}}'
          outbox_add(KEYS[1], shop, tn, e)
          feed_add(KEYS[2], e)
          return 'POD_LOCKED', tostring(wrong), 'now'
        end
      elseif sub(extra, colon + 1) ~= '1' then
        return 'POD_SIGNATURE_REQUIRED', '', ''
      end
    end
  end
"""

# Lua, among SCAN's writes: the proof of delivery of a delivered scan, and the code an out_for_delivery scan of an
# ``otp`` parcel issues ("<hash>:<text>:<KEYS index of code_key>" in ``extra``).
WRITE = r"""
  if pod then
    h[#h + 1] = '""" + RECORD_FIELD + r"""'; h[#h + 1] = pod
    h[#h + 1] = '""" + VERIFIED_FIELD + r"""'; h[#h + 1] = verified
  elseif ev == 'out_for_delivery' and new_status == 'out_for_delivery' and extra ~= ''
      and doc_field(kp, 'delivery_verification') == 'otp' then
    local a = find(extra, ':', 1, true)
    local b = find(extra, ':', a + 1, true)
    h[#h + 1] = '""" + CODE_FIELD + r"""'; h[#h + 1] = sub(extra, 1, a - 1)
    redis.call('SET', KEYS[tonumber(sub(extra, b + 1))], sub(extra, a + 1, b - 1), 'PX', """ + str(
    POLICY.code_text_ttl_s * 1000) + r""")
  end
"""


def result(verdict: bytes, detail: bytes, flag: bytes, tn: str, policy: Policy = POLICY) -> BaridError:
    """The error of a POD_* verdict of the scan script."""
    if verdict == b"POD_WRONG":
        left = policy.max_wrong_codes - int(detail)
        return DeliveryCodeWrong(
            f"the delivery code of {tn} is wrong; {left} more wrong code(s) lock the parcel",
            f"رمز تحویل مرسولهٔ {tn} نادرست است؛ با {left} بار دیگر رمز نادرست، تحویل این مرسوله قفل می‌شود",
            extra={"attempts_left": left})
    if verdict == b"POD_LOCKED":
        return DeliveryLocked(
            f"{tn} is locked after {policy.max_wrong_codes} wrong delivery codes; a supervisor of the delivering "
            "office must unlock it", f"تحویل مرسولهٔ {tn} پس از {policy.max_wrong_codes} بار رمز نادرست قفل شده "
            "است؛ سرپرست ادارهٔ توزیع‌کننده باید آن را باز کند", extra={"locked_now": flag == b"now"})
    if verdict == b"POD_CODE_REQUIRED":
        return DeliveryCodeRequired(f"{tn} is delivered only against the buyer's code: send delivery_code",
                                    f"مرسولهٔ {tn} فقط با رمزی که برای خریدار پیامک شده تحویل می‌شود؛ "
                                    "delivery_code را بفرستید")
    if verdict == b"POD_NO_CODE":
        return DeliveryCodeNotIssued(f"no delivery code was issued for {tn}: scan out_for_delivery first, which "
                                     "sends the buyer one", f"برای مرسولهٔ {tn} هنوز رمز تحویل صادر نشده است؛ "
                                     "نخست اسکن «تحویل به نامه‌رسان» را ثبت کنید تا رمز برای خریدار فرستاده شود")
    if verdict == b"POD_SIGNATURE_REQUIRED":
        return SignatureRequired(f"{tn} is delivered only against the receiver's signature: send signature",
                                 f"مرسولهٔ {tn} فقط با امضای تحویل‌گیرنده تحویل می‌شود؛ تصویر امضا را بفرستید")
    raise RuntimeError(f"unexpected POD verdict {verdict!r}")
