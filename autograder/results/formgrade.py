"""Grade the written answers by hand in nbgrader's formgrader, served on this machine only.

The formgrader is a JupyterLab server extension of nbgrader (there is no `nbgrader formgrader`
command any more): it has to run in the course directory, where it reads the
`nbgrader_config.py` that `Course.open` writes, so it finds the same gradebook as
`rnn-course autograde`. Scores and comments entered there are what export, feedback and report
read, and a later autograde run keeps them.
"""

from __future__ import annotations

from nbgrader.api import Gradebook

from autograder.course.folder import Course
from autograder.jupyter_server import JupyterServer, start_jupyter

FORMGRADER_PORT = 8889  # beside the live-code server's 8888, so both can run at once


def start_formgrader(course: Course, port: int = FORMGRADER_PORT) -> JupyterServer:
    """JupyterLab with nbgrader's formgrader on 127.0.0.1:`port`, in the course directory.

    Terminals are off: the instructor grades here, and student code runs only in the sandbox.
    """
    return start_jupyter(
        "jupyterlab",
        ["--ServerApp.terminals_enabled=False"],
        port=port,
        root_dir=course.root,
        log=course.root / "formgrader.log",
        ready="formgrader/api/status",
        what="formgrader (JupyterLab with nbgrader's server extension)",
        port_option="--port",
        load_config=True,  # nbgrader enables its extension in the environment's Jupyter config
        # the course folder's nbgrader_config.py reads a database server's URL from here
        env={"RNN_COURSE_DB_URL": course.db_url} if course.database else None,
    )


def formgrader_link(server: JupyterServer) -> str:
    return f"{server.url}formgrader?token={server.token}"


def answers_to_grade(course: Course, assignment: str) -> tuple[int, int]:
    """(answers waiting for a score by hand, students they belong to), from the gradebook."""
    with Gradebook(course.db_url) as gradebook:
        waiting = [
            submission.student_id
            for submission in gradebook.assignment_submissions(assignment)
            for notebook in submission.notebooks
            for grade in notebook.grades
            if grade.needs_manual_grade
        ]
    return len(waiting), len(set(waiting))
