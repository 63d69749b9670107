"""One module per `bgplb` sub-command; bgplb/cli.py registers them."""
