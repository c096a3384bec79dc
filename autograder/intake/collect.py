"""Collect: submissions from nbgrader's exchange into `submitted/`, trusting nothing in it.

Students submit with nbgrader (`nbgrader submit`, or JupyterLab's Assignments panel), which
writes `<student>+<assignment>+<timestamp>+<random>/` into the exchange's `inbound` folder. That
folder is writable by every user of the machine, by design, so everything in it is hostile
input: this module reads it itself instead of calling nbgrader's `collect`, which follows
symbolic links (a link to the instructor's reference solution was collected, and graded, as a
student's answer), trusts the folder name's student and time, and stops the class on one bad
entry.

What is read, and how:

* Only regular files, opened relative to a descriptor of their folder without following links
  (`untrusted.py`); links, FIFOs, devices, sub-folders and hard links to other users' files
  are skipped and listed.
* A folder is collected for the student it names only if that Unix user owns it (or the
  instructor, for an exchange on one account); otherwise one student could submit as another.
* The submission time is what the instructor's side can observe and a student's process cannot
  set backwards: the latest change time (ctime) of the folder and of the files collected.
  The student-written `timestamp.txt` (and the folder name's time) are claims: when they
  disagree with the observation, the later time counts and the record says so.
* What is collected is exactly what existed at the recorded time: the folder is observed
  before and after its files are copied (names, inodes, change times, sizes), and a folder
  that changed meanwhile (its student rewriting it while collect runs) is observed and copied
  again, with its new, later time; one that keeps changing is skipped and said so. A folder of
  more than `limits.FOLDER_ENTRIES` entries is refused without being listed further.
* When a student submitted several times, the course's `counts` setting chooses: the last
  submission made by the due date (`last-on-time`, the default, so that a stray resubmission
  after the deadline does not cost a late penalty), else the last one; or simply the `last`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import pwd
from dataclasses import dataclass, field

from nbgrader.utils import parse_utc

from autograder import limits
from autograder.course.allowances import Allowances
from autograder.course.deadlines import counting_order, due_date, shown_time, student_due
from autograder.course.folder import ASSIGNMENT, COURSE_ID, Course
from autograder.errors import CourseError
from autograder.intake import untrusted
from autograder.intake.submitted import NewSubmission, format_time, student_id_problem
from autograder.intake.untrusted import Entry, Refused
from autograder.text import human_size, shown

log = logging.getLogger(__name__)

KEPT_SMALL_FILES = ("submission_secret.txt",)  # nbgrader's key to return feedback


class Changed(Exception):
    """A submission folder changed while it was being copied."""


@dataclass
class Candidate:
    """One submission folder in the inbound exchange, as listed (nothing read yet)."""

    entry: Entry
    student: str
    claimed: dt.datetime | None = None
    observed: dt.datetime | None = None
    fingerprint: tuple = ()  # what was observed: the copy must find the same

    @property
    def submitted_at(self) -> dt.datetime:
        """The trusted time: the observation, or the claim if that is later."""
        assert self.observed is not None
        return max(self.observed, self.claimed) if self.claimed else self.observed


@dataclass
class CollectSummary:
    collected: dict[str, str] = field(default_factory=dict)  # student → inbound folder
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry, why)
    superseded: list[tuple[str, str]] = field(default_factory=list)  # (entry, student)
    notes: list[str] = field(default_factory=list)  # for the instructor: times, choices


def inbound_folder(course: Course) -> os.PathLike:
    return course.exchange / COURSE_ID / "inbound"


def collect(course: Course, assignment: str = ASSIGNMENT) -> CollectSummary:
    """Copy each student's counting submission of `assignment` into `submitted/`."""
    inbound = inbound_folder(course)
    try:
        inbound_fd = untrusted.open_folder(inbound)
    except Refused as error:
        raise CourseError(
            f"cannot read the exchange's inbound folder {inbound} ({error}); has the assignment "
            "been released to this exchange (`rnn-course release`), and is this the "
            "instructor's account?"
        ) from None
    summary = CollectSummary()
    try:
        candidates = _candidates(inbound_fd, assignment, summary)
        due = due_date(course, assignment)
        allowances = Allowances.load(course.root)
        for student, mine in sorted(candidates.items()):
            own = student_due(allowances, assignment, student, due)
            _collect_student(course, assignment, inbound_fd, student, mine, own, summary)
    finally:
        os.close(inbound_fd)
    return summary


def _candidates(
    inbound_fd: int, assignment: str, summary: CollectSummary
) -> dict[str, list[Candidate]]:
    found: dict[str, list[Candidate]] = {}
    me = os.geteuid()
    for entry in untrusted.entries(inbound_fd):
        parts = entry.name.rsplit("+", 3)
        if len(parts) < 3 or parts[1] != assignment:
            continue  # another assignment's, or not nbgrader's: not ours to judge
        name, student = shown(entry.name), parts[0]
        problem = student_id_problem(student)
        if problem:
            summary.skipped.append((name, problem))
            continue
        if entry.kind != "folder":
            summary.skipped.append((name, f"a {entry.kind}, not a submission folder"))
            continue
        owner = _user_name(entry.uid)
        if entry.uid != me and owner != student:
            summary.skipped.append(
                (name, f"it names {student} but belongs to the Unix user {owner}")
            )
            continue
        candidate = Candidate(entry, student, claimed=_parse_time(parts[2]))
        found.setdefault(student, []).append(candidate)
    return found


def _collect_student(
    course: Course,
    assignment: str,
    inbound_fd: int,
    student: str,
    candidates: list[Candidate],
    due: dt.datetime | None,
    summary: CollectSummary,
) -> None:
    """Collect the student's counting submission; a folder that cannot be read gives way to
    their previous one, one that changes while it is copied is observed and copied again (its
    time, and so which one counts, may have changed), and all of it is listed."""
    for _ in range(limits.COLLECT_ATTEMPTS):
        readable = []
        for candidate in candidates:
            try:
                candidate.observed, candidate.fingerprint = _observe(inbound_fd, candidate)
                readable.append(candidate)
            except Refused as error:
                summary.skipped.append((shown(candidate.entry.name), str(error)))
        order = counting_order(readable, lambda c: c.submitted_at, due, course.settings.counts)
        try:
            _collect_first(course, assignment, inbound_fd, student, order, candidates, due, summary)
            return
        except Changed:
            summary.skipped = [s for s in summary.skipped if s[0] not in _names(candidates)]
    summary.skipped.append(
        (
            shown(f"{student}+{assignment}"),
            f"kept changing while it was being collected ({limits.COLLECT_ATTEMPTS} tries): its "
            "previous submission stays; collect again once it has stopped",
        )
    )


def _names(candidates: list[Candidate]) -> set[str]:
    return {shown(c.entry.name) for c in candidates}


def _collect_first(
    course: Course,
    assignment: str,
    inbound_fd: int,
    student: str,
    preference: list[Candidate],
    candidates: list[Candidate],
    due: dt.datetime | None,
    summary: CollectSummary,
) -> None:
    """The first of `preference` that can be copied whole and unchanged; Changed if one
    changed while it was copied (the caller observes them all again)."""
    for rank, candidate in enumerate(preference):
        skipped: list[tuple[str, str]] = []
        try:
            with NewSubmission(course, student, assignment) as new:
                claimed = _copy(inbound_fd, candidate, new, skipped)
                if _observe(inbound_fd, candidate)[1] != candidate.fingerprint:
                    raise Changed(candidate.entry.name)
                if not any(n.endswith(".ipynb") for n in new.names):
                    raise Refused("no notebook in it")
                if claimed is not None:
                    candidate.claimed = claimed
                record = _record(candidate, candidates, due, course)
                outcome = new.commit(candidate.submitted_at, record)
        except Refused as error:
            summary.skipped += skipped
            summary.skipped.append((shown(candidate.entry.name), str(error)))
            continue
        summary.skipped += skipped
        if outcome != "unchanged":
            summary.collected[student] = shown(candidate.entry.name)
        else:
            summary.unchanged.append(student)
        if record.get("note"):
            summary.notes.append(f"{student}: {record['note']}")
        summary.superseded += [(shown(c.entry.name), student) for c in preference[rank + 1 :]]
        return
    if candidates:
        summary.notes.append(f"{student}: nothing could be collected; see the skipped entries")


def _observe(inbound_fd: int, candidate: Candidate) -> tuple[dt.datetime, tuple]:
    """The latest change time of the folder and of every entry in it, and everything observed
    (names, inodes, change times, sizes), which a later look must find the same."""
    folder_fd = _open_submission(inbound_fd, candidate)
    try:
        folder = os.fstat(folder_fd)
        found = list(untrusted.entries(folder_fd, limits.FOLDER_ENTRIES))
    finally:
        os.close(folder_fd)
    times = [folder.st_ctime, *(entry.ctime for entry in found)]
    fingerprint = (folder.st_ino, folder.st_ctime_ns, *(e.fingerprint for e in found))
    return dt.datetime.fromtimestamp(max(times), dt.UTC), fingerprint


def _open_submission(inbound_fd: int, candidate: Candidate) -> int:
    folder_fd = untrusted.open_folder(candidate.entry.name, dir_fd=inbound_fd)
    info = os.fstat(folder_fd)
    if info.st_uid != candidate.entry.uid:  # replaced since it was listed
        os.close(folder_fd)
        raise Refused("it changed while it was being collected; collect again")
    return folder_fd


def _copy(
    inbound_fd: int, candidate: Candidate, new: NewSubmission, skipped: list[tuple[str, str]]
) -> dt.datetime | None:
    """Copy the notebooks (and nbgrader's feedback key) into `new`; returns the claimed time."""
    folder_fd = _open_submission(inbound_fd, candidate)
    claimed, total = None, 0
    try:
        for entry in untrusted.entries(folder_fd, limits.FOLDER_ENTRIES):
            where = f"{shown(candidate.entry.name)}/{shown(entry.name)}"
            try:
                if entry.name.endswith(".ipynb"):
                    if not untrusted.usable_file_name(entry.name):
                        raise Refused("an unusable file name")
                    handle = untrusted.open_regular(folder_fd, entry, owner=candidate.entry.uid)
                    total += new.add(
                        entry.name, untrusted.read_chunks(handle, limits.NOTEBOOK_BYTES)
                    )
                    if total > limits.SUBMISSION_BYTES:
                        limit = human_size(limits.SUBMISSION_BYTES)
                        raise Refused(f"the submission is over {limit}")
                elif entry.name == "timestamp.txt" or entry.name in KEPT_SMALL_FILES:
                    handle = untrusted.open_regular(folder_fd, entry, owner=candidate.entry.uid)
                    data = b"".join(untrusted.read_chunks(handle, limits.SMALL_FILE_BYTES))
                    if entry.name == "timestamp.txt":
                        claimed = _parse_time(data.decode("utf-8", "replace"))
                    else:
                        new.add(entry.name, [data])
                elif entry.name != ".ipynb_checkpoints":
                    skipped.append((where, f"a {entry.kind} that is not a notebook"))
            except Refused as error:
                if "submission is over" in str(error):
                    raise
                skipped.append((where, str(error)))
    finally:
        os.close(folder_fd)
    return claimed


def _record(
    chosen: Candidate, candidates: list[Candidate], due: dt.datetime | None, course: Course
) -> dict:
    """What the report and the feedback say of this submission's time."""
    note = None
    zone = course.settings.timezone
    if chosen.claimed and abs((chosen.claimed - chosen.observed).total_seconds()) > (
        limits.CLAIM_TOLERANCE_SECONDS
    ):
        note = (
            f"the submission says it was made at {shown_time(chosen.claimed, zone)}, "
            f"the exchange saw its files last changed at {shown_time(chosen.observed, zone)}; "
            f"the later time counts"
        )
    submissions = len(candidates)
    if submissions > 1:
        which = sorted(candidates, key=lambda c: c.observed or chosen.observed)
        rank = which.index(chosen) + 1
        choice = f"submission {rank} of {submissions} counts ({course.settings.counts})"
        note = f"{note}; {choice}" if note else choice
    return {
        "source": "exchange",
        "inbound": shown(chosen.entry.name, limit=400),
        "submitted_at": format_time(chosen.submitted_at),
        "observed_at": format_time(chosen.observed),
        "claimed_at": format_time(chosen.claimed) if chosen.claimed else None,
        "submissions": submissions,
        "note": note,
    }


def _parse_time(text: str) -> dt.datetime | None:
    """A timestamp as nbgrader writes it ('2026-11-27 10:00:00.123456 UTC'), or None."""
    text = text.strip()
    if not text or len(text) > 64:
        return None
    try:
        when = parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"
