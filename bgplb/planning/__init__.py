"""Pure planning over observed state: IP allocation and who announces what."""
