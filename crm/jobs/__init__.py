"""The CRM's own background jobs, each one async context manager the wiring root enters."""
