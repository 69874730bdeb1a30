"""Each hidden neuron's life over training, from its status at each snapshot: dead (never active on
the target's pixel centres), always on (active on all of them: its line never crosses the picture)
or switching. Plain numpy, read by the panel and by `ginn-gl info`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ginn_gl.core.selection import locate

STATUS_NAMES = ("dead", "always-on", "switching")  # status codes 0, 1, 2; -1: not measured
VERBS = {("switching", "dead"): "died", ("always-on", "dead"): "died", ("dead", "switching"): "came back",
         ("dead", "always-on"): "came back always on", ("switching", "always-on"): "turned always on",
         ("always-on", "switching"): "started switching"}


@dataclass(frozen=True)
class Change:
    neuron: int  # flat index among the hidden neurons
    step: int
    before: str
    after: str

    def label(self, sizes: list[int]) -> str:
        layer, index = locate(sizes, self.neuron)
        return f"{layer}:{index} {VERBS.get((self.before, self.after), 'became ' + self.after)} at step {self.step:,}"


def changes(steps: np.ndarray, status: np.ndarray) -> list[Change]:
    """Every change of any neuron's status between consecutive measured snapshots, in step order.
    The first measured status of each neuron is where it starts, not a change."""
    measured = (status >= 0).all(axis=1)
    steps, status = steps[measured], status[measured]
    if len(steps) < 2:
        return []
    moved = np.argwhere(status[1:] != status[:-1])  # (snapshot - 1, neuron), ordered by snapshot
    return [Change(int(n), int(steps[i + 1]), STATUS_NAMES[status[i, n]], STATUS_NAMES[status[i + 1, n]])
            for i, n in moved]


def neuron_report(sizes: list[int], steps: np.ndarray, status: np.ndarray) -> list[dict]:
    """Per hidden neuron, in layer order: layer (1-based), index (0-based), its status at the last
    measured snapshot, and its changes as [step, status] pairs (for `info --json`)."""
    measured = np.flatnonzero((status >= 0).all(axis=1))
    final = status[measured[-1]] if len(measured) else np.full(status.shape[1], -1)
    by_neuron: dict[int, list] = {}
    for change in changes(steps, status):
        by_neuron.setdefault(change.neuron, []).append([change.step, change.after])
    report = []
    for neuron in range(status.shape[1]):
        layer, index = locate(sizes, neuron)
        report.append({"layer": layer, "index": index,
                       "status": STATUS_NAMES[final[neuron]] if final[neuron] >= 0 else "unknown",
                       "changes": by_neuron.get(neuron, [])})
    return report
