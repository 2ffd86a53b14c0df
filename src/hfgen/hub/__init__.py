"""Sharing on the Hub: model cards, export, push."""
