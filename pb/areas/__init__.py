"""Areas (wards and the neighbourhoods inside them), themes, and each area's need for a theme."""
