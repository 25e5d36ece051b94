"""Readers for the exports people have (ChatGPT, WhatsApp, Telegram, notes folders, PDFs), and the
memories that link the turns of a conversation (sessions, speaker profiles, entities)."""
