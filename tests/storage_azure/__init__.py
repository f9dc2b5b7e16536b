"""Tests of the Azure and Unity Catalog volume storages (Azurite, Sail)."""
