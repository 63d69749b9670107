"""Sans-IO BGP-4: codec, finite state machine, sessions and Adj-RIB-Out. No sockets, no clocks."""
