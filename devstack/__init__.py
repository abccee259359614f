"""devstack: the whole platform as local processes — no Docker, no cloud account.

`python -m devstack up|down|status|logs|outputs|install`. Writes the same outputs shape as the Pulumi
`local` stack (see stacks/outputs.py), so loaders and pipelines cannot tell which one they got.
"""
