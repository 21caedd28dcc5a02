"""Voting: ballots on every channel (online, kiosk, paper) and decision days."""
