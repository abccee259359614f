"""The Pulumi program, its typed config, the outputs contract and the mock-runtime plan tool."""
