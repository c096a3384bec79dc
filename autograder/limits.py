"""Every limit and default of the instructor's tool, in one place, read by the CLI and the library.

A limit is a decision about what an honest class needs and what a hostile submission may cost
the rest of the class; it is named here once, with why it has its value, and every module (and
every test that lowers one) reads it from here at the time of use. The code that runs inside
the sandbox cannot import the project: it receives its limits in each job (`sandbox.Limits`).
"""

from __future__ import annotations

KiB, MiB, GiB = 1024, 1024**2, 1024**3

# --- running a notebook: per notebook, whatever engine runs it (`sandbox.engine.Limits`) ------
CELL_SECONDS = 120.0  # one student cell or test cell; setup cells get the notebook's limit
NOTEBOOK_SECONDS = 600.0
MEMORY_BYTES = 3 * GiB  # TensorFlow and a small Keras model need about 1 GiB
PROCESSES = 256  # threads count as processes; TensorFlow starts dozens
FILE_BYTES = 64 * MiB  # the largest file a run may write
OPEN_FILES = 1024
SCRATCH_BYTES = 256 * MiB  # the run's own /tmp and home, each
CPUS = 1.0  # CPU time per notebook, however many processes it starts (a control group)
FORK_FROM_TEMPLATE = True  # each notebook forked from a pre-imported template (fast)

# --- what a run may send back to the trusted side (grading/events.py) --------------------------
RUN_OUTPUT_BYTES = 16 * MiB  # all event lines of one notebook; the run is stopped past it
EVENT_LINE_BYTES = 2 * MiB  # one event line (a check's recorded value included)
EVENTS_PER_RUN = 20_000  # start, check and end records of one notebook
CELL_OUTPUT_CHARS = 20_000  # what a cell printed, kept for the instructor's copy
RECORDED_ITEMS = 10_000  # items of a list or tuple a check records
RECORDED_ELEMENTS = 100_000  # elements of an array a check records (the tests use hundreds)
RECORDED_TEXT_CHARS = 1_000  # a string a check records
RECORDED_DIMENSIONS = 32  # NumPy's own maximum number of array dimensions
RECORDED_DEPTH = 20  # nesting of a recorded value (a list of lists of …)
DIAGNOSTICS_BYTES = 8 * KiB  # what the sandbox's own start-up wrote to stderr

# --- student text shown to people (text.py) -----------------------------------------------------
SHOWN_CHARS = 120  # a name printed whole on a terminal or in a report
EXCEPTION_NAME_CHARS = 60
WRITTEN_ANSWER_CHARS = 100_000  # a written answer kept for the feedback page

# --- intake: files a student sent (intake/) -----------------------------------------------------
NOTEBOOK_BYTES = 100 * MiB  # one notebook
SUBMISSION_BYTES = 300 * MiB  # one student's notebooks together
SMALL_FILE_BYTES = 4 * KiB  # timestamp.txt, submission_secret.txt
FOLDER_ENTRIES = 1_000  # entries of one submission folder in the exchange; more is refused
ARCHIVE_BYTES = 4 * GiB  # everything imported from one LMS archive
ARCHIVE_ENTRIES = 20_000
CHUNK_BYTES = 1 * MiB  # files are copied in blocks of this size, never read whole
CLAIM_TOLERANCE_SECONDS = 120  # a student's claimed time this close to the observed one is news
COLLECT_ATTEMPTS = 3  # a submission changing while it is copied is copied again, then skipped

# --- grading a class (grading/run.py) -----------------------------------------------------------
ENGINE = "pool"  # this process's sandbox pool: nothing listens on the network
ENGINES = ("pool", "dask")
GRADEBOOK_BATCH = 200  # students whose grades are written in one gradebook transaction
DASK_CONNECT_SECONDS = 15  # a scheduler that does not answer by then is unreachable
DASK_RESULT_SECONDS = 300  # a finished task whose result has not come back by then is lost
GRADEBOOK_CONNECT_SECONDS = 5  # a gradebook server that does not answer by then is down

# --- nbgrader's own commands in the course folder (nbgrader_config.py) -------------------------
NBGRADER_CELL_SECONDS = 120  # `nbgrader validate` / stock autograde: per cell
