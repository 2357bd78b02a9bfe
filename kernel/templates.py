"""Pages and documents: one Jinja2 environment per feature package, autoescaped, with the Persian formatters.

Every page, sheet and printable document renders through here, so escaping is never done by hand and the
digits, amounts and Jalali dates come from ``kernel.postal`` (one formatter each).
"""

from __future__ import annotations

from functools import lru_cache

import jinja2

from kernel.postal.text import fa_decimal, fa_digits, fa_rials, tel_href
from kernel.postal.timeutil import jalali_datetime, jalali_long, jalali_short


@lru_cache(maxsize=None)
def environment(package: str) -> jinja2.Environment:
    """The environment of ``package``'s ``templates/`` directory (built once per process)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader(package, "templates"),
                             autoescape=jinja2.select_autoescape(("html", "xml"), default_for_string=True),
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fa_digits=fa_digits, fa_decimal=fa_decimal, fa_rials=fa_rials,
                       jalali_datetime=jalali_datetime, jalali_long=jalali_long, jalali_short=jalali_short,
                       tel_href=tel_href)
    return env


def render(package: str, name: str, **context: object) -> str:
    return environment(package).get_template(name).render(**context)
