"""Code that runs *inside* the sandbox, as plain scripts, beside student code.

This folder is mounted read-only into every sandbox as it is; its modules import nothing of
the project. From the moment the first student cell runs, everything they report is data for
the trusted side to check, never a verdict. Trust: untrusted once student code has run.
"""
