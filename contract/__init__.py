"""The neutral contract at the bottom of the layering (beside `schemas/`): the stack outputs contract (typed and
validated), the naming helper, every S3 sink flavour's connector config, the clients built from outputs, and
where this checkout's stacks live. It imports no Pulumi and starts no server; producers (the Pulumi program,
devstack) and consumers (loaders, pipelines) meet here."""
