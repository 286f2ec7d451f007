"""NiceGUI pages: read the store, call actions, never AWS directly."""
