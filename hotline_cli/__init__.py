"""hotline_cli package."""
