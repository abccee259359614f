"""One module per sink. Each offers `open_sink(dataset, outputs) -> Sink` (see loaders.sinks.base)."""
