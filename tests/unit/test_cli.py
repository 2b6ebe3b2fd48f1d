"""The command line refuses numbers it cannot run with, naming the option."""

from __future__ import annotations

import pytest

from realtime_mkt.cli import BACKTEST_MIN_DAYS, build_parser


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
