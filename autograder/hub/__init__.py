"""A class on a JupyterHub: the hub's configuration and the checks that guard it.

`jupyterhub_config.py` (the hub) and `jupyter/` (what every student's server reads) are the
example an instructor copies; `settings.py` reads their few site-specific values from the
environment, `checks.py` says in one line what is missing before anything starts, and
`package.json` pins the hub's proxy (`npm ci --prefix autograder/hub`). See README.md here.
"""
