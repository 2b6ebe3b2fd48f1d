"""The Faust layer: thin agents that decode, call the engine, write tables and send outputs."""
