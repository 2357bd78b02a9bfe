"""Remittances: what the post owes a shop for one payout day, line by line, and where that payment stands.

Pure domain, no storage: a later persistence layer (the PostgreSQL ledger) feeds it settled lines and stores
what it returns. The remittance id is derived from the shop and the payout day, so running the computation
twice yields the same id, and a UNIQUE constraint on it makes "running twice never pays twice" the database's
promise rather than the caller's care.

Amounts are integer rials throughout: a line's net is what was collected less every fee, to the rial.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from kernel.errors import BaridError, Conflict

from .policy import Cycle
from .settlement import WorkingDay, payout_date

FEE_KINDS = ("shipping", "cod_fee", "insurance", "vat")

SCHEDULED, SENT, PAID, FAILED, HELD = "scheduled", "sent", "paid", "failed", "held"
STATUSES = (SCHEDULED, SENT, PAID, FAILED, HELD)
# The allowed moves. A failed transfer goes back to due (scheduled again, for the next file); a held one is
# released to scheduled when its dispute is resolved or the account verified; paid is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    SCHEDULED: frozenset((SENT, HELD)),
    HELD: frozenset((SCHEDULED,)),
    SENT: frozenset((PAID, FAILED)),
    FAILED: frozenset((SCHEDULED,)),
    PAID: frozenset(),
}
STATUS_FA = {SCHEDULED: "زمان‌بندی‌شده", SENT: "ارسال‌شده به بانک", PAID: "پرداخت‌شده", FAILED: "ناموفق",
             HELD: "متوقف"}
HOLD_UNVERIFIED_ACCOUNT, HOLD_DISPUTE = "unverified_account", "open_dispute"


class RemittanceTransitionInvalid(Conflict):
    code = "remittance_transition_invalid"
    title = "Remittance cannot move to that status"


class RemittanceLineInvalid(BaridError):
    code = "remittance_line_invalid"
    title = "Settled line is not valid"


@dataclass(frozen=True, slots=True)
class Line:
    """One delivered COD parcel in a remittance: what was collected, each fee the post keeps, and the net."""

    tracking_number: str
    delivered_at: str  # ISO 8601 with a zone
    collected: int
    shipping: int = 0
    cod_fee: int = 0
    insurance: int = 0
    vat: int = 0

    def __post_init__(self) -> None:
        c, s, f, i, v = self.collected, self.shipping, self.cod_fee, self.insurance, self.vat
        if (type(c) is int and type(s) is int and type(f) is int and type(i) is int and type(v) is int
                and min(c, s, f, i, v) >= 0):  # the usual case, checked at once: a run makes a million lines
            return
        for name in ("collected", *FEE_KINDS):
            v = getattr(self, name)
            if type(v) is not int or v < 0:
                raise RemittanceLineInvalid(f"{self.tracking_number}: {name} must be a whole, non-negative rial "
                                            f"amount, not {v!r}",
                                            "مبلغ‌های هر ردیف تسویه باید به ریال، صحیح و نامنفی باشند")

    @property
    def fees(self) -> int:
        return self.shipping + self.cod_fee + self.insurance + self.vat

    @property
    def net(self) -> int:
        return self.collected - self.fees

    def to_dict(self) -> dict[str, object]:
        return {"tracking_number": self.tracking_number, "delivered_at": self.delivered_at,
                "collected": self.collected, **{k: getattr(self, k) for k in FEE_KINDS}, "fees": self.fees,
                "net": self.net}


def remittance_id(shop_id: int, period: date) -> str:
    """Deterministic: the same shop and payout day always name the same remittance."""
    digest = hashlib.sha256(f"barid-remittance:{shop_id}:{period.isoformat()}".encode()).hexdigest()
    return f"rem_{period.strftime('%Y%m%d')}_{shop_id}_{digest[:12]}"


@dataclass(frozen=True, slots=True)
class Remittance:
    id: str
    shop_id: int
    period: date  # the payout day
    lines: tuple[Line, ...]
    status: str = SCHEDULED
    hold_reason: str | None = None
    bank_ref: str | None = None
    history: tuple[str, ...] = field(default=())  # the statuses it went through, oldest first

    @property
    def total(self) -> int:
        return sum(line.net for line in self.lines)

    @property
    def collected(self) -> int:
        return sum(line.collected for line in self.lines)

    def fee_totals(self) -> dict[str, int]:
        return {k: sum(getattr(line, k) for line in self.lines) for k in FEE_KINDS}

    def move(self, status: str, *, hold_reason: str | None = None, bank_ref: str | None = None) -> Remittance:
        """The remittance in its next status; a move the state machine does not allow is a 409."""
        if status not in TRANSITIONS.get(self.status, ()):
            raise RemittanceTransitionInvalid(
                f"remittance {self.id} is {self.status}; it cannot become {status}",
                f"حوالهٔ {self.id} در وضعیت «{STATUS_FA[self.status]}» است و نمی‌تواند «{STATUS_FA.get(status, status)}» شود",
                extra={"remittance_id": self.id, "remittance_status": self.status, "requested": status})
        return replace(self, status=status, history=(*self.history, self.status),
                       hold_reason=hold_reason if status == HELD else None,
                       bank_ref=bank_ref if status == PAID else self.bank_ref)

    def to_dict(self) -> dict[str, object]:
        return {"remittance_id": self.id, "shop_id": self.shop_id, "period": self.period.isoformat(),
                "status": self.status, "hold_reason": self.hold_reason, "bank_ref": self.bank_ref,
                "count": len(self.lines), "collected": self.collected, "fees": self.fee_totals(),
                "total": self.total}


@dataclass(frozen=True, slots=True)
class RunResult:
    """One shop's outcome of a run: the remittance (None when nothing is paid this time) and the due lines
    that roll over to the next payout day because their total is under the minimum."""

    remittance: Remittance | None
    rolled_over: tuple[Line, ...] = ()
    waiting: tuple[Line, ...] = ()  # not yet due on this day


def make_remittance(shop_id: int, lines: Iterable[Line], as_of: date, cycle: Cycle, is_working_day: WorkingDay,
                    *, account_verified: bool = True, disputed: Sequence[str] = ()) -> RunResult:
    """The shop's remittance for a run on ``as_of``: every settled, not yet remitted line whose payout day has
    come (lines rolled over from earlier days included), dated ``as_of``. Under the cycle's minimum the lines
    roll over and no remittance is made; an unverified account or a line under an open dispute holds it."""
    due, waiting = [], []
    for line in lines:
        (due if payout_date(line.delivered_at, cycle, is_working_day) <= as_of else waiting).append(line)
    due.sort(key=lambda x: (x.delivered_at, x.tracking_number))  # a stable order: the same run, the same file
    if not due or sum(x.net for x in due) < max(cycle.minimum_payout_rial, 1):
        return RunResult(None, tuple(due), tuple(waiting))
    rem = Remittance(remittance_id(shop_id, as_of), shop_id, as_of, tuple(due))
    if not account_verified:
        rem = rem.move(HELD, hold_reason=HOLD_UNVERIFIED_ACCOUNT)
    elif set(disputed) & {x.tracking_number for x in due}:
        rem = rem.move(HELD, hold_reason=HOLD_DISPUTE)
    return RunResult(rem, (), tuple(waiting))
