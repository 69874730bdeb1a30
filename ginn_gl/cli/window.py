"""The window's commands (`live`, the default, and `replay`) and the runs the window starts itself.

Every way out of the window ends the same way: the window closes at once, then every run it trained is
ended and saved by its trainer (Trainer.finish), parents before their branches; a failure inside the
window is reported in one line after that, its traceback in a log file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
from datetime import datetime
from pathlib import Path

from ginn_gl.cli.arguments import config_from_args, window_options
from ginn_gl.cli.commands import PROG, image_label, prepare_process, report_finished, run_paths
from ginn_gl.cli.progress import ProgressBar
from ginn_gl.core.config import TrainConfig
from ginn_gl.core.errors import UserError
from ginn_gl.core.experiment import BranchPoint
from ginn_gl.core.outputs import absolute, free_name, write_atomically
from ginn_gl.core.pace import pace_label, parse_pace
from ginn_gl.core.progress import Saving, State
from ginn_gl.core.runfile import load_side_by_side, printable
from ginn_gl.core.signals import SignalGuard
from ginn_gl.core.sources import load_target
from ginn_gl.core.targets import Target
from ginn_gl.core.view import MAX_CELLS
from ginn_gl.ui.session import Entry, Session, Track


class WindowRuns:
    """Makes the window's training runs (RunMaker): a trainer, a cell per seed, and where the run is saved:
    the first where --save says (checked before the window opened), the others numbered beside it."""

    def __init__(self, args: argparse.Namespace, pace: float | None, first: list[Path]):
        self.args, self.pace, self.first = args, pace, first
        self.made = 0

    @property
    def saves(self) -> bool:
        return not self.args.no_save

    def saving(self, config: TrainConfig, replacing: Entry | None) -> Saving | None:
        if not self.saves:
            return None
        if replacing is not None and replacing.saving is not None and replacing.config is not None \
                and replacing.config.seeds == config.seeds:
            return replacing.saving  # a restart takes the place, and the name, of the run it replaces
        if self.made == 0 and self.first:
            return Saving(tuple(self.first), self.args.overwrite)
        if self.args.save is None:
            out = None
        else:  # numbered beside --save: runs/x.npz, runs/x-2.npz, ...
            given = Path(self.args.save)
            stem = given.name[:-4] if given.name.endswith(".npz") else given.name
            out = str(free_name(given.with_name(f"{stem}-{self.made + 1}.npz")))
        try:
            return Saving(tuple(run_paths(out, config.image, config.seeds, False, "--save", config.at)), False)
        except UserError:  # a name taken since: the next free one, never over a file
            return Saving(tuple(free_name(path) for path in run_paths(out, config.image, config.seeds, True,
                                                                     "--save", config.at)), False)

    def new(self, config: TrainConfig, target: Target | None = None, branch: BranchPoint | None = None,
            parent: Entry | None = None, replacing: Entry | None = None) -> Entry:
        """A run of `config` (on `target`, or the one it names), not started; a branch starts from `branch`."""
        from ginn_gl.train.trainer import Trainer

        target = target or load_target(config.image, config.resolution, config.threshold)
        trainer = Trainer(config, target, pace=self.pace, branch=branch)
        name = "" if self.made == 0 else f"run {self.made + 1}: "  # later runs tell themselves apart
        origin = f", from step {branch.step:,}" if branch is not None else ""
        tracks = [Track(history, target.pixels, config.sizes, config.activation, seed, f"{name}seed {seed}{origin}")
                  for seed, history in zip(config.seeds, trainer.histories)]
        entry = Entry(tracks, trainer, config, self.saving(config, replacing), parent,
                      label=f"{image_label(config.image)}, seed{'s' if len(config.seeds) > 1 else ''} "
                            f"{','.join(map(str, config.seeds))}")
        self.made += 1
        return entry


def training_session(config: TrainConfig, target: Target, pace: float | None = None,
                     runs: WindowRuns | None = None) -> Session:
    """A window session training `config`'s seeds together, each in a cell (for tests: no saving unless `runs`)."""
    maker = runs or WindowRuns(argparse.Namespace(no_save=True, save=None, overwrite=False), pace, [])
    first = maker.new(config, target)
    assert first.trainer is not None
    return Session([first], device=f"training on {getattr(first.trainer, 'device', 'cpu')}", maker=maker)


def finish_all(session: Session, guard: SignalGuard | None, wait: bool = True) -> list:
    """End and save every run the window trained, parents first: a branch's meta names its parent's file."""
    notes = ProgressBar(1)  # its note(): a line rewritten in place on a terminal, written once elsewhere
    results = []
    trained = [entry for entry in session.runs if entry.trainer is not None]
    for k, entry in enumerate(trained):
        assert entry.trainer is not None
        if entry.parent is not None and entry.parent.saved and hasattr(entry.trainer, "set_parent_file"):
            entry.trainer.set_parent_file(entry.parent.saved[0])

        def measuring(left: int) -> None:
            notes.note(f"measuring regions and density of the last {left:,} snapshots before saving (Ctrl+C saves "
                       "without them)")

        finished = entry.trainer.finish(entry.saving, guard=guard, wait=wait and entry.saving is not None,
                                        report=measuring, final=k == len(trained) - 1)
        entry.saved = list(finished.saved)
        results.append((entry, finished))
    notes.note("", final=True)
    if guard is not None and not trained:
        guard.saved()
    return results


def cmd_live(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if len(config.seeds) > MAX_CELLS:
        raise UserError(f"--seeds {','.join(map(str, config.seeds))}: the window shows at most {MAX_CELLS} seeds side "
                        "by side; train more with `ginn-gl train --seeds`")
    window = window_options(args)
    pace = parse_pace(args.pace)
    save = [] if args.no_save else run_paths(args.save, config.image, config.seeds, args.overwrite, "--save")
    if window["frame_log"] is not None and absolute(window["frame_log"]) in {absolute(path) for path in save}:
        raise UserError(f"--frame-log {printable(args.frame_log)} is also where the run is saved; give another name")
    target = load_target(config.image, config.resolution, config.threshold)
    prepare_process(training=True, window=True)
    from ginn_gl.ui.app import App  # imports imgui and glfw: only for the window

    session = training_session(config, target, pace, WindowRuns(args, pace, save))
    first = session.entries[0]
    assert first.trainer is not None
    guard = SignalGuard()
    seeds = ",".join(map(str, config.seeds))
    try:
        app = App(session, title=f"ginn-gl: {image_label(config.image)}, seed{'s' if len(config.seeds) > 1 else ''} "
                                 f"{seeds}", saves_on_close=bool(save), **window)
    except BaseException:
        first.trainer.finish(None, wait=False)  # nothing trained: its geometry helper ends with it
        raise
    failure: str | None = None  # the window's own error, if it failed: reported after the save
    try:
        first.trainer.start()  # once the window is open: no display means no training either
        print(f"training seed{'s' if len(config.seeds) > 1 else ''} {seeds} on {image_label(config.image)} "
              f"({session.device}, pace {pace_label(pace)}); close the window, press Esc or Q, or Ctrl+C here to "
              f"stop: the run{'s are' if len(save) > 1 else ' is'} {first.where()}", flush=True)
        app.run()
    except KeyboardInterrupt:
        pass  # a signal between frames: close and save as Esc would
    except Exception:  # noqa: BLE001 - every way out of the window saves the runs first
        failure = traceback.format_exc()
    finally:
        with guard.shielded():
            try:
                app.close()  # the window goes at once; finish_all() below stops the workers
            except Exception:  # noqa: BLE001 - a window that failed may fail to close too: the runs come first
                failure = failure or traceback.format_exc()
    results = finish_all(session, guard)
    failed = False
    for entry, finished in results:
        report_finished(finished)
        failed |= finished.failed
        trainer = entry.trainer
        for path, run in zip(finished.saved, finished.runs):
            print(f"saved {path}: seed {run.meta['seed']}, {int(run.steps[-1]):,} steps, {len(run)} snapshots")
        if trainer is not None and trainer.state is State.DIVERGED:
            print(f"{PROG}: {trainer.message}", file=sys.stderr)
    if failure is not None:
        saved = [path for _, finished in results for path in finished.saved]
        log = crash_log(failure, Path(save[0]).parent if save else None)
        where = f"the runs are saved ({', '.join(map(str, saved))})" if saved else \
            "nothing was to be saved (--no-save)"
        print(f"{PROG}: error: the window failed ({failure.strip().splitlines()[-1][:200]}); {where}; the traceback "
              f"is in {log}", file=sys.stderr)
        return 1
    for entry, _ in results:
        if entry.trainer is not None:
            entry.trainer.join()  # a worker exception is raised here, after every run is saved
    if failed:
        return 2
    return guard.exit_status if guard.received is not None else 0


def crash_log(trace: str, folder: Path | None) -> Path | str:
    """Write a traceback to a new file beside the runs (or in the temporary folder); returns where."""
    def write(tmp: Path) -> None:
        tmp.write_text(trace, encoding="utf-8")

    for place in ([folder] if folder is not None else []) + [Path(tempfile.gettempdir())]:
        path = free_name(place / f"ginn-gl-error-{datetime.now().strftime('%Y%m%d-%H%M%S')}.log")
        try:
            return write_atomically(path, write)
        except OSError:
            continue
    return "nowhere (no writable folder); here it is:\n" + trace


def cmd_replay(args: argparse.Namespace) -> int:
    window = window_options(args, inputs=args.runs)
    runs = load_side_by_side(args.runs, MAX_CELLS)
    prepare_process(window=True)
    from ginn_gl.ui.app import App
    from ginn_gl.ui.session import replay_session

    session = replay_session(runs)
    names = ", ".join(printable(Path(path).name) for path in args.runs)
    app = App(session, title=f"ginn-gl replay: {names}", **window)
    guard = SignalGuard()
    print(f"replaying {names} ({', '.join(str(len(run)) for run in runs)} snapshots); close the window or press Esc "
          "or Q to quit", flush=True)
    try:
        app.run()
    except KeyboardInterrupt:
        pass
    finally:
        with guard.shielded():
            app.close()
    guard.saved()
    return guard.exit_status if guard.received is not None else 0

