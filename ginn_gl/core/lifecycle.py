"""Each hidden neuron's life over training, from its status at each snapshot: dead (never active on
the target's pixel centres), always on (active on all of them: its line never crosses the picture)
or switching. Plain numpy, read by the panel, `render` and `ginn-gl info`."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from ginn_gl.core.selection import locate


class NeuronStatus(enum.IntEnum):
    """A hidden neuron's status at a snapshot, as stored (int8) in histories and run files."""

    UNMEASURED = -1
    DEAD = 0
    ALWAYS_ON = 1
    SWITCHING = 2

    @property
    def label(self) -> str:
        """The one spelling of the status, in the panel, `info` and `info --json` alike."""
        return LABELS[self]

    @property
    def meaning(self) -> str:
        return MEANINGS[self]


LABELS = {NeuronStatus.UNMEASURED: "not measured", NeuronStatus.DEAD: "dead", NeuronStatus.ALWAYS_ON: "always on",
          NeuronStatus.SWITCHING: "switching"}
MEANINGS = {NeuronStatus.UNMEASURED: "not measured yet",
            NeuronStatus.DEAD: "never active on the picture",
            NeuronStatus.ALWAYS_ON: "active on the whole picture, so its line never crosses it",
            NeuronStatus.SWITCHING: "its line crosses the picture"}
MEASURED = (NeuronStatus.DEAD, NeuronStatus.ALWAYS_ON, NeuronStatus.SWITCHING)
VERBS = {(NeuronStatus.SWITCHING, NeuronStatus.DEAD): "died", (NeuronStatus.ALWAYS_ON, NeuronStatus.DEAD): "died",
         (NeuronStatus.DEAD, NeuronStatus.SWITCHING): "came back",
         (NeuronStatus.DEAD, NeuronStatus.ALWAYS_ON): "came back always on",
         (NeuronStatus.SWITCHING, NeuronStatus.ALWAYS_ON): "turned always on",
         (NeuronStatus.ALWAYS_ON, NeuronStatus.SWITCHING): "started switching"}


def status_from_counts(active: np.ndarray, total: int) -> np.ndarray:
    """Statuses (int8) from how many of `total` places each neuron is active at."""
    status = np.full(np.shape(active), NeuronStatus.SWITCHING, dtype=np.int8)
    status[np.asarray(active) == 0] = NeuronStatus.DEAD
    status[np.asarray(active) == total] = NeuronStatus.ALWAYS_ON
    return status


@dataclass(frozen=True)
class Change:
    neuron: int  # flat index among the hidden neurons
    step: int
    before: NeuronStatus
    after: NeuronStatus

    def label(self, sizes: list[int]) -> str:
        layer, index = locate(sizes, self.neuron)
        verb = VERBS.get((self.before, self.after), "became " + self.after.label)
        return f"{layer}:{index} {verb} at step {self.step:,}"


def changes(steps: np.ndarray, status: np.ndarray) -> list[Change]:
    """Every change of any neuron's status between consecutive measured snapshots, in step order.
    The first measured status of each neuron is where it starts, not a change."""
    measured = (status >= 0).all(axis=1)
    steps, status = steps[measured], status[measured]
    if len(steps) < 2:
        return []
    moved = np.argwhere(status[1:] != status[:-1])  # (snapshot - 1, neuron), ordered by snapshot
    return [Change(int(n), int(steps[i + 1]), NeuronStatus(int(status[i, n])), NeuronStatus(int(status[i + 1, n])))
            for i, n in moved]


def neuron_report(sizes: list[int], steps: np.ndarray, status: np.ndarray) -> list[dict[str, object]]:
    """Per hidden neuron, in layer order: layer (1-based), index (0-based), its status at the last
    measured snapshot, and its changes as [step, status] pairs (for `info --json`)."""
    measured = np.flatnonzero((status >= 0).all(axis=1))
    final = status[measured[-1]] if len(measured) else np.full(status.shape[1], NeuronStatus.UNMEASURED)
    by_neuron: dict[int, list[list[object]]] = {}
    for change in changes(steps, status):
        by_neuron.setdefault(change.neuron, []).append([change.step, change.after.label])
    report: list[dict[str, object]] = []
    for neuron in range(status.shape[1]):
        layer, index = locate(sizes, neuron)
        report.append({"layer": layer, "index": index, "status": NeuronStatus(int(final[neuron])).label,
                       "changes": by_neuron.get(neuron, [])})
    return report


def status_counts(status: np.ndarray) -> dict[NeuronStatus, int]:
    """How many neurons have each measured status."""
    return {kind: int((np.asarray(status) == kind).sum()) for kind in MEASURED}
