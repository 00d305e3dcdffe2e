"""Faster CPU forms of CAGAN's layers and of its optimizer's update."""
