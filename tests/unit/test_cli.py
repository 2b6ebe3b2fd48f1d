"""The command line refuses numbers it cannot run with, naming the option, and says where it
looked for a broker that does not answer."""

from __future__ import annotations

import pytest

from realtime_mkt.cli import BACKTEST_MIN_DAYS, build_parser, main, needs_broker
from realtime_mkt.ops.local_broker import no_broker_answers
from realtime_mkt.worker_process import free_port


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--days", "0"], "argument --days: must be at least 1, got 0"),
        (["demo", "--seconds", "soon"], "argument --seconds: not a number: 'soon'"),
        (["simulate", "--skus", "-1"], "argument --skus: must be at least 1, got -1"),
        (["simulate", "--seconds-per-day", "-2"], "argument --seconds-per-day: must be at least 0"),
        (["backtest", "--days", "8"], f"argument --days: must be at least {BACKTEST_MIN_DAYS}"),
    ],
)
def test_out_of_range_numbers_are_refused_with_the_option_named(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_numbers_in_range_are_parsed_to_their_kind():
    args = build_parser().parse_args(["backtest", "--days", str(BACKTEST_MIN_DAYS), "--skus", "1"])
    assert (args.days, args.skus) == (BACKTEST_MIN_DAYS, 1)
    args = build_parser().parse_args(["simulate", "--seconds-per-day", "0"])
    assert args.seconds_per_day == 0.0 and isinstance(args.seconds_per_day, float)


@pytest.mark.parametrize(
    "argv",
    [
        ["lag"],
        ["topics", "create"],
        ["dead-letters", "--since", "1h"],
        ["produce", "events.jsonl", "--topic", "orders"],
        ["simulate", "--kafka", "--days", "1"],
    ],
)
def test_a_command_without_a_broker_says_where_it_looked_and_how_to_start_one(
    argv, monkeypatch, capsys
):
    nowhere = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", nowhere)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"error: {no_broker_answers(nowhere)}\n"
    assert nowhere in no_broker_answers(nowhere)


def test_commands_that_need_no_broker_do_not_ask_for_one():
    for argv in (["simulate", "--days", "1"], ["backtest"], ["replay"], ["kafka", "status"]):
        assert not needs_broker(build_parser().parse_args(argv))
