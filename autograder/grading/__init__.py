"""Grading: from the trusted source notebooks and a submission's answers to scores.

`plan.py` reads the assignment from the sources, `probes.py` turns test cells into code that
records values, `jobs.py` builds the cells a sandbox runs, `events.py` parses what the run sent
back under explicit bounds, `judge.py` compares it with the reference's records (pure, no I/O),
and `run.py` grades a class on an engine. Trust: trusted; everything a run sends back is parsed
here as hostile data before it is compared.
"""
