"""Pure load models used by the simulator, the demo and the theft model's training data."""
