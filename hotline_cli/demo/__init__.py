"""`hotline demo` (`run.py`) and the SIPp peers it shares with the E2E tests and benchmarks."""
