"""`rnn-course`, the instructor's tool: the website, and an assignment from release to grades.

The package is the pipeline, one sub-package a stage, each importing only from the ones before
it (tests/test_layout.py holds it to that):

    course/    the class: its folder, settings, due dates, gradebook writes, the release
    site/      the website beside the pipeline: build, PDF, live code
    intake/    submissions in, from the exchange or an LMS archive     (hostile input)
    sandbox/   where student code runs, on a pool or a Dask cluster    (untrusted code)
    grading/   what a run sent back, parsed under bounds and judged    (trusted)
    results/   scores, feedback, export, report, the formgrader        (trusted)
    cli/, hub/ the front doors: `rnn-course` and the class hub

`limits.py` holds every limit and default, `text.py` makes student text inert, `errors.py`
the one error the command line prints as a line.
"""
