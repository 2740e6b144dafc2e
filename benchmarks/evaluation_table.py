"""Print docs/evaluation.md's summary table: every metric against its target, per tier.

Usage::

    tessera evaluate WS_SMALL --truth SIM_SMALL --json > small.json
    tessera evaluate WS_DISTRICT --truth SIM_DISTRICT --json > district.json
    python benchmarks/evaluation_table.py small=small.json district=district.json

Targets are the issues' (each for the ``district`` tier, shown beside every tier);
metrics without a target are listed for completeness. Counts (``.people``,
``.reads``...) are left out; a metric a tier lacks prints as ``-``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# metric -> (target, which way): ">=" or "<="
TARGETS: dict[str, tuple[float, str]] = {
    "resolution.person.pairwise_f1": (0.98, ">="),
    "resolution.person.bcubed_f1": (0.98, ">="),
    "resolution.vehicle.pairwise_f1": (0.97, ">="),
    "resolution.vehicle.bcubed_f1": (0.97, ">="),
    "resolution.subscription.pairwise_f1": (0.97, ">="),
    "resolution.subscription.bcubed_f1": (0.97, ">="),
    "linking.device_person.f1": (0.97, ">="),
    "linking.vehicle_person.f1": (0.95, ">="),
    "linking.second_phone.precision": (0.90, ">="),
    "linking.second_phone.recall": (0.90, ">="),
    "linking.device_swap.precision": (0.90, ">="),
    "linking.device_swap.recall": (0.90, ">="),
    "linking.misread.accuracy": (0.98, ">="),
    "life.home.accuracy_300m": (0.97, ">="),
    "life.work.accuracy_300m": (0.93, ">="),
    "life.stay_time_agreement": (0.90, ">="),
    "network.meeting.f1": (0.90, ">="),
    "network.tie.auc": (0.90, ">="),
    "network.community.nmi": (0.80, ">="),
}
COUNT_SUFFIXES = (
    ".people",
    ".reads",
    ".records",
    ".true_pairs",
    ".devices",
    ".detected",
    ".true",
    ".found",
    ".matched_true",
    ".positives",
    ".observable",
    ".unobservable",
    ".rows",
    ".stated",
)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(tiers: dict[str, dict[str, float]]) -> str:
    names = sorted(
        {n for m in tiers.values() for n in m if not n.endswith(COUNT_SUFFIXES)} | set(TARGETS)
    )
    names.sort(key=lambda n: (n not in TARGETS, n))
    head = ["metric", "target", *tiers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in names:
        target = TARGETS.get(n)
        cells = [f"`{n}`", f"{target[1]} {target[0]:.2f}" if target else ""]
        for metrics in tiers.values():
            v = metrics.get(n)
            cell = _fmt(v)
            if target is not None and v is not None:
                met = v >= target[0] if target[1] == ">=" else v <= target[0]
                cell = f"**{cell}**" if met else f"{cell} (not met)"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or any("=" not in a for a in argv):
        print(__doc__, file=sys.stderr)
        return 2
    tiers = {}
    for arg in argv:
        tier, _, path = arg.partition("=")
        tiers[tier] = {k: float(v) for k, v in json.loads(Path(path).read_text()).items()}
    print(table(tiers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
