"""The sandbox: where student code runs, under bubblewrap, with limits, on some engine.

`engine.py` is the interface grading sees (a job of cells in, a bounded record of what came
out); `bubblewrap.py` runs one notebook in a fresh sandbox, `template.py` forks each from a
pre-imported template, `pool.py` and `dask_engine.py` spread runs over cores and machines.
`inside/` holds the only code that runs inside the sandbox. Trust: this package starts and
confines untrusted code and bounds what it sends back; it judges nothing.
"""
