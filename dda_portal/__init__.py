"""DDA Portal: follow Defect Detection Application models from training to the edge."""
