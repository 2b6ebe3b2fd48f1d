"""realtime-mkt: online models over Kafka events that emit pricing, promotion and restock decisions."""

__version__ = "0.1.0"
