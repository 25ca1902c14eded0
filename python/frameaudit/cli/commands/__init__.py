"""One module per subcommand: analyze, run, lint, paths."""
