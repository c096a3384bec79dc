# Every student's server on the class hub: the student's own due dates, extension and late
# tokens, which the hub put in RNN_COURSE_DATES when it started this server (see
# autograder/hub/dates.py), go into JupyterLab's page config, where the `rnn-course-dates`
# extension shows them above the Assignments panel. Configuration only: no course code.
import json
import os

c = get_config()  # noqa: F821
try:
    dates = json.loads(os.environ.get("RNN_COURSE_DATES", ""))
except ValueError:
    dates = None
if isinstance(dates, dict):
    # merged into what configuration read earlier set, not in place of it (a plain dict: other
    # configuration reads it as one)
    earlier = c.ServerApp.tornado_settings if "tornado_settings" in c.ServerApp else {}
    settings = dict(earlier) if isinstance(earlier, dict) else {}
    settings["page_config_data"] = dict(settings.get("page_config_data") or {})
    settings["page_config_data"]["rnnCourseDates"] = dates
    c.ServerApp.tornado_settings = settings
