"""Shared parts of the tests that are not fixtures: builders, servers, fakes for what cannot run here."""
