"""Delivery-day planning: allocation, vehicle routing and courier rosters."""
