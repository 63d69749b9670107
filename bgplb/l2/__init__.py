"""Layer-2 announcements (ARP/NDP): parse, build and decide, without sockets."""
