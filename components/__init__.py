"""Pulumi components of the data platform, one ComponentResource per module."""
