"""The fault suite, small (what `make test` runs of `python -m faults`): one trial of every case but `outage` on
5,000 transactions against devstack's real servers, each ending with every record in its target once, and each
kill proven to have landed inside the work (the run still going, some of its records written, not all)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from faults.cli import CASES, prepare
from faults.table import trial_line

pytestmark = pytest.mark.devstack


@pytest.fixture(scope="module")
def work(platform: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    outputs = platform("moto", "gcs", "firestore", "ferretdb")  # faults.platform.SERVICES: the session stops them
    # 5,000 rows: ten batches per load, so a kill polled on the target lands between two of them; the Kafka load
    # and the producer paced to ~5 s, where unpaced they cross the broker in milliseconds
    return prepare(Path(tmp_path_factory.mktemp("faults")), rows=5000, seed=7, outputs=outputs, pace=0.001)


#: the broker frozen past the producer's 30 s message timeout takes 40 s a trial: `make faults` runs it
SMALL_RUN = [case for case in CASES if case != "outage"]
#: the cases that kill a process in the middle of a run (the others crash a platform at rest, or refuse a load)
KILLS_MID_RUN = {"mongodb", "firestore", "dynamodb", "kafka", "producer", "broker", "connect", "crash-load",
                 "crash-stream"}  # fmt: skip


@pytest.mark.parametrize("case", SMALL_RUN)
def test_the_case_ends_with_each_record_once(work: Any, case: str) -> None:
    trials = CASES[case](work, 1, lambda trial: None)
    assert trials
    for trial in trials:
        assert trial.tally.source > 0
        assert (trial.tally.duplicates, trial.tally.lost) == (0, 0), trial_line(trial)
        assert trial.tally.in_target == trial.tally.source
        assert not trial.failure, trial_line(trial)
        if case in KILLS_MID_RUN:
            assert trial.at_kill is not None and trial.at_kill.inside, trial_line(trial)
