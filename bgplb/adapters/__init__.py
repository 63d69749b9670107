"""The only I/O: sockets, Kubernetes, files, netlink, metrics and logs, each behind a small port."""
