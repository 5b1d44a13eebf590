"""What an import did, per reason, with the original row ids a studio can look up."""

from __future__ import annotations

from dataclasses import dataclass, field

SHOWN_IDS = 10  # ids printed per reason without --verbose


@dataclass
class Tally:
    count: int = 0
    refs: list[str] = field(default_factory=list)


@dataclass
class Report:
    """Counts of one import. ``keep_refs`` bounds the ids kept per reason (None: all)."""

    keep_refs: int | None = SHOWN_IDS
    read: int = 0
    loaded: int = 0
    duplicates: int = 0  # another row of the source with the same session_id was kept
    present: int = 0  # the session was already stored here (an earlier import, or live)
    # reason → rows; "rejected" rows are not stored, "changed" rows are stored with a value
    # altered by the rules, "skipped" rows are duplicates.
    rejected: dict[str, Tally] = field(default_factory=dict)
    changed: dict[str, Tally] = field(default_factory=dict)
    skipped: dict[str, Tally] = field(default_factory=dict)

    def note(self, kind: dict[str, Tally], reason: str, ref: str) -> None:
        tally = kind.setdefault(reason, Tally())
        tally.count += 1
        if self.keep_refs is None or len(tally.refs) < self.keep_refs:
            tally.refs.append(ref)

    def lines(self) -> list[str]:
        """The report as printed by ``arv-analytics import``."""
        out = [
            f"read {self.read}, loaded {self.loaded}, "
            f"skipped {self.duplicates + self.present} already present, "
            f"rejected {sum(t.count for t in self.rejected.values())}"
        ]
        for label, kind in (
            ("rejected", self.rejected),
            ("skipped", self.skipped),
            ("changed", self.changed),
        ):
            for reason, tally in sorted(kind.items()):
                out.append(f"  {label} {tally.count}: {reason}; rows {self._refs(tally)}")
        return out

    def _refs(self, tally: Tally) -> str:
        text = ", ".join(tally.refs)
        if len(tally.refs) < tally.count:
            text += f", … (first {len(tally.refs)} of {tally.count}; --verbose lists all)"
        return text
