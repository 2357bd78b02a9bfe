"""A printable route sheet for one postman, in Persian (RTL), with the Jalali date; it reads on a phone too.

The page has no script and one ``<style>`` element, allowed by its hash in ``SHEET_CSP`` (served with the sheet).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date

from kernel import templates

from .errors import PlanNotFound

STYLE = """
body { font-family: Vazirmatn, Tahoma, sans-serif; margin: 1.5cm; color: #111; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
.meta { margin-bottom: 1em; line-height: 1.8; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { border: 1px solid #555; padding: 4px 6px; vertical-align: top; }
th { background: #eee; }
td.num, td.code { direction: ltr; text-align: center; unicode-bidi: embed; }
.sign { margin-top: 2em; display: flex; justify-content: space-between; }
td.cod { white-space: nowrap; }
a[href^="tel:"] { direction: ltr; unicode-bidi: embed; white-space: nowrap; }
.note { font-size: .85em; color: #555; }
tr.pickup td { background: #eef6ee; }
.kind { font-weight: bold; border: 1px solid #2a7a2a; border-radius: .3em; padding: 0 .3em; color: #1d5e1d; }
@media print { body { margin: 1cm; } tr { page-break-inside: avoid; } }
@media screen and (max-width: 700px) {
  body { margin: .5em; font-size: 1.05em; }
  thead { display: none; }
  table, tbody, tr, td { display: block; width: auto; }
  tr { border: 1px solid #555; margin-bottom: .8em; padding: .3em; }
  td { border: none; padding: 3px 4px; text-align: right; }
  td.num, td.code { text-align: right; }
  td::before { content: attr(data-label) ": "; font-weight: bold; }
  td.signature { min-height: 2.5em; }
  a[href^="tel:"] { display: inline-block; padding: .4em .6em; border: 1px solid #06c; border-radius: .4em; }
}
"""
# The page's only style, allowed by its hash; nothing else may load or run (no script at all).
SHEET_CSP = ("default-src 'none'; style-src 'sha256-"
             + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
             + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def render_route_sheet(plan: dict, postman_index: int) -> str:
    """HTML for postman ``postman_index`` (0-based) of a plan from ``plan_office_day``."""
    postmen = plan.get("postmen", [])
    if not 0 <= postman_index < len(postmen):
        raise PlanNotFound(f"the plan has no postman {postman_index + 1} (it has {len(postmen)})")
    postman = postmen[postman_index]
    # pickups (routing.pickups) are rows of their own, marked «جمع‌آوری»
    pickups = [s for s in postman["stops"] if s.get("kind") == "pickup"]
    return templates.render("routing", "route_sheet.html", style=STYLE, office=plan["office"],
                            day=date.fromisoformat(plan["date"]), postman=postman,
                            parcel_count=sum(len(s["parcels"]) for s in postman["stops"]), pickups=len(pickups),
                            pickup_parcels=sum(s["pickup"]["expected_count"] for s in pickups))
