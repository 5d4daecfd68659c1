"""The HTTP layer: routes parse input, call one service function, and render."""
