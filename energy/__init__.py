"""Solar irradiance on every roof and wall, PV potential, and hourly building energy."""
