"""The instructor's course directory and nbgrader's configuration for it, in one place.

A course directory is where an instructor's work for one class lives: the released student
notebooks, the submissions, the autograded copies, the feedback and the SQLite gradebook. It is
never inside this repository. The assignment sources are read from the repository's
`source_notebooks/`, so editing a task and releasing again needs no copying.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy
import sqlalchemy.exc
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from autograder import limits
from autograder.course.settings import CourseSettings
from autograder.errors import CourseError

log = logging.getLogger(__name__)
NBGRADER_LOG = logging.getLogger("autograder.nbgrader")

ROOT = Path(__file__).resolve().parents[2]
SOURCE_NOTEBOOKS = ROOT / "source_notebooks"
ASSIGNMENT = "rnn"
COURSE_ID = "rnn-course"

NBGRADER_CONFIG = """\
# Written by `rnn-course`; it lets stock nbgrader commands (e.g. `nbgrader formgrader` for the
# written answers) work in this course directory with the same settings.
import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = {source!r}
# a database server's password is never written here: it comes from the environment
c.CourseDirectory.db_url = os.environ.get("RNN_COURSE_DB_URL") or {db_url!r}
c.Execute.timeout = {timeout}
c.Exchange.root = {exchange!r}
# the formgrader renders students' Markdown and outputs: HTML in them is sanitized (the graded
# copies already hold written answers without HTML, links or images)
c.HTMLExporter.sanitize_html = True
"""


@dataclass(frozen=True)
class Course:
    """One class's grading folder; `Course.open` creates it on first use."""

    root: Path
    source: Path = SOURCE_NOTEBOOKS
    database: str | None = None  # an SQLAlchemy URL; default: SQLite in the course folder
    settings: CourseSettings = field(default_factory=CourseSettings)

    @classmethod
    def open(
        cls, root: Path | str, source: Path = SOURCE_NOTEBOOKS, db_url: str | None = None
    ) -> Course:
        root = Path(root).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise CourseError(f"{root}: exists and is not a folder; choose another --course-dir")
        if root.is_relative_to(ROOT.resolve()):
            log.warning("%s is inside the course repository; keep grades out of git", root)
        root.mkdir(parents=True, exist_ok=True)
        course = cls(root, Path(source).resolve(), db_url, CourseSettings.load(root))
        if course.settings.exchange is None:  # nbgrader insists the exchange exists
            course.exchange.mkdir(exist_ok=True)
        course.write_nbgrader_config()
        return course

    @classmethod
    def existing(
        cls, root: Path | str, source: Path = SOURCE_NOTEBOOKS, db_url: str | None = None
    ) -> Course:
        """A course folder that must be there already: commands that only read one never
        create a folder or an empty gradebook where a path was mistyped."""
        folder = Path(root).expanduser().resolve()
        if not folder.is_dir():
            raise CourseError(
                f"{folder} is not a course folder (it does not exist); check --course-dir"
            )
        if db_url is not None:
            cls(folder, Path(source).resolve(), db_url).check_database()
        elif not (folder / "gradebook.db").is_file():
            raise CourseError(
                f"{folder} is not a course folder (it has no gradebook.db); check --course-dir, "
                "or run `rnn-course release` there first"
            )
        return cls.open(folder, source, db_url)

    def write_nbgrader_config(self) -> None:
        (self.root / "nbgrader_config.py").write_text(
            NBGRADER_CONFIG.format(
                course_id=COURSE_ID,
                root=str(self.root),
                source=str(self.source),
                db_url=masked(self.db_url),
                timeout=limits.NBGRADER_CELL_SECONDS,
                exchange=str(self.exchange),
            )
        )

    @property
    def exchange(self) -> Path:
        """nbgrader's exchange root: a shared folder on a hub, else one in the course folder."""
        return Path(self.settings.exchange) if self.settings.exchange else self.root / "exchange"

    def check_database(self) -> None:
        """Connect to the gradebook once, so a bad URL, a server that is down or a wrong
        password is one line naming the setting, within seconds, before any work starts."""
        if self.database is None:
            return
        try:
            engine = sqlalchemy.create_engine(self.db_url)
            with engine.connect():
                pass
            engine.dispose()
        except (sqlalchemy.exc.SQLAlchemyError, ValueError, ImportError) as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise CourseError(
                f"cannot use the gradebook --db-url {masked(self.database)} (or "
                f"RNN_COURSE_DB_URL): {reason}"
            ) from None

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        """The gradebook's SQLAlchemy URL; a PostgreSQL one gives up connecting after
        `limits.GRADEBOOK_CONNECT_SECONDS` instead of hanging on a host that does not answer."""
        if self.database is None:
            return f"sqlite:///{self.gradebook}"
        url = self.database
        if url.startswith("postgresql") and "connect_timeout" not in url:
            timeout = limits.GRADEBOOK_CONNECT_SECONDS
            url += ("&" if "?" in url else "?") + f"connect_timeout={timeout}"
        return url

    def folder(self, step: str, student: str, assignment: str = ASSIGNMENT) -> Path:
        """nbgrader's `{step}/{student}/{assignment}` layout ('release' and 'source' have none)."""
        if step == "release":
            return self.root / "release" / assignment
        if step == "source":
            return self.source / assignment
        return self.root / step / student / assignment

    def config(self, **overrides: object) -> Config:
        config = Config()
        config.CourseDirectory.course_id = COURSE_ID
        config.CourseDirectory.root = str(self.root)
        # an absolute path: nbgrader joins it to the root, which leaves it unchanged
        config.CourseDirectory.source_directory = str(self.source)
        config.CourseDirectory.db_url = self.db_url
        config.Execute.timeout = limits.NBGRADER_CELL_SECONDS
        config.Exchange.root = str(self.exchange)
        for key, value in overrides.items():
            section, name = key.split(".")
            setattr(config[section], name, value)
        return config

    def api(self, **overrides: object) -> NbGraderAPI:
        use_environment_tools()
        config = self.config(**overrides)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        # nbgrader logs every file it copies at INFO; how much of that to show is decided by
        # whoever configures the `autograder.nbgrader` logger (the CLI: warnings only)
        api.log.setLevel(NBGRADER_LOG.getEffectiveLevel())
        return api


def masked(url: str) -> str:
    """A database URL with its password hidden, for messages and logs."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def use_environment_tools() -> None:
    """Put this environment's scripts on PATH: nbgrader runs `alembic` to set up the gradebook,
    and `.venv/bin/rnn-course` may be called without the environment being activated."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([scripts, os.environ.get("PATH", "")])


def nbgrader_failure(action: str, result: dict) -> CourseError:
    """One readable line from an nbgrader API result (its log keeps the details)."""
    text = "\n".join(filter(None, (result.get("log"), result.get("error"))))
    causes = [
        line.strip()
        for line in text.splitlines()
        if re.match(r"\s*[\w.]*(Error|Exception): ", line) and "NbGraderException" not in line
    ]
    reason = causes[-1] if causes else (text.strip().splitlines() or ["no details"])[-1]
    return CourseError(f"nbgrader {action} failed: {reason}")
