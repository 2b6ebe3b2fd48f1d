"""The `realtime-mkt` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from kafka.errors import KafkaError

from realtime_mkt.models.daily_demand import FORECAST_AFTER_DAYS
from realtime_mkt.ops.local_broker import broker_answers, no_broker_answers
from realtime_mkt.settings import SettingError, Settings
from realtime_mkt.sim.market import SCENARIOS

# a backtest scores its first forecasts on the day after the model's first forecast
BACKTEST_MIN_DAYS = FORECAST_AFTER_DAYS + 2


def at_least(minimum: float, kind: type[int] | type[float] = int) -> Callable[[str], float]:
    """An argparse type: a number of `kind`, at least `minimum` (argparse names the option)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        return value

    return parse


def _kafka(args: argparse.Namespace, settings: Settings) -> int:
    from realtime_mkt.ops.local_broker import BrokerError, LocalBroker, broker_answers

    broker = LocalBroker.default()
    try:
        if args.action == "start":
            print(f"Kafka broker answering at {broker.start()} (files in {broker.home})")
        elif args.action == "stop":
            print("stopped" if broker.stop() else "no local broker was running")
        elif args.action == "wipe":
            wiped = broker.wipe()
            print(
                f"broker stopped; deleted {broker.data}"
                if wiped
                else "the local broker had no data"
            )
        else:
            pid = broker.pid()
            answers = broker_answers(broker.bootstrap)
            print(
                f"local broker: {f'running (pid {pid})' if pid else 'not running'}; "
                f"{broker.bootstrap} {'answers' if answers else 'does not answer'}"
            )
            return 0 if answers else 1
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from realtime_mkt.ops.topic_admin import create_topics, delete_topics, topic_problems

    if args.action == "delete":
        deleted = delete_topics(settings)
        for name in deleted:
            print(f"deleted  {name}")
        print(f"{len(deleted)} topics deleted under prefix {settings.topic_prefix!r}")
        return 0
    for name, status in create_topics(settings).items():
        print(f"{status:<8} {name}")
    differing = topic_problems(settings)[1]
    for problem in differing:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if differing else 0


def _dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    from realtime_mkt.catalogue import load_catalogue
    from realtime_mkt.ops.dead_letters import (
        chosen,
        dead_letters_since,
        format_groups,
        parse_duration,
        redrive,
        summarise,
    )

    catalogue = load_catalogue()
    if args.topic is not None and args.topic not in catalogue:
        print(f"error: --topic {args.topic} is not a catalogue topic", file=sys.stderr)
        return 2
    source = catalogue[args.topic].full_name(settings) if args.topic else None
    try:
        letters = chosen(
            dead_letters_since(settings, parse_duration(args.since)), source, args.field
        )
        if args.redrive:
            sent = redrive(settings, letters)
            print(f"{sum(sent.values())} dead letters of the last {args.since} sent back")
            for name, count in sorted(sent.items()):
                print(f"{count:8d}  {name}")
        elif args.json:
            for letter in letters:
                print(json.dumps(letter.value))
        else:
            groups = summarise(letter.value for letter in letters)
            print(f"{sum(g.count for g in groups)} dead letters in the last {args.since}")
            if groups:
                print(format_groups(groups))
    except (ValueError, LookupError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from realtime_mkt.ops.readiness import (
        TopicsMisfit,
        data_dir_held,
        not_ready,
        open_data_dir_lock,
        wait_until_ready,
    )

    try:
        lock = open_data_dir_lock(settings)  # locked by `data_dir_held` while the worker runs
    except OSError as exc:
        print(f"error: REALTIME_MKT_DATA_DIR={settings.data_dir}: {exc.strerror}", file=sys.stderr)
        return 2
    wait = settings.start_wait_seconds

    def waiting(seconds: float, reason: str) -> None:
        print(
            f"waiting ({seconds:.0f} s of REALTIME_MKT_START_WAIT={wait:.0f}): {reason}",
            file=sys.stderr,
            flush=True,
        )

    def check() -> str | None:
        return data_dir_held(lock, settings) or not_ready(settings)

    try:
        reason = wait_until_ready(check, wait, waiting)
    except TopicsMisfit as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while it waits: nothing started, nothing to say
        return 130
    if reason is not None:
        print(f"error: {reason}; gave up after {wait:.0f} s", file=sys.stderr)
        return 2
    from realtime_mkt.streaming.app import app

    # Faust's own `--with-web` default would override REALTIME_MKT_WEB=0: pass the setting on
    web = "--with-web" if settings.web_enabled else "--without-web"
    sys.argv = [sys.argv[0], "--loop", "uvloop", "worker", web, "--loglevel", args.loglevel]
    with lock:
        app.main()
    return 0


def _produce(args: argparse.Namespace, settings: Settings) -> int:
    from realtime_mkt.producer import produce_file

    path = Path(args.file)
    if not path.exists():
        print(f"error: {path} does not exist", file=sys.stderr)
        return 2
    sent, errors = produce_file(settings, path, args.topic)
    for error in errors:
        print(f"line {error.line}: {error.error}", file=sys.stderr)
    print(f"sent {sent} events; {len(errors)} lines not sent")
    return 1 if errors else 0


def _lag(args: argparse.Namespace, settings: Settings) -> int:
    from realtime_mkt.ops.lag import format_table, group_lag

    rows = group_lag(settings.bootstrap_servers, args.group or settings.app_id)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    elif rows:
        print(format_table(rows))
    else:
        print(f"group {args.group or settings.app_id!r} has no committed offsets")
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from realtime_mkt.demo import run_demo

    run_demo(
        settings, seconds=args.seconds, days=args.days, n_skus=args.skus, scenario=args.scenario
    )
    return 0


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from realtime_mkt.sim.live import LiveMarket, print_events
    from realtime_mkt.sim.market import Market

    if not args.kafka:
        print_events(args.scenario, args.days, args.skus, args.seed)
        return 0
    live = LiveMarket(settings, Market(SCENARIOS[args.scenario], seed=args.seed, n_skus=args.skus))
    try:
        live.run(args.days, args.seconds_per_day)
    finally:
        live.close()
    print(
        f"sent {dict(live.sent)}; decisions received { ({k: len(v) for k, v in live.decisions.items()}) }"
    )
    return 0


def _backtest(args: argparse.Namespace, settings: Settings) -> int:
    from realtime_mkt.backtest import evaluate, run_backtest, run_restock_baselines
    from realtime_mkt.report import write_report

    run = run_backtest(args.scenario, args.days, args.skus, args.seed)
    static = run_backtest(args.scenario, args.days, args.skus, args.seed, dynamic=False)
    tuned = run_restock_baselines(args.scenario, args.days, args.skus, args.seed)
    figures = evaluate(run, static, tuned)
    command = " ".join(["realtime-mkt", *sys.argv[1:]])
    context = {
        "scenario": args.scenario,
        "days": args.days,
        "skus": args.skus,
        "seed": args.seed,
        "command": command,
    }
    write_report(Path(args.out), run, figures, context)
    print(json.dumps(figures, indent=2))
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from realtime_mkt.replays import run_replays, write_replays

    results = run_replays(Path(args.data))
    write_replays(Path(args.out), results, " ".join(["realtime-mkt", *sys.argv[1:]]))
    print((Path(args.out) / "replays.md").read_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="realtime-mkt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    kafka = sub.add_parser("kafka", help="a local single-node Apache Kafka (KRaft) from Maven jars")
    kafka.add_argument("action", choices=["start", "stop", "status", "wipe"])
    kafka.set_defaults(run=_kafka)
    topics = sub.add_parser(
        "topics", help="create (or delete) every topic declared in streams/ under the prefix"
    )
    topics.add_argument("action", choices=["create", "delete"])
    topics.set_defaults(run=_topics)
    worker = sub.add_parser("worker", help="run the Faust stream processor")
    # below "warn" Faust turns its progress spinner off; with the spinner on, it sets the root
    # logger to DEBUG and every library debug line costs a log record (≈5 % of the worker's CPU)
    worker.add_argument(
        "--loglevel", default="info", choices=["crit", "error", "warn", "info", "debug"]
    )
    worker.set_defaults(run=_worker)
    produce = sub.add_parser("produce", help="publish events from a JSONL or CSV file")
    produce.add_argument("file")
    produce.add_argument(
        "--topic", help="input topic of every line (needed for CSV and bare JSONL)"
    )
    produce.set_defaults(run=_produce)
    lag = sub.add_parser("lag", help="consumer lag of the worker's group per topic-partition")
    lag.add_argument("--group", help="consumer group (default: the worker's)")
    lag.add_argument("--json", action="store_true")
    lag.set_defaults(run=_lag)
    dead = sub.add_parser(
        "dead-letters", help="dead letters of a recent window by source topic and field at fault"
    )
    dead.add_argument("--since", default="24h", help="window: 30m, 6h, 2d (default 24h)")
    dead.add_argument("--topic", help="only those read from this input topic (e.g. orders)")
    dead.add_argument("--field", help="only those whose error names this field ('-': none)")
    output = dead.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="the records themselves, one per line")
    output.add_argument(
        "--redrive",
        action="store_true",
        help="send the chosen records' original bytes back to their topic, under their key",
    )
    dead.set_defaults(run=_dead_letters)
    demo = sub.add_parser("demo", help="broker, topics, worker and a generated market, end to end")
    demo.add_argument(
        "--seconds", type=at_least(1, float), default=40.0, help="wall-clock length of the feed"
    )
    demo.add_argument("--days", type=at_least(1), default=40, help="simulated days")
    demo.add_argument("--skus", type=at_least(1), default=8)
    demo.add_argument("--scenario", default="overstock", choices=sorted(SCENARIOS))
    demo.set_defaults(run=_demo)
    simulate = sub.add_parser(
        "simulate", help="stream a simulated market into Kafka (--kafka) or stdout"
    )
    simulate.add_argument(
        "--kafka", action="store_true", help="publish to the topics and act on decisions"
    )
    simulate.add_argument("--scenario", default="steady", choices=sorted(SCENARIOS))
    simulate.add_argument("--days", type=at_least(1), default=30)
    simulate.add_argument("--skus", type=at_least(1), default=20)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument(
        "--seconds-per-day", type=at_least(0, float), default=1.0, help="pace with --kafka"
    )
    simulate.set_defaults(run=_simulate)
    backtest = sub.add_parser(
        "backtest", help="run the engine in-process over a simulated market, write a report"
    )
    backtest.add_argument("--scenario", default="steady", choices=sorted(SCENARIOS))
    backtest.add_argument("--days", type=at_least(BACKTEST_MIN_DAYS), default=120)
    backtest.add_argument("--skus", type=at_least(1), default=30)
    backtest.add_argument("--seed", type=int, default=7)
    backtest.add_argument("--out", default="out/backtest")
    backtest.set_defaults(run=_backtest)
    replay = sub.add_parser(
        "replay", help="replay the shared real datasets through the models, write a report"
    )
    replay.add_argument("--data", default="../shared/data", help="folder of the shared datasets")
    replay.add_argument("--out", default="out/replays")
    replay.set_defaults(run=_replay)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of `realtime-mkt`."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if needs_broker(args) and not broker_answers(settings.bootstrap_servers):
        print(f"error: {no_broker_answers(settings.bootstrap_servers)}", file=sys.stderr)
        raise SystemExit(2)
    try:
        code = args.run(args, settings)
    except KafkaError as exc:  # kafka-python's: the broker went away, or refused a request
        print(f"error: Kafka at {settings.bootstrap_servers}: {exc}", file=sys.stderr)
        code = 2
    raise SystemExit(code)


def needs_broker(args: argparse.Namespace) -> bool:
    """Whether the command talks to the broker at once (the worker waits for it instead)."""
    return args.run in (_topics, _produce, _lag, _dead_letters) or (
        args.run is _simulate and args.kafka
    )
