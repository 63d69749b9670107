"""The router side: a RouterPlan and renderers for FRR, BIRD, VyOS, OPNsense and pfSense."""
