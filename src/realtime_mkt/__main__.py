from realtime_mkt.cli import main

main()
