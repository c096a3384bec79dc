# JupyterHub for the RNN course: students log in with their university (Unix) password, each
# gets a JupyterLab running as their own Unix user on an origin of its own
# (https://<name>.<domain>), and nbgrader's Assignments panel fetches `rnn`, submits it and
# fetches feedback through a shared exchange folder.
#
# Start it as root from the course's environment (README, "Running a class on JupyterHub"; a
# systemd unit: autograder/hub/rnn-course-hub.service):
#     cd /opt/rnn-course && sudo .venv/bin/jupyterhub -f autograder/hub/jupyterhub_config.py
# Site-specific values come from RNN_HUB_* environment variables (autograder/hub/settings.py).
# The tests start the hub with this very file.
import shutil
import sys

from autograder.hub.checks import startup_problems
from autograder.hub.dates import add_course_dates
from autograder.hub.settings import HubSettings

c = get_config()  # noqa: F821
hub = HubSettings.from_environment()
PRLIMIT = shutil.which("prlimit") or "/usr/bin/prlimit"  # util-linux

problems = startup_problems(hub)
if problems:  # refuse to start a hub the class cannot use safely, one line per reason
    print("\n".join(f"error: {problem}" for problem in problems), file=sys.stderr)
    sys.exit(1)

# --- where it listens: HTTPS for browsers (or plain HTTP on loopback behind a TLS proxy), the
# hub's and the proxy's APIs on loopback; every user's server on a subdomain of its own, so a
# page one student serves cannot read or act with anyone else's cookies
if hub.behind_proxy:
    c.JupyterHub.bind_url = f"http://127.0.0.1:{hub.port}"
else:
    c.JupyterHub.bind_url = f"https://{hub.ip}:{hub.port}"
    c.JupyterHub.ssl_cert = hub.ssl_cert
    c.JupyterHub.ssl_key = hub.ssl_key
c.JupyterHub.subdomain_host = hub.subdomain_host
c.JupyterHub.cookie_host_prefix_enabled = True  # __Host- cookies: locked to their own origin
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [hub.proxy_command]  # pinned by package-lock.json
c.ConfigurableHTTPProxy.pid_file = str(hub.state / "proxy.pid")

# --- what it keeps (root only: the cookie secret and every user's tokens)
c.JupyterHub.db_url = f"sqlite:///{hub.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub.state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(hub.state / "jupyterhub.pid")

# --- who may log in, and what instructors may do: the university's Unix accounts (PAM),
# members of the class's group. Nobody is a hub administrator: instructors see who is there and
# can start or stop a student's server, but never open one (no `access:servers`), and cannot
# make tokens for others; grading happens on their own Unix account, not in the hub.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {hub.group}
c.Authenticator.admin_users = set()
c.JupyterHub.load_roles = [
    {
        "name": "instructor",
        "description": "Sees the class's users and servers; can start and stop them",
        "scopes": ["self", "admin-ui", "list:users", "read:users", "read:servers", "servers"],
        "users": sorted(hub.instructors),
    }
]

# --- each student's server: a JupyterLab running as that student, in their home folder, from
# the students' environment (the course's packages, none of its code), with nbgrader's
# Assignments panel and validation, no formgrader or create-assignment tools, and no file
# larger than RNN_HUB_FILE_BYTES from any process of theirs
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [PRLIMIT, f"--fsize={hub.file_bytes}", "--", str(hub.singleuser)]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": str(hub.student_config),
    "RNN_HUB_EXCHANGE": str(hub.exchange),
}
# each student's own due dates, extension and late tokens, for their Assignments panel
# (RNN_HUB_COURSE_DIR: read as the instructor who owns it, never by the hub itself)
c.Spawner.pre_spawn_hook = add_course_dates(hub)
c.Spawner.start_timeout = 120  # a first start on a busy machine
c.Spawner.http_timeout = 120
# stopping the hub stops every student's server (their files stay; the next login starts afresh)
c.JupyterHub.cleanup_servers = True
