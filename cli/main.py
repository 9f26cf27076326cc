"""The `trial` command: one Typer app composed of small sub-apps."""

from __future__ import annotations

import typer

from cli.audit import app as audit_app
from cli.eligibility import app as eligibility_app
from cli.operations import register_commands
from cli.report import app as report_app
from cli.simulate import simulate
from cli.subject import app as subject_app

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
register_commands(app)
