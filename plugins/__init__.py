"""Built-in plugins of med3d-harness, registered through entry points like any third-party plugin."""
