"""Example sweep specs for tests and docs, and a manager that crashes on purpose (the failure-path hook)."""
