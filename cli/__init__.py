"""The `cutover` command line: argument parsing and the subcommands. The only part of the
product that starts a sandbox."""
