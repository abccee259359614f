"""The demo (`make demo`): the top layer, above producers and consumers; see demo/run.py."""
