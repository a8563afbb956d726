"""The SQLite store under concurrency and crashes: no lost, doubled or stuck rows."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from actgym.leaderboard.rate_limit import RateLimit, RateLimited
from actgym.leaderboard.records import Board, Function, NewSubmission, ResultRow, Verdict
from actgym.leaderboard.schema import LeaderboardFileError
from actgym.leaderboard.store import Store
from actgym.leaderboard.submissions import Duplicate
from actgym.leaderboard.verification_queue import MAX_ATTEMPTS
from leaderboard_support import dead_verifier_identity

from actgym.references import REFERENCES

BOARD = Board(version="test-version", profile="smoke")


def _new(index: int, author: str = "someone") -> NewSubmission:
    return NewSubmission(name=f"f{index}", author=author, source=f"# {index}\n")


def test_a_new_store_holds_the_references_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    Store(tmp_path / "lb.db")  # opening again adds nothing
    assert store.submissions.count() == len(REFERENCES)
    assert store.database.rows("PRAGMA journal_mode")[0][0] == "wal"


def test_fifty_concurrent_submissions_are_neither_lost_nor_doubled(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    with ThreadPoolExecutor(max_workers=50) as pool:
        ids = list(pool.map(lambda i: store.submissions.add(_new(i, f"author{i}")), range(50)))
    assert len(set(ids)) == 50
    names = [store.submissions.get(i)["name"] for i in ids]
    assert sorted(names) == sorted(f"f{i}" for i in range(50))
    assert store.submissions.count() == len(REFERENCES) + 50


def test_rate_limit_holds_under_concurrency(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    limit = RateLimit(max_submissions=10, window_s=3600)

    def attempt(index: int) -> bool:
        try:
            store.submissions.add(
                _new(index, "Spammer" if index % 2 else "spammer "), rate_limit=limit
            )
        except RateLimited:
            return False
        return True

    with ThreadPoolExecutor(max_workers=30) as pool:
        accepted = sum(pool.map(attempt, range(30)))
    assert accepted == 10
    assert store.submissions.count() == len(REFERENCES) + 10


def test_rate_limit_says_when_to_retry_and_forgets_old_submissions(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    limit = RateLimit(max_submissions=2, window_s=100)
    store.submissions.add(_new(0), rate_limit=limit, now=1000.0)
    store.submissions.add(_new(1), rate_limit=limit, now=1050.0)
    with pytest.raises(RateLimited, match="try again in 50 s") as raised:
        store.submissions.add(_new(2), rate_limit=limit, now=1050.0)
    assert raised.value.retry_after_s == 50
    store.submissions.add(_new(3), rate_limit=limit, now=1101.0)


def test_claims_take_references_first_and_never_the_same_row_twice(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    user_ids = [store.submissions.add(_new(i)) for i in range(20)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda _: store.queue.claim(BOARD, environment_id=None), range(40)))
    claimed = [claim.submission_id for claim in claims if claim is not None]
    assert sorted(claimed) == sorted([*range(1, len(REFERENCES) + 1), *user_ids])
    first = Store(tmp_path / "other.db")
    assert first.queue.claim(BOARD, None).submission_id == 1


def test_a_new_version_queues_everything_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    while store.queue.claim(BOARD, None) is not None:
        pass
    newer = Board(version="next-version", profile="smoke")
    assert store.queue.verification(newer, 1)["state"] == "pending"
    assert store.queue.claim(newer, None).submission_id == 1
    assert store.queue.verification(BOARD, 1)["state"] == "running"


def test_entries_of_an_older_version_are_counted_until_rescored(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    claim = store.queue.claim(BOARD, None)
    store.queue.finish(BOARD, claim.submission_id, Verdict("done", "ok", "fine"))
    newer = Board(version="next-version", profile="smoke")
    assert store.results.awaiting_rescore(newer) == {"test-version": 1}
    assert store.results.awaiting_rescore(BOARD) == {}
    rescored = store.queue.claim(newer, None)
    assert rescored.submission_id == claim.submission_id
    store.queue.finish(newer, rescored.submission_id, Verdict("done", "ok", "fine"))
    assert store.results.awaiting_rescore(newer) == {}


def test_a_message_no_utf8_store_can_hold_is_stored_sanitised(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    claim = store.queue.claim(BOARD, None)
    store.queue.finish(
        BOARD, claim.submission_id, Verdict("failed", "runtime_error", "\ud800\x1b[2J")
    )
    row = store.queue.verification(BOARD, claim.submission_id)
    assert (row["state"], row["message"]) == ("failed", "?[2J")


def test_reset_running_resumes_then_gives_up_after_max_attempts(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    submission_id = store.submissions.add(_new(0))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        owner = dead_verifier_identity()
        while (claim := store.queue.claim(BOARD, None, owner=owner)).submission_id != submission_id:
            store.queue.finish(BOARD, claim.submission_id, Verdict("failed", "x", "skip"))
        assert store.queue.verification(BOARD, submission_id)["attempts"] == attempt
        store.queue.reset_running(BOARD)
    row = store.queue.verification(BOARD, submission_id)
    assert (row["state"], row["reason"]) == ("failed", "verifier_crashed")


def test_verifiers_sharing_a_database_keep_their_claims(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    mine = store.queue.claim(BOARD, None)
    other_host = store.queue.claim(BOARD, None, owner="elsewhere:1")
    assert mine.submission_id != other_host.submission_id
    assert store.queue.reset_running(BOARD) == 0, "live and remote verifiers keep their rows"
    assert store.queue.verification(BOARD, mine.submission_id)["state"] == "running"


def test_an_expired_lease_is_taken_over_by_another_verifier(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    stuck = store.queue.claim(BOARD, None, owner="elsewhere:1")
    taken = store.queue.claim(BOARD, None, owner="here:2", lease_s=-1.0)
    assert taken.submission_id == stuck.submission_id
    row = store.queue.verification(BOARD, stuck.submission_id)
    assert (row["state"], row["attempts"], row["owner"]) == ("running", 2, "here:2")


def test_only_the_lease_holder_finishes_so_a_verification_ends_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    stale = store.queue.claim(BOARD, None, owner="elsewhere:1")
    holder = store.queue.claim(BOARD, None, owner="here:2", lease_s=-1.0)
    assert (stale.owner, holder.owner) == ("elsewhere:1", "here:2")
    row = ResultRow("public", 0, "Harmonics", 0, "harmonics-0", 0, 1.0, 2.0, 3.0)
    late = Verdict("done", "ok", "stale", rows=(row,))
    assert not store.queue.finish(BOARD, stale.submission_id, late, owner=stale.owner)
    row = store.queue.verification(BOARD, stale.submission_id)
    assert (row["state"], row["owner"]) == ("running", "here:2"), "the stale verdict was dropped"
    assert store.database.rows("SELECT * FROM results") == []
    verdict = Verdict("failed", "timeout", "the holder's")
    assert store.queue.finish(BOARD, holder.submission_id, verdict, owner=holder.owner)
    assert not store.queue.finish(BOARD, holder.submission_id, verdict, owner=holder.owner)
    assert store.queue.verification(BOARD, holder.submission_id)["message"] == "the holder's"


def _function(program_hash: str, scale: float = 1.0) -> Function:
    return Function.of(program_hash, scale * np.linspace(-3.0, 3.0, 64))


def test_the_first_claim_owns_a_function(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    with ThreadPoolExecutor(max_workers=8) as pool:
        owners = set(
            pool.map(
                lambda i: store.submissions.claim_function(BOARD, _function(f"hash{i}"), i),
                range(1, 9),
            )
        )
    assert len(owners) == 1, "eight programs with one function: one owner"
    other_board = Board(version="test-version", profile="fast")
    assert store.submissions.claim_function(other_board, _function("hash1"), 9) == 9


def test_a_known_function_is_refused_at_submit_and_not_stored(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    first = store.submissions.add(_new(1), function=(BOARD, _function("hash")))
    copies = {
        "the same program": _function("hash", scale=2.0),
        "another program, the same outputs": _function("other"),
        "outputs a few ulps away": _function("other", scale=1.0 + 3e-7),
    }
    for what, copy in copies.items():
        with pytest.raises(Duplicate) as refused:
            store.submissions.add(_new(2, author="another"), function=(BOARD, copy))
        assert (refused.value.of, str(refused.value)) == (first, f"duplicate of #{first} (f1)")
        assert store.submissions.claim_function(BOARD, copy, 99) == first, what
    assert store.submissions.count() == len(REFERENCES) + 1
    other_board = Board(version="test-version", profile="fast")
    assert store.submissions.add(_new(3), function=(other_board, _function("hash"))) == first + 1
    changed = _function("new", scale=1.0001)  # a coefficient change is a new function
    assert store.submissions.add(_new(4), function=(BOARD, changed)) == first + 2
    assert store.submissions.claim_function(BOARD, _function("newer"), 99) == first


def test_finishing_twice_replaces_results_and_exports_as_json(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    claim = store.queue.claim(BOARD, None)
    row = ResultRow("hidden", 0, "Harmonics", 0, "harmonics-0", 0, 1.0, 2.0, 3.0)
    outcome = Verdict("done", "ok", "fine", "abc", '{"format": "x"}', 1.0, None, (row,))
    store.queue.finish(BOARD, claim.submission_id, outcome)
    store.queue.finish(BOARD, claim.submission_id, outcome)
    assert len(store.results.losses(BOARD)) == 1
    exported = json.loads(json.dumps(store.export(BOARD)))
    assert len(exported["results"]) == 1
    assert exported["verifications"][0]["program"] == {"format": "x"}
    assert {"submissions", "environments", "verifications"} <= set(exported)


def test_the_locality_is_stored_ranked_and_exported(tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    claim = store.queue.claim(BOARD, None)
    outcome = Verdict("done", "ok", "fine", "abc", "{}", 1.0, locality="feature-coupled")
    store.queue.finish(BOARD, claim.submission_id, outcome)
    assert store.queue.verification(BOARD, claim.submission_id)["locality"] == "feature-coupled"
    (entry,) = store.results.done_entries(BOARD)
    assert entry["locality"] == "feature-coupled"
    assert store.export(BOARD)["verifications"][0]["locality"] == "feature-coupled"


def test_a_store_from_before_the_locality_column_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "lb.db"
    store = Store(path)
    claim = store.queue.claim(BOARD, None)
    store.queue.finish(BOARD, claim.submission_id, Verdict("done", "ok", "fine", "abc", "{}", 1.0))
    with closing(sqlite3.connect(path)) as old:  # the layout before the column existed
        old.execute("ALTER TABLE verifications DROP COLUMN locality")
        old.commit()
    reopened = Store(path)
    (entry,) = reopened.results.done_entries(BOARD)
    assert "locality" in entry and entry["locality"] is None  # shown as "-"
    later = reopened.queue.claim(BOARD, None)
    reopened.queue.finish(
        BOARD, later.submission_id, Verdict("done", "ok", "", locality="pointwise")
    )
    assert reopened.queue.verification(BOARD, later.submission_id)["locality"] == "pointwise"


def _foreign_database(path: Path) -> None:
    with closing(sqlite3.connect(path)) as other:  # another program's: its own journal mode
        other.execute("CREATE TABLE submissions (x TEXT)")
        other.execute("INSERT INTO submissions VALUES ('theirs')")
        other.commit()


def test_a_file_that_is_not_a_leaderboard_is_refused_by_name_and_left_alone(
    tmp_path: Path,
) -> None:
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_bytes(b"not an sqlite file at all, but long enough to look like one" * 4)
    with pytest.raises(LeaderboardFileError, match=r"notes\.db .* not an SQLite file"):
        Store(not_sqlite)
    assert not_sqlite.read_bytes().startswith(b"not an sqlite file")
    foreign = tmp_path / "theirs.sqlite"
    _foreign_database(foreign)
    before = foreign.read_bytes()
    with pytest.raises(LeaderboardFileError, match=r"holds tables \(submissions\) but no leaderb"):
        Store(foreign)
    assert foreign.read_bytes() == before  # no table added, journal mode unchanged
    with pytest.raises(LeaderboardFileError, match=r"cannot be opened \(a directory"):
        Store(tmp_path)
    damaged = tmp_path / "damaged.db"
    Store(damaged)
    with damaged.open("r+b") as file:
        file.seek(4096)
        file.write(b"\xff" * 4096)
    with pytest.raises(LeaderboardFileError, match=r"damaged\.db .* is damaged"):
        Store(damaged)


def test_a_leaderboard_of_another_schema_or_missing_a_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lb.db"
    Store(path)
    with closing(sqlite3.connect(path)) as old:
        old.execute("ALTER TABLE results DROP COLUMN id_loss")
        old.commit()
    with pytest.raises(LeaderboardFileError, match="table results lacks columns id_loss"):
        Store(path)
    other = tmp_path / "other.db"
    Store(other)
    with closing(sqlite3.connect(other)) as old:  # an index of this version names the column
        old.execute("UPDATE meta SET value = 'v0' WHERE key = 'schema_version'")
        old.execute("DROP INDEX verifications_by_state")
        old.execute("ALTER TABLE verifications DROP COLUMN state")
        old.commit()
    with pytest.raises(LeaderboardFileError, match="leaderboard schema v0 is not"):
        Store(other)


def test_duplicates_of_a_submission_failed_by_the_machine_are_queued_again(
    tmp_path: Path,
) -> None:
    """Two verifiers: B is found a copy of A while A runs; then A's process dies. B must not
    stay a duplicate of a failure: it is verified again, and now claims the function."""
    store = Store(tmp_path / "lb.db")
    first, copy = store.submissions.add(_new(1)), store.submissions.add(_new(2, "another"))
    held = {store.queue.claim(BOARD, None).submission_id for _ in range(len(REFERENCES) + 2)}
    assert {first, copy} <= held
    assert store.submissions.claim_function(BOARD, _function("hash"), first) == first
    assert store.submissions.claim_function(BOARD, _function("other"), copy) == first
    store.queue.finish(BOARD, copy, Verdict("failed", "duplicate", "copy", duplicate_of=first))
    untouched = store.submissions.add(_new(3, "third"))
    store.queue.claim(BOARD, None)
    assert store.submissions.claim_function(BOARD, _function("relu", scale=5.0), 1) == 1
    store.queue.finish(BOARD, untouched, Verdict("failed", "duplicate", "x", duplicate_of=1))
    store.queue.finish(BOARD, first, Verdict("failed", "process_died", "killed"))
    again = store.queue.verification(BOARD, copy)
    assert (again["state"], again["duplicate_of"], again["attempts"]) == ("pending", None, 0)
    assert store.queue.verification(BOARD, untouched)["state"] == "failed", "not its copy"
    claimed = store.queue.claim(BOARD, None)
    assert claimed is not None and claimed.submission_id == copy
    assert store.submissions.claim_function(BOARD, _function("other"), copy) == copy


def test_a_reference_failed_by_the_machine_keeps_its_function_and_its_copies_stay_copies(
    tmp_path: Path,
) -> None:
    """A rewrite of ReLU must never take ReLU's function, even while ReLU's own
    verification has failed for a machine reason (it is requeued and claims it again)."""
    store = Store(tmp_path / "lb.db")
    rewrite = store.submissions.add(_new(1))
    relu = next(
        i for i, source in store.submissions.references().items() if source == REFERENCES["relu"]
    )
    while store.queue.claim(BOARD, None) is not None:
        pass
    assert store.submissions.claim_function(BOARD, _function("relu"), relu) == relu
    assert store.submissions.claim_function(BOARD, _function("where"), rewrite) == relu
    store.queue.finish(BOARD, rewrite, Verdict("failed", "duplicate", "x", duplicate_of=relu))
    store.queue.finish(BOARD, relu, Verdict("failed", "internal_error", "the machine"))
    assert store.submissions.owns_a_function(BOARD, relu)
    assert store.queue.verification(BOARD, rewrite)["duplicate_of"] == relu
    assert store.queue.requeue(BOARD, [relu]) == [relu]
    assert store.submissions.claim_function(BOARD, _function("where"), rewrite) == relu


def test_a_duplicate_verdict_naming_a_released_owner_goes_back_to_the_queue(
    tmp_path: Path,
) -> None:
    """Verifier 2 finds B a copy of A; verifier 1 then fails A for a machine reason before
    verifier 2 records B: B must not be recorded as a duplicate of a failure."""
    store = Store(tmp_path / "lb.db")
    first, copy = store.submissions.add(_new(1)), store.submissions.add(_new(2, "another"))
    while store.queue.claim(BOARD, None) is not None:
        pass
    store.submissions.claim_function(BOARD, _function("hash"), first)
    assert store.submissions.claim_function(BOARD, _function("hash"), copy) == first
    store.queue.finish(BOARD, first, Verdict("failed", "process_died", "killed"))
    store.queue.finish(BOARD, copy, Verdict("failed", "duplicate", "copy", duplicate_of=first))
    again = store.queue.verification(BOARD, copy)
    assert (again["state"], again["duplicate_of"]) == ("pending", None)
