"""Daemons: supervised asyncio tasks and level-triggered reconcile loops."""
