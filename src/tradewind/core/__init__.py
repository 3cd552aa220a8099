"""Pure domain: states and their transitions, keys, the clock. Standard library only."""
