"""devstack: the whole platform as local processes — no Docker, no cloud account.

`python -m devstack up|down|status|logs|outputs|install`. The substrate only: processes, ports, credentials
and the emulated account's buckets and tables. Its outputs (contract.outputs.SUBSTRATE_KEYS, written to
`<DEVSTACK_HOME>/outputs.json` on `up`) are what the `devstack` Pulumi stack creates the platform objects on.
"""
