"""ZPL labels per second, an earlier ``handover/labels.py`` against this checkout's, in one process, alternating,
every cache cleared before each pass (so each label's new receiver name and house number are new words):

    .venv/bin/python bench/zpl_ab.py --before bb9eecd [--labels 400] [--rounds 4]

The earlier module is read from git (``git show <rev>:handover/labels.py``) and imported beside this checkout's
handover package; it must be one that renders its own ZPL text (main before the ZPL work, bb9eecd, is).
Rates are CPU time of one core; both sides render the same labels, so load on the machine hits both alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import handover.labels as now  # noqa: E402
import handover.pdftext as pdftext  # noqa: E402
from bench.label_bench import _labels, per_second  # noqa: E402


def _earlier(rev: str):
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:handover/labels.py"], check=True,
                            capture_output=True, text=True).stdout
    source = source.replace("from .", "from handover.").replace(
        'Path(__file__).with_name("fonts")', f"Path({str(ROOT / 'handover' / 'fonts')!r})")
    path = Path(tempfile.mkdtemp()) / "labels_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("labels_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["labels_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _clear(*modules) -> None:
    for module in modules:
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, help="a git revision of handover/labels.py")
    ap.add_argument("--labels", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    before = _earlier(args.before)
    import handover.zpltext as zpltext

    labels = _labels(args.labels * 2)[args.labels:]
    rates: dict[str, list[float]] = {"before": [], "now": []}
    for _ in range(args.rounds):
        for name, module in (("before", before), ("now", now)):
            _clear(before, now, zpltext, pdftext)
            rates[name].append(per_second(lambda lb, m=module: m.render_zpl([lb], "100x150"), labels))
    for name, values in rates.items():
        size = len(getattr(before if name == "before" else now, "render_zpl")(labels[:1], "100x150"))
        print(f"{name}: {', '.join(f'{v:,.0f}' for v in values)} labels/s per core "
              f"(median {statistics.median(values):,.0f}); a label {size / 1000:.1f} KB")


if __name__ == "__main__":
    main()
