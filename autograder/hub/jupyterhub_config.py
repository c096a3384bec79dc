# JupyterHub for the RNN course: students log in with their university (Unix) password, each
# gets a JupyterLab running as their own Unix user, and nbgrader's Assignments panel fetches
# `rnn`, submits it and fetches feedback through a shared exchange folder.
#
# Start it as root from the course's environment (see autograder/hub/README.md):
#     cd /opt/rnn-course && sudo .venv/bin/jupyterhub -f autograder/hub/jupyterhub_config.py
# Site-specific values come from RNN_HUB_* environment variables, with these defaults
# (autograder/hub/settings.py): the hub on port 8000 of every interface, its state in
# /srv/jupyterhub, the exchange in /srv/nbgrader/exchange, logins for the Unix group
# `rnn-course`, no administrators. The tests start the hub with this very file.
import sys

from autograder.hub.checks import startup_problems
from autograder.hub.settings import STUDENT_CONFIG, HubSettings

c = get_config()  # noqa: F821
hub = HubSettings.from_environment()

problems = startup_problems(hub)
if problems:  # refuse to start a hub the class cannot use, one line per reason
    print("\n".join(f"error: {problem}" for problem in problems), file=sys.stderr)
    sys.exit(1)

# --- where it listens: the proxy for browsers, the hub's API and the proxy's API on loopback
c.JupyterHub.bind_url = f"http://{hub.ip}:{hub.port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [hub.proxy_command]  # pinned by package-lock.json
c.ConfigurableHTTPProxy.pid_file = str(hub.state / "proxy.pid")

# --- what it keeps (root only: the cookie secret and every user's tokens)
c.JupyterHub.db_url = f"sqlite:///{hub.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub.state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(hub.state / "jupyterhub.pid")

# --- who may log in: the university's Unix accounts (PAM), members of the class's group
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {hub.group}
c.Authenticator.admin_users = set(hub.admins)

# --- each student's server: a JupyterLab running as that student, in their home folder, with
# the course's environment, nbgrader's Assignments panel and validation, and no formgrader or
# create-assignment tools (STUDENT_CONFIG: autograder/hub/jupyter/)
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [hub.singleuser]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": str(STUDENT_CONFIG),
    "RNN_HUB_EXCHANGE": str(hub.exchange),
}
c.Spawner.start_timeout = 120  # a first start on a busy machine
c.Spawner.http_timeout = 120
# stopping the hub stops every student's server (their files stay; the next login starts afresh)
c.JupyterHub.cleanup_servers = True
