"""PyVista scenes, the off-screen renderer and the desktop viewer."""
