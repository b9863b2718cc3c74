"""``visionplay`` command line: one module per subcommand, each with its parser and its function."""
