"""`audit crosscheck`: the store against the append_events inputs kept in Temporal's histories."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from audit.crosscheck import crosscheck
from cli.main import app
from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.audit.tamper import append_forged_with_head, remove, rewrite_consistently
from tests.histories.scenarios import screen_failure, withdrawal
from tests.store.builders import Chain, to_infusion
from tests.workflows.harness import SubjectDriver, new_subject
from worker import build_worker


@pytest.fixture
async def gateway(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str, protocol: Protocol
) -> AsyncIterator[SubjectGateway]:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        yield SubjectGateway(time_env.client, task_queue, protocol)


async def test_the_store_matches_the_histories_and_each_kind_of_difference_is_named(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    edited, cut = new_subject(), new_subject()
    await screen_failure(SubjectDriver(time_env, gateway, edited))
    await withdrawal(SubjectDriver(time_env, gateway, cut))
    ids = [edited, cut]

    clean = await crosscheck(time_env.client, sqlite_store, ids)
    assert clean.clean, clean.discrepancies
    assert clean.events_compared == sqlite_store.count_events()

    rewrite_consistently(sqlite_store, edited, 2, lambda e: e.update(reason="edited later"))
    last = sqlite_store.head(cut)
    assert last is not None
    remove(sqlite_store, cut, 2)
    forged = append_forged_with_head(sqlite_store, cut)
    report = await crosscheck(time_env.client, sqlite_store, ids)

    problems = {(d.stream, d.seq): d.problem for d in report.discrepancies}
    assert "the stored event was changed" in problems[(edited, 2)]
    assert "not in the event store" in problems[(cut, 2)]
    assert "in no workflow history" in problems[(cut, forged)]
    assert forged == last.seq + 1


async def test_a_subject_whose_history_is_gone_is_skipped_and_said_so(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore
) -> None:
    chain = Chain("S-GONE")
    sqlite_store.append(chain.next(*to_infusion("S-GONE")[:3]))

    report = await crosscheck(time_env.client, sqlite_store, ["S-GONE"])

    assert report.clean and report.histories_read == 0 and report.events_compared == 0
    assert "deleted by retention" in report.skipped["S-GONE"]


async def test_the_cli_compares_one_subject_and_exits_1_on_a_difference(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    subject = new_subject()
    await screen_failure(SubjectDriver(time_env, gateway, subject))
    address = time_env.client.service_client.config.target_host
    args = ["audit", "crosscheck", "--subject", subject, "--json", "--store-url"]
    args.append(sqlite_store.url.render_as_string(hide_password=False))

    def run() -> Any:
        # The CLI runs its own event loop, so it goes on a thread of its own.
        return CliRunner().invoke(app, args, env={"TEMPORAL_ADDRESS": address})

    same = await asyncio.to_thread(run)
    remove(sqlite_store, subject, 3)
    different = await asyncio.to_thread(run)

    assert same.exit_code == 0, same.output
    assert json.loads(same.stdout)["clean"] is True
    assert different.exit_code == 1
    found = json.loads(different.stdout)["discrepancies"]
    assert [(d["stream"], d["seq"]) for d in found] == [(subject, 3)]


def test_the_cli_says_when_temporal_is_down(sqlite_store: SqlEventStore) -> None:
    url = sqlite_store.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        app, ["audit", "crosscheck", "--store-url", url], env={"TEMPORAL_ADDRESS": "127.0.0.1:1"}
    )

    assert result.exit_code == 3
    assert "not reachable" in result.output
