"""Command-line interface: ``tsexplain SUBCOMMAND``."""
