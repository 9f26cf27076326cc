"""The `trial` command: one Typer app composed of small sub-apps."""

from __future__ import annotations

import logging

import typer

from cli.audit import app as audit_app
from cli.command_status import command as command_status
from cli.custody import app as custody_app
from cli.custody import label
from cli.demo import app as demo_app
from cli.eligibility import app as eligibility_app
from cli.measure import app as measure_app
from cli.monitoring import casebook_app, database_app, monitoring_app, query_app, sdv_app
from cli.operations import register_commands
from cli.protocol import app as protocol_app
from cli.report import app as report_app
from cli.simulate import simulate
from cli.study import app as study_app
from cli.subject import app as subject_app
from cli.users import app as users_app
from system.logging import configure_logging

__all__ = ["app"]

app = typer.Typer(
    name="trial",
    help="Run the JY231 trial (NCT06243159): subjects, visits, audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(eligibility_app, name="eligibility")
app.add_typer(report_app, name="report")
app.add_typer(audit_app, name="audit")
app.command("simulate")(simulate)
app.add_typer(subject_app, name="subject")
app.add_typer(study_app, name="study")
app.command("command")(command_status)
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="user")
app.add_typer(measure_app, name="measure")
app.add_typer(protocol_app, name="protocol")
app.add_typer(custody_app, name="custody")
app.command("label")(label)
app.add_typer(query_app, name="query")
app.add_typer(sdv_app, name="sdv")
app.add_typer(casebook_app, name="casebook")
app.add_typer(monitoring_app, name="monitoring")
app.add_typer(database_app, name="database")
register_commands(app)


@app.callback()
def _configure(
    log_format: str = typer.Option(
        "console", envvar="LOG_FORMAT", help="console or json; logs go to stderr."
    ),
) -> None:
    """Keep stdout for results (tables, --json) and send every log line to stderr."""
    configure_logging(log_format, level=logging.WARNING)
