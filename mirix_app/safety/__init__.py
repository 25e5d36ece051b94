"""Safety checks shared by capture, the agent and chat; pure functions, no Qt, no model.

- `secrets`: one Luhn check, one set of card and key formats, one mask ("[REDACTED]"), and
  `find_secrets` / `mask_secrets` for text the agent stores.
- `redaction`: the layered redaction of OCR text (shapes, labelled values, random-looking
  tokens, split fragments), with the ranges it hid.
- `injection`: text that reads as instructions to an AI, invisible characters, and
  `quote_data` to put captured text between our <data> markers.
"""
