"""An oracle's state on disk: written atomically, reloaded with clear errors."""

from __future__ import annotations

import glob
import os
from typing import Any

import keras_tuner
from keras_tuner.engine import trial as kt_trial

from keras_hpo.compat import copy_hyperparameters
from keras_hpo.compat import oracle_display
from keras_hpo.compat import oracle_file
from keras_hpo.compat import oracle_project_dir
from keras_hpo.compat import oracle_trial_dir
from keras_hpo.compat import retry_queue
from keras_hpo.files import RESTART
from keras_hpo.files import atomic_write_json
from keras_hpo.files import check_trial_file
from keras_hpo.files import check_trial_id
from keras_hpo.files import file_signature
from keras_hpo.files import foreign_file
from keras_hpo.files import read_json

__all__ = ["ID_WIDTH", "AtomicState", "listed_trial_ids"]

#: Digits of a trial ID (``trial_0007``), whatever ``max_trials`` is.
ID_WIDTH = 4

#: Trial states that mean "started but never ended".
UNFINISHED = (kt_trial.TrialStatus.RUNNING, kt_trial.TrialStatus.IDLE)
#: Trial states that mean "ended for good".
ENDED = (kt_trial.TrialStatus.COMPLETED, kt_trial.TrialStatus.FAILED)


def listed_trial_ids(state: dict[str, Any], path: str) -> list[str]:
    """Every trial ID an oracle's saved state refers to, each checked.

    Args:
        state: The content of ``oracle.json``.
        path: That file, for the messages.

    Returns:
        The IDs, in order of first mention, without repeats.

    Raises:
        ValueError: If the state is not an oracle's, or an ID could not be
            one of ours (see `keras_hpo.files.check_trial_id`).
    """
    try:
        groups = [
            state["start_order"],
            state["end_order"],
            list(state["ongoing_trials"].values()),
            state.get("retry_queue", []),
            list(state.get("run_times", {})),
            list(state.get("proposed", {})),
        ]
        ids = [trial_id for group in groups for trial_id in group]
    except (KeyError, TypeError, AttributeError) as err:
        raise foreign_file(path, "a keras-tuner oracle's state") from err
    seen: dict[str, None] = {}
    for trial_id in ids:
        seen[check_trial_id(trial_id, path)] = None
    for name in ("start_order", "end_order"):
        if len(set(state[name])) != len(state[name]):
            raise ValueError(
                f"{path} lists a trial twice in its {name}: the file was altered "
                f"or not written by keras_hpo. {RESTART}"
            )
    return list(seen)


def _free(folder: str) -> bool:
    """Whether a new trial may use ``folder``: absent, or an empty folder."""
    if not os.path.lexists(folder):
        return True
    if os.path.islink(folder) or not os.path.isdir(folder):
        return False
    try:
        return not os.listdir(folder)
    except OSError:
        return False


class AtomicState(keras_tuner.Oracle):
    """Saves ``oracle.json`` and each ``trial.json`` so a kill never leaves half.

    keras-tuner writes its state files in place; a process killed during a
    write leaves a truncated file that cannot be reloaded. Here every file is
    written next to its destination and renamed over it (`atomic_write_json`).

    Reloading checks every file and repairs what a kill between two writes
    can leave:

    * a trial that had started (its ``trial.json`` exists) but that the
      oracle's state does not list as running, finished or waiting is sent
      for a retry, so it runs again under its own ID and number;
    * a trial listed as running that had in fact ended (its ``trial.json``
      says so) is not run again.

    A damaged or foreign file, a trial ID that is not ours (it would become a
    path) and a listed trial whose ``trial.json`` is gone are reported by
    path. New trials get IDs that no trial on disk or in the state has.
    """

    #: `file_signature` of ``oracle.json`` as this oracle last wrote or read it.
    saved_signature: tuple[int, int, int] | None = None
    #: Whether proposing a trial changes state that only ``oracle.json``
    #: keeps (a fitted model the next proposal starts from): then a new
    #: trial saves it. Otherwise the trial's own file is enough to resume.
    proposals_change_state = False

    @property
    def _project_dir(self) -> str:
        # keras-tuner creates the folder through TensorFlow's file API on
        # every use (several times per trial); the files here are written
        # with `os` anyway.
        folder = os.path.join(str(self._directory), self._project_name)
        os.makedirs(folder, exist_ok=True)
        return folder

    def _get_trial_dir(self, trial_id: str) -> str:
        folder = os.path.join(self._project_dir, f"trial_{trial_id}")
        os.makedirs(folder, exist_ok=True)
        return folder

    def _check_consecutive_failures(self) -> None:
        # keras-tuner raises here, inside `end_trial`, before the ended trial
        # and the oracle's state are saved; the error is raised after saving.
        # It also counts any run of failures since the first trial, so a
        # resumed search stopped after each trial once an earlier run had
        # stopped on failures: only the trials that ended last count here.
        streak = []
        for trial_id in reversed(self.end_order):
            trial = self.trials[trial_id]
            if trial.status != kt_trial.TrialStatus.FAILED:
                break
            streak.append(trial)
        limit = self.max_consecutive_failed_trials
        if not streak or len(streak) < limit:
            return
        last = (streak[0].message or "").strip().splitlines()
        error = last[-1].rstrip(".") if last else "see its result"
        self._too_many_failures = (
            f"{limit} trials failed in a row "
            f"(max_consecutive_failed_trials={limit}), so the search stopped. "
            f"The last error: {error}. "
            "Every trial's error and traceback is in cv_results_['error'] and "
            "trial_<id>/result.json. Fix the cause and run the search again: "
            "it resumes."
        )

    def end_trial(self, trial: kt_trial.Trial) -> None:
        """Ends a trial and saves it; then stops on too many failures in a row.

        Raises:
            RuntimeError: After ``max_consecutive_failed_trials`` failed
                trials in a row, once everything is saved.
        """
        self._too_many_failures = None
        super().end_trial(trial)
        if self._too_many_failures:
            # keras-tuner saved before it let go of the running trial; the
            # tuner's own save is skipped by the error, so save here: the
            # ended trial must not stay listed as running.
            self.save()
            raise RuntimeError(self._too_many_failures)

    @keras_tuner.synchronized
    def create_trial(self, tuner_id: str) -> kt_trial.Trial:
        """Creates the next trial, as keras-tuner does, under an unused ID.

        keras-tuner names a new trial after the number of trials it knows,
        which collides with a trial it lost track of; here the ID also skips
        every ``trial_<id>`` folder on disk, so a new trial never writes
        into another trial's folder. Running and retried trials are handed
        out by keras-tuner as usual.
        """
        if tuner_id in self.ongoing_trials or retry_queue(self):
            return super().create_trial(tuner_id)
        self.tuner_ids.add(tuner_id)
        trial_id = self.new_trial_id()
        values = None
        status = kt_trial.TrialStatus.STOPPED
        if not (self.max_trials and len(self.trials) >= self.max_trials):
            response = self.populate_space(trial_id)
            status = response["status"]
            values = response.get("values")
        hyperparameters = copy_hyperparameters(self.hyperparameters)
        hyperparameters.values = values or {}
        trial = kt_trial.Trial(
            hyperparameters=hyperparameters, trial_id=trial_id, status=status
        )
        if status == kt_trial.TrialStatus.RUNNING:
            self._record_values(trial)
            self.ongoing_trials[tuner_id] = trial
            self.trials[trial_id] = trial
            self.start_order.append(trial_id)
            self._save_trial(trial)
            if self.proposals_change_state or self.saved_signature is None:
                self.save()
            # Otherwise oracle.json, the largest file, waits for the trial's
            # end: after a kill, a RUNNING trial.json that it does not list
            # is queued to run again (`reload`), as a listed one would be.
            oracle_display(self).on_trial_begin(trial)
        if status == kt_trial.TrialStatus.STOPPED:
            self.tuner_ids.discard(tuner_id)
        return trial

    def new_trial_id(self) -> str:
        """The ID of the next trial: its number, unless that name is taken.

        Zero-padded to `ID_WIDTH` digits (``0000``, ``0001``...) whatever
        ``max_trials`` is, so trial folders sort in trial order up to 10,000
        trials (keras-tuner pads to the width of ``max_trials``, which
        changes when a search is resumed with more trials). A project whose
        trials have IDs of another width (an older keras_hpo) keeps that
        width. An ID known to the oracle, or whose folder holds anything, is
        skipped. An empty folder is taken: a process stopped between making
        a new trial's folder and writing its ``trial.json`` (a SIGTERM there)
        leaves one, and there is nothing in it to overwrite.
        """
        width = len(next(iter(self.trials))) if self.trials else ID_WIDTH
        number = len(self.trials)
        while True:
            trial_id = f"{number:0{width}d}"
            folder = os.path.join(oracle_project_dir(self), f"trial_{trial_id}")
            if trial_id not in self.trials and _free(folder):
                return trial_id
            number += 1

    def save(self) -> None:
        """Writes ``oracle.json`` atomically.

        On one line: it grows with the trials and is written several times
        per trial, and Python's C encoder writes only unindented JSON.
        """
        path = oracle_file(self)
        atomic_write_json(path, self.get_state(), indent=None, written=self._saved)

    def _saved(self) -> None:
        """Notes the version of ``oracle.json`` just put in place."""
        self.saved_signature = file_signature(oracle_file(self))

    def _save_trial(self, trial: kt_trial.Trial) -> None:
        path = os.path.join(oracle_trial_dir(self, trial.trial_id), "trial.json")
        # Unindented, as keras-tuner writes it (the C encoder): it is
        # written at each report.
        atomic_write_json(path, trial.get_state(), indent=None)

    def reload(self) -> None:
        """Reloads the trials and the oracle's state, checking every file.

        Raises:
            FileNotFoundError: If ``oracle.json`` is missing, or a trial it
                lists has no ``trial.json``.
            ValueError: If a state file is damaged, was not written by a
                keras-tuner oracle, is in another trial's folder, or names a
                trial ID that is not ours; the message names the file.
        """
        self._read_trials()
        self._read_state()
        self._queue_unfinished()

    def _read_trials(self) -> None:
        """Reads every ``trial_*/trial.json``, refusing foreign files."""
        pattern = os.path.join(oracle_project_dir(self), "trial_*", "trial.json")
        for path in sorted(glob.glob(pattern)):
            state = read_json(path)
            try:
                trial = kt_trial.Trial.from_state(state)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                raise foreign_file(path, "a keras-tuner trial") from err
            check_trial_file(trial.trial_id, path, "the state")
            self.trials[trial.trial_id] = trial

    def _read_state(self) -> None:
        """Reads ``oracle.json``; every trial it lists must have its file."""
        path = oracle_file(self)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{path} is missing, but {oracle_project_dir(self)} holds a search "
                "(its tuner state and trial folders), so it cannot be resumed "
                f"safely. Restore the file. {RESTART}"
            )
        state = read_json(path)
        if not isinstance(state, dict):
            raise foreign_file(path, "a keras-tuner oracle's state")
        for trial_id in listed_trial_ids(state, path):
            if trial_id not in self.trials:
                missing = os.path.join(
                    oracle_project_dir(self), f"trial_{trial_id}", "trial.json"
                )
                raise FileNotFoundError(
                    f"{missing} is missing: trial {trial_id} is listed in {path} "
                    "but its folder is damaged or gone, so resuming would run a "
                    f"new trial in its place. Restore the folder. {RESTART}"
                )
        try:
            self.set_state(state)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise foreign_file(path, "a keras-tuner oracle's state") from err
        self.saved_signature = file_signature(path)

    def _queue_unfinished(self) -> None:
        """Queues for a retry the trials that were running, as keras-tuner does."""
        # A trial whose own file says it ended, killed before the oracle's
        # state said so, has ended: it is not run again.
        for trial_id, trial in sorted(self.trials.items()):
            if trial.status in ENDED and trial_id not in self.end_order:
                self.end_order.append(trial_id)
                if trial_id in retry_queue(self):
                    retry_queue(self).remove(trial_id)
        # As keras-tuner does: the trials running when the search stopped
        # run again, unless they had ended (a kill right after `end_trial`).
        ended = set(self.end_order)
        for trial in self.ongoing_trials.values():
            if trial.trial_id not in ended and trial.trial_id not in retry_queue(self):
                retry_queue(self).append(trial.trial_id)
        self.ongoing_trials = {}
        for trial_id, trial in sorted(self.trials.items()):
            if (
                trial.status in UNFINISHED
                and trial_id not in retry_queue(self)
                and trial_id not in ended
            ):
                retry_queue(self).append(trial_id)
            if trial_id not in self.start_order:
                self.start_order.append(trial_id)
                self.adopt(trial)

    def adopt(self, trial: kt_trial.Trial) -> None:
        """Takes in a trial found on disk that the saved state did not list.

        Strategies that remember their proposals record its values here.
        """
