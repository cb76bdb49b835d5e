"""Surface temperatures, mean radiant temperature, UTCI, canopy air temperature, scenarios."""
