"""Incident text → ATT&CK techniques: a TRAM-style sentence classifier, IoC extraction, evidence."""
