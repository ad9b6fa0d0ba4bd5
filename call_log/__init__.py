"""The call log: the tracker's calls stored as the CRM's call records, as they progress."""
