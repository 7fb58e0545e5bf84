"""An oracle's state on disk: written atomically, reloaded with clear errors."""

from __future__ import annotations

import glob
import os

import keras_tuner
from keras_tuner.engine import trial as kt_trial

from keras_hpo.files import atomic_write_json
from keras_hpo.files import foreign_file
from keras_hpo.files import read_json

__all__ = ["AtomicState"]

#: Trial states that mean "started but never ended".
UNFINISHED = (kt_trial.TrialStatus.RUNNING, kt_trial.TrialStatus.IDLE)


class AtomicState(keras_tuner.Oracle):
    """Saves ``oracle.json`` and each ``trial.json`` so a kill never leaves half.

    keras-tuner writes its state files in place; a process killed during a
    write leaves a truncated file that cannot be reloaded. Here every file is
    written next to its destination and renamed over it (`atomic_write_json`).

    Reloading also repairs what a kill between two writes can leave: a trial
    that had started (its ``trial.json`` exists) but that the oracle's state
    does not list as running, finished or waiting is sent for a retry, so it
    runs again under its own ID and number. A damaged or foreign file is
    reported by name.
    """

    def _check_consecutive_failures(self) -> None:
        # keras-tuner raises here, inside `end_trial`, before the ended trial
        # and the oracle's state are saved; the error is raised after saving.
        try:
            super()._check_consecutive_failures()
        except RuntimeError as err:
            last = str(err).strip().splitlines()
            self._too_many_failures = (
                f"{self.max_consecutive_failed_trials} trials failed in a row "
                f"(max_consecutive_failed_trials="
                f"{self.max_consecutive_failed_trials}), so the search stopped. "
                f"The last error: {last[-1] if len(last) > 1 else 'see its result'}. "
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
            raise RuntimeError(self._too_many_failures)

    def save(self) -> None:
        """Writes ``oracle.json`` atomically."""
        atomic_write_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial: kt_trial.Trial) -> None:
        path = os.path.join(self._get_trial_dir(trial.trial_id), "trial.json")
        atomic_write_json(path, trial.get_state())

    def reload(self) -> None:
        """Reloads the trials and the oracle's state, checking every file.

        Raises:
            ValueError: If a state file is damaged or was not written by a
                keras-tuner oracle; the message names the file.
        """
        pattern = os.path.join(self._project_dir, "trial_*", "trial.json")
        for path in sorted(glob.glob(pattern)):
            state = read_json(path)
            try:
                trial = kt_trial.Trial.from_state(state)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                raise foreign_file(path, "a keras-tuner trial") from err
            self.trials[trial.trial_id] = trial
        path = self._get_oracle_fname()
        state = read_json(path)
        try:
            self.set_state(state)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise foreign_file(path, "a keras-tuner oracle's state") from err
        # As keras-tuner does: the trials running when the search stopped
        # run again.
        for trial in self.ongoing_trials.values():
            self._retry_queue.append(trial.trial_id)
        self.ongoing_trials = {}
        for trial_id, trial in sorted(self.trials.items()):
            if trial.status in UNFINISHED and trial_id not in self._retry_queue:
                self._retry_queue.append(trial_id)
            if trial_id not in self.start_order:
                self.start_order.append(trial_id)
                self.adopt(trial)

    def adopt(self, trial: kt_trial.Trial) -> None:
        """Takes in a trial found on disk that the saved state did not list.

        Strategies that remember their proposals record its values here.
        """
