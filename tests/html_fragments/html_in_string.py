"""Renders the weekly report e-mail."""

import datetime

TEMPLATE = """
<div>
  <h1>Weekly report</h1>
  <p>Here is what happened on the build farm this week. Every number below comes from the
  scheduler's own records; nothing is estimated.</p>
  <table>
    <tr><th>Jobs</th><td>%(jobs)d</td></tr>
    <tr><th>Failed</th><td>%(failed)d</td></tr>
    <tr><th>Median time</th><td>%(median)s</td></tr>
    <tr><th>Slowest job</th><td>%(slowest)s</td></tr>
    <tr><th>Queue wait (median)</th><td>%(wait)s</td></tr>
    <tr><th>Machines busy</th><td>%(busy)d of %(machines)d</td></tr>
  </table>
  <p>Questions? Reply to this message and the on-call engineer will answer.</p>
</div>
"""


def render(stats):
    values = dict(stats)
    values.setdefault("median", "n/a")
    values.setdefault("slowest", "n/a")
    values.setdefault("wait", "n/a")
    values["date"] = datetime.date.today().isoformat()
    return TEMPLATE % values
