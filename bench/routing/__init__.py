"""The router's benchmarks, instance readers, independent checker and peers (not shipped with the router)."""
