"""The CDK app: one stack per stage wrapping the Chalice app (see docs/infra.md)."""
