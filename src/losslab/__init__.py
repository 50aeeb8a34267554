"""losslab."""
