"""agent_gateway package."""
