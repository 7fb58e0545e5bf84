"""What an oracle has tried: its trials' records, keyed for `is_tried`.

A trial's *record* holds the values it was proposed with and, once it ended,
those it declared while running (in ``run_trial``, ``HyperModel.fit``, or a
branch of ``build``): its *names*. A configuration was tried when an ended
trial's record agrees with it on every name the record holds, since a
hyperparameter the trial neither had nor declared is one its code never
reached. A running trial's record is matched exactly (or by its names, for
an oracle that waits for running trials: `SearchOracle.wait_for_running`).

Keys are kept per record and updated only for the records that changed, so a
proposal costs the same with ten trials or ten thousand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

__all__ = ["TriedConfigurations"]

#: A group of records: their names (``None``: matched exactly).
Names = frozenset[str] | None


class TriedConfigurations:
    """The keys of an oracle's records, grouped by the names they hold.

    Args:
        key: ``key(values) -> str``, a configuration's identity in the
            current space (`keras_hpo.oracles.space.values_key`).
    """

    def __init__(self, key: Callable[[dict[str, Any]], str]):
        self._key = key
        self._signature: str | None = None
        #: trial_id -> (names, key) as last keyed.
        self._entries: dict[str, tuple[Names, str]] = {}
        self._groups: dict[Names, Counter] = {}
        #: Trials whose record (or whether it ended) changed since keyed.
        self._changed: set[str] = set()

    def changed(self, trial_id: str) -> None:
        """Marks a trial's record (or its ending) as changed."""
        self._changed.add(trial_id)

    def forget(self) -> None:
        """Keys every record again at the next question (a reloaded state)."""
        self._signature = None

    def update(
        self,
        signature: str,
        records: dict[str, dict[str, Any]],
        by_names: Callable[[str], bool],
    ) -> None:
        """Brings the keys up to date.

        Args:
            signature: The current space's identity; when it changed, every
                record is keyed again (keys depend on the space).
            records: trial_id -> its record.
            by_names: Whether a trial's record is matched by its names
                (ended, or the oracle waits for running trials).
        """
        if signature != self._signature:
            self._signature = signature
            self._entries, self._groups = {}, {}
            changed = set(records)
        else:
            changed = self._changed
        self._changed = set()
        for trial_id in changed:
            self._remove(trial_id)
            values = records.get(trial_id)
            if values is None:
                continue
            names = frozenset(values) if by_names(trial_id) else None
            key = self._key(values)
            self._entries[trial_id] = (names, key)
            self._groups.setdefault(names, Counter())[key] += 1

    def _remove(self, trial_id: str) -> None:
        entry = self._entries.pop(trial_id, None)
        if entry is None:
            return
        names, key = entry
        group = self._groups[names]
        group[key] -= 1
        if group[key] <= 0:
            del group[key]
        if not group:
            del self._groups[names]

    def is_tried(self, values: dict[str, Any]) -> bool:
        """Whether a record covers ``values`` (call `update` first).

        A record that holds no name stands for the empty configuration
        only: a trial that failed before declaring anything says nothing
        about the others.
        """
        for names, keys in self._groups.items():
            known = {n: v for n, v in values.items() if n in names} if names else values
            if self._key(known) in keys:
                return True
        return False
