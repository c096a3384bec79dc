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
    # merged into what other configuration set, not in place of it
    c.ServerApp.tornado_settings.update({"page_config_data": {"rnnCourseDates": dates}})
